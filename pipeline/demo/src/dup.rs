//! Duplicate makers: normalization-only variants and near duplicates at a target similarity.

use super::rng::Rng;
use super::shingle::{is_cjk_char, jaccard, shingles};
use super::words::{EN_ADJS, EN_ADVS, EN_SHARED_VERBS, FOOTERS, ZH, ZH_EDIT_CHARS};

/// A copy equal to `text` after Unicode-compatibility (NFKC) folding, lower-casing and whitespace
/// collapsing: zh text gets half-width ASCII punctuation for full-width forms, Latin text gets case
/// changes; both get extra spaces and trailing whitespace.
pub(crate) fn normalized_variant(rng: &mut Rng, text: &str, cjk: bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let lower = rng.chance(0.5);
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let upper_line = !cjk && !lower && n == 0;
        for c in line.chars() {
            match c {
                // Full-width forms U+FF01..U+FF5E fold to ASCII under NFKC.
                '\u{FF01}'..='\u{FF5E}' if cjk => {
                    out.push(char::from_u32(c as u32 - 0xFEE0).unwrap_or(c))
                }
                ' ' if rng.chance(0.2) => out.push_str("  "),
                _ if upper_line => out.extend(c.to_uppercase()),
                _ if lower && !cjk => out.extend(c.to_lowercase()),
                _ => out.push(c),
            }
        }
        if rng.chance(0.3) {
            out.push(' ');
        }
    }
    out.push_str(" \t");
    out
}

/// Fifth root by Newton's method: basic IEEE arithmetic only, so identical on every platform.
fn fifth_root(s: f64) -> f64 {
    let mut x = 1.0;
    for _ in 0..40 {
        x -= (x * x * x * x * x - s) / (5.0 * x * x * x * x);
    }
    x
}

/// Splits a line after sentence-final punctuation (Latin marks only before a space, so
/// emails, versions and decimals stay whole).
fn sentences(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
        let end_latin = matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| *n == ' ');
        if end_latin || matches!(c, '。' | '！' | '？') {
            out.push(String::new());
        }
    }
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// One planned token edit: 0..6 substitute, 6..8 insert after, 8..10 delete.
struct Edit {
    line: usize,
    tok: usize,
    op: usize,
    word: &'static str,
    ch: char,
}

/// Whether a Latin token may be edited: a purely alphabetic word with optional trailing
/// punctuation (so PII values, decoys, numbers and URLs stay intact).
fn editable(w: &str) -> Option<usize> {
    let core = w.find(|c: char| !c.is_alphabetic()).unwrap_or(w.len());
    (core > 0
        && w[core..]
            .chars()
            .all(|c| c.is_ascii_punctuation() && c != '@'))
    .then_some(core)
}

/// Applies `edits` (sorted by position) to `lines`.
fn render(lines: &[String], cjk: bool, edits: &[&Edit]) -> String {
    let mut next = edits.iter().peekable();
    let mut out = String::new();
    for (li, line) in lines.iter().enumerate() {
        if li > 0 {
            out.push('\n');
        }
        let toks: Vec<&str> = if cjk {
            line.char_indices()
                .map(|(i, c)| &line[i..i + c.len_utf8()])
                .collect()
        } else {
            line.split(' ').collect()
        };
        let mut words: Vec<String> = Vec::with_capacity(toks.len() + 4);
        for (ti, t) in toks.iter().enumerate() {
            let Some(e) = next.next_if(|e| e.line == li && e.tok == ti) else {
                words.push(t.to_string());
                continue;
            };
            let tail = if cjk {
                ""
            } else {
                editable(t).map_or("", |core| &t[core..])
            };
            match (e.op, cjk) {
                (0..6, true) => words.push(e.ch.to_string()),
                (0..6, false) => words.push(format!("{}{tail}", e.word)),
                (6..8, _) => {
                    words.push(t.to_string());
                    words.push(e.word.to_string());
                }
                _ => {}
            }
        }
        out.push_str(&words.join(if cjk { "" } else { " " }));
    }
    out
}

/// A near duplicate of `orig` aiming at shingle Jaccard `target` (5-shingles); returns the copy
/// and its measured similarity. Plans a random order of token edits (plus maybe a sentence swap
/// and a footer), starts from J ≈ s/(2−s) with s = (1−p)^5 for edit rate p, then corrects the
/// number of applied edits from the measurement.
pub(crate) fn near_copy(rng: &mut Rng, orig: &str, cjk: bool, target: f64) -> (String, f64) {
    let mut lines: Vec<String> = orig.split('\n').map(str::to_string).collect();
    // Structural edits alone can cost several points on short docs: only for lower targets.
    let structural = target <= 0.9;
    if structural && rng.chance(0.3) {
        let i = rng.below(lines.len());
        let mut s = sentences(&lines[i]);
        if s.len() >= 2 {
            let j = rng.below(s.len() - 1);
            s.swap(j, j + 1);
            lines[i] = s.join(if cjk { "" } else { " " });
        }
    }
    if structural && rng.chance(0.3) {
        lines.push(rng.pick(FOOTERS[usize::from(cjk)]).to_string());
    }
    let pool: Vec<&str> = EN_ADJS
        .iter()
        .chain(EN_ADVS)
        .chain(EN_SHARED_VERBS)
        .copied()
        .collect();
    let edit_chars: Vec<char> = ZH_EDIT_CHARS.chars().collect();
    let mut edits = Vec::new();
    for (line, l) in lines.iter().enumerate() {
        let ok: Vec<bool> = if cjk {
            l.chars().map(is_cjk_char).collect()
        } else {
            l.split(' ').map(|w| editable(w).is_some()).collect()
        };
        for (tok, _) in ok.iter().enumerate().filter(|(_, ok)| **ok) {
            let op = rng.below(10);
            let word = if cjk {
                let t = rng.below(6);
                rng.pick(ZH.nouns[t])
            } else {
                rng.pick(&pool)
            };
            edits.push(Edit {
                line,
                tok,
                op,
                word,
                ch: rng.pick(&edit_chars),
            });
        }
    }
    rng.shuffle(&mut edits);
    let orig_set = shingles(orig, 5, 5);
    let p = 1.0 - fifth_root(2.0 * target / (1.0 + target));
    let mut m = ((edits.len() as f64 * p + 0.5) as usize).min(edits.len());
    let mut best = (String::new(), -1.0f64);
    for _ in 0..5 {
        let mut chosen: Vec<&Edit> = edits[..m].iter().collect();
        chosen.sort_by_key(|e| (e.line, e.tok));
        let cand = render(&lines, cjk, &chosen);
        let j = jaccard(&orig_set, &shingles(&cand, 5, 5));
        if (j - target).abs() < (best.1 - target).abs() {
            best = (cand, j);
        }
        if (best.1 - target).abs() <= 0.02 {
            break;
        }
        let ratio = ((1.0 - target) / (1.0 - j).max(0.001)).clamp(0.5, 2.0);
        let next = (m as f64 * ratio + 0.5) as usize;
        m = if j > target {
            next.max(m + 1)
        } else {
            next.min(m.saturating_sub(1))
        }
        .min(edits.len());
    }
    best
}
