//! Safety signals: keyword and pattern hits for pornography, gambling, violence and
//! drugs, in Chinese and English (ChineseWebText-style densities; Yi §5's keyword and
//! heuristic rules). Each family's list is a plain text file a user can replace: terms
//! with optional weights, `re:` regular expressions (Chinese gambling-spam phrases,
//! contact-spam lines) and `url:` URL substrings. Small default lists written for taojin
//! ship in `filters/data/safety/`.
//!
//! Per family the signal is weighted hits per 1,000 characters; the document also gets
//! the share of its lines with any hit and a score, the largest family density. A
//! document is unsafe when its score reaches `max_density` and its family has at least
//! `min_hits` weighted hits — so a long clean page that names a word once, or a short
//! one that names it once, is not removed.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;

use crate::quality::blocklist::{is_whole_word, numbered_entries};

/// The families, in column order.
pub const FAMILIES: [&str; 4] = ["porn", "gambling", "violence", "drugs"];

/// The default list of each family, in [`FAMILIES`] order.
pub const DEFAULT_LISTS: [&str; 4] = [
    include_str!("../data/safety/porn.txt"),
    include_str!("../data/safety/gambling.txt"),
    include_str!("../data/safety/violence.txt"),
    include_str!("../data/safety/drugs.txt"),
];

/// A list entry that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{list}:{line}: {message}")]
pub struct SafetyListError {
    /// The list (file name or `default <family>`).
    pub list: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

struct Family {
    terms: Option<AhoCorasick>,
    weights: Vec<f32>,
    whole_word: Vec<bool>,
    patterns: Vec<(Regex, f32)>,
    urls: Vec<(String, f32)>,
}

impl Family {
    fn parse(text: &str, list: &str) -> Result<Family, SafetyListError> {
        let (mut terms, mut weights, mut whole_word) = (Vec::new(), Vec::new(), Vec::new());
        let (mut patterns, mut urls) = (Vec::new(), Vec::new());
        let err = |line, message: String| SafetyListError {
            list: list.to_owned(),
            line,
            message,
        };
        for (line, entry) in numbered_entries(text) {
            let (body, weight) = match entry.rsplit_once('\t') {
                Some((b, w)) => match w.trim().parse::<f32>() {
                    Ok(w) if w > 0.0 && w.is_finite() => (b.trim(), w),
                    _ => return Err(err(line, format!("weight `{w}` is not a positive number"))),
                },
                None => (entry, 1.0),
            };
            if let Some(re) = body.strip_prefix("re:") {
                let r = Regex::new(re).map_err(|e| err(line, format!("bad pattern: {e}")))?;
                patterns.push((r, weight));
            } else if let Some(u) = body.strip_prefix("url:") {
                urls.push((u.to_ascii_lowercase(), weight));
            } else {
                whole_word.push(
                    body.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-'),
                );
                terms.push(body.to_owned());
                weights.push(weight);
            }
        }
        let terms = if terms.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&terms)
                    .map_err(|e| err(0, e.to_string()))?,
            )
        };
        Ok(Family {
            terms,
            weights,
            whole_word,
            patterns,
            urls,
        })
    }

    /// Weighted hits in one line.
    fn line_hits(&self, line: &str) -> f32 {
        let mut hits = 0f32;
        if let Some(ac) = &self.terms {
            for m in ac.find_iter(line) {
                let i = m.pattern().as_usize();
                if self.whole_word[i] && !is_whole_word(line, m.start(), m.end()) {
                    continue;
                }
                hits += self.weights[i];
            }
        }
        for (re, w) in &self.patterns {
            hits += re.find_iter(line).count() as f32 * w;
        }
        hits
    }

    /// Weighted hits of an already lower-cased URL.
    fn url_hits(&self, url: &str) -> f32 {
        self.urls
            .iter()
            .filter(|(u, _)| url.contains(u.as_str()))
            .map(|(_, w)| w)
            .sum()
    }
}

