//! Tokenize → pack → shuffle → shard: rows reproduce the documents, tokens are conserved,
//! splits are by document, checksums verify, and shards do not depend on threads.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{UInt16Type, UInt32Type, UInt64Type};
use sha2::{Digest, Sha256};

use crate::util::*;

const STAGES: &str = "[[stages]]\nkind = \"normalize\"\n\n[[stages]]\nkind = \"tokenize\"\ntokenizer = \"tok.json\"\ntrain_vocab = 1000\nseq_len = 128\nvalid_fraction = 0.1\nshard_bytes = \"64KiB\"\nmemory_limit = \"256KiB\"\n";

/// (row_id, tokens, doc_starts) of every row of a split, in file order.
fn rows(out: &std::path::Path, split: &str) -> Vec<(u64, Vec<u32>, Vec<u32>)> {
    let mut v = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(out.join("shards"))
        .expect("shards")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files.iter().filter(|f| {
        f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(split))
    }) {
        let reader =
            arrow::ipc::reader::FileReader::try_new(std::fs::File::open(f).expect("open"), None)
                .expect("ipc");
        for b in reader {
            let b = b.expect("batch");
            let tokens = b.column(0).as_fixed_size_list();
            let starts = b.column(1).as_list::<i32>();
            let ids = b.column(2).as_primitive::<UInt64Type>();
            for i in 0..b.num_rows() {
                let t = tokens.value(i);
                let t: Vec<u32> = match t.data_type() {
                    arrow::datatypes::DataType::UInt16 => t
                        .as_primitive::<UInt16Type>()
                        .values()
                        .iter()
                        .map(|&x| x as u32)
                        .collect(),
                    _ => t.as_primitive::<UInt32Type>().values().to_vec(),
                };
                let s = starts
                    .value(i)
                    .as_primitive::<UInt32Type>()
                    .values()
                    .to_vec();
                v.push((ids.value(i), t, s));
            }
        }
    }
    v
}

/// A workspace with the demo corpus and a normalize → tokenize job on it.
fn demo_tokenize() -> Workspace {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    ws.job(
        "split_bytes = 400000",
        &input("demo", "data/*.jsonl.zst"),
        STAGES,
    );
    ws
}

