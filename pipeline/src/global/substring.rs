//! `substring_dedup`: spans of at least `min_tokens` units that occur earlier in the job
//! (in document order, then position) are cut out of every later document — Lee et al.'s
//! ExactSubstr, with 128-bit window keys instead of a suffix array (`taojin_dedup::substring`
//! says why that is exact). Map: every window's key, spilled by key. Reduce: per key
//! partition, every occurrence after the first is a cut window, routed to its task; per task
//! the windows merge into unit ranges. Apply: the ranges are cut from the text.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use taojin_dedup::substring::{Unit, cut, merge_windows, units, window_keys};
use taojin_schemas::{SubstringDedupSpec, TaskStats, columns};

use super::spill::{PartitionedWriter, damaged, partition_of, read_file, write_file};
use super::{GlobalCtx, GlobalStage, RowCursor};
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};
use crate::stages::MapStage;

/// Reason for documents left too short by their cuts.
pub const REASON_SHORT: &str = "substring_dup_short";
const BYTES_REMOVED: &str = "substring_dedup.bytes_removed";
const SPANS: &str = "substring_dedup.spans";

/// A window record: `[key u128][doc u32][position u32]`.
const WINDOW: usize = 24;

/// The `substring_dedup` stage.
pub struct SubstringStage {
    spec: SubstringDedupSpec,
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    super::spill::u32_at(b, at, "a substring_dedup spill file")
}

impl GlobalStage for SubstringStage {
    fn spill_bytes_per_doc(&self) -> u64 {
        // A typical document of ~600 units.
        WINDOW as u64 * 600
    }

    fn memory_limit(&self) -> u64 {
        self.spec.memory_limit.bytes().max(1)
    }

    fn describe(&self) -> Option<String> {
        Some(format!(
            "spans of {} units (words, or Han characters) repeated earlier are cut",
            self.spec.min_tokens
        ))
    }

    fn map(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()> {
        let mut writer = ctx.map_writer(task)?;
        let k = self.spec.min_tokens;
        let mut doc = ctx.offsets[task];
        ctx.for_each_batch(task, |batch| {
            let text = text_column(batch)?;
            let keyed: Vec<Vec<u128>> = (0..batch.num_rows())
                .into_par_iter()
                .map(|i| {
                    let (mut u, mut keys) = (Vec::new(), Vec::new());
                    units(text.value(i), &mut u);
                    window_keys(&u, k, &mut keys);
                    keys
                })
                .collect();
            for keys in keyed {
                let d = u32::try_from(doc).map_err(|_| {
                    PipelineError::Config(
                        "more than 4,294,967,295 documents in one dedup stage".into(),
                    )
                })?;
                for (pos, key) in keys.into_iter().enumerate() {
                    let mut r = [0u8; WINDOW];
                    r[..16].copy_from_slice(&key.to_le_bytes());
                    r[16..20].copy_from_slice(&d.to_le_bytes());
                    r[20..].copy_from_slice(&(pos as u32).to_le_bytes());
                    writer.write(partition_of(key, ctx.partitions), &r)?;
                }
                doc += 1;
            }
            Ok(())
        })?;
        writer.finish()
    }

    fn reduce(&self, ctx: &GlobalCtx<'_>) -> Result<Vec<(String, u64)>> {
        let tasks = ctx.tasks();
        // 1. Per key partition: occurrences after the first → (doc, position), by task.
        let results: Vec<Result<(u64, u64)>> = ctx.pool.install(|| {
            (0..ctx.partitions)
                .into_par_iter()
                .map(|p| {
                    let mut records: Vec<(u128, u32, u32)> = Vec::new();
                    ctx.for_each_map_record(p, WINDOW, |r| {
                        let mut key = [0u8; 16];
                        key.copy_from_slice(&r[..16]);
                        records.push((u128::from_le_bytes(key), u32_at(r, 16)?, u32_at(r, 20)?));
                        Ok(())
                    })?;
                    records.sort_unstable();
                    let mut out = PartitionedWriter::create(
                        &ctx.work.join(format!("cuts-{p:05}")),
                        "t",
                        tasks,
                    )?;
                    let (mut repeated, mut cut_windows) = (0u64, 0u64);
                    for run in records.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
                        repeated += 1;
                        for &(_, doc, pos) in &run[1..] {
                            cut_windows += 1;
                            let (task, row) = ctx.locate(u64::from(doc));
                            let mut r = [0u8; 8];
                            r[..4].copy_from_slice(&(row as u32).to_le_bytes());
                            r[4..].copy_from_slice(&pos.to_le_bytes());
                            out.write(task, &r)?;
                        }
                    }
                    out.finish()?;
                    Ok((repeated, cut_windows))
                })
                .collect()
        });
        let (repeated, cut_windows) = super::sum_pairs(results)?;
        // 2. Per task: the cut windows merged into unit ranges, `[row][from][to]`.
        let k = self.spec.min_tokens as u32;
        let merged: Vec<Result<u64>> = ctx.pool.install(|| {
            (0..tasks)
                .into_par_iter()
                .map(|t| {
                    let mut by_row: HashMap<u32, Vec<u32>> = HashMap::new();
                    for p in 0..ctx.partitions {
                        let bytes = read_file(&ctx.work.join(format!("cuts-{p:05}/t-{t:05}.bin")))?;
                        for r in bytes.chunks_exact(8) {
                            by_row.entry(u32_at(r, 0)?).or_default().push(u32_at(r, 4)?);
                        }
                    }
                    let mut rows: Vec<u32> = by_row.keys().copied().collect();
                    rows.sort_unstable();
                    let (mut out, mut spans) = (Vec::new(), 0u64);
                    for row in rows {
                        let mut starts = by_row.remove(&row).unwrap_or_default();
                        for (from, to) in merge_windows(&mut starts, k) {
                            spans += 1;
                            for v in [row, from, to] {
                                out.extend_from_slice(&v.to_le_bytes());
                            }
                        }
                    }
                    write_file(&ctx.work.join(format!("ranges-{t:05}.bin")), &out)?;
                    Ok(spans)
                })
                .collect()
        });
        let spans = merged.into_iter().sum::<Result<u64>>()?;
        Ok(vec![
            ("repeated_windows".into(), repeated),
            ("cut_windows".into(), cut_windows),
            ("spans".into(), spans),
        ])
    }

