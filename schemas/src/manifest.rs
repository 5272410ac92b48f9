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
    /// Passes over each source (1.0 until mixing up-samples).
    pub epochs_per_source: BTreeMap<String, f64>,
}
