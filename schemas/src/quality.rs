//! Parameters of the `quality` stage: heuristic rules for English and Chinese, line
//! cleaning, PII replacement and blocklists.
//!
//! Every threshold is a [`Limit`]: a number, or the string `"off"` to switch that one check
//! off while still computing its signal column. A whole rule family is switched off with
//! its `enabled` flag, which also removes its columns. Defaults are the published values;
//! the comment above each default names its source:
//! - **Gopher**: Rae et al. 2021, MassiveWeb rules (§A.1) and Table A1, as implemented by
//!   datatrove `gopher_quality_filter.py` / `gopher_repetition_filter.py`.
//! - **C4**: Raffel et al. 2020 §2.2, as implemented by datatrove `c4_filters.py`.
//! - **FineWeb**: Penedo et al. 2024 (arXiv 2406.17557) §3.6, datatrove
//!   `fineweb_quality_filter.py`.
//! - **FW2 cmn**: repo `huggingface/fineweb-2`, `configs/cmn_Hani.yml` and
//!   `fineweb-2-pipeline.py` (which turns the paragraph rules and the short-line rule off).
//! - **CWT**: ChineseWebText (arXiv 2311.01149), `preprocess.py`.
//! - **MAP-CC**: repo `huangqingyi-code/Chinese-Tiny-LLM`, `filter/filter.py`.
//! - **taojin**: our own choice where no pipeline publishes a value; tune on a corpus.
//!
//! Paths are kept as written; the pipeline resolves them against the job file.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::job::{JobError, invalid};
use crate::stages::{StageAt, StageMode, StageParams, StageSpec};

/// A threshold that can be switched off: a number in the job file, or `"off"`.
///
/// Off means the check never rejects; its signal is still computed and stored, so a
/// mixture can still select on it later.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit<T>(pub Option<T>);

impl<T: Copy> Limit<T> {
    /// A threshold at `value`.
    pub const fn at(value: T) -> Self {
        Limit(Some(value))
    }

    /// A switched-off threshold.
    pub const fn off() -> Self {
        Limit(None)
    }

    /// The value, or `None` when off.
    pub fn get(self) -> Option<T> {
        self.0
    }
}

impl<T: Serialize> Serialize for Limit<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(v) => v.serialize(serializer),
            None => serializer.serialize_str("off"),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LimitRepr<T> {
    Value(T),
    Word(String),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Limit<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match LimitRepr::<T>::deserialize(deserializer) {
            Ok(LimitRepr::Value(v)) => Ok(Limit(Some(v))),
            Ok(LimitRepr::Word(w)) if w == "off" => Ok(Limit(None)),
            Ok(LimitRepr::Word(w)) => Err(serde::de::Error::custom(format!(
                "expected a number or \"off\", found \"{w}\""
            ))),
            Err(_) => Err(serde::de::Error::custom(
                "expected a number of the right type or \"off\"",
            )),
        }
    }
}

/// Parameters of the `quality` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualitySpec {
    /// Stage name (default `quality`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` (default) removes rejected documents with a reason; `annotate` only writes
    /// the signal columns.
    #[serde(default)]
    pub mode: StageMode,
    /// Line cleaning, applied before any rule judges the document.
    #[serde(default)]
    pub lines: LineCleaning,
    /// Rules for documents labelled `en`.
    #[serde(default)]
    pub en: EnglishRules,
    /// Rules for documents labelled `zh-Hans` or `zh-Hant`.
    #[serde(default)]
    pub zh: ChineseRules,
    /// Replace personal data with placeholder tokens (on by default: Yi §2.1 and FineWeb
    /// §3.7 anonymize rather than drop).
    #[serde(default = "yes")]
    pub pii: bool,
    /// Which kinds of personal data are replaced (default: all).
    #[serde(default = "all_pii_kinds")]
    pub pii_kinds: Vec<PiiKind>,
    /// URL and word blocklists.
    #[serde(default)]
    pub blocklists: Blocklists,
}

impl StageParams for QualitySpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        if !at.before.iter().any(|s| matches!(s, StageSpec::Langid(_))) {
            return Err(invalid(
                format!("{}.kind", at.key),
                "`quality` judges each document by its language: put a `langid` stage before it",
            ));
        }
        Ok(())
    }
}

impl Default for QualitySpec {
    fn default() -> Self {
        QualitySpec {
            name: None,
            mode: StageMode::Drop,
            lines: LineCleaning::default(),
            en: EnglishRules::default(),
            zh: ChineseRules::default(),
            pii: true,
            pii_kinds: all_pii_kinds(),
            blocklists: Blocklists::default(),
        }
    }
}

