//! The pre-tokenizer's `Split` regexes, run by the fastest engine that gives the same
//! pieces. The byte-level BPE patterns in wide use (Qwen2, cl100k, Llama 3, GPT-2, ours)
//! go to the hand-written [`Scanner`]. Other patterns ending in `\s+(?!\S)|\s+` — the one
//! look-around that needs `fancy-regex`'s backtracking VM, a third of the encoder's time —
//! run on the `regex` crate's automata: the pattern runs as two patterns, `REST` then
//! `\s+`, leftmost-first as one alternation, and a whitespace run the second matched gives
//! back its last character when more text follows, which is what the look-ahead does
//! (`\s+` greedy, then one character backtracked so that `(?!\S)` sees whitespace; a
//! single character falls through to the plain `\s+`). Which pattern matched comes with
//! the match, so no capture search is needed. Any other pattern stays on `fancy-regex`.

use regex_automata::meta::{Cache, Regex};
use regex_automata::util::pool::Pool;
use regex_automata::{Anchored, Input};

use crate::scanner::Scanner;

type CachePool = Pool<
    Cache,
    Box<dyn Fn() -> Cache + Send + Sync + std::panic::RefUnwindSafe + std::panic::UnwindSafe>,
>;

fn plain(re: Regex, ws_tail: bool) -> Splitter {
    let for_pool = re.clone();
    let caches: CachePool = Pool::new(Box::new(move || for_pool.create_cache()));
    Splitter::Plain {
        re,
        caches,
        ws_tail,
    }
}

/// The trailing alternatives the plain engine emulates.
const WS_TAIL: &str = r"|\s+(?!\S)|\s+";

/// One `Split` regex.
pub(crate) enum Splitter {
    /// A pattern of the family [`Scanner`] knows.
    Scan(Scanner),
    /// Patterns with other look-arounds or back-references.
    Fancy(fancy_regex::Regex),
    /// The pattern in the `regex` crate; when `ws_tail` says the trailing whitespace
    /// alternatives were there, they are its second pattern (`\s+`).
    Plain {
        /// The compiled pattern.
        re: Regex,
        /// Search state, taken once per text rather than once per match (the `regex`
        /// crate's own pool, hit per call, was a tenth of the encoder's time).
        caches: CachePool,
        /// True when the pattern ended in [`WS_TAIL`].
        ws_tail: bool,
    },
}

impl Splitter {
    /// Compiles `pattern` for the fastest engine that gives the same matches.
    pub(crate) fn new(pattern: &str) -> Result<Splitter, String> {
        match Scanner::for_pattern(pattern) {
            Some(scanner) => Ok(Splitter::Scan(scanner)),
            None => Splitter::regex(pattern),
        }
    }

    /// `pattern` on the regex engines.
    fn regex(pattern: &str) -> Result<Splitter, String> {
        // Only patterns that never match the empty string: there the two engines' rules
        // for where the next search starts after an empty match would differ.
        let never_empty = |p: &str| {
            regex_syntax::parse(p)
                .is_ok_and(|h| h.properties().minimum_len().is_some_and(|n| n > 0))
        };
        if let Some(rest) = pattern.strip_suffix(WS_TAIL)
            && never_empty(rest)
            && let Ok(re) = Regex::new_many(&[rest, r"\s+"])
        {
            return Ok(plain(re, true));
        }
        if never_empty(pattern)
            && let Ok(re) = Regex::new(pattern)
        {
            return Ok(plain(re, false));
        }
        fancy_regex::Regex::new(pattern)
            .map(Splitter::Fancy)
            .map_err(|e| e.to_string())
    }

