//! FineWeb's own rules (Penedo et al. 2024 §3.6, datatrove `FineWebQualityFilter`): share
//! of lines ending in terminal punctuation, share of short lines, characters in repeated
//! lines, newlines per word. FineWeb-2 applies the same rules to Mandarin with its own
//! thresholds and terminal punctuation, so the Chinese rules reuse [`FineWebRule`].

use taojin_schemas::quality::{ChineseFineWebRules, FineWebRules, Limit};

use super::signal::{SignalDef, SignalValue, Verdict};
use super::view::{DocView, PreHashedState, ratio};

/// FineWeb statistics over the non-blank lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FineWebStats {
    /// Share of lines whose last non-space character is terminal punctuation.
    pub punct_end_lines_frac: Option<f64>,
    /// Share of lines of at most `short_line_chars` characters.
    pub short_lines_frac: Option<f64>,
    /// Characters of repeated lines over all characters except newlines.
    pub dup_line_char_frac: Option<f64>,
    /// Newlines per word token.
    pub newline_word_ratio: Option<f64>,
}

impl FineWebStats {
    /// Computes the statistics with the given terminal punctuation and short-line length.
    pub fn of(
        view: &DocView<'_>,
        is_terminal: fn(char) -> bool,
        short_line_chars: u32,
    ) -> FineWebStats {
        let mut n = 0u64;
        let (mut punct, mut short, mut dup_chars) = (0u64, 0u64, 0u64);
        let mut seen: std::collections::HashSet<u64, PreHashedState> = Default::default();
        for l in view.non_blank_lines() {
            n += 1;
            if l.last.is_some_and(is_terminal) {
                punct += 1;
            }
            if l.chars <= short_line_chars {
                short += 1;
            }
            if !seen.insert(l.hash) {
                dup_chars += u64::from(l.chars);
            }
        }
        let n = n as f64;
        FineWebStats {
            punct_end_lines_frac: ratio(punct as f64, n),
            short_lines_frac: ratio(short as f64, n),
            dup_line_char_frac: ratio(
                dup_chars as f64,
                view.chars.total.saturating_sub(view.chars.newlines) as f64,
            ),
            newline_word_ratio: ratio(view.chars.newlines as f64, view.words.len() as f64),
        }
    }
}

/// Thresholds of the FineWeb rules, from either language's spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FineWebLimits {
    min_punct_end_lines_frac: Limit<f64>,
    max_short_lines_frac: Limit<f64>,
    short_line_chars: u32,
    max_dup_line_char_frac: Limit<f64>,
    max_newline_word_ratio: Limit<f64>,
}

macro_rules! limits_from {
    ($t:ty) => {
        impl From<&$t> for FineWebLimits {
            fn from(r: &$t) -> Self {
                FineWebLimits {
                    min_punct_end_lines_frac: r.min_punct_end_lines_frac,
                    max_short_lines_frac: r.max_short_lines_frac,
                    short_line_chars: r.short_line_chars,
                    max_dup_line_char_frac: r.max_dup_line_char_frac,
                    max_newline_word_ratio: r.max_newline_word_ratio,
                }
            }
        }
    };
}
limits_from!(FineWebRules);
limits_from!(ChineseFineWebRules);

/// Signal and reason names of the FineWeb rules for one language.
#[derive(Debug)]
pub struct FineWebNames {
    /// The 4 signal columns, in [`FineWebStats`] order.
    pub signals: &'static [SignalDef; 4],
    /// The matching rejection reasons.
    pub reasons: &'static [&'static str; 4],
    /// Reason for a document without a non-blank line.
    pub empty: &'static str,
}

/// Names for English documents.
pub const FINEWEB_EN: FineWebNames = FineWebNames {
    signals: &[
        SignalDef::f32("fineweb.punct_end_lines_frac"),
        SignalDef::f32("fineweb.short_lines_frac"),
        SignalDef::f32("fineweb.dup_line_char_frac"),
        SignalDef::f32("fineweb.newline_word_ratio"),
    ],
    reasons: &[
        "fineweb:punct_end_lines_frac",
        "fineweb:short_lines_frac",
        "fineweb:dup_line_char_frac",
        "fineweb:newline_word_ratio",
    ],
    empty: "fineweb:empty",
};

