//! The `safety` stage: keyword and pattern signals for pornography, gambling, violence
//! and drugs in Chinese and English.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StageAt, StageMode, StageParams};
use crate::job::{JobError, invalid};

/// The families a `lists` key may name.
pub const SAFETY_FAMILIES: [&str; 4] = ["porn", "gambling", "violence", "drugs"];

/// Parameters of the `safety` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetySpec {
    /// Stage name (default `safety`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` (default) removes unsafe documents as `safety:<family>`; `annotate` only
    /// writes the signals.
    #[serde(default)]
    pub mode: StageMode,
    /// Lists replacing the shipped defaults, by family (`porn`, `gambling`, `violence`,
    /// `drugs`); relative to the job file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists: BTreeMap<String, String>,
    /// A document is unsafe at this many weighted hits per 1,000 characters of one family…
    #[serde(default = "default_max_density")]
    pub max_density: f32,
    /// …when that family also has at least this many weighted hits.
    #[serde(default = "default_min_hits")]
    pub min_hits: f32,
}

fn default_max_density() -> f32 {
    2.0
}
fn default_min_hits() -> f32 {
    3.0
}

impl StageParams for SafetySpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        if let Some(k) = self
            .lists
            .keys()
            .find(|k| !SAFETY_FAMILIES.contains(&k.as_str()))
        {
            return Err(invalid(
                format!("{}.lists.{k}", at.key),
                "is not a family: porn, gambling, violence or drugs",
            ));
        }
        if self.max_density.is_nan() || self.max_density <= 0.0 {
            return Err(invalid(format!("{}.max_density", at.key), "must be > 0"));
        }
        if self.min_hits.is_nan() || self.min_hits < 0.0 {
            return Err(invalid(format!("{}.min_hits", at.key), "must be ≥ 0"));
        }
        Ok(())
    }
}
