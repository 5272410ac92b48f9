//! A hand-written pre-tokenizer for the byte-level BPE `Split` patterns in wide use
//! (Qwen2, GPT-4's cl100k and Llama 3, GPT-2, and `train-tokenizer`'s own), giving the
//! same pieces as the regex. Why: every piece of those patterns is a short run of one
//! character class, and the regex engine's per-search setup was most of the splitter's
//! time (about a fifth of a tokenize job); here each character costs one table lookup.
//! The classes come from `regex-syntax` — the tables the `regex` crate itself uses — so
//! `\p{L}`, `\p{N}`, `\s`, `\p{Han}` and the case folds of `(?i)` are exactly the regex's.
//! Any other pattern goes to the regex engines (see `splitter`).

use regex_syntax::hir::{Class, HirKind};

/// `\p{L}`.
const LETTER: u8 = 1;
/// `\p{N}`.
const NUMBER: u8 = 2;
/// `\s`.
const SPACE: u8 = 4;
/// `[\r\n]`.
const NEWLINE: u8 = 8;
/// `\p{Han}`.
const HAN: u8 = 16;

/// What the letter alternative may take in front of its run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LetterPrefix {
    /// `[^\r\n\p{L}\p{N}]?` (Qwen2, cl100k).
    Any,
    /// ` ?` (GPT-2).
    Space,
}

/// The digit alternative.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Digits {
    /// `\p{N}`.
    One,
    /// `\p{N}{1,3}`.
    UpTo3,
    /// ` ?\p{N}+`.
    SpaceRun,
}

/// Which of the family a pattern is: its alternatives, in the order the regex tries them.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rules {
    /// `(?i:'s|'t|…)` rather than `'s|'t|…`.
    fold_contractions: bool,
    /// `\p{Han}{1,4}` before the letters, which then exclude Han.
    han_runs: bool,
    letter_prefix: LetterPrefix,
    digits: Digits,
    /// ` ?[^\s\p{L}\p{N}]+[\r\n]*` rather than ` ?[^\s\p{L}\p{N}]+`.
    other_newlines: bool,
    /// The `\s*[\r\n]+` alternative.
    newline_runs: bool,
}

const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const CL100K: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

fn rules_of(pattern: &str) -> Option<Rules> {
    let qwen = Rules {
        fold_contractions: true,
        han_runs: false,
        letter_prefix: LetterPrefix::Any,
        digits: Digits::One,
        other_newlines: true,
        newline_runs: true,
    };
    Some(match pattern {
        QWEN2 => qwen,
        CL100K => Rules {
            digits: Digits::UpTo3,
            ..qwen
        },
        crate::train::SPLIT_PATTERN => Rules {
            han_runs: true,
            ..qwen
        },
        GPT2 => Rules {
            fold_contractions: false,
            han_runs: false,
            letter_prefix: LetterPrefix::Space,
            digits: Digits::SpaceRun,
            other_newlines: false,
            newline_runs: false,
        },
        _ => return None,
    })
}

