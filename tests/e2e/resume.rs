//! Resume keyed on content: a model, word list, tokenizer or input replaced in place is
//! never answered from stale output, and a rerun over unchanged files reruns nothing.
//! Each case compares the rerun with a clean run of the same files in another folder.

use serde_json::Value;

use crate::util::*;

fn resumed(stats: &Value) -> Vec<u64> {
    stats["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["tasks_resumed"].as_u64().expect("n"))
        .collect()
}

fn lid_model() -> String {
    let p = lid_model_path();
    assert!(std::path::Path::new(&p).exists(), "{p}: run `make models`");
    p
}

/// Runs `job.toml` again into `fresh/` (a clean run of the same files) and asserts that
/// the kept and removed parts of `out/` are the same bytes.
fn assert_like_a_clean_run(ws: &Workspace) {
    let job = std::fs::read_to_string(ws.path("job.toml")).expect("job");
    ws.write(
        "fresh.toml",
        job.replace("output = \"out\"", "output = \"fresh\""),
    );
    ws.run_ok(&["run", "fresh.toml"]);
    assert_same_parts(&ws.path("out"), &ws.path("fresh"));
}

fn docs_with_words(words: &[&str]) -> String {
    (0..40)
        .map(|i| {
            let w = words[i % words.len()];
            let text = format!(
                "This is a plain English document number {i} about gardens and rivers. It talks about the {w} at length, then walks on to other things that people like to read about on a quiet afternoon with tea and a book in the garden."
            );
            serde_json::json!({"id": format!("d{i}"), "text": text}).to_string() + "\n"
        })
        .collect()
}

#[test]
fn a_word_list_replaced_in_place_reruns_quality_and_later_stages() {
    let ws = Workspace::new();
    ws.write(
        "data/docs.jsonl",
        docs_with_words(&["casino", "poker", "tulip"]),
    );
    ws.write("words.txt", "casino\n");
    let stages = format!(
        "{NORMALIZE}\n[[stages]]\nkind = \"langid\"\nmodel = \"{}\"\nmode = \"annotate\"\n\n\
         [[stages]]\nkind = \"quality\"\nmode = \"annotate\"\n[stages.blocklists]\nwords_en = \"words.txt\"\n\n\
         [[stages]]\nkind = \"normalize\"\nname = \"after\"\n",
        lid_model()
    );
    ws.job("", &input("t", "data/docs.jsonl"), &stages);
    ws.run_ok(&["run", "job.toml"]);
    let hits = || -> i32 {
        int_column(&ws.path("out/quality"), "blocklist.word_hits")
            .iter()
            .sum()
    };
    let first = hits();
    assert!(first > 0);
    // Same words rewritten (a new mtime): answered from the digest, nothing reruns.
    ws.write("words.txt", "casino\n");
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(resumed(&ws.stats("out")), [1, 1, 1, 1]);
    // Another list at the same path: quality and the stage after it rerun, not before.
    ws.write("words.txt", "casino\npoker\n");
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert_eq!(resumed(&stats), [1, 1, 0, 0]);
    assert!(hits() > first, "{first} → {}", hits());
    assert_like_a_clean_run(&ws);
}

#[test]
fn a_classifier_retrained_at_the_same_path_reruns_its_stage() {
    let ws = Workspace::new();
    let good: String = docs_with_words(&["tulip", "rose"]);
    let bad: String = (0..40)
        .map(|i| {
            serde_json::json!({"text": format!("buy now cheap pills click here {i} casino bonus win win win")})
                .to_string()
                + "\n"
        })
        .collect();
    ws.write("good.jsonl", &good);
    ws.write("bad.jsonl", &bad);
    let train = |pos: &str, neg: &str| {
        ws.run_ok(&[
            "train-classifier",
            "--pos",
            pos,
            "--neg",
            neg,
            "--out",
            "clf.bin",
            "--epoch",
            "5",
        ])
    };
    train("good.jsonl", "bad.jsonl");
    ws.write("data/docs.jsonl", good);
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"classifier\"\nmodel = \"clf.bin\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let before = float_column(&ws.path("out/classifier"), "quality.score");
    // The same data-mix loop users run: retrain with the labels swapped, same path.
    train("bad.jsonl", "good.jsonl");
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(resumed(&ws.stats("out")), [1, 0]);
    let after = float_column(&ws.path("out/classifier"), "quality.score");
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    assert!(
        mean(&before) > 0.5 && mean(&after) < 0.5,
        "{} → {}",
        mean(&before),
        mean(&after)
    );
    assert_like_a_clean_run(&ws);
}

#[test]
fn a_langid_model_rewritten_with_other_bytes_is_not_reused() {
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(20, "a"));
    std::fs::copy(lid_model(), ws.path("lid.ftz")).expect("copy");
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!(
            "{NORMALIZE}\n[[stages]]\nkind = \"langid\"\nmodel = \"lid.ftz\"\nmode = \"annotate\"\n"
        ),
    );
    ws.run_ok(&["run", "job.toml"]);
    // A damaged model in place: the stage must run again (and say what is wrong), not
    // hand back the output of the old model.
    let mut bytes = std::fs::read(ws.path("lid.ftz")).expect("read");
    bytes.truncate(bytes.len() / 2);
    std::fs::write(ws.path("lid.ftz"), bytes).expect("write");
    let out = ws.taojin(&["run", "job.toml"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("lid.ftz"));
    // The model back: the stage reruns and matches a clean run.
    std::fs::copy(lid_model(), ws.path("lid.ftz")).expect("copy");
    ws.run_ok(&["run", "job.toml"]);
    assert_like_a_clean_run(&ws);
}

