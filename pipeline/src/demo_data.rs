//! `taojin demo-data DIR`: writes the generated demo corpus as `.jsonl.zst` files.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use crate::error::{PipelineError, Result};
use crate::writer::write_atomic;
use taojin_demo::{DemoOptions, generate};

/// Writes the demo corpus into `dir` and returns a printable summary.
pub fn write(dir: &Path, seed: u64, scale: usize) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
    let (files, summary) = generate(&DemoOptions {
        seed,
        scale: scale.max(1),
    });
    for file in &files {
        let path = dir.join(format!("{}.zst", file.name));
        let mut enc = zstd::Encoder::new(Vec::new(), 3).map_err(PipelineError::io(&path))?;
        for line in &file.lines {
            enc.write_all(line.as_bytes())
                .map_err(PipelineError::io(&path))?;
            enc.write_all(b"\n").map_err(PipelineError::io(&path))?;
        }
        let bytes = enc.finish().map_err(PipelineError::io(&path))?;
        write_atomic(&path, &bytes)?;
    }
    let mut out = format!(
        "wrote {} files, {} documents, {:.2} MB of JSONL to {}\n",
        files.len(),
        summary.docs,
        summary.bytes as f64 / 1e6,
        dir.display()
    );
    for (lang, n) in &summary.by_lang {
        let _ = writeln!(out, "  {lang:<8} {n}");
    }
    let _ = writeln!(
        out,
        "  planted: {} exact duplicates, {} near duplicates, {} low-quality documents",
        summary.exact_dups, summary.near_dups, summary.bad_quality
    );
    Ok(out)
}