/// A kind of personal data replaced by the PII pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// E-mail addresses → `<EMAIL>`.
    Email,
    /// IPv4 and IPv6 addresses → `<IP>`.
    Ip,
    /// Phone numbers: international (`+…`), Chinese mobile and landline, North American → `<PHONE>`.
    Phone,
    /// Chinese resident ID numbers with a valid ISO 7064 MOD 11-2 check digit → `<ID>`.
    Id,
    /// Payment card numbers (13–19 digits, Luhn-valid) → `<CARD>`.
    Card,
}

impl PiiKind {
    /// Every kind, in the order the PII pass applies them.
    pub const ALL: [PiiKind; 5] = [
        PiiKind::Email,
        PiiKind::Ip,
        PiiKind::Id,
        PiiKind::Card,
        PiiKind::Phone,
    ];
}

fn all_pii_kinds() -> Vec<PiiKind> {
    PiiKind::ALL.to_vec()
}

/// Line cleaning: whole lines removed before judging; the text changes only by whole lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineCleaning {
    /// Run line cleaning at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// C4 line rules (too-long word, too few words, `javascript`, policy/cookie notices)
    /// for `en` and Chinese documents.
    #[serde(default = "yes")]
    pub c4_rules: bool,
    /// C4: lines with fewer words are removed (English: whitespace words).
    // C4 (Raffel et al. §2.2; datatrove `min_words_per_line=3`).
    #[serde(default = "default_c4_min_words")]
    pub min_words_per_line: Limit<u32>,
    /// Chinese lines with fewer jieba words (punctuation tokens included) are removed.
    // MAP-CC `linewise_filter`: lines need ≥ 3 jieba words.
    #[serde(default = "default_c4_min_words")]
    pub min_words_per_line_zh: Limit<u32>,
    /// C4: lines holding a word longer than this many characters are removed.
    // C4 / datatrove `max_word_length=1000`.
    #[serde(default = "default_max_word_len")]
    pub max_word_len: Limit<u32>,
    /// C4: remove lines containing `javascript`.
    #[serde(default = "yes")]
    pub javascript: bool,
    /// C4: remove lines containing policy notices (`terms of use`, `privacy policy`,
    /// `cookie policy`, `uses cookies`, `use of cookies`, `use cookies`).
    #[serde(default = "yes")]
    pub policy: bool,
    /// C4: remove lines that do not end in terminal punctuation. Off by default: FineWeb
    /// §3.5 found it removes ~30% of tokens for little gain.
    #[serde(default)]
    pub terminal_punct: bool,
    /// Remove navigation, cookie, share and copyright lines (English and Chinese lists
    /// shipped with taojin), when the line is short.
    #[serde(default = "yes")]
    pub furniture: bool,
    /// Furniture patterns only remove lines up to this many characters (taojin).
    #[serde(default = "default_furniture_max_chars")]
    pub furniture_max_chars: u32,
    /// Keep only the first occurrence of a line repeated inside the document.
    #[serde(default = "yes")]
    pub repeated: bool,
    /// Only lines up to this many characters are de-duplicated: longer repeats are left
    /// for the repetition rules to judge (taojin).
    #[serde(default = "default_repeated_max_chars")]
    pub repeated_max_chars: u32,
}

fn default_c4_min_words() -> Limit<u32> {
    Limit::at(3)
}
fn default_max_word_len() -> Limit<u32> {
    Limit::at(1000)
}
fn default_furniture_max_chars() -> u32 {
    120
}
fn default_repeated_max_chars() -> u32 {
    80
}

impl Default for LineCleaning {
    fn default() -> Self {
        LineCleaning {
            enabled: true,
            c4_rules: true,
            min_words_per_line: default_c4_min_words(),
            min_words_per_line_zh: default_c4_min_words(),
            max_word_len: default_max_word_len(),
            javascript: true,
            policy: true,
            terminal_punct: false,
            furniture: true,
            furniture_max_chars: default_furniture_max_chars(),
            repeated: true,
            repeated_max_chars: default_repeated_max_chars(),
        }
    }
}

/// Rules for English documents: Gopher quality, Gopher repetition, C4, FineWeb.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EnglishRules {
    /// Gopher quality rules (word counts and shapes).
    #[serde(default)]
    pub gopher: GopherQuality,
    /// Gopher repetition rules (Table A1).
    #[serde(default)]
    pub repetition: RepetitionRules,
    /// C4 document rules.
    #[serde(default)]
    pub c4: C4Rules,
    /// FineWeb's own rules.
    #[serde(default)]
    pub fineweb: FineWebRules,
}

