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
    tables: &'static Tables,
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

/// Of a 32-byte chunk, bit masks (bit k for byte k) of the bytes the scans look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    /// Control bytes other than `\n` and `\t`, and DEL: the first pass changes them.
    bad: u32,
    /// `\n`.
    nl: u32,
    /// ASCII space and tab.
    ws: u32,
    /// First bytes of characters outside U+4000..U+9FFF (lead bytes 0xC0.. except
    /// E4..E9): those are looked up one by one; CJK ideographs are always kept NFC
    /// starters and need no look.
    lead: u32,
}

impl Masks {
    /// The masks of `chunk`, a byte at a time (the model [`sse2::masks`] is tested
    /// against, and the code off x86-64).
    #[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
    fn scalar(chunk: &[u8; 32]) -> Masks {
        let mut m = Masks {
            bad: 0,
            nl: 0,
            ws: 0,
            lead: 0,
        };
        for (k, &b) in chunk.iter().enumerate() {
            let bit = 1u32 << k;
            match b {
                b'\n' => m.nl |= bit,
                b' ' | b'\t' => m.ws |= bit,
                0..0x20 | 0x7F => m.bad |= bit,
                0xC0..0xE4 | 0xEA.. => m.lead |= bit,
                _ => {}
            }
        }
        m
    }

    fn of(chunk: &[u8; 32]) -> Masks {
        #[cfg(target_arch = "x86_64")]
        {
            sse2::masks(chunk)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Masks::scalar(chunk)
        }
    }
}

/// [`Masks::of`] in SSE2, which every x86-64 processor has.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    use super::Masks;

    /// The masks of 16 bytes, as (bad, nl, ws, lead).
    fn half(v: __m128i) -> (u32, u32, u32, u32) {
        // SAFETY: SSE2 is part of the x86-64 baseline; these are register operations.
        unsafe {
            let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
            let nl = eq(b'\n');
            let ws = _mm_or_si128(eq(b' '), eq(b'\t'));
            // Signed: 0x00..=0x1F are the non-negative bytes below 0x20.
            let low = _mm_andnot_si128(
                _mm_cmpgt_epi8(_mm_set1_epi8(0), v),
                _mm_cmpgt_epi8(_mm_set1_epi8(0x20), v),
            );
            let bad = _mm_or_si128(_mm_andnot_si128(_mm_or_si128(nl, ws), low), eq(0x7F));
            // Lead bytes 0xC0..=0xFF are -64..=-1; E4..=E9 are -28..=-23.
            let lead = _mm_andnot_si128(
                _mm_and_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(-29)),
                    _mm_cmpgt_epi8(_mm_set1_epi8(-22), v),
                ),
                _mm_and_si128(
                    _mm_cmpgt_epi8(v, _mm_set1_epi8(-65)),
                    _mm_cmpgt_epi8(_mm_set1_epi8(0), v),
                ),
            );
            let bits = |m: __m128i| _mm_movemask_epi8(m) as u32 & 0xFFFF;
            (bits(bad), bits(nl), bits(ws), bits(lead))
        }
    }

    pub(super) fn masks(chunk: &[u8; 32]) -> Masks {
        // SAFETY: both loads read 16 bytes inside the 32-byte array (unaligned loads).
        let (lo, hi) = unsafe {
            let p = chunk.as_ptr().cast::<__m128i>();
            (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)))
        };
        let (a, b) = (half(lo), half(hi));
        Masks {
            bad: a.0 | b.0 << 16,
            nl: a.1 | b.1 << 16,
            ws: a.2 | b.2 << 16,
            lead: a.3 | b.3 << 16,
        }
    }
}

/// The text's bytes 32 at a time with their [`Masks`], from byte `from` (rounded down to
/// a multiple of 32); the last chunk is padded with `a`, which no scan looks at.
fn chunks(bytes: &[u8], from: usize) -> impl Iterator<Item = (usize, Masks)> + '_ {
    (from / 32 * 32..bytes.len()).step_by(32).map(move |i| {
        let chunk = match bytes.get(i..i + 32) {
            Some(c) => <[u8; 32]>::try_from(c).unwrap_or([b'a'; 32]),
            None => {
                let mut pad = [b'a'; 32];
                let tail = &bytes[i..];
                pad[..tail.len()].copy_from_slice(tail);
                pad
            }
        };
        (i, Masks::of(&chunk))
    })
}

