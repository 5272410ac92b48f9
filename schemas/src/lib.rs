//! The data contracts of taojin.
//!
//! Everything that crosses a boundary between stages, processes or machines is defined
//! here and nowhere else: the Arrow schema of a document row, the job file, per-task and
//! per-run statistics. Keeping them in one dependency-light crate lets `filters`, `dedup`
//! and `pipeline` agree on names without depending on each other, and lets outside tools
//! (a trainer, a dashboard) read our outputs with the same types.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod bytesize;
pub mod document;
pub mod job;
pub mod manifest;
pub mod quality;
pub mod rng;
pub mod script;
pub mod stages;
pub mod stats;

pub use bytesize::ByteSize;
pub use document::{columns, document_schema, read_schema, removed_schema, web_fields};
pub use job::{
    BadRecordPolicy, ClassifierSpec, ClusterWeight, DuplicateIdPolicy, ExactDedupSpec, ExtractSpec,
    Favor, InputFormat, InputSpec, InputsFingerprint, JobError, JobSection, JobSpec, K8sSpec,
    LangIdSpec, LineDedupSpec, MinhashDedupSpec, MixSource, MixSpec, MixedPolicy, NormalizeSpec,
    OutputCompression, PerplexitySpec, ReadSpec, SafetySpec, SlurmSpec, StageMode, StageSpec,
    SubstringDedupSpec, SurvivorRule, TokenizeSpec, TopicsSpec,
};
pub use quality::{Limit, PiiKind, QualitySpec};
pub use stats::{ConservationError, RunStats, StageStats, TaskStats, Threshold};
