//! Unicode and whitespace normalization of stored text, and the matching key used to
//! compare documents.
//!
//! Stored text is NFC, never NFKC: NFKC would turn full-width CJK punctuation (，。！)
//! into ASCII and change what the model learns. NFKC is applied only to the
//! `taojin_dedup::matching_key`, which exists for comparing documents, not for training.

use std::borrow::Cow;

use taojin_schemas::NormalizeSpec;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Cleans document text: control characters, ANSI escapes, exotic spaces, line endings,
/// trailing whitespace and runs of blank lines; then NFC.
#[derive(Debug, Clone)]
pub struct Normalizer {
    spec: NormalizeSpec,
}

/// What one character becomes in the first pass.
enum CharAction {
    Keep,
    Drop,
    Replace(char),
}

fn classify(c: char, unify_spaces: bool) -> CharAction {
    // Fast accept of the bulk of CJK, kana and hangul text (no special characters live
    // between U+3041 and the noncharacters at U+FDD0).
    if ('\u{3041}'..'\u{FDD0}').contains(&c) {
        return CharAction::Keep;
    }
    match c {
        '\n' | '\t' => CharAction::Keep,
        // U+0085 NEL and the Unicode line/paragraph separators end lines.
        '\u{85}' | '\u{2028}' | '\u{2029}' => CharAction::Replace('\n'),
        c if c.is_control() => CharAction::Drop,
        // Zero-width space, word joiner, BOM / zero-width no-break space, soft hyphen.
        '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}' => CharAction::Drop,
        // Noncharacters: never valid in interchange.
        c if ('\u{FDD0}'..='\u{FDEF}').contains(&c) || (c as u32 & 0xFFFE) == 0xFFFE => {
            CharAction::Drop
        }
        '\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}'
            if unify_spaces =>
        {
            CharAction::Replace(' ')
        }
        _ => CharAction::Keep,
    }
}

/// True when a byte can be copied as is by the first pass.
fn plain_ascii(b: u8) -> bool {
    (0x20..0x7F).contains(&b) || b == b'\n' || b == b'\t'
}

impl Normalizer {
    /// A normalizer with the job's settings.
    pub fn new(spec: &NormalizeSpec) -> Normalizer {
        Normalizer { spec: spec.clone() }
    }

    /// Normalizes `text`; borrows it when nothing changes (the common case for clean
    /// input, which then costs one scan and no allocation).
    pub fn normalize<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let (first_change, ascii) = self.scan(text);
        let cleaned = match first_change {
            Some(i) => Cow::Owned(self.clean_chars(text, i)),
            None => Cow::Borrowed(text),
        };
        // ASCII is always NFC; otherwise the quick check settles almost every text.
        let nfc: Cow<'_, str> = if ascii || is_nfc_quick(cleaned.chars()) == IsNormalized::Yes {
            cleaned
        } else {
            let composed: String = cleaned.nfc().collect();
            // The quick check answers "maybe" for some NFC text; keep the borrow then.
            if composed == cleaned.as_ref() {
                cleaned
            } else {
                Cow::Owned(composed)
            }
        };
        if !self.needs_tidy(&nfc) {
            return nfc;
        }
        Cow::Owned(self.tidy_lines(&nfc))
    }

    /// One pass over the bytes: the first position whose character changes (if any), and
    /// whether the text is pure ASCII.
    fn scan(&self, text: &str) -> (Option<usize>, bool) {
        let bytes = text.as_bytes();
        let mut ascii = true;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                if !plain_ascii(b) {
                    return (Some(i), ascii);
                }
                i += 1;
                continue;
            }
            ascii = false;
            let c = text[i..].chars().next().unwrap_or('\0');
            if !matches!(classify(c, self.spec.unify_spaces), CharAction::Keep) {
                return (Some(i), false);
            }
            i += c.len_utf8();
        }
        (None, ascii)
    }

    /// First pass: characters, from `first` (the first one that changes) on.
    fn clean_chars(&self, text: &str, first: usize) -> String {
        let mut out = String::with_capacity(text.len());
        out.push_str(&text[..first]);
        let mut chars = text[first..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() != Some(&'\n') {
                        out.push('\n');
                    }
                }
                '\u{1B}' if self.spec.strip_ansi => skip_escape(&mut chars),
                c => match classify(c, self.spec.unify_spaces) {
                    CharAction::Keep => out.push(c),
                    CharAction::Drop => {}
                    CharAction::Replace(r) => out.push(r),
                },
            }
        }
        out
    }

    /// True when [`Self::tidy_lines`] would change `text`; checked without allocating.
    fn needs_tidy(&self, text: &str) -> bool {
        if text.is_empty() {
            return false;
        }
        if text.starts_with('\n') || text.ends_with('\n') {
            return true;
        }
        if self.spec.collapse_spaces && (text.contains("  ") || text.contains('\t')) {
            return true;
        }
        let mut blank_run = 0usize;
        for line in text.split('\n') {
            if line.is_empty() {
                blank_run += 1;
                if blank_run > self.spec.max_blank_lines {
                    return true;
                }
                continue;
            }
            blank_run = 0;
            if line.chars().next_back().is_some_and(char::is_whitespace) {
                return true;
            }
        }
        false
    }

    /// Second pass: lines. Trailing whitespace, optional space collapsing, blank-line runs,
    /// leading and trailing blank lines.
    fn tidy_lines(&self, text: &str) -> String {
        let max_blank = self.spec.max_blank_lines;
        let mut out = String::with_capacity(text.len());
        let mut blank_run = 0usize;
        let mut seen_content = false;
        for line in text.split('\n') {
            let line = line.trim_end();
            if line.is_empty() {
                blank_run += 1;
                continue;
            }
            if seen_content {
                out.push('\n');
                for _ in 0..blank_run.min(max_blank) {
                    out.push('\n');
                }
            }
            blank_run = 0;
            seen_content = true;
            if self.spec.collapse_spaces {
                push_collapsed(&mut out, line);
            } else {
                out.push_str(line);
            }
        }
        out
    }
}

