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
//! Bounded memory, as lmplz: counting spills sorted runs once its table is full, and
//! every later step is one pass over an externally [sorted](super::sort) stream —
//! adjusted counts and pruning in suffix order (an n-gram's left extensions sit
//! together), discounts' back-off mass in plain order (its right extensions sit
//! together, before it), interpolation joined on the suffix order by order, and the ARPA
//! sections written in plain order. Memory is the budget plus the vocabulary (a few
//! records per word); the output does not depend on the budget.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::arpa;
use super::sort::{
    PAD, Rec, Sorted, Sorter, forward, len, order_then_forward, order_then_suffix, suffix,
};
use super::{BOS, EOS, LmError, MAX_ORDER, Result, UNK};

type Gram = [u32; MAX_ORDER];
const UNK_ID: u32 = 0;
const BOS_ID: u32 = 1;
const EOS_ID: u32 = 2;
/// A missing back-off in a record's payload.
const NONE: u64 = u64::MAX;
/// Bytes a counting-table entry takes, table overhead included.
const ENTRY_BYTES: usize = 80;
/// `lmplz --discount_fallback`'s discounts for counts 1, 2 and 3+.
pub const FALLBACK_DISCOUNTS: [f64; 3] = [0.5, 1.0, 1.5];
/// The memory budget when none is given.
pub const DEFAULT_MEMORY: usize = 1 << 30;

fn gram(words: &[u32]) -> Gram {
    let mut g = [PAD; MAX_ORDER];
    g[..words.len()].copy_from_slice(words);
    g
}

fn rec(g: Gram, v: [u64; 3]) -> Rec {
    Rec { g, v }
}

/// Counts sentences into a model.
pub struct Trainer {
    order: usize,
    vocab: HashMap<String, u32>,
    words: Vec<String>,
    counts: FxHashMap<Gram, u64>,
    /// Entries the counting table holds before it spills.
    table_cap: usize,
    memory: usize,
    dir: PathBuf,
    spilled: Sorter,
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
    /// Sorted runs spilled to disk over all steps (0: everything fitted the budget).
    pub spilled_runs: usize,
}

impl Trainer {
    /// A trainer for an `order`-gram model (2 to [`MAX_ORDER`]) with the default memory
    /// budget, spilling to the system's temporary folder.
    pub fn new(order: usize) -> Result<Trainer> {
        Trainer::with_memory(order, DEFAULT_MEMORY, &std::env::temp_dir())
    }

    /// A trainer using about `memory` bytes besides the vocabulary, spilling sorted runs
    /// (anonymous files, gone when training ends) to `dir`.
    pub fn with_memory(order: usize, memory: usize, dir: &Path) -> Result<Trainer> {
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
            table_cap: (memory / 2 / ENTRY_BYTES).max(16),
            memory,
            dir: dir.to_path_buf(),
            spilled: Sorter::new(suffix, memory / 2, dir),
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
    pub fn add_sentence<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let mut s = std::mem::take(&mut self.sentence);
        s.clear();
        s.push(BOS_ID);
        for w in words {
            if w != BOS && w != EOS {
                s.push(self.id(w));
            }
        }
        self.count(s)
    }

    /// Counts the [units](super::units) of a line of raw text as a sentence; a line with
    /// none is skipped. `buf` is scratch space.
    pub fn add_line(&mut self, line: &str, buf: &mut String) -> Result<()> {
        let mut s = std::mem::take(&mut self.sentence);
        s.clear();
        s.push(BOS_ID);
        super::units::for_each_unit(line, buf, |u| s.push(self.id(u)));
        if s.len() == 1 {
            self.sentence = s;
            return Ok(());
        }
        self.count(s)
    }

