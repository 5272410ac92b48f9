//! Throughput of `Normalizer::normalize` on one core, split by outcome: texts it returns
//! unchanged (the one-pass check) and texts it rewrites (the full passes).
//!
//! ```text
//! zstd -dc corpus.jsonl.zst > corpus.jsonl
//! cargo run --release -p taojin-filters --example normalize_speed -- corpus.jsonl
//! ```

use std::borrow::Cow;
use std::time::Instant;

use taojin_filters::Normalizer;
use taojin_schemas::NormalizeSpec;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: normalize_speed FILE.jsonl");
        std::process::exit(2);
    };
    let data = match std::fs::read_to_string(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let texts: Vec<String> = data
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text")?.as_str().map(str::to_owned))
        .collect();
    let norm = Normalizer::new(&NormalizeSpec::default());
    let (mut same, mut changed) = ((0usize, 0usize, 0f64), (0usize, 0usize, 0f64));
    for _ in 0..3 {
        same = (0, 0, 0.0);
        changed = (0, 0, 0.0);
        for t in &texts {
            let start = Instant::now();
            let out = norm.normalize(t);
            let secs = start.elapsed().as_secs_f64();
            let slot = match out {
                Cow::Borrowed(_) => &mut same,
                Cow::Owned(_) => &mut changed,
            };
            slot.0 += 1;
            slot.1 += t.len();
            slot.2 += secs;
        }
    }
    for (label, (docs, bytes, secs)) in [("unchanged", same), ("rewritten", changed)] {
        println!(
            "{label:>10}: {docs:>7} docs {:>8.1} MB {:>7.3} s {:>8.1} MB/s",
            bytes as f64 / 1e6,
            secs,
            bytes as f64 / 1e6 / secs
        );
    }
}