/// The code point whose UTF-8 encoding starts at `bytes[p]` (a lead byte of valid UTF-8),
/// and its length.
fn decode_at(bytes: &[u8], p: usize) -> (u32, usize) {
    let cont = |k: usize| u32::from(bytes.get(p + k).copied().unwrap_or(0x80) & 0x3F);
    match bytes[p] {
        b @ 0xC0..0xE0 => ((u32::from(b & 0x1F) << 6) | cont(1), 2),
        b @ 0xE0..0xF0 => ((u32::from(b & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3),
        b @ 0xF0.. => (
            (u32::from(b & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
            4,
        ),
        b => (u32::from(b), 1),
    }
}

/// Code points below this are looked up in the tables of NFC starters and plain
/// characters; the rest take the full checks.
const TABLE_END: u32 = 0x3_0000;

/// Bits per code point below [`TABLE_END`], built once per process from the Unicode
/// tables (a few milliseconds).
struct Tables {
    /// NFC starters (combining class 0, NFC quick check "yes"). A text of only these is
    /// NFC, as none composes with a neighbour.
    starters: Vec<u64>,
    /// Starters the first pass keeps that are not whitespace: such a character never
    /// makes a text change, wherever it stands.
    plain: Vec<u64>,
}

impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tables")
    }
}

fn tables() -> &'static Tables {
    static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let words = TABLE_END as usize / 64;
        let (mut starters, mut plain) = (vec![0u64; words], vec![0u64; words]);
        for c in (0..TABLE_END).filter_map(char::from_u32) {
            let bit = 1 << (c as u32 % 64);
            if unicode_normalization::char::canonical_combining_class(c) == 0
                && is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes
            {
                starters[c as usize / 64] |= bit;
                // Whitespace is left out whatever `unify_spaces` says, so one table
                // serves both settings (classify differs only on spaces).
                if !c.is_whitespace() && matches!(classify(c, true), CharAction::Keep) {
                    plain[c as usize / 64] |= bit;
                }
            }
        }
        Tables { starters, plain }
    })
}

fn has_bit(table: &[u64], c: u32) -> bool {
    table
        .get(c as usize / 64)
        .is_some_and(|w| w >> (c % 64) & 1 == 1)
}

