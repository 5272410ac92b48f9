//! MinHash signatures and LSH band keys.
//!
//! Permutations are seeded affine maps `h_i(x) = a_i·x + b_i mod 2⁶⁴` with odd `a_i`: each
//! is a bijection of the 64-bit shingle hashes (already well mixed by xxh3), so the
//! minimum under it is a min-wise sample, and it is two instructions that vectorize —
//! several times faster than arithmetic modulo a Mersenne prime. The measured S-curve
//! matches the theoretical one (`dedup/examples/lsh_quality.rs`). `a_i`, `b_i` come from a
//! SplitMix64 stream of the seed, so the same seed gives the same signatures everywhere.

use xxhash_rust::xxh3::xxh3_64;

use taojin_schemas::rng::SplitMix64;

/// Computes signatures of `bands × rows` permutations and their band keys.
#[derive(Debug, Clone)]
pub struct MinHasher {
    bands: usize,
    rows: usize,
    a: Vec<u64>,
    b: Vec<u64>,
    /// This CPU runs the AVX-512 build of the signature loop.
    avx512: bool,
}

impl MinHasher {
    /// A hasher with `bands × rows` permutations drawn from `seed`.
    pub fn new(bands: usize, rows: usize, seed: u64) -> MinHasher {
        let mut state = SplitMix64::new(seed);
        let n = bands * rows;
        let a = (0..n).map(|_| state.next() | 1).collect();
        let b = (0..n).map(|_| state.next()).collect();
        #[cfg(target_arch = "x86_64")]
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq");
        #[cfg(not(target_arch = "x86_64"))]
        let avx512 = false;
        MinHasher {
            bands,
            rows,
            a,
            b,
            avx512,
        }
    }

    /// Number of permutations.
    pub fn num_perm(&self) -> usize {
        self.bands * self.rows
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.bands
    }

    /// The signature of a shingle set into `out` (`num_perm` values; all `u64::MAX` for an
    /// empty set, which then matches only other empty sets).
    pub fn signature(&self, shingles: &[u64], out: &mut Vec<u64>) {
        out.clear();
        out.resize(self.num_perm(), u64::MAX);
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            // SAFETY: `avx512` says this CPU has the features `fold_avx512` is built for.
            unsafe { fold_avx512(shingles, &self.a, &self.b, out) };
            return;
        }
        fold(shingles, &self.a, &self.b, out);
    }

    /// One 64-bit key per band: documents sharing a key in any band are candidates.
    pub fn band_keys(&self, signature: &[u64], out: &mut Vec<u64>) {
        out.clear();
        for (band, rows) in signature.chunks(self.rows).enumerate() {
            let mut bytes = Vec::with_capacity(8 * (rows.len() + 1));
            bytes.extend_from_slice(&(band as u64).to_le_bytes());
            for r in rows {
                bytes.extend_from_slice(&r.to_le_bytes());
            }
            out.push(xxh3_64(&bytes));
        }
    }
}

/// `out[i] = min(out[i], a[i]·x + b[i])` over every shingle `x`.
#[inline(always)]
fn fold(shingles: &[u64], a: &[u64], b: &[u64], out: &mut [u64]) {
    for &x in shingles {
        for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
            *o = (*o).min(a.wrapping_mul(x).wrapping_add(b));
        }
    }
}

/// [`fold`] compiled for AVX-512 (`vpmullq`: eight 64-bit products per instruction, where
/// x86-64's baseline has no vector 64-bit multiply). The same arithmetic, so the same
/// signatures.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn fold_avx512(shingles: &[u64], a: &[u64], b: &[u64], out: &mut [u64]) {
    fold(shingles, a, b, out);
}

/// Probability that two documents of Jaccard similarity `s` share at least one band:
/// `1 − (1 − sʳ)ᵇ` (the LSH S-curve).
pub fn match_probability(s: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - s.powi(rows as i32)).powi(bands as i32)
}

/// The similarity where the S-curve crosses 1/2 — roughly the threshold bands × rows implies.
pub fn implied_threshold(bands: usize, rows: usize) -> f64 {
    (1.0 - 0.5f64.powf(1.0 / bands as f64)).powf(1.0 / rows as f64)
}

