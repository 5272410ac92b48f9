//! Conservation, determinism across thread counts, and crash/resume equivalence.

use crate::util::*;

const TWO_STAGES: &str = "[[stages]]\nkind = \"normalize\"\n\n[[stages]]\nkind = \"normalize\"\nname = \"again\"\ncollapse_spaces = true\n";

/// Several inputs, several tasks per file (small `split_bytes`), bad records included.
fn corpus(ws: &Workspace) -> String {
    ws.write("data/a.jsonl", jsonl_docs(3000, "a"));
    ws.write(
        "data/b.jsonl.zst",
        zstd_bytes(jsonl_docs(1500, "b").as_bytes()),
    );
    let mut c = jsonl_docs(700, "c");
    c.push_str("{\"text\": \"   \"}\nnot json\n{\"text\": \"\\u001b[0m\"}\n");
    ws.write("data/c.jsonl.gz", gzip_bytes(c.as_bytes()));
    format!(
        "{}{}",
        input("web", "data/*.jsonl*"),
        input("extra", "data/c.jsonl.gz")
    )
}

const JOB_EXTRA: &str = "on_bad_record = \"skip\"\nsplit_bytes = 100000\nbatch_rows = 300";

#[test]
fn conservation_holds_per_stage_and_across_stages() {
    let ws = Workspace::new();
    let inputs = corpus(&ws);
    ws.job(JOB_EXTRA, &inputs, TWO_STAGES);
    let table = ws.run_ok(&["run", "job.toml"]);
    assert!(
        table.contains("normalize") && table.contains("again"),
        "{table}"
    );
    let stats = ws.stats("out");
    let stages = stats["stages"].as_array().expect("stages");
    // 3000 + 1500 + 703 from `web` (which matches c too) + 703 from `extra`.
    assert_eq!(stages[0]["docs_in"], 3000 + 1500 + 703 * 2);
    assert_conserved(&ws, "out");
    assert_eq!(stages[0]["docs_removed"]["bad_record"], 2);
    assert_eq!(stages[0]["docs_removed"]["empty"], 4);
    assert_eq!(stages[1]["docs_in"], stages[0]["docs_kept"]);
    assert!(
        stages[0]["tasks"].as_u64().expect("tasks") > 3,
        "large file split into several tasks"
    );
    // Rows on disk agree with the stats.
    let kept = column(&ws.path("out/again"), "id", false).len() as u64;
    assert_eq!(kept, stages[1]["docs_kept"].as_u64().expect("n"));
    // Splitting keeps true line numbers: ids are from the input, order preserved.
    let ids = column(&ws.path("out/normalize"), "id", false);
    let a: Vec<String> = ids
        .iter()
        .flatten()
        .filter(|i| i.starts_with("a-"))
        .cloned()
        .collect();
    assert_eq!(a, (0..3000).map(|i| format!("a-{i}")).collect::<Vec<_>>());
    let stats_table = ws.run_ok(&["stats", "out"]);
    assert!(stats_table.contains("bad_record=2"), "{stats_table}");
    let json = ws.run_ok(&["stats", "out", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).expect("json"),
        stats
    );
}

#[test]
fn same_bytes_with_one_and_two_threads() {
    let ws = Workspace::new();
    let inputs = corpus(&ws);
    ws.job(JOB_EXTRA, &inputs, TWO_STAGES);
    ws.run_ok(&["run", "job.toml", "--threads", "1"]);
    std::fs::rename(ws.path("out"), ws.path("out1")).expect("rename");
    ws.run_ok(&["run", "job.toml", "--threads", "2"]);
    assert_same_parts(&ws.path("out1"), &ws.path("out"));
}

