//! Brute-force near-duplicate truth: the exact shingle Jaccard of every pair of documents
//! at or above a floor, with the same shingles `minhash_dedup` uses (words for Latin
//! script, characters for Han, default sizes), so a clustering can be scored against it.
//!
//! Every pair is compared except those whose set sizes alone rule the floor out
//! (`J ≤ min/max`), which is exact, not a heuristic. Output: `id_a \t id_b \t J` lines.
//!
//! `cargo run --release -p taojin-dedup --example jaccard_truth -- IN.jsonl OUT.tsv [floor] [threads]`

use std::io::{BufRead, BufReader, BufWriter, Write};

use taojin_dedup::{ShingleConfig, jaccard, shingle_hashes};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
        return Err("usage: jaccard_truth IN.jsonl OUT.tsv [floor] [threads]".into());
    };
    let floor: f64 = args.get(3).map_or(Ok(0.5), |s| s.parse())?;
    let threads: usize = args.get(4).map_or(Ok(2), |s| s.parse())?;
    let cfg = ShingleConfig::default();
    let mut docs: Vec<(String, Vec<u64>)> = Vec::new();
    let mut tokens = Vec::new();
    for (n, line) in BufReader::new(std::fs::File::open(input)?)
        .lines()
        .enumerate()
    {
        let line = line?;
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("{input}:{}: {e}", n + 1))?;
        let (Some(id), Some(text)) = (v["id"].as_str(), v["text"].as_str()) else {
            return Err(format!("{input}:{}: no id or text", n + 1).into());
        };
        let mut set = Vec::new();
        shingle_hashes(text, &cfg, &mut tokens, &mut set);
        docs.push((id.to_string(), set));
    }
    // Sorted by size: a document's partners at the floor lie in a window after it.
    docs.sort_by_key(|d| d.1.len());
    let started = std::time::Instant::now();
    let pairs: Vec<(usize, usize, f64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|t| {
                let docs = &docs;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for i in (t..docs.len()).step_by(threads.max(1)) {
                        let a = &docs[i].1;
                        for (j, (_, b)) in docs.iter().enumerate().skip(i + 1) {
                            if (a.len() as f64) < floor * b.len() as f64 {
                                break;
                            }
                            let s = jaccard(a, b);
                            if s >= floor {
                                out.push((i, j, s));
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut w = BufWriter::new(std::fs::File::create(output)?);
    for (i, j, s) in &pairs {
        writeln!(w, "{}\t{}\t{s:.6}", docs[*i].0, docs[*j].0)?;
    }
    w.flush()?;
    eprintln!(
        "{} documents, {} pairs at J ≥ {floor} in {:.1} s",
        docs.len(),
        pairs.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
