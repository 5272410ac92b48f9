//! Topic clusters, cheaply: documents as hashed TF-IDF vectors over lower-cased words and
//! Han character bigrams (the units of [`crate::lm::units`]: both languages in one
//! space), clustered by seeded spherical k-means (k-means++ start, cosine similarity).
//! Assignment runs in parallel, centroid sums in sample order, so the result is the same
//! for any thread count.

use rayon::prelude::*;
use taojin_schemas::rng::SplitMix64;
use taojin_schemas::script::is_cjk_letter;
use xxhash_rust::xxh3::xxh3_64;

use crate::lm::units::for_each_unit;

/// Calls `f` with each term of `text`: words of two letters or more, and every pair of
/// adjacent CJK characters.
pub fn for_each_term(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    let mut prev: Option<char> = None;
    let mut pair = String::new();
    for_each_unit(text, &mut buf, |u| {
        let mut chars = u.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if is_cjk_letter(c) => {
                if let Some(p) = prev {
                    pair.clear();
                    pair.push(p);
                    pair.push(c);
                    f(&pair);
                }
                prev = Some(c);
            }
            _ => {
                prev = None;
                if u.chars().count() >= 2 && !u.bytes().all(|b| b == b'0') {
                    f(u);
                }
            }
        }
    });
}

/// The feature of a term.
pub fn feature(term: &str, dims: u32) -> u32 {
    (xxh3_64(term.as_bytes()) % u64::from(dims)) as u32
}

/// Term counts of a document by feature, sorted by feature.
pub fn term_counts(text: &str, dims: u32) -> Vec<(u32, f32)> {
    let mut feats: Vec<u32> = Vec::new();
    for_each_term(text, |t| feats.push(feature(t, dims)));
    feats.sort_unstable();
    feats
        .chunk_by(|a, b| a == b)
        .map(|run| (run[0], run.len() as f32))
        .collect()
}

/// IDF weights from document frequencies over `docs` documents: `ln((1+N)/(1+df)) + 1`.
pub fn idf(df: &[u64], docs: u64) -> Vec<f32> {
    df.iter()
        .map(|&d| (((1 + docs) as f64 / (1 + d) as f64).ln() + 1.0) as f32)
        .collect()
}

/// A unit-length TF-IDF vector from term counts (`1 + ln tf` times IDF); empty when the
/// document has no terms.
pub fn weigh(counts: &[(u32, f32)], idf: &[f32]) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = counts
        .iter()
        .map(|&(f, c)| {
            (
                f,
                (1.0 + c.ln()) * idf.get(f as usize).copied().unwrap_or(1.0),
            )
        })
        .collect();
    let norm = v.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| x.1 /= norm);
    }
    v
}

/// k unit-length centroids over `dims` features, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Centroids {
    /// Number of clusters.
    pub k: usize,
    /// Features per centroid.
    pub dims: usize,
    /// `k × dims` weights.
    pub weights: Vec<f32>,
}

impl Centroids {
    fn row(&self, c: usize) -> &[f32] {
        &self.weights[c * self.dims..(c + 1) * self.dims]
    }

    /// Cosine similarity of a unit vector with centroid `c`.
    pub fn similarity(&self, v: &[(u32, f32)], c: usize) -> f32 {
        let row = self.row(c);
        v.iter()
            .map(|&(f, w)| row.get(f as usize).copied().unwrap_or(0.0) * w)
            .sum()
    }

    /// The nearest centroid of a unit vector and its cosine distance (`1 − cos`); `None`
    /// for an empty vector.
    pub fn nearest(&self, v: &[(u32, f32)]) -> Option<(usize, f32)> {
        if v.is_empty() {
            return None;
        }
        let mut best = (0, f32::NEG_INFINITY);
        for c in 0..self.k {
            let s = self.similarity(v, c);
            if s > best.1 {
                best = (c, s);
            }
        }
        Some((best.0, (1.0 - best.1).max(0.0)))
    }

    /// The `n` heaviest features of centroid `c`, heaviest first.
    pub fn top_features(&self, c: usize, n: usize, keep: impl Fn(u32) -> bool) -> Vec<u32> {
        let row = self.row(c);
        let mut idx: Vec<u32> = (0..self.dims as u32)
            .filter(|&f| row[f as usize] > 0.0 && keep(f))
            .collect();
        idx.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]).then(a.cmp(&b)));
        idx.truncate(n);
        idx
    }
}

