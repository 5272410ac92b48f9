//! Spill files: fixed-size little-endian records written into hash partitions, so a
//! global grouping runs as one bounded-memory task per partition.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{PipelineError, Result};
use crate::writer::BufferedTmp;

/// One writer per partition, each file committed by rename when finished.
pub struct PartitionedWriter {
    files: Vec<SpillFile>,
}

impl PartitionedWriter {
    /// Opens `partitions` files `<dir>/<prefix>-PPPPP.bin`.
    pub fn create(dir: &Path, prefix: &str, partitions: usize) -> Result<PartitionedWriter> {
        fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
        let files = (0..partitions)
            .map(|p| SpillFile::create(&dir.join(format!("{prefix}-{p:05}.bin"))))
            .collect::<Result<_>>()?;
        Ok(PartitionedWriter { files })
    }

    /// Appends a record to partition `p`.
    pub fn write(&mut self, p: usize, record: &[u8]) -> Result<()> {
        self.files[p].write(record)
    }

    /// Flushes and renames every file into place.
    pub fn finish(self) -> Result<()> {
        self.files.into_iter().try_for_each(SpillFile::finish)
    }
}

/// A spill file written as it goes (buffered) under a temporary name and renamed into
/// place by [`SpillFile::finish`]: what a task produces need not fit in memory first.
pub struct SpillFile(BufferedTmp);

impl SpillFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> Result<SpillFile> {
        Ok(SpillFile(BufferedTmp::create(path, 64 << 10)?))
    }

    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let SpillFile(out) = self;
        out.write_all(bytes).map_err(PipelineError::io(out.tmp()))
    }

    /// Flushes, syncs and renames the file into place.
    pub fn finish(self) -> Result<()> {
        self.0.finish()?.commit()
    }
}

/// A spill or decision file under `_work/` that does not parse: damaged on disk (or
/// written by another version), which a rerun of the stage repairs — not a bug.
pub fn damaged(what: &str) -> PipelineError {
    PipelineError::Config(format!(
        "{what} under the stage's _work/ is damaged or truncated; rerun the stage with --force"
    ))
}

/// The little-endian `u32` at `at` of a `_work` record, or a damaged-file error naming `what`.
pub fn u32_at(b: &[u8], at: usize, what: &str) -> Result<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| damaged(what))
}

/// The little-endian `u64` at `at` of a `_work` record, or a damaged-file error naming `what`.
pub fn u64_at(b: &[u8], at: usize, what: &str) -> Result<u64> {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| damaged(what))
}

/// Reads a whole spill file.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut f = File::open(path).map_err(PipelineError::io(path))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).map_err(PipelineError::io(path))?;
    Ok(buf)
}

/// Writes `bytes` to `path` via a temporary file.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::writer::write_atomic(path, bytes)
}

/// A (key, document) record: 128-bit key, global document index.
pub const KEY_DOC: usize = 20;

/// Encodes a (key, document) record.
pub fn key_doc(key: u128, doc: u32) -> [u8; KEY_DOC] {
    let mut r = [0u8; KEY_DOC];
    r[..16].copy_from_slice(&key.to_le_bytes());
    r[16..].copy_from_slice(&doc.to_le_bytes());
    r
}

/// One (key, document) record in memory: the key's high and low halves, then the
/// document. 24 bytes where `(u128, u32)` takes 32 (a `u128` aligns to 16), and it sorts
/// in the same order.
pub type KeyDocRecord = (u64, u64, u32);

/// Decodes one (key, document) record of [`KEY_DOC`] bytes.
pub fn key_doc_of(c: &[u8]) -> KeyDocRecord {
    let mut k = [0u8; 16];
    k.copy_from_slice(&c[..16]);
    let mut d = [0u8; 4];
    d.copy_from_slice(&c[16..KEY_DOC]);
    let key = u128::from_le_bytes(k);
    ((key >> 64) as u64, key as u64, u32::from_le_bytes(d))
}

/// Partition of a key among `partitions`: the one partitioner of every global stage (a
/// 64-bit key is the same number as a `u128`).
pub fn partition_of(key: u128, partitions: usize) -> usize {
    ((key ^ (key >> 64)) as u64 % partitions as u64) as usize
}

/// A [`PartitionedWriter`] shared by parallel workers: each buffers its records per
/// partition and appends them in chunks, so there is one file per partition however many
/// workers write. Records land in any order; readers sort.
pub struct SharedWriter {
    inner: std::sync::Mutex<PartitionedWriter>,
    partitions: usize,
}

