//! Duplicate ids across a job. Dedup survivors, cluster ids and `explain` all name
//! documents by id, so the engine makes ids unique right after the first stage:
//!
//! 1. each task of the first stage writes the 128-bit hash of every kept document's id,
//!    sorted, to `<stage>/_work/ids-NNNNN.bin` (20 bytes a document);
//! 2. the `<stage>:ids` step merges those files (k-way, one small buffer per task, so
//!    memory does not grow with the job) and, under `on_duplicate_id = "suffix"`, writes
//!    `_work/id-renames-NNNNN.bin` for the tasks whose rows repeat an id seen earlier in
//!    (task, row) order; `keep` only counts, `fail` stops naming the id;
//! 3. every reader of the first stage's parts (the second stage's tasks, a global
//!    stage's map phase) applies the renames: the k-th occurrence becomes `ID#k`, with k
//!    the next number from 2 that no id of the job already takes: each task also writes
//!    `_work/ids-suffixed-NNNNN.bin`, the hash of `BASE` and the `k` of every id of the
//!    form `BASE#k`, sorted, which the merge reads beside the ids (an input holding `a`,
//!    `a` and `a#2` gives `a`, `a#3`, `a#2`).
//!
//! The first stage's own part files keep the ids as read.

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use taojin_schemas::{DuplicateIdPolicy, columns};
use xxhash_rust::xxh3::xxh3_128;

use crate::engine::stage_dir::StageDir;
use crate::error::{PipelineError, Result};
use crate::global::spill::damaged;

/// The job's first stage when stage `index` reads it (the one stage whose input carries
/// renames), else `None`.
pub fn first_stage_input(plan: &crate::plan::Plan, index: usize) -> Option<StageDir> {
    (index == 1).then(|| StageDir::new(&plan.output, &plan.stages[0]))
}

/// Bytes of one id record: the id's hash, its row in the task's part file.
const RECORD: usize = 20;

fn ids_file(dir: &StageDir, task: usize) -> PathBuf {
    dir.work().join(format!("ids-{task:05}.bin"))
}

fn suffixed_file(dir: &StageDir, task: usize) -> PathBuf {
    dir.work().join(format!("ids-suffixed-{task:05}.bin"))
}

fn renames_file(dir: &StageDir, task: usize) -> PathBuf {
    dir.work().join(format!("id-renames-{task:05}.bin"))
}

/// The id hashes of one first-stage task, in the order its rows are kept.
#[derive(Debug, Default)]
pub struct IdCollector {
    rows: u32,
    records: Vec<(u128, u32)>,
    /// (hash of `BASE`, k) of the ids of the form `BASE#k` a rename could produce.
    suffixed: Vec<(u128, u32)>,
}

/// `BASE` and `k` when `id` reads `BASE#k` as a rename writes it (k ≥ 2 in decimal,
/// without a leading zero).
fn rename_parts(id: &str) -> Option<(&str, u32)> {
    let (base, k) = id.rsplit_once('#')?;
    if k.starts_with('0') || !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    k.parse().ok().filter(|&k| k >= 2).map(|k| (base, k))
}

impl IdCollector {
    /// Adds the ids of a batch of kept rows.
    pub fn add(&mut self, kept: &RecordBatch) -> Result<()> {
        let ids = kept
            .column_by_name(columns::ID)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| PipelineError::Internal("kept rows without an `id`".into()))?;
        for id in ids.iter() {
            let id = id.unwrap_or("");
            self.records.push((xxh3_128(id.as_bytes()), self.rows));
            if let Some((base, k)) = rename_parts(id) {
                self.suffixed.push((xxh3_128(base.as_bytes()), k));
            }
            // Row numbers are u32 in every decision file; a task is far smaller.
            self.rows = self.rows.checked_add(1).ok_or_else(|| {
                PipelineError::Config(
                    "a task holds more than 2^32 documents: lower job.split_bytes".into(),
                )
            })?;
        }
        Ok(())
    }

    /// Writes the task's id file (sorted by hash, then row) and its suffixed-id file.
    pub fn finish(self, dir: &StageDir, task: usize) -> Result<()> {
        for (path, mut records) in [
            (suffixed_file(dir, task), self.suffixed),
            (ids_file(dir, task), self.records),
        ] {
            records.sort_unstable();
            let mut bytes = Vec::with_capacity(records.len() * RECORD);
            for (h, n) in &records {
                bytes.extend_from_slice(&h.to_le_bytes());
                bytes.extend_from_slice(&n.to_le_bytes());
            }
            crate::writer::write_atomic(&path, &bytes)?;
        }
        Ok(())
    }
}

