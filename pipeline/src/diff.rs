//! `taojin diff OUT_A OUT_B`: two runs side by side — the funnel per stage (kept, and
//! removed by reason), tokens per mix source in the shards, and a sample of documents one
//! run kept to the end and the other did not, each with where it left the other run. The
//! data-mix experiment loop: change a threshold or a weight, rerun into a new folder, diff.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use taojin_schemas::RunStats;
use taojin_schemas::manifest::Manifest;

use crate::error::{PipelineError, Result};

/// A number in run A and in run B (absent where the run has no such stage or key).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pair {
    /// Run A.
    pub a: Option<u64>,
    /// Run B.
    pub b: Option<u64>,
}

/// One stage of either run.
#[derive(Debug, Clone, Serialize)]
pub struct StageDiff {
    /// Stage name.
    pub stage: String,
    /// Documents kept.
    pub kept: Pair,
    /// Documents removed, by reason.
    pub removed: BTreeMap<String, Pair>,
}

/// A document the runs disagree on, and where it left the run that dropped it.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    /// Document id.
    pub id: String,
    /// Its outcome in the other run (as `taojin explain` says it).
    pub there: String,
}

/// Everything `diff` compares.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// The funnel, stages in A's order then B's extra ones.
    pub stages: Vec<StageDiff>,
    /// Train-split tokens per source, when both runs wrote shards.
    pub tokens_per_source: BTreeMap<String, Pair>,
    /// Documents A kept to its last stage and B did not: how many, and a sample.
    pub only_a: (u64, Vec<Moved>),
    /// The same from B's side.
    pub only_b: (u64, Vec<Moved>),
}

fn load_stats(out: &Path) -> Result<RunStats> {
    let path = out.join("stats.json");
    let bytes = std::fs::read(&path).map_err(PipelineError::io(&path))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))
}

