//! Script-aware shingles: what a "word" is differs between Chinese and English.
//!
//! Each Han, kana or hangul character is one token (Chinese has no spaces, and a run of
//! ideographs between punctuation is a phrase, not a word); runs of other letters and
//! digits are lower-cased word tokens; everything else separates tokens. A shingle is `n`
//! consecutive tokens, with `n` chosen by the document's dominant script.

use xxhash_rust::xxh3::xxh3_64;

/// How documents are cut into shingles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShingleConfig {
    /// Tokens per shingle when word tokens dominate (FineWeb: 5 words).
    pub n_latin: usize,
    /// Tokens per shingle when ideograph tokens dominate. Default 7: a modern Chinese word
    /// averages about 1.4–1.6 characters, so 7 characters span about as much text as
    /// 5 English words do.
    pub n_han: usize,
    /// Only the first this many tokens are shingled: a bound on the cost of huge
    /// documents (near-duplicates of such documents almost always share their start).
    pub max_tokens: usize,
}

impl Default for ShingleConfig {
    fn default() -> Self {
        ShingleConfig {
            n_latin: 5,
            n_han: 7,
            max_tokens: 100_000,
        }
    }
}

use taojin_schemas::script::is_cjk_letter as is_cjk_token;

/// The word being read: its start and whether it must be lower-cased before hashing.
struct Word {
    start: Option<usize>,
    needs_lower: bool,
    lower: String,
}

impl Word {
    fn flush(&mut self, text: &str, end: usize, out: &mut Vec<u64>) -> bool {
        let Some(s) = self.start.take() else {
            return false;
        };
        let word = &text[s..end];
        let h = if self.needs_lower {
            self.lower.clear();
            self.lower.extend(word.chars().flat_map(char::to_lowercase));
            xxh3_64(self.lower.as_bytes())
        } else {
            xxh3_64(word.as_bytes())
        };
        out.push(h);
        self.needs_lower = false;
        true
    }
}

/// Token hashes of a text and whether ideograph tokens dominate. Words that are already
/// lower case are hashed in place; only words with capitals are copied.
pub fn token_hashes(text: &str, max_tokens: usize, out: &mut Vec<u64>) -> bool {
    out.clear();
    let (mut cjk, mut words) = (0usize, 0usize);
    let mut word = Word {
        start: None,
        needs_lower: false,
        lower: String::new(),
    };
    for (i, c) in text.char_indices() {
        if out.len() >= max_tokens {
            return cjk > words;
        }
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            word.start.get_or_insert(i);
        } else if c.is_ascii() && !c.is_ascii_alphabetic() {
            words += word.flush(text, i, out) as usize;
        } else if is_cjk_token(c) {
            words += word.flush(text, i, out) as usize;
            let mut buf = [0u8; 4];
            out.push(xxh3_64(c.encode_utf8(&mut buf).as_bytes()));
            cjk += 1;
        } else if c.is_alphanumeric() {
            word.start.get_or_insert(i);
            word.needs_lower |= c.is_uppercase();
        } else {
            words += word.flush(text, i, out) as usize;
        }
    }
    if out.len() < max_tokens {
        words += word.flush(text, text.len(), out) as usize;
    }
    cjk > words
}

/// The sorted, de-duplicated shingle hashes of `text` (a set: Jaccard similarity is
/// computed on these). A text with fewer than `n` tokens has one shingle of all of them.
pub fn shingle_hashes(text: &str, cfg: &ShingleConfig, tokens: &mut Vec<u64>, out: &mut Vec<u64>) {
    out.clear();
    let cjk = token_hashes(text, cfg.max_tokens, tokens);
    let n = if cjk { cfg.n_han } else { cfg.n_latin }.max(1);
    if tokens.is_empty() {
        return;
    }
    let windows = tokens.len().saturating_sub(n) + 1;
    let n = n.min(tokens.len());
    for w in 0..windows {
        let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
        for &t in &tokens[w..w + n] {
            h = (h.rotate_left(23) ^ t).wrapping_mul(0x2545_F491_4F6C_DD1D);
        }
        out.push(h);
    }
    out.sort_unstable();
    out.dedup();
}

/// Jaccard similarity of two sorted, de-duplicated sets (1.0 for two empty sets).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (a.len() + b.len() - inter) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shingles(text: &str) -> Vec<u64> {
        let (mut t, mut s) = (Vec::new(), Vec::new());
        shingle_hashes(text, &ShingleConfig::default(), &mut t, &mut s);
        s
    }

    #[test]
    fn chinese_characters_are_tokens() {
        let mut t = Vec::new();
        assert!(token_hashes("我们使用Python训练", 100, &mut t));
        assert_eq!(t.len(), 7, "6 ideographs + one word");
        assert!(!token_hashes("Hello, World! 你好", 100, &mut t));
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn case_and_punctuation_do_not_matter() {
        assert_eq!(
            shingles("The quick brown fox jumps over the lazy dog."),
            shingles("the QUICK brown, fox jumps; over the lazy dog")
        );
        assert_eq!(
            jaccard(&shingles("a b c d e f"), &shingles("a b c d e f")),
            1.0
        );
        assert_eq!(
            jaccard(&shingles("a b c d e f"), &shingles("u v w x y z")),
            0.0
        );
        assert_eq!(shingles("短").len(), 1);
        assert!(shingles("").is_empty());
    }

    #[test]
    fn jaccard_counts_overlap() {
        assert_eq!(jaccard(&[1, 2, 3, 4], &[3, 4, 5, 6]), 2.0 / 6.0);
        assert_eq!(jaccard(&[], &[]), 1.0);
        assert_eq!(jaccard(&[1], &[]), 0.0);
    }
}
