//! Throughput of the full quality rule set on one core.
//!
//! ```text
//! cargo run --release -p taojin-filters --example quality_speed -- FILE.jsonl [--lang auto|en|zh-Hans]
//! ```
//!
//! Reads plain JSONL (decompress `.zst` first, e.g. `zstd -dc x.jsonl.zst > x.jsonl`),
//! takes `text` and, when present, `lang` (or `meta.lang`) and `url` from each record. Without a `lang`
//! field (or with `--lang auto`) a document is `zh-Hans` when at least 30% of its
//! non-space characters are Han, else `en`. Prints MB/s and docs/s of `QualityJudge::judge`
//! alone (JSON parsing excluded) and the rejection counts per reason.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use taojin_filters::{BlocklistTexts, QualityJudge};
use taojin_schemas::QualitySpec;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: quality_speed FILE.jsonl [--lang auto|en|zh-Hans]");
        std::process::exit(2);
    };
    let forced = args
        .iter()
        .position(|a| a == "--lang")
        .and_then(|i| args.get(i + 1))
        .filter(|l| l.as_str() != "auto")
        .cloned();
    let data = match std::fs::read_to_string(path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("quality_speed: {path}: {e}");
            std::process::exit(2);
        }
    };
    let mut docs: Vec<(String, String, Option<String>)> = Vec::new();
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("quality_speed: {path}:{}: {e}", i + 1);
                std::process::exit(2);
            }
        };
        let Some(text) = v.get("text").and_then(|t| t.as_str()) else {
            continue;
        };
        let lang = forced
            .clone()
            .or_else(|| v.get("lang").and_then(|l| l.as_str()).map(str::to_string))
            .or_else(|| {
                v.pointer("/meta/lang")
                    .and_then(|l| l.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| guess_lang(text).to_string());
        let url = v.get("url").and_then(|u| u.as_str()).map(str::to_string);
        docs.push((text.to_string(), lang, url));
    }

    let started = Instant::now();
    let judge = match QualityJudge::new(&QualitySpec::default(), &BlocklistTexts::default()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("quality_speed: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "judge built in {:.2?} ({} signal columns)",
        started.elapsed(),
        judge.signal_names().len()
    );

    let mut per_lang: BTreeMap<String, (u64, u64, Duration)> = BTreeMap::new();
    let mut reasons: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    let mut total = Duration::ZERO;
    let mut bytes = 0u64;
    for (text, lang, url) in &docs {
        let t = Instant::now();
        let out = judge.judge(text, lang, url.as_deref());
        let dt = t.elapsed();
        total += dt;
        bytes += text.len() as u64;
        let e = per_lang.entry(lang.clone()).or_default();
        e.0 += 1;
        e.1 += text.len() as u64;
        e.2 += dt;
        *reasons
            .entry((lang.clone(), out.reject.unwrap_or("kept")))
            .or_default() += 1;
    }
    let secs = total.as_secs_f64().max(1e-9);
    println!(
        "all: {} docs, {:.1} MB in {:.2} s: {:.1} MB/s, {:.0} docs/s (one core)",
        docs.len(),
        bytes as f64 / 1e6,
        secs,
        bytes as f64 / 1e6 / secs,
        docs.len() as f64 / secs
    );
    for (lang, (n, b, d)) in &per_lang {
        let s = d.as_secs_f64().max(1e-9);
        println!(
            "  {lang}: {n} docs, {:.1} MB, {:.1} MB/s",
            *b as f64 / 1e6,
            *b as f64 / 1e6 / s
        );
    }
    println!("outcomes:");
    for ((lang, reason), n) in &reasons {
        println!("  {lang:8} {reason:40} {n}");
    }
}

fn guess_lang(text: &str) -> &'static str {
    let (mut han, mut non_space) = (0usize, 0usize);
    for c in text.chars().take(2000) {
        if !c.is_whitespace() {
            non_space += 1;
            if taojin_schemas::script::is_han(c) {
                han += 1;
            }
        }
    }
    if non_space > 0 && han * 10 >= non_space * 3 {
        "zh-Hans"
    } else {
        "en"
    }
}