/// Spherical k-means over unit vectors (documents with no terms are skipped): k-means++
/// seeded by `seed`, then up to `iterations` rounds of assign + re-average, stopping
/// early when no assignment changes. An emptied cluster restarts at the worst-fitting
/// document. Returns the centroids and each vector's cluster.
pub fn kmeans(
    vectors: &[Vec<(u32, f32)>],
    dims: usize,
    k: usize,
    iterations: usize,
    seed: u64,
) -> (Centroids, Vec<Option<usize>>) {
    let live: Vec<usize> = (0..vectors.len())
        .filter(|&i| !vectors[i].is_empty())
        .collect();
    let k = k.min(live.len()).max(1);
    let mut c = Centroids {
        k,
        dims,
        weights: vec![0.0; k * dims],
    };
    let set = |c: &mut Centroids, j: usize, v: &[(u32, f32)]| {
        let row = &mut c.weights[j * dims..(j + 1) * dims];
        row.iter_mut().for_each(|x| *x = 0.0);
        for &(f, w) in v {
            row[f as usize] = w;
        }
    };
    let mut assign: Vec<Option<usize>> = vec![None; vectors.len()];
    if live.is_empty() {
        return (c, assign);
    }
    // k-means++: each next seed drawn with probability ∝ distance to the nearest seed.
    let mut rng = SplitMix64::new(seed);
    set(
        &mut c,
        0,
        &vectors[live[(rng.next() % live.len() as u64) as usize]],
    );
    let mut dist: Vec<f64> = vec![f64::MAX; live.len()];
    for j in 1..k {
        let row = j - 1;
        let d: Vec<f64> = live
            .par_iter()
            .map(|&i| f64::from((1.0 - c.similarity(&vectors[i], row)).max(0.0)))
            .collect();
        for (x, y) in dist.iter_mut().zip(d) {
            *x = x.min(y);
        }
        let total: f64 = dist.iter().map(|d| d * d).sum();
        let pick = if total > 0.0 {
            let mut target = rng.unit() * total;
            let mut chosen = live.len() - 1;
            for (n, d) in dist.iter().enumerate() {
                target -= d * d;
                if target <= 0.0 {
                    chosen = n;
                    break;
                }
            }
            chosen
        } else {
            (rng.next() % live.len() as u64) as usize
        };
        set(&mut c, j, &vectors[live[pick]]);
    }
    for _ in 0..iterations.max(1) {
        let nearest: Vec<(usize, f32)> = live
            .par_iter()
            .map(|&i| c.nearest(&vectors[i]).unwrap_or((0, 1.0)))
            .collect();
        let changed = live
            .iter()
            .zip(&nearest)
            .any(|(&i, n)| assign[i] != Some(n.0));
        for (&i, n) in live.iter().zip(&nearest) {
            assign[i] = Some(n.0);
        }
        let mut sums = vec![0f32; k * dims];
        let mut sizes = vec![0usize; k];
        for (&i, n) in live.iter().zip(&nearest) {
            sizes[n.0] += 1;
            let row = &mut sums[n.0 * dims..(n.0 + 1) * dims];
            for &(f, w) in &vectors[i] {
                row[f as usize] += w;
            }
        }
        // An empty cluster takes the document farthest from its centroid.
        for j in 0..k {
            if sizes[j] == 0 {
                let worst = (0..live.len())
                    .max_by(|&a, &b| nearest[a].1.total_cmp(&nearest[b].1).then(b.cmp(&a)))
                    .unwrap_or(0);
                let row = &mut sums[j * dims..(j + 1) * dims];
                for &(f, w) in &vectors[live[worst]] {
                    row[f as usize] = w;
                }
            }
        }
        for j in 0..k {
            let row = &mut sums[j * dims..(j + 1) * dims];
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|x| *x /= norm);
            }
        }
        c.weights = sums;
        if !changed {
            break;
        }
    }
    for (&i, n) in live
        .iter()
        .zip(live.iter().map(|&i| c.nearest(&vectors[i])))
    {
        assign[i] = n.map(|n| n.0);
    }
    (c, assign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_words_and_han_bigrams() {
        let mut t = Vec::new();
        for_each_term("Rust 编程语言 is 2024 x", |s| t.push(s.to_owned()));
        assert_eq!(t, ["rust", "编程", "程语", "语言", "is"]);
    }

    #[test]
    fn separated_topics_are_found_the_same_on_any_thread_count() {
        let topics = [
            ["apple", "pear", "plum"],
            ["goal", "match", "team"],
            ["rain", "cloud", "wind"],
        ];
        let mut rng = SplitMix64::new(3);
        let mut docs = Vec::new();
        let mut truth = Vec::new();
        for i in 0..300 {
            let t = i % 3;
            let words: Vec<&str> = (0..20)
                .map(|_| {
                    if rng.next().is_multiple_of(4) {
                        "the"
                    } else {
                        topics[t][(rng.next() % 3) as usize]
                    }
                })
                .collect();
            docs.push(words.join(" "));
            truth.push(t);
        }
        let dims = 1 << 12;
        let counts: Vec<Vec<(u32, f32)>> = docs.iter().map(|d| term_counts(d, dims)).collect();
        let mut df = vec![0u64; dims as usize];
        for c in &counts {
            for &(f, _) in c {
                df[f as usize] += 1;
            }
        }
        let w = idf(&df, docs.len() as u64);
        let vectors: Vec<Vec<(u32, f32)>> = counts.iter().map(|c| weigh(c, &w)).collect();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (c1, a1) = one.install(|| kmeans(&vectors, dims as usize, 3, 20, 7));
        let (c4, a4) = kmeans(&vectors, dims as usize, 3, 20, 7);
        assert_eq!(a1, a4);
        assert_eq!(c1, c4);
        // Each cluster holds one topic.
        for cluster in 0..3 {
            let members: Vec<usize> = (0..300)
                .filter(|&i| a1[i] == Some(cluster))
                .map(|i| truth[i])
                .collect();
            assert!(
                members.windows(2).all(|w| w[0] == w[1]) && !members.is_empty(),
                "{members:?}"
            );
        }
    }
}
