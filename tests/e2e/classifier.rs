//! `taojin train-classifier` and the `classifier` stage on the demo's planted good and
//! bad documents.

use std::io::Read;

use crate::util::*;

#[test]
fn trains_and_scores_held_out_documents() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    let (mut pos, mut neg, mut held) = (String::new(), String::new(), String::new());
    let mut n = 0;
    for f in all_files(&ws.path("data")) {
        let mut text = String::new();
        zstd::Decoder::new(std::fs::File::open(ws.path("data").join(f)).expect("open"))
            .expect("zstd")
            .read_to_string(&mut text)
            .expect("read");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            n += 1;
            if n % 2 == 0 {
                held.push_str(line);
                held.push('\n');
            } else if v["truth"]["quality"] == "good" {
                pos.push_str(line);
                pos.push('\n');
            } else {
                neg.push_str(line);
                neg.push('\n');
            }
        }
    }
    ws.write("pos.jsonl", pos);
    ws.write("neg.jsonl", neg);
    ws.write("held/docs.jsonl", held);
    let out = ws.run_ok(&[
        "train-classifier",
        "--pos",
        "pos.jsonl",
        "--neg",
        "neg.jsonl",
        "--out",
        "quality.bin",
    ]);
    assert!(out.contains("training accuracy"), "{out}");
    ws.job(
        "",
        &input("held", "held/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"classifier\"\nmodel = \"quality.bin\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/classifier");
    let scores = float_column(&dir, "quality.score");
    let metas = column(&dir, "meta", false);
    let (mut right, mut total) = (0, 0);
    for (s, m) in scores.iter().zip(&metas) {
        let v: serde_json::Value = serde_json::from_str(m.as_deref().expect("meta")).expect("json");
        let good = v["truth"]["quality"] == "good";
        total += 1;
        right += ((*s >= 0.5) == good) as usize;
    }
    assert!(
        right as f64 >= 0.85 * total as f64,
        "held-out accuracy {right}/{total}"
    );
    let bad = ws.taojin(&[
        "train-classifier",
        "--pos",
        "pos.jsonl",
        "--neg",
        "missing.jsonl",
        "--out",
        "x.bin",
    ]);
    assert!(
        !bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("missing.jsonl")
    );
}
