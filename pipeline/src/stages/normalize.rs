//! The `normalize` stage: [`Normalizer`] over the text column; empty results are removed
//! with reason `empty`.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringBuilder};
use taojin_filters::Normalizer;
use taojin_schemas::{NormalizeSpec, TaskStats, columns};

use super::MapStage;
use crate::batch::{Processed, partition, replace_column, text_column};
use crate::error::Result;

/// Reason for documents with no text left after normalization.
pub const REASON_EMPTY: &str = "empty";

pub(super) struct NormalizeStage {
    normalizer: Normalizer,
}

impl NormalizeStage {
    pub(super) fn new(spec: &NormalizeSpec) -> Self {
        NormalizeStage {
            normalizer: Normalizer::new(spec),
        }
    }
}

impl MapStage for NormalizeStage {
    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let mut reasons = Vec::with_capacity(text.len());
        let mut changed = 0u64;
        let mut out: Option<StringBuilder> = None;
        for (i, t) in text.iter().enumerate() {
            let t = t.unwrap_or("");
            let normalized = self.normalizer.normalize(t);
            let empty = normalized.is_empty();
            reasons.push(empty.then_some(REASON_EMPTY));
            if let Cow::Owned(_) = normalized {
                if out.is_none() {
                    // First change in this batch: copy the rows before it unchanged.
                    let mut b = StringBuilder::with_capacity(text.len(), text.value_data().len());
                    for j in 0..i {
                        b.append_value(text.value(j));
                    }
                    out = Some(b);
                }
                if !empty {
                    changed += 1;
                    stats.bytes_edit_delta += normalized.len() as i64 - t.len() as i64;
                }
            }
            if let Some(b) = out.as_mut() {
                // Removed rows keep their original text in `removed/`.
                b.append_value(if empty { t } else { &normalized });
            }
        }
        stats.count("docs_changed", changed);
        let batch = match out {
            Some(mut b) => replace_column(batch, columns::TEXT, Arc::new(b.finish()))?,
            None => batch.clone(),
        };
        partition(&batch, &reasons)
    }
}

/// The `normalize` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<NormalizeSpec> for Kind {
    fn build(
        &self,
        spec: &NormalizeSpec,
        _job: &crate::job::LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<crate::registry::Built> {
        Ok(crate::registry::Built::Map(Box::new(NormalizeStage::new(
            spec,
        ))))
    }
}
