//! The `langid` stage: fastText language identification and routing by language.

use serde::{Deserialize, Serialize};

use super::{StageAt, StageMode, StageParams};
use crate::job::{JobError, invalid};

/// How a document mixing languages gets its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixedPolicy {
    /// The language with the largest share of the text.
    #[default]
    Primary,
    /// Chinese whenever its share reaches `mixed_zh_min_frac`, even if another language
    /// has more text (keeps Chinese pages full of English terms and code in the zh mix).
    ZhIfAbove,
}

/// Parameters of the `langid` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangIdSpec {
    /// Stage name (default `langid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` (default) or `annotate`.
    #[serde(default)]
    pub mode: StageMode,
    /// fastText model (`lid.176.ftz` or `lid.176.bin`); relative to the job file.
    pub model: String,
    /// Labels kept in `drop` mode.
    #[serde(default = "default_keep")]
    pub keep: Vec<String>,
    /// Minimum `lang_score` per label; `zh` applies to `zh-Hans` and `zh-Hant`. Labels not
    /// listed use `default_min_score`.
    #[serde(default = "default_min_score_map")]
    pub min_score: std::collections::BTreeMap<String, f32>,
    /// Minimum score for labels not in `min_score`.
    #[serde(default = "half")]
    pub default_min_score: f32,
    /// Chinese documents need at least this share of Han characters among letters.
    #[serde(default = "default_min_han_ratio")]
    pub min_han_ratio: f32,
    /// Labelling of mixed documents.
    #[serde(default)]
    pub mixed: MixedPolicy,
    /// Chinese share that makes a document Chinese under `mixed = "zh_if_above"`.
    #[serde(default = "default_mixed_zh_min_frac")]
    pub mixed_zh_min_frac: f32,
    /// Convert zh-Hant documents to Simplified; the original label goes to `langid.orig_script`.
    #[serde(default)]
    pub to_simplified: bool,
    /// At most this many paragraphs of a document are classified (evenly spread), which
    /// bounds the cost of very long documents.
    #[serde(default = "default_max_paragraphs")]
    pub max_paragraphs: usize,
    /// Paragraphs are classified in pieces of at most this many bytes.
    #[serde(default = "default_max_paragraph_bytes")]
    pub max_paragraph_bytes: usize,
}

fn default_keep() -> Vec<String> {
    vec!["en".into(), "zh-Hans".into(), "zh-Hant".into()]
}
// Defaults from the published pipelines: zh ≥ 0.5 is CCNet's document-level threshold
// (`lang_threshold = 0.5`); en ≥ 0.65 is FineWeb's (§3.3).
fn default_min_score_map() -> std::collections::BTreeMap<String, f32> {
    [("en".to_string(), 0.65), ("zh".to_string(), 0.5)]
        .into_iter()
        .collect()
}
fn half() -> f32 {
    0.5
}
// Han share ≥ 0.3 follows ChineseWebText's `min_zh_percent` filter.
fn default_min_han_ratio() -> f32 {
    0.3
}
fn default_mixed_zh_min_frac() -> f32 {
    0.3
}
fn default_max_paragraphs() -> usize {
    64
}
fn default_max_paragraph_bytes() -> usize {
    4096
}

impl LangIdSpec {
    /// A spec with every default and the given model path.
    pub fn with_model(model: &str) -> LangIdSpec {
        LangIdSpec {
            name: None,
            mode: StageMode::Drop,
            model: model.to_string(),
            keep: default_keep(),
            min_score: default_min_score_map(),
            default_min_score: half(),
            min_han_ratio: default_min_han_ratio(),
            mixed: MixedPolicy::Primary,
            mixed_zh_min_frac: default_mixed_zh_min_frac(),
            to_simplified: false,
            max_paragraphs: default_max_paragraphs(),
            max_paragraph_bytes: default_max_paragraph_bytes(),
        }
    }

    /// The minimum score of a label.
    pub fn min_score_for(&self, lang: &str) -> f32 {
        let family = if lang.starts_with("zh-") { "zh" } else { lang };
        self.min_score
            .get(lang)
            .or_else(|| self.min_score.get(family))
            .copied()
            .unwrap_or(self.default_min_score)
    }
}

impl StageParams for LangIdSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        if self.max_paragraphs == 0 || self.max_paragraph_bytes < 16 {
            return Err(invalid(
                format!("{}.max_paragraphs", at.key),
                "max_paragraphs ≥ 1 and max_paragraph_bytes ≥ 16",
            ));
        }
        let probs = self.min_score.values().chain([
            &self.default_min_score,
            &self.min_han_ratio,
            &self.mixed_zh_min_frac,
        ]);
        if probs.into_iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(invalid(
                at.key.clone(),
                "scores, ratios and fractions must be within 0..=1",
            ));
        }
        Ok(())
    }
}
