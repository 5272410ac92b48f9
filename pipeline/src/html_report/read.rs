//! Projected reads of a table's sampled part files, for the report's aggregates that are
//! cheaper as one pass in Rust than as many small DataFusion queries (each query's
//! planning cost more than its scan: ~120 threshold queries took 0.3 s of a 0.4 s report).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::PathBuf;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::util::display::array_value_to_string;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::error::{PipelineError, Result};

/// Calls `each` with every batch of `files` read with only the `wanted` columns a file
/// has (the signal columns are a small part of a part file; the text is never read).
pub(super) fn scan(
    files: &[PathBuf],
    wanted: &BTreeSet<&str>,
    mut each: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    for path in files {
        let file = File::open(path).map_err(PipelineError::io(path))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(PipelineError::parquet(path))?;
        let roots: Vec<usize> = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| wanted.contains(f.name().as_str()))
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let reader = builder
            .with_projection(mask)
            .build()
            .map_err(PipelineError::parquet(path))?;
        for batch in reader {
            each(&batch?)?;
        }
    }
    Ok(())
}

/// Row `i` of `column` as a JSON value as the report's queries return it (numbers as
/// stored: an f32 signal shows as `0.3`, not its f64 widening).
pub(super) fn stored_value(column: &ArrayRef, i: usize) -> Result<Value> {
    let shown = array_value_to_string(column, i)?;
    Ok(serde_json::from_str(&shown).unwrap_or(Value::String(shown)))
}

/// Test part files: a folder of its own and a writer of one file's columns.
#[cfg(test)]
pub(super) mod testing {
    use std::path::{Path, PathBuf};

    use arrow::array::{ArrayRef, RecordBatch};

    /// An empty folder under the system temp folder, named for `test` and this process.
    pub(in super::super) fn folder(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("taojin-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes `columns` as one Parquet file at `path`, split in batches of 2 rows.
    pub(in super::super) fn write_part(path: &Path, columns: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        for at in (0..batch.num_rows()).step_by(2) {
            w.write(&batch.slice(at, 2.min(batch.num_rows() - at)))
                .unwrap();
        }
        w.close().unwrap();
    }
}
