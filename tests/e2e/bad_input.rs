//! Each kind of bad input: under `fail` a non-zero exit naming the file (and line);
//! under `skip` a counted `bad_record` kept raw in `removed/`, the good records kept.

use crate::util::*;

/// Sets up `data/` with one good file and the bad one, runs under both policies, and
/// returns the removed row's `detail` under `skip`.
/// `good_from_bad`: documents of the bad file that are still readable (`None`: some, count unknown).
fn check(
    bad_name: &str,
    bad_bytes: &[u8],
    expect_in_error: &str,
    good_from_bad: Option<u64>,
) -> String {
    let ws = Workspace::new();
    ws.write("data/good.jsonl", jsonl_docs(5, "good"));
    ws.write(&format!("data/{bad_name}"), bad_bytes);
    let inputs = input("web", "data/*");

    ws.job("on_bad_record = \"fail\"", &inputs, NORMALIZE);
    let out = ws.taojin(&["run", "job.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{bad_name}: expected failure");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{bad_name}: user error exit code; {stderr}"
    );
    assert!(
        stderr.contains(bad_name) && stderr.contains(expect_in_error),
        "{bad_name}: {stderr}"
    );
    assert_eq!(
        stderr
            .trim()
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "one-line cause: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    ws.job("on_bad_record = \"skip\"", &inputs, NORMALIZE);
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    let stage = &stats["stages"][0];
    assert_eq!(
        stage["docs_removed"]["bad_record"], 1,
        "{bad_name}: {stage}"
    );
    let kept = stage["docs_kept"].as_u64().expect("kept");
    match good_from_bad {
        Some(n) => assert_eq!(kept, 5 + n, "{bad_name}: {stage}"),
        None => assert!(
            kept > 5,
            "{bad_name}: records before the damage are kept: {stage}"
        ),
    }
    let reasons = column(&ws.path("out/normalize"), "reason", true);
    assert_eq!(reasons, vec![Some("bad_record".to_string())]);
    let detail = column(&ws.path("out/normalize"), "detail", true)
        .remove(0)
        .expect("detail");
    assert!(
        detail.contains(bad_name) && detail.contains(expect_in_error),
        "{detail}"
    );
    detail
}

#[test]
fn malformed_json_line() {
    let bytes = b"{\"text\": \"fine\"}\n{\"text\": oops}\n";
    let detail = check("bad.jsonl", bytes, "bad.jsonl:2: malformed JSON", Some(1));
    assert!(detail.contains("line 1 column"), "{detail}");
}

#[test]
fn malformed_json_is_kept_raw() {
    let ws = Workspace::new();
    ws.write("data/bad.jsonl", b"{\"text\": \"fine\"}\n[1, 2]\n");
    ws.job(
        "on_bad_record = \"skip\"",
        &input("web", "data/*.jsonl"),
        NORMALIZE,
    );
    ws.run_ok(&["run", "job.toml"]);
    let raw = column(&ws.path("out/normalize"), "raw", true);
    assert_eq!(raw, vec![Some("[1, 2]".to_string())]);
    let ids = column(&ws.path("out/normalize"), "id", true);
    assert_eq!(ids, vec![Some("web/bad.jsonl/2".to_string())]);
}

#[test]
fn invalid_utf8() {
    check(
        "bad.jsonl",
        b"{\"text\": \"caf\xe9\"}\n",
        "bad.jsonl:1: invalid UTF-8 at byte 13",
        Some(0),
    );
}

#[test]
fn missing_text_field() {
    check(
        "bad.jsonl",
        b"{\"id\": \"x\", \"body\": \"no text\"}\n",
        "missing text field `text`",
        Some(0),
    );
}

#[test]
fn non_string_text_field() {
    check(
        "bad.jsonl",
        b"{\"text\": 12}\n{\"text\": \"ok\"}\n",
        "bad.jsonl:1: text field `text` is not a string",
        Some(1),
    );
}