/// Skips the rest of an escape sequence after ESC: CSI (`ESC [ params intermediates final`)
/// or a two-character escape.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            while let Some(&c) = chars.peek() {
                chars.next();
                if ('\u{40}'..='\u{7E}').contains(&c) {
                    break;
                }
                if !('\u{20}'..='\u{3F}').contains(&c) {
                    break;
                }
            }
        }
        Some(c) if ('\u{40}'..='\u{5F}').contains(c) => {
            chars.next();
        }
        _ => {}
    }
}

fn push_collapsed(out: &mut String, line: &str) {
    let mut in_space = false;
    for c in line.chars() {
        if c == ' ' || c == '\t' {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> String {
        Normalizer::new(&NormalizeSpec::default())
            .normalize(text)
            .into_owned()
    }

    #[test]
    fn clean_text_is_borrowed() {
        let n = Normalizer::new(&NormalizeSpec::default());
        let text = "Hello, world.\n\n你好，世界！这是“引号”。\n\tindented";
        assert!(matches!(n.normalize(text), Cow::Borrowed(_)));
    }

    #[test]
    fn keeps_full_width_punctuation_and_ideographic_space() {
        let text = "　　第一章：开始（上）。你好！？【注】";
        assert_eq!(norm(text), text);
    }

    #[test]
    fn line_endings_and_trailing_space() {
        assert_eq!(norm("a \r\nb\t\rc  "), "a\nb\nc");
    }

    #[test]
    fn controls_ansi_and_zero_width() {
        assert_eq!(norm("\u{1B}[33m黄色\u{1B}[0m字\u{7}"), "黄色字");
        assert_eq!(norm("zero\u{200B}width\u{FEFF} bom\u{0}"), "zerowidth bom");
        assert_eq!(norm("non\u{FFFE}char\u{FDD0}"), "nonchar");
    }

    #[test]
    fn exotic_spaces_unified() {
        assert_eq!(norm("a\u{A0}b\u{2009}c\u{3000}d"), "a b c\u{3000}d");
        let keep = NormalizeSpec {
            unify_spaces: false,
            ..Default::default()
        };
        assert_eq!(Normalizer::new(&keep).normalize("a\u{A0}b"), "a\u{A0}b");
    }

    #[test]
    fn nfc_composes() {
        assert_eq!(norm("Cafe\u{301}"), "Café");
        // Compatibility characters stay: NFC, not NFKC.
        assert_eq!(norm("ﬁ ① Ａ"), "ﬁ ① Ａ");
    }

    #[test]
    fn blank_lines_collapse_and_trim() {
        assert_eq!(norm("\n\n  \na\n\n\n\nb\n \n"), "a\n\nb");
        let none = NormalizeSpec {
            max_blank_lines: 0,
            ..Default::default()
        };
        assert_eq!(Normalizer::new(&none).normalize("a\n\n\nb"), "a\nb");
    }

    #[test]
    fn collapse_spaces_optional() {
        let spec = NormalizeSpec {
            collapse_spaces: true,
            ..Default::default()
        };
        assert_eq!(Normalizer::new(&spec).normalize("a  \t b"), "a b");
        assert_eq!(norm("a   b"), "a   b");
    }

    #[test]
    fn empty_after_normalization() {
        assert_eq!(norm(" \n\u{200B}\t\r\n\u{1B}[0m"), "");
    }

    #[test]
    fn idempotent_and_fast_paths_agree() {
        let samples = [
            "",
            "a",
            "a\n",
            "\na",
            "a\n\nb",
            "a\n\n\nb",
            "a \nb",
            "a\u{3000}\nb",
            "\u{3000}\u{3000}缩进",
            "x\r\ny",
            "\u{1B}[1;31mred\u{1B}[0m",
            "tab\tin\tline",
            "a\u{A0}\u{A0}b",
            "e\u{301}\u{301}",
            "  lead",
            "trail  ",
            "\n\n",
            " ",
            "中文，标点。\n\n\n\n下一段",
            "\u{85}nel",
            "a\u{2028}b",
        ];
        for spec in [
            NormalizeSpec::default(),
            NormalizeSpec {
                collapse_spaces: true,
                max_blank_lines: 0,
                ..Default::default()
            },
        ] {
            let n = Normalizer::new(&spec);
            for s in samples {
                let once = n.normalize(s).into_owned();
                assert_eq!(n.normalize(&once), once.as_str(), "idempotent on {s:?}");
                assert!(
                    matches!(n.normalize(&once), Cow::Borrowed(_)),
                    "normalized text is borrowed: {once:?}"
                );
                assert_eq!(
                    n.needs_tidy(s),
                    n.tidy_lines(s) != s,
                    "needs_tidy agrees on {s:?}"
                );
            }
        }
    }
}