/// The code point ranges of a one-class pattern, as `regex-syntax` resolves it.
fn ranges(class: &str) -> Option<Vec<(u32, u32)>> {
    let hir = regex_syntax::parse(class).ok()?;
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => Some(
            c.ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end())))
                .collect(),
        ),
        // A one-character class comes back as its literal.
        HirKind::Literal(lit) => {
            let mut chars = std::str::from_utf8(&lit.0).ok()?.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(vec![(u32::from(c), u32::from(c))]),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The pre-tokenizer for one pattern of the family.
pub(crate) struct Scanner {
    rules: Rules,
    /// Class bits of every code point.
    class: Box<[u8]>,
    /// `(?i)` folds of the contraction letters s, t, r, e, v, m, l, d (a bit each).
    folds: Vec<(u32, u32, u8)>,
}

/// Bits of [`Scanner::folds`].
const FOLD_LETTERS: &str = "strevmld";

fn fold_bit(letter: char) -> u8 {
    FOLD_LETTERS.find(letter).map_or(0, |i| 1u8 << i)
}

impl Scanner {
    /// The scanner for `pattern` when it is one of the family, else `None`.
    pub(crate) fn for_pattern(pattern: &str) -> Option<Scanner> {
        let rules = rules_of(pattern)?;
        let mut class = vec![0u8; 0x11_0000].into_boxed_slice();
        for (name, bit) in [
            (r"\p{L}", LETTER),
            (r"\p{N}", NUMBER),
            (r"\s", SPACE),
            (r"[\r\n]", NEWLINE),
            (r"\p{Han}", HAN),
        ] {
            for (lo, hi) in ranges(name)? {
                for c in &mut class[lo as usize..=hi as usize] {
                    *c |= bit;
                }
            }
        }
        let mut folds = Vec::new();
        for letter in FOLD_LETTERS.chars() {
            let spelled = match rules.fold_contractions {
                true => format!("(?i:{letter})"),
                false => format!("[{letter}]"),
            };
            for (lo, hi) in ranges(&spelled)? {
                folds.push((lo, hi, fold_bit(letter)));
            }
        }
        Some(Scanner {
            rules,
            class,
            folds,
        })
    }

    /// Calls `f(start, end)` for every piece of `text`, in order; the pieces tile it.
    pub(crate) fn each_match(
        &self,
        text: &str,
        mut f: impl FnMut(usize, usize) -> Result<(), String>,
    ) -> Result<(), String> {
        let b = text.as_bytes();
        let mut at = 0;
        while at < b.len() {
            let end = self.piece_end(b, at);
            f(at, end)?;
            at = end;
        }
        Ok(())
    }

    /// The code point at `i` (a char boundary of valid UTF-8) and its length.
    #[inline(always)]
    fn char_at(b: &[u8], i: usize) -> (u32, usize) {
        let b0 = b[i];
        if b0 < 0x80 {
            return (u32::from(b0), 1);
        }
        let cont = |k: usize| u32::from(b[i + k] & 0x3F);
        if b0 < 0xE0 {
            ((u32::from(b0 & 0x1F) << 6) | cont(1), 2)
        } else if b0 < 0xF0 {
            ((u32::from(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3)
        } else {
            (
                (u32::from(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
                4,
            )
        }
    }

    /// Class bits and length of the character at `i`; `(0, 0)` at the end.
    #[inline(always)]
    fn class_at(&self, b: &[u8], i: usize) -> (u8, usize) {
        if i >= b.len() {
            return (0, 0);
        }
        let (c, n) = Self::char_at(b, i);
        (self.class[c as usize], n)
    }

    /// The end of the run of characters from `i` whose class passes `keep`.
    #[inline(always)]
    fn run(&self, b: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
        while i < b.len() {
            let (c, n) = self.class_at(b, i);
            if !keep(c) {
                break;
            }
            i += n;
        }
        i
    }

    /// The fold bits of the character at `i` (0 at the end or for any other character).
    fn fold_at(&self, b: &[u8], i: usize) -> (u8, usize) {
        if i >= b.len() {
            return (0, 0);
        }
        let (c, n) = Self::char_at(b, i);
        let bits = self
            .folds
            .iter()
            .filter(|&&(lo, hi, _)| (lo..=hi).contains(&c))
            .fold(0, |acc, &(_, _, bit)| acc | bit);
        (bits, n)
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` after the apostrophe at `i - 1`: the end, if one matches.
    fn contraction(&self, b: &[u8], i: usize) -> Option<usize> {
        let (first, n1) = self.fold_at(b, i);
        let single = fold_bit('s') | fold_bit('t') | fold_bit('m') | fold_bit('d');
        if first & single != 0 {
            return Some(i + n1);
        }
        let second = match first {
            x if x & (fold_bit('r') | fold_bit('v')) != 0 => fold_bit('e'),
            x if x & fold_bit('l') != 0 => fold_bit('l'),
            _ => return None,
        };
        let (next, n2) = self.fold_at(b, i + n1);
        (next & second != 0).then_some(i + n1 + n2)
    }

    /// Where the piece starting at `i` ends: the first alternative that matches there,
    /// with its quantifiers as greedy as the regex's backtracking makes them.
    fn piece_end(&self, b: &[u8], i: usize) -> usize {
        let r = &self.rules;
        let (c, n) = self.class_at(b, i);
        if b[i] == b'\''
            && let Some(end) = self.contraction(b, i + 1)
        {
            return end;
        }
        if r.han_runs && c & HAN != 0 {
            let mut end = i + n;
            for _ in 1..4 {
                match self.class_at(b, end) {
                    (k, m) if k & HAN != 0 => end += m,
                    _ => break,
                }
            }
            return end;
        }
        let han_runs = r.han_runs;
        let letter = move |k: u8| k & LETTER != 0 && !(han_runs && k & HAN != 0);
        let prefixed = match r.letter_prefix {
            LetterPrefix::Any => c & (LETTER | NUMBER | NEWLINE) == 0,
            LetterPrefix::Space => b[i] == b' ',
        };
        if prefixed && letter(self.class_at(b, i + n).0) {
            return self.run(b, i + n, letter);
        }
        if letter(c) {
            return self.run(b, i, letter);
        }
        let number = |k: u8| k & NUMBER != 0;
        match r.digits {
            Digits::One if number(c) => return i + n,
            Digits::UpTo3 if number(c) => {
                let mut end = i + n;
                for _ in 1..3 {
                    match self.class_at(b, end) {
                        (k, m) if number(k) => end += m,
                        _ => break,
                    }
                }
                return end;
            }
            Digits::SpaceRun if b[i] == b' ' && number(self.class_at(b, i + 1).0) => {
                return self.run(b, i + 1, number);
            }
            Digits::SpaceRun if number(c) => return self.run(b, i, number),
            _ => {}
        }
        let other = |k: u8| k & (SPACE | LETTER | NUMBER) == 0;
        let other_from = if b[i] == b' ' && other(self.class_at(b, i + 1).0) {
            Some(i + 1)
        } else if other(c) {
            Some(i)
        } else {
            None
        };
        if let Some(from) = other_from {
            let end = self.run(b, from, other);
            return match r.other_newlines {
                true => self.run(b, end, |k| k & NEWLINE != 0),
                false => end,
            };
        }
        // Only whitespace is left: the run, where its last newline is, its last character.
        let mut end = i;
        let mut last_newline = None;
        let mut last_len = 0;
        while end < b.len() {
            let (k, m) = self.class_at(b, end);
            if k & SPACE == 0 {
                break;
            }
            if k & NEWLINE != 0 {
                last_newline = Some(end);
            }
            last_len = m;
            end += m;
        }
        if end == i {
            // Not whitespace either: no pattern of the family leaves a character out.
            debug_assert!(false, "a character in no class at {i}");
            return i + n;
        }
        if r.newline_runs
            && let Some(k) = last_newline
        {
            // `\s*[\r\n]+`: up to and including the run's last newline.
            return k + 1;
        }
        // `\s+(?!\S)` gives back the last character before non-space; a lone one is `\s+`.
        if end < b.len() && end - last_len > i {
            return end - last_len;
        }
        end
    }
}
