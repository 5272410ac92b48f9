//! The `tokenize` stage: tokenize, pack, shuffle and shard.

use serde::{Deserialize, Serialize};

use super::{StageAt, StageParams, check_memory_limit};
use crate::bytesize::ByteSize;
use crate::job::{JobError, invalid};

/// Parameters of the `tokenize` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizeSpec {
    /// Stage name (default `tokenize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An HF `tokenizer.json`; relative to the job file.
    pub tokenizer: String,
    /// When the tokenizer file does not exist: train a byte-level BPE of this many tokens
    /// on the documents entering this stage and write it there (`taojin train-tokenizer`
    /// does the same as a separate command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_vocab: Option<usize>,
    /// Text the training reads at most, taken evenly from every part of the stage's
    /// input (the trainer holds it and its word counts in memory: a few times this).
    #[serde(
        default = "default_train_bytes",
        skip_serializing_if = "is_default_train_bytes"
    )]
    pub train_bytes: ByteSize,
    /// Tokens per training row.
    #[serde(default = "default_seq_len")]
    pub seq_len: usize,
    /// Target size of one shard file.
    #[serde(default = "default_shard_bytes")]
    pub shard_bytes: ByteSize,
    /// Share of documents (not rows) that go to the validation split.
    #[serde(default = "default_valid_fraction")]
    pub valid_fraction: f64,
    /// The end-of-document token appended after every document.
    #[serde(default = "default_eos")]
    pub eos: String,
    /// Memory the row shuffle may use; beyond it rows spill to more buckets.
    #[serde(default = "super::default_memory_limit")]
    pub memory_limit: ByteSize,
}

fn default_train_bytes() -> ByteSize {
    ByteSize(512 << 20)
}
fn is_default_train_bytes(b: &ByteSize) -> bool {
    *b == default_train_bytes()
}
fn default_seq_len() -> usize {
    2048
}
fn default_shard_bytes() -> ByteSize {
    ByteSize(256 << 20)
}
fn default_valid_fraction() -> f64 {
    0.01
}
fn default_eos() -> String {
    "<|endoftext|>".into()
}

impl StageParams for TokenizeSpec {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        check_memory_limit(at, self.memory_limit)?;
        if self.seq_len < 2 || !(0.0..1.0).contains(&self.valid_fraction) || self.shard_bytes.0 == 0
        {
            return Err(invalid(
                at.key.clone(),
                "seq_len ≥ 2, 0 ≤ valid_fraction < 1, shard_bytes > 0",
            ));
        }
        if !at.last {
            return Err(invalid(
                format!("{}.kind", at.key),
                "`tokenize` must be the last stage",
            ));
        }
        if self.train_vocab.is_some_and(|v| v < 257) {
            return Err(invalid(
                format!("{}.train_vocab", at.key),
                "must be at least 257: the 256 bytes and the end-of-document token",
            ));
        }
        Ok(())
    }
}
