//! Building Arrow batches of documents and of removed rows.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BinaryBuilder, BooleanArray, RecordBatch, StringArray, StringBuilder,
    new_null_array,
};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use taojin_schemas::{columns, document_schema, read_schema, removed_schema};

use crate::error::{PipelineError, Result};
use crate::ingest::{BadRecord, Doc};

/// Batches are cut at this many text bytes even below `batch_rows`, keeping memory per
/// task bounded and Arrow's 32-bit string offsets safe.
pub const MAX_BATCH_TEXT_BYTES: usize = 64 << 20;

/// Accumulates documents into a batch of the base document schema.
pub struct DocBatchBuilder {
    id: StringBuilder,
    text: StringBuilder,
    source: StringBuilder,
    url: StringBuilder,
    meta: StringBuilder,
    web: Option<WebBuilders>,
    rows: usize,
    text_bytes: usize,
    max_rows: usize,
}

/// Builders of the web columns (`taojin_schemas::web_fields`, in that order).
#[derive(Default)]
struct WebBuilders {
    html: BinaryBuilder,
    date: StringBuilder,
    filename: StringBuilder,
    offset: arrow::array::UInt64Builder,
    content_type: StringBuilder,
}

impl DocBatchBuilder {
    /// An empty builder that reports full at `max_rows` rows; with `web`, it also
    /// builds the web columns.
    pub fn new(max_rows: usize, web: bool) -> Self {
        DocBatchBuilder {
            id: StringBuilder::new(),
            text: StringBuilder::new(),
            source: StringBuilder::new(),
            url: StringBuilder::new(),
            meta: StringBuilder::new(),
            web: web.then(WebBuilders::default),
            rows: 0,
            text_bytes: 0,
            max_rows,
        }
    }

    /// Appends one document of input `source`.
    pub fn push(&mut self, doc: &Doc<'_>, source: &str) {
        self.id.append_value(&doc.id);
        self.text.append_value(&doc.text);
        self.source.append_value(source);
        self.url.append_option(doc.url.as_deref());
        self.meta.append_option(doc.meta.as_deref());
        self.rows += 1;
        self.text_bytes += doc.text.len();
        if let Some(w) = self.web.as_mut() {
            let d = doc.web.as_ref();
            let html = d.and_then(|d| d.html.as_deref());
            w.html.append_option(html);
            self.text_bytes += html.map_or(0, <[u8]>::len);
            w.date.append_option(d.and_then(|d| d.date.as_deref()));
            w.filename
                .append_option(d.and_then(|d| d.filename.as_deref()));
            w.offset.append_option(d.and_then(|d| d.offset));
            w.content_type
                .append_option(d.and_then(|d| d.content_type.as_deref()));
        }
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no rows are buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// True when the batch should be flushed.
    pub fn is_full(&self) -> bool {
        self.rows >= self.max_rows || self.text_bytes >= MAX_BATCH_TEXT_BYTES
    }

    /// Takes the buffered rows as a batch and starts over.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        // The next batch's text gets this one's size up front: no copies as it grows.
        let next = StringBuilder::with_capacity(self.rows, self.text_bytes + self.text_bytes / 8);
        self.rows = 0;
        self.text_bytes = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(std::mem::replace(&mut self.text, next).finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.url.finish()),
            Arc::new(self.meta.finish()),
        ];
        let Some(w) = self.web.as_mut() else {
            return Ok(RecordBatch::try_new(document_schema(), columns)?);
        };
        let mut columns = columns;
        columns.push(Arc::new(w.html.finish()));
        columns.push(Arc::new(w.date.finish()));
        columns.push(Arc::new(w.filename.finish()));
        columns.push(Arc::new(w.offset.finish()));
        columns.push(Arc::new(w.content_type.finish()));
        Ok(RecordBatch::try_new(read_schema(true), columns)?)
    }
}

/// Builds removed rows for records that could not be read, in a stage's removed schema:
/// id, lossy text, source, reason `bad_record`, detail and raw bytes; other columns null.
pub fn bad_records_batch(
    removed: &SchemaRef,
    source: &str,
    bad: &[BadRecord],
) -> Result<RecordBatch> {
    let n = bad.len();
    let mut columns = Vec::with_capacity(removed.fields().len());
    for field in removed.fields() {
        let col: ArrayRef = match field.name().as_str() {
            columns::ID => Arc::new(StringArray::from_iter_values(
                bad.iter().map(|b| b.id.as_str()),
            )),
            columns::TEXT => Arc::new(StringArray::from_iter_values(
                bad.iter().map(|b| String::from_utf8_lossy(&b.raw)),
            )),
            columns::SOURCE => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                source, n,
            ))),
            columns::REASON => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                REASON_BAD_RECORD,
                n,
            ))),
            columns::DETAIL => Arc::new(StringArray::from_iter_values(
                bad.iter()
                    .map(|b| crate::error::located(&b.file, b.line, &b.detail)),
            )),
            columns::RAW => {
                let mut raw = BinaryBuilder::new();
                for b in bad {
                    raw.append_value(&b.raw);
                }
                Arc::new(raw.finish())
            }
            _ if field.is_nullable() => new_null_array(field.data_type(), n),
            other => {
                return Err(PipelineError::Internal(format!(
                    "removed schema column `{other}` is not nullable"
                )));
            }
        };
        columns.push(col);
    }
    Ok(RecordBatch::try_new(removed.clone(), columns)?)
}

