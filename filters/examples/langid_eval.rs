//! Precision and recall of taojin's document language decision on a labelled JSONL set
//! (`{"text", "lang", "kind"}` per line, e.g. from scripts/build_langid_eval.py), beside
//! plain fastText top-1 on the same texts (newlines → spaces, as datatrove feeds it; its
//! `zh` counted correct for both zh-Hans and zh-Hant, which flatters it).
//!
//! `cargo run --release -p taojin-filters --example langid_eval -- EVAL.jsonl models/lid.176.ftz`

use std::collections::BTreeMap;
use std::time::Instant;

use taojin_filters::{LangIdModel, LangIdentifier};
use taojin_schemas::LangIdSpec;

#[derive(Default)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

fn pr(c: &Counts) -> String {
    let p = if c.tp + c.fp == 0 {
        f64::NAN
    } else {
        c.tp as f64 / (c.tp + c.fp) as f64
    };
    let r = if c.tp + c.fn_ == 0 {
        f64::NAN
    } else {
        c.tp as f64 / (c.tp + c.fn_) as f64
    };
    format!("{p:.3} / {r:.3}")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (eval, model_path) = match args.as_slice() {
        [_, e, m] => (e.clone(), m.clone()),
        _ => return Err("usage: langid_eval EVAL.jsonl MODEL".into()),
    };
    let spec = LangIdSpec::with_model(&model_path);
    let ours = LangIdentifier::new(LangIdModel::load(model_path.as_ref())?, &spec)?;
    let plain = LangIdModel::load(model_path.as_ref())?;
    let text = std::fs::read_to_string(&eval)?;
    // (kind, lang) -> counts, for ours and the baseline.
    let mut table: Table = BTreeMap::new();
    let (mut ours_secs, mut plain_secs, mut n) = (0.0, 0.0, 0);
    for line in text.lines() {
        let rec: serde_json::Value = serde_json::from_str(line)?;
        let (t, truth, kind) = (
            rec["text"].as_str().unwrap_or(""),
            rec["lang"].as_str().unwrap_or(""),
            rec["kind"].as_str().unwrap_or("all"),
        );
        let start = Instant::now();
        let got = ours.identify(t).lang;
        ours_secs += start.elapsed().as_secs_f64();
        let start = Instant::now();
        let flat: String = t.chars().map(|c| if c == '\n' { ' ' } else { c }).collect();
        let mut base = plain
            .predict(&flat, 1)
            .first()
            .map_or("und".to_string(), |(l, _)| l.to_string());
        plain_secs += start.elapsed().as_secs_f64();
        if base == "zh" && truth.starts_with("zh") {
            base = truth.to_string();
        }
        n += 1;
        for (which, label) in [(0, &got), (1, &base)] {
            let hit = label == truth;
            bump(&mut table, kind, truth, which, |c| {
                if hit { c.tp += 1 } else { c.fn_ += 1 }
            });
            if !hit {
                bump(&mut table, kind, label, which, |c| c.fp += 1);
            }
        }
    }
    println!(
        "{n} texts; taojin {:.0} texts/s, plain fastText {:.0} texts/s (one thread)",
        n as f64 / ours_secs,
        n as f64 / plain_secs
    );
    println!("| kind | lang | taojin P / R | plain fastText top-1 P / R |\n|---|---|---|---|");
    for ((kind, lang), (o, b)) in &table {
        if o.tp + o.fn_ == 0 {
            continue; // a label that only ever appears as a wrong answer
        }
        println!("| {kind} | {lang} | {} | {} |", pr(o), pr(b));
    }
    Ok(())
}

type Table = BTreeMap<(String, String), (Counts, Counts)>;

/// Updates the counts of (`kind`, `lang`) for taojin (`which` 0) or the baseline (1).
fn bump(table: &mut Table, kind: &str, lang: &str, which: usize, f: impl FnOnce(&mut Counts)) {
    let e = table
        .entry((kind.to_string(), lang.to_string()))
        .or_default();
    f(if which == 0 { &mut e.0 } else { &mut e.1 });
}
