//! The `quality` stage: [`QualityJudge`] over each document with its language, writing
//! every signal column, the cleaned (line-cleaned, PII-replaced) text, and in `drop` mode
//! removing documents with the reason of the first rule they fail.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float32Array, Int32Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use taojin_filters::quality::{BlocklistTexts, QualityJudge, SignalKind, SignalValue};
use taojin_schemas::{QualitySpec, StageMode, TaskStats, Threshold, columns};

use super::MapStage;
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};
use crate::job::LoadedJob;

pub(super) struct QualityStage {
    judge: QualityJudge,
    drop: bool,
    fields: Vec<Field>,
    thresholds: Vec<Threshold>,
}

impl QualityStage {
    pub(super) fn new(spec: &QualitySpec, job: &LoadedJob) -> Result<Self> {
        let read = |p: &Option<String>| -> Result<Option<String>> {
            p.as_ref()
                .map(|p| {
                    let path = job.resolve(p);
                    std::fs::read_to_string(&path).map_err(PipelineError::io(&path))
                })
                .transpose()
        };
        let b = &spec.blocklists;
        let lists = BlocklistTexts {
            url: read(&b.url_blocklist)?,
            words_en: read(&b.words_en)?,
            words_zh: read(&b.words_zh)?,
        };
        let judge =
            QualityJudge::new(spec, &lists).map_err(|e| PipelineError::Config(e.to_string()))?;
        let fields = judge
            .signal_defs()
            .iter()
            .map(|d| {
                let t = match d.kind {
                    SignalKind::F32 => DataType::Float32,
                    SignalKind::I32 => DataType::Int32,
                    SignalKind::Bool => DataType::Boolean,
                };
                Field::new(d.name, t, true)
            })
            .collect();
        let thresholds = judge
            .thresholds()
            .into_iter()
            .map(|t| Threshold {
                reason: t.reason.into(),
                column: t.column.into(),
                op: t.op.as_str().into(),
                limit: t.limit,
                lang: t.lang.into(),
            })
            .collect();
        Ok(QualityStage {
            judge,
            drop: spec.mode == StageMode::Drop,
            fields,
            thresholds,
        })
    }
}

fn signal_array(kind: SignalKind, values: impl Iterator<Item = SignalValue>) -> ArrayRef {
    match kind {
        SignalKind::F32 => Arc::new(Float32Array::from_iter(values.map(|v| match v {
            SignalValue::F32(x) => Some(x),
            SignalValue::I32(x) => Some(x as f32),
            _ => None,
        }))),
        SignalKind::I32 => Arc::new(Int32Array::from_iter(values.map(|v| match v {
            SignalValue::I32(x) => Some(x),
            _ => None,
        }))),
        SignalKind::Bool => Arc::new(BooleanArray::from_iter(values.map(|v| match v {
            SignalValue::Bool(x) => Some(x),
            _ => None,
        }))),
    }
}

impl MapStage for QualityStage {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &self.fields)
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        if stats.thresholds.is_empty() {
            stats.thresholds.clone_from(&self.thresholds);
        }
        let text = text_column(batch)?;
        let lang = batch
            .column_by_name(columns::LANG)
            .and_then(|c| c.as_string_opt::<i32>());
        let url = batch
            .column_by_name(columns::URL)
            .and_then(|c| c.as_string_opt::<i32>());
        let outcomes: Vec<_> = (0..batch.num_rows())
            .into_par_iter()
            .map(|i| {
                let l = lang.filter(|l| l.is_valid(i)).map_or("und", |l| l.value(i));
                let u = url.filter(|u| u.is_valid(i)).map(|u| u.value(i));
                self.judge.judge(text.value(i), l, u)
            })
            .collect();
        let mut reasons = Vec::with_capacity(outcomes.len());
        let mut texts: Vec<&str> = Vec::with_capacity(outcomes.len());
        let mut changed = 0u64;
        for (i, o) in outcomes.iter().enumerate() {
            let reason = if self.drop { o.reject } else { None };
            reasons.push(reason);
            match (&o.text, reason) {
                (Cow::Owned(t), None) => {
                    stats.bytes_edit_delta += t.len() as i64 - text.value(i).len() as i64;
                    changed += 1;
                    texts.push(t);
                }
                _ => texts.push(text.value(i)),
            }
            if let Some(r) = o.reject {
                stats.count(&format!("fails.{r}"), 1);
            }
        }
        stats.count("docs_changed", changed);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.fields.len() + 1);
        arrays.push(Arc::new(StringArray::from(texts)));
        for (k, def) in self.judge.signal_defs().iter().enumerate() {
            arrays.push(signal_array(
                def.kind,
                outcomes
                    .iter()
                    .map(|o| o.signals.get(k).map_or(SignalValue::Null, |s| s.1)),
            ));
        }
        let mut fields = vec![Field::new(columns::TEXT, DataType::Utf8, false)];
        fields.extend(self.fields.iter().cloned());
        let batch = with_columns(batch, &fields, arrays)?;
        partition(&batch, &reasons)
    }
}

/// The `quality` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<Box<QualitySpec>> for Kind {
    fn files(&self, spec: &Box<QualitySpec>, job: &LoadedJob) -> Vec<(String, std::path::PathBuf)> {
        let b = &spec.blocklists;
        [
            ("blocklists.url_blocklist", &b.url_blocklist),
            ("blocklists.words_en", &b.words_en),
            ("blocklists.words_zh", &b.words_zh),
        ]
        .into_iter()
        .filter_map(|(k, p)| p.as_ref().map(|p| (k.to_string(), job.resolve(p))))
        .collect()
    }

    fn builtin(&self, spec: &Box<QualitySpec>) -> Vec<(String, &'static str)> {
        use taojin_filters::quality::blocklist::{
            DEFAULT_URL_BLOCKLIST, DEFAULT_WORDS_EN, DEFAULT_WORDS_ZH,
        };
        let b = &spec.blocklists;
        [
            (
                "blocklists.url_blocklist",
                &b.url_blocklist,
                DEFAULT_URL_BLOCKLIST,
            ),
            ("blocklists.words_en", &b.words_en, DEFAULT_WORDS_EN),
            ("blocklists.words_zh", &b.words_zh, DEFAULT_WORDS_ZH),
        ]
        .into_iter()
        .filter(|(_, p, _)| p.is_none())
        .map(|(k, _, text)| (k.to_string(), text))
        .collect()
    }

    fn build(
        &self,
        spec: &Box<QualitySpec>,
        job: &LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<crate::registry::Built> {
        Ok(crate::registry::Built::Map(Box::new(QualityStage::new(
            spec, job,
        )?)))
    }
}
