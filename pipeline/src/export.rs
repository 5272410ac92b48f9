//! `taojin export`: the shards in a trainer's own format.
//!
//! Megatron-LM's indexed dataset (`<split>.bin` + `<split>.idx`, read by megatron-core's
//! `IndexedDataset`) holds one sequence per document, in corpus order; Megatron packs and
//! shuffles them itself. taojin's rows are the packed stream cut every `seq_len` tokens
//! and then shuffled, each row carrying its place in the stream (`row_id`) and where
//! documents begin in it (`doc_starts`). So export puts every row back at its place
//! (`row_id × seq_len` tokens into the `.bin`, one shard at a time, positional writes)
//! and cuts the stream at the document starts: the tokens are the shards' own, byte for
//! byte, and a document split across two rows becomes one sequence again.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, FixedSizeListArray};
use arrow::datatypes::{UInt16Type, UInt32Type, UInt64Type};
use serde::Serialize;
use taojin_schemas::manifest::Manifest;

use crate::error::{PipelineError, Result};
use crate::writer::create_tmp;

/// Megatron's index header and version (`megatron/core/datasets/indexed_dataset.py`).
const MEGATRON_HEADER: &[u8; 9] = b"MMIDIDX\x00\x00";

/// What one exported split holds.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedSplit {
    /// Documents (Megatron sequences).
    pub documents: u64,
    /// Tokens.
    pub tokens: u64,
    /// numpy dtype of the tokens (`uint16` or `int32`).
    pub dtype: &'static str,
    /// The stream's last document lost its tail with the dropped remainder row (its EOS
    /// is missing).
    pub last_document_cut: bool,
}

/// Provenance written beside the export as `export.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// `megatron`.
    pub format: &'static str,
    /// taojin version that exported.
    pub tool_version: &'static str,
    /// The shards' manifest job hash.
    pub job_hash: String,
    /// Per split (`train`, `valid` when it has rows): file prefix and contents.
    pub splits: BTreeMap<String, ExportedSplit>,
}

/// Writes `out/<split>.bin` and `.idx` for every split with rows, `out/manifest.json` (the
/// shards' own) and `out/export.json`.
pub fn megatron(shards: &Path, out: &Path) -> Result<Exported> {
    let manifest_path = shards.join("manifest.json");
    let text =
        std::fs::read_to_string(&manifest_path).map_err(PipelineError::io(&manifest_path))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| PipelineError::Config(format!("{}: {e}", manifest_path.display())))?;
    let (wide, dtype, code) = match manifest.dtype.as_str() {
        "uint16" => (false, "uint16", 8u8),
        // Megatron has no uint32: int32 holds every id below 2^31 with the same bytes.
        "uint32" => (true, "int32", 4u8),
        other => {
            return Err(PipelineError::Config(format!(
                "{}: unknown dtype `{other}`",
                manifest_path.display()
            )));
        }
    };
    if wide && manifest.tokenizer.vocab_size > i32::MAX as usize {
        return Err(PipelineError::Config(
            "vocabulary too large for Megatron's int32 tokens".into(),
        ));
    }
    std::fs::create_dir_all(out).map_err(PipelineError::io(out))?;
    let mut splits = BTreeMap::new();
    for split in ["train", "valid"] {
        let files: Vec<PathBuf> = manifest
            .shards
            .iter()
            .filter(|s| s.split == split)
            .map(|s| shards.join(&s.file))
            .collect();
        let rows: u64 = manifest
            .shards
            .iter()
            .filter(|s| s.split == split)
            .map(|s| s.rows)
            .sum();
        if rows == 0 {
            // No rows this time: an earlier export's files of this split must not stay.
            for ext in ["bin", "idx"] {
                let stale = out.join(format!("{split}.{ext}"));
                if stale.exists() {
                    std::fs::remove_file(&stale).map_err(PipelineError::io(&stale))?;
                }
            }
            continue;
        }
        let width = if wide { 4 } else { 2 };
        let exported = export_split(
            &files,
            out,
            split,
            Layout {
                rows,
                seq_len: manifest.seq_len as u64,
                width,
                code,
                dtype,
                eos: manifest.tokenizer.eos_id,
            },
        )?;
        splits.insert(split.to_string(), exported);
    }
    let exported = Exported {
        format: "megatron",
        tool_version: env!("CARGO_PKG_VERSION"),
        job_hash: manifest.job_hash.clone(),
        splits,
    };
    crate::writer::write_atomic(&out.join("manifest.json"), text.as_bytes())?;
    let json = serde_json::to_vec_pretty(&exported)
        .map_err(|e| PipelineError::Internal(format!("export.json: {e}")))?;
    crate::writer::write_atomic(&out.join("export.json"), &json)?;
    Ok(exported)
}

