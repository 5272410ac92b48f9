//! Parquet inputs, read by row-group pieces.

use std::borrow::Cow;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::{Doc, InputFile, Piece, ReadContext, RecordSink};
use crate::error::{PipelineError, Result};

/// Rows and compressed bytes of each row group, for splitting a file into tasks.
pub fn row_group_sizes(file: &InputFile) -> Result<Vec<(u64, u64)>> {
    let meta = match file.open()? {
        super::Opened::Local(f) => SerializedFileReader::new(f)
            .map_err(PipelineError::parquet(&file.path))?
            .metadata()
            .clone(),
        super::Opened::S3(f) => SerializedFileReader::new(f)
            .map_err(PipelineError::parquet(&file.path))?
            .metadata()
            .clone(),
    };
    Ok(meta
        .row_groups()
        .iter()
        .map(|rg| {
            (
                rg.num_rows().max(0) as u64,
                rg.compressed_size().max(0) as u64,
            )
        })
        .collect())
}

/// Column `name` as UTF-8 strings. Integer columns are accepted (and written as decimal)
/// only where `integers` says so (ids), never for the text.
fn string_column(
    batch: &RecordBatch,
    name: &str,
    file: &InputFile,
    integers: bool,
) -> Result<Option<arrow::array::ArrayRef>> {
    let Some(col) = batch.column_by_name(name) else {
        return Ok(None);
    };
    let int = matches!(
        col.data_type(),
        DataType::Int32 | DataType::Int64 | DataType::UInt32 | DataType::UInt64
    );
    match col.data_type() {
        DataType::Utf8 => Ok(Some(col.clone())),
        DataType::LargeUtf8 | DataType::Utf8View => {
            Ok(Some(arrow::compute::cast(col, &DataType::Utf8)?))
        }
        _ if int && integers => Ok(Some(arrow::compute::cast(col, &DataType::Utf8)?)),
        other => Err(PipelineError::Config(format!(
            "{}: column `{name}` has type {other}, expected a string",
            file.path.display()
        ))),
    }
}

pub(super) fn read<R: parquet::file::reader::ChunkReader + 'static>(
    f: R,
    file: &InputFile,
    piece: &Piece,
    ctx: &ReadContext<'_>,
    sink: &mut dyn RecordSink,
) -> Result<()> {
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(PipelineError::parquet(&file.path))?
        .with_batch_size(ctx.batch_rows);
    let mut row = 0u64;
    if let Piece::RowGroups {
        start,
        end,
        first_row,
    } = piece
    {
        builder = builder.with_row_groups((*start..*end).collect());
        row = *first_row;
    }
    let spec = ctx.input;
    let reader = builder
        .build()
        .map_err(PipelineError::parquet(&file.path))?;
    for batch in reader {
        let batch = batch.map_err(|e| PipelineError::Corrupt {
            file: file.path.display().to_string(),
            line: row,
            detail: e.to_string(),
        })?;
        let html_col = match &spec.html_field {
            Some(f) => string_column(&batch, f, file, false)?,
            None => None,
        };
        let html_arr = html_col.as_ref().map(|c| c.as_string::<i32>());
        let text_col = string_column(&batch, &spec.text_field, file, false)?.or_else(|| {
            // With an `html_field`, the HTML is the document and `text` is optional.
            html_arr.map(|_| {
                std::sync::Arc::new(arrow::array::StringArray::from(vec![""; batch.num_rows()]))
                    as arrow::array::ArrayRef
            })
        });
        let Some(text) = text_col else {
            return Err(PipelineError::Config(format!(
                "{}: no text column `{}` (set inputs.text_field)",
                file.path.display(),
                spec.text_field
            )));
        };
        let text = text.as_string::<i32>();
        let id = string_column(&batch, &spec.id_field, file, true)?;
        let url = string_column(&batch, &spec.url_field, file, false)?;
        let others: Vec<usize> = batch
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                ![&spec.text_field, &spec.id_field, &spec.url_field].contains(&f.name())
                    && spec.html_field.as_ref() != Some(f.name())
            })
            .map(|(i, _)| i)
            .collect();
        let meta_json = if others.is_empty() {
            Vec::new()
        } else {
            let mut writer = arrow::json::LineDelimitedWriter::new(Vec::new());
            writer.write(&batch.project(&others)?)?;
            writer.finish()?;
            writer.into_inner()
        };
        let mut meta_lines = meta_json.split(|b| *b == b'\n');
        for i in 0..batch.num_rows() {
            row += 1;
            let meta = meta_lines
                .next()
                .and_then(|m| std::str::from_utf8(m).ok())
                .filter(|m| *m != "{}");
            let html = html_arr
                .filter(|a| a.is_valid(i))
                .map(|a| Cow::Borrowed(a.value(i).as_bytes()));
            if text.is_null(i) && html.is_none() {
                sink.bad(ctx.bad(
                    file,
                    row,
                    format!("text column `{}` is null", spec.text_field),
                    meta.unwrap_or("").as_bytes(),
                ))?;
                continue;
            }
            let t = if text.is_null(i) { "" } else { text.value(i) };
            let html_len = html.as_ref().map_or(0, |h| h.len());
            if (t.len().max(html_len)) as u64 > ctx.max_doc_bytes {
                let detail = format!(
                    "document text of {} bytes exceeds max_doc_bytes = {}",
                    t.len(),
                    ctx.max_doc_bytes
                );
                sink.bad(ctx.bad(file, row, detail, t.as_bytes()))?;
                continue;
            }
            let id = match id
                .as_ref()
                .map(|a| a.as_string::<i32>())
                .filter(|a| a.is_valid(i))
            {
                Some(a) => Cow::Borrowed(a.value(i)),
                None => Cow::Owned(ctx.derived_id(file, row)),
            };
            let url = url
                .as_ref()
                .map(|a| a.as_string::<i32>())
                .filter(|a| a.is_valid(i))
                .map(|a| Cow::Borrowed(a.value(i)));
            sink.doc(Doc {
                id,
                text: Cow::Borrowed(t),
                url,
                meta: meta.map(Cow::Borrowed),
                web: html.map(|h| super::WebDoc {
                    html: Some(h),
                    ..Default::default()
                }),
            })?;
        }
    }
    Ok(())
}