impl Normalizer {
    /// A normalizer with the job's settings.
    pub fn new(spec: &NormalizeSpec) -> Normalizer {
        Normalizer {
            spec: spec.clone(),
            tables: tables(),
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
        let (first_change, starters) = self.scan(text);
        let cleaned = match first_change {
            Some(i) => Cow::Owned(self.clean_chars(text, i)),
            None => Cow::Borrowed(text),
        };
        // Only starters: NFC already (cleaning drops characters or puts ASCII in their
        // place, so it keeps that). Otherwise the quick check settles almost every text.
        let nfc: Cow<'_, str> = if starters || is_nfc_quick(cleaned.chars()) == IsNormalized::Yes {
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
    /// of 32 bytes at a time: no character the first pass changes, only NFC starters (or
    /// a passing NFC quick check), no whitespace before a newline or at the end, no
    /// leading newline, no newline run longer than `max_blank_lines` blank lines allow.
    /// `false` means "not sure": the full passes decide.
    fn unchanged(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            return false;
        };
        if self.spec.collapse_spaces || first == b'\n' || matches!(last, b'\n' | b' ' | b'\t') {
            return false;
        }
        // The longest run of newlines kept: a line break and the blank lines allowed.
        let longest_run = self.spec.max_blank_lines.saturating_add(1);
        let (mut run, mut carry_ws, mut nfc_check) = (0usize, false, false);
        for (i, m) in chunks(bytes, 0) {
            // A control character; a space or tab before a newline (in the chunk, or
            // ending the last one).
            if m.bad != 0 || m.ws & (m.nl >> 1) != 0 || (carry_ws && m.nl & 1 != 0) {
                return false;
            }
            // Newline runs: the one carried into the chunk, then those inside it (a run
            // of `longest_run + 1` starts where the mask and its shifts all hold).
            if run + m.nl.trailing_ones() as usize > longest_run {
                return false;
            }
            if longest_run < 32 {
                let starts = (1..=longest_run).fold(m.nl, |r, s| r & m.nl >> s);
                if starts != 0 {
                    return false;
                }
                run = match m.nl {
                    u32::MAX => run + 32,
                    nl => nl.leading_ones() as usize,
                };
            } else {
                for &b in bytes.get(i..).unwrap_or_default().iter().take(32) {
                    run = if b == b'\n' { run + 1 } else { 0 };
                    if run > longest_run {
                        return false;
                    }
                }
            }
            let mut lead = m.lead;
            while lead != 0 {
                let p = i + lead.trailing_zeros() as usize;
                lead &= lead - 1;
                let (cp, len) = decode_at(bytes, p);
                if has_bit(&self.tables.plain, cp) {
                    continue;
                }
                let Some(c) = char::from_u32(cp) else {
                    return false;
                };
                if !matches!(classify(c, self.spec.unify_spaces), CharAction::Keep) {
                    return false;
                }
                nfc_check |= !has_bit(&self.tables.starters, cp);
                // Whitespace ending a line or the text is trimmed.
                if c.is_whitespace() && matches!(bytes.get(p + len), None | Some(b'\n')) {
                    return false;
                }
            }
            carry_ws = m.ws >> 31 != 0;
        }
        !nfc_check || is_nfc_quick(text.chars()) == IsNormalized::Yes
    }

    /// True when `c` is an NFC starter (see [`Tables::starters`]).
    #[cfg(test)]
    fn nfc_starter(&self, c: char) -> bool {
        has_bit(&self.tables.starters, c as u32)
    }

    /// One pass, 32 bytes at a time: the first position whose character the first pass
    /// changes (if any), and whether every kept character is an NFC starter.
    fn scan(&self, text: &str) -> (Option<usize>, bool) {
        let bytes = text.as_bytes();
        let (mut first, mut starters) = (None, true);
        for (i, m) in chunks(bytes, 0) {
            let mut look = if first.is_some() {
                m.lead
            } else {
                m.bad | m.lead
            };
            while look != 0 {
                let p = i + look.trailing_zeros() as usize;
                look &= look - 1;
                if bytes[p] < 0x80 {
                    first = first.or(Some(p));
                    look &= m.lead;
                    continue;
                }
                let (cp, _) = decode_at(bytes, p);
                if has_bit(&self.tables.plain, cp) {
                    continue;
                }
                match char::from_u32(cp).map(|c| classify(c, self.spec.unify_spaces)) {
                    Some(CharAction::Keep) => starters &= has_bit(&self.tables.starters, cp),
                    _ => {
                        if first.is_none() {
                            first = Some(p);
                            look &= m.lead;
                        }
                    }
                }
            }
        }
        (first, starters)
    }

    /// First pass: characters, from `first` (the first one that changes) on. Runs of
    /// characters it keeps are copied whole.
    fn clean_chars(&self, text: &str, first: usize) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        // Bytes before `copied` are in `out` or dropped.
        let mut copied = 0;
        for (i, m) in chunks(bytes, first) {
            let mut look = m.bad | m.lead;
            while look != 0 {
                let p = i + look.trailing_zeros() as usize;
                look &= look - 1;
                // Before the first change, or inside an escape sequence already dropped.
                if p < first.max(copied) {
                    continue;
                }
                let (cp, len) = decode_at(bytes, p);
                if bytes[p] >= 0x80 && has_bit(&self.tables.plain, cp) {
                    continue;
                }
                let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
                let action = match c {
                    '\r' if bytes.get(p + 1) == Some(&b'\n') => CharAction::Drop,
                    '\r' => CharAction::Replace('\n'),
                    '\u{1B}' if self.spec.strip_ansi => {
                        out.push_str(&text[copied..p]);
                        copied = p + 1 + escape_len(&text[p + 1..]);
                        continue;
                    }
                    c => classify(c, self.spec.unify_spaces),
                };
                match action {
                    CharAction::Keep => {}
                    CharAction::Drop => {
                        out.push_str(&text[copied..p]);
                        copied = p + len;
                    }
                    CharAction::Replace(r) => {
                        out.push_str(&text[copied..p]);
                        out.push(r);
                        copied = p + len;
                    }
                }
            }
        }
        out.push_str(&text[copied..]);
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
/// The length in bytes of the rest of an escape sequence after ESC, at the start of
/// `rest`: CSI (`ESC [ params intermediates final`) or a two-character escape.
fn escape_len(rest: &str) -> usize {
    let b = rest.as_bytes();
    match b.first() {
        Some(b'[') => {
            let mut k = 1;
            while let Some(&c) = b.get(k) {
                k += 1;
                // A final byte ends it; anything but a parameter or intermediate byte
                // ends it too (and is dropped with it).
                if (0x40..=0x7E).contains(&c) || !(0x20..=0x3F).contains(&c) {
                    // A multi-byte character is dropped whole.
                    while b.get(k).is_some_and(|&x| (0x80..0xC0).contains(&x)) {
                        k += 1;
                    }
                    break;
                }
            }
            k
        }
        Some(0x40..=0x5F) => 1,
        _ => 0,
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
    fn the_vector_masks_agree_with_the_byte_loop() {
        let mut rng = taojin_schemas::rng::SplitMix64::new(11);
        let interesting = [
            b' ', b'~', 0x7F, 0x1F, 0x00, b'\n', b'\t', b'\r', 0x80, 0xBF, 0xC0, 0xC2, 0xE3, 0xE4,
            0xE9, 0xEA, 0xEF, 0xF0, 0xFF, b'a',
        ];
        for _ in 0..20_000 {
            let chunk: [u8; 32] = std::array::from_fn(|_| {
                let r = rng.next();
                match r % 4 {
                    0 => interesting[((r >> 8) % interesting.len() as u64) as usize],
                    _ => (r >> 16) as u8,
                }
            });
            assert_eq!(Masks::of(&chunk), Masks::scalar(&chunk), "{chunk:?}");
        }
    }

    /// The character-by-character first pass the vector scans replace: the model they
    /// are tested against.
    fn reference_clean(spec: &NormalizeSpec, text: &str) -> String {
        fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7E}').contains(&c) || !('\u{20}'..='\u{3F}').contains(&c)
                        {
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
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() != Some(&'\n') {
                        out.push('\n');
                    }
                }
                '\u{1B}' if spec.strip_ansi => skip_escape(&mut chars),
                c => match classify(c, spec.unify_spaces) {
                    CharAction::Keep => out.push(c),
                    CharAction::Drop => {}
                    CharAction::Replace(r) => out.push(r),
                },
            }
        }
        out
    }

