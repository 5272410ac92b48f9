//! Scoring with a back-off model the way KenLM does: the probability of a word is that
//! of the longest n-gram the model has ending in it, plus the back-off weights of every
//! longer context the model knows. N-grams are keyed by a 64-bit hash of their word ids
//! (KenLM's probing structure does the same), folded newest word first so that the
//! grams and contexts of one lookup are built one word at a time.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::arpa::Arpa;
use super::units::for_each_unit;
use super::{BOS, EOS, UNK};

#[derive(Clone, Copy)]
struct Entry {
    logp: f32,
    backoff: f32,
}

/// A loaded n-gram model, ready to score text.
pub struct NgramModel {
    order: usize,
    vocab: HashMap<String, u32>,
    words: Vec<String>,
    entries: FxHashMap<u64, Entry>,
    counts: Vec<usize>,
    bos: u32,
    eos: u32,
    unk: u32,
}

/// The score of some text: total log10 probability and the tokens it covers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scored {
    /// Sum of log10 probabilities, `</s>` of every sentence included.
    pub log10: f64,
    /// Tokens predicted: units plus one `</s>` per sentence.
    pub tokens: u64,
    /// Units not in the vocabulary (scored as `<unk>`).
    pub oov: u64,
}

impl Scored {
    /// Adds another score to this one.
    pub fn add(&mut self, other: Scored) {
        self.log10 += other.log10;
        self.tokens += other.tokens;
        self.oov += other.oov;
    }

    /// Perplexity, `10^(−log10 / tokens)` (CCNet's document perplexity); `None` for no tokens.
    pub fn perplexity(&self) -> Option<f64> {
        (self.tokens > 0).then(|| 10f64.powf(-self.log10 / self.tokens as f64))
    }
}

const SEED: u64 = 0x243F_6A88_85A3_08D3;

fn step(h: u64, id: u32) -> u64 {
    let x = (h ^ u64::from(id).wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (x >> 32)
}

/// The key of an n-gram given oldest word first.
fn key(ids: &[u32]) -> u64 {
    ids.iter().rev().fold(SEED, |h, &id| step(h, id))
}

impl NgramModel {
    /// The model of a parsed ARPA file.
    pub fn from_arpa(arpa: &Arpa) -> NgramModel {
        let mut vocab = HashMap::with_capacity(arpa.words.len());
        for (i, w) in arpa.words.iter().enumerate() {
            vocab.insert(w.clone(), i as u32);
        }
        let total: usize = arpa.orders.iter().map(|o| o.len()).sum();
        let mut entries = FxHashMap::with_capacity_and_hasher(total, Default::default());
        for o in &arpa.orders {
            for i in 0..o.len() {
                entries.insert(
                    key(o.words(i)),
                    Entry {
                        logp: o.logp[i],
                        backoff: o.backoff[i],
                    },
                );
            }
        }
        let id = |w: &str| vocab.get(w).copied().unwrap_or(0);
        NgramModel {
            order: arpa.orders.len(),
            bos: id(BOS),
            eos: id(EOS),
            unk: id(UNK),
            counts: arpa.orders.iter().map(|o| o.len()).collect(),
            words: arpa.words.clone(),
            entries,
            vocab,
        }
    }

    /// The model's order.
    pub fn order(&self) -> usize {
        self.order
    }

    /// N-grams per order, unigrams first.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// The vocabulary, `<unk>`, `<s>` and `</s>` included, in ARPA order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The id of a word; unknown words get `<unk>`'s.
    pub fn id(&self, word: &str) -> u32 {
        self.vocab.get(word).copied().unwrap_or(self.unk)
    }

    /// The id of `</s>`.
    pub fn eos(&self) -> u32 {
        self.eos
    }

    /// The id of `<s>`.
    pub fn bos(&self) -> u32 {
        self.bos
    }

    /// log10 p(`word` | `context`), the context oldest word first (only its last
    /// `order − 1` words matter).
    pub fn log10_prob(&self, context: &[u32], word: u32) -> f32 {
        let ctx = &context[context.len().saturating_sub(self.order - 1)..];
        let mut g = step(SEED, word);
        let mut logp = match self.entries.get(&g) {
            Some(e) => e.logp,
            None => self
                .entries
                .get(&step(SEED, self.unk))
                .map_or(-100.0, |e| e.logp),
        };
        let mut c = SEED;
        let mut backoffs = 0f32;
        for &w in ctx.iter().rev() {
            c = step(c, w);
            g = step(g, w);
            let Some(context) = self.entries.get(&c) else {
                break;
            };
            match self.entries.get(&g) {
                Some(e) => {
                    logp = e.logp;
                    backoffs = 0.0;
                }
                None => backoffs += context.backoff,
            }
        }
        logp + backoffs
    }

    /// Scores one sentence of word ids with `<s>` before and `</s>` after it.
    pub fn score_ids(&self, ids: &[u32]) -> Scored {
        let mut ctx: Vec<u32> = Vec::with_capacity(ids.len() + 2);
        ctx.push(self.bos);
        let mut log10 = 0f64;
        for &w in ids.iter().chain(std::iter::once(&self.eos)) {
            log10 += f64::from(self.log10_prob(&ctx, w));
            ctx.push(w);
        }
        Scored {
            log10,
            tokens: ids.len() as u64 + 1,
            oov: ids.iter().filter(|&&w| w == self.unk).count() as u64,
        }
    }

    /// Scores a sentence already split into words by whitespace (as KenLM's `score()`).
    pub fn score_words(&self, sentence: &str) -> Scored {
        let ids: Vec<u32> = sentence.split_whitespace().map(|w| self.id(w)).collect();
        self.score_ids(&ids)
    }

    /// Scores a line of raw text by its [units](super::units); `None` when it has none.
    pub fn score_line(&self, line: &str, buf: &mut String, ids: &mut Vec<u32>) -> Option<Scored> {
        ids.clear();
        for_each_unit(line, buf, |u| ids.push(self.id(u)));
        (!ids.is_empty()).then(|| self.score_ids(ids))
    }

    /// Scores a document line by line, CCNet style; with `max_tokens`, long documents are
    /// scored on an evenly spaced sample of their lines of about that many units.
    pub fn score_document(&self, text: &str, max_tokens: Option<u64>) -> Scored {
        let mut total = Scored::default();
        let (mut buf, mut ids) = (String::new(), Vec::new());
        let lines: Vec<&str> = text.lines().collect();
        let stride = match max_tokens {
            Some(max) if text.len() as u64 > max.saturating_mul(4) => {
                // ~4 bytes a unit in either script is a cheap upper bound on units.
                (text.len() as u64 / max.saturating_mul(4).max(1)).max(1) as usize
            }
            _ => 1,
        };
        for line in lines.iter().step_by(stride) {
            if let Some(s) = self.score_line(line, &mut buf, &mut ids) {
                total.add(s);
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_different_grams_differ() {
        assert_ne!(key(&[1, 2]), key(&[2, 1]));
        assert_ne!(key(&[1]), key(&[1, 1]));
        assert_eq!(key(&[3, 4]), step(step(SEED, 4), 3));
    }
}