/// The bands × rows split of at most `perms` permutations that minimizes the sum of the
/// false-positive area (∫₀ᵗ P) and the false-negative area (∫ₜ¹ 1 − P) of the S-curve —
/// the criterion datasketch uses, with equal weights.
pub fn optimal_split(perms: usize, threshold: f64) -> (usize, usize) {
    let integrate = |f: &dyn Fn(f64) -> f64, a: f64, b: f64| {
        let steps = 200;
        let h = (b - a) / steps as f64;
        (0..steps)
            .map(|i| f(a + (i as f64 + 0.5) * h) * h)
            .sum::<f64>()
    };
    let mut best = (perms.max(1), 1, f64::INFINITY);
    for bands in 1..=perms.max(1) {
        for rows in 1..=perms / bands {
            let fp = integrate(&|s| match_probability(s, bands, rows), 0.0, threshold);
            let fneg = integrate(&|s| 1.0 - match_probability(s, bands, rows), threshold, 1.0);
            if fp + fneg < best.2 {
                best = (bands, rows, fp + fneg);
            }
        }
    }
    (best.0, best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_estimate_jaccard() {
        let m = MinHasher::new(16, 8, 7);
        let a: Vec<u64> = (0..1000)
            .map(|i| xxh3_64(&(i as u64).to_le_bytes()))
            .collect();
        let b: Vec<u64> = (300..1300)
            .map(|i| xxh3_64(&(i as u64).to_le_bytes()))
            .collect();
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        m.signature(&a, &mut sa);
        m.signature(&b, &mut sb);
        let est = sa.iter().zip(&sb).filter(|(x, y)| x == y).count() as f64 / m.num_perm() as f64;
        let truth = 700.0 / 1300.0;
        assert!((est - truth).abs() < 0.12, "{est} vs {truth}");
        let (mut ka, mut kb) = (Vec::new(), Vec::new());
        m.band_keys(&sa, &mut ka);
        m.band_keys(&sb, &mut kb);
        assert_eq!(ka.len(), 16);
        // A band's key is equal exactly when its rows of the signatures are.
        for (band, (x, y)) in ka.iter().zip(&kb).enumerate() {
            let rows = band * 8..band * 8 + 8;
            assert_eq!(x == y, sa[rows.clone()] == sb[rows], "band {band}");
        }
        let mut again = Vec::new();
        m.band_keys(&sa, &mut again);
        assert_eq!(ka, again, "deterministic");
    }

    #[test]
    fn the_avx512_loop_gives_the_portable_loop_s_signatures() {
        let m = MinHasher::new(20, 5, 11);
        let mut state = SplitMix64::new(3);
        for n in [0, 1, 7, 64, 1000] {
            let shingles: Vec<u64> = (0..n).map(|_| state.next()).collect();
            let mut portable = vec![u64::MAX; m.num_perm()];
            fold(&shingles, &m.a, &m.b, &mut portable);
            let mut sig = Vec::new();
            m.signature(&shingles, &mut sig);
            assert_eq!(sig, portable, "{n} shingles");
            #[cfg(target_arch = "x86_64")]
            if m.avx512 {
                let mut wide = vec![u64::MAX; m.num_perm()];
                // SAFETY: `avx512` was detected on this CPU.
                unsafe { fold_avx512(&shingles, &m.a, &m.b, &mut wide) };
                assert_eq!(wide, portable, "{n} shingles");
            }
        }
    }

    #[test]
    fn same_seed_same_permutations() {
        let (x, y) = (MinHasher::new(14, 8, 1), MinHasher::new(14, 8, 1));
        assert_eq!((x.a.clone(), x.b.clone()), (y.a, y.b));
        assert_ne!(x.a, MinHasher::new(14, 8, 2).a);
    }

    #[test]
    fn optimal_split_balances_errors() {
        let (b, r) = optimal_split(128, 0.8);
        assert!(b * r <= 128);
        let p = match_probability(0.8, b, r);
        assert!(p > 0.3 && p < 0.95, "{b}x{r}: {p}");
    }

    #[test]
    fn s_curve() {
        assert!((match_probability(1.0, 14, 8) - 1.0).abs() < 1e-12);
        assert!(match_probability(0.5, 14, 8) < 0.06);
        assert!(match_probability(0.9, 14, 8) > 0.99);
        let t = implied_threshold(14, 8);
        assert!((match_probability(t, 14, 8) - 0.5).abs() < 1e-9);
    }
}