/// The shape of one split's stream.
#[derive(Clone, Copy)]
struct Layout {
    rows: u64,
    seq_len: u64,
    width: u64,
    code: u8,
    dtype: &'static str,
    eos: u32,
}

fn export_split(files: &[PathBuf], out: &Path, split: &str, l: Layout) -> Result<ExportedSplit> {
    let bin_path = out.join(format!("{split}.bin"));
    let (bin, pending) = create_tmp(&bin_path)?;
    let tmp = pending.tmp().to_path_buf();
    let done = fill(files, out, split, l, bin, pending);
    if done.is_err() {
        // A failed export leaves no full-size temporary file behind.
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// Writes the split's `.bin` through `bin` (committed by `pending`) and its `.idx`.
fn fill(
    files: &[PathBuf],
    out: &Path,
    split: &str,
    l: Layout,
    bin: File,
    pending: crate::writer::Pending,
) -> Result<ExportedSplit> {
    let total = l.rows * l.seq_len;
    bin.set_len(total * l.width)
        .map_err(PipelineError::io(pending.tmp()))?;
    let mut seen = vec![false; l.rows as usize];
    let mut starts = Starts::new(out);
    let mut last_token = None;
    for path in files {
        let file = File::open(path).map_err(PipelineError::io(path))?;
        let reader = arrow::ipc::reader::FileReader::try_new(file, None)
            .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))?;
        for batch in reader {
            let batch =
                batch.map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))?;
            let bad = |what: &str| PipelineError::Config(format!("{}: {what}", path.display()));
            let tokens = batch
                .column_by_name("tokens")
                .and_then(|c| c.as_any().downcast_ref::<FixedSizeListArray>())
                .ok_or_else(|| bad("no `tokens` column"))?;
            let doc_starts = batch
                .column_by_name("doc_starts")
                .and_then(|c| c.as_list_opt::<i32>())
                .ok_or_else(|| bad("no `doc_starts` column"))?;
            let ids = batch
                .column_by_name("row_id")
                .and_then(|c| c.as_primitive_opt::<UInt64Type>())
                .ok_or_else(|| bad("no `row_id` column"))?;
            if tokens.value_length() as u64 != l.seq_len {
                return Err(bad("rows are not seq_len tokens long"));
            }
            let values = tokens.values();
            let bytes: Vec<u8> = if l.width == 2 {
                let v = values
                    .as_primitive_opt::<UInt16Type>()
                    .ok_or_else(|| bad("tokens are not uint16"))?;
                v.values().iter().flat_map(|t| t.to_le_bytes()).collect()
            } else {
                let v = values
                    .as_primitive_opt::<UInt32Type>()
                    .ok_or_else(|| bad("tokens are not uint32"))?;
                v.values().iter().flat_map(|t| t.to_le_bytes()).collect()
            };
            let row_bytes = (l.seq_len * l.width) as usize;
            for r in 0..batch.num_rows() {
                let id = ids.value(r);
                if id >= l.rows || seen[id as usize] {
                    return Err(bad(&format!("row_id {id} out of range or repeated")));
                }
                seen[id as usize] = true;
                let at = tokens.value_offset(r) as usize * l.width as usize;
                let row = bytes
                    .get(at..at + row_bytes)
                    .ok_or_else(|| bad("short tokens"))?;
                bin.write_all_at(row, id * l.seq_len * l.width)
                    .map_err(PipelineError::io(pending.tmp()))?;
                let list = doc_starts.value(r);
                let list = list
                    .as_primitive_opt::<UInt32Type>()
                    .ok_or_else(|| bad("doc_starts are not uint32"))?;
                for &s in list.values().iter() {
                    starts.push(id * l.seq_len + u64::from(s))?;
                }
                if id == l.rows - 1 {
                    let tail = &row[row_bytes - l.width as usize..];
                    last_token = Some(if l.width == 2 {
                        u32::from(u16::from_le_bytes([tail[0], tail[1]]))
                    } else {
                        u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]])
                    });
                }
            }
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(PipelineError::Config(format!(
            "{split} shards lack row_id {missing}: the shards are incomplete"
        )));
    }
    bin.sync_data().map_err(PipelineError::io(pending.tmp()))?;
    drop(bin);
    // The `.bin` first: an `.idx` never describes a `.bin` that is not there.
    pending.commit()?;
    let documents = write_index(&out.join(format!("{split}.idx")), l, starts, split)?;
    Ok(ExportedSplit {
        documents,
        tokens: total,
        dtype: l.dtype,
        last_document_cut: last_token != Some(l.eos),
    })
}