/// The records of every task's file at `path(task)`, merged in (hash, task, value) order
/// with one small buffer per task.
struct Merged {
    streams: Vec<IdStream>,
    heap: BinaryHeap<std::cmp::Reverse<(u128, usize, u32)>>,
}

impl Merged {
    fn open(dir: &StageDir, path: fn(&StageDir, usize) -> PathBuf) -> Result<Merged> {
        let mut streams = Vec::with_capacity(dir.tasks());
        for t in 0..dir.tasks() {
            let path = path(dir, t);
            let f = File::open(&path).map_err(PipelineError::io(&path))?;
            streams.push(IdStream {
                reader: BufReader::with_capacity(64 << 10, f),
                path,
                task: t,
            });
        }
        let mut heap = BinaryHeap::new();
        for s in &mut streams {
            if let Some(r) = s.next()? {
                heap.push(std::cmp::Reverse(r));
            }
        }
        Ok(Merged { streams, heap })
    }

    fn peek(&self) -> Option<u128> {
        self.heap.peek().map(|r| r.0.0)
    }

    fn next(&mut self) -> Result<Option<(u128, usize, u32)>> {
        let Some(std::cmp::Reverse(r)) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(n) = self.streams[r.1].next()? {
            self.heap.push(std::cmp::Reverse(n));
        }
        Ok(Some(r))
    }
}

/// One task's id file, read record by record.
struct IdStream {
    reader: BufReader<File>,
    path: PathBuf,
    task: usize,
}

impl IdStream {
    fn next(&mut self) -> Result<Option<(u128, usize, u32)>> {
        let mut rec = [0u8; RECORD];
        let mut got = 0;
        while got < RECORD {
            let n = self
                .reader
                .read(&mut rec[got..])
                .map_err(PipelineError::io(&self.path))?;
            if n == 0 {
                return match got {
                    0 => Ok(None),
                    _ => Err(damaged(
                        &self.path.file_name().unwrap_or_default().to_string_lossy(),
                    )),
                };
            }
            got += n;
        }
        let mut h = [0u8; 16];
        h.copy_from_slice(&rec[..16]);
        let mut r = [0u8; 4];
        r.copy_from_slice(&rec[16..]);
        Ok(Some((
            u128::from_le_bytes(h),
            self.task,
            u32::from_le_bytes(r),
        )))
    }
}

/// The `:ids` step: finds repeated ids across the first stage's tasks and, by `policy`,
/// writes renames, only counts, or fails. Returns its counters.
pub fn resolve(dir: &StageDir, policy: DuplicateIdPolicy) -> Result<Vec<(String, u64)>> {
    let mut ids = Merged::open(dir, ids_file)?;
    let mut suffixed = Merged::open(dir, suffixed_file)?;
    let mut renames: Vec<Vec<(u32, u32)>> = vec![Vec::new(); dir.tasks()];
    let (mut duplicates, mut groups) = (0u64, 0u64);
    let mut first: Option<(usize, u32)> = None;
    // The group being merged: its hash, members so far, the last k given, and the k
    // that ids `BASE#k` of its BASE already take (sorted).
    let (mut current, mut members, mut k) = (None, 0u64, 0u32);
    let mut taken: Vec<u32> = Vec::new();
    while let Some((h, task, row)) = ids.next()? {
        if current != Some(h) {
            (current, members, k) = (Some(h), 1, 1);
            taken.clear();
            while let Some(s) = suffixed.peek().filter(|&s| s <= h) {
                if let Some((_, _, n)) = suffixed.next()?.filter(|_| s == h) {
                    taken.push(n);
                }
            }
            taken.sort_unstable();
            continue;
        }
        members += 1;
        duplicates += 1;
        if members == 2 {
            groups += 1;
        }
        let too_many = || PipelineError::Config("an id repeats more than 2^32 times".into());
        k = k.checked_add(1).ok_or_else(too_many)?;
        while taken.binary_search(&k).is_ok() {
            k = k.checked_add(1).ok_or_else(too_many)?;
        }
        first.get_or_insert((task, row));
        renames[task].push((row, k));
    }
    if let Some((task, row)) = first {
        // The part may be elsewhere (a cluster worker pulls only `_work/`): then say where.
        let id = id_at(dir, task, row)
            .unwrap_or_else(|_| format!("the id of row {row} of part-{task:05}"));
        match policy {
            DuplicateIdPolicy::Fail => {
                return Err(PipelineError::Config(format!(
                    "{duplicates} documents repeat an id of the job (first: `{id}`); set job.on_duplicate_id = \"suffix\" or \"keep\""
                )));
            }
            DuplicateIdPolicy::Keep => tracing::warn!(
                duplicates,
                first = %id,
                "documents repeat ids of the job; kept as they are (on_duplicate_id = \"keep\")"
            ),
            DuplicateIdPolicy::Suffix => tracing::warn!(
                duplicates,
                first = %id,
                "documents repeat ids of the job; made unique as ID#2, ID#3, … from the next stage on"
            ),
        }
    }
    for (t, list) in renames.iter_mut().enumerate() {
        let path = renames_file(dir, t);
        if policy != DuplicateIdPolicy::Suffix || list.is_empty() {
            // A rename file of an earlier attempt of another policy must not survive.
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(PipelineError::io(&path)(e));
                }
                _ => continue,
            }
        }
        list.sort_unstable();
        let bytes: Vec<u8> = list
            .iter()
            .flat_map(|(row, k)| row.to_le_bytes().into_iter().chain(k.to_le_bytes()))
            .collect();
        crate::writer::write_atomic(&path, &bytes)?;
    }
    Ok(vec![
        ("duplicate_ids".into(), duplicates),
        ("duplicate_id_groups".into(), groups),
    ])
}

