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
    starters: &'static [u64],
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

/// Of a 32-byte chunk, as bit masks: the bytes the one-pass check must look at one by one
/// (anything but printable ASCII, newlines, UTF-8 continuation bytes and the lead bytes
/// E4..E9 of U+4000..U+9FFF), and the newlines.
fn chunk_masks(chunk: &[u8; 32]) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::chunk_masks(chunk)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (mut other, mut lines) = (0u32, 0u32);
        for (k, &b) in chunk.iter().enumerate() {
            lines |= u32::from(b == b'\n') << k;
            other |= u32::from(!skippable(b)) << k;
        }
        (other, lines)
    }
}

/// True for the bytes [`chunk_masks`] lets through.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
fn skippable(b: u8) -> bool {
    matches!(b, b' '..=b'~' | b'\n' | 0x80..=0xBF | 0xE4..=0xE9)
}

/// [`chunk_masks`] in SSE2, which every x86-64 processor has.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// (bytes to look at, newlines) of 16 bytes, as bit masks.
    fn masks(v: __m128i) -> (u32, u32) {
        // SAFETY: SSE2 is part of the x86-64 baseline; these are register operations.
        unsafe {
            let nl = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
            // Signed: 0x20..=0x7F are above 0x1F, bytes from 0x80 are negative.
            let above = _mm_cmpgt_epi8(v, _mm_set1_epi8(0x1F));
            let del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F));
            let printable = _mm_andnot_si128(del, above);
            // Continuation bytes 0x80..=0xBF are -128..=-65.
            let cont = _mm_cmpgt_epi8(_mm_set1_epi8(-64), v);
            // Lead bytes 0xE4..=0xE9 are -28..=-23.
            let lead = _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(-29)),
                _mm_cmpgt_epi8(_mm_set1_epi8(-22), v),
            );
            let ok = _mm_or_si128(_mm_or_si128(printable, nl), _mm_or_si128(cont, lead));
            (
                !(_mm_movemask_epi8(ok) as u32) & 0xFFFF,
                _mm_movemask_epi8(nl) as u32,
            )
        }
    }

    pub(super) fn chunk_masks(chunk: &[u8; 32]) -> (u32, u32) {
        // SAFETY: both loads read 16 bytes inside the 32-byte array (unaligned loads).
        let (lo, hi) = unsafe {
            let p = chunk.as_ptr().cast::<__m128i>();
            (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)))
        };
        let (other_lo, nl_lo) = masks(lo);
        let (other_hi, nl_hi) = masks(hi);
        (other_lo | other_hi << 16, nl_lo | nl_hi << 16)
    }
}

/// Code points below this are looked up in the table of NFC starters; the rest take the
/// full NFC quick check.
const STARTER_TABLE_END: u32 = 0x3_0000;

/// A bit per code point below [`STARTER_TABLE_END`]: set for NFC starters (combining
/// class 0, NFC quick check "yes"). A text of only these is NFC, as none composes with a
/// neighbour. Built once per process from the Unicode tables (a few milliseconds).
fn starter_table() -> &'static [u64] {
    static TABLE: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = vec![0u64; STARTER_TABLE_END as usize / 64];
        for c in (0..STARTER_TABLE_END).filter_map(char::from_u32) {
            if unicode_normalization::char::canonical_combining_class(c) == 0
                && is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes
            {
                table[c as usize / 64] |= 1 << (c as u32 % 64);
            }
        }
        table
    })
}

/// True when a byte can be copied as is by the first pass.
fn plain_ascii(b: u8) -> bool {
    (0x20..0x7F).contains(&b) || b == b'\n' || b == b'\t'
}

impl Normalizer {
    /// A normalizer with the job's settings.
    pub fn new(spec: &NormalizeSpec) -> Normalizer {
        Normalizer {
            spec: spec.clone(),
            starters: starter_table(),
        }
    }

