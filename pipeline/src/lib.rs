//! The taojin engine: job planning, readers and writers, the local executor with resume
//! markers and enforced accounting, and the stages that wire `filters` and `dedup` into
//! batches. The `taojin` binary is a thin layer over this crate.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod batch;
pub mod cluster_scripts;
pub mod demo_data;
pub mod diff;
pub mod digest;
pub mod engine;
pub mod error;
pub mod explain;
pub mod export;
pub mod global;
pub mod html_report;
pub mod ingest;
pub mod job;
pub mod lm;
pub mod mix_dry_run;
pub mod plan;
pub mod progress;
pub mod registry;
pub mod report;
pub mod sql;
pub mod stages;
pub mod storage;
pub mod task;
pub mod texts;
pub mod writer;

pub use engine::{RunOptions, run};
pub use error::{PipelineError, Result};
pub use job::LoadedJob;
pub use taojin_demo as demo;
pub use taojin_tokenizer::{encoder, train as tokenizer_train};
