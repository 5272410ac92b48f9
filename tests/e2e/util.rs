//! Helpers: a temp workspace per test, running the binary, reading outputs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{AsArray, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

/// A temp folder holding a job file, its data and its output.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, bytes).expect("write");
        p
    }

    /// Writes `job.toml` with one stage list and one input, plus extra `[job]` lines.
    pub fn job(&self, job_extra: &str, inputs: &str, stages: &str) -> PathBuf {
        let text =
            format!("[job]\nname = \"t\"\noutput = \"out\"\n{job_extra}\n{inputs}\n{stages}\n");
        self.write("job.toml", text)
    }

    pub fn taojin(&self, args: &[&str]) -> Output {
        taojin_in(self.dir.path(), args)
    }

    /// Runs with the fail point `stage:task` (the process aborts before that task
    /// commits) and asserts that the run failed.
    pub fn run_crashing(&self, failpoint: &str, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_taojin"))
            .args(args)
            .current_dir(self.dir.path())
            .env(taojin_pipeline::engine::FAILPOINT_ENV, failpoint)
            .output()
            .expect("run taojin");
        assert!(
            !out.status.success(),
            "the fail point {failpoint} must kill the run"
        );
        out
    }

    /// Runs and asserts success.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.taojin(args);
        assert!(
            out.status.success(),
            "taojin {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn stats(&self, out: &str) -> Value {
        let bytes = std::fs::read(self.path(out).join("stats.json")).expect("stats.json");
        serde_json::from_slice(&bytes).expect("stats json")
    }
}

/// A path in the repository, from the `CARGO_MANIFEST_DIR` cargo sets when it runs the
/// test (not the one compiled in: a test binary built in another checkout that shares
/// the target folder must still find this checkout's files).
pub fn repo_path(rel: &str) -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.join("..").join(rel)
}

/// The language-ID model (`make models`) as a string for job files.
pub fn lid_model_path() -> String {
    repo_path("models/lid.176.ftz")
        .to_string_lossy()
        .into_owned()
}

pub fn taojin_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_taojin"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove(taojin_pipeline::engine::FAILPOINT_ENV)
        .output()
        .expect("run taojin")
}

/// All batches of a Parquet file.
pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(f)
        .expect("parquet")
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect()
}

/// One string column of every part file of a stage folder (kept, or removed with
/// `removed = true`), in part order.
pub fn column(stage_dir: &Path, name: &str, removed: bool) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for col in arrays(stage_dir, name, removed) {
        if let Some(s) = col.as_string_opt::<i32>() {
            out.extend(s.iter().map(|v| v.map(str::to_string)));
        } else {
            let b = col.as_binary::<i32>();
            out.extend(
                b.iter()
                    .map(|v| v.map(|v| String::from_utf8_lossy(v).into_owned())),
            );
        }
    }
    out
}

/// One primitive column of every kept part file of a stage folder, in part order; nulls
/// become `null`.
pub fn primitive_column<T: arrow::datatypes::ArrowPrimitiveType>(
    stage_dir: &Path,
    name: &str,
    null: T::Native,
) -> Vec<T::Native> {
    let mut out = Vec::new();
    for path in part_files(stage_dir) {
        for batch in read_parquet(&path) {
            let col = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"));
            out.extend(col.as_primitive::<T>().iter().map(|v| v.unwrap_or(null)));
        }
    }
    out
}

/// A Float32 column (nulls as NaN).
pub fn float_column(stage_dir: &Path, name: &str) -> Vec<f32> {
    primitive_column::<arrow::datatypes::Float32Type>(stage_dir, name, f32::NAN)
}

/// An Int32 column (nulls as 0).
pub fn int_column(stage_dir: &Path, name: &str) -> Vec<i32> {
    primitive_column::<arrow::datatypes::Int32Type>(stage_dir, name, 0)
}

/// A stage's kept rows' folder, or its removed rows'.
fn rows_dir(stage_dir: &Path, removed: bool) -> PathBuf {
    if removed {
        stage_dir.join("removed")
    } else {
        stage_dir.to_path_buf()
    }
}

/// A numeric column as `f64` (nulls as `None`), of the kept rows or the removed ones.
pub fn f64_column(stage_dir: &Path, name: &str, removed: bool) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for col in arrays(stage_dir, name, removed) {
        let col = arrow::compute::cast(&col, &arrow::datatypes::DataType::Float64)
            .expect("a numeric column");
        out.extend(col.as_primitive::<arrow::datatypes::Float64Type>().iter());
    }
    out
}

