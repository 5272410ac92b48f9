//! The `quality` stage on the demo corpus: recall of planted bad documents and the share
//! of planted good documents kept, per language.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::*;

#[test]
fn demo_bad_documents_are_caught_and_good_ones_kept() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    let model = lid_model_path();
    let stages = format!(
        "{NORMALIZE}\n[[stages]]\nkind = \"langid\"\nmodel = \"{model}\"\nmode = \"annotate\"\n\n[[stages]]\nkind = \"quality\"\n"
    );
    ws.job("", &input("demo", "data/*.jsonl.zst"), &stages);
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/quality");
    // lang -> (bad caught, bad, good kept, good)
    let mut table: BTreeMap<String, [u32; 4]> = BTreeMap::new();
    let mut missed = Vec::new();
    let mut lost = Vec::new();
    // A bad document is handled when it is removed or when line cleaning took its bad
    // lines out (C4 removes `javascript`/policy lines, not documents).
    let cleaned = int_column(&dir, "lines.lines_removed");
    let c4_cleaned = int_column(&dir, "c4.lines_removed");
    for (removed, metas, reasons) in [
        (false, column(&dir, "meta", false), vec![None; 0]),
        (
            true,
            column(&dir, "meta", true),
            column(&dir, "reason", true),
        ),
    ] {
        for (i, m) in metas.iter().enumerate() {
            let v: serde_json::Value =
                serde_json::from_str(m.as_deref().expect("meta")).expect("json");
            let t = &v["truth"];
            let lang = t["lang"].as_str().expect("lang").to_string();
            if !["en", "zh-Hans", "zh-Hant"].contains(&lang.as_str()) {
                continue;
            }
            let bad = t["quality"] == "bad";
            let handled = removed || cleaned[i] > 0 || c4_cleaned[i] > 0;
            let e = table.entry(lang.clone()).or_default();
            if bad {
                e[1] += 1;
                e[0] += handled as u32;
                if !handled {
                    missed.push(t["defects"].to_string());
                }
            } else {
                e[3] += 1;
                e[2] += !removed as u32;
                if removed {
                    lost.push(reasons.get(i).cloned().flatten().unwrap_or_default());
                }
            }
        }
    }
    let mut report = String::new();
    for (lang, [caught, bad, kept, good]) in &table {
        report.push_str(&format!(
            "{lang}: bad removed or cleaned {caught}/{bad} ({:.1}%), good kept {kept}/{good} ({:.1}%)\n",
            100.0 * *caught as f64 / *bad as f64,
            100.0 * *kept as f64 / *good as f64
        ));
    }
    let mut lost_by: BTreeMap<String, u32> = BTreeMap::new();
    for r in &lost {
        *lost_by.entry(r.clone()).or_default() += 1;
    }
    eprintln!(
        "{report}good documents removed by: {lost_by:?}\nbad documents missed (defects): {:?}",
        &missed[..missed.len().min(15)]
    );
    for (lang, [caught, bad, kept, good]) in &table {
        assert!(
            *caught as f64 >= 0.8 * *bad as f64,
            "{lang} recall: {report}"
        );
        assert!(
            *kept as f64 >= 0.9 * *good as f64,
            "{lang} good kept: {report} {lost_by:?}"
        );
    }
    assert_conserved(&ws, "out");
    thresholds_match_the_stored_signals(&ws, &dir);
}

/// The report's rule-threshold table, recomputed from the part files: every numeric
/// check of the quality stage with what it removed on its side of the limit and what a
/// 10% stricter or looser limit would move.
fn thresholds_match_the_stored_signals(ws: &Workspace, dir: &Path) {
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path("out/stats.json")).unwrap()).unwrap();
    let q = stats["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "quality")
        .unwrap();
    let thresholds = q["thresholds"]
        .as_array()
        .expect("thresholds in stats.json");
    assert!(thresholds.len() > 30, "{}", thresholds.len());
    let html = std::fs::read_to_string(ws.path("out/report.html")).unwrap();
    let reasons = column(dir, "reason", true);
    let (mut moved_any, mut checked) = (0, 0);
    let kept_rows = column(dir, "id", false).len();
    let total = (kept_rows + reasons.len()) as f64;
    let share = |n: usize| format!("{} ({:.2}%)", grouped(n as u64), n as f64 * 100.0 / total);
    for t in thresholds {
        let (reason, col, op) = (
            t["reason"].as_str().unwrap(),
            t["column"].as_str().unwrap(),
            t["op"].as_str().unwrap(),
        );
        let l = t["limit"].as_f64().unwrap();
        let rejects = |v: f64, l: f64| match op {
            "<" => v < l,
            "<=" => v <= l,
            ">" => v > l,
            _ => v >= l,
        };
        let (strict, loose) = if op.starts_with('<') {
            (l * 1.1, l * 0.9)
        } else {
            (l * 0.9, l * 1.1)
        };
        let kept = f64_column(dir, col, false);
        let removed = f64_column(dir, col, true);
        let stricter = kept
            .iter()
            .flatten()
            .filter(|&&v| !rejects(v, l) && rejects(v, strict))
            .count();
        let mine = |i: usize| reasons[i].as_deref() == Some(reason);
        let side = (0..removed.len())
            .filter(|&i| mine(i) && removed[i].is_some_and(|v| rejects(v, l)))
            .count();
        let looser = (0..removed.len())
            .filter(|&i| mine(i) && removed[i].is_some_and(|v| rejects(v, l) && !rejects(v, loose)))
            .count();
        moved_any += (stricter + looser > 0) as usize;
        let limit = if l.fract() == 0.0 {
            grouped(l as u64)
        } else {
            format!("{l}")
        };
        let op_html = op.replace('<', "&lt;").replace('>', "&gt;");
        let row = format!(
            "<td>{col} {op_html} {}</td><td>{side}</td><td>{}</td><td>{}</td>",
            limit,
            share(stricter),
            share(looser)
        );
        assert!(html.contains(&row), "{reason}: expected a row ending {row}");
        checked += 1;
    }
    assert_eq!(checked, thresholds.len());
    assert!(
        moved_any >= 5,
        "the demo moves documents at several thresholds"
    );
}