    /// Normalizes `text`; borrows it when nothing changes (the common case for clean
    /// input, which then costs one scan and no allocation).
    pub fn normalize<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.unchanged(text) {
            return Cow::Borrowed(text);
        }
        self.normalize_passes(text)
    }

    /// [`Self::normalize`] without the one-pass check: character cleaning, NFC, lines.
    fn normalize_passes<'a>(&self, text: &'a str) -> Cow<'a, str> {
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

    /// True when [`Self::normalize`] would return `text` unchanged, decided in one pass
    /// (32 printable ASCII bytes at a time): every character kept, only NFC starters (or
    /// a passing NFC quick check), no trailing whitespace on a line, no leading or
    /// trailing newline, no blank-line run above the limit. `false` means "not sure":
    /// the full passes decide.
    fn unchanged(&self, text: &str) -> bool {
        if self.spec.collapse_spaces || text.is_empty() {
            return false;
        }
        let bytes = text.as_bytes();
        let n = bytes.len();
        let (mut i, mut prev_ws, mut newlines, mut nfc_check) = (0, false, 0usize, false);
        let max_blank = self.spec.max_blank_lines;
        while i < n {
            // 32 bytes at a time while they are printable ASCII, newlines and CJK
            // ideographs (a chunk may start or end inside one: its lead byte was seen).
            if let Some(chunk) = bytes
                .get(i..i + 32)
                .and_then(|c| <&[u8; 32]>::try_from(c).ok())
            {
                let (other, mut lines) = chunk_masks(chunk);
                if other == 0 || lines == 0 {
                    // Each newline: the byte before it (in the chunk, or the carried state).
                    while lines != 0 {
                        let p = lines.trailing_zeros() as usize;
                        lines &= lines - 1;
                        if let Some(&b) = p.checked_sub(1).and_then(|q| chunk.get(q)) {
                            // The end of a character: look back to its start.
                            prev_ws = match b {
                                0x80.. => text[..i + p]
                                    .chars()
                                    .next_back()
                                    .is_some_and(char::is_whitespace),
                                _ => b == b' ',
                            };
                            if b != b'\n' {
                                newlines = 0;
                            }
                        }
                        if prev_ws || i + p == 0 || newlines > max_blank {
                            return false;
                        }
                        newlines += 1;
                        prev_ws = false;
                    }
                    // Without newlines, the other characters are checked one by one.
                    let mut rest = other;
                    while rest != 0 {
                        let p = rest.trailing_zeros() as usize;
                        rest &= rest - 1;
                        let Some(c) = text.get(i + p..).and_then(|t| t.chars().next()) else {
                            return false;
                        };
                        if !matches!(classify(c, self.spec.unify_spaces), CharAction::Keep) {
                            return false;
                        }
                        nfc_check |= !self.nfc_starter(c);
                    }
                    // The state after the chunk: its last character.
                    match chunk.iter().rposition(|&b| !(0x80..0xC0).contains(&b)) {
                        Some(q) if chunk[q] == b'\n' => {}
                        Some(q) => {
                            prev_ws = match chunk[q] {
                                b' ' | b'\t' => true,
                                b if b < 0x80 => false,
                                _ => text[i + q..]
                                    .chars()
                                    .next()
                                    .is_some_and(char::is_whitespace),
                            };
                            newlines = 0;
                        }
                        None => return false,
                    }
                    i += 32;
                    continue;
                }
            }
            let b = bytes[i];
            match b {
                0x20..=0x7E => {
                    prev_ws = b == b' ';
                    newlines = 0;
                    i += 1;
                }
                b'\t' => {
                    prev_ws = true;
                    newlines = 0;
                    i += 1;
                }
                b'\n' => {
                    // A line ending in whitespace, a leading newline, too many blank lines.
                    if prev_ws || i == 0 || newlines > max_blank {
                        return false;
                    }
                    newlines += 1;
                    prev_ws = false;
                    i += 1;
                }
                // The rest of a character a chunk ended inside (its lead byte was seen).
                0x80..=0xBF => i += 1,
                // U+4000..U+9FFF (CJK ideographs, Yijing symbols): kept NFC starters.
                0xE4..=0xE9 => {
                    prev_ws = false;
                    newlines = 0;
                    i += 3;
                }
                0xC0.. => {
                    let c = text[i..].chars().next().unwrap_or('\0');
                    if !matches!(classify(c, self.spec.unify_spaces), CharAction::Keep) {
                        return false;
                    }
                    nfc_check |= !self.nfc_starter(c);
                    prev_ws = c.is_whitespace();
                    newlines = 0;
                    i += c.len_utf8();
                }
                _ => return false,
            }
        }
        if prev_ws || newlines > 0 {
            return false;
        }
        !nfc_check || is_nfc_quick(text.chars()) == IsNormalized::Yes
    }

    /// True when `c` is an NFC starter (see [`starter_table`]).
    fn nfc_starter(&self, c: char) -> bool {
        let c = c as usize;
        self.starters
            .get(c / 64)
            .is_some_and(|w| w >> (c % 64) & 1 == 1)
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
    fn the_vector_chunk_check_agrees_with_the_byte_loop() {
        let mut rng = taojin_schemas::rng::SplitMix64::new(11);
        let interesting = [
            b' ', b'~', 0x7F, 0x1F, b'\n', b'\t', 0x80, 0xBF, 0xC0, 0xE3, 0xE4, 0xE9, 0xEA, 0xFF,
            b'a',
        ];
        for _ in 0..20_000 {
            let chunk: [u8; 32] = std::array::from_fn(|_| {
                let r = rng.next();
                match r % 4 {
                    0 => interesting[((r >> 8) % interesting.len() as u64) as usize],
                    _ => b'x',
                }
            });
            let mask = |f: &dyn Fn(u8) -> bool| {
                chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |m, (k, &b)| m | u32::from(f(b)) << k)
            };
            assert_eq!(
                chunk_masks(&chunk),
                (mask(&|b| !skippable(b)), mask(&|b| b == b'\n')),
                "{chunk:?}"
            );
        }
    }

    #[test]
    fn the_starter_table_covers_cjk_and_leaves_out_combining_marks() {
        let n = Normalizer::new(&NormalizeSpec::default());
        // The one-pass check skips lead bytes E4..E9 (U+4000..U+9FFF) without a lookup.
        assert!(
            (0x4000..=0x9FFF)
                .filter_map(char::from_u32)
                .all(|c| n.nfc_starter(c))
        );
        for c in ['a', 'é', 'Ж', '中', '。', '─', '한', '\u{1F600}'] {
            assert!(n.nfc_starter(c), "{c}");
        }
        for c in [
            '\u{301}', '\u{3099}', '\u{11A8}', '\u{F900}', '\u{387}', '\u{2126}',
        ] {
            assert!(!n.nfc_starter(c), "{:X}", c as u32);
        }
    }

    /// The one-pass check never says "unchanged" for a text the full passes change, and
    /// says it for clean text, on random texts over the characters that matter.
    #[test]
    fn one_pass_check_agrees_with_the_full_passes() {
        let alphabet: Vec<char> = "ab 　\t\n\r\u{1B}[m\u{85}\u{A0}\u{200B}\u{301}\u{3099}é中，カ한\u{11A8}\u{F900}\u{7}\u{2028}\u{FFFE}"
            .chars()
            .collect();
        let mut rng = taojin_schemas::rng::SplitMix64::new(7);
        for spec in [
            NormalizeSpec::default(),
            NormalizeSpec {
                max_blank_lines: 0,
                unify_spaces: false,
                ..Default::default()
            },
        ] {
            let n = Normalizer::new(&spec);
            let mut fast = 0;
            for _ in 0..50_000 {
                let len = (rng.next() % 16) as usize;
                let s: String = (0..len)
                    .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                    .collect();
                // Long printable and CJK runs take the 32-byte path.
                let s = s
                    .replace('a', "abcdefghijklmnopqrstuvwxyz0123456789.,;")
                    .replace('b', "中文字符测试文本内容");
                let full = n.normalize_passes(&s);
                if n.unchanged(&s) {
                    fast += 1;
                    assert_eq!(full, s.as_str(), "{s:?}");
                } else if !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_graphic() || c == ' ' || c == '\n')
                {
                    assert_ne!(
                        full,
                        s.as_str(),
                        "clean ASCII text must take the fast path: {s:?}"
                    );
                }
            }
            assert!(fast > 1000, "{fast}");
        }
    }

    /// A character outside the 32-byte path at every place across a chunk boundary: a
    /// wide space ending a line is trimmed, full-width punctuation is kept.
    #[test]
    fn characters_across_chunk_boundaries() {
        let n = Normalizer::new(&NormalizeSpec::default());
        for k in 0..40 {
            let pad = "a".repeat(k);
            for (c, clean) in [('\u{3000}', false), ('，', true), ('\t', false)] {
                let s = format!(
                    "{pad}中文字符测试文本内容{c}\n下一行{c}中文字符测试文本内容测试文本内容。"
                );
                assert_eq!(n.unchanged(&s), clean, "{s:?}");
                assert_eq!(n.normalize_passes(&s) == s.as_str(), clean, "{s:?}");
            }
        }
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