/// Column `name` of every batch of a stage's kept rows, or its removed ones.
fn arrays(stage_dir: &Path, name: &str, removed: bool) -> Vec<arrow::array::ArrayRef> {
    part_files(&rows_dir(stage_dir, removed))
        .iter()
        .flat_map(|p| read_parquet(p))
        .map(|b| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"))
                .clone()
        })
        .collect()
}

/// `n` with thousands separators, as the report writes counts.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `part-*.parquet` files of a folder, sorted.
pub fn part_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
            && p.extension().is_some_and(|e| e == "parquet")
    });
    v.sort();
    v
}

/// Every file under `dir`, relative, sorted.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).expect("prefix").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Asserts that no temporary file is left under `dir`.
pub fn assert_no_tmp_files(dir: &Path) {
    let leftovers: Vec<_> = all_files(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Asserts that every Parquet part file (kept and removed) under two outputs is byte-identical.
pub fn assert_same_parts(a: &Path, b: &Path) {
    let parts = |d: &Path| -> Vec<PathBuf> {
        all_files(d)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    assert_eq!(pa, pb, "different part files");
    assert!(!pa.is_empty());
    for p in pa {
        let (x, y) = (
            std::fs::read(a.join(&p)).expect("read"),
            std::fs::read(b.join(&p)).expect("read"),
        );
        assert!(x == y, "{} differs", p.display());
    }
}

/// `n` JSONL lines of simple documents.
pub fn jsonl_docs(n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| {
            let text = format!("Document {i} of {prefix}.\r\nIt has\u{a0}two lines.  \n\n\n\nAnd a third, 第{i}行。");
            serde_json::json!({"id": format!("{prefix}-{i}"), "text": text, "url": format!("https://example.com/{i}"), "lang_hint": "en"}).to_string() + "\n"
        })
        .collect()
}

pub fn zstd_bytes(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd")
}

pub fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gz");
    e.finish().expect("gz")
}

pub const NORMALIZE: &str = "[[stages]]\nkind = \"normalize\"\n";

pub fn input(name: &str, path: &str) -> String {
    format!("[[inputs]]\nname = \"{name}\"\npath = \"{path}\"\n")
}

/// Asserts `docs_in = docs_kept + Σ docs_removed` for every stage of a stats.json, and
/// that each stage reads what the one before it kept.
pub fn assert_conserved(ws: &Workspace, out: &str) {
    // Counted from the rows on disk, not from what the engine already checked.
    let stats = ws.stats(out);
    let stages = stats["stages"].as_array().expect("stages");
    let mut prev_kept = None;
    for s in stages {
        let dir = ws.path(out).join(s["name"].as_str().expect("name"));
        let kept = column(&dir, "id", false).len() as u64;
        let mut removed = std::collections::BTreeMap::<String, u64>::new();
        if dir.join("removed").is_dir() {
            for r in column(&dir, "reason", true) {
                *removed.entry(r.expect("reason")).or_default() += 1;
            }
        }
        let on_disk: u64 = kept + removed.values().sum::<u64>();
        assert_eq!(
            s["docs_kept"].as_u64(),
            Some(kept),
            "{}: kept rows",
            s["name"]
        );
        let reported: std::collections::BTreeMap<String, u64> =
            serde_json::from_value(s["docs_removed"].clone()).expect("removed");
        assert_eq!(reported, removed, "{}: removed rows by reason", s["name"]);
        assert_eq!(s["docs_in"].as_u64(), Some(on_disk), "{}", s["name"]);
        if let Some(p) = prev_kept {
            // Bad records enter only the first stage.
            assert_eq!(on_disk, p, "{}: the rows of the stage before", s["name"]);
        }
        prev_kept = Some(kept);
    }
}

/// The (step, tasks) list `taojin plan` prints.
pub fn plan_steps(plan: &str) -> Vec<(String, usize)> {
    plan.lines()
        .skip_while(|l| !l.starts_with("steps"))
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.parse().ok()?))
        })
        .collect()
}

/// Waits for spawned processes (stderr piped) and asserts each succeeded.
pub fn wait_ok(children: Vec<std::process::Child>, what: &str) {
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `data/demo` with the learned filters' files, and the n-gram model the demo recipes'
/// perplexity stage reads, as `make demo` makes them.
pub fn demo_data_and_lm(ws: &Workspace) {
    ws.run_ok(&["demo-data", "data/demo", "--learned"]);
    ws.run_ok(&[
        "train-lm",
        "--input",
        "data/demo/lm-reference/reference.jsonl.zst",
        "--order",
        "4",
        "--out",
        "out/demo-lm.arpa",
    ]);
}
