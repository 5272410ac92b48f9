//! The `normalize` stage: [`Normalizer`] over the text column; empty results are removed
//! with reason `empty`. A per-document [`TextEdit`], so as a job's first stage it runs
//! inside the reader.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringBuilder};
use taojin_filters::Normalizer;
use taojin_schemas::{NormalizeSpec, TaskStats, columns};

use super::{Edit, EditTally, MapStage, TextEdit};
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

impl TextEdit for NormalizeStage {
    fn edit(&self, text: &str) -> Edit {
        match self.normalizer.normalize(text) {
            t if t.is_empty() => Edit::Removed(REASON_EMPTY),
            Cow::Borrowed(_) => Edit::Same,
            Cow::Owned(t) => Edit::Changed(t),
        }
    }
}

impl MapStage for NormalizeStage {
    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let mut reasons = Vec::with_capacity(text.len());
        let mut tally = EditTally::default();
        let mut out: Option<StringBuilder> = None;
        for (i, t) in text.iter().enumerate() {
            let t = t.unwrap_or("");
            let edit = self.edit(t);
            tally.add(t.len(), &edit);
            if matches!(edit, Edit::Changed(_)) && out.is_none() {
                // First change in this batch: copy the rows before it unchanged.
                let mut b = StringBuilder::with_capacity(text.len(), text.value_data().len());
                for j in 0..i {
                    b.append_value(text.value(j));
                }
                out = Some(b);
            }
            if let Some(b) = out.as_mut() {
                // Removed rows keep their original text in `removed/`.
                b.append_value(match &edit {
                    Edit::Changed(new) => new,
                    _ => t,
                });
            }
            reasons.push(match edit {
                Edit::Removed(reason) => Some(reason),
                _ => None,
            });
        }
        tally.add_to(stats);
        let batch = match out {
            Some(mut b) => replace_column(batch, columns::TEXT, Arc::new(b.finish()))?,
            None => batch.clone(),
        };
        partition(&batch, &reasons)
    }

    fn text_edit(&self) -> Option<&dyn TextEdit> {
        Some(self)
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
