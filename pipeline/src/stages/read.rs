//! The `read` stage: the inputs as documents, every one kept. The planner puts it first
//! when the job's first stage needs a finished stage as its input (a global stage: a job
//! that only deduplicates or only tokenizes an existing corpus).

use arrow::array::RecordBatch;
use taojin_schemas::{ReadSpec, TaskStats};

use super::MapStage;
use crate::batch::Processed;
use crate::error::Result;
use crate::registry::{Built, StageKind};

struct ReadStage;

impl MapStage for ReadStage {
    fn process(&self, batch: &RecordBatch, _stats: &mut TaskStats) -> Result<Processed> {
        Ok(Processed {
            kept: batch.clone(),
            removed: None,
        })
    }
}

/// The `read` kind in the stage registry.
pub struct Kind;

impl StageKind<ReadSpec> for Kind {
    fn build(
        &self,
        _spec: &ReadSpec,
        _job: &crate::job::LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<Built> {
        Ok(Built::Map(Box::new(ReadStage)))
    }
}
