//! The report's removed examples: per stage and reason, the first few removed documents
//! by id with their detail and the signal that removed them, from one read of the
//! removed table's sampled part files (its id, reason, detail and signal columns).

use arrow::array::{Array, RecordBatch};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use taojin_schemas::{StageStats, columns};

use super::read::stored_value;
use super::thresholds::Agg;
use crate::batch::utf8_column;
use crate::error::Result;

/// One example row, as the report's queries return rows.
type Row = Map<String, Value>;

/// Removed examples shown per reason.
const EXAMPLES: usize = 3;

/// The removed examples of a stage, tallied from batches of its sampled removed part
/// files read with [`Examples::columns`] (the caller reads the table once for every
/// section that needs it).
pub(super) struct Examples<'a> {
    st: &'a StageStats,
    /// The signal column shown for each reason that has one.
    signal: BTreeMap<&'a str, &'a str>,
    /// Per reason counted by the stage, the smallest ids so far and their rows, by id.
    best: BTreeMap<&'a str, Vec<(String, Row)>>,
}

impl<'a> Examples<'a> {
    /// An empty tally of `st`'s removal reasons; `evidence(reason)` names the signal
    /// column shown beside a reason's examples, where it has one.
    pub(super) fn new(st: &'a StageStats, evidence: impl Fn(&str) -> Option<&'a str>) -> Self {
        let reasons = || st.docs_removed.keys().map(String::as_str);
        Examples {
            st,
            signal: reasons().filter_map(|r| Some((r, evidence(r)?))).collect(),
            best: reasons().map(|r| (r, Vec::new())).collect(),
        }
    }

    /// The removed table's columns it reads.
    pub(super) fn columns(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let signals: BTreeSet<&'a str> = self.signal.values().copied().collect();
        [columns::ID, columns::REASON, columns::DETAIL]
            .into_iter()
            .chain(signals)
    }

    /// Adds a batch of removed rows.
    pub(super) fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        let text = |name: &str| utf8_column(batch, name);
        let (Some(ids), Some(reasons)) = (text(columns::ID), text(columns::REASON)) else {
            return Ok(());
        };
        let details = text(columns::DETAIL);
        for j in 0..batch.num_rows() {
            if !reasons.is_valid(j) || !ids.is_valid(j) {
                continue;
            }
            let (reason, id) = (reasons.value(j), ids.value(j));
            let Some(rows) = self.best.get_mut(reason) else {
                continue;
            };
            if rows.len() >= EXAMPLES && rows.last().is_some_and(|(last, _)| id >= last.as_str()) {
                continue;
            }
            let mut r = Map::new();
            r.insert("id".into(), Value::from(id));
            if let Some(d) = details.filter(|d| d.is_valid(j)) {
                r.insert("detail".into(), Value::from(d.value(j)));
            }
            if let Some(&c) = self.signal.get(reason) {
                r.insert("signal".into(), Value::from(c));
                if let Some(v) = batch.column_by_name(c).filter(|v| v.is_valid(j)) {
                    r.insert("value".into(), stored_value(v, j)?);
                }
            }
            let at = rows.partition_point(|(other, _)| other.as_str() <= id);
            rows.insert(at, (id.to_string(), r));
            rows.truncate(EXAMPLES);
        }
        Ok(())
    }

    /// `ex:<stage>:<reason>` for every reason the stage counted, when the table was read
    /// (`read`: it had part files): the [`EXAMPLES`] removed rows of that reason with the
    /// smallest ids, each `id`, `detail` (when set) and, where the reason has a signal
    /// column, `signal` (its name) and `value` (when set).
    pub(super) fn finish(self, read: bool) -> Agg {
        if !read {
            return Agg::new();
        }
        let name = &self.st.name;
        self.best
            .into_iter()
            .map(|(reason, rows)| {
                let rows = rows.into_iter().map(|(_, r)| r).collect();
                (format!("ex:{name}:{reason}"), rows)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float32Array, StringArray};

    use super::super::read::scan;
    use super::super::read::testing::{folder, write_part};
    use super::*;

    fn strings(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    #[test]
    fn smallest_ids_per_reason_across_files_with_their_signal() {
        let dir = folder("examples");
        let (a, b) = (dir.join("part-a.parquet"), dir.join("part-b.parquet"));
        write_part(
            &a,
            vec![
                ("id", strings(&[Some("d"), Some("b"), Some("f")])),
                ("reason", strings(&[Some("x"), Some("x"), Some("y")])),
                ("detail", strings(&[Some("dd"), None, Some("ff")])),
                (
                    "s",
                    Arc::new(Float32Array::from(vec![Some(0.3), None, Some(2.0)])),
                ),
            ],
        );
        write_part(
            &b,
            vec![
                ("id", strings(&[Some("e"), Some("a"), Some("c")])),
                ("reason", strings(&[Some("x"), Some("x"), Some("z")])),
                ("detail", strings(&[None, None, None])),
                ("s", Arc::new(Float32Array::from(vec![3.0, 1.25, 4.0]))),
            ],
        );
        let st = StageStats {
            name: "q".into(),
            docs_removed: [("x".into(), 4), ("y".into(), 1), ("w".into(), 0)].into(),
            ..Default::default()
        };
        let evidence = |r: &str| match r {
            "x" => Some("s"),
            "y" => Some("not_a_column"),
            _ => None,
        };
        let mut examples = Examples::new(&st, evidence);
        let wanted: BTreeSet<&str> = examples.columns().collect();
        scan(&[a, b], &wanted, |batch| examples.add(batch)).unwrap();
        let got = examples.finish(true);
        let shown = |k: &str| serde_json::to_string(&got[k]).unwrap();
        assert_eq!(
            shown("ex:q:x"),
            r#"[{"id":"a","signal":"s","value":1.25},{"id":"b","signal":"s"},{"detail":"dd","id":"d","signal":"s","value":0.3}]"#,
            "the three smallest ids, an f32 value as stored, nulls left out"
        );
        assert_eq!(
            shown("ex:q:y"),
            r#"[{"detail":"ff","id":"f","signal":"not_a_column"}]"#
        );
        assert_eq!(shown("ex:q:w"), "[]", "every reason of the stage has a key");
        assert_eq!(
            got.len(),
            3,
            "a reason the stage did not count is not shown"
        );
        assert!(
            Examples::new(&st, |_| None).finish(false).is_empty(),
            "no table, no keys"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
