//! The prepared view of one document that every rule reads: lines, paragraphs, words and
//! character counts, computed once.
//!
//! Rules never split the text again; they read the spans and counts here. English words
//! come from a small deterministic tokenizer ([`english_words`]); Chinese words come from
//! jieba ([`Segmenter`]), whose dictionary is shared by the segmenters alive.

use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use jieba_rs::Jieba;
use xxhash_rust::xxh3::xxh3_64;

/// Which word definition a document gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Words from the English tokenizer: letter/digit runs and punctuation runs.
    English,
    /// Words from jieba.
    Chinese,
    /// No words: only script-neutral rules run.
    Neutral,
}

/// One line of the text, without its `\n` (and without a `\r` before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character (before `\r\n` / `\n`).
    pub end: usize,
    /// Number of characters.
    pub chars: u32,
    /// First non-whitespace character, if any.
    pub first: Option<char>,
    /// Last non-whitespace character, if any.
    pub last: Option<char>,
    /// The line holds only whitespace.
    pub blank: bool,
    /// Hash of the line's bytes, to find repeated lines.
    pub hash: u64,
}

impl Line {
    /// The line's text within `text`.
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// A paragraph: consecutive lines between empty lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paragraph {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// Number of characters, newlines inside included.
    pub chars: u32,
    /// Hash of the paragraph's bytes.
    pub hash: u64,
}

/// One word (or punctuation token) of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the end.
    pub end: usize,
    /// Number of characters.
    pub chars: u32,
    /// Hash of the word's bytes (n-gram repetition).
    pub hash: u64,
    /// The token holds a letter or digit; false for punctuation/symbol tokens.
    pub is_word: bool,
    /// The token holds an alphabetic character (Han counts, as in Python's `isalpha`).
    pub has_alpha: bool,
}

impl Word {
    /// The word's text within `text`.
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// Character counts of the whole document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CharCounts {
    /// All characters.
    pub total: u64,
    /// Characters that are not whitespace.
    pub non_space: u64,
    /// Han ideographs.
    pub han: u64,
    /// Alphabetic characters (any script).
    pub alpha: u64,
    /// `\n` characters.
    pub newlines: u64,
    /// `#` characters.
    pub hashes: u64,
    /// Ellipses: `…` plus non-overlapping `...`.
    pub ellipses: u64,
}

/// Everything the rules need to know about one document, computed once.
#[derive(Debug, Clone)]
pub struct DocView<'a> {
    /// The text judged (after line cleaning).
    pub text: &'a str,
    /// Which word definition was used.
    pub script: Script,
    /// Lines split on `\n`; a final empty piece after a trailing `\n` is not a line.
    pub lines: Vec<Line>,
    /// Paragraphs: runs of lines separated by empty lines.
    pub paragraphs: Vec<Paragraph>,
    /// Words and punctuation tokens in order (empty for [`Script::Neutral`]).
    pub words: Vec<Word>,
    /// Character counts.
    pub chars: CharCounts,
}

impl<'a> DocView<'a> {
    /// Builds the view of `text` with the word definition of `script`.
    pub fn new(text: &'a str, script: Script, segmenter: &Segmenter) -> DocView<'a> {
        let (lines, chars) = scan_lines(text);
        let paragraphs = paragraphs(text, &lines);
        let words = match script {
            Script::English => english_words(text),
            Script::Chinese => segmenter.words(text),
            Script::Neutral => Vec::new(),
        };
        DocView {
            text,
            script,
            lines,
            paragraphs,
            words,
            chars,
        }
    }

    /// Lines holding something other than whitespace.
    pub fn non_blank_lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| !l.blank)
    }

    /// Number of word tokens that hold a letter or digit.
    pub fn n_words(&self) -> usize {
        self.words.iter().filter(|w| w.is_word).count()
    }
}