/// Gopher quality rules (MassiveWeb, Rae et al. 2021 §A.1; datatrove defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GopherQuality {
    /// Compute and apply these rules.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Fewest words (words holding a non-punctuation character). Gopher: 50.
    #[serde(default = "default_min_words")]
    pub min_words: Limit<u32>,
    /// Most words. Gopher: 100,000.
    #[serde(default = "default_max_words")]
    pub max_words: Limit<u32>,
    /// Shortest mean word length in characters. Gopher: 3.
    #[serde(default = "default_min_mean_word_len")]
    pub min_mean_word_len: Limit<f64>,
    /// Longest mean word length. Gopher: 10.
    #[serde(default = "default_max_mean_word_len")]
    pub max_mean_word_len: Limit<f64>,
    /// Most `#` per word, and most ellipses per word. Gopher: 0.1.
    #[serde(default = "default_tenth")]
    pub max_symbol_word_ratio: Limit<f64>,
    /// Most share of lines starting with a bullet. Gopher: 0.9.
    #[serde(default = "default_max_bullet_lines")]
    pub max_bullet_lines_frac: Limit<f64>,
    /// Most share of lines ending with an ellipsis. Gopher: 0.3.
    #[serde(default = "default_max_ellipsis_lines")]
    pub max_ellipsis_lines_frac: Limit<f64>,
    /// Least share of words holding a letter. Gopher: 0.8.
    #[serde(default = "default_min_alpha_words")]
    pub min_alpha_words_frac: Limit<f64>,
    /// Fewest stop words (the, be, to, of, and, that, have, with). Gopher: 2.
    #[serde(default = "default_min_stop_words")]
    pub min_stop_words: Limit<u32>,
}

fn default_min_words() -> Limit<u32> {
    Limit::at(50)
}
fn default_max_words() -> Limit<u32> {
    Limit::at(100_000)
}
fn default_min_mean_word_len() -> Limit<f64> {
    Limit::at(3.0)
}
fn default_max_mean_word_len() -> Limit<f64> {
    Limit::at(10.0)
}
fn default_tenth() -> Limit<f64> {
    Limit::at(0.1)
}
fn default_max_bullet_lines() -> Limit<f64> {
    Limit::at(0.9)
}
fn default_max_ellipsis_lines() -> Limit<f64> {
    Limit::at(0.3)
}
fn default_min_alpha_words() -> Limit<f64> {
    Limit::at(0.8)
}
fn default_min_stop_words() -> Limit<u32> {
    Limit::at(2)
}

impl Default for GopherQuality {
    fn default() -> Self {
        GopherQuality {
            enabled: true,
            min_words: default_min_words(),
            max_words: default_max_words(),
            min_mean_word_len: default_min_mean_word_len(),
            max_mean_word_len: default_max_mean_word_len(),
            max_symbol_word_ratio: default_tenth(),
            max_bullet_lines_frac: default_max_bullet_lines(),
            max_ellipsis_lines_frac: default_max_ellipsis_lines(),
            min_alpha_words_frac: default_min_alpha_words(),
            min_stop_words: default_min_stop_words(),
        }
    }
}

