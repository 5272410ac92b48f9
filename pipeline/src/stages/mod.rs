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

    /// The stage as a per-document text edit, when that is all it does (see
    /// [`TextEdit`]); `process` must then give what [`TextEdit::edit`] gives row by row.
    fn text_edit(&self) -> Option<&dyn TextEdit> {
        None
    }
}

/// A stage whose whole work on a document is an edit of its text decided by the text
/// alone (`normalize`). As a job's first stage it runs inside the reader: each document
/// is edited as it is decoded, while its text is still in cache, not in a second pass
/// over the finished batch (and a batch with one edited row is not copied whole).
pub trait TextEdit: Send + Sync {
    /// What becomes of one document's text.
    fn edit(&self, text: &str) -> Edit;
}

/// What a [`TextEdit`] does to one text.
#[derive(Debug, PartialEq)]
pub enum Edit {
    /// Kept as it is.
    Same,
    /// Kept with this text.
    Changed(String),
    /// Removed for this reason; `removed/` keeps the text as it came.
    Removed(&'static str),
}

/// The edits of one batch, counted as every text-editing stage reports them.
#[derive(Debug, Default)]
pub struct EditTally {
    /// Texts changed and kept.
    pub changed: u64,
    /// Bytes added by the changes (negative: removed).
    pub delta: i64,
}

impl EditTally {
    /// Counts `edit` of a text of `old_len` bytes.
    pub fn add(&mut self, old_len: usize, edit: &Edit) {
        if let Edit::Changed(new) = edit {
            self.changed += 1;
            self.delta += new.len() as i64 - old_len as i64;
        }
    }

    /// Adds the tally to a task's stats: the `docs_changed` counter and the edit delta.
    pub fn add_to(self, stats: &mut TaskStats) {
        stats.count("docs_changed", self.changed);
        stats.bytes_edit_delta += self.delta;
    }
}
