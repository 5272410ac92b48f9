//! The reduce of `minhash_dedup` on a synthetic corpus of N documents whose LSH band keys
//! are drawn, not computed from text: the measurement behind the README's capacity plan.
//!
//! Documents: 70% originals; 29% near-duplicates of an earlier document (within the last
//! million; Jaccard drawn uniformly in [0.5, 1], each band shared with probability s^rows,
//! so chains of copies of copies occur); 1% copies (s = 0.9) of one of 1,000 boilerplate
//! templates, the licence-and-footer clusters of a real crawl. Prints the map and reduce
//! wall times, the reduce's peak RSS (the high-water mark is reset before it), its
//! counters, and the spill bytes under `_work`.
//!
//! `cargo run --release -p taojin-pipeline --example synthetic_reduce -- DIR DOCS
//! [--tasks T] [--memory-limit 1GiB] [--threads N]`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use taojin_pipeline::global::{ClusterStage, GlobalCtx, GlobalStage, partitions_for};
use taojin_schemas::{JobSpec, StageSpec};

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Where document `d` copies from, and how similar it is; `None` for an original.
fn parent(d: u64) -> Option<(u64, f64)> {
    let kind = mix(d ^ 0xA1) % 100;
    if d < 1000 || kind >= 30 {
        None
    } else if kind == 29 {
        Some((mix(d ^ 0xB2) % 1000, 0.9))
    } else {
        let back = 1 + mix(d ^ 0xC3) % d.min(1_000_000);
        Some((d - back, 0.5 + 0.5 * unit(mix(d ^ 0xD4))))
    }
}

/// Band `i`'s key of document `d`: its parent's where the band is shared.
fn key(mut d: u64, i: u64, rows: i32) -> u128 {
    while let Some((p, s)) = parent(d) {
        if unit(mix((d << 6 | i) ^ 0xE5)) >= s.powi(rows) {
            break;
        }
        d = p;
    }
    u128::from(mix((d << 6 | i) ^ 0xF6))
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

fn du(path: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(dir), Some(docs)) = (args.first(), args.get(1)) else {
        bail!("usage: synthetic_reduce DIR DOCS [--tasks T] [--memory-limit 1GiB] [--threads N]");
    };
    let dir = PathBuf::from(dir);
    let docs: u64 = docs.replace('_', "").parse().context("DOCS")?;
    let tasks: u64 = flag("--tasks")
        .map_or(Ok(100), |t| t.parse())
        .context("--tasks")?;
    let limit = flag("--memory-limit").unwrap_or_else(|| "1GiB".into());
    let threads: usize = flag("--threads")
        .map_or(Ok(2), |t| t.parse())
        .context("--threads")?;
    let job = JobSpec::from_toml(&format!(
        "[job]\nname = \"synthetic\"\noutput = \"{}\"\n\n[[inputs]]\nname = \"x\"\npath = \"x\"\n\n\
         [[stages]]\nkind = \"minhash_dedup\"\nverify = false\nmemory_limit = \"{limit}\"\n",
        dir.display()
    ))?;
    let Some(StageSpec::MinhashDedup(spec)) = job.stages.first() else {
        bail!("no minhash stage");
    };
    let (bands, rows) = spec.bands_rows();
    let stage = ClusterStage::minhash(spec);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let rows_per: Vec<u64> = (0..tasks)
        .map(|t| (t + 1) * docs / tasks - t * docs / tasks)
        .collect();
    let offsets: Vec<u64> = (0..tasks).map(|t| t * docs / tasks).collect();
    let work = dir.join("_work");
    std::fs::create_dir_all(&work)?;
    let ctx = GlobalCtx {
        output: dir.clone(),
        work: work.clone(),
        prev_dir: dir.clone(),
        job: &job,
        rows: rows_per,
        offsets,
        partitions: partitions_for(
            docs.saturating_mul(stage.spill_bytes_per_doc()),
            stage.memory_limit(),
        ),
        pool: &pool,
        hash: "synthetic".into(),
        first_stage: None,
    };
    eprintln!(
        "{docs} documents, {tasks} tasks, {bands}x{rows} bands, {} partitions, memory_limit {limit}, {threads} threads",
        ctx.partitions
    );
    let started = Instant::now();
    pool.install(|| {
        (0..tasks as usize).into_par_iter().try_for_each(|t| {
            let first = ctx.offsets[t];
            let n = ctx.rows[t];
            let docs = (first..first + n).map(|d| {
                let keys = (0..bands as u64).map(|i| key(d, i, rows as i32)).collect();
                (format!("syn-{d:011}"), 200 + (mix(d) % 4000) as usize, keys)
            });
            stage.map_keys(&ctx, t, docs)
        })
    })?;
    let map_s = started.elapsed().as_secs_f64();
    let map_rss = peak_rss_mib();
    let map_bytes = du(&work);
    // Reset the high-water mark so the reduce's own peak is what is printed.
    std::fs::write("/proc/self/clear_refs", "5").context("reset VmHWM")?;
    let started = Instant::now();
    let counters = stage.reduce(&ctx)?;
    let reduce_s = started.elapsed().as_secs_f64();
    let reduce_rss = peak_rss_mib();
    let spill = du(&work);
    println!(
        "map: {map_s:.1} s, peak RSS {map_rss} MiB, map spill {:.2} GB",
        map_bytes as f64 / 1e9
    );
    println!(
        "reduce: {reduce_s:.1} s, peak RSS {reduce_rss} MiB, _work after reduce {:.2} GB",
        spill as f64 / 1e9
    );
    for (name, value) in counters {
        println!("  {name} = {value}");
    }
    Ok(())
}