#[test]
fn killed_run_resumes_to_identical_output() {
    let ws = Workspace::new();
    let inputs = corpus(&ws);
    ws.job(JOB_EXTRA, &inputs, TWO_STAGES);
    ws.run_ok(&["run", "job.toml"]);
    std::fs::rename(ws.path("out"), ws.path("clean")).expect("rename");

    // Crash inside task 2 of the second stage, after its files are written but before commit.
    ws.run_crashing("again:2", &["run", "job.toml", "--threads", "1"]);
    let leftovers: Vec<_> = all_files(&ws.path("out"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(
        !leftovers.is_empty(),
        "a crash before commit leaves temp files"
    );
    assert!(!ws.path("out/again/_done/part-00002").exists());
    assert!(
        !ws.path("out/again/part-00002.parquet").exists(),
        "no half output is visible"
    );

    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    let tasks = stats["stages"][0]["tasks"].as_u64().expect("n");
    assert_eq!(
        stats["stages"][0]["tasks_resumed"].as_u64(),
        Some(tasks),
        "first stage fully resumed"
    );
    assert_eq!(
        stats["stages"][1]["tasks_resumed"].as_u64(),
        Some(2),
        "tasks 0 and 1 of the second stage resumed"
    );
    assert_same_parts(&ws.path("clean"), &ws.path("out"));
    let leftovers: Vec<_> = all_files(&ws.path("out"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn changed_stage_reruns_itself_and_later_stages_only() {
    let ws = Workspace::new();
    let inputs = corpus(&ws);
    ws.job(JOB_EXTRA, &inputs, TWO_STAGES);
    ws.run_ok(&["run", "job.toml"]);
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    let tasks = stats["stages"][0]["tasks"].clone();
    assert_eq!(stats["stages"][0]["tasks_resumed"], tasks);
    assert_eq!(stats["stages"][1]["tasks_resumed"], tasks);

    ws.job(
        JOB_EXTRA,
        &inputs,
        &TWO_STAGES.replace("collapse_spaces = true", "collapse_spaces = false"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["tasks_resumed"], tasks);
    assert_eq!(stats["stages"][1]["tasks_resumed"], 0);

    let plan = ws.run_ok(&["plan", "job.toml"]);
    // Every task of both stages is done: the plan shows `N tasks  N done` for each.
    let n = tasks.as_u64().expect("tasks");
    let done = format!("{n:>6} tasks  {n:>6} done");
    assert_eq!(plan.matches(done.as_str()).count(), 2, "{plan}");
    ws.run_ok(&["run", "job.toml", "--force"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["tasks_resumed"], 0);
    assert_eq!(stats["stages"][1]["tasks_resumed"], 0);
}

/// Every codec of `[job] compression` writes the same rows (read back through the stage
/// chain), each file in the codec asked for; switching codecs reruns the stages, as the
/// same config hash must always mean the same bytes.
#[test]
fn every_output_codec_gives_the_same_rows() {
    let ws = Workspace::new();
    let inputs = corpus(&ws);
    let mut rows = Vec::new();
    for (codec, name) in [
        ("zstd", "ZSTD"),
        ("lz4", "LZ4_RAW"),
        ("snappy", "SNAPPY"),
        ("none", "UNCOMPRESSED"),
    ] {
        ws.job(
            &format!("{JOB_EXTRA}\ncompression = \"{codec}\""),
            &inputs,
            TWO_STAGES,
        );
        ws.run_ok(&["run", "job.toml"]);
        // The codec is in the config hash (like `zstd_level`): switching reruns.
        for stage in ws.stats("out")["stages"].as_array().expect("stages") {
            assert_eq!(stage["tasks_resumed"], 0, "{codec}: {stage}");
        }
        for part in part_files(&ws.path("out/again")) {
            let file = std::fs::File::open(&part).expect("part");
            let meta = parquet::file::reader::FileReader::metadata(
                &parquet::file::reader::SerializedFileReader::new(file).expect("parquet"),
            )
            .clone();
            let text = meta.row_group(0).column(1);
            assert_eq!(
                format!("{:?}", text.compression()).split('(').next(),
                Some(name)
            );
        }
        rows.push((
            column(&ws.path("out/again"), "id", false),
            column(&ws.path("out/again"), "text", false),
        ));
    }
    assert!(rows[0].0.len() > 5000);
    assert!(rows.iter().all(|r| *r == rows[0]));
}

/// `normalize` as a job's first stage runs inside the reader (each document edited as it
/// is decoded); after a `read` stage it runs over part files. Both keep the same rows with
/// the same text, remove the same ones, and count the same edits.
#[test]
fn normalize_inside_the_reader_equals_normalize_over_parts() {
    let ws = Workspace::new();
    // Batches mixing texts left as they are, changed ones, and ones left empty.
    let docs: String = (0..2000)
        .map(|i| {
            let text = match i % 5 {
                0 | 1 => format!("Clean line {i}.\n第{i}行，没有要改的。"),
                2 => format!("Trailing {i}   \r\nand\u{a0}spaces\n\n\n\n\nend"),
                3 => format!("e\u{301}t\u{e9} {i} \u{200b}"),
                _ if i % 10 == 4 => " \u{feff}\u{200b} ".to_string(),
                _ => format!("Plain ASCII {i}."),
            };
            serde_json::json!({"id": format!("d-{i}"), "text": text}).to_string() + "\n"
        })
        .collect();
    ws.write("data/d.jsonl", docs);
    ws.write(
        "data/e.jsonl.zst",
        zstd_bytes(jsonl_docs(700, "e").as_bytes()),
    );
    let inputs = input("web", "data/*.jsonl*");
    let extra = "split_bytes = 40000\nbatch_rows = 128";
    ws.job(extra, &inputs, NORMALIZE);
    ws.run_ok(&["run", "job.toml"]);
    std::fs::rename(ws.path("out"), ws.path("fused")).expect("rename");
    ws.job(
        extra,
        &inputs,
        &format!("[[stages]]\nkind = \"read\"\n\n{NORMALIZE}"),
    );
    ws.run_ok(&["run", "job.toml"]);

    let fused = &ws.stats("fused")["stages"][0];
    let parts = &ws.stats("out")["stages"][1];
    for key in [
        "docs_in",
        "docs_kept",
        "docs_removed",
        "bytes_in",
        "bytes_kept",
        "bytes_removed",
        "bytes_edit_delta",
        "tasks",
    ] {
        assert_eq!(fused[key], parts[key], "{key}");
    }
    assert_eq!(
        fused["counters"]["docs_changed"],
        parts["counters"]["docs_changed"]
    );
    let changed = fused["counters"]["docs_changed"]
        .as_u64()
        .expect("docs_changed");
    assert!(changed > 1000 && changed < 2700, "{fused}");
    assert_eq!(fused["docs_removed"]["empty"], 200);
    for (removed, col) in [(false, "id"), (false, "text"), (true, "id"), (true, "text")] {
        assert_eq!(
            column(&ws.path("fused/normalize"), col, removed),
            column(&ws.path("out/normalize"), col, removed),
            "{col} removed={removed}"
        );
    }
}
