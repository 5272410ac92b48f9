//! Rules for Chinese documents, on characters and on jieba words — never on whitespace
//! words: length (ChineseWebText), Han ratio (ChineseWebText), FineWeb-2 `cmn_Hani` word
//! shapes and stop words, 【】 bracket spam (MAP-CC), and a share of lines carrying ad or
//! grey-market patterns (加微信, 点击领取, 澳门赌场 …; a list written for taojin).
//!
//! FineWeb-2's repetition and FineWeb rules for Mandarin reuse [`super::gopher`] and
//! [`super::fineweb`] with the names in [`ZH_REPETITION`] and [`FINEWEB_ZH`].

use aho_corasick::AhoCorasick;
use taojin_schemas::quality::ChineseRules;

use super::QualityError;
use super::blocklist::list_entries;
use super::fineweb::FineWebNames;
use super::gopher::{RepetitionNames, WordStats};
use super::signal::{SignalDef, SignalValue, Verdict};
use super::view::{DocView, ratio};

/// FineWeb-2 `cmn_Hani.yml` stop words.
pub const ZH_STOP_WORDS: [&str; 22] = [
    "的", "年", "在", "月", "是", "和", "日", "了", "於", "·", "為", "有", "被", "人", "中", "为",
    "他", "與", "後", "也", "而", "由",
];

/// The default ad / boilerplate patterns (`filters/data/zh_ad_patterns.txt`).
pub const DEFAULT_AD_PATTERNS: &str = include_str!("../../data/zh_ad_patterns.txt");

/// Signals of the Chinese quality rules.
pub const ZH_QUALITY_SIGNALS: &[SignalDef] = &[
    SignalDef::i32("zh.n_chars"),
    SignalDef::f32("zh.han_ratio"),
    SignalDef::i32("zh.n_words"),
    SignalDef::f32("zh.mean_word_len"),
    SignalDef::f32("zh.alpha_words_frac"),
    SignalDef::i32("zh.stop_words"),
    SignalDef::f32("zh.bracket_frac"),
    SignalDef::f32("zh.ad_lines_frac"),
];

/// Names of the Chinese repetition signals (FineWeb-2 `cmn_Hani` thresholds).
pub const ZH_REPETITION: RepetitionNames = RepetitionNames {
    signals: &[
        SignalDef::f32("zh.dup_line_frac"),
        SignalDef::f32("zh.dup_para_frac"),
        SignalDef::f32("zh.dup_line_char_frac"),
        SignalDef::f32("zh.dup_para_char_frac"),
        SignalDef::f32("zh.top_2gram_char_frac"),
        SignalDef::f32("zh.top_3gram_char_frac"),
        SignalDef::f32("zh.top_4gram_char_frac"),
        SignalDef::f32("zh.dup_5gram_char_frac"),
        SignalDef::f32("zh.dup_6gram_char_frac"),
        SignalDef::f32("zh.dup_7gram_char_frac"),
        SignalDef::f32("zh.dup_8gram_char_frac"),
        SignalDef::f32("zh.dup_9gram_char_frac"),
        SignalDef::f32("zh.dup_10gram_char_frac"),
    ],
    reasons: &[
        "zh_repetition:dup_line_frac",
        "zh_repetition:dup_para_frac",
        "zh_repetition:dup_line_char_frac",
        "zh_repetition:dup_para_char_frac",
        "zh_repetition:top_2gram_char_frac",
        "zh_repetition:top_3gram_char_frac",
        "zh_repetition:top_4gram_char_frac",
        "zh_repetition:dup_5gram_char_frac",
        "zh_repetition:dup_6gram_char_frac",
        "zh_repetition:dup_7gram_char_frac",
        "zh_repetition:dup_8gram_char_frac",
        "zh_repetition:dup_9gram_char_frac",
        "zh_repetition:dup_10gram_char_frac",
    ],
};

/// Names of the FineWeb rules on Chinese documents.
pub const FINEWEB_ZH: FineWebNames = FineWebNames {
    signals: &[
        SignalDef::f32("zh.punct_end_lines_frac"),
        SignalDef::f32("zh.short_lines_frac"),
        SignalDef::f32("zh.fw_dup_line_char_frac"),
        SignalDef::f32("zh.newline_word_ratio"),
    ],
    reasons: &[
        "zh_fineweb:punct_end_lines_frac",
        "zh_fineweb:short_lines_frac",
        "zh_fineweb:dup_line_char_frac",
        "zh_fineweb:newline_word_ratio",
    ],
    empty: "zh_fineweb:empty",
};

/// The Chinese quality rules (`zh_quality:*`).
#[derive(Debug, Clone)]
pub struct ChineseQualityRule {
    spec: ChineseRules,
    ads: AhoCorasick,
}

