//! Input formats and fields: JSONL field mapping and meta pass-through, derived ids with
//! true line numbers across split pieces, Parquet (row-group pieces), text directories.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::util::*;

#[test]
fn field_mapping_meta_and_derived_ids() {
    let ws = Workspace::new();
    let mut lines = String::new();
    for i in 0..400 {
        // No id field: ids derive from the line number, which must survive splitting.
        lines.push_str(&serde_json::json!({"body": format!("text number {i}"), "link": "https://x.org/", "crawl": {"date": "2026-01-01", "n": i}}).to_string());
        lines.push('\n');
        if i % 100 == 0 {
            lines.push('\n'); // blank lines count as lines, not records
        }
    }
    ws.write("data/in/docs.jsonl", &lines);
    let inputs = "[[inputs]]\nname = \"web\"\npath = \"data/in/*.jsonl\"\ntext_field = \"body\"\nurl_field = \"link\"\n";
    ws.job("split_bytes = 2000", inputs, NORMALIZE);
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert!(stats["stages"][0]["tasks"].as_u64().expect("n") > 5);
    assert_eq!(stats["stages"][0]["docs_kept"], 400);
    assert_eq!(stats["stages"][0]["counters"]["blank_lines"], 4);
    let dir = ws.path("out/normalize");
    let ids = column(&dir, "id", false);
    assert_eq!(ids[0].as_deref(), Some("web/docs.jsonl/1"));
    assert_eq!(
        ids[1].as_deref(),
        Some("web/docs.jsonl/3"),
        "line 2 is blank"
    );
    assert_eq!(ids[399].as_deref(), Some("web/docs.jsonl/404"));
    assert_eq!(
        column(&dir, "text", false)[399].as_deref(),
        Some("text number 399")
    );
    assert_eq!(
        column(&dir, "url", false)[0].as_deref(),
        Some("https://x.org/")
    );
    assert_eq!(column(&dir, "source", false)[0].as_deref(), Some("web"));
    assert_eq!(
        column(&dir, "meta", false)[5].as_deref(),
        Some(r#"{"crawl":{"date":"2026-01-01","n":5}}"#)
    );
}

#[test]
fn parquet_input_by_row_groups() {
    let ws = Workspace::new();
    let schema = Arc::new(Schema::new(vec![
        Field::new("content", DataType::Utf8, true),
        Field::new("doc_id", DataType::Utf8, true),
        Field::new("score", DataType::Int64, true),
    ]));
    let path = ws.path("data/p.parquet");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(100))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&path).expect("create"),
        schema.clone(),
        Some(props),
    )
    .expect("writer");
    let n = 1000;
    let texts: Vec<Option<String>> = (0..n)
        .map(|i| {
            if i == 7 {
                None
            } else {
                Some(format!("parquet text {i} {}", "pad ".repeat(20)))
            }
        })
        .collect();
    let ids: Vec<Option<String>> = (0..n)
        .map(|i| (i % 2 == 0).then(|| format!("pq-{i}")))
        .collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(texts)),
            Arc::new(StringArray::from(ids)),
            Arc::new(Int64Array::from_iter_values(0..n as i64)),
        ],
    )
    .expect("batch");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let inputs = "[[inputs]]\nname = \"pq\"\npath = \"data/*.parquet\"\ntext_field = \"content\"\nid_field = \"doc_id\"\n";
    ws.job(
        "split_bytes = 3000\non_bad_record = \"skip\"",
        inputs,
        NORMALIZE,
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert!(
        stats["stages"][0]["tasks"].as_u64().expect("n") > 1,
        "{stats}"
    );
    assert_eq!(stats["stages"][0]["docs_kept"], n - 1);
    assert_eq!(
        stats["stages"][0]["docs_removed"]["bad_record"], 1,
        "null text"
    );
    let dir = ws.path("out/normalize");
    let ids = column(&dir, "id", false);
    assert_eq!(ids[0].as_deref(), Some("pq-0"));
    assert_eq!(
        ids[1].as_deref(),
        Some("pq/p.parquet/2"),
        "missing id derives from the 1-based row"
    );
    assert_eq!(
        column(&dir, "meta", false)[3].as_deref(),
        Some(r#"{"score":3}"#)
    );
    let detail = column(&dir, "detail", true).remove(0).expect("detail");
    assert!(
        detail.contains("p.parquet:8: text column `content` is null"),
        "{detail}"
    );
}

#[test]
fn text_file_directories() {
    let ws = Workspace::new();
    ws.write("corpus/a.txt", "第一篇文章。\n");
    ws.write("corpus/sub/b.txt", "Second file.\n");
    ws.write(
        "corpus/notes.md",
        "ignored: not a .txt file in a walked directory",
    );
    ws.write("corpus/sub/bad.txt", b"caf\xe9");
    let inputs = "[[inputs]]\nname = \"books\"\npath = \"corpus\"\n";
    ws.job("on_bad_record = \"skip\"", inputs, NORMALIZE);
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/normalize");
    assert_eq!(
        column(&dir, "id", false),
        vec![Some("books/a.txt".into()), Some("books/sub/b.txt".into())]
    );
    assert_eq!(
        column(&dir, "text", false)[0].as_deref(),
        Some("第一篇文章。")
    );
    assert_eq!(
        column(&dir, "id", true),
        vec![Some("books/sub/bad.txt".into())]
    );
}

#[test]
fn globs_with_braces_and_double_stars() {
    let ws = Workspace::new();
    ws.write("data/en/a.jsonl", jsonl_docs(2, "en"));
    ws.write("data/zh/b.jsonl", jsonl_docs(3, "zh"));
    ws.write("data/ja/c.jsonl", jsonl_docs(5, "ja"));
    ws.write("data/zh/deep/d.jsonl", jsonl_docs(7, "deep"));
    ws.write("data/.hidden/e.jsonl", jsonl_docs(11, "hidden"));
    let docs_in = |path: &str| {
        ws.job("", &input("t", path), NORMALIZE);
        ws.run_ok(&["run", "job.toml"]);
        ws.stats("out")["stages"][0]["docs_in"].as_u64().expect("n")
    };
    assert_eq!(docs_in("data/{en,zh}/*.jsonl"), 5);
    assert_eq!(
        docs_in("data/**/*.jsonl"),
        17,
        "hidden folders are not matched"
    );
    // A pattern matching folders walks them whole.
    assert_eq!(docs_in("data/z*"), 10);
    ws.job("", &input("t", "data/{en,zh/*.jsonl"), NORMALIZE);
    let out = ws.taojin(&["run", "job.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inputs[0].path"));
}
