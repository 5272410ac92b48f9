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

/// The text of up to `max` kept documents of a finished stage folder, in part order.
pub fn stage_texts(dir: &Path, max: usize) -> Result<Vec<String>> {
    let mut parts: Vec<_> = std::fs::read_dir(dir)
        .map_err(PipelineError::io(dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    let mut out = Vec::new();
    for path in parts {
        let file = File::open(&path).map_err(PipelineError::io(&path))?;
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(PipelineError::parquet(&path))?
            .build()
            .map_err(PipelineError::parquet(&path))?;
        for batch in reader {
            let batch = batch?;
            let text = crate::batch::text_column(&batch)?;
            out.extend(text.iter().flatten().map(str::to_string));
            if out.len() >= max {
                out.truncate(max);
                return Ok(out);
            }
        }
    }
    Ok(out)
}
