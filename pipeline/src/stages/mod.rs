//! Map stages: one batch of documents in, kept and removed rows out.
//!
//! A stage is built from its job-file spec once per run and shared by all tasks and
//! threads. It reports edits and its own counters into the task's stats; the task counts
//! rows in, kept and removed itself, so a stage that loses a row is caught by the
//! conservation check rather than trusted.

mod classifier;
mod langid;
mod normalize;
mod quality;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use taojin_schemas::{StageSpec, TaskStats};

use crate::batch::Processed;
use crate::error::Result;
use crate::job::LoadedJob;

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

/// Builds the stage a spec describes; paths in it resolve against the job file's folder.
pub fn build(spec: &StageSpec, job: &LoadedJob) -> Result<Box<dyn MapStage>> {
    Ok(match spec {
        StageSpec::Normalize(s) => Box::new(normalize::NormalizeStage::new(s)),
        StageSpec::Langid(s) => Box::new(langid::LangIdStage::new(s, &job.resolve(&s.model))?),
        StageSpec::Quality(s) => Box::new(quality::QualityStage::new(s, job)?),
        StageSpec::Classifier(s) => {
            Box::new(classifier::ClassifierStage::new(s, &job.resolve(&s.model))?)
        }
        StageSpec::ExactDedup(_)
        | StageSpec::MinhashDedup(_)
        | StageSpec::LineDedup(_)
        | StageSpec::Mix(_)
        | StageSpec::Tokenize(_) => {
            return Err(crate::error::PipelineError::Internal(format!(
                "`{}` is a global stage",
                spec.kind()
            )));
        }
    })
}
