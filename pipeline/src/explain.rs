//! `taojin explain OUT ID…`: one document's path through a finished run — at each stage
//! whether it was kept, the signals the stage added, and where it left (reason, detail);
//! for a duplicate, its cluster, survivor and a few members with their Jaccard; for a
//! kept document, the mix source, copies and split that took it to the shards.
//!
//! Lookups are `id IN (…)` queries through DataFusion over each stage's kept and removed
//! part files, which skips row groups by their statistics and the `id` bloom filters the
//! writer stores.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};
use taojin_dedup::{ShingleConfig, jaccard, shingle_hashes};
use taojin_schemas::RunStats;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::{PipelineError, Result};
use crate::sql::{json_rows as rows, queries};

/// Columns never shown as signals (the text itself, the raw record).
const HIDDEN: &[&str] = &["id", "text", "raw", "meta", "reason", "detail"];

/// Cluster members shown besides the document.
const MEMBERS: usize = 5;

/// One document's path.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    /// The document id.
    pub id: String,
    /// The stages it went through, in order, up to the one that removed it.
    pub stages: Vec<StageTrace>,
    /// Where it ended, in words.
    pub outcome: String,
}

/// What one stage did with the document.
#[derive(Debug, Clone, Serialize)]
pub struct StageTrace {
    /// Stage name.
    pub stage: String,
    /// Kept (false: removed here).
    pub kept: bool,
    /// Removal reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Removal detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Columns this stage added (or changed), by name.
    pub signals: Map<String, Value>,
    /// The duplicate cluster, when the stage put the document in one of two or more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterTrace>,
}

/// A duplicate cluster as seen from one member.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterTrace {
    /// The cluster column's value (hash of the survivor's id).
    pub cluster: u64,
    /// Members.
    pub size: u64,
    /// The survivor's id (the member whose id hashes to the cluster).
    pub survivor: Option<String>,
    /// A few other members and their shingle Jaccard with this document (default
    /// shingles: 5 words, 7 ideographs).
    pub members: Vec<(String, f64)>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Explains every id of `ids` in the run under `out`.