    /// Counts a sentence of ids that starts with `<s>`, adding `</s>`.
    fn count(&mut self, mut s: Vec<u32>) -> Result<()> {
        s.push(EOS_ID);
        self.tokens += s.len() as u64 - 2;
        self.sentences += 1;
        for i in 1..s.len() {
            let start = (i + 1).saturating_sub(self.order);
            *self.counts.entry(gram(&s[start..=i])).or_insert(0) += 1;
        }
        self.sentence = s;
        if self.counts.len() >= self.table_cap {
            self.drain_counts()?;
        }
        Ok(())
    }

    fn drain_counts(&mut self) -> Result<()> {
        for (g, c) in self.counts.drain() {
            self.spilled.push(rec(g, [c, 0, 0])).map_err(spill_io)?;
        }
        Ok(())
    }

    /// Estimates the model and writes it to `out` as ARPA (`name` is for errors);
    /// `prune[k]` is the count threshold of order k+1 (missing entries and order 1 do
    /// not prune).
    pub fn finish(mut self, prune: &[u64], out: &mut impl Write, name: &str) -> Result<TrainStats> {
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
        // Threshold by length (index 0 unused, unigrams never pruned).
        let threshold: Vec<u64> = (0..=n)
            .map(|l| if l < 2 { 0 } else { thresholds[l - 2] })
            .collect();
        self.drain_counts()?;
        self.counts = FxHashMap::default();
        let dir = self.dir.clone();
        let mut runs = self.spilled.runs();
        let raw = std::mem::replace(&mut self.spilled, Sorter::new(suffix, 0, &dir))
            .finish()
            .map_err(spill_io)?;
        let half = self.memory / 2;
        let (adjusted, coc) = adjust(raw, n, &threshold, Sorter::new(forward, half, &dir))?;
        runs += adjusted.runs();
        let mut discounts = Vec::with_capacity(n);
        let mut fallback = Vec::new();
        for (k, t) in coc.iter().enumerate() {
            discounts.push(discounts_of(t).unwrap_or_else(|| {
                fallback.push(k + 1);
                FALLBACK_DISCOUNTS
            }));
        }
        let vocab = self.words.len();
        let (parts, unigrams, mut ngrams) = interpolation_parts(
            adjusted.finish().map_err(spill_io)?,
            n,
            vocab,
            &discounts,
            Sorter::new(order_then_suffix, half, &dir),
        )?;
        runs += parts.runs();
        let (entries, joined_runs) = interpolate(
            parts.finish().map_err(spill_io)?,
            n,
            &unigrams,
            self.memory,
            &dir,
        )?;
        runs += joined_runs + entries.runs();
        // The ARPA file, each section in plain order.
        ngrams[0] = vocab;
        let wio = |e| LmError::Io {
            path: name.to_owned(),
            source: e,
        };
        arpa::write_header(out, &ngrams).map_err(wio)?;
        arpa::write_section(out, 1).map_err(wio)?;
        for (id, u) in unigrams.iter().enumerate() {
            arpa::write_entry(out, &self.words, &[id as u32], u.logp, u.backoff, n > 1)
                .map_err(wio)?;
        }
        let mut section = 1;
        for e in entries.finish().map_err(spill_io)? {
            let e = e.map_err(spill_io)?;
            let l = len(&e.g);
            while section < l {
                section += 1;
                arpa::write_section(out, section).map_err(wio)?;
            }
            let logp = f32::from_bits(e.v[0] as u32);
            let backoff = f32::from_bits(e.v[1] as u32);
            arpa::write_entry(out, &self.words, &e.g[..l], logp, backoff, l < n).map_err(wio)?;
        }
        while section < n {
            section += 1;
            arpa::write_section(out, section).map_err(wio)?;
        }
        arpa::write_end(out).map_err(wio)?;
        Ok(TrainStats {
            sentences: self.sentences,
            tokens: self.tokens,
            ngrams,
            discounts,
            fallback,
            spilled_runs: runs,
        })
    }
}

/// A failed read or write of the spill files (anonymous, so named by their role).
fn spill_io(source: std::io::Error) -> LmError {
    LmError::Io {
        path: "train-lm spill files (--tmp)".into(),
        source,
    }
}

