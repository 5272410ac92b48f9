//! Training: interpolated modified Kneser-Ney as KenLM's `lmplz` estimates it (Chen &
//! Goodman 1998; Heafield et al. 2013).
//!
//! - Each sentence is padded as `<s> w1 … wk </s>`; each position counts the n-gram of
//!   the highest order ending there, shorter only where the sentence start cuts it
//!   (those begin with `<s>`).
//! - Adjusted counts: the highest order and n-grams beginning with `<s>` keep their raw
//!   counts; every other lower-order n-gram counts the distinct words seen before it.
//! - Discounts per order from counts of adjusted counts t1…t4:
//!   `Y = t1/(t1+2·t2)`, `D1 = 1−2Y·t2/t1`, `D2 = 2−3Y·t3/t2`, `D3+ = 3−4Y·t4/t3`;
//!   when the data is too small for them (a value outside `(0, k)`), `lmplz
//!   --discount_fallback`'s 0.5 / 1 / 1.5, reported.
//! - `p(w|h) = (c(hw) − D(c(hw)))/c(h·) + γ(h)·p(w|h′)`, with `γ(h)` the discounted
//!   mass over `c(h·)`; unigrams interpolate with the uniform distribution over the
//!   vocabulary (`<unk>` and `</s>` in, `<s>` out), so `<unk>` gets the uniform share.
//!   The ARPA back-off of `h` is `γ(h)`: for interpolated models that makes the ARPA's
//!   back-off rule give exactly the interpolated probability of every word.
//! - Pruning (`prune[k]` for order k+1, as `lmplz --prune`): n-grams of order ≥ 2 with
//!   adjusted count ≤ the threshold are dropped unless a kept longer n-gram needs them
//!   as its context or suffix; their whole count goes to `γ(h)`, so every distribution
//!   still sums to one.
//!
//! Counting holds every distinct n-gram in memory (about 60 bytes each with the hash
//! table); a sorted-spill estimate for corpora whose n-grams exceed memory is not built.

use std::collections::HashMap;

use rustc_hash::{FxHashMap, FxHashSet};

use super::arpa::{Arpa, Order};
use super::{BOS, EOS, LmError, MAX_ORDER, Result, UNK};

type Gram = [u32; MAX_ORDER];
const PAD: u32 = u32::MAX;
const UNK_ID: u32 = 0;
const BOS_ID: u32 = 1;
const EOS_ID: u32 = 2;
/// `lmplz --discount_fallback`'s discounts for counts 1, 2 and 3+.
pub const FALLBACK_DISCOUNTS: [f64; 3] = [0.5, 1.0, 1.5];

fn len(g: &Gram) -> usize {
    g.iter().position(|&w| w == PAD).unwrap_or(MAX_ORDER)
}

fn gram(words: &[u32]) -> Gram {
    let mut g = [PAD; MAX_ORDER];
    g[..words.len()].copy_from_slice(words);
    g
}

/// Counts sentences into a model.
pub struct Trainer {
    order: usize,
    vocab: HashMap<String, u32>,
    words: Vec<String>,
    counts: FxHashMap<Gram, u64>,
    sentence: Vec<u32>,
    sentences: u64,
    tokens: u64,
}

/// What training found, for the log and the model card.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainStats {
    /// Sentences counted.
    pub sentences: u64,
    /// Units counted (without `<s>` / `</s>`).
    pub tokens: u64,
    /// N-grams written per order.
    pub ngrams: Vec<usize>,
    /// Discounts D1, D2, D3+ per order.
    pub discounts: Vec<[f64; 3]>,
    /// Orders whose discounts fell back to [`FALLBACK_DISCOUNTS`].
    pub fallback: Vec<usize>,
}

impl Trainer {
    /// A trainer for an `order`-gram model (2 to [`MAX_ORDER`]).
    pub fn new(order: usize) -> Result<Trainer> {
        if !(2..=MAX_ORDER).contains(&order) {
            return Err(LmError::Train(format!(
                "order {order} is outside 2..={MAX_ORDER}"
            )));
        }
        let words: Vec<String> = [UNK, BOS, EOS].iter().map(|w| (*w).to_owned()).collect();
        let vocab = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Ok(Trainer {
            order,
            vocab,
            words,
            counts: FxHashMap::default(),
            sentence: Vec::new(),
            sentences: 0,
            tokens: 0,
        })
    }

    fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.vocab.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.vocab.insert(word.to_owned(), id);
        self.words.push(word.to_owned());
        id
    }

    /// Counts one sentence of words; `<s>` and `</s>` inside it are skipped, `<unk>` is
    /// the unknown word. An empty sentence still counts `<s> </s>`.
    pub fn add_sentence<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        let mut s = std::mem::take(&mut self.sentence);
        s.clear();
        s.push(BOS_ID);
        for w in words {
            if w != BOS && w != EOS {
                s.push(self.id(w));
            }
        }
        self.count(s);
    }

    /// Counts the [units](super::units) of a line of raw text as a sentence; a line with
    /// none is skipped. `buf` is scratch space.
    pub fn add_line(&mut self, line: &str, buf: &mut String) {
        let mut s = std::mem::take(&mut self.sentence);
        s.clear();
        s.push(BOS_ID);
        super::units::for_each_unit(line, buf, |u| s.push(self.id(u)));
        if s.len() == 1 {
            self.sentence = s;
            return;
        }
        self.count(s);
    }

    /// Counts a sentence of ids that starts with `<s>`, adding `</s>`.
    fn count(&mut self, mut s: Vec<u32>) {
        s.push(EOS_ID);
        self.tokens += s.len() as u64 - 2;
        self.sentences += 1;
        for i in 1..s.len() {
            let start = (i + 1).saturating_sub(self.order);
            *self.counts.entry(gram(&s[start..=i])).or_insert(0) += 1;
        }
        self.sentence = s;
    }

    /// Estimates the model; `prune[k]` is the count threshold of order k+1 (missing
    /// entries and order 1 do not prune).
    pub fn finish(self, prune: &[u64]) -> Result<(Arpa, TrainStats)> {
        let n = self.order;
        if self.tokens == 0 {
            return Err(LmError::Train("the input has no words".into()));
        }
        let thresholds: Vec<u64> = (1..n).map(|k| prune.get(k).copied().unwrap_or(0)).collect();
        if thresholds.windows(2).any(|w| w[1] < w[0]) {
            return Err(LmError::Train(format!(
                "prune thresholds must not decrease with the order (lmplz's rule), got {prune:?}"
            )));
        }
        // Adjusted counts, per order.
        let mut tables: Vec<FxHashMap<Gram, u64>> = vec![FxHashMap::default(); n];
        for (g, c) in self.counts {
            tables[len(&g) - 1].insert(g, c);
        }
        for k in (1..n).rev() {
            let (lower, higher) = tables.split_at_mut(k);
            let lower = &mut lower[k - 1];
            for g in higher[0].keys() {
                let mut s = [PAD; MAX_ORDER];
                s[..k].copy_from_slice(&g[1..=k]);
                *lower.entry(s).or_insert(0) += 1;
            }
        }
        for w in [UNK_ID, BOS_ID] {
            tables[0].entry(gram(&[w])).or_insert(0);
        }
        let mut discounts = Vec::with_capacity(n);
        let mut fallback = Vec::new();
        for (k, t) in tables.iter().enumerate() {
            let d = discounts_of(t.values().copied()).unwrap_or_else(|| {
                fallback.push(k + 1);
                FALLBACK_DISCOUNTS
            });
            discounts.push(d);
        }
        // Sorted tables and what pruning keeps.
        let mut sorted: Vec<Vec<(Gram, u64)>> = tables
            .into_iter()
            .map(|t| {
                let mut v: Vec<(Gram, u64)> = t.into_iter().collect();
                v.sort_unstable();
                v
            })
            .collect();
        let kept = kept_grams(&sorted, prune);
        // Probabilities, lowest order first.
        let vocab = self.words.len();
        let mut probs: Vec<FxHashMap<Gram, f64>> = Vec::with_capacity(n);
        let mut backoffs: Vec<FxHashMap<Gram, f64>> = vec![FxHashMap::default(); n];
        let mut arpa = Arpa {
            words: self.words,
            orders: Vec::with_capacity(n),
        };
        for k in 0..n {
            let d = discounts[k];
            let disc = |c: u64| match c {
                0 => 0.0,
                1 => d[0],
                2 => d[1],
                _ => d[2],
            };
            let table = std::mem::take(&mut sorted[k]);
            let mut p = FxHashMap::with_capacity_and_hasher(table.len(), Default::default());
            for group in table.chunk_by(|a, b| a.0[..k] == b.0[..k]) {
                let context = gram(&group[0].0[..k]);
                let total: u64 = group
                    .iter()
                    .filter(|(g, _)| g[0] != BOS_ID || k > 0)
                    .map(|e| e.1)
                    .sum();
                if total == 0 {
                    continue;
                }
                let mut mass = 0f64;
                for (g, c) in group {
                    if k == 0 && g[0] == BOS_ID {
                        continue;
                    }
                    mass += if kept[k].as_ref().is_none_or(|s| s.contains(g)) {
                        disc(*c)
                    } else {
                        *c as f64
                    };
                }
                let gamma = mass / total as f64;
                if k > 0 {
                    backoffs[k - 1].insert(context, gamma);
                }
                for (g, c) in group {
                    if !kept[k].as_ref().is_none_or(|s| s.contains(g)) {
                        continue;
                    }
                    let lower = if k == 0 {
                        1.0 / (vocab - 1) as f64
                    } else {
                        let mut s = [PAD; MAX_ORDER];
                        s[..k].copy_from_slice(&g[1..=k]);
                        probs[k - 1].get(&s).copied().unwrap_or(0.0)
                    };
                    let prob = if k == 0 && g[0] == BOS_ID {
                        0.0
                    } else {
                        (*c as f64 - disc(*c)) / total as f64 + gamma * lower
                    };
                    p.insert(*g, prob);
                }
            }
            probs.push(p);
        }
        let mut ngrams = Vec::with_capacity(n);
        for k in 0..n {
            let mut grams: Vec<(&Gram, &f64)> = probs[k].iter().collect();
            grams.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let mut order = Order::new(k + 1);
            for (g, &prob) in grams {
                let logp = if prob > 0.0 {
                    prob.log10() as f32
                } else {
                    -99.0
                };
                let backoff = backoffs[k].get(g).map_or(0.0, |b| b.log10() as f32);
                order.push(&g[..=k], logp, backoff);
            }
            ngrams.push(order.len());
            arpa.orders.push(order);
        }
        let stats = TrainStats {
            sentences: self.sentences,
            tokens: self.tokens,
            ngrams,
            discounts,
            fallback,
        };
        Ok((arpa, stats))
    }
}