const TOKENIZE: &str = "[[stages]]\nkind = \"normalize\"\n\n[[stages]]\nkind = \"tokenize\"\ntokenizer = \"tok.json\"\ntrain_vocab = 400\nseq_len = 32\nvalid_fraction = 0.1\n";

fn manifest_tokenizer_sha(ws: &Workspace) -> String {
    let m: Value = serde_json::from_slice(
        &std::fs::read(ws.path("out/shards/manifest.json")).expect("manifest"),
    )
    .expect("json");
    m["tokenizer"]["sha256"].as_str().expect("sha").to_string()
}

fn file_sha(path: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

#[test]
fn a_tokenizer_replaced_or_deleted_is_never_stale_in_the_manifest() {
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(200, "a"));
    ws.job("", &input("t", "data/docs.jsonl"), TOKENIZE);
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(manifest_tokenizer_sha(&ws), file_sha(&ws.path("tok.json")));
    // A rerun over the tokenizer it trained reruns nothing.
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(resumed(&ws.stats("out")), [1, 1]);
    // Another tokenizer at the same path: tokenize reruns with it.
    ws.run_ok(&[
        "train-tokenizer",
        "job.toml",
        "--vocab",
        "270",
        "--out",
        "other.json",
        "--stage",
        "normalize",
    ]);
    std::fs::rename(ws.path("other.json"), ws.path("tok.json")).expect("mv");
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(resumed(&ws.stats("out")), [1, 0]);
    assert_eq!(manifest_tokenizer_sha(&ws), file_sha(&ws.path("tok.json")));
    // Deleted: the setup step trains it again and the manifest names what is there.
    std::fs::remove_file(ws.path("tok.json")).expect("rm");
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(manifest_tokenizer_sha(&ws), file_sha(&ws.path("tok.json")));
    // Without `train_vocab`, a missing tokenizer is an error naming it.
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &TOKENIZE.replace("train_vocab = 400\n", ""),
    );
    std::fs::remove_file(ws.path("tok.json")).expect("rm");
    let out = ws.taojin(&["run", "job.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tok.json"));
}

#[test]
fn an_input_rewritten_with_the_same_size_reruns() {
    let ws = Workspace::new();
    let docs = jsonl_docs(10, "a");
    ws.write("data/docs.jsonl", &docs);
    ws.job("", &input("t", "data/docs.jsonl"), NORMALIZE);
    ws.run_ok(&["run", "job.toml"]);
    let same_size = docs.replace("Document", "Dokument");
    assert_eq!(same_size.len(), docs.len());
    ws.write("data/docs.jsonl", &same_size);
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(resumed(&ws.stats("out")), [0]);
    let texts = column(&ws.path("out/normalize"), "text", false);
    assert!(
        texts
            .iter()
            .all(|t| t.as_deref().is_some_and(|t| t.contains("Dokument")))
    );

    // By content: a new mtime over the same bytes reruns nothing, new bytes do.
    ws.job(
        "inputs_fingerprint = \"content\"",
        &input("t", "data/docs.jsonl"),
        NORMALIZE,
    );
    ws.run_ok(&["run", "job.toml"]);
    ws.write("data/docs.jsonl", &same_size);
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(resumed(&ws.stats("out")), [1]);
    ws.write("data/docs.jsonl", &docs);
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(resumed(&ws.stats("out")), [0]);
}

#[test]
fn any_stage_kind_may_come_first() {
    let ws = Workspace::new();
    let mut docs = jsonl_docs(30, "a");
    docs.push_str(&jsonl_docs(30, "a").replace("\"id\":\"a-", "\"id\":\"b-"));
    ws.write("data/docs.jsonl", &docs);
    // Only deduplicate an existing corpus: the inputs are read into `read/` first.
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        "[[stages]]\nkind = \"exact_dedup\"\n",
    );
    let plan = ws.run_ok(&["plan", "job.toml"]);
    assert!(
        plan.contains("read") && plan.contains("exact_dedup:map"),
        "{plan}"
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["name"], "read");
    assert_eq!(stats["stages"][0]["docs_kept"], 60);
    assert_eq!(stats["stages"][1]["docs_removed"]["exact_dup"], 30);
    assert_conserved(&ws, "out");
    // Only tokenize.
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &TOKENIZE.replace("[[stages]]\nkind = \"normalize\"\n\n", ""),
    );
    ws.run_ok(&["run", "job.toml"]);
    assert!(ws.path("out/shards/manifest.json").exists());
}