/// The safety judgement of one document.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SafetySignals {
    /// Weighted hits per 1,000 characters, per family ([`FAMILIES`] order).
    pub density: [f32; 4],
    /// Weighted hits per family.
    pub hits: [f32; 4],
    /// Share of non-blank lines with a hit of any family.
    pub lines: f32,
    /// The largest family density.
    pub score: f32,
    /// The family of the largest density, if any hit.
    pub worst: Option<usize>,
}

/// The four families' lists, compiled.
pub struct SafetyJudge {
    families: Vec<Family>,
}

impl SafetyJudge {
    /// A judge from each family's list text and its name for errors, in [`FAMILIES`] order.
    pub fn new(lists: [(&str, &str); 4]) -> Result<SafetyJudge, SafetyListError> {
        let families = lists
            .iter()
            .map(|(text, name)| Family::parse(text, name))
            .collect::<Result<_, _>>()?;
        Ok(SafetyJudge { families })
    }

    /// The judge with the shipped default lists.
    pub fn with_defaults() -> Result<SafetyJudge, SafetyListError> {
        let names = FAMILIES.map(|f| format!("default {f} list"));
        SafetyJudge::new([0, 1, 2, 3].map(|i| (DEFAULT_LISTS[i], names[i].as_str())))
    }

    /// Signals of a document (and its URL, when it has one).
    pub fn judge(&self, text: &str, url: Option<&str>) -> SafetySignals {
        let mut s = SafetySignals::default();
        let (mut lines, mut hit_lines) = (0u32, 0u32);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            lines += 1;
            let mut any = false;
            for (f, fam) in self.families.iter().enumerate() {
                let h = fam.line_hits(line);
                s.hits[f] += h;
                any |= h > 0.0;
            }
            hit_lines += u32::from(any);
        }
        if let Some(u) = url {
            let u = u.to_ascii_lowercase();
            for (f, fam) in self.families.iter().enumerate() {
                s.hits[f] += fam.url_hits(&u);
            }
        }
        let chars = text.chars().count().max(1) as f32;
        for f in 0..4 {
            s.density[f] = s.hits[f] * 1000.0 / chars;
            if s.hits[f] > 0.0 && s.worst.is_none_or(|w| s.density[f] > s.density[w]) {
                s.worst = Some(f);
            }
        }
        s.score = s.worst.map_or(0.0, |w| s.density[w]);
        s.lines = if lines == 0 {
            0.0
        } else {
            hit_lines as f32 / lines as f32
        };
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spam_scores_and_clean_text_that_names_the_words_does_not() {
        let j = SafetyJudge::with_defaults().unwrap();
        let spam = "澳门威尼斯人官网，注册送彩金！\n北京赛车pk10计划，天天返水\n加微信abc12345上分下分，时时彩平台";
        let s = j.judge(spam, None);
        assert_eq!(s.worst, Some(1));
        assert!(s.hits[1] >= 8.0 && s.lines == 1.0, "{s:?}");
        let news = "警方破获一起网络赌博案件，涉案金额巨大。\n专家提醒市民远离赌博。";
        let n = j.judge(news, None);
        assert!(n.hits[1] < 1.0, "{n:?}");
        let en = "Free spins and a no deposit bonus at our online casino! Bet now.";
        assert!(j.judge(en, None).hits[1] >= 4.0);
        // Whole words only: "pornography" is a word of its own, "Essex" is not "sex".
        assert_eq!(j.judge("Essex and Middlesex", None).hits, [0.0; 4]);
        assert!(j.judge("x", Some("https://www.casino-royal.example/")).hits[1] >= 1.0);
    }

    #[test]
    fn bad_lists_name_the_line() {
        let bad = "ok\nre:(unclosed\n";
        let e = SafetyJudge::new([(bad, "p.txt"), ("", "g"), ("", "v"), ("", "d")])
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("p.txt:2: bad pattern"), "{e}");
        let w = SafetyJudge::new([("term\tlots", "p.txt"), ("", "g"), ("", "v"), ("", "d")])
            .err()
            .unwrap();
        assert_eq!(
            w.to_string(),
            "p.txt:1: weight `lots` is not a positive number"
        );
    }
}
