//! The units a language model counts, chosen so one rule serves both languages: each
//! Han, kana or hangul character is a unit (Chinese has no spaces, and characters are
//! what CCNet's SentencePiece mostly yields for it), and other text is split into runs
//! of letters and digits, lower-cased, with every digit folded to `0` (CCNet's
//! normalization: numbers and case carry little fluency signal and blow up the
//! vocabulary). Punctuation, symbols and spaces only separate units. A line is a
//! sentence. The units contain no whitespace, so the space-joined form is exactly what
//! KenLM's `score()` splits.

use taojin_schemas::script::is_cjk_letter;
use unicode_normalization::char::is_combining_mark;

/// Calls `f` on each unit of `line` in order; `buf` is scratch space.
pub fn for_each_unit(line: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    buf.clear();
    for c in line.chars() {
        if is_cjk_letter(c) {
            if !buf.is_empty() {
                f(buf);
                buf.clear();
            }
            let mut one = [0u8; 4];
            f(c.encode_utf8(&mut one));
        } else if c.is_numeric() {
            buf.push('0');
        } else if c.is_alphabetic() || (!buf.is_empty() && is_combining_mark(c)) {
            buf.extend(c.to_lowercase());
        } else if !buf.is_empty() {
            f(buf);
            buf.clear();
        }
    }
    if !buf.is_empty() {
        f(buf);
    }
}

/// The units of `line` joined by single spaces (the form `train-lm` and KenLM read).
pub fn unit_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut buf = String::new();
    for_each_unit(line, &mut buf, |u| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(u);
    });
    out
}

#[cfg(test)]
mod tests {
    use super::unit_line;

    #[test]
    fn han_characters_are_units_and_words_are_folded() {
        assert_eq!(
            unit_line("今天 Hello, World 2024年!"),
            "今 天 hello world 0000 年"
        );
        assert_eq!(unit_line("  --- "), "");
        assert_eq!(unit_line("café naïve"), "café naïve");
        assert_eq!(unit_line("x<s>y"), "x s y");
    }
}
