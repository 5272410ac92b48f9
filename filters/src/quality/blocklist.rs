//! URL/domain and word blocklists.
//!
//! Lists are plain text, one entry per line, `#` starting a comment. A domain blocks
//! itself and all its subdomains (`example.com` blocks `www.example.com`, not
//! `notexample.com`). English words and phrases match whole words, ASCII
//! case-insensitively; Chinese entries match as substrings. The word signal is hits per
//! word (jieba words for Chinese). Small default lists written for taojin ship in
//! `filters/data/`; files named in the job replace them (the pipeline reads the files and
//! passes their text, so this crate never touches storage).

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, MatchKind};

use super::QualityError;
use super::signal::{SignalDef, SignalValue};
use super::view::{DocView, Script, ratio};

/// Default URL blocklist (`filters/data/url_blocklist.txt`).
pub const DEFAULT_URL_BLOCKLIST: &str = include_str!("../../data/url_blocklist.txt");
/// Default English word blocklist (`filters/data/words_en.txt`).
pub const DEFAULT_WORDS_EN: &str = include_str!("../../data/words_en.txt");
/// Default Chinese word blocklist (`filters/data/words_zh.txt`).
pub const DEFAULT_WORDS_ZH: &str = include_str!("../../data/words_zh.txt");

/// Entries of a list file with their 1-based line numbers: trimmed, comments and blank
/// lines left out.
pub fn numbered_entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let l = l.split('#').next().unwrap_or("").trim();
        (!l.is_empty()).then_some((i + 1, l))
    })
}

/// Entries of a list file (see [`numbered_entries`]).
pub fn list_entries(text: &str) -> impl Iterator<Item = &str> {
    numbered_entries(text).map(|(_, e)| e)
}

/// The host of a URL, lowercased, without user info, port or trailing dot.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.trim();
    let rest = rest.split_once("://").map_or(rest, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    let host = host.trim_end_matches('.');
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Blocked domains.
#[derive(Debug, Clone, Default)]
pub struct UrlBlocklist {
    domains: HashSet<String>,
}

impl UrlBlocklist {
    /// Parses a list; entries may be written as domains, `*.domain` or URLs.
    pub fn parse(text: &str, list: &str) -> Result<UrlBlocklist, QualityError> {
        let mut domains = HashSet::new();
        for (line, entry) in numbered_entries(text) {
            if entry.chars().any(char::is_whitespace) {
                return Err(QualityError::Blocklist {
                    list: list.to_string(),
                    line,
                    message: format!("\"{entry}\" is not a domain"),
                });
            }
            let entry = entry.trim_start_matches("*.").trim_start_matches('.');
            match url_host(entry) {
                Some(h) => {
                    domains.insert(h);
                }
                None => {
                    return Err(QualityError::Blocklist {
                        list: list.to_string(),
                        line,
                        message: format!("\"{entry}\" has no host"),
                    });
                }
            }
        }
        Ok(UrlBlocklist { domains })
    }

    /// Number of domains.
    pub fn len(&self) -> usize {
        self.domains.len()
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// True when the URL's host is a listed domain or a subdomain of one.
    pub fn is_blocked(&self, url: &str) -> bool {
        let Some(host) = url_host(url) else {
            return false;
        };
        let mut h = host.as_str();
        loop {
            if self.domains.contains(h) {
                return true;
            }
            match h.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => h = parent,
                _ => return false,
            }
        }
    }
}

/// True when `text[start..end]` has no letter or digit right before or after it.
pub(crate) fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let alnum_before = text
        .get(..start)
        .and_then(|p| p.chars().next_back())
        .is_some_and(char::is_alphanumeric);
    let alnum_after = text
        .get(end..)
        .and_then(|p| p.chars().next())
        .is_some_and(char::is_alphanumeric);
    !alnum_before && !alnum_after
}

/// Blocked words of one language.
#[derive(Debug, Clone)]
pub struct WordBlocklist {
    matcher: Option<AhoCorasick>,
    whole_words: bool,
}

impl WordBlocklist {
    /// English list: whole-word, ASCII case-insensitive matches.
    pub fn english(text: &str) -> Result<WordBlocklist, QualityError> {
        Self::build(text, true)
    }

    /// Chinese list: substring matches.
    pub fn chinese(text: &str) -> Result<WordBlocklist, QualityError> {
        Self::build(text, false)
    }

