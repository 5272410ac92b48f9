//! Sub-document exact dedup (Lee et al.'s ExactSubstr, RefinedWeb's sub-document match):
//! spans of at least `k` units that occur earlier in the corpus are cut out.
//!
//! Units: every Han, kana or hangul character is one unit; every other maximal run of
//! non-whitespace characters (a word with its punctuation) is one. A Han character is about
//! one BPE token and an English word about 1.3, so `k` units ≈ `k`–`1.3k` tokens in either
//! language. Whitespace separates units and is not compared, so a span matches across
//! re-wrapped lines.
//!
//! Instead of a suffix array, every window of `k` consecutive units is keyed by a 128-bit
//! polynomial hash of its units' 64-bit hashes (two rolling hashes in independent bases):
//! equal windows have equal keys, and a false match needs a 128-bit collision (about 10⁻¹⁷
//! for 10¹¹ windows). A repeated span of `L ≥ k` units is exactly the union of its
//! `L − k + 1` repeated windows, so cutting every window that is not the corpus-first
//! occurrence of its key cuts exactly the repeated spans, with exact boundaries. The cost is
//! one 24-byte spill record per unit, spread over hash partitions.

use xxhash_rust::xxh3::xxh3_64;

use taojin_schemas::script::is_han;

/// One unit: its byte range in the text and the hash of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// xxh3 of the unit's bytes.
    pub hash: u64,
}

fn is_cjk(c: char) -> bool {
    is_han(c)
        || ('\u{3040}'..='\u{30FF}').contains(&c)
        || ('\u{AC00}'..='\u{D7AF}').contains(&c)
        || ('\u{1100}'..='\u{11FF}').contains(&c)
}

/// The units of `text` in order.
pub fn units(text: &str, out: &mut Vec<Unit>) {
    out.clear();
    let bytes = text.as_bytes();
    let mut push = |s: usize, e: usize| {
        out.push(Unit {
            start: s as u32,
            end: e as u32,
            hash: xxh3_64(&bytes[s..e]),
        })
    };
    let mut word: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || is_cjk(c) {
            if let Some(s) = word.take() {
                push(s, i);
            }
            if !c.is_whitespace() {
                push(i, i + c.len_utf8());
            }
        } else if word.is_none() {
            word = Some(i);
        }
    }
    if let Some(s) = word {
        push(s, text.len());
    }
}

const B1: u64 = 0x9E37_79B9_7F4A_7C15;
const B2: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// The 128-bit key of every window of `k` consecutive units (`units.len() − k + 1` keys;
/// none when there are fewer than `k` units).
pub fn window_keys(units: &[Unit], k: usize, out: &mut Vec<u128>) {
    out.clear();
    if k == 0 || units.len() < k {
        return;
    }
    // H = Σ hᵢ·B^(k−1−i) mod 2⁶⁴ in two bases; unit hashes are mixed first so that the
    // two sums are independent of each other.
    let (p1, p2) = (B1.wrapping_pow(k as u32 - 1), B2.wrapping_pow(k as u32 - 1));
    let mix = |h: u64| (h ^ (h >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let (mut h1, mut h2) = (0u64, 0u64);
    for (i, u) in units.iter().enumerate() {
        if i >= k {
            let old = &units[i - k];
            h1 = h1.wrapping_sub(old.hash.wrapping_mul(p1));
            h2 = h2.wrapping_sub(mix(old.hash).wrapping_mul(p2));
        }
        h1 = h1.wrapping_mul(B1).wrapping_add(u.hash);
        h2 = h2.wrapping_mul(B2).wrapping_add(mix(u.hash));
        if i + 1 >= k {
            out.push((u128::from(h1) << 64) | u128::from(h2));
        }
    }
}

/// Merges the windows starting at `starts` (sorted or not), each `k` units long, into
/// disjoint unit ranges `[from, to)`.
pub fn merge_windows(starts: &mut [u32], k: u32) -> Vec<(u32, u32)> {
    starts.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &s in starts.iter() {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(s + k),
            _ => out.push((s, s + k)),
        }
    }
    out
}

/// `text` with the unit ranges cut out. At each cut the whitespace before the span is kept
/// and the whitespace after it dropped, so a cut paragraph leaves one paragraph break.
/// Returns the new text and the bytes removed.
pub fn cut(text: &str, units: &[Unit], ranges: &[(u32, u32)]) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    for &(from, to) in ranges {
        let (Some(first), Some(last)) = (units.get(from as usize), units.get(to as usize - 1))
        else {
            continue;
        };
        let (s, e) = (first.start as usize, last.end as usize);
        if s < at {
            continue;
        }
        out.push_str(&text[at..s]);
        let rest = &text[e..];
        at = e + (rest.len() - rest.trim_start().len());
        if at == text.len() {
            let trimmed = out.trim_end().len();
            out.truncate(trimmed);
        }
    }
    out.push_str(&text[at.min(text.len())..]);
    let removed = text.len() - out.len();
    (out, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str, k: usize) -> Vec<u128> {
        let (mut u, mut out) = (Vec::new(), Vec::new());
        units(text, &mut u);
        window_keys(&u, k, &mut out);
        out
    }

    #[test]
    fn units_are_words_and_ideographs() {
        let mut u = Vec::new();
        units("Hello, world 你好 ok", &mut u);
        let text = "Hello, world 你好 ok";
        let got: Vec<&str> = u
            .iter()
            .map(|u| &text[u.start as usize..u.end as usize])
            .collect();
        assert_eq!(got, vec!["Hello,", "world", "你", "好", "ok"]);
        units("中文English混合", &mut u);
        assert_eq!(u.len(), 2 + 1 + 2);
    }

    #[test]
    fn rolling_keys_equal_keys_of_the_window_alone() {
        let a = keys("x y z one two three four", 4);
        let b = keys("one two three four", 4);
        assert_eq!(a.len(), 4);
        assert_eq!(a[3], b[0]);
        assert_ne!(a[0], a[1]);
        assert_eq!(
            keys("one two\nthree   four", 4),
            b,
            "whitespace is not compared"
        );
        assert!(keys("one two", 4).is_empty());
    }

    #[test]
    fn windows_merge_into_spans_and_cut_cleanly() {
        let mut starts = vec![5, 0, 1, 2, 9];
        assert_eq!(merge_windows(&mut starts, 3), vec![(0, 8), (9, 12)]);
        let text = "keep this\n\ncut me out now\n\nand keep this";
        let mut u = Vec::new();
        units(text, &mut u);
        let (out, removed) = cut(text, &u, &[(2, 6)]);
        assert_eq!(out, "keep this\n\nand keep this");
        assert_eq!(removed, text.len() - out.len());
        let (out, _) = cut(text, &u, &[(6, 9)]);
        assert_eq!(out, "keep this\n\ncut me out now");
        let (out, _) = cut(text, &u, &[(0, 2)]);
        assert_eq!(out, "cut me out now\n\nand keep this");
    }
}