/// Adjusted counts from the raw counts in suffix order (equal n-grams from different
/// runs summed): the highest order and n-grams beginning with `<s>` keep their counts,
/// every other n-gram counts its distinct left extensions. Each n-gram's pruning mark
/// (its count is over its order's threshold, or a kept n-gram ends with it) goes with
/// it into `out`; also the counts of counts 1–4 per order.
fn adjust(
    raw: Sorted,
    n: usize,
    threshold: &[u64],
    mut out: Sorter,
) -> Result<(Sorter, Vec<[u64; 5]>)> {
    let mut coc = vec![[0u64; 5]; n];
    // Per suffix length: distinct left extensions so far, and whether one is kept.
    let mut open = vec![(0u64, false); n + 1];
    let mut saw_unk = false;
    let mut prev: Option<(Gram, u64)> = None;
    let mut close = |p: &Gram, count: u64, common: usize, out: &mut Sorter| -> Result<()> {
        let l = len(p);
        for j in (common + 1..=l).rev() {
            let (adj, ext_kept) = if j == l { (count, false) } else { open[j] };
            let kept = threshold[j] == 0 || adj > threshold[j] || ext_kept;
            if (1..=4).contains(&adj) {
                coc[j - 1][adj as usize] += 1;
            }
            saw_unk |= j == 1 && p[l - 1] == UNK_ID;
            out.push(rec(gram(&p[l - j..l]), [adj, kept as u64, 0]))
                .map_err(spill_io)?;
            if j > 1 {
                open[j - 1].0 += 1;
                open[j - 1].1 |= kept;
            }
            open[j] = (0, false);
        }
        Ok(())
    };
    for r in raw {
        let r = r.map_err(spill_io)?;
        match &mut prev {
            Some((g, c)) if *g == r.g => *c += r.v[0],
            _ => {
                if let Some((p, c)) = prev {
                    let common = p[..len(&p)]
                        .iter()
                        .rev()
                        .zip(r.g[..len(&r.g)].iter().rev())
                        .take_while(|(a, b)| a == b)
                        .count();
                    close(&p, c, common, &mut out)?;
                }
                prev = Some((r.g, r.v[0]));
            }
        }
    }
    if let Some((p, c)) = prev {
        close(&p, c, 0, &mut out)?;
    }
    if !saw_unk {
        out.push(rec(gram(&[UNK_ID]), [0, 1, 0]))
            .map_err(spill_io)?;
    }
    out.push(rec(gram(&[BOS_ID]), [0, 1, 0]))
        .map_err(spill_io)?;
    Ok((out, coc))
}

/// An n-gram waiting for its context to close, in plain order.
#[derive(Clone, Copy)]
struct Child {
    g: Gram,
    count: u64,
    kept: bool,
    /// Its own back-off γ, once its extensions were seen.
    gamma: Option<f64>,
}

/// A unigram's ARPA entry.
struct Unigram {
    p: f64,
    logp: f32,
    backoff: f32,
}

fn discount(d: &[f64; 3], c: u64) -> f64 {
    match c {
        0 => 0.0,
        1 => d[0],
        2 => d[1],
        _ => d[2],
    }
}

fn log10(p: f64) -> f32 {
    if p > 0.0 { p.log10() as f32 } else { -99.0 }
}

fn backoff_of(gamma: Option<f64>) -> f32 {
    gamma.map_or(0.0, |b| b.log10() as f32)
}