/// Reason of records that could not be read.
pub const REASON_BAD_RECORD: &str = "bad_record";

/// The result of a stage on one batch.
pub struct Processed {
    /// Rows kept, in the stage's output schema.
    pub kept: RecordBatch,
    /// Rows removed, in the stage's removed schema; `None` when none were.
    pub removed: Option<RecordBatch>,
}

/// Splits `batch` into kept rows (where `reasons[i]` is `None`) and removed rows (with
/// their reason), both already in the stage's output schema. Removed rows get empty
/// `detail` and `raw`.
pub fn partition(batch: &RecordBatch, reasons: &[Option<&str>]) -> Result<Processed> {
    if reasons.iter().all(Option::is_none) {
        return Ok(Processed {
            kept: batch.clone(),
            removed: None,
        });
    }
    let keep = BooleanArray::from_iter(reasons.iter().map(|r| Some(r.is_none())));
    let kept = filter_record_batch(batch, &keep)?;
    let drop = arrow::compute::not(&keep)?;
    let removed_rows = filter_record_batch(batch, &drop)?;
    let n = removed_rows.num_rows();
    let schema = removed_schema(&batch.schema());
    let mut cols = removed_rows.columns().to_vec();
    cols.push(Arc::new(StringArray::from_iter_values(
        reasons.iter().flatten(),
    )));
    cols.push(new_null_array(&arrow::datatypes::DataType::Utf8, n));
    cols.push(new_null_array(&arrow::datatypes::DataType::Binary, n));
    Ok(Processed {
        kept,
        removed: Some(RecordBatch::try_new(schema, cols)?),
    })
}

/// Total UTF-8 bytes of the `text` column.
pub fn text_bytes(batch: &RecordBatch) -> Result<u64> {
    let text = text_column(batch)?;
    let offsets = text.value_offsets();
    Ok((offsets[offsets.len() - 1] - offsets[0]) as u64)
}

/// Column `name` of `batch` if it is there as Utf8 strings.
pub fn utf8_column<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
}

/// The `text` column of a document batch.
pub fn text_column(batch: &RecordBatch) -> Result<&StringArray> {
    utf8_column(batch, columns::TEXT)
        .ok_or_else(|| PipelineError::Internal("batch has no Utf8 `text` column".into()))
}

/// The `id` column of a document batch.
pub fn id_column(batch: &RecordBatch) -> Result<&StringArray> {
    utf8_column(batch, columns::ID)
        .ok_or_else(|| PipelineError::Internal("batch has no Utf8 `id` column".into()))
}

/// `schema` with `fields` appended, or replacing the fields of the same name (a stage run
/// twice rewrites its columns instead of duplicating them).
pub fn with_fields(schema: &SchemaRef, fields: &[Field]) -> SchemaRef {
    let mut out: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for f in fields {
        match out.iter().position(|o| o.name() == f.name()) {
            Some(i) => out[i] = f.clone(),
            None => out.push(f.clone()),
        }
    }
    Arc::new(Schema::new(out))
}

/// `batch` with `arrays` as the columns `fields` (appended or replacing same-named ones).
pub fn with_columns(
    batch: &RecordBatch,
    fields: &[Field],
    arrays: Vec<ArrayRef>,
) -> Result<RecordBatch> {
    let schema = with_fields(&batch.schema(), fields);
    let mut cols = batch.columns().to_vec();
    for (f, a) in fields.iter().zip(arrays) {
        match batch.schema().index_of(f.name()) {
            Ok(i) => cols[i] = a,
            Err(_) => cols.push(a),
        }
    }
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// Replaces the column `name` of `batch` with `array`.
pub fn replace_column(batch: &RecordBatch, name: &str, array: ArrayRef) -> Result<RecordBatch> {
    let index = batch.schema().index_of(name)?;
    let mut cols = batch.columns().to_vec();
    cols[index] = array;
    Ok(RecordBatch::try_new(batch.schema(), cols)?)
}