    fn applier(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<Box<dyn MapStage>> {
        let bytes = read_file(&ctx.work.join(format!("ranges-{task:05}.bin")))?;
        let mut rows: Vec<Vec<(u32, u32)>> = vec![Vec::new(); ctx.rows[task] as usize];
        for r in bytes.chunks_exact(12) {
            let row = u32_at(r, 0)? as usize;
            rows.get_mut(row)
                .ok_or_else(|| damaged("a substring_dedup range file"))?
                .push((u32_at(r, 4)?, u32_at(r, 8)?));
        }
        Ok(Box::new(SpanCutter {
            ranges: RowCursor::new(rows),
            min_left: self.spec.min_tokens_left,
        }))
    }
}

/// Cuts each row's ranges from its text, in task row order.
struct SpanCutter {
    ranges: RowCursor<Vec<(u32, u32)>>,
    min_left: usize,
}

/// One row after its cuts: the new text (if any cut), bytes removed, spans, too short.
type Cut = (Option<String>, u32, u32, bool);

fn fields() -> [Field; 2] {
    [
        Field::new(BYTES_REMOVED, DataType::UInt32, true),
        Field::new(SPANS, DataType::UInt32, true),
    ]
}

impl SpanCutter {
    fn cut_row(&self, text: &str, ranges: &[(u32, u32)]) -> Cut {
        if ranges.is_empty() {
            return (None, 0, 0, false);
        }
        let mut u: Vec<Unit> = Vec::new();
        units(text, &mut u);
        let gone: usize = ranges.iter().map(|(a, b)| (b - a) as usize).sum();
        let (new, removed) = cut(text, &u, ranges);
        let short = u.len().saturating_sub(gone) < self.min_left;
        (Some(new), removed as u32, ranges.len() as u32, short)
    }
}

impl MapStage for SpanCutter {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &fields())
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let ranges = self.ranges.take(batch.num_rows())?;
        let cuts: Vec<Cut> = (0..batch.num_rows())
            .into_par_iter()
            .map(|i| self.cut_row(text.value(i), &ranges[i]))
            .collect();
        let (mut reasons, mut texts) = (
            Vec::with_capacity(cuts.len()),
            Vec::with_capacity(cuts.len()),
        );
        for (i, (new, _, _, short)) in cuts.iter().enumerate() {
            let old = text.value(i);
            match new {
                Some(_) if *short => {
                    reasons.push(Some(REASON_SHORT));
                    texts.push(old);
                }
                Some(t) => {
                    stats.bytes_edit_delta += t.len() as i64 - old.len() as i64;
                    reasons.push(None);
                    texts.push(t.as_str());
                }
                None => {
                    reasons.push(None);
                    texts.push(old);
                }
            }
        }
        stats.count("docs_cut", cuts.iter().filter(|c| c.2 > 0).count() as u64);
        stats.count("spans_cut", cuts.iter().map(|c| u64::from(c.2)).sum());
        let removed: ArrayRef = Arc::new(UInt32Array::from_iter_values(cuts.iter().map(|c| c.1)));
        let spans: ArrayRef = Arc::new(UInt32Array::from_iter_values(cuts.iter().map(|c| c.2)));
        let [f1, f2] = fields();
        let batch = with_columns(
            batch,
            &[Field::new(columns::TEXT, DataType::Utf8, false), f1, f2],
            vec![Arc::new(StringArray::from(texts)), removed, spans],
        )?;
        partition(&batch, &reasons)
    }
}

/// The `substring_dedup` kind in the stage registry.
pub const KIND: crate::registry::GlobalKind<SubstringDedupSpec> =
    crate::registry::GlobalKind(|spec| Box::new(SubstringStage { spec: spec.clone() }));
