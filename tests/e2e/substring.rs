//! `substring_dedup` end to end: planted repeated spans in English and Chinese (re-wrapped
//! across line breaks in every copy) are cut from every document but the first, spans
//! shorter than `min_tokens` stay, a document left too short is removed with its reason,
//! and the output does not depend on threads or the task layout.

use std::collections::BTreeMap;

use crate::util::*;

/// Deterministic filler: `n` words (or Han characters) nobody else has.
fn filler(seed: u64, n: usize, zh: bool) -> String {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            if zh {
                char::from_u32(0x4E00 + (s % 6000) as u32)
                    .unwrap_or('中')
                    .to_string()
            } else {
                format!("u{}", s % 1_000_000)
            }
        })
        .collect::<Vec<_>>()
        .join(if zh { "" } else { " " })
}

/// `words` re-wrapped every `every` words.
fn wrap(words: &[&str], every: usize, zh: bool) -> String {
    words
        .chunks(every)
        .map(|c| c.join(if zh { "" } else { " " }))
        .collect::<Vec<_>>()
        .join("\n")
}

struct Fixture {
    docs: Vec<(String, String)>,
    /// For every document: the text `substring_dedup` must leave.
    expect: BTreeMap<String, Option<String>>,
}

fn fixture() -> Fixture {
    let span_en: Vec<String> = (0..70).map(|i| format!("licence{i}")).collect();
    let span_en: Vec<&str> = span_en.iter().map(String::as_str).collect();
    let span_zh_text = filler(99, 90, true);
    let span_zh: Vec<&str> = span_zh_text
        .char_indices()
        .map(|(i, c)| &span_zh_text[i..i + c.len_utf8()])
        .collect();
    let short: Vec<String> = (0..30).map(|i| format!("short{i}")).collect();
    let short = short.join(" ");
    let (mut docs, mut expect) = (Vec::new(), BTreeMap::new());
    for i in 0..24u64 {
        let zh = i % 2 == 1;
        let (head, tail) = (filler(i * 2 + 1, 60, zh), filler(i * 2 + 2, 60, zh));
        let id = format!("d{i:02}");
        let (span, every) = if zh {
            (&span_zh, 25 + i as usize)
        } else {
            (&span_en, 9 + i as usize)
        };
        let (text, left) = match i {
            // Carriers: the span between two paragraphs, wrapped differently each time.
            0..=9 => {
                let text = format!("{head}\n\n{}\n\n{tail}\n{short}", wrap(span, every, zh));
                let left = if i < 2 {
                    text.clone()
                } else {
                    format!("{head}\n\n{tail}\n{short}")
                };
                (text, Some(left))
            }
            // Only a repeated span and a little: left too short, removed.
            10 | 11 => (
                format!("{}\n{}", wrap(span, every, zh), filler(500 + i, 5, zh)),
                None,
            ),
            _ => {
                let text = format!("{head}\n{tail}");
                (text.clone(), Some(text))
            }
        };
        expect.insert(id.clone(), left);
        docs.push((id, text));
    }
    Fixture { docs, expect }
}

fn write(ws: &Workspace, f: &Fixture, job_extra: &str, extra: &str) {
    let lines: String = f
        .docs
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
        .collect();
    ws.write("data/docs.jsonl", lines);
    ws.job(
        job_extra,
        &input("t", "data/docs.jsonl"),
        &format!("[[stages]]\nkind = \"substring_dedup\"\n{extra}"),
    );
}

fn texts(dir: &std::path::Path) -> BTreeMap<String, String> {
    column(dir, "id", false)
        .into_iter()
        .flatten()
        .zip(column(dir, "text", false).into_iter().flatten())
        .collect()
}

#[test]
fn repeated_spans_are_cut_from_all_but_the_first_in_both_languages() {
    let ws = Workspace::new();
    let f = fixture();
    write(&ws, &f, "", "");
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/substring_dedup");
    let got = texts(&dir);
    for (id, want) in &f.expect {
        match want {
            Some(w) => assert_eq!(got.get(id), Some(w), "{id}"),
            None => assert!(!got.contains_key(id), "{id} should be removed"),
        }
    }
    // The 30-word line shared by every carrier is under min_tokens: never cut.
    assert!(got["d09"].contains("short0 short1"));
    let removed: Vec<Option<String>> = column(&dir, "reason", true);
    assert_eq!(removed, vec![Some("substring_dup_short".to_string()); 2]);
    let spans = primitive_column::<arrow::datatypes::UInt32Type>(&dir, "substring_dedup.spans", 0);
    assert_eq!(spans.iter().filter(|&&s| s == 1).count(), 8, "{spans:?}");
    assert!(spans.iter().all(|&s| s <= 1));
    let stats = ws.stats("out");
    let stage = &stats["stages"][1];
    assert_eq!(stage["counters"]["docs_cut"], 10);
    let delta: i64 = f
        .expect
        .iter()
        .zip(&f.docs)
        .filter_map(|((_, w), (_, t))| w.as_ref().map(|w| w.len() as i64 - t.len() as i64))
        .sum();
    assert_eq!(stage["bytes_edit_delta"], delta);
    assert_conserved(&ws, "out");

    // Spans of 100 units or more only: the 70-word English span stays, the Chinese goes.
    write(&ws, &f, "", "min_tokens = 80\n");
    ws.run_ok(&["run", "job.toml"]);
    let got = texts(&ws.path("out/substring_dedup"));
    assert!(got["d04"].contains("licence0"), "{}", got["d04"]);
    assert_eq!(got.get("d05"), f.expect["d05"].as_ref());
}

#[test]
fn cuts_do_not_depend_on_threads_or_tasks() {
    let ws = Workspace::new();
    let f = fixture();
    write(&ws, &f, "", "");
    ws.run_ok(&["run", "job.toml", "--threads", "1"]);
    std::fs::rename(ws.path("out"), ws.path("one")).expect("rename");
    write(&ws, &f, "split_bytes = 2000", "memory_limit = \"8KiB\"\n");
    ws.run_ok(&["run", "job.toml", "--threads", "4"]);
    assert!(ws.stats("out")["stages"][0]["tasks"].as_u64() > Some(5));
    assert_eq!(
        texts(&ws.path("one/substring_dedup")),
        texts(&ws.path("out/substring_dedup"))
    );
    assert_eq!(
        column(&ws.path("one/substring_dedup"), "id", true),
        column(&ws.path("out/substring_dedup"), "id", true)
    );
}

#[test]
fn a_crash_inside_the_stage_resumes_identically() {
    let ws = Workspace::new();
    let f = fixture();
    write(&ws, &f, "split_bytes = 2000", "");
    ws.run_ok(&["run", "job.toml"]);
    std::fs::rename(ws.path("out"), ws.path("clean")).expect("rename");
    ws.run_crashing("substring_dedup:3", &["run", "job.toml", "--threads", "1"]);
    ws.run_ok(&["run", "job.toml"]);
    assert_same_parts(&ws.path("clean"), &ws.path("out"));
    assert_eq!(ws.stats("out")["stages"][1]["tasks_resumed"], 3);
}