/// One pass in plain order, where each n-gram comes after its right extensions: closes
/// every context's group into its back-off γ (the discounted mass, pruned n-grams' whole
/// counts) and each kept member's discounted share, written to `out` with γ and the
/// member's own back-off for the interpolation. The unigrams come back complete; kept
/// n-grams per order are counted.
fn interpolation_parts(
    adjusted: Sorted,
    n: usize,
    vocab: usize,
    discounts: &[[f64; 3]],
    mut out: Sorter,
) -> Result<(Sorter, Vec<Unigram>, Vec<usize>)> {
    let mut levels: Vec<Vec<Child>> = vec![Vec::new(); n + 2];
    let mut scratch: Vec<Child> = Vec::new();
    let mut kept_per_order = vec![0usize; n];
    for r in adjusted {
        let r = r.map_err(spill_io)?;
        let l = len(&r.g);
        scratch.clear();
        if l < n {
            std::mem::swap(&mut levels[l + 1], &mut scratch);
        }
        let mut gamma = None;
        let mut child_kept = false;
        if !scratch.is_empty() {
            let d = &discounts[l];
            let total: u64 = scratch.iter().map(|c| c.count).sum();
            let mass: f64 = scratch
                .iter()
                .map(|c| {
                    if c.kept {
                        discount(d, c.count)
                    } else {
                        c.count as f64
                    }
                })
                .sum();
            let g = mass / total as f64;
            for c in scratch.iter().filter(|c| c.kept) {
                child_kept = true;
                let a = (c.count as f64 - discount(d, c.count)) / total as f64;
                let b = c.gamma.map_or(NONE, f64::to_bits);
                out.push(rec(c.g, [a.to_bits(), g.to_bits(), b]))
                    .map_err(spill_io)?;
                kept_per_order[l] += 1;
            }
            gamma = Some(g);
        }
        levels[l].push(Child {
            g: r.g,
            count: r.v[0],
            kept: r.v[1] != 0 || child_kept,
            gamma,
        });
    }
    // The unigrams, interpolated with the uniform distribution (`<s>` out).
    let unigrams = std::mem::take(&mut levels[1]);
    if unigrams.len() != vocab || unigrams.iter().enumerate().any(|(i, u)| u.g[0] != i as u32) {
        return Err(LmError::Train(format!(
            "internal: {} unigrams for a vocabulary of {vocab}",
            unigrams.len()
        )));
    }
    let d = &discounts[0];
    let counted = || unigrams.iter().filter(|u| u.g[0] != BOS_ID);
    let total: u64 = counted().map(|u| u.count).sum();
    let mass: f64 = counted().map(|u| discount(d, u.count)).sum();
    let gamma = mass / total as f64;
    let uniform = 1.0 / (vocab - 1) as f64;
    let unigrams = unigrams
        .iter()
        .map(|u| {
            let p = if u.g[0] == BOS_ID {
                0.0
            } else {
                (u.count as f64 - discount(d, u.count)) / total as f64 + gamma * uniform
            };
            Unigram {
                p,
                logp: log10(p),
                backoff: backoff_of(u.gamma),
            }
        })
        .collect();
    Ok((out, unigrams, kept_per_order))
}

/// The interpolation, order by order in suffix order: `p(w|h) = share + γ(h)·p(w|h′)`,
/// where `p(w|h′)` (the suffix's probability, one order down) comes from the previous
/// order's stream, joined on the suffix. Returns the ARPA entries (`log10 p` and the
/// back-off as `f32` bits) to sort into plain order, and the runs the per-order suffix
/// streams spilled.
fn interpolate(
    parts: Sorted,
    n: usize,
    unigrams: &[Unigram],
    memory: usize,
    dir: &Path,
) -> Result<(Sorter, usize)> {
    let mut entries = Sorter::new(order_then_forward, memory / 4, dir);
    let mut this_order = Sorter::new(suffix, memory / 8, dir);
    let mut lower: Option<Sorted> = None;
    let mut lower_head: Option<Rec> = None;
    let mut runs = 0;
    let mut current = 2;
    for r in parts {
        let r = r.map_err(spill_io)?;
        let l = len(&r.g);
        if l != current {
            if l != current + 1 {
                return Err(LmError::Train(format!(
                    "internal: order {l} after {current}"
                )));
            }
            let done = std::mem::replace(&mut this_order, Sorter::new(suffix, memory / 8, dir));
            runs += done.runs();
            lower = Some(done.finish().map_err(spill_io)?);
            lower_head = None;
            current = l;
        }
        let share = f64::from_bits(r.v[0]);
        let gamma = f64::from_bits(r.v[1]);
        let below = if l == 2 {
            unigrams[r.g[1] as usize].p
        } else {
            let want = rec(gram(&r.g[1..l]), [0; 3]);
            loop {
                match &lower_head {
                    Some(h) if suffix(h, &want).is_ge() => break,
                    _ => {}
                }
                lower_head = match lower.as_mut().and_then(Iterator::next) {
                    Some(h) => Some(h.map_err(spill_io)?),
                    None => break,
                };
            }
            match &lower_head {
                Some(h) if h.g == want.g => f64::from_bits(h.v[0]),
                _ => {
                    return Err(LmError::Train(
                        "internal: an n-gram's suffix is missing one order down".into(),
                    ));
                }
            }
        };
        let p = share + gamma * below;
        if l < n {
            this_order
                .push(rec(r.g, [p.to_bits(), 0, 0]))
                .map_err(spill_io)?;
        }
        let backoff = if r.v[2] == NONE {
            0.0
        } else {
            f64::from_bits(r.v[2]).log10() as f32
        };
        entries
            .push(rec(
                r.g,
                [
                    u64::from(log10(p).to_bits()),
                    u64::from(backoff.to_bits()),
                    0,
                ],
            ))
            .map_err(spill_io)?;
    }
    runs += this_order.runs();
    Ok((entries, runs))
}

