//! `taojin explain`: a document's path through the stages, on planted duplicates.

use crate::util::*;

fn explain(ws: &Workspace, ids: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["explain", "out"];
    args.extend_from_slice(ids);
    args.push("--json");
    serde_json::from_str(&ws.run_ok(&args)).expect("json")
}

#[test]
fn explains_removed_kept_clustered_and_unknown_documents() {
    let ws = Workspace::new();
    let base = "The river carries silt down from the mountains every spring, and the farmers \
                along its banks have learned to plant late so the flood can enrich their fields.";
    let mut lines = String::new();
    // b is an exact copy of a; c an empty document; d unrelated.
    for (id, text) in [
        ("a", base.to_string()),
        ("b", base.to_string()),
        ("c", " ".to_string()),
        (
            "d",
            "Completely different words about lanterns, kites and the autumn fair in town."
                .to_string(),
        ),
    ] {
        lines.push_str(&serde_json::json!({"id": id, "text": text}).to_string());
        lines.push('\n');
    }
    ws.write("data/a.jsonl", lines);
    ws.job(
        "",
        &input("web", "data/a.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"exact_dedup\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let all = explain(&ws, &["b", "c", "d", "zz"]);
    // b: kept by normalize, removed as an exact duplicate of a (the smallest id survives).
    let b = &all[0]["stages"];
    assert_eq!(b[0]["stage"], "normalize");
    assert_eq!(b[0]["kept"], true);
    assert_eq!(b[1]["reason"], "exact_dup");
    assert_eq!(b[1]["cluster"]["survivor"], "a");
    assert_eq!(b[1]["cluster"]["size"], 2);
    assert_eq!(b[1]["cluster"]["members"][0][0], "a");
    assert_eq!(b[1]["cluster"]["members"][0][1], 1.0);
    assert!(all[0]["outcome"].as_str().expect("o").contains("exact_dup"));
    // c: removed by normalize, no later stage.
    assert_eq!(all[1]["stages"].as_array().expect("a").len(), 1);
    assert_eq!(all[1]["stages"][0]["reason"], "empty");
    // d: through every stage, its signals per stage.
    assert_eq!(all[2]["stages"][1]["signals"]["exact_dup.cluster_size"], 1);
    assert!(
        all[2]["outcome"]
            .as_str()
            .expect("o")
            .starts_with("kept by the last stage")
    );
    assert!(
        all[3]["outcome"]
            .as_str()
            .expect("o")
            .starts_with("not found")
    );
    // The text form says the same.
    let text = ws.run_ok(&["explain", "out", "b"]);
    assert!(
        text.contains("REMOVED exact_dup") && text.contains("survivor a"),
        "{text}"
    );
}

#[test]
fn diff_shows_the_funnel_and_the_documents_that_moved() {
    let ws = Workspace::new();
    let mut lines = String::new();
    for i in 0..20 {
        // Every fifth document is short enough for a minimum-length rule to drop.
        let words = if i % 5 == 0 { 3 } else { 40 };
        let text: Vec<String> = (0..words).map(|w| format!("word{i}x{w}")).collect();
        lines.push_str(
            &serde_json::json!({"id": format!("d{i:02}"), "text": text.join(" ")}).to_string(),
        );
        lines.push('\n');
    }
    ws.write("data/a.jsonl", lines);
    let job = |min_chars: usize| {
        ws.job(
            "",
            &input("web", "data/a.jsonl"),
            &format!(
                "{NORMALIZE}\n[[stages]]\nkind = \"mix\"\nname = \"len\"\n\n[[stages.sources]]\n\
                 name = \"long\"\nwhere = \"length(text) >= {min_chars}\"\nweight = 1.0\n"
            ),
        )
    };
    job(1);
    ws.run_ok(&["run", "job.toml"]);
    std::fs::rename(ws.path("out"), ws.path("a")).expect("rename");
    job(100);
    ws.run_ok(&["run", "job.toml"]);
    let d: serde_json::Value =
        serde_json::from_str(&ws.run_ok(&["diff", "a", "out", "--json", "--sample", "2"]))
            .expect("json");
    assert_eq!(d["stages"][1]["stage"], "len");
    assert_eq!(d["stages"][1]["kept"]["a"], 20);
    assert_eq!(d["stages"][1]["kept"]["b"], 16);
    assert_eq!(d["only_a"][0], 4);
    assert_eq!(d["only_a"][1].as_array().expect("sample").len(), 2);
    assert!(
        d["only_a"][1][0]["there"]
            .as_str()
            .expect("s")
            .contains("removed by `len`: mix_unselected")
    );
    assert_eq!(d["only_b"][0], 0);
    let text = ws.run_ok(&["diff", "a", "out"]);
    assert!(
        text.contains("len kept") && text.contains("-4 (-20.0%)"),
        "{text}"
    );
}
