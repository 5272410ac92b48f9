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

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
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
    let mut starts: Vec<u64> = Vec::new();
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
                starts.extend(list.values().iter().map(|&s| id * l.seq_len + u64::from(s)));
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
    starts.sort_unstable();
    starts.dedup();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let mut lengths = Vec::with_capacity(starts.len());
    for (i, &s) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(total);
        lengths.push(i32::try_from(end - s).map_err(|_| {
            PipelineError::Config(format!("a {split} document is longer than 2^31 tokens"))
        })?);
    }
    // The `.bin` first: an `.idx` never describes a `.bin` that is not there.
    pending.commit()?;
    write_index(&out.join(format!("{split}.idx")), l, &starts, &lengths)?;
    Ok(ExportedSplit {
        documents: starts.len() as u64,
        tokens: total,
        dtype: l.dtype,
        last_document_cut: last_token != Some(l.eos),
    })
}

/// The `.idx` of one sequence per document starting at `starts` (token positions).
fn write_index(path: &Path, l: Layout, starts: &[u64], lengths: &[i32]) -> Result<()> {
    let n = starts.len() as u64;
    let mut idx = Vec::with_capacity(34 + starts.len() * 20 + 8);
    idx.extend_from_slice(MEGATRON_HEADER);
    idx.extend_from_slice(&1u64.to_le_bytes());
    idx.push(l.code);
    idx.extend_from_slice(&n.to_le_bytes());
    idx.extend_from_slice(&(n + 1).to_le_bytes());
    for len in lengths {
        idx.extend_from_slice(&len.to_le_bytes());
    }
    for &s in starts {
        idx.extend_from_slice(&((s * l.width) as i64).to_le_bytes());
    }
    for d in 0..=n {
        idx.extend_from_slice(&(d as i64).to_le_bytes());
    }
    let (mut f, pending) = create_tmp(path)?;
    f.write_all(&idx)
        .and_then(|_| f.sync_data())
        .map_err(PipelineError::io(pending.tmp()))?;
    drop(f);
    pending.commit()
}
