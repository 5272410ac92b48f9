//! The mix stage: sources by SQL predicate sampled to token targets (down and up), exact
//! accounting through tokenize, reruns limited to the mix, and a dry run that writes nothing.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::*;

fn docs(n: usize, prefix: &str, words: usize) -> String {
    (0..n)
        .map(|i| {
            let body: Vec<String> = (0..words)
                .map(|w| format!("w{}", (i * 7 + w * 13) % 97))
                .collect();
            let text = format!("{prefix} document {i}: {} 第{i}段文字。", body.join(" "));
            serde_json::json!({"id": format!("{prefix}-{i}"), "text": text}).to_string() + "\n"
        })
        .collect()
}

fn stages(total: Option<u64>) -> String {
    let total = total.map_or(String::new(), |t| format!("total_tokens = {t}\n"));
    format!(
        "[[stages]]\nkind = \"normalize\"\n\n\
         [[stages]]\nkind = \"mix\"\ntokenizer = \"tok.json\"\n{total}\n\
         [[stages.sources]]\nname = \"big\"\nwhere = \"source = 'big'\"\nweight = 0.5\n\n\
         [[stages.sources]]\nname = \"small\"\nwhere = \"source = 'small' AND length(text) > 0\"\nweight = 0.5\n\n\
         [[stages]]\nkind = \"tokenize\"\ntokenizer = \"tok.json\"\nseq_len = 64\nvalid_fraction = 0.1\nshard_bytes = \"16KiB\"\n"
    )
}

fn setup(total: Option<u64>) -> Workspace {
    let ws = Workspace::new();
    ws.write("data/big.jsonl", docs(400, "big", 60));
    ws.write("data/small.jsonl", docs(80, "small", 60));
    ws.write("data/other.jsonl", docs(20, "other", 30));
    let inputs = ["big", "small", "other"]
        .map(|n| input(n, &format!("data/{n}.jsonl")))
        .join("\n");
    ws.write("inputs.toml", &inputs);
    ws.job("split_bytes = 20000", &inputs, &stages(total));
    ws
}

fn plan(ws: &Workspace) -> Value {
    serde_json::from_slice(&std::fs::read(ws.path("out/mix/mix_plan.json")).expect("plan"))
        .expect("json")
}

fn manifest(ws: &Workspace, out: &str) -> Value {
    serde_json::from_slice(
        &std::fs::read(ws.path(out).join("shards/manifest.json")).expect("manifest"),
    )
    .expect("json")
}

