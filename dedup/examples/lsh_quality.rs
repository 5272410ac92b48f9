//! Measured MinHash-LSH S-curve against exact Jaccard, with and without verification.
//!
//! From real documents (a `.jsonl` or `.jsonl.zst` corpus with a `text` field) it plants
//! edited copies at target similarities 0.5–1.0 (words replaced in Latin-script text,
//! characters in Chinese), computes the exact shingle Jaccard of every pair, and reports
//! per similarity bin how often the pair becomes an LSH candidate (measured) beside the
//! theoretical `1 − (1 − sʳ)ᵇ`, and how often it is joined under `verify` at the threshold.
//! Random pairs of different documents give the false-positive rate.
//!
//! `cargo run --release -p taojin-dedup --example lsh_quality -- CORPUS [docs] [bands] [rows] [threshold]`

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

use taojin_dedup::{MinHasher, ShingleConfig, jaccard, match_probability, shingle_hashes};

use taojin_schemas::rng::SplitMix64 as Rng;

use taojin_schemas::script::is_han;

/// Replaces a fraction `q` of tokens (Han characters, or space-separated words).
fn edit(text: &str, q: f64, rng: &mut Rng, chinese: bool) -> String {
    if chinese {
        text.chars()
            .map(|c| {
                if is_han(c) && rng.unit() < q {
                    char::from_u32(0x4E00 + (rng.next() % 8000) as u32).unwrap_or(c)
                } else {
                    c
                }
            })
            .collect()
    } else {
        text.split(' ')
            .map(|w| {
                if rng.unit() < q {
                    format!("edit{}", rng.next() % 100_000)
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: lsh_quality CORPUS [docs] [bands] [rows] [threshold]")?;
    let max_docs: usize = args.get(2).map_or(Ok(1500), |s| s.parse())?;
    let bands: usize = args.get(3).map_or(Ok(14), |s| s.parse())?;
    let rows: usize = args.get(4).map_or(Ok(8), |s| s.parse())?;
    let threshold: f64 = args.get(5).map_or(Ok(0.8), |s| s.parse())?;
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn BufRead> = if path.ends_with(".zst") {
        Box::new(BufReader::new(zstd::Decoder::new(file)?))
    } else {
        Box::new(BufReader::new(file))
    };
    let cfg = ShingleConfig::default();
    let hasher = MinHasher::new(bands, rows, 0x7A0_71E5);
    let (mut tok, mut set, mut sig, mut keys) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut prepare = |text: &str| -> (Vec<u64>, Vec<u64>) {
        shingle_hashes(text, &cfg, &mut tok, &mut set);
        hasher.signature(&set, &mut sig);
        hasher.band_keys(&sig, &mut keys);
        (set.clone(), keys.clone())
    };
    let mut docs: Vec<(bool, Vec<u64>, Vec<u64>, String)> = Vec::new();
    for line in reader.lines() {
        let line = line?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let Some(text) = v["text"].as_str() else {
            continue;
        };
        let han = text.chars().filter(|&c| is_han(c)).count();
        let words = text.split_whitespace().count();
        let chinese = han > words;
        if (chinese && han < 300) || (!chinese && words < 150) {
            continue;
        }
        let (s, k) = prepare(text);
        docs.push((chinese, s, k, text.to_string()));
        if docs.len() >= max_docs {
            break;
        }
    }
    let mut rng = Rng::new(42);
    // bin (0.05 wide, by exact J) → [pairs, candidates, joined under verify], per script.
    let mut bins: BTreeMap<(bool, u32), [u64; 3]> = BTreeMap::new();
    for (chinese, s, k, text) in &docs {
        for target in [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0] {
            let n = if *chinese { cfg.n_han } else { cfg.n_latin } as f64;
            let x: f64 = 2.0 * target / (1.0 + target);
            let q = 1.0 - x.powf(1.0 / n);
            let copy = edit(text, q, &mut rng, *chinese);
            let (s2, k2) = prepare(&copy);
            let j = jaccard(s, &s2);
            let candidate = k.iter().zip(&k2).any(|(a, b)| a == b);
            let e = bins
                .entry((*chinese, ((j * 20.0).floor() as u32).min(19)))
                .or_default();
            e[0] += 1;
            e[1] += candidate as u64;
            e[2] += (candidate && j >= threshold) as u64;
        }
    }
    let (mut fp, mut pairs) = (0u64, 0u64);
    for i in 0..docs.len() {
        for jdx in (i + 1..docs.len()).step_by(7) {
            pairs += 1;
            fp += docs[i].2.iter().zip(&docs[jdx].2).any(|(a, b)| a == b) as u64;
        }
    }
    println!(
        "{} documents ({} zh, {} latin); {bands} bands × {rows} rows; verify threshold {threshold}",
        docs.len(),
        docs.iter().filter(|d| d.0).count(),
        docs.iter().filter(|d| !d.0).count()
    );
    println!(
        "| script | exact J | pairs | P(candidate) measured | theoretical (bin centre) | P(joined) with verify |\n|---|---|---|---|---|---|"
    );
    for ((chinese, bin), [n, c, v]) in &bins {
        let lo = *bin as f64 / 20.0;
        println!(
            "| {} | {:.2}–{:.2} | {n} | {:.3} | {:.3} | {:.3} |",
            if *chinese { "zh" } else { "latin" },
            lo,
            lo + 0.05,
            *c as f64 / *n as f64,
            match_probability(lo + 0.025, bands, rows),
            *v as f64 / *n as f64
        );
    }
    println!(
        "unrelated document pairs: {pairs}, LSH candidates among them: {fp} ({:.2e})",
        fp as f64 / pairs.max(1) as f64
    );
    Ok(())
}