/// lmplz's discounts from the counts of counts 1–4; `None` when one is out of range.
fn discounts_of(counts: impl Iterator<Item = u64>) -> Option<[f64; 3]> {
    let mut t = [0f64; 5];
    for c in counts {
        if (1..=4).contains(&c) {
            t[c as usize] += 1.0;
        }
    }
    let y = t[1] / (t[1] + 2.0 * t[2]);
    let d = [
        1.0 - 2.0 * y * t[2] / t[1],
        2.0 - 3.0 * y * t[3] / t[2],
        3.0 - 4.0 * y * t[4] / t[3],
    ];
    d.iter()
        .enumerate()
        .all(|(i, &v)| v.is_finite() && v > 0.0 && v < (i + 1) as f64)
        .then_some(d)
}

/// Per order, the n-grams pruning keeps (`None`: all of them). Thresholds do not
/// decrease with the order, so pruning stops at the first order with none.
fn kept_grams(sorted: &[Vec<(Gram, u64)>], prune: &[u64]) -> Vec<Option<FxHashSet<Gram>>> {
    let n = sorted.len();
    let mut kept: Vec<Option<FxHashSet<Gram>>> = vec![None; n];
    let mut needed: FxHashSet<Gram> = FxHashSet::default();
    for k in (1..n).rev() {
        let threshold = prune.get(k).copied().unwrap_or(0);
        if threshold == 0 {
            break;
        }
        let set: FxHashSet<Gram> = sorted[k]
            .iter()
            .filter(|(g, c)| *c > threshold || needed.contains(g))
            .map(|e| e.0)
            .collect();
        needed = set
            .iter()
            .flat_map(|g| {
                let mut suffix = [PAD; MAX_ORDER];
                suffix[..k].copy_from_slice(&g[1..=k]);
                [gram(&g[..k]), suffix]
            })
            .collect();
        kept[k] = Some(set);
    }
    kept
}

#[cfg(test)]
mod tests {
    use taojin_schemas::rng::SplitMix64;

    use super::*;
    use crate::lm::NgramModel;
    use crate::lm::arpa;

    /// Sentences from a small Zipf-ish vocabulary with some fixed phrases, so every
    /// order has repeated and singleton n-grams.
    fn corpus(seed: u64, sentences: usize) -> Vec<Vec<String>> {
        let mut rng = SplitMix64::new(seed);
        let words: Vec<String> = (0..300).map(|i| format!("w{i}")).collect();
        (0..sentences)
            .map(|_| {
                let len = 1 + (rng.next() % 14) as usize;
                let mut s = Vec::with_capacity(len);
                while s.len() < len {
                    if rng.next().is_multiple_of(5) {
                        s.extend(["the", "cat", "sat"].map(String::from));
                    } else {
                        let r = rng.unit();
                        s.push(words[(r * r * r * words.len() as f64) as usize].clone());
                    }
                }
                s
            })
            .collect()
    }

