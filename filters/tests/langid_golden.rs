//! taojin's fastText predictions agree with the official C++ fastText on a golden file
//! of hand-written texts in many languages (see tests/data/README.md for how it was made).

use std::path::PathBuf;

use taojin_filters::LangIdModel;

/// This crate's folder, from the variable cargo sets when it runs the test (not the one
/// compiled in: a test binary built in another checkout sharing the target folder).
fn crate_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn model_path() -> PathBuf {
    crate_dir().join("../models/lid.176.ftz")
}

#[test]
fn agrees_with_official_fasttext() {
    let model = LangIdModel::load(&model_path()).unwrap_or_else(|e| panic!("{e}"));
    let golden = std::fs::read_to_string(crate_dir().join("tests/data/langid_golden.jsonl"))
        .expect("golden file");
    let mut checked = 0;
    for (i, line) in golden.lines().enumerate() {
        let row: serde_json::Value = serde_json::from_str(line).expect("json");
        let input = row["input"].as_str().expect("input");
        let labels: Vec<&str> = row["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|l| l.as_str().expect("label"))
            .collect();
        let probs: Vec<f64> = row["probs"]
            .as_array()
            .expect("probs")
            .iter()
            .map(|p| p.as_f64().expect("prob"))
            .collect();
        let ours = model.predict(input, 2);
        assert_eq!(
            ours.len(),
            labels.len(),
            "line {}: {input:?}: {ours:?} vs {labels:?}",
            i + 1
        );
        assert_eq!(ours[0].0, labels[0], "line {}: top-1 of {input:?}", i + 1);
        for ((label, p), (want_label, want_p)) in ours.iter().zip(labels.iter().zip(&probs)) {
            if label == want_label {
                assert!(
                    (*p as f64 - want_p).abs() < 1e-4,
                    "line {}: {input:?}: {label} {p} vs {want_p}",
                    i + 1
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 300, "{checked}");
}

#[test]
fn missing_and_corrupt_models_are_clear_errors() {
    let err = LangIdModel::load(std::path::Path::new("/nonexistent/lid.176.ftz"))
        .err()
        .expect("missing");
    assert!(err.to_string().contains("make models"), "{err}");
    let dir = tempfile_dir();
    let bad = dir.join("bad.ftz");
    std::fs::write(&bad, b"not a fasttext model at all").expect("write");
    let err = LangIdModel::load(&bad).err().expect("corrupt");
    assert!(
        err.to_string().contains("cannot load fastText model"),
        "{err}"
    );
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("taojin-langid-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}
