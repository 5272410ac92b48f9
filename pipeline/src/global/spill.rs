//! Spill files: fixed-size little-endian records written into hash partitions, so a
//! global grouping runs as one bounded-memory task per partition.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use crate::error::{PipelineError, Result};
use crate::writer::{Pending, create_tmp};

/// One writer per partition, each file committed by rename when finished.
pub struct PartitionedWriter {
    writers: Vec<BufWriter<File>>,
    paths: Vec<Pending>,
}

impl PartitionedWriter {
    /// Opens `partitions` files `<dir>/<prefix>-PPPPP.bin`.
    pub fn create(dir: &Path, prefix: &str, partitions: usize) -> Result<PartitionedWriter> {
        fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
        let mut writers = Vec::with_capacity(partitions);
        let mut paths = Vec::with_capacity(partitions);
        for p in 0..partitions {
            let path = dir.join(format!("{prefix}-{p:05}.bin"));
            let (f, pending) = create_tmp(&path)?;
            writers.push(BufWriter::with_capacity(64 << 10, f));
            paths.push(pending);
        }
        Ok(PartitionedWriter { writers, paths })
    }

    /// Appends a record to partition `p`.
    pub fn write(&mut self, p: usize, record: &[u8]) -> Result<()> {
        let w = &mut self.writers[p];
        w.write_all(record)
            .map_err(PipelineError::io(self.paths[p].tmp()))
    }

    /// Flushes and renames every file into place.
    pub fn finish(self) -> Result<()> {
        for (w, pending) in self.writers.into_iter().zip(self.paths) {
            let f = w.into_inner().map_err(|e| PipelineError::Io {
                path: pending.tmp().to_path_buf(),
                source: e.into_error(),
            })?;
            f.sync_data().map_err(PipelineError::io(pending.tmp()))?;
            drop(f);
            pending.commit()?;
        }
        Ok(())
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

/// Decodes the records of a (key, document) spill file.
pub fn key_docs(bytes: &[u8]) -> Vec<(u128, u32)> {
    bytes
        .chunks_exact(KEY_DOC)
        .map(|c| {
            let mut k = [0u8; 16];
            k.copy_from_slice(&c[..16]);
            let mut d = [0u8; 4];
            d.copy_from_slice(&c[16..]);
            (u128::from_le_bytes(k), u32::from_le_bytes(d))
        })
        .collect()
}

/// Partition of a key among `partitions`: the one partitioner of every global stage (a
/// 64-bit key is the same number as a `u128`).
pub fn partition_of(key: u128, partitions: usize) -> usize {
    ((key ^ (key >> 64)) as u64 % partitions as u64) as usize
}