/// Bytes a worker buffers per partition before appending them.
const LOCAL_CHUNK: usize = 16 << 10;

impl SharedWriter {
    /// Opens `partitions` files `<dir>/<prefix>-PPPPP.bin`.
    pub fn create(dir: &Path, prefix: &str, partitions: usize) -> Result<SharedWriter> {
        Ok(SharedWriter {
            inner: std::sync::Mutex::new(PartitionedWriter::create(dir, prefix, partitions)?),
            partitions,
        })
    }

    /// One worker's buffered handle; call [`LocalWriter::flush`] when done.
    pub fn local(&self) -> LocalWriter<'_> {
        LocalWriter {
            shared: self,
            bufs: vec![Vec::new(); self.partitions],
        }
    }

    /// Flushes and renames every file into place.
    pub fn finish(self) -> Result<()> {
        self.inner
            .into_inner()
            .map_err(|_| PipelineError::Internal("poisoned spill writer".into()))?
            .finish()
    }

    fn append(&self, p: usize, bytes: &[u8]) -> Result<()> {
        self.inner
            .lock()
            .map_err(|_| PipelineError::Internal("poisoned spill writer".into()))?
            .write(p, bytes)
    }
}

/// A worker's buffers into a [`SharedWriter`].
pub struct LocalWriter<'a> {
    shared: &'a SharedWriter,
    bufs: Vec<Vec<u8>>,
}

impl LocalWriter<'_> {
    /// Appends a record to partition `p`.
    pub fn write(&mut self, p: usize, record: &[u8]) -> Result<()> {
        let buf = &mut self.bufs[p];
        buf.extend_from_slice(record);
        if buf.len() >= LOCAL_CHUNK {
            self.shared.append(p, buf)?;
            buf.clear();
        }
        Ok(())
    }

    /// Appends what is still buffered.
    pub fn flush(self) -> Result<()> {
        for (p, buf) in self.bufs.iter().enumerate() {
            if !buf.is_empty() {
                self.shared.append(p, buf)?;
            }
        }
        Ok(())
    }
}

/// Consecutive tasks in about `parts` groups of similar document counts: a spill routed
/// to documents' tasks needs one file per group, not one per task (tasks can number in
/// the thousands, more than a process may hold open).
pub struct TaskGroups {
    offsets: Vec<u64>,
    docs: u64,
    group: Vec<usize>,
    parts: usize,
}

impl TaskGroups {
    /// Groups the tasks starting at `offsets` (of `docs` documents in all).
    pub fn new(offsets: &[u64], docs: u64, parts: usize) -> TaskGroups {
        let parts = parts.max(1);
        let group = offsets
            .iter()
            .map(|&o| {
                ((u128::from(o) * parts as u128 / u128::from(docs.max(1))) as usize).min(parts - 1)
            })
            .collect();
        TaskGroups {
            offsets: offsets.to_vec(),
            docs,
            group,
            parts,
        }
    }

    /// Number of groups (some may hold no task).
    pub fn len(&self) -> usize {
        self.parts
    }

    /// True when there are no groups (never: at least one).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The task holding global document `doc`.
    pub fn task_of(&self, doc: u32) -> usize {
        self.offsets.partition_point(|&o| o <= u64::from(doc)) - 1
    }

    /// The group of the task holding `doc`.
    pub fn of_doc(&self, doc: u32) -> usize {
        self.group[self.task_of(doc)]
    }

    /// The tasks of group `g`, and the documents they hold.
    pub fn tasks(&self, g: usize) -> (std::ops::Range<usize>, std::ops::Range<u64>) {
        let start = self.group.partition_point(|&x| x < g);
        let end = self.group.partition_point(|&x| x <= g);
        let doc = |t: usize| self.offsets.get(t).copied().unwrap_or(self.docs);
        (start..end, doc(start)..doc(end))
    }

    /// The documents of task `t`.
    pub fn docs_of(&self, t: usize) -> std::ops::Range<u64> {
        let end = self.offsets.get(t + 1).copied().unwrap_or(self.docs);
        self.offsets[t]..end
    }
}

/// The fixed-size records of a `_work` file, or a damaged-file error naming `what` when
/// its length is not a whole number of records.
pub fn records<'a>(
    bytes: &'a [u8],
    size: usize,
    what: &str,
) -> Result<std::slice::ChunksExact<'a, u8>> {
    if !bytes.len().is_multiple_of(size) {
        return Err(damaged(what));
    }
    Ok(bytes.chunks_exact(size))
}