/// Splits `text` into lines and counts its characters in one pass.
pub fn scan_lines(text: &str) -> (Vec<Line>, CharCounts) {
    let mut lines = Vec::with_capacity(text.len() / 64 + 1);
    let mut counts = CharCounts::default();
    let mut start = 0usize;
    let mut cur = LineAcc::default();
    let mut dots = 0u64;
    for (i, c) in text.char_indices() {
        counts.total += 1;
        if c == '.' {
            dots += 1;
        } else {
            counts.ellipses += dots / 3;
            dots = 0;
        }
        if c == '\n' {
            counts.newlines += 1;
            lines.push(cur.finish(text, start, i));
            start = i + 1;
            cur = LineAcc::default();
            continue;
        }
        cur.chars += 1;
        if c.is_whitespace() {
            continue;
        }
        counts.non_space += 1;
        if cur.first.is_none() {
            cur.first = Some(c);
        }
        cur.last = Some(c);
        match c {
            '#' => counts.hashes += 1,
            '…' => counts.ellipses += 1,
            _ => {}
        }
        if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                counts.alpha += 1;
            }
        } else if is_han(c) {
            counts.han += 1;
            counts.alpha += 1;
        } else if c.is_alphabetic() {
            counts.alpha += 1;
        }
    }
    counts.ellipses += dots / 3;
    if start < text.len() {
        lines.push(cur.finish(text, start, text.len()));
    }
    (lines, counts)
}

#[derive(Default)]
struct LineAcc {
    chars: u32,
    first: Option<char>,
    last: Option<char>,
}

impl LineAcc {
    fn finish(self, text: &str, start: usize, mut end: usize) -> Line {
        let mut chars = self.chars;
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
            chars = chars.saturating_sub(1);
        }
        let bytes = text.as_bytes().get(start..end).unwrap_or(&[]);
        Line {
            start,
            end,
            chars,
            first: self.first,
            last: self.last,
            blank: self.first.is_none(),
            hash: xxh3_64(bytes),
        }
    }
}

fn paragraphs(text: &str, lines: &[Line]) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, u32, usize)> = None; // start, end, chars, n_lines
    let close = |open: &mut Option<(usize, usize, u32, usize)>, out: &mut Vec<Paragraph>| {
        if let Some((start, end, chars, n)) = open.take() {
            let bytes = text.as_bytes().get(start..end).unwrap_or(&[]);
            let chars = chars.saturating_add(n.saturating_sub(1) as u32);
            out.push(Paragraph {
                start,
                end,
                chars,
                hash: xxh3_64(bytes),
            });
        }
    };
    for l in lines {
        if l.start == l.end {
            close(&mut open, &mut out);
            continue;
        }
        open = Some(match open {
            None => (l.start, l.end, l.chars, 1),
            Some((s, _, c, n)) => (s, l.end, c.saturating_add(l.chars), n + 1),
        });
    }
    close(&mut open, &mut out);
    out
}

pub use taojin_schemas::script::is_han;

/// True for characters of scripts written without spaces (Han, kana, hangul), and for
/// CJK and full-width punctuation: each of these ends an English word.
pub fn is_cjk(c: char) -> bool {
    is_han(c)
        || matches!(c as u32,
            0x3000..=0x303F | 0x3040..=0x30FF | 0x31F0..=0x31FF | 0xAC00..=0xD7AF
            | 0x1100..=0x11FF | 0xFF00..=0xFFEF)
}

/// Terminal punctuation of English lines: C4's `. ? ! " '` plus curly quotes.
pub fn is_terminal_en(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '"' | '\'' | '”' | '’')
}

/// Terminal punctuation of Chinese lines: the English set plus 。！？…」』”’）．and the
/// full-width quote and bracket closers (datatrove `TERMINAL_PUNCTUATION`, MAP-CC).
pub fn is_terminal_zh(c: char) -> bool {
    is_terminal_en(c)
        || matches!(
            c,
            '。' | '！' | '？' | '…' | '」' | '』' | '）' | '．' | '｡' | '＂' | '＇'
        )
}

/// Identity hasher for keys that are already 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Build-hasher for maps keyed by precomputed hashes.
pub type PreHashedState = BuildHasherDefault<PreHashed>;

