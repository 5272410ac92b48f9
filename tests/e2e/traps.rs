//! Traps a user can set: each would once lose data, fake success or hang. Every test sets
//! one and asserts the outcome: exit code, a message naming the file or key, counts.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// Runs taojin with a deadline: a hang is a failure, not a stuck suite.
fn run_within(ws: &Workspace, args: &[&str], secs: u64) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_taojin"))
        .args(args)
        .current_dir(ws.dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("taojin {args:?} still running after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_symlink_loop_reads_every_file_once() {
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(5, "a"));
    std::fs::create_dir_all(ws.path("data/sub")).expect("mkdir");
    std::os::unix::fs::symlink("..", ws.path("data/sub/up")).expect("symlink");
    std::os::unix::fs::symlink("docs.jsonl", ws.path("data/again.jsonl")).expect("symlink");
    ws.job("on_bad_record = \"fail\"", &input("t", "data"), NORMALIZE);
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["docs_in"], 5);
    let counters = &stats["stages"][0]["counters"];
    assert_eq!(counters["input_link_to_folder"], 1, "{counters}");
    assert_eq!(counters["input_seen_twice"], 1, "{counters}");
    // Following links on purpose: the loop is detected, the files still read once.
    ws.job(
        "",
        "[[inputs]]\nname = \"t\"\npath = \"data\"\nfollow_links = true\n",
        NORMALIZE,
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["docs_in"], 5);
    assert_eq!(stats["stages"][0]["counters"]["input_link_loop"], 1);
}

#[test]
fn a_named_pipe_in_an_input_folder_is_skipped_not_opened() {
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(3, "a"));
    let made = Command::new("mkfifo")
        .arg(ws.path("data/pipe.jsonl"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    ws.job("", &input("t", "data"), NORMALIZE);
    let out = run_within(&ws, &["run", "job.toml"], 60);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["docs_in"], 3);
    assert_eq!(stats["stages"][0]["counters"]["input_fifo"], 1);
    // Named directly, it is an error naming it, at once.
    ws.job("", &input("t", "data/pipe.jsonl"), NORMALIZE);
    let out = run_within(&ws, &["run", "job.toml"], 60);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pipe.jsonl") && stderr(&out).contains("not a regular file"));
}

/// The start time of process `pid` as /proc shows it (field 22).
fn proc_start(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &stat[stat.rfind(')').expect(")") + 1..];
    rest.split_whitespace()
        .nth(19)
        .expect("field")
        .parse()
        .expect("n")
}

