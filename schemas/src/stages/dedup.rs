//! The dedup stages: `exact_dedup`, `minhash_dedup`, `line_dedup` and `substring_dedup`.

use serde::{Deserialize, Serialize};

use super::{StageAt, StageMode, StageParams, check_memory_limit};
use crate::bytesize::ByteSize;
use crate::job::{JobError, invalid};

/// Which member of a duplicate cluster survives: `smallest_id` (default), `longest`, or
/// `highest:<column>` (the largest value of a numeric column, e.g. a quality score).
/// Ties always fall back to the smallest id, so the choice never depends on timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SurvivorRule {
    /// The lexicographically smallest document id.
    SmallestId,
    /// The longest text.
    Longest,
    /// The highest value of a Float/Int column.
    Highest(String),
}

impl TryFrom<String> for SurvivorRule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "smallest_id" => Ok(SurvivorRule::SmallestId),
            "longest" => Ok(SurvivorRule::Longest),
            _ => match s.strip_prefix("highest:") {
                Some(col) if !col.is_empty() => Ok(SurvivorRule::Highest(col.to_string())),
                _ => Err(format!(
                    "`{s}`: expected \"smallest_id\", \"longest\" or \"highest:<column>\""
                )),
            },
        }
    }
}

impl From<SurvivorRule> for String {
    fn from(r: SurvivorRule) -> String {
        match r {
            SurvivorRule::SmallestId => "smallest_id".into(),
            SurvivorRule::Longest => "longest".into(),
            SurvivorRule::Highest(c) => format!("highest:{c}"),
        }
    }
}

fn default_survivor() -> SurvivorRule {
    SurvivorRule::SmallestId
}
/// Parameters of the `exact_dedup` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactDedupSpec {
    /// Stage name (default `exact_dedup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` (default) or `annotate` (only writes `exact_dup.cluster_size`).
    #[serde(default)]
    pub mode: StageMode,
    /// Survivor of each group of exact duplicates.
    #[serde(default = "default_survivor")]
    pub keep: SurvivorRule,
    /// Memory the grouping may use; beyond it the keys are spread over more spill partitions.
    #[serde(default = "super::default_memory_limit")]
    pub memory_limit: ByteSize,
}

/// Parameters of the `minhash_dedup` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinhashDedupSpec {
    /// Stage name (default `minhash_dedup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` (default) or `annotate` (clusters written, nothing removed).
    #[serde(default)]
    pub mode: StageMode,
    /// LSH bands. Default 20 (with rows 5: a pair at J = 0.75 is a candidate with
    /// probability 0.996, and verification drops the false ones); 14 without `verify`
    /// (FineWeb's 14 × 8, whose candidates are joined as they come).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands: Option<usize>,
    /// Rows per band; permutations = bands × rows. Default 5, or 8 without `verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// Shingle size in words for Latin-script documents (FineWeb: 5).
    #[serde(default = "default_n_latin")]
    pub ngram_latin: usize,
    /// Shingle size in characters for Chinese/Japanese/Korean documents (7 ≈ 5 words).
    #[serde(default = "default_n_han")]
    pub ngram_han: usize,
    /// Only the first this many tokens of a document are shingled.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    /// Split candidate components into clusters that do not chain (default): each document
    /// joins the most similar survivor it shares a band with whose exact shingle Jaccard
    /// reaches `threshold`, or survives itself. `false`: every component of candidates is
    /// one cluster (FineWeb's behaviour; long near-identical texts chain).
    #[serde(default = "super::default_true")]
    pub verify: bool,
    /// Exact Jaccard a document needs to its cluster's survivor under `verify` (two members
    /// of one cluster are then at least `2 × threshold − 1` apart); shown beside the S-curve.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Survivor of each cluster.
    #[serde(default = "default_survivor")]
    pub keep: SurvivorRule,
    /// Memory the band grouping may use; beyond it the band keys spill to more partitions.
    #[serde(default = "super::default_memory_limit")]
    pub memory_limit: ByteSize,
}

fn default_n_latin() -> usize {
    5
}
fn default_n_han() -> usize {
    7
}
fn default_max_tokens() -> usize {
    100_000
}
fn default_threshold() -> f64 {
    0.75
}

/// Parameters of the `line_dedup` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineDedupSpec {
    /// Stage name (default `line_dedup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A line found in more than this many documents is removed from all of them.
    #[serde(default = "default_max_occurrences")]
    pub max_occurrences: u32,
    /// Lines with fewer letters and digits than this are never removed.
    #[serde(default = "default_min_line_chars")]
    pub min_line_chars: usize,
    /// Memory the counting may use; beyond it the line keys spill to more partitions.
    #[serde(default = "super::default_memory_limit")]
    pub memory_limit: ByteSize,
}

fn default_max_occurrences() -> u32 {
    8
}
fn default_min_line_chars() -> usize {
    10
}

impl StageParams for ExactDedupSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        check_memory_limit(at, self.memory_limit)
    }
}

impl MinhashDedupSpec {
    /// Bands and rows, with the defaults for the `verify` setting resolved.
    pub fn bands_rows(&self) -> (usize, usize) {
        let (b, r) = if self.verify { (20, 5) } else { (14, 8) };
        (self.bands.unwrap_or(b), self.rows.unwrap_or(r))
    }
}

impl StageParams for MinhashDedupSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        check_memory_limit(at, self.memory_limit)?;
        let (bands, rows) = self.bands_rows();
        if bands == 0
            || rows == 0
            || self.ngram_latin == 0
            || self.ngram_han == 0
            || self.max_tokens == 0
        {
            return Err(invalid(
                at.key.clone(),
                "bands, rows, ngram sizes and max_tokens must be ≥ 1",
            ));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(invalid(
                format!("{}.threshold", at.key),
                "must be within 0..=1",
            ));
        }
        Ok(())
    }
}

impl StageParams for LineDedupSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        check_memory_limit(at, self.memory_limit)?;
        if self.max_occurrences == 0 {
            return Err(invalid(
                format!("{}.max_occurrences", at.key),
                "must be at least 1 (0 would remove every line)",
            ));
        }
        Ok(())
    }
}

/// Parameters of the `substring_dedup` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubstringDedupSpec {
    /// Stage name (default `substring_dedup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Shortest repeated span cut, in units: a Han/kana/hangul character, or a
    /// whitespace-separated word (default 50: about 300 bytes of English, 50 Chinese
    /// characters; roughly 50–65 BPE tokens in either language).
    #[serde(default = "default_min_tokens")]
    pub min_tokens: usize,
    /// A document left with fewer units than this after its cuts is removed
    /// (`substring_dup_short`); one that had nothing cut is never removed.
    #[serde(default = "default_min_tokens")]
    pub min_tokens_left: usize,
    /// Memory the window grouping may use; beyond it the window keys spill to more
    /// partitions.
    #[serde(default = "super::default_memory_limit")]
    pub memory_limit: ByteSize,
}

fn default_min_tokens() -> usize {
    50
}

impl StageParams for SubstringDedupSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        check_memory_limit(at, self.memory_limit)?;
        if !(8..=100_000).contains(&self.min_tokens) {
            return Err(invalid(
                format!("{}.min_tokens", at.key),
                "must be within 8..=100000 (shorter spans repeat by chance)",
            ));
        }
        Ok(())
    }
}
