//! Keys of lines for corpus-wide repeated-line removal (CCNet / Yi paragraph dedup).

use xxhash_rust::xxh3::xxh3_64;

/// The hash of a line's normalized form (case-folded, digits mapped to 0, punctuation and
/// whitespace removed, as CCNet normalizes before hashing), or `None` for lines shorter
/// than `min_chars` characters after normalization: short lines ("}", "Yes.") repeat
/// everywhere and carry no boilerplate signal.
pub fn line_key(line: &str, min_chars: usize) -> Option<u64> {
    let mut norm = String::with_capacity(line.len());
    let mut chars = 0usize;
    for c in line.chars() {
        if c.is_numeric() {
            norm.push('0');
            chars += 1;
        } else if c.is_alphanumeric() {
            norm.extend(c.to_lowercase());
            chars += 1;
        }
    }
    (chars >= min_chars.max(1)).then(|| xxh3_64(norm.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_before_hashing() {
        assert_eq!(
            line_key("Copyright © 2024 Example Inc.", 5),
            line_key("copyright 1999 example inc", 5)
        );
        assert_eq!(
            line_key("首页 | 关于我们 | 联系我们", 5),
            line_key("首页|关于我们|联系我们", 5)
        );
        assert_eq!(line_key("}", 5), None);
        assert_ne!(line_key("read more here", 5), line_key("read less here", 5));
    }
}
