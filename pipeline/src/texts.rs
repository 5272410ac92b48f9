//! Reading the text field of a JSONL file (plain, `.zst` or `.gz`) into memory, for
//! commands that train on examples (`taojin train-classifier`, `taojin train-lm`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::error::{PipelineError, Result};

/// A text file, plain or decompressed by its `.zst` / `.gz` suffix, as buffered lines.
pub fn open_lines(path: &Path) -> Result<Box<dyn BufRead>> {
    let f = File::open(path).map_err(PipelineError::io(path))?;
    let name = path.to_string_lossy();
    Ok(if name.ends_with(".zst") || name.ends_with(".zstd") {
        Box::new(BufReader::new(
            zstd::Decoder::new(f).map_err(PipelineError::io(path))?,
        ))
    } else if name.ends_with(".gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            BufReader::new(f),
        )))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, f))
    })
}

/// Calls `f` on the `field` string of each record of a JSONL file until it returns
/// false; a line that is not a JSON object with a string `field` is an error naming the
/// file and line.
pub fn for_each_text(path: &Path, field: &str, mut f: impl FnMut(&str) -> bool) -> Result<()> {
    for (i, line) in open_lines(path)?.lines().enumerate() {
        let line = line.map_err(PipelineError::io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |detail: String| PipelineError::BadRecord {
            file: path.display().to_string(),
            line: i as u64 + 1,
            detail,
        };
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| bad(format!("malformed JSON: {e}")))?;
        let text = v
            .get(field)
            .and_then(|t| t.as_str())
            .ok_or_else(|| bad(format!("no string field `{field}`")))?;
        if !f(text) {
            break;
        }
    }
    Ok(())
}

/// The `field` strings of up to `max` records of a JSONL file (see [`for_each_text`]).
pub fn read_texts(path: &Path, field: &str, max: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if max > 0 {
        for_each_text(path, field, |t| {
            out.push(t.to_string());
            out.len() < max
        })?;
    }
    Ok(out)
}

fn stage_parts(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut parts: Vec<_> = std::fs::read_dir(dir)
        .map_err(PipelineError::io(dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    Ok(parts)
}

/// Calls `take` with each kept text of part file `path` in order (only the text column
/// is read) until it returns false; returns false then.
fn part_texts(path: &Path, mut take: impl FnMut(&str) -> bool) -> Result<bool> {
    let file = File::open(path).map_err(PipelineError::io(path))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(PipelineError::parquet(path))?;
    let mask = parquet::arrow::ProjectionMask::columns(
        builder.parquet_schema(),
        [taojin_schemas::columns::TEXT],
    );
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(PipelineError::parquet(path))?;
    for batch in reader {
        for t in crate::batch::text_column(&batch?)?.iter().flatten() {
            if !take(t) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Kept documents of a finished stage folder up to about `max_bytes` of text in all, an
/// equal share from every part (so every source and task is in the sample), each part
/// read from its start: the same sample for the same folder.
pub fn stage_text_sample(dir: &Path, max_bytes: u64) -> Result<Vec<String>> {
    let parts = stage_parts(dir)?;
    let share = max_bytes / (parts.len() as u64).max(1);
    let mut out = Vec::new();
    for path in parts {
        let mut taken = 0u64;
        part_texts(&path, |t| {
            if taken >= share {
                return false;
            }
            taken += t.len() as u64;
            out.push(t.to_string());
            true
        })?;
    }
    Ok(out)
}

/// The text of up to `max` kept documents of a finished stage folder, in part order.
pub fn stage_texts(dir: &Path, max: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for path in stage_parts(dir)? {
        let more = part_texts(&path, |t| {
            if out.len() >= max {
                return false;
            }
            out.push(t.to_string());
            true
        })?;
        if !more {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// The sample takes an equal share of every part, from its start, and stops near
    /// the budget.
    #[test]
    fn the_sample_spreads_over_parts_within_the_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, true)]));
        for part in 0..4 {
            let texts: Vec<String> = (0..100)
                .map(|i| format!("p{part}-{i:03}-{}", "x".repeat(93)))
                .collect();
            let batch =
                RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(texts))])
                    .expect("batch");
            let file =
                File::create(dir.path().join(format!("part-{part:05}.parquet"))).expect("file");
            let mut w =
                parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).expect("writer");
            w.write(&batch).expect("write");
            w.close().expect("close");
        }
        // 100 bytes per text, 400 texts: a budget of 2,000 bytes is 500 per part.
        let sample = stage_text_sample(dir.path(), 2_000).expect("sample");
        assert_eq!(sample.len(), 4 * 5, "{sample:?}");
        for part in 0..4 {
            let from: Vec<&String> = sample
                .iter()
                .filter(|t| t.starts_with(&format!("p{part}-")))
                .collect();
            assert_eq!(from.len(), 5);
            assert!(from[0].starts_with(&format!("p{part}-000")));
        }
        assert_eq!(
            stage_text_sample(dir.path(), u64::MAX).expect("all").len(),
            400
        );
        assert_eq!(stage_text_sample(dir.path(), 2_000).expect("again"), sample);
        // By count: in part order, across a part boundary.
        let first = stage_texts(dir.path(), 150).expect("texts");
        assert_eq!(first.len(), 150);
        assert!(first[99].starts_with("p0-099") && first[100].starts_with("p1-000"));
        assert_eq!(stage_texts(dir.path(), 1000).expect("all").len(), 400);
    }
}
