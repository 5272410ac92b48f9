//! The crawl path: WARC/WET in, main text out, through the binary. The recipe on the demo
//! crawl (planted truth), every kind of damaged WARC under both policies, HTML in JSONL,
//! WET, and a page nested 100,000 levels deep.

use std::collections::BTreeMap;
use std::io::Read;

use crate::util::*;

const EXTRACT: &str = "[[stages]]\nkind = \"extract\"\n";

fn shingle_f1(a: &str, b: &str) -> f64 {
    let units = |s: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut word = String::new();
        for c in s.chars() {
            if ('\u{4e00}'..='\u{9fff}').contains(&c) {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                out.push(c.to_string());
            } else if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
        out
    };
    let grams = |s: &str| -> BTreeMap<Vec<String>, usize> {
        let u = units(s);
        let mut m = BTreeMap::new();
        for w in u.windows(3) {
            *m.entry(w.to_vec()).or_default() += 1;
        }
        m
    };
    let (a, b) = (grams(a), grams(b));
    let common: usize = a
        .iter()
        .map(|(k, n)| (*n).min(*b.get(k).unwrap_or(&0)))
        .sum();
    if common == 0 {
        return 0.0;
    }
    let p = common as f64 / a.values().sum::<usize>() as f64;
    let r = common as f64 / b.values().sum::<usize>() as f64;
    2.0 * p * r / (p + r)
}

#[test]
fn the_web_recipe_runs_on_the_demo_crawl_and_finds_the_main_text() {
    let ws = Workspace::new();
    let job =
        std::fs::read_to_string(repo_path("jobs/zh-en-web.toml")).expect("jobs/zh-en-web.toml");
    ws.write("jobs/zh-en-web.toml", job);
    std::os::unix::fs::symlink(repo_path("models"), ws.path("models")).expect("symlink");
    ws.run_ok(&["demo-crawl", "data/demo-crawl"]);
    demo_data_and_lm(&ws);
    let table = ws.run_ok(&["run", "jobs/zh-en-web.toml"]);
    assert!(
        table.contains("extract_empty=1") && table.contains("not_html=1"),
        "{table}"
    );
    assert_conserved(&ws, "out/zh-en-web");
    assert!(ws.path("out/zh-en-web/shards/manifest.json").is_file());

    // Every record that is not a page is counted by reason, as planted.
    let stats = ws.stats("out/zh-en-web");
    let counters = &stats["stages"][0]["counters"];
    for (reason, n) in [
        ("warcinfo", 1),
        ("metadata", 15),
        ("image", 1),
        ("pdf", 1),
        ("redirect", 1),
        ("status_4xx", 1),
        ("truncated", 1),
    ] {
        assert_eq!(
            counters[format!("warc.skipped.{reason}")],
            n,
            "{reason}: {counters}"
        );
    }
    assert_eq!(counters["charset.gbk"], 20, "{counters}");

    // The main text against the planted truth, per language; charsets as decided.
    let truth: BTreeMap<String, serde_json::Value> =
        std::fs::read_to_string(ws.path("data/demo-crawl/truth.jsonl"))
            .expect("truth")
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                (v["id"].as_str().expect("id").to_string(), v)
            })
            .collect();
    let dir = ws.path("out/zh-en-web/extract");
    let ids = column(&dir, "id", false);
    let texts = column(&dir, "text", false);
    let charsets = column(&dir, "html.charset", false);
    let mut f1: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for ((id, text), charset) in ids.iter().zip(&texts).zip(&charsets) {
        let t = &truth[id.as_deref().expect("id")];
        assert_eq!(t["expect"], "keep");
        let lang = t["lang"].as_str().expect("lang");
        f1.entry(if lang == "en" { "en" } else { "zh" })
            .or_default()
            .push(shingle_f1(
                text.as_deref().expect("text"),
                t["main"].as_str().expect("main"),
            ));
        let charset = charset.as_deref().expect("charset");
        match t["charset"].as_str().expect("charset") {
            "gbk-meta" => assert_eq!(charset, "GBK (meta)"),
            "gbk-undeclared" => assert_eq!(charset, "GBK (detected)"),
            "big5-http" => assert_eq!(charset, "Big5 (http)"),
            _ => assert_eq!(charset, "UTF-8 (http)"),
        }
    }
    for (lang, v) in &f1 {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!(
            mean > 0.9,
            "{lang}: mean F1 {mean:.3} over {} pages",
            v.len()
        );
    }

    // `warc.offset` is where the record's gzip member starts: fetch it from there.
    let warc = std::fs::read(ws.path("data/demo-crawl/crawl-00000.warc.gz")).expect("warc");
    let offsets = primitive_column::<arrow::datatypes::UInt64Type>(&dir, "warc.offset", u64::MAX);
    for (id, off) in ids.iter().zip(offsets).take(5) {
        let mut member = Vec::new();
        flate2::read::GzDecoder::new(&warc[off as usize..])
            .read_to_end(&mut member)
            .expect("one member");
        let head = String::from_utf8_lossy(&member[..member.len().min(400)]).into_owned();
        assert!(
            head.contains(&format!("WARC-Record-ID: <{}>", id.as_deref().expect("id"))),
            "{head}"
        );
    }
}

