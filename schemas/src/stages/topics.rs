//! The `topics` stage: unsupervised topic clusters (Yi's cluster-based filtering).

use serde::{Deserialize, Serialize};

use super::{StageAt, StageParams};
use crate::job::{JobError, invalid};

/// Parameters of the `topics` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsSpec {
    /// Stage name (default `topics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Number of clusters.
    #[serde(default = "default_k")]
    pub k: usize,
    /// Hashed features (a power of two); centroids take `k × features × 4` bytes.
    #[serde(default = "default_features")]
    pub features: u32,
    /// Documents k-means trains on: a deterministic sample of about this many (by id
    /// hash, the same for any task layout); every document is then assigned.
    #[serde(default = "default_sample")]
    pub sample: u64,
    /// Rounds of k-means at most.
    #[serde(default = "default_iterations")]
    pub iterations: usize,
    /// Top terms per language and example ids per cluster in `topics/topics.json`.
    #[serde(default = "default_top_terms")]
    pub top_terms: usize,
}

fn default_k() -> usize {
    32
}
fn default_features() -> u32 {
    1 << 16
}
fn default_sample() -> u64 {
    50_000
}
fn default_iterations() -> usize {
    20
}
fn default_top_terms() -> usize {
    10
}

impl StageParams for TopicsSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        if !(1..=4096).contains(&self.k) {
            return Err(invalid(
                format!("{}.k", at.key),
                "must be between 1 and 4096",
            ));
        }
        if !self.features.is_power_of_two() || self.features < 256 || self.features > 1 << 22 {
            return Err(invalid(
                format!("{}.features", at.key),
                "must be a power of two between 256 and 4194304",
            ));
        }
        if self.sample < self.k as u64 {
            return Err(invalid(format!("{}.sample", at.key), "must be at least k"));
        }
        Ok(())
    }
}