pub fn explain(out: &Path, ids: &[String]) -> Result<Vec<Explained>> {
    let path = out.join("stats.json");
    let bytes = std::fs::read(&path).map_err(PipelineError::io(&path))?;
    let stats: RunStats = serde_json::from_slice(&bytes)
        .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))?;
    let stages: Vec<String> = stats.stages.iter().map(|s| s.name.clone()).collect();
    let list = ids.iter().map(|i| quote(i)).collect::<Vec<_>>().join(", ");
    let mut asked = Vec::new();
    let results = queries(out, |tables| {
        let mut qs = Vec::new();
        for stage in &stages {
            for table in [stage.clone(), format!("{stage}_removed")] {
                if tables.contains(&table) {
                    qs.push(format!("SELECT * FROM \"{table}\" WHERE id IN ({list})"));
                    asked.push(table);
                }
            }
        }
        qs
    })?;
    let mut found: std::collections::HashMap<String, Vec<Map<String, Value>>> =
        std::collections::HashMap::new();
    for (table, batches) in asked.into_iter().zip(results) {
        found.insert(table, rows(&batches)?);
    }
    let row_of = |table: &str, id: &str| {
        found
            .get(table)
            .and_then(|rows| {
                rows.iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
            })
            .cloned()
    };
    let mut out_list = Vec::new();
    for id in ids {
        let mut trace = Vec::new();
        let mut previous: Option<Map<String, Value>> = None;
        let mut outcome = format!("not found: no stage of this run holds id `{id}`");
        for (i, stage) in stages.iter().enumerate() {
            let (row, kept) = match (row_of(stage, id), row_of(&format!("{stage}_removed"), id)) {
                (Some(r), _) => (r, true),
                (None, Some(r)) => (r, false),
                (None, None) => {
                    // An id the first stage renamed (`X#2`) appears from the next one on.
                    if previous.is_none() {
                        continue;
                    }
                    outcome = format!("lost between stages before `{stage}` (a bug: report it)");
                    break;
                }
            };
            let signals: Map<String, Value> = row
                .iter()
                .filter(|(k, _)| {
                    !HIDDEN.contains(&k.as_str()) && !matches!(k.as_str(), "reason" | "detail")
                })
                .filter(|(k, v)| previous.as_ref().is_none_or(|p| p.get(*k) != Some(*v)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let text =
                |r: &Map<String, Value>| r.get("text").and_then(Value::as_str).map(str::to_string);
            let cluster = cluster_of(&signals)
                .map(|(col, c, size)| cluster_trace(out, stage, &col, (c, size), id, text(&row)))
                .transpose()?;
            let reason = row
                .get("reason")
                .and_then(Value::as_str)
                .map(str::to_string);
            let detail = row
                .get("detail")
                .and_then(Value::as_str)
                .map(str::to_string);
            trace.push(StageTrace {
                stage: stage.clone(),
                kept,
                reason: reason.clone(),
                detail,
                signals,
                cluster,
            });
            if !kept {
                outcome = format!(
                    "removed by `{stage}`: {}",
                    reason.as_deref().unwrap_or("(no reason recorded)")
                );
                break;
            }
            if i + 1 == stages.len() {
                outcome = match (row.get("tokens.split"), row.get("tokens.count")) {
                    (Some(split), Some(count)) => format!(
                        "in the shards: split {split}, {count} tokens{}",
                        row.get("mix.copies")
                            .map(|c| format!(
                                " × {c} copies (mix source {})",
                                row.get("mix.source").unwrap_or(&Value::Null)
                            ))
                            .unwrap_or_default()
                    ),
                    _ => format!("kept by the last stage, `{stage}`"),
                };
            }
            previous = Some(row);
        }
        out_list.push(Explained {
            id: id.clone(),
            stages: trace,
            outcome,
        });
    }
    Ok(out_list)
}

/// (cluster column, cluster, size) when the signals put the document in a cluster of two
/// or more.
fn cluster_of(signals: &Map<String, Value>) -> Option<(String, u64, u64)> {
    signals.iter().find_map(|(k, v)| {
        let size = signals.get(&format!("{k}_size"))?.as_u64()?;
        (k.ends_with("cluster") && size > 1).then_some((k.clone(), v.as_u64()?, size))
    })
}

fn cluster_trace(
    out: &Path,
    stage: &str,
    col: &str,
    (cluster, size): (u64, u64),
    me: &str,
    text: Option<String>,
) -> Result<ClusterTrace> {
    let tables = [stage.to_string(), format!("{stage}_removed")];
    // Ids first (the cluster column only), then the text of the few shown, by id.
    let ids_of = |results: Vec<Vec<arrow::array::RecordBatch>>| -> Result<Vec<Map<String, Value>>> {
        let mut all = Vec::new();
        for batches in results {
            all.extend(rows(&batches)?);
        }
        Ok(all)
    };
    let id_of = |r: &Map<String, Value>| {
        r.get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let listed = ids_of(queries(out, |registered| {
        tables
            .iter()
            .filter(|t| registered.contains(t))
            .map(|t| {
                format!(
                    "SELECT id FROM \"{t}\" WHERE \"{col}\" = {cluster} ORDER BY id LIMIT 10000"
                )
            })
            .collect()
    })?)?;
    let mut ids: Vec<String> = listed.iter().map(id_of).collect();
    ids.sort();
    let survivor = ids
        .iter()
        .find(|id| xxh3_64(id.as_bytes()) == cluster)
        .cloned();
    let picked: Vec<String> = ids
        .into_iter()
        .filter(|id| id != me)
        .take(MEMBERS)
        .collect();
    let members = match picked.is_empty() {
        true => Vec::new(),
        false => {
            let list = picked
                .iter()
                .map(|i| quote(i))
                .collect::<Vec<_>>()
                .join(", ");
            ids_of(queries(out, |registered| {
                tables
                    .iter()
                    .filter(|t| registered.contains(t))
                    .map(|t| format!("SELECT id, text FROM \"{t}\" WHERE id IN ({list})"))
                    .collect()
            })?)?
        }
    };
    let config = ShingleConfig::default();
    let set = |t: &str| {
        let (mut tokens, mut set) = (Vec::new(), Vec::new());
        shingle_hashes(t, &config, &mut tokens, &mut set);
        set
    };
    let mine = text.as_deref().map(set).unwrap_or_default();
    let mut shown: Vec<(String, f64)> = members
        .iter()
        .map(|r| {
            let t = r.get("text").and_then(Value::as_str).unwrap_or("");
            (
                id_of(r),
                (jaccard(&mine, &set(t)) * 1000.0).round() / 1000.0,
            )
        })
        .collect();
    shown.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(ClusterTrace {
        cluster,
        size,
        survivor,
        members: shown,
    })
}

/// The plain-text rendering of `explain`.
pub fn render_text(all: &[Explained]) -> String {
    let mut s = String::new();
    for e in all {
        s.push_str(&format!("{}\n", e.id));
        for st in &e.stages {
            let what = match (&st.reason, st.kept) {
                (_, true) => "kept".to_string(),
                (Some(r), false) => format!("REMOVED {r}"),
                (None, false) => "REMOVED".to_string(),
            };
            s.push_str(&format!("  {:<16} {what}", st.stage));
            if let Some(d) = &st.detail {
                s.push_str(&format!(" ({d})"));
            }
            s.push('\n');
            if !st.signals.is_empty() {
                let sig: Vec<String> = st.signals.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!("      {}\n", sig.join(" ")));
            }
            if let Some(c) = &st.cluster {
                s.push_str(&format!(
                    "      cluster {:016x} of {}, survivor {}\n",
                    c.cluster,
                    c.size,
                    c.survivor.as_deref().unwrap_or("?")
                ));
                for (id, j) in &c.members {
                    s.push_str(&format!("        {id}  jaccard {j:.3}\n"));
                }
            }
        }
        s.push_str(&format!("  => {}\n", e.outcome));
    }
    s
}