/// The `.idx` of one sequence per document starting at `starts` (token positions; the
/// stream always starts a document at 0); returns the number of documents. Written as
/// the starts come out of their merge: the sizes straight into the file after a header
/// that is filled in last, the pointers through an unnamed temporary file.
fn write_index(path: &Path, l: Layout, starts: Starts, split: &str) -> Result<u64> {
    let total = l.rows * l.seq_len;
    let (f, pending) = create_tmp(path)?;
    let io = PipelineError::io(pending.tmp().to_path_buf());
    let mut idx = BufWriter::new(f);
    idx.write_all(&[0u8; INDEX_HEADER]).map_err(&io)?;
    let mut pointers = BufWriter::new(tempfile::tempfile_in(&starts.dir).map_err(&io)?);
    let mut n = 0u64;
    let mut prev: Option<u64> = None;
    let mut doc = |s: u64, idx: &mut BufWriter<File>, pointers: &mut BufWriter<File>| {
        if let Some(p) = prev {
            let len = i32::try_from(s - p).map_err(|_| {
                PipelineError::Config(format!("a {split} document is longer than 2^31 tokens"))
            })?;
            idx.write_all(&len.to_le_bytes()).map_err(&io)?;
            pointers
                .write_all(&((p * l.width) as i64).to_le_bytes())
                .map_err(&io)?;
            n += 1;
        }
        prev = Some(s);
        Ok::<(), PipelineError>(())
    };
    let mut first = true;
    starts.merge(|s| {
        if first && s != 0 {
            doc(0, &mut idx, &mut pointers)?;
        }
        first = false;
        doc(s, &mut idx, &mut pointers)
    })?;
    if first {
        doc(0, &mut idx, &mut pointers)?;
    }
    // The last document runs to the end of the stream.
    doc(total, &mut idx, &mut pointers)?;
    let mut pointers = pointers.into_inner().map_err(|e| io(e.into_error()))?;
    pointers.seek(SeekFrom::Start(0)).map_err(&io)?;
    std::io::copy(&mut pointers, &mut idx).map_err(&io)?;
    for d in 0..=n {
        idx.write_all(&(d as i64).to_le_bytes()).map_err(&io)?;
    }
    let f = idx.into_inner().map_err(|e| io(e.into_error()))?;
    let mut header = Vec::with_capacity(INDEX_HEADER);
    header.extend_from_slice(MEGATRON_HEADER);
    header.extend_from_slice(&1u64.to_le_bytes());
    header.push(l.code);
    header.extend_from_slice(&n.to_le_bytes());
    header.extend_from_slice(&(n + 1).to_le_bytes());
    f.write_all_at(&header, 0)
        .and_then(|()| f.sync_data())
        .map_err(&io)?;
    drop(f);
    pending.commit()?;
    Ok(n)
}

