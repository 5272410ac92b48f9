//! Scoring with a back-off model the way KenLM does: the probability of a word is that
//! of the longest n-gram the model has ending in it, plus the back-off weights of every
//! longer context the model knows. N-grams are keyed by a 64-bit hash of their word ids
//! (KenLM's probing structure does the same), folded newest word first so that the
//! grams and contexts of one lookup are built one word at a time.

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
    vocab: FxHashMap<String, u32>,
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
pub(super) fn key(ids: &[u32]) -> u64 {
    ids.iter().rev().fold(SEED, |h, &id| step(h, id))
}

impl NgramModel {
    /// The model of a parsed ARPA file.
    pub fn from_arpa(arpa: &Arpa) -> NgramModel {
        let mut vocab = FxHashMap::with_capacity_and_hasher(arpa.words.len(), Default::default());
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

    /// Scores one sentence of word ids with `<s>` before and `</s>` after it. Like
    /// KenLM, it carries the back-offs of the context from one word to the next (they are
    /// the n-grams found for the word before), so each word costs one lookup per order.
    pub fn score_ids(&self, ids: &[u32]) -> Scored {
        let max_ctx = self.order - 1;
        // history[i]: the i-th most recent word; backoffs[i]: the back-off of the context
        // made of the i+1 most recent words (all of them in the model).
        let mut history: Vec<u32> = Vec::with_capacity(max_ctx);
        let mut backoffs: Vec<f32> = Vec::with_capacity(max_ctx);
        history.push(self.bos);
        backoffs.push(
            self.entries
                .get(&step(SEED, self.bos))
                .map_or(0.0, |e| e.backoff),
        );
        let (mut next_history, mut next_backoffs) =
            (Vec::with_capacity(max_ctx), Vec::with_capacity(max_ctx));
        let unk = self.entries.get(&step(SEED, self.unk)).copied();
        let mut log10 = 0f64;
        for &w in ids.iter().chain(std::iter::once(&self.eos)) {
            let mut g = step(SEED, w);
            let first = self.entries.get(&g).copied().or(unk);
            let mut logp = first.map_or(-100.0, |e| e.logp);
            next_backoffs.clear();
            next_backoffs.push(first.map_or(0.0, |e| e.backoff));
            let mut matched = 0;
            for (j, &c) in history.iter().enumerate() {
                g = step(g, c);
                match self.entries.get(&g) {
                    Some(e) => {
                        logp = e.logp;
                        matched = j + 1;
                        if next_backoffs.len() < max_ctx {
                            next_backoffs.push(e.backoff);
                        }
                    }
                    None => break,
                }
            }
            let backed_off: f32 = backoffs[matched.min(backoffs.len())..].iter().sum();
            log10 += f64::from(logp + backed_off);
            next_history.clear();
            next_history.push(w);
            next_history.extend(history.iter().take(next_backoffs.len() - 1));
            std::mem::swap(&mut history, &mut next_history);
            std::mem::swap(&mut backoffs, &mut next_backoffs);
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
        let stride = match max_tokens {
            Some(max) if text.len() as u64 > max.saturating_mul(4) => {
                // ~4 bytes a unit in either script is a cheap upper bound on units.
                (text.len() as u64 / max.saturating_mul(4).max(1)).max(1) as usize
            }
            _ => 1,
        };
        for line in text.lines().step_by(stride) {
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
    fn carried_state_scores_as_the_lookup_rule_does() {
        let text = "\\data\\\nngram 1=5\nngram 2=4\nngram 3=2\n\n\\1-grams:\n-1.0\t<unk>\n-99\t<s>\t-0.5\n-0.7\t</s>\n-0.6\ta\t-0.3\n-0.8\tb\t-0.2\n\n\\2-grams:\n-0.2\t<s> a\t-0.1\n-0.4\ta b\t-0.15\n-0.3\tb a\n-0.5\tb </s>\n\n\\3-grams:\n-0.1\t<s> a b\n-0.05\ta b </s>\n\n\\end\\\n";
        let m = NgramModel::from_arpa(&crate::lm::arpa::parse(text.as_bytes(), "t").unwrap());
        for sentence in ["a b", "a b a b", "b b a x a", "", "x", "a a a b a"] {
            let ids: Vec<u32> = sentence.split_whitespace().map(|w| m.id(w)).collect();
            let mut ctx = vec![m.bos()];
            let mut want = 0f64;
            for &w in ids.iter().chain([m.eos()].iter()) {
                want += f64::from(m.log10_prob(&ctx, w));
                ctx.push(w);
            }
            let got = m.score_ids(&ids).log10;
            assert!((got - want).abs() < 1e-6, "{sentence}: {got} vs {want}");
        }
    }

    #[test]
    fn keys_of_different_grams_differ() {
        assert_ne!(key(&[1, 2]), key(&[2, 1]));
        assert_ne!(key(&[1]), key(&[1, 1]));
        assert_eq!(key(&[3, 4]), step(step(SEED, 4), 3));
    }
}
