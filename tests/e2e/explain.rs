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
        "report = false",
        &input("web", "data/a.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"exact_dedup\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    assert!(!ws.path("out/report.html").exists());
    // Turning the report on reruns nothing: it is not part of any stage's config.
    ws.job(
        "",
        &input("web", "data/a.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"exact_dedup\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    assert!(ws.path("out/report.html").is_file());
    for st in ws.stats("out")["stages"].as_array().expect("stages") {
        assert_eq!(st["tasks_resumed"], st["tasks"], "{}", st["name"]);
    }
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
    // The report of B against A carries the same comparison.
    ws.run_ok(&["report", "out", "--against", "a", "--html", "vs.html"]);
    let page = std::fs::read_to_string(ws.path("vs.html")).expect("page");
    assert!(page.contains("<h2>Against a</h2>") && page.contains("removed: mix_unselected"));
    assert!(page.contains("kept before, not in this run (4 documents)"));
    // A run whose last stage kept nothing (no part files): every id of A moved, none of B.
    std::fs::remove_dir_all(ws.path("out")).expect("clear");
    job(100_000);
    ws.run_ok(&["run", "job.toml"]);
    let d: serde_json::Value =
        serde_json::from_str(&ws.run_ok(&["diff", "a", "out", "--json", "--sample", "2"]))
            .expect("json");
    assert_eq!(d["stages"][1]["kept"]["b"], 0);
    assert_eq!(
        (d["only_a"][0].clone(), d["only_b"][0].clone()),
        (20.into(), 0.into())
    );
}

#[test]
fn report_is_one_self_contained_page_of_the_run() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    let model = lid_model_path();
    ws.write(
        "data/z.jsonl",
        "{\"id\": \"0-script\", \"text\": \"<script>alert(1)</script>\"}\n",
    );
    ws.job(
        "",
        &format!(
            "{}{}",
            input("demo", "data/*.jsonl.zst"),
            input("odd", "data/z.jsonl")
        ),
        &format!(
            "{NORMALIZE}\n[[stages]]\nkind = \"langid\"\nmodel = \"{model}\"\n\
             keep = [\"en\", \"zh-Hans\", \"zh-Hant\"]\n\n[[stages]]\nkind = \"quality\"\n\n\
             [[stages]]\nkind = \"minhash_dedup\"\n"
        ),
    );
    ws.run_ok(&["run", "job.toml"]);
    // The run wrote it; the command writes the same page again.
    assert!(ws.path("out/report.html").is_file());
    std::fs::remove_file(ws.path("out/report.html")).expect("rm");
    let said = ws.run_ok(&["report", "out"]);
    assert!(said.trim().ends_with("report.html"), "{said}");
    let page = std::fs::read_to_string(ws.path("out/report.html")).expect("report");
    for h in [
        "Funnel",
        "Languages",
        "Document length",
        "Language score",
        "Near-duplicate clusters",
        "Removed examples",
        "Timings",
    ] {
        assert!(page.contains(&format!("<h2>{h}")), "{h}");
    }
    // Nothing loaded from anywhere: no scripts, no external resources.
    assert!(!page.contains("<script") && !page.contains("src=") && !page.contains("href="));
    // Removed text is shown escaped.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // A near-duplicate's cluster: its survivor is kept, members carry their Jaccard.
    let csv = ws.run_ok(&[
        "sql",
        "out",
        "SELECT id FROM minhash_dedup_removed ORDER BY id LIMIT 1",
        "--format",
        "csv",
    ]);
    let dup = csv.lines().nth(1).expect("a near-duplicate");
    let e = &explain(&ws, &[dup])[0];
    let last = e["stages"]
        .as_array()
        .expect("stages")
        .last()
        .expect("stage");
    assert_eq!(last["reason"], "near_dup");
    let survivor = last["cluster"]["survivor"].as_str().expect("survivor");
    let kept = ws.run_ok(&["explain", "out", survivor]);
    assert!(kept.contains("kept by the last stage"), "{kept}");
    let members = last["cluster"]["members"].as_array().expect("members");
    assert!(!members.is_empty());
    for m in members {
        let j = m[1].as_f64().expect("jaccard");
        assert!(j > 0.0 && j <= 1.0, "{m}");
    }
    // The funnel's row of each stage: name, kind, documents in and kept, as the stats say.
    let stats = ws.stats("out");
    for st in stats["stages"].as_array().expect("stages") {
        let row = format!(
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            st["name"].as_str().expect("name"),
            st["kind"].as_str().expect("kind"),
            grouped(st["docs_in"].as_u64().expect("in")),
            grouped(st["docs_kept"].as_u64().expect("kept"))
        );
        assert!(page.contains(&row), "{row}");
    }
}

#[test]
fn report_of_many_part_files_reads_a_stated_sample() {
    let ws = Workspace::new();
    for f in 0..20 {
        ws.write(
            &format!("data/f{f:02}.jsonl"),
            jsonl_docs(5, &format!("f{f}")),
        );
    }
    ws.job("", &input("web", "data/*.jsonl"), NORMALIZE);
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(ws.stats("out")["stages"][0]["tasks"], 20);
    let page = std::fs::read_to_string(ws.path("out/report.html")).expect("report");
    // Every second file of 20 (at most 16, evenly spread); the funnel stays exact.
    assert!(
        page.contains("normalize (10 of 20 part files)"),
        "sample note missing"
    );
    assert!(page.contains("<td>100</td>"));
}
