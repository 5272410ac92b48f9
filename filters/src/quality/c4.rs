//! C4 document rules (Raffel et al. 2020 §2.2, datatrove `C4QualityFilter`): `lorem ipsum`,
//! curly braces and a minimum number of sentences. C4's line rules (too few words,
//! `javascript`, policy notices, optional terminal punctuation) run earlier, in line
//! cleaning ([`super::lines`]), so these rules see the cleaned document as C4 does.

use aho_corasick::AhoCorasick;
use taojin_schemas::quality::C4Rules;

use super::QualityError;
use super::signal::{SignalDef, SignalValue, Verdict};
use super::view::DocView;

/// Signals of the C4 document rules.
pub const C4_SIGNALS: &[SignalDef] = &[
    SignalDef::bool("c4.lorem_ipsum"),
    SignalDef::bool("c4.curly_bracket"),
    SignalDef::i32("c4.sentences"),
];

/// The C4 document rules for English documents.
#[derive(Debug, Clone)]
pub struct C4Rule {
    spec: C4Rules,
    lorem: AhoCorasick,
}

impl C4Rule {
    /// A rule with the given switches and thresholds.
    pub fn new(spec: &C4Rules) -> Result<C4Rule, QualityError> {
        let lorem = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(["lorem ipsum"])
            .map_err(|e| QualityError::Pattern {
                what: "c4 lorem ipsum",
                message: e.to_string(),
            })?;
        Ok(C4Rule {
            spec: spec.clone(),
            lorem,
        })
    }

    /// Writes [`C4_SIGNALS`] into `out` and returns the first failed check.
    pub fn judge(&self, view: &DocView<'_>, out: &mut [SignalValue]) -> Option<&'static str> {
        let lorem = self.lorem.is_match(view.text);
        let curly = view.text.contains('{');
        let sentences: u64 = view
            .non_blank_lines()
            .map(|l| count_sentences(l.text(view.text)))
            .sum();
        out.copy_from_slice(&[
            SignalValue::Bool(lorem),
            SignalValue::Bool(curly),
            SignalValue::count(sentences),
        ]);
        let mut v = Verdict::default();
        v.flag(lorem, self.spec.lorem_ipsum, "c4:lorem_ipsum");
        v.flag(curly, self.spec.curly_bracket, "c4:curly_bracket");
        v.min_count(sentences, self.spec.min_sentences, "c4:sentences");
        v.reject
    }
}

/// Sentences of one line: each run of `.`, `!` or `?` followed by whitespace ends one, and
/// text after the last such run is one more (a stand-in for NLTK's sentence splitter
/// that C4 uses; abbreviations such as `Mr.` count as an end).
pub fn count_sentences(line: &str) -> u64 {
    let mut n = 0u64;
    let mut in_term = false;
    let mut content = false;
    for c in line.chars() {
        if matches!(c, '.' | '!' | '?') {
            in_term = true;
            continue;
        }
        if c.is_whitespace() {
            if in_term && content {
                n += 1;
                content = false;
            }
        } else {
            content = true;
        }
        in_term = false;
    }
    if content {
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::view::{Script, Segmenter};

    fn judge(spec: &C4Rules, text: &str) -> (Vec<SignalValue>, Option<&'static str>) {
        let view = DocView::new(text, Script::English, &Segmenter::new(true));
        let mut out = vec![SignalValue::Null; C4_SIGNALS.len()];
        let r = C4Rule::new(spec).unwrap().judge(&view, &mut out);
        (out, r)
    }

    #[test]
    fn sentences() {
        assert_eq!(count_sentences("Hello world"), 1);
        assert_eq!(count_sentences("Hello. World."), 2);
        assert_eq!(count_sentences("Pi is 3.14 today! Yes? no"), 3);
        assert_eq!(count_sentences("   "), 0);
    }

    #[test]
    fn sentence_edge() {
        let spec = C4Rules::default();
        let five = "One here. Two here. Three here.\nFour here. Five here.";
        assert_eq!(judge(&spec, five).1, None);
        let four = "One here. Two here. Three here.\nFour here.";
        assert_eq!(judge(&spec, four).1, Some("c4:sentences"));
    }

    #[test]
    fn lorem_and_curly() {
        let spec = C4Rules::default();
        let base = "One here. Two here. Three here. Four here. Five here.";
        let (sig, r) = judge(&spec, &format!("{base} Lorem Ipsum dolor."));
        assert_eq!(sig[0], SignalValue::Bool(true));
        assert_eq!(r, Some("c4:lorem_ipsum"));
        assert_eq!(
            judge(&spec, &format!("{base} x = {{1}}")).1,
            Some("c4:curly_bracket")
        );
        let mut off = spec.clone();
        off.curly_bracket = false;
        assert_eq!(judge(&off, &format!("{base} x = {{1}}")).1, None);
    }
}
