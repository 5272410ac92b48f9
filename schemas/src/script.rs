//! Which characters count as Han, kana and hangul: one definition for every rule that
//! treats Chinese (and its neighbours) differently from space-separated scripts —
//! normalization, language ID, quality signals, shingles, classifier tokens. Tested
//! against the Unicode Script property (the `unicode-script` crate) in the tests.

/// True for Han ideographs and the Han-script marks and radicals (`Script=Han`).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2EBEF
        | 0x2EBF0..=0x2EE5F | 0x30000..=0x3347F | 0xF900..=0xFA6D | 0xFA70..=0xFAD9
        | 0x2F800..=0x2FA1F | 0x2E80..=0x2E99 | 0x2E9B..=0x2EF3 | 0x2F00..=0x2FD5
        | 0x3005 | 0x3007 | 0x3021..=0x3029 | 0x3038..=0x303B | 0x16FE2 | 0x16FE3
        | 0x16FF0..=0x16FF6)
}

/// True for hiragana and katakana, with the marks written only inside them (the
/// prolonged sound mark, voicing marks, the middle dot) and half-width katakana.
pub fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3041..=0x309F | 0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F)
}

/// True for hangul syllables and jamo.
pub fn is_hangul(c: char) -> bool {
    matches!(c as u32,
        0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xD7B0..=0xD7FF
        | 0x302E..=0x302F)
}

/// True for letters of scripts written without spaces between words (Han, kana,
/// hangul): each is a token of its own for shingles, classifier features and spacing.
pub fn is_cjk_letter(c: char) -> bool {
    is_han(c) || is_kana(c) || is_hangul(c)
}

#[cfg(test)]
mod tests {
    use unicode_script::{Script, UnicodeScript};

    use super::*;

    fn chars() -> impl Iterator<Item = char> {
        (0..=0x10FFFFu32).filter_map(char::from_u32)
    }

    #[test]
    fn han_is_the_unicode_han_script() {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let wrong = chars()
            .filter(|&c| c.script() != Script::Unknown && is_han(c) != (c.script() == Script::Han));
        for c in wrong.map(|c| c as u32) {
            match ranges.last_mut() {
                Some(r) if r.1 + 1 == c => r.1 = c,
                _ => ranges.push((c, c)),
            }
        }
        let shown: Vec<String> = ranges.iter().map(|(a, b)| format!("{a:X}-{b:X}")).collect();
        assert!(ranges.is_empty(), "differ: {shown:?}");
    }

    #[test]
    fn kana_and_hangul_cover_their_scripts_in_the_main_blocks() {
        for c in chars() {
            let s = c.script();
            let ext = c.script_extension();
            if is_kana(c) && s != Script::Unknown {
                assert!(
                    matches!(s, Script::Hiragana | Script::Katakana)
                        || ext.contains_script(Script::Hiragana)
                        || ext.contains_script(Script::Katakana),
                    "U+{:04X} {s:?}",
                    c as u32
                );
            }
            if is_hangul(c) && s != Script::Unknown {
                assert!(
                    s == Script::Hangul || ext.contains_script(Script::Hangul),
                    "U+{:04X}",
                    c as u32
                );
            }
            // Every kana and hangul letter of the BMP is in.
            let bmp = (c as u32) < 0x10000 && !(0x3200..0x3400).contains(&(c as u32));
            if bmp && matches!(s, Script::Hiragana | Script::Katakana) {
                assert!(is_kana(c), "U+{:04X}", c as u32);
            }
            if bmp && s == Script::Hangul && !(0xFFA0..0xFFE0).contains(&(c as u32)) {
                assert!(is_hangul(c), "U+{:04X}", c as u32);
            }
        }
    }
}
