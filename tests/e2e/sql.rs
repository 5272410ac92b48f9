//! `taojin sql` over a job's outputs.

use crate::util::*;

#[test]
fn queries_kept_and_removed_tables() {
    let ws = Workspace::new();
    let mut lines = jsonl_docs(30, "a");
    lines.push_str("{\"text\": \"  \"}\n{\"text\": \"\\u0007\"}\n");
    ws.write("data/a.jsonl", lines);
    ws.job(
        "",
        &input("web", "data/a.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"normalize\"\nname = \"again\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let table = ws.run_ok(&[
        "sql",
        "out",
        "SELECT source, count(*) AS n FROM normalize GROUP BY source",
    ]);
    assert!(table.contains("web") && table.contains("30"), "{table}");
    let csv = ws.run_ok(&[
        "sql",
        "out",
        "SELECT reason, count(*) AS n FROM normalize_removed GROUP BY reason",
        "--format",
        "csv",
    ]);
    assert_eq!(csv.trim(), "reason,n\nempty,2");
    let json = ws.run_ok(&[
        "sql",
        "out",
        "SELECT count(*) AS n FROM again",
        "--format",
        "json",
    ]);
    assert_eq!(json.trim(), r#"{"n":30}"#);
    ws.run_ok(&[
        "sql",
        "out",
        "SELECT id, text FROM again ORDER BY id LIMIT 5",
        "--format",
        "parquet",
        "--out-file",
        "five.parquet",
    ]);
    assert_eq!(
        read_parquet(&ws.path("five.parquet"))
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        5
    );
    let bad = ws.taojin(&["sql", "out", "SELECT nope FROM normalize"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
}