    /// Calls `f(start, end)` for every match in `text`, in order, as `fancy-regex`'s
    /// `find_iter` would give them for the original pattern.
    pub(crate) fn each_match(
        &self,
        text: &str,
        mut f: impl FnMut(usize, usize) -> Result<(), String>,
    ) -> Result<(), String> {
        match self {
            Splitter::Scan(scanner) => scanner.each_match(text, f),
            Splitter::Fancy(re) => {
                for m in re.find_iter(text) {
                    let m = m.map_err(|e| e.to_string())?;
                    f(m.start(), m.end())?;
                }
                Ok(())
            }
            Splitter::Plain {
                re,
                caches,
                ws_tail,
            } => {
                let mut cache = caches.get();
                let mut pos = 0;
                while pos < text.len() {
                    // Where a match starts right here (the byte-level patterns cover every
                    // character), an anchored search finds it without a reverse scan;
                    // the leftmost-first match is the same.
                    let here = Input::new(text).range(pos..).anchored(Anchored::Yes);
                    let found = re
                        .search_with(&mut cache, &here)
                        .or_else(|| re.search_with(&mut cache, &Input::new(text).range(pos..)));
                    let Some(m) = found else { break };
                    let (start, mut end) = (m.start(), m.end());
                    if *ws_tail && m.pattern().as_usize() == 1 && end < text.len() {
                        // `\s+(?!\S)`: a run of two or more gives back its last character.
                        let mut chars = text[start..end].chars();
                        if let (Some(last), Some(_)) = (chars.next_back(), chars.next()) {
                            end -= last.len_utf8();
                        }
                    }
                    f(start, end)?;
                    pos = end;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATTERNS: [&str; 4] = [
        // Qwen2
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        // GPT-4 cl100k, Llama 3
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        // GPT-2, as `tokenizers`' ByteLevel spells it
        r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
        crate::train::SPLIT_PATTERN,
    ];

    /// Every string of up to 5 characters over an alphabet of whitespace kinds (ASCII,
    /// tab, newlines, NBSP, ideographic space), letters, digits and punctuation; longer
    /// mixed ones; and 200,000 seeded random strings of up to 12 characters over a wider
    /// alphabet: the contraction letters in both cases and `ſ` (a fold of `s`), non-ASCII
    /// letters and digits of every kind (Nd, Nl, No), Han letters, numbers and symbols
    /// (`〇` is Han and Nl, `⺀` Han and So), other scripts, emoji, NEL and LINE SEPARATOR.
    fn texts() -> Vec<String> {
        let alphabet = [
            ' ', '\t', '\n', '\r', '\u{a0}', '\u{3000}', 'a', '中', '7', '!', '\'',
        ];
        let mut all = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..5 {
            level = level
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(level.iter().cloned());
        }
        all.push("Hello   world!\n\n  It's  \t a test.  \r\n\r\n   中文   text 123  ".into());
        all.push("   leading and trailing   ".into());
        all.push("x\u{2003}\u{2003}\u{2003}y \u{85}z".into());
        let wide: Vec<char> =
            " \t\n\r\u{a0}\u{3000}\u{85}\u{2028}'sStTrReEvVmMlLdDſxé中文〇⺀𠀀Ωж7٣½Ⅻ!,。“😀-"
                .chars()
                .collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let len = 1 + (next() % 12) as usize;
            all.push(
                (0..len)
                    .map(|_| wide[(next() % wide.len() as u64) as usize])
                    .collect(),
            );
        }
        all
    }

    fn spans(sp: &Splitter, t: &str) -> Result<Vec<(usize, usize)>, String> {
        let mut v = Vec::new();
        sp.each_match(t, |s, e| {
            v.push((s, e));
            Ok(())
        })
        .map(|()| v)
    }

    #[test]
    fn the_scanner_and_the_plain_engine_match_fancy_regex_exactly() {
        let texts = texts();
        assert!(texts.len() > 370_000);
        for pattern in PATTERNS {
            let scanner = Splitter::new(pattern).expect("compiles");
            assert!(matches!(scanner, Splitter::Scan(_)), "{pattern}");
            let plain = Splitter::regex(pattern).expect("compiles");
            assert!(
                matches!(plain, Splitter::Plain { ws_tail: true, .. }),
                "{pattern}"
            );
            let fancy = Splitter::Fancy(fancy_regex::Regex::new(pattern).expect("fancy"));
            for t in &texts {
                let want = spans(&fancy, t);
                assert_eq!(spans(&scanner, t), want, "scanner, {pattern} on {t:?}");
                assert_eq!(spans(&plain, t), want, "plain, {pattern} on {t:?}");
            }
        }
    }

    #[test]
    fn other_look_arounds_stay_on_fancy_regex() {
        assert!(matches!(Splitter::new(r"\w+(?=!)"), Ok(Splitter::Fancy(_))));
        assert!(matches!(
            Splitter::new(r"\p{L}+|\s+"),
            Ok(Splitter::Plain { ws_tail: false, .. })
        ));
        // Can match nothing: the engines step past empty matches differently.
        assert!(matches!(Splitter::new(r"\p{L}*"), Ok(Splitter::Fancy(_))));
    }
}
