//! Per-task and per-run accounting: what went in, what was kept, what was removed and why.
//!
//! Conservation (`docs_in = docs_kept + Σ docs_removed`, and the byte equivalent) is a
//! property of every [`TaskStats`] and [`StageStats`]; [`TaskStats::check_conservation`]
//! is how the engine enforces it at run time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One threshold check of a rule: documents whose `column` value is `op` `limit` are
/// removed with `reason`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The removal reason, `<rule>:<signal>`.
    pub reason: String,
    /// The signal column it reads.
    pub column: String,
    /// When it removes: `<`, `<=`, `>` or `>=`.
    pub op: String,
    /// The threshold.
    pub limit: f64,
    /// The language group it judges: `en`, `zh` or `all`.
    pub lang: String,
}

/// Accounting does not add up: always a bug in taojin, never a user error.
#[derive(Debug, thiserror::Error)]
#[error("conservation violated in {what}: {detail}")]
pub struct ConservationError {
    /// Which task or stage.
    pub what: String,
    /// The numbers that disagree.
    pub detail: String,
}

/// The counts of one task (`<stage>/_stats/part-NNNNN.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskStats {
    /// Stage name.
    pub stage: String,
    /// Task index within the stage.
    pub task: usize,
    /// Documents read (bad records included).
    pub docs_in: u64,
    /// Documents written to the kept part file.
    pub docs_kept: u64,
    /// Documents removed, by reason.
    pub docs_removed: BTreeMap<String, u64>,
    /// UTF-8 bytes of text read (raw bytes for bad records).
    pub bytes_in: u64,
    /// Text bytes written for kept documents, after any edits.
    pub bytes_kept: u64,
    /// Input text bytes of removed documents, by reason.
    pub bytes_removed: BTreeMap<String, u64>,
    /// Net change in bytes that edits (normalization, line removal) made to kept documents.
    pub bytes_edit_delta: i64,
    /// Wall-clock seconds the task took.
    pub seconds: f64,
    /// Further counts a stage reports (e.g. `blank_lines`, `docs_changed`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
    /// The numeric thresholds the stage's rules apply (the quality stage's rule table),
    /// the same in every task; the report draws them on the signal histograms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<Threshold>,
}

impl TaskStats {
    /// Counts one removal.
    pub fn remove(&mut self, reason: &str, bytes: u64) {
        *self.docs_removed.entry(reason.to_string()).or_default() += 1;
        *self.bytes_removed.entry(reason.to_string()).or_default() += bytes;
    }

    /// Adds `n` to a named counter.
    pub fn count(&mut self, counter: &str, n: u64) {
        *self.counters.entry(counter.to_string()).or_default() += n;
    }

    /// Checks `in = kept + Σ removed` for documents and bytes.
    pub fn check_conservation(&self) -> Result<(), ConservationError> {
        check(
            &format!("stage `{}` task {}", self.stage, self.task),
            (self.docs_in, self.docs_kept, &self.docs_removed),
            (
                self.bytes_in,
                self.bytes_kept,
                &self.bytes_removed,
                self.bytes_edit_delta,
            ),
        )
    }
}

fn check(
    what: &str,
    (docs_in, docs_kept, docs_removed): (u64, u64, &BTreeMap<String, u64>),
    (bytes_in, bytes_kept, bytes_removed, delta): (u64, u64, &BTreeMap<String, u64>, i64),
) -> Result<(), ConservationError> {
    let removed: u64 = docs_removed.values().sum();
    if docs_in != docs_kept + removed {
        return Err(ConservationError {
            what: what.to_string(),
            detail: format!("docs_in {docs_in} != kept {docs_kept} + removed {removed}"),
        });
    }
    let removed_bytes: u64 = bytes_removed.values().sum();
    if bytes_in as i128 + delta as i128 != bytes_kept as i128 + removed_bytes as i128 {
        return Err(ConservationError {
            what: what.to_string(),
            detail: format!(
                "bytes_in {bytes_in} + edits {delta} != kept {bytes_kept} + removed {removed_bytes}"
            ),
        });
    }
    Ok(())
}

/// The counts of one stage, summed over its tasks (an entry of `stats.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageStats {
    /// Stage name.
    pub name: String,
    /// Stage kind.
    pub kind: String,
    /// Number of tasks.
    pub tasks: usize,
    /// Tasks this run skipped because a matching done marker existed.
    pub tasks_resumed: usize,
    /// Documents read.
    pub docs_in: u64,
    /// Documents kept.
    pub docs_kept: u64,
    /// Documents removed, by reason.
    pub docs_removed: BTreeMap<String, u64>,
    /// Text bytes read.
    pub bytes_in: u64,
    /// Text bytes kept.
    pub bytes_kept: u64,
    /// Input text bytes removed, by reason.
    pub bytes_removed: BTreeMap<String, u64>,
    /// Net bytes changed by edits to kept documents.
    pub bytes_edit_delta: i64,
    /// Wall-clock seconds of the stage in the run that last executed it.
    pub seconds: f64,
    /// Sum of the task seconds (a per-core cost that resume does not distort).
    pub task_seconds: f64,
    /// Peak RSS of the taojin process while it ran this stage, in bytes (a local run;
    /// absent for stages run by cluster workers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Summed stage counters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
    /// The stage's config hash when the funnel was made (`taojin stats` checks the stage
    /// folder still holds it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config: String,
    /// The rule thresholds of its tasks ([`TaskStats::thresholds`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<Threshold>,
}