/// Bytes of the `.idx` header: magic, version, dtype code, sequences, documents + 1.
const INDEX_HEADER: usize = 9 + 8 + 1 + 8 + 8;

/// Document starts sorted and deduplicated in bounded memory: runs of [`RUN_STARTS`]
/// are sorted and spilled to unnamed temporary files beside the export (gone with the
/// process, whatever happens), then merged. Before, every start of a split was held,
/// with its size and pointer: about 32 bytes a document.
struct Starts {
    dir: PathBuf,
    buf: Vec<u64>,
    runs: Vec<File>,
}

/// Starts per spilled run (32 MiB).
const RUN_STARTS: usize = 1 << 22;

impl Starts {
    fn new(dir: &Path) -> Starts {
        Starts {
            dir: dir.to_path_buf(),
            buf: Vec::new(),
            runs: Vec::new(),
        }
    }

    fn push(&mut self, start: u64) -> Result<()> {
        self.buf.push(start);
        if self.buf.len() >= RUN_STARTS {
            self.spill()?;
        }
        Ok(())
    }

    fn sorted_buf(&mut self) -> Vec<u64> {
        let mut run = std::mem::take(&mut self.buf);
        run.sort_unstable();
        run.dedup();
        run
    }

    fn spill(&mut self) -> Result<()> {
        let run = self.sorted_buf();
        let io = PipelineError::io(self.dir.clone());
        let mut w = BufWriter::new(tempfile::tempfile_in(&self.dir).map_err(&io)?);
        for s in &run {
            w.write_all(&s.to_le_bytes()).map_err(&io)?;
        }
        let mut f = w.into_inner().map_err(|e| io(e.into_error()))?;
        f.seek(SeekFrom::Start(0)).map_err(&io)?;
        self.runs.push(f);
        Ok(())
    }

    /// Calls `f` on every distinct start, in ascending order.
    fn merge(mut self, mut f: impl FnMut(u64) -> Result<()>) -> Result<()> {
        let io = PipelineError::io(self.dir.clone());
        let last = self.sorted_buf();
        let mut files: Vec<BufReader<File>> = self.runs.drain(..).map(BufReader::new).collect();
        let read = |r: &mut BufReader<File>| -> Result<Option<u64>> {
            let mut b = [0u8; 8];
            match r.read_exact(&mut b) {
                Ok(()) => Ok(Some(u64::from_le_bytes(b))),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(io(e)),
            }
        };
        // Sources: the spilled runs, then the last run still in memory.
        let mut in_memory = last.into_iter();
        let mut heap = BinaryHeap::new();
        for (i, r) in files.iter_mut().enumerate() {
            if let Some(v) = read(r)? {
                heap.push(Reverse((v, i)));
            }
        }
        let memory = files.len();
        if let Some(v) = in_memory.next() {
            heap.push(Reverse((v, memory)));
        }
        let mut prev = None;
        while let Some(Reverse((v, i))) = heap.pop() {
            if prev != Some(v) {
                f(v)?;
                prev = Some(v);
            }
            let next = match files.get_mut(i) {
                Some(r) => read(r)?,
                None => in_memory.next(),
            };
            if let Some(n) = next {
                heap.push(Reverse((n, i)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_come_out_sorted_and_distinct_across_spilled_runs() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut starts = Starts::new(dir.path());
        // Three runs' worth, shuffled, every value twice.
        let n = (RUN_STARTS * 5 / 2) as u64;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut want = Vec::new();
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = x % (n * 4);
            starts.push(v).expect("push");
            if i % 3 == 0 {
                starts.push(v).expect("push");
            }
            want.push(v);
        }
        assert_eq!(starts.runs.len(), 3, "spilled");
        want.sort_unstable();
        want.dedup();
        let mut got = Vec::new();
        starts
            .merge(|v| {
                got.push(v);
                Ok(())
            })
            .expect("merge");
        assert_eq!(got, want);
    }
}
