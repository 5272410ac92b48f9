//! Shingle Jaccard: the one similarity definition shared by the generator and the dedup tests.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// True for characters that are one token each: Han, kana, hangul.
pub(crate) use taojin_schemas::script::is_cjk_letter as is_cjk_char;

/// FNV-1a token hashes of `text`, and whether CJK tokens outnumber word tokens.
fn tokens(text: &str) -> (Vec<u64>, bool) {
    let (mut out, mut cjk, mut words) = (Vec::new(), 0usize, 0usize);
    let mut word: Option<u64> = None;
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if is_cjk_char(c) {
            if let Some(h) = word.take() {
                out.push(h);
                words += 1;
            }
            out.push(fnv(FNV_OFFSET, c.encode_utf8(&mut buf).as_bytes()));
            cjk += 1;
        } else if c.is_alphanumeric() {
            let mut h = word.unwrap_or(FNV_OFFSET);
            for l in c.to_lowercase() {
                h = fnv(h, l.encode_utf8(&mut buf).as_bytes());
            }
            word = Some(h);
        } else if let Some(h) = word.take() {
            out.push(h);
            words += 1;
        }
    }
    if let Some(h) = word {
        out.push(h);
        words += 1;
    }
    (out, cjk > words)
}

/// Sorted, deduplicated shingle hashes of `text` (n chosen per text by its dominant script).
pub(crate) fn shingles(text: &str, n_latin: usize, n_han: usize) -> Vec<u64> {
    let (toks, cjk) = tokens(text);
    let n = if cjk { n_han } else { n_latin }.max(1);
    let hash = |w: &[u64]| w.iter().fold(FNV_OFFSET, |h, t| fnv(h, &t.to_le_bytes()));
    let mut out: Vec<u64> = match toks.len() {
        0 => Vec::new(),
        len if len < n => vec![hash(&toks)],
        _ => toks.windows(n).map(hash).collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Jaccard similarity of the shingle sets of `a` and `b`.
///
/// Tokens: each Han/kana/Hangul character alone; runs of other alphanumerics as lowercased words;
/// everything else separates. Shingles are `n_han` tokens long for a text with more CJK tokens
/// than word tokens, else `n_latin`; a text shorter than n has one shingle of all its tokens.
/// Two empty texts have similarity 1.0. Public so dedup tests measure with the same definition
/// the generator used to state its planted similarities.
pub fn shingle_jaccard(a: &str, b: &str, n_latin: usize, n_han: usize) -> f64 {
    jaccard(&shingles(a, n_latin, n_han), &shingles(b, n_latin, n_han))
}

pub(crate) use taojin_dedup::jaccard;