    fn build(text: &str, whole_words: bool) -> Result<WordBlocklist, QualityError> {
        let entries: Vec<&str> = list_entries(text).collect();
        let matcher = if entries.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&entries)
                    .map_err(|e| QualityError::Pattern {
                        what: "word blocklist",
                        message: e.to_string(),
                    })?,
            )
        };
        Ok(WordBlocklist {
            matcher,
            whole_words,
        })
    }

    /// Number of blocked-word occurrences in `text`.
    pub fn hits(&self, text: &str) -> u64 {
        let Some(ac) = &self.matcher else {
            return 0;
        };
        ac.find_iter(text)
            .filter(|m| !self.whole_words || is_whole_word(text, m.start(), m.end()))
            .count() as u64
    }
}

/// Signals of the blocklists.
pub const BLOCKLIST_SIGNALS: &[SignalDef] = &[
    SignalDef::bool("blocklist.url"),
    SignalDef::i32("blocklist.word_hits"),
    SignalDef::f32("blocklist.word_ratio"),
];

/// URL and word blocklists with their threshold.
#[derive(Debug, Clone)]
pub struct BlocklistRule {
    urls: UrlBlocklist,
    words_en: WordBlocklist,
    words_zh: WordBlocklist,
    max_ratio: taojin_schemas::quality::Limit<f64>,
}

impl BlocklistRule {
    /// A rule from list texts and the word-ratio threshold.
    pub fn new(
        urls: UrlBlocklist,
        words_en: WordBlocklist,
        words_zh: WordBlocklist,
        max_ratio: taojin_schemas::quality::Limit<f64>,
    ) -> BlocklistRule {
        BlocklistRule {
            urls,
            words_en,
            words_zh,
            max_ratio,
        }
    }

    /// Writes `blocklist.url` into `out[0]`; returns `blocklist:url` when the URL is blocked.
    pub fn judge_url(&self, url: Option<&str>, out: &mut [SignalValue]) -> Option<&'static str> {
        let blocked = url.map(|u| self.urls.is_blocked(u));
        if let Some(slot) = out.first_mut() {
            *slot = blocked.map_or(SignalValue::Null, SignalValue::Bool);
        }
        (blocked == Some(true)).then_some("blocklist:url")
    }

    /// Writes the word signals into `out[1..3]`; returns `blocklist:words` above the ratio.
    /// Documents of other languages get `Null`.
    pub fn judge_words(&self, view: &DocView<'_>, out: &mut [SignalValue]) -> Option<&'static str> {
        let list = match view.script {
            Script::English => &self.words_en,
            Script::Chinese => &self.words_zh,
            Script::Neutral => return None,
        };
        let hits = list.hits(view.text);
        let r = ratio(hits as f64, view.n_words() as f64);
        if let [_, h, w, ..] = out {
            *h = SignalValue::count(hits);
            *w = SignalValue::float(r);
        }
        match (r, self.max_ratio.get()) {
            (Some(r), Some(max)) if r > max => Some("blocklist:words"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            url_host("https://User@WWW.Example.com:8080/a?b#c").as_deref(),
            Some("www.example.com")
        );
        assert_eq!(url_host("example.com.").as_deref(), Some("example.com"));
        assert_eq!(url_host("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(url_host(""), None);
        assert_eq!(url_host("://"), None);
    }

    #[test]
    fn domains_and_subdomains() {
        let l = UrlBlocklist::parse("# c\nexample.com\n*.bad.org\nhttps://evil.net/path\n", "t")
            .unwrap();
        assert!(l.is_blocked("https://example.com/x"));
        assert!(l.is_blocked("http://a.b.example.com"));
        assert!(!l.is_blocked("https://notexample.com"));
        assert!(!l.is_blocked("https://example.com.cn"));
        assert!(l.is_blocked("bad.org"));
        assert!(l.is_blocked("https://evil.net"));
        assert!(!l.is_blocked("not a url"));
        let err = UrlBlocklist::parse("ok.com\nbad entry\n", "urls.txt")
            .unwrap_err()
            .to_string();
        assert!(err.contains("urls.txt") && err.contains('2'), "{err}");
    }

    #[test]
    fn default_lists_parse() {
        assert!(
            UrlBlocklist::parse(DEFAULT_URL_BLOCKLIST, "default")
                .unwrap()
                .len()
                > 5
        );
        assert!(WordBlocklist::english(DEFAULT_WORDS_EN).is_ok());
        assert!(WordBlocklist::chinese(DEFAULT_WORDS_ZH).is_ok());
    }

    #[test]
    fn word_hits() {
        let en = WordBlocklist::english("porn\nonline casino\n").unwrap();
        assert_eq!(
            en.hits("Porn and PORNography, an Online  casino? online casino!"),
            2
        );
        let zh = WordBlocklist::chinese("赌博\n").unwrap();
        assert_eq!(zh.hits("网络赌博和线下赌博"), 2);
        assert_eq!(WordBlocklist::english("").unwrap().hits("anything"), 0);
    }
}