/// lmplz's discounts from the counts of counts 1–4 (`t[c]`); `None` when one is out
/// of range.
fn discounts_of(t: &[u64; 5]) -> Option<[f64; 3]> {
    let t = t.map(|c| c as f64);
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

#[cfg(test)]
mod tests {
    use taojin_schemas::rng::SplitMix64;

    use super::*;
    use crate::lm::NgramModel;
    use crate::lm::arpa::{self, Arpa};
    use rustc_hash::FxHashSet;

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

    /// The ARPA text of a model trained on the test corpus with `memory` bytes.
    fn trained(order: usize, prune: &[u64], memory: usize) -> (Vec<u8>, TrainStats) {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Trainer::with_memory(order, memory, dir.path()).unwrap();
        for s in corpus(7, 3000) {
            t.add_sentence(s.iter().map(String::as_str)).unwrap();
        }
        let mut text = Vec::new();
        let stats = t.finish(prune, &mut text, "trained.arpa").unwrap();
        (text, stats)
    }

    fn model(order: usize, prune: &[u64]) -> (Arpa, NgramModel) {
        let (text, _) = trained(order, prune, DEFAULT_MEMORY);
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
        let mut t = Trainer::new(3).unwrap();
        t.add_sentence(["a", "b"]).unwrap();
        assert!(t.finish(&[0, 2, 1], &mut Vec::new(), "x").is_err());
    }

    #[test]
    fn training_is_deterministic_and_discounts_are_lmplz_s() {
        let (a, _) = model(3, &[]);
        let (b, _) = model(3, &[]);
        assert_eq!(a, b);
        assert_eq!(
            discounts_of(&[0, 4, 2, 1, 1]).map(|d| d.map(|x| (x * 1e6).round() / 1e6)),
            Some([0.5, 1.25, 1.0])
        );
        assert_eq!(discounts_of(&[0, 2, 0, 0, 0]), None);
    }

    #[test]
    fn spilling_changes_nothing_in_the_model() {
        for (order, prune) in [(3, &[][..]), (5, &[0, 1, 1, 2, 2][..])] {
            let (in_memory, a) = trained(order, prune, DEFAULT_MEMORY);
            assert_eq!(a.spilled_runs, 0);
            // 16-record runs: every sort and the counting table spill, runs merge in levels.
            let (spilled, b) = trained(order, prune, 0);
            assert!(b.spilled_runs > 20, "{} runs", b.spilled_runs);
            assert_eq!(a.ngrams, b.ngrams);
            assert!(
                in_memory == spilled,
                "order {order}: spilled output differs"
            );
        }
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
