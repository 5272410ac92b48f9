//! The `mix` stage: sources by SQL predicate, each sampled to a share of tokens.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{StageAt, StageParams};
use crate::job::{JobError, check_name, invalid};

/// Parameters of the `mix` stage: which documents make up the training mix and how often
/// each is seen. A document belongs to the first source whose predicate it matches;
/// documents no source selects are removed as `mix_unselected`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    /// Stage name (default `mix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tokens of the whole mix. Unset: the largest mix in which no weighted source is
    /// repeated (the scarcest source, relative to its weight, is taken whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// Re-weighting of documents inside a source by `dup_cluster_size` (from
    /// `minhash_dedup`): `none`, `sqrt`, `log` (1 + ln size) or `linear`. The source's
    /// token target is unchanged; survivors of big clusters get more of it.
    #[serde(default)]
    pub cluster_weight: ClusterWeight,
    /// A `tokenizer.json` (relative to the job file) to calibrate the token estimates:
    /// one document in 16 is tokenized exactly. Unset: estimates from characters alone
    /// (Han characters ×0.7 + other bytes ÷4.2, typical of large bilingual vocabularies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// The sources, in order of precedence.
    pub sources: Vec<MixSource>,
}

/// One source of a mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSource {
    /// Name, written to `mix.source` and reported in the manifest.
    pub name: String,
    /// A SQL boolean expression over the columns of the stage before (DataFusion
    /// dialect), e.g. `lang = 'en' AND "quality.score" > 0.5`.
    #[serde(rename = "where")]
    pub predicate: String,
    /// Share of the weighted part of the mix (weights are normalized to sum to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// An absolute target in tokens, instead of a weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Never repeat this source more than this many times (caps up-sampling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epochs: Option<f64>,
}

/// How documents of a source are re-weighted by their near-duplicate cluster size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterWeight {
    /// Every document weighs the same.
    #[default]
    None,
    /// Weight √size.
    Sqrt,
    /// Weight 1 + ln size.
    Log,
    /// Weight size: as if the removed duplicates were still there.
    Linear,
}

impl ClusterWeight {
    /// The weight of a document whose cluster has `size` members.
    pub fn weight(self, size: u32) -> f64 {
        let k = f64::from(size.max(1));
        match self {
            ClusterWeight::None => 1.0,
            ClusterWeight::Sqrt => k.sqrt(),
            ClusterWeight::Log => 1.0 + k.ln(),
            ClusterWeight::Linear => k,
        }
    }
}

impl StageParams for MixSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        let i = &at.index;
        if self.sources.is_empty() {
            return Err(invalid(
                format!("stages[{i}].sources"),
                "at least one [[stages.sources]] is required",
            ));
        }
        let mut names = BTreeSet::new();
        for (j, s) in self.sources.iter().enumerate() {
            let key = format!("stages[{i}].sources[{j}]");
            check_name(format!("{key}.name"), &s.name)?;
            if !names.insert(s.name.as_str()) {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("`{}` is used twice", s.name),
                ));
            }
            if s.predicate.trim().is_empty() {
                return Err(invalid(format!("{key}.where"), "must not be empty"));
            }
            match (s.weight, s.tokens) {
                (Some(w), None) if w.is_finite() && w > 0.0 => {}
                (None, Some(_)) => {}
                _ => {
                    return Err(invalid(
                        key,
                        "give exactly one of `weight` (> 0) or `tokens`",
                    ));
                }
            }
            if s.max_epochs.is_some_and(|e| !(e.is_finite() && e > 0.0)) {
                return Err(invalid(format!("{key}.max_epochs"), "must be > 0"));
            }
        }
        let fixed: u64 = self.sources.iter().filter_map(|s| s.tokens).sum();
        if let Some(total) = self.total_tokens {
            let weighted = self.sources.iter().any(|s| s.weight.is_some());
            if fixed > total || (weighted && fixed == total) {
                return Err(invalid(
                    format!("stages[{i}].total_tokens"),
                    "must exceed the sum of the sources' `tokens` targets",
                ));
            }
        }
        Ok(())
    }
}
