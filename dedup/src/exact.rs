//! Exact duplicates: documents whose [`matching_key`](taojin_filters::matching_key) is equal.

use xxhash_rust::xxh3::xxh3_128;

/// 128-bit hash of a document's matching key: at 128 bits a collision across 10¹² documents
/// has probability about 10⁻¹⁵, so equal hashes are treated as equal keys.
pub fn exact_key_hash(text: &str) -> u128 {
    xxh3_128(taojin_filters::matching_key(text).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
