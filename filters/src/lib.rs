//! Per-document work for taojin: text in, text or verdicts and signals out.
//!
//! Nothing here knows about files, Arrow batches, S3 or executors; the `pipeline` crate
//! drives these types over batches. That keeps every rule testable on a plain `&str`
//! and usable from another program without the taojin CLI.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod classifier;
pub mod fasttext_input;
pub mod langid;
pub mod lm;
pub mod normalize;
pub mod quality;
pub mod safety;
pub mod topics;

pub use langid::{LangIdModel, LangIdentifier, LangVerdict};
pub use normalize::Normalizer;
pub use quality::{
    BlocklistTexts, QualityError, QualityJudge, QualityOutcome, SignalKind, SignalValue,
};