#[test]
fn shards_reproduce_documents_and_conserve_tokens() {
    let ws = demo_tokenize();
    ws.run_ok(&["run", "job.toml", "--threads", "2"]);
    let out = ws.path("out");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("shards/manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["dtype"], "uint16");
    assert_eq!(manifest["seq_len"], 128);
    let eos = manifest["tokenizer"]["eos_id"].as_u64().expect("eos") as u32;
    // Checksums verify.
    for s in manifest["shards"].as_array().expect("shards") {
        let bytes = std::fs::read(out.join("shards").join(s["file"].as_str().expect("file")))
            .expect("shard");
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            s["sha256"].as_str().expect("sha")
        );
    }
    assert!(
        manifest["shards"].as_array().expect("shards").len() > 2,
        "several shards of 64 KiB"
    );
    // Every document in exactly one split; token conservation per split.
    let dir = out.join("tokenize");
    let splits = column(&dir, "tokens.split", false);
    let counts = int_column(&dir, "tokens.count");
    let docs = column(&ws.path("out/normalize"), "id", false).len();
    assert_eq!(splits.len(), docs);
    let mut per_split: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (s, c) in splits.iter().zip(&counts) {
        let e = per_split.entry(s.clone().expect("split")).or_default();
        e.0 += 1;
        e.1 += *c as u64;
    }
    for (split, (n, tokens)) in &per_split {
        let m = &manifest["splits"][split];
        assert_eq!(m["documents"].as_u64(), Some(*n));
        assert_eq!(m["document_tokens"].as_u64(), Some(*tokens));
        let rows = m["rows"].as_u64().expect("rows");
        assert_eq!(
            *tokens,
            rows * 128 + m["remainder_tokens"].as_u64().expect("rem"),
            "token conservation in {split}"
        );
        assert!(m["remainder_tokens"].as_u64().expect("rem") < 128);
    }
    // Rows in their original order decode to the documents joined by EOS, in order.
    let tok = tokenizers::Tokenizer::from_file(ws.path("tok.json")).expect("tokenizer");
    let texts = column(&dir, "text", false);
    let mut expected: Vec<u32> = Vec::new();
    for (t, s) in texts.iter().zip(&splits) {
        if s.as_deref() == Some("train") {
            expected.extend(
                tok.encode(t.as_deref().expect("text"), false)
                    .expect("encode")
                    .get_ids(),
            );
            expected.push(eos);
        }
    }
    let mut train = rows(&out, "train");
    let shuffled: Vec<u64> = train.iter().map(|r| r.0).collect();
    train.sort_by_key(|r| r.0);
    assert_ne!(
        shuffled,
        train.iter().map(|r| r.0).collect::<Vec<_>>(),
        "rows are shuffled"
    );
    assert_eq!(
        train.iter().map(|r| r.0).collect::<Vec<_>>(),
        (0..train.len() as u64).collect::<Vec<_>>()
    );
    let flat: Vec<u32> = train.iter().flat_map(|r| r.1.iter().copied()).collect();
    assert_eq!(flat[..], expected[..flat.len()]);
    // doc_starts mark exactly the positions after an EOS (and a document start at 0).
    let mut prev_eos = true;
    for (_, tokens, starts) in &train {
        let mut want = Vec::new();
        for (p, &t) in tokens.iter().enumerate() {
            if prev_eos {
                want.push(p as u32);
            }
            prev_eos = t == eos;
        }
        assert_eq!(starts, &want);
    }
    // The fast encoder the stage used agrees with `tokenizers` on every input document.
    for f in std::fs::read_dir(ws.path("data")).expect("data").flatten() {
        let f = f.path();
        let report = ws.run_ok(&["encode-check", "tok.json", f.to_str().expect("utf8")]);
        assert!(report.contains("\"mismatches\":0"), "{report}");
    }
    // Same bytes with one thread.
    std::fs::rename(&out, ws.path("two")).expect("rename");
    ws.run_ok(&["run", "job.toml", "--threads", "1"]);
    for s in manifest["shards"].as_array().expect("shards") {
        let f = s["file"].as_str().expect("file");
        assert_eq!(
            std::fs::read(ws.path("two/shards").join(f)).expect("a"),
            std::fs::read(ws.path("out/shards").join(f)).expect("b"),
            "{f}"
        );
    }
    // Megatron export (read back by megatron-core in python/tests): the same bytes from
    // either run, a Megatron index header, and a missing shard named in the error.
    for run in ["two", "out"] {
        let shards = format!("{run}/shards");
        let dest = format!("mega-{run}");
        let said = ws.run_ok(&["export", &shards, "--format", "megatron", "--out", &dest]);
        assert!(
            said.contains("train: ") && said.contains("valid: "),
            "{said}"
        );
    }
    for f in ["train.bin", "train.idx", "valid.bin", "valid.idx"] {
        let a = std::fs::read(ws.path("mega-two").join(f)).expect("a");
        assert_eq!(
            a,
            std::fs::read(ws.path("mega-out").join(f)).expect("b"),
            "{f}"
        );
        if f.ends_with(".idx") {
            assert_eq!(&a[..9], b"MMIDIDX\x00\x00");
        }
    }
    let first = manifest["shards"][0]["file"].as_str().expect("file");
    std::fs::remove_file(ws.path("out/shards").join(first)).expect("rm");
    let failed = ws.taojin(&["export", "out/shards", "--out", "mega-bad"]);
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success() && err.contains(first), "{err}");
}

#[test]
fn tokenizer_errors_are_clear() {
    let ws = Workspace::new();
    ws.write("data/a.jsonl", jsonl_docs(3, "a"));
    ws.job(
        "",
        &input("a", "data/a.jsonl"),
        &STAGES.replace("train_vocab = 1000\n", ""),
    );
    let out = ws.taojin(&["run", "job.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tok.json"), "{stderr}");
    ws.job(
        "",
        &input("a", "data/a.jsonl"),
        &format!("{STAGES}\n[[stages]]\nkind = \"normalize\"\nname = \"after\"\n"),
    );
    let stderr = String::from_utf8_lossy(&ws.taojin(&["run", "job.toml"]).stderr).into_owned();
    assert!(stderr.contains("must be the last stage"), "{stderr}");
}