/// The id at `row` of task `task`'s part file (for messages).
fn id_at(dir: &StageDir, task: usize, row: u32) -> Result<String> {
    let path = dir.part(task);
    let f = File::open(&path).map_err(PipelineError::io(&path))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(PipelineError::parquet(&path))?
        .build()
        .map_err(PipelineError::parquet(&path))?;
    let mut at = row as usize;
    for batch in reader {
        let batch = batch?;
        if at < batch.num_rows() {
            let ids = batch
                .column_by_name(columns::ID)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| PipelineError::Internal("part without `id`".into()))?;
            return Ok(ids.value(at).to_string());
        }
        at -= batch.num_rows();
    }
    Err(damaged(&format!("ids-{task:05}.bin")))
}

/// The renames of task `task` of the first stage: (row, occurrence) sorted by row. None
/// unless the job's policy is `suffix`: rename files of an earlier `suffix` run may still
/// lie in the staging folder or the bucket (they depend only on the first stage's parts,
/// so under `suffix` they stay true).
pub fn renames(dir: &StageDir, task: usize, policy: DuplicateIdPolicy) -> Result<Vec<(u32, u32)>> {
    if policy != DuplicateIdPolicy::Suffix {
        return Ok(Vec::new());
    }
    let path = renames_file(dir, task);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(PipelineError::io(&path)(e)),
    };
    if bytes.len() % 8 != 0 {
        return Err(damaged(&format!("id-renames-{task:05}.bin")));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| {
            let (a, b) = c.split_at(4);
            let n = |x: &[u8]| u32::from_le_bytes([x[0], x[1], x[2], x[3]]);
            (n(a), n(b))
        })
        .collect())
}

/// `batch` (rows `offset..` of its part) with the renamed ids rewritten as `ID#k`.
pub fn apply(batch: RecordBatch, offset: u64, renames: &[(u32, u32)]) -> Result<RecordBatch> {
    let end = offset + batch.num_rows() as u64;
    let start = renames.partition_point(|(r, _)| u64::from(*r) < offset);
    let here = &renames[start..];
    if here.first().is_none_or(|(r, _)| u64::from(*r) >= end) {
        return Ok(batch);
    }
    let Some(index) = batch.schema().index_of(columns::ID).ok() else {
        return Err(PipelineError::Internal("batch without `id`".into()));
    };
    let ids = batch.column(index).as_string::<i32>();
    let mut next = here.iter().peekable();
    let renamed: StringArray = (0..ids.len())
        .map(|i| {
            let row = offset + i as u64;
            let id = ids.is_valid(i).then(|| ids.value(i));
            match next.peek() {
                Some((r, k)) if u64::from(*r) == row => {
                    next.next();
                    Some(format!("{}#{k}", id.unwrap_or("")))
                }
                _ => id.map(str::to_string),
            }
        })
        .collect();
    let mut cols = batch.columns().to_vec();
    cols[index] = Arc::new(renamed);
    Ok(RecordBatch::try_new(batch.schema(), cols)?)
}