impl ChineseQualityRule {
    /// A rule with the given thresholds and the default ad patterns.
    pub fn new(spec: &ChineseRules) -> Result<ChineseQualityRule, QualityError> {
        let ads = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(list_entries(DEFAULT_AD_PATTERNS))
            .map_err(|e| QualityError::Pattern {
                what: "zh ad patterns",
                message: e.to_string(),
            })?;
        Ok(ChineseQualityRule {
            spec: spec.clone(),
            ads,
        })
    }

    /// Writes [`ZH_QUALITY_SIGNALS`] into `out` and returns the first failed check.
    pub fn judge(&self, view: &DocView<'_>, out: &mut [SignalValue]) -> Option<&'static str> {
        let s = &self.spec;
        let c = &view.chars;
        let han_ratio = ratio(c.han as f64, c.non_space as f64);
        let w = WordStats::of(view, |t| ZH_STOP_WORDS.contains(&t));
        let bracket = ratio(bracket_chars(view.text) as f64, c.non_space as f64);
        let ad_lines = self.ad_lines_frac(view);
        out.copy_from_slice(&[
            SignalValue::count(c.non_space),
            SignalValue::float(han_ratio),
            SignalValue::count(w.n_words),
            SignalValue::float(w.mean_word_len),
            SignalValue::float(w.alpha_words_frac),
            SignalValue::count(w.stop_words),
            SignalValue::float(bracket),
            SignalValue::float(ad_lines),
        ]);
        let mut v = Verdict::default();
        v.min_count(c.non_space, s.min_chars, "zh_quality:n_chars");
        v.max_count(c.non_space, s.max_chars, "zh_quality:n_chars");
        v.min(
            han_ratio.or(Some(0.0)),
            s.min_han_ratio,
            "zh_quality:han_ratio",
        );
        v.min_count(w.n_words, s.min_words, "zh_quality:n_words");
        v.max_count(w.n_words, s.max_words, "zh_quality:n_words");
        v.min(
            w.mean_word_len,
            s.min_mean_word_len,
            "zh_quality:mean_word_len",
        );
        v.max(
            w.mean_word_len,
            s.max_mean_word_len,
            "zh_quality:mean_word_len",
        );
        v.min(
            w.alpha_words_frac,
            s.min_alpha_words_frac,
            "zh_quality:alpha_words_frac",
        );
        v.min_count(w.stop_words, s.min_stop_words, "zh_quality:stop_words");
        v.max(bracket, s.max_bracket_frac, "zh_quality:bracket_frac");
        v.max(ad_lines, s.max_ad_lines_frac, "zh_quality:ad_lines_frac");
        v.reject
    }

    /// Share of non-blank lines holding at least one ad pattern.
    fn ad_lines_frac(&self, view: &DocView<'_>) -> Option<f64> {
        let n_lines = view.non_blank_lines().count() as f64;
        let mut hit_lines = 0u64;
        let mut last_line = usize::MAX;
        for m in self.ads.find_iter(view.text) {
            // Lines are sorted by start; find the line holding the match.
            let idx = view
                .lines
                .partition_point(|l| l.start <= m.start())
                .saturating_sub(1);
            if idx != last_line {
                hit_lines += 1;
                last_line = idx;
            }
        }
        ratio(hit_lines as f64, n_lines)
    }
}

/// Characters inside 【…】 (brackets included); an unclosed 【 counts nothing.
pub fn bracket_chars(text: &str) -> u64 {
    let mut total = 0u64;
    let mut rest = text;
    while let Some(open) = rest.find('【') {
        let after = &rest[open..];
        let Some(close) = after.find('】') else {
            break;
        };
        let end = close + '】'.len_utf8();
        total += after[..end].chars().count() as u64;
        rest = &after[end..];
    }
    total
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // tests turn one knob at a time
mod tests {
    use super::*;
    use crate::quality::fineweb::FineWebRule;
    use crate::quality::gopher::RepetitionRule;
    use crate::quality::view::{Script, Segmenter, is_terminal_zh};
    use taojin_schemas::quality::Limit;

    pub(crate) const GOOD_ZH: &str = "北京是中华人民共和国的首都，也是全国的政治中心和文化中心。\
这座城市有三千多年的建城史，留下了故宫、天坛和长城等许多名胜古迹。\n\
每年都有大量游客来到北京参观，他们在这里感受中国传统文化的魅力。\
近年来，北京在科技创新方面也取得了显著的成就，中关村被称为中国的硅谷。\n\
城市的交通网络不断完善，地铁线路已经覆盖了主要的城区和郊区，为市民的出行带来了便利。\
同时，政府也在努力改善空气质量，推动绿色发展，让城市变得更加宜居。";

    fn view(text: &str) -> DocView<'_> {
        DocView::new(text, Script::Chinese, &Segmenter::new(true))
    }

    fn judge(spec: &ChineseRules, text: &str) -> (Vec<SignalValue>, Option<&'static str>) {
        let mut out = vec![SignalValue::Null; ZH_QUALITY_SIGNALS.len()];
        let r = ChineseQualityRule::new(spec)
            .unwrap()
            .judge(&view(text), &mut out);
        (out, r)
    }

    fn judge_all(text: &str) -> Option<&'static str> {
        let spec = ChineseRules::default();
        let v = view(text);
        let mut out = [SignalValue::Null; 25];
        let q = ChineseQualityRule::new(&spec)
            .unwrap()
            .judge(&v, &mut out[..8]);
        let r = RepetitionRule::new((&spec.repetition).into(), &ZH_REPETITION)
            .judge(&v, &mut out[8..21]);
        let f = FineWebRule::new((&spec.fineweb).into(), is_terminal_zh, &FINEWEB_ZH)
            .judge(&v, &mut out[21..]);
        q.or(r).or(f)
    }

