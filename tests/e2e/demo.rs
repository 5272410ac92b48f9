//! The demo: `taojin demo-data` and `jobs/demo.toml` as a newcomer runs them.

use crate::util::*;

#[test]
fn demo_data_is_deterministic() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "a"]);
    ws.run_ok(&["demo-data", "b"]);
    let files = all_files(&ws.path("a"));
    assert!(files.len() >= 5, "{files:?}");
    assert_eq!(files, all_files(&ws.path("b")));
    for f in files {
        assert_eq!(
            std::fs::read(ws.path("a").join(&f)).expect("a"),
            std::fs::read(ws.path("b").join(&f)).expect("b")
        );
    }
}

#[test]
fn demo_job_runs_and_conserves() {
    let ws = Workspace::new();
    let job = std::fs::read_to_string(repo_path("jobs/demo.toml")).expect("jobs/demo.toml");
    ws.write("jobs/demo.toml", job);
    // The job names ../models/lid.176.ftz: the repo's models folder (`make models`).
    std::os::unix::fs::symlink(repo_path("models"), ws.path("models")).expect("symlink");
    demo_data_and_lm(&ws);
    let table = ws.run_ok(&["run", "jobs/demo.toml"]);
    assert!(
        table.contains("normalize") && table.contains("langid"),
        "{table}"
    );
    let stats = ws.stats("out/demo");
    let first = &stats["stages"][0];
    assert!(first["docs_in"].as_u64().expect("n") > 1000, "{first}");
    // Each stage's peak RSS: above the process's own few MiB, far below what a stage
    // holding the whole corpus twice over would need, in the funnel too.
    let stages = stats["stages"].as_array().expect("stages");
    for st in stages {
        let peak = st["peak_rss_bytes"].as_u64().unwrap_or(0);
        assert!((4 << 20..2 << 30).contains(&peak), "{st}");
    }
    assert!(table.contains("peak MiB"), "{table}");
    assert_conserved(&ws, "out/demo");
    // Truth records travel with the documents in `meta`.
    let meta = column(&ws.path("out/demo/normalize"), "meta", false);
    assert!(meta.len() > 1000, "{} documents", meta.len());
    assert!(
        meta.iter()
            .all(|m| m.as_deref().is_some_and(|m| m.contains("\"truth\""))),
        "every demo doc carries its truth record"
    );
    // The word salad leaves at perplexity, the planted spam pages at safety.
    let planted = |stage: &str, defect: &str| {
        column(&ws.path(&format!("out/demo/{stage}")), "meta", true)
            .iter()
            .filter(|m| {
                m.as_deref()
                    .is_some_and(|m| m.contains(&format!("\"defects\":[\"{defect}\"")))
            })
            .count()
    };
    assert_eq!(planted("perplexity", "word_salad"), 40);
    let spam = |stage| planted(stage, "gambling_spam") + planted(stage, "porn_spam");
    // Every spam page goes; a few are so odd the perplexity stage takes them first.
    assert_eq!(spam("safety") + spam("perplexity"), 50);
    assert!(spam("safety") >= 45, "{}", spam("safety"));
    // The report draws both signals per language, with the run's cut-offs.
    let report = std::fs::read_to_string(ws.path("out/demo/report.html")).expect("report.html");
    for part in [
        "Perplexity per language",
        "head below",
        "Safety score per language",
        "zh-Hans",
    ] {
        assert!(report.contains(part), "{part}");
    }
}