/// A local run does tokenize's apply (token counts per document) on the pool while the
/// reduce packs and shards on its own thread. Killed in an apply task meanwhile, the rerun
/// gives the clean run's shards and parts byte for byte and leaves no temporary file.
/// (Step by step, apply after reduce, is the Slurm test's local-run comparison.)
#[test]
fn a_crash_in_the_apply_beside_the_reduce_resumes_identically() {
    let ws = demo_tokenize();
    // The run's info log.
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_taojin"))
            .args(["run", "job.toml", "--threads", "2"])
            .current_dir(ws.dir.path())
            .env("RUST_LOG", "info")
            .env_remove(taojin_pipeline::engine::FAILPOINT_ENV)
            .output()
            .expect("run");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let log = run();
    assert!(log.contains("apply beside the reduce"), "{log}");
    std::fs::rename(ws.path("out"), ws.path("clean")).expect("rename");
    ws.run_crashing("tokenize:1", &["run", "job.toml", "--threads", "2"]);
    assert!(!ws.path("out/tokenize/_done/part-00001").exists());
    ws.run_ok(&["run", "job.toml", "--threads", "2"]);
    assert_same_parts(&ws.path("clean"), &ws.path("out"));
    let same_shards = || {
        let shards = all_files(&ws.path("clean/shards"));
        assert_eq!(shards, all_files(&ws.path("out/shards")));
        for f in shards {
            assert_eq!(
                std::fs::read(ws.path("clean/shards").join(&f)).expect("clean shard"),
                std::fs::read(ws.path("out/shards").join(&f)).expect("resumed shard"),
                "{}",
                f.display()
            );
        }
    };
    same_shards();
    assert_no_tmp_files(&ws.path("out"));
    assert_conserved(&ws, "out");
    // Killed after every apply task was done but before the reduce's marker: the rerun
    // does the reduce alone, and the stage counts as run, not as skipped.
    std::fs::remove_file(ws.path("out/tokenize/_work/_done/reduce")).expect("marker");
    std::fs::remove_dir_all(ws.path("out/shards")).expect("shards");
    // `taojin plan` says the stage is not finished though its apply tasks are done.
    let plan = ws.run_ok(&["plan", "job.toml"]);
    let line = plan
        .lines()
        .find(|l| l.contains(" tokenize "))
        .unwrap_or_default();
    assert!(line.contains("the reduce is not done"), "{plan}");
    let log = run();
    assert!(
        !log.lines()
            .any(|l| l.contains("tasks already done") && l.contains("stage=tokenize")),
        "{log}"
    );
    same_shards();
}

/// A reduce that fails at once (a damaged doc file) stops the apply beside it: the run
/// fails naming the file without first doing the apply's other tasks.
#[test]
fn a_reduce_that_fails_stops_the_apply_beside_it() {
    let ws = Workspace::new();
    let tasks = 200;
    for i in 0..tasks {
        ws.write(
            &format!("data/{i:03}.jsonl"),
            jsonl_docs(2, &format!("d{i}")),
        );
    }
    ws.job("", &input("a", "data/*.jsonl"), STAGES);
    ws.run_ok(&["run", "job.toml", "--threads", "1"]);
    let work = ws.path("out/tokenize/_work");
    std::fs::remove_file(work.join("_done/reduce")).expect("reduce marker");
    std::fs::remove_dir_all(ws.path("out/shards")).expect("shards");
    std::fs::remove_dir_all(ws.path("out/tokenize/_done")).expect("apply markers");
    std::fs::write(work.join("docs-00000.bin"), [0u8; 3]).expect("damage");
    let out = ws.taojin(&["run", "job.toml", "--threads", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("a tokenize doc file"),
        "{stderr}"
    );
    let applied = std::fs::read_dir(ws.path("out/tokenize/_done")).map_or(0, |d| d.count());
    assert!(
        applied < tasks / 2,
        "{applied} of {tasks} apply tasks ran after the reduce failed"
    );
}
