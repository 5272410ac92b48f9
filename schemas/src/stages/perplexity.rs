//! The `perplexity` stage: CCNet's n-gram perplexity, one model per language, and the
//! run's per-language percentile buckets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StageAt, StageMode, StageParams};
use crate::job::{JobError, invalid};

/// Parameters of the `perplexity` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerplexitySpec {
    /// Stage name (default `perplexity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `annotate` (default) writes `ppl.doc` and `ppl.bucket`; `drop` also removes the
    /// `tail` bucket and documents above `max_ppl` as `perplexity:tail`.
    #[serde(default = "annotate")]
    pub mode: StageMode,
    /// ARPA model per language (`en`, `zh`, `zh-Hant`, …; a label matches itself, then
    /// its part before `-`) and `default` for every other language. A language with no
    /// model gets a null score and is never removed. Paths are relative to the job file.
    pub models: BTreeMap<String, String>,
    /// The percentiles that split `head` / `middle` / `tail` per language (CCNet: 30, 60).
    #[serde(default = "default_percentiles")]
    pub percentiles: [f64; 2],
    /// Absolute cut-offs per language (same keys as `models`): in `drop` mode a document
    /// above its language's value is removed whatever its bucket.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub max_ppl: BTreeMap<String, f64>,
    /// In `drop` mode, remove the `tail` bucket (default); `false` keeps it and removes
    /// only what `max_ppl` says.
    #[serde(default = "super::default_true")]
    pub drop_tail: bool,
    /// Long documents are scored on an evenly spaced sample of their lines of about this
    /// many units, so one document costs bounded time.
    #[serde(default = "default_max_units")]
    pub max_units: u64,
}

fn annotate() -> StageMode {
    StageMode::Annotate
}
fn default_percentiles() -> [f64; 2] {
    [30.0, 60.0]
}
fn default_max_units() -> u64 {
    5000
}

impl PerplexitySpec {
    /// The key of `models` / `max_ppl` that serves language `lang`, if any.
    pub fn key_for<'a, V>(map: &'a BTreeMap<String, V>, lang: &str) -> Option<&'a V> {
        map.get(lang)
            .or_else(|| lang.split_once('-').and_then(|(base, _)| map.get(base)))
            .or_else(|| map.get("default"))
    }
}

impl StageParams for PerplexitySpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        if self.models.is_empty() {
            return Err(invalid(
                format!("{}.models", at.key),
                "needs at least one model",
            ));
        }
        let [a, b] = self.percentiles;
        if !(0.0 < a && a < b && b < 100.0) {
            return Err(invalid(
                format!("{}.percentiles", at.key),
                "must be two increasing numbers between 0 and 100",
            ));
        }
        if let Some((k, _)) = self.max_ppl.iter().find(|(_, v)| v.is_nan() || **v <= 1.0) {
            return Err(invalid(format!("{}.max_ppl.{k}", at.key), "must be > 1"));
        }
        if self.max_units == 0 {
            return Err(invalid(format!("{}.max_units", at.key), "must be > 0"));
        }
        Ok(())
    }
}