    fn model(order: usize, prune: &[u64]) -> (Arpa, NgramModel) {
        let mut t = Trainer::new(order).unwrap();
        for s in corpus(7, 3000) {
            t.add_sentence(s.iter().map(String::as_str));
        }
        let (arpa, _) = t.finish(prune).unwrap();
        // Through the text form, as users get it.
        let mut text = Vec::new();
        arpa::write(&arpa, &mut text).unwrap();
        let arpa = arpa::parse(&text[..], "trained.arpa").unwrap();
        let m = NgramModel::from_arpa(&arpa);
        (arpa, m)
    }

    fn assert_normalized(arpa: &Arpa, m: &NgramModel) {
        let bos = m.bos();
        let vocab: Vec<u32> = (0..m.words().len() as u32).filter(|&w| w != bos).collect();
        let mut checked = 0;
        for (k, o) in arpa.orders[..arpa.orders.len() - 1].iter().enumerate() {
            // Every 7th context of each order, plus one nobody saw.
            let mut contexts: Vec<Vec<u32>> = (0..o.len())
                .step_by(7)
                .map(|i| o.words(i).to_vec())
                .collect();
            contexts.push(vec![m.id("never-seen"); k + 1]);
            for ctx in contexts {
                if ctx.last() == Some(&m.eos()) {
                    continue;
                }
                let sum: f64 = vocab
                    .iter()
                    .map(|&w| 10f64.powf(f64::from(m.log10_prob(&ctx, w))))
                    .sum();
                assert!(
                    (sum - 1.0).abs() < 1e-3,
                    "order {} context {ctx:?}: sum {sum}",
                    k + 2
                );
                checked += 1;
            }
        }
        assert!(checked > 40);
        let uni: f64 = vocab
            .iter()
            .map(|&w| 10f64.powf(f64::from(m.log10_prob(&[], w))))
            .sum();
        assert!((uni - 1.0).abs() < 1e-3, "unigrams sum to {uni}");
    }

    #[test]
    fn every_distribution_sums_to_one() {
        for order in [2, 3, 5] {
            let (arpa, m) = model(order, &[]);
            assert_eq!(m.order(), order);
            assert_normalized(&arpa, &m);
        }
    }

    #[test]
    fn pruned_models_stay_normalized_and_consistent() {
        let (full, _) = model(4, &[]);
        let (arpa, m) = model(4, &[0, 1, 1, 2]);
        assert!(arpa.orders[3].len() < full.orders[3].len() / 2);
        assert_eq!(arpa.orders[0].len(), full.orders[0].len());
        assert_normalized(&arpa, &m);
        // Every kept n-gram's context and suffix is in the model (KenLM needs both).
        for k in 1..arpa.orders.len() {
            let lower: FxHashSet<&[u32]> = (0..arpa.orders[k - 1].len())
                .map(|i| arpa.orders[k - 1].words(i))
                .collect();
            for i in 0..arpa.orders[k].len() {
                let g = arpa.orders[k].words(i);
                assert!(lower.contains(&g[..k]) && lower.contains(&g[1..]), "{g:?}");
            }
        }
        assert!(Trainer::new(3).unwrap().finish(&[0, 2, 1]).is_err());
    }

    #[test]
    fn training_is_deterministic_and_discounts_are_lmplz_s() {
        let (a, _) = model(3, &[]);
        let (b, _) = model(3, &[]);
        assert_eq!(a, b);
        assert_eq!(
            discounts_of([1, 1, 1, 1, 2, 2, 3, 4].into_iter())
                .map(|d| d.map(|x| (x * 1e6).round() / 1e6)),
            Some([0.5, 1.25, 1.0])
        );
        assert_eq!(discounts_of([1, 1].into_iter()), None);
    }

    #[test]
    fn unknown_words_get_the_unk_probability() {
        let (arpa, m) = model(3, &[]);
        let unk = arpa.orders[0].logp[0];
        assert!(unk < -3.0);
        let s = m.score_words("w0 zzz-unseen w1");
        assert_eq!(s.oov, 1);
        assert_eq!(s.tokens, 4);
        assert!(s.log10 < f64::from(unk));
    }
}