macro_rules! repetition_rules {
    ($(#[$doc:meta])* $name:ident, $default:expr) => {
        $(#[$doc])*
        ///
        /// A document is rejected when a fraction is *above* its limit.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// Compute and apply these rules.
            pub enabled: bool,
            /// Share of lines that repeat an earlier line.
            pub max_dup_line_frac: Limit<f64>,
            /// Share of paragraphs that repeat an earlier paragraph.
            pub max_dup_para_frac: Limit<f64>,
            /// Share of characters in repeated lines.
            pub max_dup_line_char_frac: Limit<f64>,
            /// Share of characters in repeated paragraphs.
            pub max_dup_para_char_frac: Limit<f64>,
            /// Share of characters covered by the most frequent 2-, 3- and 4-gram of words.
            pub max_top_ngram_char_frac: [Limit<f64>; 3],
            /// Share of characters in repeated 5-, 6-, 7-, 8-, 9- and 10-grams of words.
            pub max_dup_ngram_char_frac: [Limit<f64>; 6],
        }

        impl Default for $name {
            fn default() -> Self {
                $default
            }
        }
    };
}

repetition_rules!(
    /// Repetition rules for English: Gopher Table A1 (Rae et al. 2021; datatrove
    /// `GopherRepetitionFilter` defaults).
    RepetitionRules,
    RepetitionRules {
        enabled: true,
        max_dup_line_frac: Limit::at(0.30),
        max_dup_para_frac: Limit::at(0.30),
        max_dup_line_char_frac: Limit::at(0.20),
        max_dup_para_char_frac: Limit::at(0.20),
        max_top_ngram_char_frac: [Limit::at(0.20), Limit::at(0.18), Limit::at(0.16)],
        max_dup_ngram_char_frac: [
            Limit::at(0.15),
            Limit::at(0.14),
            Limit::at(0.13),
            Limit::at(0.12),
            Limit::at(0.11),
            Limit::at(0.10),
        ],
    }
);

repetition_rules!(
    /// Repetition rules for Chinese on lines and jieba words: FW2 `cmn_Hani.yml`
    /// (`dup_line_frac` 0.287, `top_n_grams` 0.256/0.201/0.171, `dup_n_grams`
    /// 0.198/0.182/0.167/0.154/0.14/0.127). The paragraph rules and the line-character
    /// rule are off as in `fineweb-2-pipeline.py` (`dup_para_frac=0`,
    /// `dup_line_char_frac=0`, `dup_para_char_frac=0`).
    ChineseRepetitionRules,
    ChineseRepetitionRules {
        enabled: true,
        max_dup_line_frac: Limit::at(0.287),
        max_dup_para_frac: Limit::off(),
        max_dup_line_char_frac: Limit::off(),
        max_dup_para_char_frac: Limit::off(),
        max_top_ngram_char_frac: [Limit::at(0.256), Limit::at(0.201), Limit::at(0.171)],
        max_dup_ngram_char_frac: [
            Limit::at(0.198),
            Limit::at(0.182),
            Limit::at(0.167),
            Limit::at(0.154),
            Limit::at(0.140),
            Limit::at(0.127),
        ],
    }
);

/// C4 document rules (Raffel et al. 2020 §2.2; datatrove `C4QualityFilter`). The C4 line
/// rules live in [`LineCleaning`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct C4Rules {
    /// Compute and apply these rules.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Reject documents containing `lorem ipsum`.
    #[serde(default = "yes")]
    pub lorem_ipsum: bool,
    /// Reject documents containing `{` (code, templates).
    #[serde(default = "yes")]
    pub curly_bracket: bool,
    /// Fewest sentences after line cleaning. C4 / datatrove: 5.
    #[serde(default = "default_min_sentences")]
    pub min_sentences: Limit<u32>,
}

fn default_min_sentences() -> Limit<u32> {
    Limit::at(5)
}

impl Default for C4Rules {
    fn default() -> Self {
        C4Rules {
            enabled: true,
            lorem_ipsum: true,
            curly_bracket: true,
            min_sentences: default_min_sentences(),
        }
    }
}

macro_rules! fineweb_rules {
    ($(#[$doc:meta])* $name:ident, $default:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// Compute and apply these rules.
            pub enabled: bool,
            /// Reject when the share of lines ending in terminal punctuation is at or
            /// below this.
            pub min_punct_end_lines_frac: Limit<f64>,
            /// Reject when the share of lines of at most `short_line_chars` characters is at
            /// or above this.
            pub max_short_lines_frac: Limit<f64>,
            /// What counts as a short line, in characters. FineWeb: 30.
            pub short_line_chars: u32,
            /// Reject when the share of characters in repeated lines is at or above this.
            pub max_dup_line_char_frac: Limit<f64>,
            /// Reject when newlines per word are above this.
            pub max_newline_word_ratio: Limit<f64>,
        }

        impl Default for $name {
            fn default() -> Self {
                $default
            }
        }
    };
}

fineweb_rules!(
    /// FineWeb's own rules for English (Penedo et al. 2024 §3.6; datatrove
    /// `FineWebQualityFilter`): punctuation-ending lines > 0.12, short lines < 0.67,
    /// duplicated-line characters < 0.1 (the paper's value; datatrove's code default is
    /// 0.01), newlines per word ≤ 0.3 (datatrove `new_line_ratio`).
    FineWebRules,
    FineWebRules {
        enabled: true,
        min_punct_end_lines_frac: Limit::at(0.12),
        max_short_lines_frac: Limit::at(0.67),
        short_line_chars: 30,
        max_dup_line_char_frac: Limit::at(0.1),
        max_newline_word_ratio: Limit::at(0.3),
    }
);

