//! `shards/manifest.json`: what a set of training shards holds and how it was made, so
//! a trainer (and `taojin-loader`) can trust and verify it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of this manifest layout.
pub const MANIFEST_VERSION: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`MANIFEST_VERSION`]).
    pub format_version: u32,
    /// taojin version that wrote the shards.
    pub tool_version: String,
    /// Config hash of the job up to and including the tokenize stage.
    pub job_hash: String,
    /// Seed of the shuffle and of the train/valid split.
    pub seed: u64,
    /// The tokenizer.
    pub tokenizer: TokenizerInfo,
    /// Tokens per row.
    pub seq_len: usize,
    /// `uint16` or `uint32`.
    pub dtype: String,
    /// Shard files, train first.
    pub shards: Vec<ShardInfo>,
    /// What each split holds.
    pub splits: BTreeMap<String, SplitInfo>,
    /// The mix as planned and as realized, when a `mix` stage came before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<MixPlan>,
}

/// The tokenizer used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerInfo {
    /// File name as given in the job.
    pub path: String,
    /// SHA-256 of the tokenizer file.
    pub sha256: String,
    /// Vocabulary size including added tokens.
    pub vocab_size: usize,
    /// End-of-document token id.
    pub eos_id: u32,
    /// Beginning-of-document token id, if the vocabulary has one.
    pub bos_id: Option<u32>,
}

/// One shard file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// File name inside `shards/`.
    pub file: String,
    /// `train` or `valid`.
    pub split: String,
    /// Rows.
    pub rows: u64,
    /// Tokens (rows × seq_len).
    pub tokens: u64,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// The realized content of one split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitInfo {
    /// Documents.
    pub documents: u64,
    /// Document tokens including one EOS per document.
    pub document_tokens: u64,
    /// Tokens written in rows.
    pub row_tokens: u64,
    /// Tokens of the last partial row, dropped (fewer than seq_len).
    pub remainder_tokens: u64,
    /// Rows.
    pub rows: u64,
    /// Tokens per source (input name), including EOS.
    pub tokens_per_source: BTreeMap<String, u64>,
    /// Documents per source.
    pub documents_per_source: BTreeMap<String, u64>,
    /// Mean copies per document of each source that made it into the split (token
    /// weighted): 1.0 without a mix, above 1 where the mix up-sampled.
    pub epochs_per_source: BTreeMap<String, f64>,
}

/// The plan a `mix` stage made (`<mix>/mix_plan.json`), completed with the realized
/// tokens by `tokenize` in the manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MixPlan {
    /// Config hash of the mix stage.
    pub stage_hash: String,
    /// Documents no source selected (removed as `mix_unselected`).
    pub unselected_docs: u64,
    /// Per source, in the order of the job file.
    pub sources: Vec<MixSourcePlan>,
}

/// One source of a mix plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MixSourcePlan {
    /// Source name.
    pub name: String,
    /// Documents the predicate selected.
    pub documents: u64,
    /// Their text bytes.
    pub bytes: u64,
    /// Estimated tokens of those documents (each once, with EOS).
    pub tokens_available: f64,
    /// Exactly tokenized sample documents behind the estimate (0: character estimate only).
    pub sampled_documents: u64,
    /// Tokens the mix asks of the source.
    pub tokens_target: f64,
    /// Planned passes over the source: target / available (below 1: down-sampled).
    pub epochs: f64,
    /// Per-document epochs are `scale × cluster weight`.
    pub scale: f64,
    /// Tokens that reached the shards (train + valid, copies included); set by `tokenize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_realized: Option<u64>,
    /// Documents that reached the shards (each once); set by `tokenize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents_realized: Option<u64>,
}