/// One record, as a warcio-style writer frames it.
fn record(id: usize, http: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Target-URI: http://example.com/{id}\r\nContent-Length: {}\r\n\r\n",
        http.len()
    )
    .into_bytes();
    r.extend_from_slice(http);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn page(id: usize) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><article><h1>Page {id}</h1><p>This is the main text of page {id}, written as a sentence that a reader would come for, with enough words in it.</p><p>And a second paragraph follows it, so that the page reads like an article and not like a menu of links.</p></article></body></html>").into_bytes()
}

/// A `.warc.gz` with one damaged stretch between good records; returns the file and the
/// byte offset where the damage starts.
fn damaged(kind: &str) -> (Vec<u8>, u64) {
    let good: Vec<Vec<u8>> = (0..3).map(|i| gzip_bytes(&record(i, &page(i)))).collect();
    let first = good[0].len() as u64;
    let bad: Vec<u8> = match kind {
        "truncated_member" => {
            let m = gzip_bytes(&record(9, &page(9)));
            m[..m.len() / 2].to_vec()
        }
        "garbage" => b"<<<this is not gzip>>>\n".to_vec(),
        "lying_length" => {
            let body = page(9);
            let rec = String::from_utf8(record(9, &body)).expect("utf8").replace(
                &format!("Content-Length: {}", body.len()),
                &format!("Content-Length: {}", body.len() + 40),
            );
            gzip_bytes(rec.as_bytes())
        }
        _ => unreachable!(),
    };
    (
        [&good[0][..], &bad[..], &good[1][..], &good[2][..]].concat(),
        first,
    )
}