impl StageStats {
    /// Sums task stats into a stage entry.
    pub fn from_tasks<'a>(
        name: &str,
        kind: &str,
        tasks: impl IntoIterator<Item = &'a TaskStats>,
    ) -> StageStats {
        let mut s = StageStats {
            name: name.to_string(),
            kind: kind.to_string(),
            ..Default::default()
        };
        for t in tasks {
            s.tasks += 1;
            s.docs_in += t.docs_in;
            s.docs_kept += t.docs_kept;
            s.bytes_in += t.bytes_in;
            s.bytes_kept += t.bytes_kept;
            s.bytes_edit_delta += t.bytes_edit_delta;
            s.task_seconds += t.seconds;
            for (k, v) in &t.docs_removed {
                *s.docs_removed.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &t.bytes_removed {
                *s.bytes_removed.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &t.counters {
                *s.counters.entry(k.clone()).or_default() += v;
            }
            if s.thresholds.is_empty() {
                s.thresholds.clone_from(&t.thresholds);
            }
        }
        s
    }

    /// Documents removed for any reason.
    pub fn docs_removed_total(&self) -> u64 {
        self.docs_removed.values().sum()
    }

    /// Checks `in = kept + Σ removed` for documents and bytes.
    pub fn check_conservation(&self) -> Result<(), ConservationError> {
        check(
            &format!("stage `{}`", self.name),
            (self.docs_in, self.docs_kept, &self.docs_removed),
            (
                self.bytes_in,
                self.bytes_kept,
                &self.bytes_removed,
                self.bytes_edit_delta,
            ),
        )
    }
}

/// `<output>/stats.json`: the funnel of a whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunStats {
    /// Job name.
    pub job: String,
    /// Stages in job order.
    pub stages: Vec<StageStats>,
}

impl RunStats {
    /// Checks each stage and that each stage reads exactly what the previous one kept.
    pub fn check_conservation(&self) -> Result<(), ConservationError> {
        for s in &self.stages {
            s.check_conservation()?;
        }
        for pair in self.stages.windows(2) {
            if pair[1].docs_in != pair[0].docs_kept || pair[1].bytes_in != pair[0].bytes_kept {
                return Err(ConservationError {
                    what: format!("stages `{}` → `{}`", pair[0].name, pair[1].name),
                    detail: format!(
                        "{} docs / {} bytes kept but {} docs / {} bytes read next",
                        pair[0].docs_kept, pair[0].bytes_kept, pair[1].docs_in, pair[1].bytes_in
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conservation_holds_and_breaks() {
        let mut t = TaskStats {
            stage: "n".into(),
            docs_in: 3,
            docs_kept: 2,
            bytes_in: 30,
            bytes_kept: 18,
            ..Default::default()
        };
        t.remove("empty", 10);
        t.bytes_edit_delta = -2;
        t.check_conservation().expect("balanced");
        t.docs_kept = 3;
        let err = t.check_conservation().expect_err("unbalanced docs");
        assert!(err.to_string().contains("docs_in 3"));
        t.docs_kept = 2;
        t.bytes_kept = 19;
        assert!(t.check_conservation().is_err(), "unbalanced bytes");
    }

    #[test]
    fn stage_sums_tasks_and_run_chains_stages() {
        let mut a = TaskStats {
            stage: "n".into(),
            docs_in: 2,
            docs_kept: 1,
            bytes_in: 20,
            bytes_kept: 10,
            ..Default::default()
        };
        a.remove("empty", 10);
        let b = TaskStats {
            stage: "n".into(),
            task: 1,
            docs_in: 1,
            docs_kept: 1,
            bytes_in: 5,
            bytes_kept: 5,
            ..Default::default()
        };
        let s = StageStats::from_tasks("n", "normalize", [&a, &b]);
        assert_eq!(
            (s.docs_in, s.docs_kept, s.docs_removed_total(), s.tasks),
            (3, 2, 1, 2)
        );
        s.check_conservation().expect("balanced");
        let next = StageStats {
            name: "m".into(),
            docs_in: 2,
            docs_kept: 2,
            bytes_in: 15,
            bytes_kept: 15,
            ..Default::default()
        };
        let run = RunStats {
            job: "j".into(),
            stages: vec![s.clone(), next.clone()],
        };
        run.check_conservation().expect("chained");
        let broken = RunStats {
            job: "j".into(),
            stages: vec![
                s,
                StageStats {
                    docs_in: 3,
                    docs_kept: 3,
                    ..next
                },
            ],
        };
        assert!(broken.check_conservation().is_err());
    }
}
