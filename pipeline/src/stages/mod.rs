//! Map stages: one batch of documents in, kept and removed rows out.
//!
//! A stage is built from its job-file spec once per run and shared by all tasks and
//! threads. It reports edits and its own counters into the task's stats; the task counts
//! rows in, kept and removed itself, so a stage that loses a row is caught by the
//! conservation check rather than trusted.

pub mod classifier;
pub mod extract;
pub mod langid;
pub mod normalize;
pub mod quality;
pub mod read;
pub mod safety;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use taojin_schemas::TaskStats;

use crate::batch::Processed;
use crate::error::Result;

/// A stage that processes each batch independently.
pub trait MapStage: Send + Sync {
    /// The schema of kept rows, given the schema of the input.
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        input.clone()
    }

    /// Processes one batch: rows kept (possibly edited, with new columns) and rows removed
    /// with a reason. Edits are reported in `stats.bytes_edit_delta`.
    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed>;
}
