//! The `safety` stage: per-family keyword and pattern densities, the share of lines with
//! a hit, and a score; in `drop` mode unsafe documents go as `safety:<family>`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use taojin_filters::safety::{FAMILIES, SafetyJudge, SafetySignals};
use taojin_schemas::{SafetySpec, StageMode, TaskStats, columns};

use super::MapStage;
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};
use crate::job::LoadedJob;

/// Removal reasons, in family order.
pub const REASONS: [&str; 4] = [
    "safety:porn",
    "safety:gambling",
    "safety:violence",
    "safety:drugs",
];

struct SafetyStage {
    judge: SafetyJudge,
    spec: SafetySpec,
    fields: Vec<Field>,
}

fn fields() -> Vec<Field> {
    FAMILIES
        .iter()
        .map(|f| format!("safety.{f}"))
        .chain(["safety.lines".into(), "safety.score".into()])
        .map(|name| Field::new(name, DataType::Float32, false))
        .collect()
}

impl SafetyStage {
    fn new(spec: &SafetySpec, job: &LoadedJob) -> Result<SafetyStage> {
        let mut texts = Vec::with_capacity(4);
        for (i, family) in FAMILIES.iter().enumerate() {
            texts.push(match spec.lists.get(*family) {
                Some(p) => {
                    let path = job.resolve(p);
                    let text = std::fs::read_to_string(&path).map_err(PipelineError::io(&path))?;
                    (text, path.display().to_string())
                }
                None => (
                    taojin_filters::safety::DEFAULT_LISTS[i].to_owned(),
                    format!("default {family} list"),
                ),
            });
        }
        let lists = [0, 1, 2, 3].map(|i| (texts[i].0.as_str(), texts[i].1.as_str()));
        let judge = SafetyJudge::new(lists).map_err(|e| PipelineError::Config(e.to_string()))?;
        Ok(SafetyStage {
            judge,
            spec: spec.clone(),
            fields: fields(),
        })
    }

    fn unsafe_family(&self, s: &SafetySignals) -> Option<usize> {
        s.worst
            .filter(|&w| s.density[w] >= self.spec.max_density && s.hits[w] >= self.spec.min_hits)
    }
}

impl MapStage for SafetyStage {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &self.fields)
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let url = batch
            .column_by_name(columns::URL)
            .and_then(|c| c.as_string_opt::<i32>());
        let signals: Vec<SafetySignals> = (0..batch.num_rows())
            .into_par_iter()
            .map(|i| {
                let u = url.filter(|u| u.is_valid(i)).map(|u| u.value(i));
                self.judge.judge(text.value(i), u)
            })
            .collect();
        let mut reasons = Vec::with_capacity(signals.len());
        for s in &signals {
            let family = self.unsafe_family(s);
            if let Some(f) = family {
                stats.count(&format!("unsafe_{}", FAMILIES[f]), 1);
            }
            reasons.push(
                family
                    .filter(|_| self.spec.mode == StageMode::Drop)
                    .map(|f| REASONS[f]),
            );
        }
        let mut cols: Vec<ArrayRef> = (0..4)
            .map(|f| {
                Arc::new(Float32Array::from_iter_values(
                    signals.iter().map(|s| s.density[f]),
                )) as ArrayRef
            })
            .collect();
        cols.push(Arc::new(Float32Array::from_iter_values(
            signals.iter().map(|s| s.lines),
        )));
        cols.push(Arc::new(Float32Array::from_iter_values(
            signals.iter().map(|s| s.score),
        )));
        let batch = with_columns(batch, &self.fields, cols)?;
        partition(&batch, &reasons)
    }
}

/// The `safety` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<SafetySpec> for Kind {
    fn files(&self, spec: &SafetySpec, job: &LoadedJob) -> Vec<(String, std::path::PathBuf)> {
        spec.lists
            .iter()
            .map(|(k, p)| (format!("lists.{k}"), job.resolve(p)))
            .collect()
    }

    fn builtin(&self, spec: &SafetySpec) -> Vec<(String, &'static str)> {
        FAMILIES
            .iter()
            .zip(taojin_filters::safety::DEFAULT_LISTS)
            .filter(|(f, _)| !spec.lists.contains_key(**f))
            .map(|(f, text)| (format!("lists.{f}"), text))
            .collect()
    }

    fn build(
        &self,
        spec: &SafetySpec,
        job: &LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<crate::registry::Built> {
        Ok(crate::registry::Built::Map(Box::new(SafetyStage::new(
            spec, job,
        )?)))
    }
}
