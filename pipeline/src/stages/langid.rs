//! The `langid` stage: [`LangIdentifier`] over the text column, writing `lang`,
//! `lang_score` and the `langid.*` signals, and routing by language.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use taojin_filters::langid::{LangIdModel, LangIdentifier, Rejection};
use taojin_schemas::{LangIdSpec, StageMode, TaskStats, columns};

use super::MapStage;
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};

/// Reason for documents whose language is kept but whose score is too low.
pub const REASON_LOW_SCORE: &str = "lang_low_score";

const SIGNALS: [&str; 6] = [
    "langid.zh_frac",
    "langid.en_frac",
    "langid.other_frac",
    "langid.han_ratio",
    "langid.latin_ratio",
    "langid.kana_ratio",
];
const ORIG_SCRIPT: &str = "langid.orig_script";

pub(super) struct LangIdStage {
    identifier: LangIdentifier,
    spec: LangIdSpec,
}

impl LangIdStage {
    pub(super) fn new(spec: &LangIdSpec, model_path: &std::path::Path) -> Result<Self> {
        let model =
            LangIdModel::load(model_path).map_err(|e| PipelineError::Config(e.to_string()))?;
        let identifier =
            LangIdentifier::new(model, spec).map_err(|e| PipelineError::Config(e.to_string()))?;
        Ok(LangIdStage {
            identifier,
            spec: spec.clone(),
        })
    }

    fn new_fields(&self) -> Vec<Field> {
        let mut fields = vec![
            Field::new(columns::LANG, DataType::Utf8, true),
            Field::new(columns::LANG_SCORE, DataType::Float32, true),
        ];
        fields.extend(
            SIGNALS
                .iter()
                .map(|s| Field::new(*s, DataType::Float32, true)),
        );
        if self.spec.to_simplified {
            fields.push(Field::new(ORIG_SCRIPT, DataType::Utf8, true));
        }
        fields
    }
}

impl MapStage for LangIdStage {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &self.new_fields())
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let texts: Vec<&str> = (0..batch.num_rows()).map(|i| text.value(i)).collect();
        // Documents of a batch in parallel; results stay in row order.
        let verdicts: Vec<_> = texts
            .par_iter()
            .map(|t| self.identifier.identify(t))
            .collect();
        let mut reasons: Vec<Option<String>> = Vec::with_capacity(verdicts.len());
        for v in &verdicts {
            let reason = match self.identifier.route(v) {
                Ok(()) => None,
                Err(Rejection::Language(code)) => Some(format!("lang:{code}")),
                Err(Rejection::LowScore) => Some(REASON_LOW_SCORE.to_string()),
            };
            stats.count(&format!("lang.{}", v.lang), 1);
            reasons.push(if self.spec.mode == StageMode::Drop {
                reason
            } else {
                None
            });
        }
        let f32_col = |f: fn(&taojin_filters::LangVerdict) -> f32| -> ArrayRef {
            Arc::new(Float32Array::from_iter_values(verdicts.iter().map(f)))
        };
        let mut new_columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                verdicts.iter().map(|v| v.lang.as_str()),
            )),
            f32_col(|v| v.score),
            f32_col(|v| v.zh_frac),
            f32_col(|v| v.en_frac),
            f32_col(|v| v.other_frac),
            f32_col(|v| v.han_ratio),
            f32_col(|v| v.latin_ratio),
            f32_col(|v| v.kana_ratio),
        ];
        let mut batch = batch.clone();
        if self.spec.to_simplified {
            let mut orig: Vec<Option<&str>> = vec![None; verdicts.len()];
            let mut converted: Vec<String> = Vec::with_capacity(verdicts.len());
            let mut delta = 0i64;
            for (i, (v, t)) in verdicts.iter().zip(&texts).enumerate() {
                if v.lang == "zh-Hant" {
                    let s = self.identifier.chinese().to_simplified(t);
                    if reasons[i].is_none() {
                        delta += s.len() as i64 - t.len() as i64;
                    }
                    converted.push(s);
                    orig[i] = Some("zh-Hant");
                } else {
                    converted.push((*t).to_string());
                }
            }
            // Removed rows keep their original text.
            let new_text: Vec<&str> = converted
                .iter()
                .zip(&texts)
                .zip(&reasons)
                .map(|((c, t), r)| if r.is_some() { *t } else { c.as_str() })
                .collect();
            stats.bytes_edit_delta += delta;
            batch = with_columns(
                &batch,
                &[Field::new(columns::TEXT, DataType::Utf8, false)],
                vec![Arc::new(StringArray::from(new_text))],
            )?;
            new_columns[0] = Arc::new(StringArray::from_iter_values(
                verdicts.iter().zip(&orig).map(|(v, o)| {
                    if o.is_some() {
                        "zh-Hans"
                    } else {
                        v.lang.as_str()
                    }
                }),
            ));
            new_columns.push(Arc::new(StringArray::from(orig)));
            stats.count(
                "converted_to_simplified",
                verdicts.iter().filter(|v| v.lang == "zh-Hant").count() as u64,
            );
        }
        let batch = with_columns(&batch, &self.new_fields(), new_columns)?;
        let reasons: Vec<Option<&str>> = reasons.iter().map(|r| r.as_deref()).collect();
        partition(&batch, &reasons)
    }
}

/// The `langid` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<LangIdSpec> for Kind {
    fn files(
        &self,
        spec: &LangIdSpec,
        job: &crate::job::LoadedJob,
    ) -> Vec<(String, std::path::PathBuf)> {
        vec![("model".into(), job.resolve(&spec.model))]
    }

    fn build(
        &self,
        spec: &LangIdSpec,
        job: &crate::job::LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<crate::registry::Built> {
        let stage = LangIdStage::new(spec, &job.resolve(&spec.model))?;
        Ok(crate::registry::Built::Map(Box::new(stage)))
    }
}