fn load_manifest(out: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(out.join("shards/manifest.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Documents one run kept to its last stage and the other did not, each way: how many,
/// and the `n` first by `xxh3(id)` (a deterministic spread-out sample). An anti-join of the
/// two id columns, sort-merge with spilling, so a run of any size fits in memory.
fn moved_ids(
    a: &Path,
    b: &Path,
    sa: &RunStats,
    sb: &RunStats,
    n: usize,
    memory: usize,
) -> Result<[(u64, Vec<String>); 2]> {
    let (Some(la), Some(lb)) = (sa.stages.last(), sb.stages.last()) else {
        return Ok([(0, Vec::new()), (0, Vec::new())]);
    };
    // A last stage that kept nothing has no part files: no table, and no anti-join.
    let tables: Vec<(String, std::path::PathBuf)> =
        [("a", a.join(&la.name)), ("b", b.join(&lb.name))]
            .into_iter()
            .filter(|(_, dir)| !crate::sql::part_files(dir).is_empty())
            .map(|(t, dir)| (t.to_string(), dir))
            .collect();
    let has = |t: &str| tables.iter().any(|(name, _)| name == t);
    let mut queries = Vec::new();
    for (x, y) in [("a", "b"), ("b", "a")] {
        let only = match (has(x), has(y)) {
            (true, true) => format!("{x} LEFT ANTI JOIN {y} ON {x}.id = {y}.id"),
            (true, false) => x.to_string(),
            // Nothing kept on this side: an empty result of the same shape.
            (false, _) => "(SELECT CAST(NULL AS VARCHAR) AS id WHERE false) AS e".into(),
        };
        let x = if has(x) { x } else { "e" };
        queries.push(format!("SELECT count(*) AS n FROM {only}"));
        queries.push(format!(
            "SELECT CAST({x}.id AS VARCHAR) AS moved FROM {only} ORDER BY xxh3({x}.id), {x}.id LIMIT {n}"
        ));
    }
    let r = crate::sql::queries_in_memory(&tables, memory, &queries).map_err(|e| {
        let text = e.to_string();
        if text.contains("Resources exhausted") || text.contains("Not enough memory") {
            PipelineError::Config(format!(
                "joining the two runs' ids needs more than --memory {} MiB here: give it more ({text})",
                memory >> 20
            ))
        } else {
            e
        }
    })?;
    let side = |count: &[arrow::array::RecordBatch], ids: &[arrow::array::RecordBatch]| {
        let total = crate::sql::json_rows(count)?
            .first()
            .and_then(|r| r.get("n")?.as_u64())
            .unwrap_or(0);
        let picked = crate::sql::json_rows(ids)?
            .iter()
            .filter_map(|r| Some(r.get("moved")?.as_str()?.to_string()))
            .collect();
        Ok::<_, PipelineError>((total, picked))
    };
    Ok([side(&r[0], &r[1])?, side(&r[2], &r[3])?])
}

/// Where each of `ids` went in run `other` (as `taojin explain` says it).
fn explained(ids: Vec<String>, other: &Path) -> Result<Vec<Moved>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(crate::explain::explain(other, &ids)?
        .into_iter()
        .map(|e| Moved {
            id: e.id,
            there: e.outcome,
        })
        .collect())
}

/// The default memory of [`diff`]'s id join (`taojin diff --memory`).
pub const DEFAULT_MEMORY: usize = 1 << 30;

/// Compares run `a` with run `b`, sampling `n` documents each way; joining their ids
/// holds at most about `memory` bytes (the rest spills).
pub fn diff(a: &Path, b: &Path, n: usize, memory: usize) -> Result<Diff> {
    let (sa, sb) = (load_stats(a)?, load_stats(b)?);
    let mut names: Vec<String> = sa.stages.iter().map(|s| s.name.clone()).collect();
    names.extend(
        sb.stages
            .iter()
            .map(|s| s.name.clone())
            .filter(|x| !sa.stages.iter().any(|s| &s.name == x)),
    );
    let find = |st: &RunStats, name: &str| st.stages.iter().find(|s| s.name == name).cloned();
    let stages = names
        .iter()
        .map(|name| {
            let (x, y) = (find(&sa, name), find(&sb, name));
            let mut removed: BTreeMap<String, Pair> = BTreeMap::new();
            for (side, st) in [(0, &x), (1, &y)] {
                for (reason, &count) in st.iter().flat_map(|s| s.docs_removed.iter()) {
                    let p = removed.entry(reason.clone()).or_default();
                    if side == 0 {
                        p.a = Some(count);
                    } else {
                        p.b = Some(count);
                    }
                }
            }
            StageDiff {
                stage: name.clone(),
                kept: Pair {
                    a: x.as_ref().map(|s| s.docs_kept),
                    b: y.as_ref().map(|s| s.docs_kept),
                },
                removed,
            }
        })
        .collect();
    let mut tokens_per_source: BTreeMap<String, Pair> = BTreeMap::new();
    if let (Some(ma), Some(mb)) = (load_manifest(a), load_manifest(b)) {
        for (side, m) in [(0, &ma), (1, &mb)] {
            for (source, &t) in m
                .splits
                .get("train")
                .iter()
                .flat_map(|s| s.tokens_per_source.iter())
            {
                let p = tokens_per_source.entry(source.clone()).or_default();
                if side == 0 {
                    p.a = Some(t);
                } else {
                    p.b = Some(t);
                }
            }
        }
    }
    let [(na, ia), (nb, ib)] = moved_ids(a, b, &sa, &sb, n, memory)?;
    let only_a = (na, explained(ia, b)?);
    let only_b = (nb, explained(ib, a)?);
    Ok(Diff {
        stages,
        tokens_per_source,
        only_a,
        only_b,
    })
}

fn cell(v: Option<u64>) -> String {
    v.map_or("–".into(), |v| v.to_string())
}

fn change(p: &Pair) -> String {
    match (p.a, p.b) {
        (Some(a), Some(b)) if a == b => "=".into(),
        (Some(a), Some(b)) => {
            let d = b as i128 - a as i128;
            let pct = if a > 0 {
                format!(" ({:+.1}%)", d as f64 * 100.0 / a as f64)
            } else {
                String::new()
            };
            format!("{d:+}{pct}")
        }
        _ => String::new(),
    }
}

/// The plain-text rendering of a diff.
pub fn render_text(d: &Diff, a: &Path, b: &Path) -> String {
    let mut s = format!("A = {}\nB = {}\n\n", a.display(), b.display());
    s.push_str(&format!(
        "{:<42} {:>10} {:>10}  change\n",
        "stage / removed by", "A", "B"
    ));
    for st in &d.stages {
        s.push_str(&format!(
            "{:<42} {:>10} {:>10}  {}\n",
            format!("{} kept", st.stage),
            cell(st.kept.a),
            cell(st.kept.b),
            change(&st.kept)
        ));
        let changed: Vec<_> = st.removed.iter().filter(|(_, p)| p.a != p.b).collect();
        for (reason, p) in &changed {
            s.push_str(&format!(
                "{:<42} {:>10} {:>10}  {}\n",
                format!("  {reason}"),
                cell(p.a),
                cell(p.b),
                change(p)
            ));
        }
        let same = st.removed.len() - changed.len();
        if same > 0 {
            let reasons = if same == 1 { "reason" } else { "reasons" };
            s.push_str(&format!("  ({same} removal {reasons} unchanged)\n"));
        }
    }
    if !d.tokens_per_source.is_empty() {
        s.push_str("\ntrain tokens per source\n");
        for (source, p) in &d.tokens_per_source {
            s.push_str(&format!(
                "{:<42} {:>10} {:>10}  {}\n",
                format!("  {source}"),
                cell(p.a),
                cell(p.b),
                change(p)
            ));
        }
    }
    for (label, (total, moved)) in [
        ("kept to the end in A, not in B", &d.only_a),
        ("kept to the end in B, not in A", &d.only_b),
    ] {
        s.push_str(&format!("\n{label}: {total} documents"));
        if !moved.is_empty() {
            s.push_str(&format!(", {} of them:", moved.len()));
        }
        s.push('\n');
        for m in moved {
            s.push_str(&format!("  {}  => {}\n", m.id, m.there));
        }
    }
    s
}
