//! `taojin demo-data DIR`: writes the generated demo corpus as `.jsonl.zst` files.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use crate::error::{PipelineError, Result};
use crate::writer::write_atomic;
use taojin_demo::{DemoOptions, generate};

/// Writes the demo corpus into `dir` (with `learned`, also the spam source and the
/// n-gram model's reference text) and returns a printable summary.
pub fn write(dir: &Path, seed: u64, scale: usize, learned: bool) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
    let (mut files, summary) = generate(&DemoOptions {
        seed,
        scale: scale.max(1),
    });
    let main_files = files.len();
    // In their own folders, so an input glob over `DIR/*.jsonl.zst` does not take them.
    if learned {
        files.push(taojin_demo::spam_source(seed));
        files.push(taojin_demo::lm_reference(seed));
    }
    for file in &files {
        let path = dir.join(format!("{}.zst", file.name));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(PipelineError::io(parent))?;
        }
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
        main_files,
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
    if learned {
        let _ = writeln!(
            out,
            "  for the learned filters: spam/ ({} pages of gambling and adult spam or word salad) and lm-reference/ (clean text for `taojin train-lm`)",
            files[main_files].lines.len()
        );
    }
    Ok(out)
}

/// Writes the demo crawl into `dir`: `crawl-00000.warc.gz` and `truth.jsonl` (the main
/// text and expected outcome of every page), and returns a printable summary.
pub fn write_crawl(dir: &Path, seed: u64, pages: usize) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
    let crawl = taojin_demo::demo_warc(seed, pages.max(1));
    write_atomic(&dir.join("crawl-00000.warc.gz"), &crawl.bytes)?;
    let truth: String = crawl
        .pages
        .iter()
        .map(|p| {
            serde_json::json!({"id": p.id, "url": p.url, "lang": p.lang, "charset": p.charset,
                "main": p.main, "expect": p.expect})
            .to_string()
                + "\n"
        })
        .collect();
    write_atomic(&dir.join("truth.jsonl"), truth.as_bytes())?;
    let mut out = format!(
        "wrote {}: {} HTML pages in {} bytes, truth in truth.jsonl\n",
        dir.join("crawl-00000.warc.gz").display(),
        crawl.pages.len(),
        crawl.bytes.len()
    );
    for (reason, n) in &crawl.skipped {
        let _ = writeln!(out, "  not pages: {n} {reason}");
    }
    Ok(out)
}