    /// Normalization as the model does it: every character, full NFC, then lines.
    fn reference_normalize(n: &Normalizer, text: &str) -> String {
        let composed: String = reference_clean(&n.spec, text).nfc().collect();
        if n.needs_tidy(&composed) {
            n.tidy_lines(&composed)
        } else {
            composed
        }
    }

    /// The scans and the run-copying first pass give what the character-by-character
    /// model gives, on random texts whose special characters fall at every offset of a
    /// 32-byte chunk (long plain runs between them).
    #[test]
    fn vector_passes_agree_with_the_character_model() {
        let alphabet: Vec<char> = "ab 　\t\n\r\u{1B}[m;1\u{85}\u{A0}\u{AD}\u{200B}\u{FEFF}\u{301}\u{3099}é中，カ한\u{11A8}\u{F900}\u{7}\u{7F}\u{2028}\u{FFFE}\u{FDD0}\u{1F600}\u{30000}"
            .chars()
            .collect();
        let mut rng = taojin_schemas::rng::SplitMix64::new(23);
        for spec in [
            NormalizeSpec::default(),
            NormalizeSpec {
                max_blank_lines: 0,
                unify_spaces: false,
                strip_ansi: false,
                ..Default::default()
            },
            NormalizeSpec {
                max_blank_lines: 3,
                ..Default::default()
            },
            NormalizeSpec {
                max_blank_lines: 33,
                ..Default::default()
            },
        ] {
            let n = Normalizer::new(&spec);
            for _ in 0..30_000 {
                let len = (rng.next() % 24) as usize;
                let s: String = (0..len)
                    .map(|_| {
                        let r = rng.next();
                        match r % 3 {
                            0 => "x".repeat((r >> 8) as usize % 40),
                            1 => "文".repeat((r >> 8) as usize % 14),
                            2 if r.is_multiple_of(7) => "\n".repeat((r >> 8) as usize % 70),
                            _ => alphabet[((r >> 8) % alphabet.len() as u64) as usize].to_string(),
                        }
                    })
                    .collect();
                let want = reference_normalize(&n, &s);
                assert_eq!(n.normalize(&s), want.as_str(), "{s:?}");
                assert_eq!(n.normalize_passes(&s), want.as_str(), "{s:?}");
                assert_eq!(
                    reference_clean(&spec, &s) == s,
                    n.scan(&s).0.is_none(),
                    "{s:?}"
                );
            }
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
