//! `line_dedup`: lines found in more than `max_occurrences` documents are removed from
//! every document (CCNet / Yi style). Counting is exact per hash partition (the only
//! error is a 64-bit hash collision, about 10⁻⁸ for 10⁹ distinct lines); a document's
//! repeated lines count once for it, so the count is "documents containing the line".

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use taojin_dedup::lines::line_key;
use taojin_schemas::{LineDedupSpec, TaskStats, columns};

use super::spill::{partition_of, read_file, write_file};
use super::{GlobalCtx, GlobalStage};
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::Result;
use crate::stages::MapStage;

/// Reason for documents with no line left.
pub const REASON_EMPTY: &str = "line_dedup_empty";
const LINES_REMOVED: &str = "line_dedup.lines_removed";

/// The `line_dedup` stage.
pub struct LineDedupStage {
    spec: LineDedupSpec,
}

impl LineDedupStage {
    /// Builds the stage.
    pub fn new(spec: &LineDedupSpec) -> LineDedupStage {
        LineDedupStage { spec: spec.clone() }
    }

    fn doc_keys(&self, text: &str) -> Vec<u64> {
        let mut keys: Vec<u64> = text
            .lines()
            .filter_map(|l| line_key(l, self.spec.min_line_chars))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

impl GlobalStage for LineDedupStage {
    fn spill_bytes_per_doc(&self) -> u64 {
        8 * 40
    }

    fn memory_limit(&self) -> u64 {
        self.spec.memory_limit.bytes().max(1)
    }

    fn map(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()> {
        let mut writer = ctx.map_writer(task)?;
        ctx.for_each_batch(task, |batch| {
            let text = text_column(batch)?;
            let keyed: Vec<Vec<u64>> = (0..batch.num_rows())
                .into_par_iter()
                .map(|i| self.doc_keys(text.value(i)))
                .collect();
            for key in keyed.into_iter().flatten() {
                writer.write(
                    partition_of(u128::from(key), ctx.partitions),
                    &key.to_le_bytes(),
                )?;
            }
            Ok(())
        })?;
        writer.finish()
    }

    fn reduce(&self, ctx: &GlobalCtx<'_>) -> Result<Vec<(String, u64)>> {
        let max = self.spec.max_occurrences as usize;
        let results: Vec<Result<(u64, u64)>> = ctx.pool.install(|| {
            (0..ctx.partitions)
                .into_par_iter()
                .map(|p| {
                    let mut keys = Vec::new();
                    ctx.for_each_map_record(p, 8, |c| {
                        keys.push(u64::from_le_bytes([
                            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                        ]));
                        Ok(())
                    })?;
                    keys.sort_unstable();
                    let (mut frequent, mut distinct) = (Vec::new(), 0u64);
                    for run in keys.chunk_by(|a, b| a == b) {
                        distinct += 1;
                        if run.len() > max {
                            frequent.extend_from_slice(&run[0].to_le_bytes());
                        }
                    }
                    let n = frequent.len() as u64 / 8;
                    write_file(&ctx.work.join(format!("frequent-{p:05}.bin")), &frequent)?;
                    Ok((distinct, n))
                })
                .collect()
        });
        let (distinct, frequent) = super::sum_pairs(results)?;
        Ok(vec![
            ("distinct_lines".into(), distinct),
            ("frequent_lines".into(), frequent),
        ])
    }

    fn applier(&self, ctx: &GlobalCtx<'_>, _task: usize) -> Result<Box<dyn MapStage>> {
        let mut frequent = HashSet::new();
        for p in 0..ctx.partitions {
            let bytes = read_file(&ctx.work.join(format!("frequent-{p:05}.bin")))?;
            frequent.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
            );
        }
        Ok(Box::new(LineRemover {
            frequent: Arc::new(frequent),
            min_chars: self.spec.min_line_chars,
        }))
    }
}

struct LineRemover {
    frequent: Arc<HashSet<u64>>,
    min_chars: usize,
}

impl LineRemover {
    /// The text without frequent lines, and how many lines went.
    fn clean(&self, text: &str) -> (Option<String>, i32) {
        let mut removed = 0;
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            if line_key(line, self.min_chars).is_some_and(|k| self.frequent.contains(&k)) {
                removed += 1;
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
        }
        if removed == 0 {
            (None, 0)
        } else {
            (Some(out), removed)
        }
    }
}

fn field() -> Field {
    Field::new(LINES_REMOVED, DataType::Int32, true)
}

impl MapStage for LineRemover {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &[field()])
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let cleaned: Vec<(Option<String>, i32)> = (0..batch.num_rows())
            .into_par_iter()
            .map(|i| self.clean(text.value(i)))
            .collect();
        let mut reasons = Vec::with_capacity(cleaned.len());
        let mut texts: Vec<&str> = Vec::with_capacity(cleaned.len());
        for (i, (new, _)) in cleaned.iter().enumerate() {
            let old = text.value(i);
            match new {
                Some(t) if t.trim().is_empty() => {
                    reasons.push(Some(REASON_EMPTY));
                    texts.push(old);
                }
                Some(t) => {
                    stats.bytes_edit_delta += t.len() as i64 - old.len() as i64;
                    reasons.push(None);
                    texts.push(t);
                }
                None => {
                    reasons.push(None);
                    texts.push(old);
                }
            }
        }
        stats.count("lines_removed", cleaned.iter().map(|c| c.1 as u64).sum());
        let removed: ArrayRef = Arc::new(Int32Array::from_iter_values(cleaned.iter().map(|c| c.1)));
        let batch = with_columns(
            batch,
            &[Field::new(columns::TEXT, DataType::Utf8, false), field()],
            vec![Arc::new(StringArray::from(texts)), removed],
        )?;
        partition(&batch, &reasons)
    }
}

/// The `line_dedup` kind in the stage registry.
pub const KIND: crate::registry::GlobalKind<LineDedupSpec> =
    crate::registry::GlobalKind(|spec| Box::new(LineDedupStage::new(spec)));
