//! Exact duplicates: documents whose [`matching_key`] is equal.

use taojin_schemas::script::is_cjk_letter as is_cjk;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use xxhash_rust::xxh3::xxh3_128;

/// The key two documents are compared by in exact deduplication: NFKC, lower case,
/// punctuation and symbols (full-width included) treated as separators, every run of
/// separators collapsed to one space, and no separator kept next to an ideograph (spacing
/// in CJK text is not meaningful). Never stored as text.
pub fn matching_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut last_cjk = false;
    for c in text.nfkc() {
        if !(c.is_alphanumeric() || is_combining_mark(c)) {
            pending_space = !out.is_empty();
            continue;
        }
        let cjk = is_cjk(c);
        // Spaces between ideographs carry nothing in Chinese or Japanese text.
        if pending_space && !cjk && !last_cjk {
            out.push(' ');
        }
        pending_space = false;
        last_cjk = cjk;
        out.extend(c.to_lowercase());
    }
    out
}

/// 128-bit hash of a document's matching key: at 128 bits a collision across 10¹² documents
/// has probability about 10⁻¹⁵, so equal hashes are treated as equal keys.
pub fn exact_key_hash(text: &str) -> u128 {
    xxh3_128(matching_key(text).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_key_folds_case_width_and_punctuation() {
        assert_eq!(matching_key("Hello,  World!"), "hello world");
        assert_eq!(matching_key("你好，世界！"), matching_key("你好,世界!"));
        assert_eq!(matching_key("你好 世界"), matching_key("你好世界"));
        assert_eq!(matching_key("用 Python 写"), "用python写");
        assert_eq!(matching_key("ＡＢＣ　１２３"), "abc 123");
        assert_eq!(matching_key(" \n "), "");
        // Combining marks belong to their letter (Devanagari vowel sign).
        assert_eq!(matching_key("हिंदी भाषा"), "हिंदी भाषा");
    }

    #[test]
    fn equal_up_to_case_width_and_punctuation() {
        assert_eq!(
            exact_key_hash("你好，世界！"),
            exact_key_hash("你好, 世界!")
        );
        assert_eq!(
            exact_key_hash("Hello World"),
            exact_key_hash("hello   world.")
        );
        assert_ne!(exact_key_hash("hello world"), exact_key_hash("hello word"));
    }
}