/// A FineWeb rule: thresholds, terminal punctuation and names of one language.
#[derive(Debug, Clone, Copy)]
pub struct FineWebRule {
    limits: FineWebLimits,
    is_terminal: fn(char) -> bool,
    names: &'static FineWebNames,
}

impl FineWebRule {
    /// A rule with `limits`, the terminal punctuation `is_terminal` and the given names.
    pub fn new(
        limits: FineWebLimits,
        is_terminal: fn(char) -> bool,
        names: &'static FineWebNames,
    ) -> FineWebRule {
        FineWebRule {
            limits,
            is_terminal,
            names,
        }
    }

    /// The signal columns this rule writes.
    pub fn signals(&self) -> &'static [SignalDef] {
        self.names.signals
    }

    /// Writes the 4 signals into `out` and returns the first failed check.
    pub fn judge(&self, view: &DocView<'_>, out: &mut [SignalValue]) -> Option<&'static str> {
        let l = &self.limits;
        let s = FineWebStats::of(view, self.is_terminal, l.short_line_chars);
        out.copy_from_slice(&[
            SignalValue::float(s.punct_end_lines_frac),
            SignalValue::float(s.short_lines_frac),
            SignalValue::float(s.dup_line_char_frac),
            SignalValue::float(s.newline_word_ratio),
        ]);
        if s.punct_end_lines_frac.is_none() {
            return Some(self.names.empty);
        }
        let r = self.names.reasons;
        let mut v = Verdict::default();
        v.min_exclusive(s.punct_end_lines_frac, l.min_punct_end_lines_frac, r[0]);
        v.max_exclusive(s.short_lines_frac, l.max_short_lines_frac, r[1]);
        v.max_exclusive(s.dup_line_char_frac, l.max_dup_line_char_frac, r[2]);
        v.max(s.newline_word_ratio, l.max_newline_word_ratio, r[3]);
        v.reject
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::view::{Script, Segmenter, is_terminal_en};

    fn judge(text: &str) -> (Vec<SignalValue>, Option<&'static str>) {
        let rule = FineWebRule::new(
            (&FineWebRules::default()).into(),
            is_terminal_en,
            &FINEWEB_EN,
        );
        let view = DocView::new(text, Script::English, &Segmenter::new(true));
        let mut out = vec![SignalValue::Null; 4];
        let r = rule.judge(&view, &mut out);
        (out, r)
    }

    fn long_line(i: usize, end: &str) -> String {
        format!("this is a fairly long line number {i:03} of some text{end}")
    }

    #[test]
    fn punct_edge() {
        // 0.12 is rejected (at or below), 0.13 passes.
        let mut lines: Vec<String> = (0..100).map(|i| long_line(i, "")).collect();
        for l in lines.iter_mut().take(12) {
            l.push('.');
        }
        assert_eq!(
            judge(&lines.join("\n")).1,
            Some("fineweb:punct_end_lines_frac")
        );
        lines[12].push('.');
        assert_eq!(judge(&lines.join("\n")).1, None);
    }

    #[test]
    fn short_lines_edge() {
        let mut lines: Vec<String> = (0..100).map(|i| long_line(i, ".")).collect();
        for (i, l) in lines.iter_mut().take(66).enumerate() {
            *l = format!("short {i}.");
        }
        assert_eq!(judge(&lines.join("\n")).1, None);
        lines[66] = "short 66.".into();
        assert_eq!(judge(&lines.join("\n")).1, Some("fineweb:short_lines_frac"));
    }

    #[test]
    fn dup_chars_and_empty() {
        let mut lines: Vec<String> = (0..20).map(|i| long_line(i, ".")).collect();
        lines.push(lines[0].clone());
        lines.push(lines[1].clone());
        let (sig, r) = judge(&lines.join("\n"));
        assert!(sig[2].as_f64().unwrap() >= 0.09);
        assert_eq!(r, None);
        lines.push(lines[2].clone());
        assert_eq!(
            judge(&lines.join("\n")).1,
            Some("fineweb:dup_line_char_frac")
        );
        assert_eq!(judge(" \n\n").1, Some("fineweb:empty"));
    }
}
