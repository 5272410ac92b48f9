//! The `classifier` stage: a learned quality score per document.

use std::sync::Arc;

use arrow::array::{Float32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use taojin_filters::classifier::QualityClassifier;
use taojin_schemas::{ClassifierSpec, StageMode, TaskStats};

use super::MapStage;
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};

/// Reason for documents under `min_score`.
pub const REASON_LOW_SCORE: &str = "classifier:low_score";

pub(super) struct ClassifierStage {
    model: QualityClassifier,
    spec: ClassifierSpec,
}

impl ClassifierStage {
    pub(super) fn new(spec: &ClassifierSpec, path: &std::path::Path) -> Result<Self> {
        let model =
            QualityClassifier::load(path).map_err(|e| PipelineError::Config(e.to_string()))?;
        Ok(ClassifierStage {
            model,
            spec: spec.clone(),
        })
    }

    fn field(&self) -> Field {
        Field::new(&self.spec.column, DataType::Float32, true)
    }
}

impl MapStage for ClassifierStage {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &[self.field()])
    }

    fn process(&self, batch: &RecordBatch, _stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let scores: Vec<f32> = (0..batch.num_rows())
            .into_par_iter()
            .map(|i| self.model.score(text.value(i)))
            .collect();
        let reasons: Vec<Option<&str>> = scores
            .iter()
            .map(|s| {
                (self.spec.mode == StageMode::Drop && *s < self.spec.min_score)
                    .then_some(REASON_LOW_SCORE)
            })
            .collect();
        let batch = with_columns(
            batch,
            &[self.field()],
            vec![Arc::new(Float32Array::from(scores))],
        )?;
        partition(&batch, &reasons)
    }
}

/// The `classifier` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<ClassifierSpec> for Kind {
    fn files(
        &self,
        spec: &ClassifierSpec,
        job: &crate::job::LoadedJob,
    ) -> Vec<(String, std::path::PathBuf)> {
        vec![("model".into(), job.resolve(&spec.model))]
    }

    fn build(
        &self,
        spec: &ClassifierSpec,
        job: &crate::job::LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<crate::registry::Built> {
        let stage = ClassifierStage::new(spec, &job.resolve(&spec.model))?;
        Ok(crate::registry::Built::Map(Box::new(stage)))
    }
}