/// Splits English text into tokens: words (runs of letters and digits, with `'`, `’`, `-`,
/// `.` and `,` kept when they join two letters or digits, e.g. `don't`, `well-known`,
/// `3.14`, `1,000`) and punctuation tokens (runs of other non-space characters). Each Han,
/// kana or hangul character is a word of its own; CJK punctuation is a token of its own.
pub fn english_words(text: &str) -> Vec<Word> {
    let mut out = Vec::with_capacity(text.len() / 5 + 1);
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c.is_whitespace() {
            continue;
        }
        if is_cjk(c) {
            let end = i + c.len_utf8();
            let alpha = c.is_alphabetic();
            out.push(make_word(text, i, end, 1, alpha || c.is_numeric(), alpha));
            continue;
        }
        if is_word_char(c) {
            let mut end = i + c.len_utf8();
            let mut chars = 1u32;
            let mut alpha = c.is_alphabetic();
            let mut prev_word = true;
            let mut last = c;
            while let Some(&(j, d)) = iter.peek() {
                if is_word_char(d) && !is_cjk(d) {
                    alpha |= d.is_alphabetic();
                    prev_word = true;
                } else if prev_word && is_joiner(d) {
                    // Keep a joiner only when a word character follows it.
                    let next = text.get(j + d.len_utf8()..).and_then(|s| s.chars().next());
                    match next {
                        Some(n) if is_word_char(n) && !is_cjk(n) && joins(d, last, n) => {
                            prev_word = false;
                        }
                        _ => break,
                    }
                } else {
                    break;
                }
                end = j + d.len_utf8();
                chars += 1;
                last = d;
                iter.next();
            }
            out.push(make_word(text, i, end, chars, true, alpha));
            continue;
        }
        // Punctuation / symbol run.
        let mut end = i + c.len_utf8();
        let mut chars = 1u32;
        while let Some(&(j, d)) = iter.peek() {
            if d.is_whitespace() || is_word_char(d) || is_cjk(d) {
                break;
            }
            end = j + d.len_utf8();
            chars += 1;
            iter.next();
        }
        out.push(make_word(text, i, end, chars, false, false));
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '’' | '-' | '.' | ',')
}

/// `,` only joins digits (`1,000`); the other joiners join any word characters.
fn joins(joiner: char, prev: char, next: char) -> bool {
    if joiner == ',' {
        prev.is_ascii_digit() && next.is_ascii_digit()
    } else {
        true
    }
}

fn make_word(text: &str, start: usize, end: usize, chars: u32, is_word: bool, alpha: bool) -> Word {
    let bytes = text.as_bytes().get(start..end).unwrap_or(&[]);
    Word {
        start,
        end,
        chars,
        hash: xxh3_64(bytes),
        is_word,
        has_alpha: alpha,
    }
}

/// Chinese word segmentation with jieba.
///
/// Loading jieba's dictionary takes a noticeable fraction of a second and about 60 MB,
/// so one instance is shared by every segmenter alive (and their threads), loaded on
/// first use, and freed with the last of them: a job's later stages do not carry it.
#[derive(Clone)]
pub struct Segmenter {
    hmm: bool,
    jieba: Arc<OnceLock<Arc<Jieba>>>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("hmm", &self.hmm)
            .field("loaded", &self.jieba.get().is_some())
            .finish()
    }
}

/// The jieba instance of the segmenters alive, if any.
static JIEBA: Mutex<Weak<Jieba>> = Mutex::new(Weak::new());

impl Segmenter {
    /// A segmenter; `hmm` lets jieba guess words missing from its dictionary.
    pub fn new(hmm: bool) -> Segmenter {
        Segmenter {
            hmm,
            jieba: Arc::new(OnceLock::new()),
        }
    }

    /// Loads the dictionary now rather than on the first Chinese document.
    pub fn warm_up(&self) {
        let _ = self.jieba();
    }

    fn jieba(&self) -> &Jieba {
        self.jieba.get_or_init(|| {
            // Held while loading, so two threads never load it twice.
            let mut shared = JIEBA.lock().unwrap_or_else(|e| e.into_inner());
            shared.upgrade().unwrap_or_else(|| {
                let jieba = Arc::new(Jieba::new());
                *shared = Arc::downgrade(&jieba);
                jieba
            })
        })
    }