fineweb_rules!(
    /// FineWeb rules for Chinese with the Chinese terminal punctuation set: FW2
    /// `cmn_Hani.yml` `line_punct_thr` 0.106 and `new_line_ratio` 0.178; the FW2 pipeline
    /// sets `short_line_thr=999` (off) and `char_duplicates_ratio=0.1`.
    ChineseFineWebRules,
    ChineseFineWebRules {
        enabled: true,
        min_punct_end_lines_frac: Limit::at(0.106),
        max_short_lines_frac: Limit::off(),
        short_line_chars: 30,
        max_dup_line_char_frac: Limit::at(0.1),
        max_newline_word_ratio: Limit::at(0.178),
    }
);

/// Rules for Chinese documents (`zh-Hans`, `zh-Hant`), on characters and jieba words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChineseRules {
    /// Compute and apply the Chinese quality rules (`zh_quality:*`).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Use jieba's HMM for words missing from its dictionary (datatrove's jieba default).
    #[serde(default = "yes")]
    pub jieba_hmm: bool,
    /// Fewest non-whitespace characters. ChineseWebText uses 200; the default 100 is about
    /// Gopher's 50-word minimum in Chinese (jieba words average 1.5–2 characters) — 200
    /// removed 11% of the demo's good Chinese documents.
    #[serde(default = "default_zh_min_chars")]
    pub min_chars: Limit<u32>,
    /// Most non-whitespace characters (off by default; MAP-CC uses 10,000, which drops
    /// long articles and books).
    #[serde(default = "Limit::off")]
    pub max_chars: Limit<u32>,
    /// Least share of Han characters among non-whitespace characters. CWT
    /// `min_zh_percent`: 0.3.
    #[serde(default = "default_zh_min_han_ratio")]
    pub min_han_ratio: Limit<f64>,
    /// Fewest jieba words (non-punctuation). FW2 uses datatrove's Gopher default, 50.
    #[serde(default = "default_min_words")]
    pub min_words: Limit<u32>,
    /// Most jieba words. FW2 (Gopher default): 100,000.
    #[serde(default = "default_max_words")]
    pub max_words: Limit<u32>,
    /// Shortest mean jieba word length in characters. FW2 cmn: 1.
    #[serde(default = "default_zh_min_mean_word_len")]
    pub min_mean_word_len: Limit<f64>,
    /// Longest mean jieba word length. FW2 cmn: 5.
    #[serde(default = "default_zh_max_mean_word_len")]
    pub max_mean_word_len: Limit<f64>,
    /// Least share of jieba words holding a letter (Han counts as a letter, as in Python's
    /// `isalpha`). FW2 cmn `max_non_alpha_words_ratio`: 0.735.
    #[serde(default = "default_zh_min_alpha_words")]
    pub min_alpha_words_frac: Limit<f64>,
    /// Fewest Chinese stop words (FW2 cmn list: 的 年 在 月 是 和 日 了 於 · 為 有 被 人 中 为
    /// 他 與 後 也 而 由). FW2: 2.
    #[serde(default = "default_min_stop_words")]
    pub min_stop_words: Limit<u32>,
    /// Most share of characters inside 【】 brackets. MAP-CC: 0.1.
    #[serde(default = "default_tenth")]
    pub max_bracket_frac: Limit<f64>,
    /// Most share of non-empty lines holding an ad/boilerplate pattern (加微信, 点击领取,
    /// 澳门赌场 …; list shipped with taojin). taojin: 0.2.
    #[serde(default = "default_zh_max_ad_lines")]
    pub max_ad_lines_frac: Limit<f64>,
    /// Repetition rules on lines and jieba words (FW2 cmn).
    #[serde(default)]
    pub repetition: ChineseRepetitionRules,
    /// FineWeb rules with the Chinese terminal punctuation set (FW2 cmn).
    #[serde(default)]
    pub fineweb: ChineseFineWebRules,
}

fn default_zh_min_chars() -> Limit<u32> {
    Limit::at(100)
}
fn default_zh_min_han_ratio() -> Limit<f64> {
    Limit::at(0.3)
}
fn default_zh_min_mean_word_len() -> Limit<f64> {
    Limit::at(1.0)
}
fn default_zh_max_mean_word_len() -> Limit<f64> {
    Limit::at(5.0)
}
fn default_zh_min_alpha_words() -> Limit<f64> {
    Limit::at(0.735)
}
fn default_zh_max_ad_lines() -> Limit<f64> {
    Limit::at(0.2)
}