#[test]
fn a_second_writer_is_refused_and_a_dead_ones_lock_is_broken() {
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(5, "a"));
    ws.job("", &input("t", "data/docs.jsonl"), NORMALIZE);
    // Another live run holds the output (a process of this host).
    let mut holder = Command::new("sleep").arg("60").spawn().expect("sleep");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host");
    let lock = serde_json::json!({
        "holder": "local", "host": host.trim(), "pid": holder.id(),
        "proc_start": proc_start(holder.id()), "since": 0, "config": "0123456789abcdef"
    });
    ws.write("out/_lock.json", lock.to_string());
    let out = ws.taojin(&["run", "job.toml"]);
    assert_eq!(out.status.code(), Some(4), "in use");
    let err = stderr(&out);
    assert!(
        err.contains("_lock.json") && err.contains(&format!("pid {}", holder.id())),
        "{err}"
    );
    assert!(!ws.path("out/stats.json").exists(), "nothing ran");
    // The holder dies without cleaning up: its lock is stale and broken with a message.
    holder.kill().expect("kill");
    holder.wait().expect("wait");
    let out = ws.taojin(&["run", "job.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("stale lock"), "{}", stderr(&out));
    assert!(!ws.path("out/_lock.json").exists(), "released at the end");
    // Cluster steps share the lock of their job: prepare takes it, finalize releases it.
    ws.run_ok(&["run", "job.toml", "--stage", "prepare", "--task", "0"]);
    assert!(ws.path("out/_lock.json").exists());
    ws.run_ok(&["run", "job.toml", "--stage", "normalize", "--task", "0"]);
    let local = ws.taojin(&["run", "job.toml"]);
    assert_eq!(
        local.status.code(),
        Some(4),
        "a local run does not race the cluster"
    );
    ws.run_ok(&["run", "job.toml", "--stage", "finalize", "--task", "0"]);
    assert!(!ws.path("out/_lock.json").exists());
}

#[test]
fn an_output_inside_an_input_is_refused() {
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(5, "a"));
    for (output, path) in [
        ("data/out", "data/*.jsonl"),
        ("data", "data"),
        ("data/x/..", "data"),
    ] {
        ws.write(
            "job.toml",
            format!(
                "[job]\nname = \"t\"\noutput = \"{output}\"\n{}\n{NORMALIZE}",
                input("t", path)
            ),
        );
        let out = ws.taojin(&["run", "job.toml"]);
        assert_eq!(out.status.code(), Some(1), "{output} in {path}");
        assert!(
            stderr(&out).contains("inside inputs[0].path"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(
        all_files(&ws.path("data")).len(),
        1,
        "nothing written into the input"
    );
}

#[test]
fn arguments_and_values_that_cannot_work_are_refused() {
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(5, "a"));
    ws.job("", &input("t", "data/docs.jsonl"), NORMALIZE);
    for threads in ["0", "100000", "many"] {
        let start = Instant::now();
        let out = ws.taojin(&["run", "job.toml", "--threads", threads]);
        assert_eq!(out.status.code(), Some(2), "--threads {threads}");
        assert!(stderr(&out).contains("--threads"), "{}", stderr(&out));
        assert!(start.elapsed() < Duration::from_secs(20));
    }
    // seq_len longer than the whole corpus: an error, not zero shards and exit 0.
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"tokenize\"\ntokenizer = \"tok.json\"\ntrain_vocab = 300\nseq_len = 100000\n"),
    );
    let out = ws.taojin(&["run", "job.toml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("seq_len"), "{}", stderr(&out));
    // Values that would remove everything, and typed values, name their key.
    let cases = [
        (
            "[[stages]]\nkind = \"tokenize\"\ntokenizer = \"t.json\"\ntrain_vocab = 0\n",
            "stages[1].train_vocab",
        ),
        (
            "[[stages]]\nkind = \"line_dedup\"\nmax_occurrences = 0\n",
            "stages[1].max_occurrences",
        ),
        (
            "[[stages]]\nkind = \"langid\"\nmodel = \"m\"\n\n[[stages]]\nkind = \"quality\"\n[stages.en.gopher]\nmin_words = \"fifty\"\n",
            "stages[2].en.gopher.min_words",
        ),
        (
            "[[stages]]\nkind = \"exact_dedup\"\nmemory_limit = \"lots\"\n",
            "stages[1].memory_limit",
        ),
        (
            "[[stages]]\nkind = \"quality\"\n",
            "put a `langid` stage before it",
        ),
    ];
    for (stage, key) in cases {
        ws.job(
            "",
            &input("t", "data/docs.jsonl"),
            &format!("{NORMALIZE}\n{stage}"),
        );
        let out = ws.taojin(&["run", "job.toml"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(key), "{key}: {err}");
        // Printed once, not two or three times in one line.
        assert!(err.matches("invalid value").count() <= 1, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn a_parquet_text_column_of_numbers_is_refused_naming_it() {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    let ws = Workspace::new();
    let schema = Arc::new(Schema::new(vec![Field::new(
        "text",
        DataType::Int64,
        false,
    )]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int64Array::from(vec![42, 7]))],
    )
    .expect("batch");
    std::fs::create_dir_all(ws.path("data")).expect("mkdir");
    let f = std::fs::File::create(ws.path("data/n.parquet")).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    ws.job("", &input("t", "data/n.parquet"), NORMALIZE);
    let out = ws.taojin(&["run", "job.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("n.parquet") && err.contains("`text`") && err.contains("Int64"),
        "{err}"
    );
}

#[test]
fn what_killed_writers_left_is_removed_by_the_next_run() {
    let ws = Workspace::new();
    ws.write("data/docs.jsonl", jsonl_docs(50, "a"));
    let stages = format!(
        "{NORMALIZE}\n[[stages]]\nkind = \"tokenize\"\ntokenizer = \"tok.json\"\ntrain_vocab = 300\nseq_len = 16\n"
    );
    ws.job("", &input("t", "data/docs.jsonl"), &stages);
    ws.run_ok(&["run", "job.toml"]);
    let leftovers = [
        "out/.shards.tmp-4242/train-00000.arrow",
        "out/.stats.json.tmp-17",
        "out/shards/.train-00000.arrow.tmp-9",
        "out/normalize/.part-00000.parquet.tmp-1",
        "out/tokenize/_work/.docs-00000.bin.tmp-3",
        ".tok.json.tmp-5",
    ];
    for f in leftovers {
        ws.write(f, "half a file");
    }
    ws.run_ok(&["run", "job.toml"]);
    for f in leftovers {
        assert!(!ws.path(f).exists(), "{f} survived");
    }
    assert!(!ws.path("out/.shards.tmp-4242").exists());
    ws.write(leftovers[0], "again");
    ws.run_ok(&["run", "job.toml", "--force"]);
    assert!(
        !ws.path("out/.shards.tmp-4242").exists(),
        "--force cleans too"
    );
}

#[test]
fn stats_keep_reduce_counters_and_say_when_they_are_stale() {
    let ws = Workspace::new();
    let mut docs = jsonl_docs(20, "a");
    docs.push_str(&jsonl_docs(20, "a").replace("\"id\":\"a-", "\"id\":\"b-"));
    ws.write("data/docs.jsonl", docs);
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"exact_dedup\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let first = ws.stats("out")["stages"][1]["counters"].clone();
    assert_eq!(first["duplicates"], 20, "{first}");
    // A no-op rerun keeps them.
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(ws.stats("out")["stages"][1]["counters"], first);
    let clean = ws.run_ok(&["stats", "out"]);
    assert!(!clean.contains("warning"), "{clean}");
    // An interrupted rerun with another config: `stats` says the funnel is stale.
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!(
            "{}\n[[stages]]\nkind = \"exact_dedup\"\n",
            NORMALIZE.to_string() + "collapse_spaces = true\n"
        ),
    );
    ws.run_crashing("normalize:0", &["run", "job.toml"]);
    let shown = ws.run_ok(&["stats", "out"]);
    assert!(shown.contains("warning: stage `normalize`"), "{shown}");
}

#[test]
fn input_quirks_are_accepted_or_named() {
    let ws = Workspace::new();
    let docs = jsonl_docs(3, "a");
    ws.write("data/docs.jsonl", format!("\u{feff}{docs}\n\n"));
    ws.job(
        "on_bad_record = \"fail\"",
        &input("t", "data/docs.jsonl"),
        NORMALIZE,
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert_eq!(
        stats["stages"][0]["docs_in"], 3,
        "the byte-order mark is not a bad record"
    );
    assert_eq!(stats["stages"][0]["counters"]["blank_lines"], 2);
    // A repeated key would split silently between `text` and `meta`: a bad record.
    ws.write(
        "data/docs.jsonl",
        "{\"id\":\"x\",\"text\":\"one\",\"text\":\"two\"}\n{\"id\":\"y\",\"text\":\"fine\"}\n",
    );
    let out = ws.taojin(&["run", "job.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("docs.jsonl:1") && stderr(&out).contains("duplicate key `text`"),
        "{}",
        stderr(&out)
    );
    ws.job(
        "on_bad_record = \"skip\"",
        &input("t", "data/docs.jsonl"),
        NORMALIZE,
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["docs_removed"]["bad_record"], 1);
    assert_eq!(stats["stages"][0]["docs_kept"], 1);
}

#[test]
fn damaged_work_files_ask_for_a_rerun_not_a_bug_report() {
    let ws = Workspace::new();
    let docs: String = (0..100)
        .map(|i| serde_json::json!({"id": format!("a-{i}"), "text": format!("Document {} of a.", i % 50)}).to_string() + "\n")
        .collect();
    ws.write("data/docs.jsonl", docs);
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"exact_dedup\"\n"),
    );
    for step in ["prepare", "normalize", "normalize:ids", "exact_dedup:map"] {
        ws.run_ok(&["run", "job.toml", "--stage", step, "--task", "0"]);
    }
    let work = ws.path("out/exact_dedup/_work");
    for f in std::fs::read_dir(&work).expect("work").flatten() {
        if f.path().extension().is_some_and(|e| e == "bin") {
            let b = std::fs::read(f.path()).expect("read");
            std::fs::write(f.path(), &b[..b.len() / 2 - 3]).expect("truncate");
        }
    }
    let out = ws.taojin(&[
        "run",
        "job.toml",
        "--stage",
        "exact_dedup:reduce",
        "--task",
        "0",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit 1, not 3: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("rerun the stage with --force"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ids_repeated_across_the_job_are_made_unique_counted_or_refused() {
    let ws = Workspace::new();
    let doc = |id: &str, t: &str| serde_json::json!({"id": id, "text": t}).to_string() + "\n";
    // Two files (two tasks): `a` three times, `b` once; the texts differ.
    ws.write(
        "data/1.jsonl",
        doc("a", "first a") + &doc("b", "only b") + &doc("a", "second a"),
    );
    ws.write("data/2.jsonl", doc("a", "third a"));
    let stages = format!("{NORMALIZE}\n[[stages]]\nkind = \"exact_dedup\"\n");
    let ids = |stage: &str| -> Vec<String> {
        let mut v: Vec<String> = column(&ws.path("out").join(stage), "id", false)
            .into_iter()
            .flatten()
            .collect();
        v.sort();
        v
    };
    ws.job("", &input("t", "data"), &stages);
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(
        ids("normalize"),
        ["a", "a", "a", "b"],
        "the first stage keeps them as read"
    );
    assert_eq!(
        ids("exact_dedup"),
        ["a", "a#2", "a#3", "b"],
        "unique from the second stage on"
    );
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["counters"]["duplicate_ids"], 2);
    assert_eq!(stats["stages"][0]["counters"]["duplicate_id_groups"], 1);
    assert_conserved(&ws, "out");
    // Deterministic across thread counts (and the same bytes).
    let job = std::fs::read_to_string(ws.path("job.toml")).expect("job");
    ws.write(
        "one.toml",
        job.replace("output = \"out\"", "output = \"one\""),
    );
    ws.run_ok(&["run", "one.toml", "--threads", "1"]);
    assert_same_parts(&ws.path("out"), &ws.path("one"));
    // `keep`: counted, left alone; the first stage's parts (ids as read) are reused, its
    // `:ids` step and the stage after it rerun.
    let first_hash = || ws.stats("out")["stages"][0]["config"].clone();
    let suffix_hash = first_hash();
    ws.job("on_duplicate_id = \"keep\"", &input("t", "data"), &stages);
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(ids("exact_dedup"), ["a", "a", "a", "b"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["counters"]["duplicate_ids"], 2);
    assert_eq!(
        stats["stages"][0]["tasks_resumed"], 2,
        "normalize is not rerun"
    );
    assert_eq!(stats["stages"][1]["tasks_resumed"], 0, "exact_dedup is");
    assert_eq!(first_hash(), suffix_hash);
    // Back to the default: renamed again, and normalize still not rerun.
    ws.job("", &input("t", "data"), &stages);
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(ids("exact_dedup"), ["a", "a#2", "a#3", "b"]);
    assert_eq!(ws.stats("out")["stages"][0]["tasks_resumed"], 2);
    // A cluster step of the second stage started before `normalize:ids` is refused.
    ws.write("c.toml", job.replace("output = \"out\"", "output = \"c\""));
    ws.run_ok(&["run", "c.toml", "--stage", "prepare", "--task", "0"]);
    ws.run_ok(&[
        "run",
        "c.toml",
        "--stage",
        "normalize",
        "--task",
        "0",
        "--tasks",
        "1",
    ]);
    let early = ws.taojin(&[
        "run",
        "c.toml",
        "--stage",
        "exact_dedup:map",
        "--task",
        "0",
        "--tasks",
        "1",
    ]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        stderr(&early).contains("normalize:ids"),
        "{}",
        stderr(&early)
    );
    // `fail`: the run stops naming the id (from the parts it keeps).
    ws.job("on_duplicate_id = \"fail\"", &input("t", "data"), &stages);
    let out = ws.taojin(&["run", "job.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`a`"), "{}", stderr(&out));
    assert!(ws.path("out/normalize/_done/part-00000").exists());
}

#[test]
fn a_renamed_id_never_takes_an_id_the_input_already_has() {
    let ws = Workspace::new();
    let lines = |ids: &[&str], file: usize| -> String {
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                let text = format!("document {i} of file {file}, id {id}");
                serde_json::json!({"id": id, "text": text}).to_string() + "\n"
            })
            .collect()
    };
    // `a` three times beside `a#2` (twice) and `a#4`: the renames skip the taken numbers;
    // `a#02` is not a rename's spelling and takes nothing.
    ws.write("data/1.jsonl", lines(&["a", "a#2", "a#02", "b"], 1));
    ws.write("data/2.jsonl", lines(&["a", "a#4", "a", "a#2"], 2));
    let stages = format!("{NORMALIZE}\n[[stages]]\nkind = \"exact_dedup\"\n");
    ws.job("", &input("t", "data"), &stages);
    ws.run_ok(&["run", "job.toml"]);
    let mut ids: Vec<String> = column(&ws.path("out").join("exact_dedup"), "id", false)
        .into_iter()
        .flatten()
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "a#02", "a#2", "a#2#2", "a#3", "a#4", "a#5", "b"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["counters"]["duplicate_ids"], 3);
    assert_eq!(stats["stages"][0]["counters"]["duplicate_id_groups"], 2);
    assert_conserved(&ws, "out");
}