    /// Words of `text` from jieba, whitespace tokens left out.
    pub fn words(&self, text: &str) -> Vec<Word> {
        let jieba = self.jieba();
        let mut out = Vec::with_capacity(text.len() / 4 + 1);
        for tok in jieba.cut(text, self.hmm) {
            let (start, end) = (tok.byte_start, tok.byte_end);
            let Some(word) = text.get(start..end) else {
                continue;
            };
            let mut is_word = false;
            let mut alpha = false;
            let mut blank = true;
            for ch in word.chars() {
                if !ch.is_whitespace() {
                    blank = false;
                }
                if ch.is_alphanumeric() {
                    is_word = true;
                    if ch.is_alphabetic() {
                        alpha = true;
                    }
                }
            }
            if blank {
                continue;
            }
            let chars = tok.end.saturating_sub(tok.start) as u32;
            out.push(make_word(text, start, end, chars, is_word, alpha));
        }
        out
    }

    /// Number of non-whitespace jieba tokens of `text` (punctuation included), as MAP-CC
    /// counts words per line.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.jieba()
            .cut(text, self.hmm)
            .iter()
            .filter(|t| !t.word.trim().is_empty())
            .count()
    }
}

/// `numerator / denominator`, or `None` when the denominator is zero.
pub fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    if denominator > 0.0 {
        Some(numerator / denominator)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Segmenters alive at once share one jieba instance (the dictionary is loaded once).
    #[test]
    fn segmenters_alive_share_one_dictionary() {
        let (a, b) = (Segmenter::new(true), Segmenter::new(false));
        assert!(std::ptr::eq(a.jieba(), b.jieba()));
        assert!(std::ptr::eq(a.clone().jieba(), a.jieba()));
        assert_eq!(a.count_tokens("我们在北京"), b.count_tokens("我们在北京"));
    }

    fn texts<'a>(text: &'a str, words: &[Word]) -> Vec<&'a str> {
        words.iter().map(|w| w.text(text)).collect()
    }

    #[test]
    fn english_tokens() {
        let t = "Don't stop: well-known 3.14, 1,000 U.S. cats... #tag $5 中文";
        let w = english_words(t);
        assert_eq!(
            texts(t, &w),
            [
                "Don't",
                "stop",
                ":",
                "well-known",
                "3.14",
                ",",
                "1,000",
                "U.S",
                ".",
                "cats",
                "...",
                "#",
                "tag",
                "$",
                "5",
                "中",
                "文"
            ]
        );
        assert!(w[0].is_word && w[0].has_alpha);
        assert!(!w[2].is_word);
        assert!(w[4].is_word && !w[4].has_alpha);
    }

    #[test]
    fn lines_and_counts() {
        let t = "a b\r\n\n  \n中文…...\n";
        let (lines, c) = scan_lines(t);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].text(t), "a b");
        assert_eq!(lines[0].chars, 3);
        assert!(lines[1].blank && lines[2].blank);
        assert_eq!(lines[3].last, Some('.'));
        assert_eq!(c.han, 2);
        assert_eq!(c.ellipses, 2);
        assert_eq!(c.newlines, 4);
    }

    #[test]
    fn paragraphs_split_on_empty_lines() {
        let t = "a\nb\n\n\nc\n \nd";
        let (lines, _) = scan_lines(t);
        let p = paragraphs(t, &lines);
        assert_eq!(p.len(), 2);
        assert_eq!(&t[p[0].start..p[0].end], "a\nb");
        assert_eq!(p[0].chars, 3);
        assert_eq!(&t[p[1].start..p[1].end], "c\n \nd");
    }

    #[test]
    fn jieba_words_have_offsets() {
        let t = "我们在北京 学习，很好。";
        let w = Segmenter::new(true).words(t);
        let s = texts(t, &w);
        assert!(s.contains(&"北京"), "{s:?}");
        assert!(!s.contains(&" "));
        let comma = w.iter().find(|w| w.text(t) == "，").unwrap();
        assert!(!comma.is_word);
        assert!(
            w.iter()
                .all(|w| w.chars as usize == w.text(t).chars().count())
        );
    }
}