impl Default for ChineseRules {
    fn default() -> Self {
        ChineseRules {
            enabled: true,
            jieba_hmm: true,
            min_chars: default_zh_min_chars(),
            max_chars: Limit::off(),
            min_han_ratio: default_zh_min_han_ratio(),
            min_words: default_min_words(),
            max_words: default_max_words(),
            min_mean_word_len: default_zh_min_mean_word_len(),
            max_mean_word_len: default_zh_max_mean_word_len(),
            min_alpha_words_frac: default_zh_min_alpha_words(),
            min_stop_words: default_min_stop_words(),
            max_bracket_frac: default_tenth(),
            max_ad_lines_frac: default_zh_max_ad_lines(),
            repetition: ChineseRepetitionRules::default(),
            fineweb: ChineseFineWebRules::default(),
        }
    }
}

/// URL and word blocklists. A path left out uses the small list shipped with taojin;
/// a path given replaces it. Files hold one entry per line; `#` starts a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blocklists {
    /// Compute and apply the blocklists.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Domains; a document whose URL host is a listed domain or one of its subdomains is
    /// rejected (RefinedWeb/FineWeb §3.3 style URL filtering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_blocklist: Option<String>,
    /// English words and phrases, matched as whole words, ASCII case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words_en: Option<String>,
    /// Chinese words and phrases, matched as substrings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words_zh: Option<String>,
    /// Reject when blocked-word hits per word are above this. C4 drops a page on any hit
    /// of its list, which is too strict for a news article; taojin: 0.01.
    #[serde(default = "default_max_blocked_word_ratio")]
    pub max_blocked_word_ratio: Limit<f64>,
}

fn default_max_blocked_word_ratio() -> Limit<f64> {
    Limit::at(0.01)
}

impl Default for Blocklists {
    fn default() -> Self {
        Blocklists {
            enabled: true,
            url_blocklist: None,
            words_en: None,
            words_zh: None,
            max_blocked_word_ratio: default_max_blocked_word_ratio(),
        }
    }
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_defaults() {
        let spec: QualitySpec = toml::from_str("").unwrap();
        assert_eq!(spec, QualitySpec::default());
        assert_eq!(spec.zh.repetition.max_dup_line_frac, Limit::at(0.287));
        assert_eq!(spec.en.repetition.max_dup_line_frac, Limit::at(0.30));
        let partial: QualitySpec =
            toml::from_str("[zh.repetition]\nmax_dup_line_frac = 0.5\n").unwrap();
        assert_eq!(
            partial.zh.repetition.max_top_ngram_char_frac[0],
            Limit::at(0.256)
        );
    }

    #[test]
    fn round_trips_through_toml() {
        let mut spec = QualitySpec {
            name: Some("q".into()),
            mode: StageMode::Annotate,
            ..Default::default()
        };
        spec.en.gopher.min_stop_words = Limit::off();
        spec.zh.repetition.max_top_ngram_char_frac[1] = Limit::off();
        spec.blocklists.url_blocklist = Some("lists/urls.txt".into());
        spec.pii_kinds = vec![PiiKind::Email];
        let text = toml::to_string(&spec).unwrap();
        let back: QualitySpec = toml::from_str(&text).unwrap();
        assert_eq!(back, spec);
        assert!(text.contains("\"off\""), "{text}");
    }

    #[test]
    fn thresholds_accept_numbers_and_off() {
        let spec: QualitySpec = toml::from_str(
            "[en.gopher]\nmin_words = 10\nmax_mean_word_len = 12\nmin_stop_words = \"off\"\n\
             [zh]\nmin_han_ratio = 0.5\n",
        )
        .unwrap();
        assert_eq!(spec.en.gopher.min_words, Limit::at(10));
        assert_eq!(spec.en.gopher.max_mean_word_len, Limit::at(12.0));
        assert_eq!(spec.en.gopher.min_stop_words, Limit::off());
        assert_eq!(spec.zh.min_han_ratio, Limit::at(0.5));
    }

    #[test]
    fn rejects_unknown_keys_and_bad_words() {
        assert!(toml::from_str::<QualitySpec>("[en.gopher]\nmin_wrds = 3\n").is_err());
        let err = toml::from_str::<QualitySpec>("[en.gopher]\nmin_words = \"of\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("off"), "{err}");
        assert!(toml::from_str::<QualitySpec>("pii_kinds = [\"ssn\"]\n").is_err());
    }
}