#[test]
fn oversized_document() {
    let ws_bytes = format!("{{\"text\": \"{}\"}}\n", "x".repeat(2000));
    let ws = Workspace::new();
    ws.write("data/good.jsonl", jsonl_docs(2, "g"));
    ws.write("data/big.jsonl", &ws_bytes);
    ws.job(
        "max_doc_bytes = 1000\non_bad_record = \"fail\"",
        &input("web", "data/*"),
        NORMALIZE,
    );
    let out = ws.taojin(&["run", "job.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr
                .contains("big.jsonl:1: document text of 2000 bytes exceeds max_doc_bytes = 1000"),
        "{stderr}"
    );
    // A line far beyond the limit is skipped without being held in memory whole.
    let huge = format!(
        "{{\"text\": \"{}\"}}\n{{\"text\": \"after\"}}\n",
        "y".repeat(3 << 20)
    );
    ws.write("data/big.jsonl", &huge);
    ws.job(
        "max_doc_bytes = 1000\non_bad_record = \"skip\"",
        &input("web", "data/*"),
        NORMALIZE,
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][0]["docs_removed"]["bad_record"], 1);
    assert_eq!(stats["stages"][0]["docs_kept"], 3);
    let detail = column(&ws.path("out/normalize"), "detail", true)
        .remove(0)
        .expect("detail");
    assert!(detail.contains("line limit"), "{detail}");
}

#[test]
fn truncated_zstd() {
    let full = zstd_bytes(jsonl_docs(3000, "z").as_bytes());
    let cut = &full[..full.len() / 2];
    let detail = check(
        "cut.jsonl.zst",
        cut,
        "corrupt or truncated zstd stream",
        None,
    );
    assert!(detail.contains("after line"), "{detail}");
}

#[test]
fn truncated_gzip() {
    let full = gzip_bytes(jsonl_docs(3000, "g").as_bytes());
    let cut = &full[..full.len() / 2];
    check(
        "cut.jsonl.gz",
        cut,
        "corrupt or truncated gzip stream",
        None,
    );
}

#[test]
fn unreadable_file() {
    let ws = Workspace::new();
    ws.write("data/good.jsonl", jsonl_docs(5, "good"));
    std::os::unix::fs::symlink(ws.path("nowhere.jsonl"), ws.path("data/gone.jsonl"))
        .expect("symlink");
    ws.job("", &input("web", "data/*.jsonl"), NORMALIZE);
    let out = ws.taojin(&["run", "job.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("gone.jsonl: cannot open"),
        "{stderr}"
    );
    ws.job(
        "on_bad_record = \"skip\"",
        &input("web", "data/*.jsonl"),
        NORMALIZE,
    );
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(
        ws.stats("out")["stages"][0]["docs_removed"]["bad_record"],
        1
    );
}

#[test]
fn empty_file() {
    check("empty.jsonl", b"", "empty.jsonl:1: empty file", Some(0));
    check("empty.jsonl.zst", &zstd_bytes(b""), "empty file", Some(0));
}

#[test]
fn corrupt_parquet_fails_naming_the_file() {
    let ws = Workspace::new();
    ws.write("data/x.parquet", b"PAR1 this is not parquet");
    ws.job(
        "on_bad_record = \"skip\"",
        &input("pq", "data/*.parquet"),
        NORMALIZE,
    );
    let out = ws.taojin(&["run", "job.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("x.parquet"),
        "{stderr}"
    );
}

#[test]
fn bad_job_files_name_the_key() {
    let ws = Workspace::new();
    ws.write("data/a.jsonl", jsonl_docs(1, "a"));
    ws.job("sed = 1", &input("web", "data/*.jsonl"), NORMALIZE);
    let stderr = String::from_utf8_lossy(&ws.taojin(&["run", "job.toml"]).stderr).into_owned();
    assert!(
        stderr.contains("job.toml") && stderr.contains("unknown field `sed`"),
        "{stderr}"
    );
    ws.job(
        "",
        &input("web", "data/*.jsonl"),
        "[[stages]]\nkind = \"normalize\"\nmax_blank_lines = \"two\"\n",
    );
    let stderr = String::from_utf8_lossy(&ws.taojin(&["run", "job.toml"]).stderr).into_owned();
    assert!(
        stderr.contains("max_blank_lines") || stderr.contains("invalid type"),
        "{stderr}"
    );
    ws.job("", &input("web", "nothing/*.jsonl"), NORMALIZE);
    let stderr = String::from_utf8_lossy(&ws.taojin(&["run", "job.toml"]).stderr).into_owned();
    assert!(
        stderr.contains("inputs[0].path") && stderr.contains("matched no files"),
        "{stderr}"
    );
}