#[test]
fn mix_samples_sources_to_token_targets() {
    let ws = setup(None);
    ws.run_ok(&["run", "job.toml", "--until", "normalize"]);
    assert!(
        !ws.path("out/mix").exists(),
        "--until stops after the stage"
    );
    // The dry run needs only the stages before the mix, and writes nothing.
    let before: Vec<_> = all_files(&ws.path("out"));
    let err = ws.taojin(&["mix", "job.toml", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(!err.status.success());
    assert!(stderr.contains("tok.json"), "no tokenizer yet: {stderr}");
    ws.run_ok(&[
        "train-tokenizer",
        "job.toml",
        "--vocab",
        "600",
        "--out",
        "tok.json",
        "--stage",
        "normalize",
    ]);
    let table = ws.run_ok(&["mix", "job.toml", "--dry-run"]);
    assert!(table.contains("calibrated on"), "{table}");
    assert!(table.contains("big") && table.contains("small"), "{table}");
    assert!(
        table.contains("unselected") && table.contains(" 20 "),
        "{table}"
    );
    assert_eq!(
        before,
        all_files(&ws.path("out")),
        "the dry run wrote nothing"
    );

    // Weights, no total: the scarce source is taken whole, the big one down-sampled.
    ws.run_ok(&["run", "job.toml", "--threads", "2"]);
    let p = plan(&ws);
    let src = |p: &Value, i: usize, k: &str| p["sources"][i][k].as_f64().expect(k);
    assert!((src(&p, 1, "epochs") - 1.0).abs() < 1e-9);
    assert!(src(&p, 0, "epochs") < 0.5, "{p}");
    assert!(src(&p, 0, "sampled_documents") > 5.0);
    assert_conserved(&ws, "out");

    // Only the total changes: the small source is repeated 3 times, and only mix and
    // tokenize rerun.
    let small = src(&p, 1, "tokens_available");
    let total = (6.0 * small) as u64;
    let inputs =
        String::from_utf8(std::fs::read(ws.path("inputs.toml")).expect("inputs")).expect("utf8");
    ws.job("split_bytes = 20000", &inputs, &stages(Some(total)));
    ws.run_ok(&["run", "job.toml", "--threads", "2"]);
    let stats = ws.stats("out");
    assert_conserved(&ws, "out");
    let stage = |name: &str| {
        stats["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .find(|s| s["name"] == name)
            .expect(name)
            .clone()
    };
    assert_eq!(
        stage("normalize")["tasks_resumed"],
        stage("normalize")["tasks"]
    );
    assert_eq!(stage("mix")["tasks_resumed"], 0);
    let removed = &stage("mix")["docs_removed"];
    assert_eq!(removed["mix_unselected"], 20, "{removed}");
    let down = removed["mix_downsampled"].as_u64().expect("downsampled");
    assert!(
        (100..300).contains(&down),
        "about 3/8 of 400 kept: {removed}"
    );

    let p = plan(&ws);
    assert!((src(&p, 1, "epochs") - 3.0).abs() < 1e-3, "{p}");
    // Exact accounting: copies × tokens per document, per source and per split.
    let dir = ws.path("out/tokenize");
    let copies = int_column(&dir, "mix.copies");
    let counts = int_column(&dir, "tokens.count");
    let sources = column(&dir, "mix.source", false);
    let splits = column(&dir, "tokens.split", false);
    let mut per_source: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_split: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..copies.len() {
        let s = sources[i].clone().expect("source");
        if s == "small" {
            assert!((2..=4).contains(&copies[i]), "epochs 3 ± rounding");
        } else {
            assert_eq!(copies[i], 1, "big is down-sampled, never repeated");
        }
        let n = (copies[i] * counts[i]) as u64;
        *per_source.entry(s).or_default() += n;
        *per_split
            .entry(splits[i].clone().expect("split"))
            .or_default() += n;
    }
    let m = manifest(&ws, "out");
    for (i, name) in ["big", "small"].iter().enumerate() {
        let realized = m["mix"]["sources"][i]["tokens_realized"]
            .as_u64()
            .expect("realized");
        assert_eq!(realized, per_source[*name]);
        let target = m["mix"]["sources"][i]["tokens_target"]
            .as_f64()
            .expect("target");
        let err = (realized as f64 - target).abs() / target;
        assert!(err < 0.15, "{name}: realized {realized} vs target {target}");
    }
    for (split, tokens) in &per_split {
        let info = &m["splits"][split];
        assert_eq!(info["document_tokens"].as_u64(), Some(*tokens));
        assert_eq!(
            *tokens,
            info["rows"].as_u64().expect("rows") * 64
                + info["remainder_tokens"].as_u64().expect("rem")
        );
    }
    let epochs = m["splits"]["train"]["epochs_per_source"]["small"]
        .as_f64()
        .expect("epochs");
    assert!((epochs - 3.0).abs() < 0.05, "{epochs}");
    let table = ws.run_ok(&["mix", "job.toml", "--dry-run"]);
    assert!(
        table.contains("as run") && table.contains("tokens realized"),
        "{table}"
    );

    // The same shards with one thread.
    std::fs::rename(ws.path("out"), ws.path("two")).expect("rename");
    ws.run_ok(&["run", "job.toml", "--threads", "1"]);
    let one = manifest(&ws, "out");
    assert_eq!(one["shards"], manifest(&ws, "two")["shards"]);
}

#[test]
fn mix_errors_name_the_key() {
    let ws = setup(None);
    let inputs = input("big", "data/big.jsonl");
    let mix = "[[stages]]\nkind = \"normalize\"\n\n[[stages]]\nkind = \"mix\"\n\n\
               [[stages.sources]]\nname = \"en\"\nwhere = \"langauge = 'en'\"\nweight = 1.0\n";
    ws.job("", &inputs, mix);
    let out = ws.taojin(&["mix", "job.toml", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--until normalize"), "{stderr}");
    let out = ws.taojin(&["run", "job.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stages[1].sources[0].where"), "{stderr}");
    assert!(stderr.contains("\"text\""), "lists the columns: {stderr}");
    ws.job(
        "",
        &inputs,
        &mix.replace("weight = 1.0", "weight = 1.0\ntokens = 10"),
    );
    let stderr = String::from_utf8_lossy(&ws.taojin(&["run", "job.toml"]).stderr).into_owned();
    assert!(stderr.contains("stages[1].sources[0]"), "{stderr}");
    assert!(stderr.contains("exactly one of"), "{stderr}");
}

#[test]
fn cluster_weight_gives_survivors_of_big_clusters_more_copies() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    let stages = "[[stages]]\nkind = \"normalize\"\n\n[[stages]]\nkind = \"minhash_dedup\"\n\n\
        [[stages]]\nkind = \"mix\"\ncluster_weight = \"linear\"\n\n\
        [[stages.sources]]\nname = \"all\"\nwhere = \"true\"\nweight = 1.0\n";
    ws.job("", &input("demo", "data/*.jsonl.zst"), stages);
    ws.run_ok(&["run", "job.toml"]);
    assert_conserved(&ws, "out");
    let sizes: Vec<u32> = primitive_column::<arrow::datatypes::UInt32Type>(
        &ws.path("out/mix"),
        "dup_cluster_size",
        0,
    );
    let copies = int_column(&ws.path("out/mix"), "mix.copies");
    let removed = column(&ws.path("out/mix"), "id", true).len();
    let mean = |big: bool| {
        let v: Vec<f64> = sizes
            .iter()
            .zip(&copies)
            .filter(|(s, _)| (**s > 1) == big)
            .map(|(_, c)| *c as f64)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    assert!(
        sizes.iter().any(|&s| s > 1),
        "the demo plants near-duplicates"
    );
    // Kept rows only: down-sampled unique documents were removed, so compare among kept.
    assert!(
        mean(true) > mean(false),
        "{} vs {}",
        mean(true),
        mean(false)
    );
    assert!(removed > 0, "unique documents gave up some of the budget");
}
