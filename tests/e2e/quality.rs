//! The `quality` stage on the demo corpus: recall of planted bad documents and the share
//! of planted good documents kept, per language.

use std::collections::BTreeMap;

use crate::util::*;

#[test]
fn demo_bad_documents_are_caught_and_good_ones_kept() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/lid.176.ftz");
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
}