#[test]
fn damaged_warcs_fail_with_file_and_offset_or_are_skipped_and_counted() {
    for kind in ["truncated_member", "garbage", "lying_length"] {
        let ws = Workspace::new();
        let (bytes, offset) = damaged(kind);
        ws.write("data/crawl.warc.gz", bytes);
        let inputs = input("cc", "data/*.warc.gz");
        ws.job("on_bad_record = \"fail\"", &inputs, EXTRACT);
        let out = ws.taojin(&["run", "job.toml"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{kind}: {stderr}");
        assert!(
            stderr.contains("crawl.warc.gz") && stderr.contains(&format!("at byte {offset}")),
            "{kind}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");

        ws.job("on_bad_record = \"skip\"", &inputs, EXTRACT);
        ws.run_ok(&["run", "job.toml"]);
        let stats = ws.stats("out");
        let s = &stats["stages"][0];
        assert_eq!(s["docs_kept"], 3, "{kind}: the reader resynchronizes: {s}");
        assert_eq!(s["docs_removed"]["bad_record"], 1, "{kind}: {s}");
        assert_conserved(&ws, "out");
        let detail = column(&ws.path("out/extract"), "detail", true);
        assert!(
            detail[0]
                .as_deref()
                .expect("detail")
                .contains(&format!("at byte {offset}")),
            "{detail:?}"
        );
    }
}

#[test]
fn clipped_last_record_and_oversized_page_are_bad_records() {
    let ws = Workspace::new();
    let last = record(7, &page(7));
    // A plain WARC whose last record is cut off.
    let plain = [&record(1, &page(1))[..], &last[..last.len() - 30]].concat();
    ws.write("data/a.warc", &plain);
    // A 200 MB page inside one gzip member: streamed past, never held (the cap is 32 MiB).
    let mut huge = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>".to_vec();
    huge.resize(200 << 20, b'x');
    let big = [
        &gzip_bytes(&record(2, &page(2)))[..],
        &gzip_bytes(&record(3, &huge))[..],
    ]
    .concat();
    drop(huge);
    ws.write("data/b.warc.gz", big);
    ws.job(
        "on_bad_record = \"skip\"",
        &input("cc", "data/*.warc*"),
        EXTRACT,
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    let s = &stats["stages"][0];
    assert_eq!(
        (
            s["docs_kept"].as_u64(),
            s["docs_removed"]["bad_record"].as_u64()
        ),
        (Some(2), Some(2)),
        "{s}"
    );
    let details: Vec<String> = column(&ws.path("out/extract"), "detail", true)
        .into_iter()
        .flatten()
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("a.warc") && d.contains("clipped")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("b.warc.gz") && d.contains("over the cap")),
        "{details:?}"
    );
}

#[test]
fn html_in_jsonl_goes_through_the_same_extraction_and_deep_nesting_is_bounded() {
    let ws = Workspace::new();
    let p = "<p>This is the main text of the page, written as a sentence that a reader would come for, with enough words in it to count.</p>";
    let deep = format!(
        "{}{p}{p}{}",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    let lines = [
        serde_json::json!({"id": "flat", "html": format!("<html><body><nav><a href=/>Home</a></nav>{p}{p}</body></html>")}),
        serde_json::json!({"id": "deep", "html": deep}),
        serde_json::json!({"id": "text-only", "text": "already extracted text"}),
        serde_json::json!({"id": "binary", "html": "\u{0}\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}PNG".repeat(50)}),
    ];
    let jsonl: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    ws.write("data/pages.jsonl", jsonl);
    ws.job(
        "",
        "[[inputs]]\nname = \"h\"\npath = \"data/pages.jsonl\"\nhtml_field = \"html\"\n",
        EXTRACT,
    );
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/extract");
    let ids = column(&dir, "id", false);
    let texts = column(&dir, "text", false);
    let got: BTreeMap<_, _> = ids
        .into_iter()
        .flatten()
        .zip(texts.into_iter().flatten())
        .collect();
    assert!(
        got["flat"].starts_with("This is the main text") && !got["flat"].contains("Home"),
        "{got:?}"
    );
    assert!(got["deep"].contains("This is the main text"), "{got:?}");
    assert_eq!(got["text-only"], "already extracted text");
    assert_eq!(
        column(&dir, "reason", true),
        vec![Some("not_html".to_string())]
    );
    assert_conserved(&ws, "out");
}

#[test]
fn wet_text_goes_straight_to_text() {
    let ws = Workspace::new();
    let rec = |kind: &str, id: usize, body: &str| {
        format!(
            "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Target-URI: http://example.com/{id}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}\r\n\r\n",
            body.len()
        )
    };
    let wet = [
        rec("warcinfo", 0, "software: x"),
        rec("conversion", 1, "第一行。\nSecond line."),
        rec("conversion", 2, "Another page."),
    ]
    .concat();
    ws.write("data/x.warc.wet.gz", gzip_bytes(wet.as_bytes()));
    ws.job("", &input("wet", "data/*.wet.gz"), NORMALIZE);
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/normalize");
    assert_eq!(
        column(&dir, "text", false),
        vec![
            Some("第一行。\nSecond line.".into()),
            Some("Another page.".into())
        ]
    );
    assert_eq!(
        column(&dir, "url", false)[0].as_deref(),
        Some("http://example.com/1")
    );
    assert_eq!(
        ws.stats("out")["stages"][0]["counters"]["warc.skipped.warcinfo"],
        1
    );
}

#[test]
fn a_warc_input_needs_extract_first() {
    let ws = Workspace::new();
    ws.write("data/a.warc", record(1, &page(1)));
    ws.job("", &input("cc", "data/*.warc"), NORMALIZE);
    let out = ws.taojin(&["run", "job.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("extract"), "{stderr}");
}

#[test]
fn the_demo_crawl_is_deterministic() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-crawl", "a"]);
    ws.run_ok(&["demo-crawl", "b"]);
    for f in ["crawl-00000.warc.gz", "truth.jsonl"] {
        assert_eq!(
            std::fs::read(ws.path("a").join(f)).expect("a"),
            std::fs::read(ws.path("b").join(f)).expect("b"),
            "{f}"
        );
    }
}

#[test]
fn extraction_is_the_same_on_one_thread_and_many() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-crawl", "data", "--pages", "120"]);
    ws.job("", &input("cc", "data/*.warc.gz"), EXTRACT);
    ws.run_ok(&["run", "job.toml", "--threads", "1"]);
    std::fs::rename(ws.path("out"), ws.path("one")).expect("rename");
    ws.run_ok(&["run", "job.toml", "--threads", "4"]);
    assert_same_parts(&ws.path("one/extract"), &ws.path("out/extract"));
}