    #[test]
    fn good_paragraph_passes_every_chinese_rule() {
        assert_eq!(judge_all(GOOD_ZH), None);
        let (sig, _) = judge(&ChineseRules::default(), GOOD_ZH);
        assert!(sig[1].as_f64().unwrap() > 0.8, "{sig:?}");
        let mean = sig[3].as_f64().unwrap();
        assert!((1.0..=3.0).contains(&mean), "{mean}");
    }

    #[test]
    fn length_edge() {
        let mut spec = ChineseRules::default();
        spec.min_words = Limit::off();
        spec.min_stop_words = Limit::off();
        let n = GOOD_ZH.chars().filter(|c| !c.is_whitespace()).count() as u32;
        spec.min_chars = Limit::at(n);
        assert_eq!(judge(&spec, GOOD_ZH).1, None);
        spec.min_chars = Limit::at(n + 1);
        assert_eq!(judge(&spec, GOOD_ZH).1, Some("zh_quality:n_chars"));
    }

    #[test]
    fn han_ratio_edge() {
        let mut spec = ChineseRules::default();
        spec.min_chars = Limit::off();
        spec.min_words = Limit::off();
        spec.min_stop_words = Limit::off();
        spec.min_mean_word_len = Limit::off();
        spec.max_mean_word_len = Limit::off();
        spec.min_alpha_words_frac = Limit::off();
        // 3 Han + 7 Latin = 0.3: passes; 3 Han + 8 Latin: below.
        assert_eq!(judge(&spec, "中文字abcdefg").1, None);
        assert_eq!(
            judge(&spec, "中文字abcdefgh").1,
            Some("zh_quality:han_ratio")
        );
        assert_eq!(judge(&spec, "").1, Some("zh_quality:han_ratio"));
    }

    #[test]
    fn stop_words_counted_on_jieba_words() {
        let spec = ChineseRules::default();
        let (sig, _) = judge(&spec, GOOD_ZH);
        assert!(sig[5].as_f64().unwrap() >= 2.0);
        // A list of nouns with no stop word.
        let nouns = "苹果香蕉橘子葡萄西瓜草莓菠萝芒果。".repeat(20);
        let mut s2 = spec.clone();
        s2.max_ad_lines_frac = Limit::off();
        assert_eq!(judge(&s2, &nouns).1, Some("zh_quality:stop_words"));
    }

    #[test]
    fn bracket_edge() {
        assert_eq!(bracket_chars("【广告】正文【未闭合"), 4);
        let mut spec = ChineseRules::default();
        spec.min_chars = Limit::off();
        // GOOD_ZH has about 230 non-space chars; add brackets just under / over 10%.
        let n = GOOD_ZH.chars().filter(|c| !c.is_whitespace()).count();
        let inner = |k: usize| format!("【{}】", "广".repeat(k));
        // bracket chars b over (n + b) total: b/(n+b) <= 0.1  <=>  b <= n/9.
        let b_ok = n / 9;
        let ok = format!("{}{}", inner(b_ok - 2), GOOD_ZH);
        assert_eq!(judge(&spec, &ok).1, None);
        let bad = format!("{}{}", inner(b_ok), GOOD_ZH);
        assert_eq!(judge(&spec, &bad).1, Some("zh_quality:bracket_frac"));
    }

    #[test]
    fn ad_lines_edge() {
        let spec = ChineseRules::default();
        // 5 content lines + 1 ad line = 1/6 < 0.2 passes; 2 ad lines of 7 = 0.29 fails.
        let lines: Vec<&str> = GOOD_ZH.split('\n').collect();
        let mut doc: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        doc.extend(lines.iter().take(2).map(|s| s.to_string()));
        doc.push("想了解更多请加微信。".into());
        let (sig, r) = judge(&spec, &doc.join("\n"));
        assert_eq!(r, None, "{sig:?}");
        doc.push("澳门赌场，点击领取彩金。".into());
        assert_eq!(
            judge(&spec, &doc.join("\n")).1,
            Some("zh_quality:ad_lines_frac")
        );
    }

    #[test]
    fn repetition_uses_fw2_values() {
        // Same line repeated: 0.287 dup line fraction is exceeded.
        let line = GOOD_ZH.split('\n').next().unwrap();
        let doc = [line; 4].join("\n");
        let r = judge_all(&doc).unwrap();
        assert!(r.starts_with("zh_repetition:"), "{r}");
    }
}
