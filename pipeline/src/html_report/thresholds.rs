//! The report's rule thresholds: for each numeric check a stage recorded
//! ([`taojin_schemas::Threshold`]), the signal's histogram over the documents the stage
//! judged with the threshold drawn, the documents a 10% stricter or looser threshold
//! would move (from the stored signals: stricter removes kept documents between the
//! two limits; looser brings back at most the documents this reason removed between
//! them, fewer where another rule also catches them), and kept documents nearest it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Float64Type};
use serde_json::{Map, Value};
use taojin_schemas::{RunStats, StageStats, Threshold, columns};

use super::read::stored_value;
use super::{esc, fmt_num, num, section, table, text};
use crate::batch::utf8_column;
use crate::error::Result;

/// Histogram bins: 20 across `[0, 2 × limit)`, the limit on the boundary after bin 9,
/// and an overflow bin.
const BINS: i64 = 20;
/// Rules drawn as histograms (most removals first); the table lists them all.
const DRAWN: usize = 12;
/// Kept documents shown nearest each drawn threshold.
const NEAR: usize = 2;

/// Aggregate rows by key, as the report's queries return them.
pub(super) type Agg = BTreeMap<String, Vec<Map<String, Value>>>;

fn width(t: &Threshold) -> f64 {
    if t.limit > 0.0 {
        2.0 * t.limit / BINS as f64
    } else {
        0.05
    }
}

/// Whether a threshold `limit` with `op` removes the value `v` (an unknown op reads as `>=`).
fn rejects(op: &str, v: f64, limit: f64) -> bool {
    match op {
        "<" => v < limit,
        "<=" => v <= limit,
        ">" => v > limit,
        _ => v >= limit,
    }
}

/// Where a value stands against a threshold and the same threshold 10% stricter and
/// 10% looser.
struct Moves<'a> {
    op: &'a str,
    limit: f64,
    strict: f64,
    loose: f64,
}

impl<'a> Moves<'a> {
    fn new(t: &'a Threshold) -> Self {
        let (up, down) = (t.limit * 1.1, t.limit * 0.9);
        // A minimum (removed below it) is stricter raised; a maximum is stricter lowered.
        let (strict, loose) = if t.op.starts_with('<') {
            (up, down)
        } else {
            (down, up)
        };
        Moves {
            op: &t.op,
            limit: t.limit,
            strict,
            loose,
        }
    }

    /// Removed by this threshold.
    fn side(&self, v: f64) -> bool {
        rejects(self.op, v, self.limit)
    }

    /// Kept now, removed 10% stricter.
    fn stricter(&self, v: f64) -> bool {
        !self.side(v) && rejects(self.op, v, self.strict)
    }

    /// Removed now, kept 10% looser.
    fn looser(&self, v: f64) -> bool {
        self.side(v) && !rejects(self.op, v, self.loose)
    }
}

/// The histogram bin of `v`: `[0, BINS)` across `[0, 2 × limit)`, then the overflow bin.
fn bin(v: f64, width: f64) -> usize {
    (v / width).floor().clamp(0.0, BINS as f64) as usize
}

/// `column` of `batch` as f64 (integers and floats as stored), if the batch has it.
fn values(batch: &RecordBatch, column: &str) -> Result<Option<(ArrayRef, Float64Array)>> {
    let Some(c) = batch.column_by_name(column) else {
        return Ok(None);
    };
    let f = arrow::compute::cast(c, &DataType::Float64)?;
    Ok(Some((c.clone(), f.as_primitive::<Float64Type>().clone())))
}

/// Calls `each(i, stored, j, v)` for every threshold `i` of `ts` and row `j` of `batch`
/// whose signal `v` is set and not NaN (`stored`: its column as stored); each column is
/// cast once per batch, however many thresholds read it.
fn each_signal(
    batch: &RecordBatch,
    ts: &[Threshold],
    mut each: impl FnMut(usize, &ArrayRef, usize, f64) -> Result<()>,
) -> Result<()> {
    let mut cache: BTreeMap<&str, Option<(ArrayRef, Float64Array)>> = BTreeMap::new();
    for (i, t) in ts.iter().enumerate() {
        if !cache.contains_key(t.column.as_str()) {
            cache.insert(&t.column, values(batch, &t.column)?);
        }
        let Some(Some((stored, v))) = cache.get(t.column.as_str()) else {
            continue;
        };
        for (j, x) in v.iter().enumerate() {
            if let Some(x) = x.filter(|x| !x.is_nan()) {
                each(i, stored, j, x)?;
            }
        }
    }
    Ok(())
}

/// Per bin: documents, and those a 10% move changes (kept: stricter removes; removed:
/// looser keeps, of this reason), and removed for this reason on this side.
type Bins = Vec<[u64; 3]>;

fn bin_rows(bins: &Bins, with_side: bool) -> Vec<Map<String, Value>> {
    bins.iter()
        .enumerate()
        .filter(|(_, c)| c[0] > 0)
        .map(|(b, c)| {
            let mut r = Map::new();
            r.insert("b".into(), Value::from(b as i64));
            r.insert("n".into(), Value::from(c[0]));
            r.insert("m".into(), Value::from(c[1]));
            if with_side {
                r.insert("k".into(), Value::from(c[2]));
            }
            r
        })
        .collect()
}

fn count_row(n: u64) -> Vec<Map<String, Value>> {
    let mut r = Map::new();
    r.insert("n".into(), Value::from(n));
    vec![r]
}

/// The aggregates [`render`] draws for a stage's thresholds, tallied from batches of its
/// sampled kept ([`Tally::add_kept`]) and removed ([`Tally::add_removed`]) part files,
/// read with [`Tally::kept_columns`] and [`Tally::removed_columns`]: the caller reads each
/// table once for every section that needs it.
pub(super) struct Tally<'a> {
    st: &'a StageStats,
    moves: Vec<Moves<'a>>,
    widths: Vec<f64>,
    /// Whether nearest kept rows are shown: the reason removed documents.
    wants_near: Vec<bool>,
    kept: Vec<Bins>,
    removed: Vec<Bins>,
    /// Nearest kept rows per threshold: (distance, id, value as stored), nearest first.
    near: Vec<Vec<(f64, String, Value)>>,
    kept_rows: u64,
    removed_rows: u64,
}

impl<'a> Tally<'a> {
    /// An empty tally of `st`'s thresholds.
    pub(super) fn new(st: &'a StageStats) -> Self {
        let ts = &st.thresholds;
        let bins = vec![vec![[0; 3]; BINS as usize + 1]; ts.len()];
        Tally {
            st,
            moves: ts.iter().map(Moves::new).collect(),
            widths: ts.iter().map(width).collect(),
            wants_near: ts
                .iter()
                .map(|t| st.docs_removed.contains_key(&t.reason))
                .collect(),
            kept: bins.clone(),
            removed: bins,
            near: vec![Vec::new(); ts.len()],
            kept_rows: 0,
            removed_rows: 0,
        }
    }

    fn signal_columns(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.st.thresholds.iter().map(|t| t.column.as_str())
    }

    /// The kept table's columns it reads.
    pub(super) fn kept_columns(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.signal_columns().chain([columns::ID])
    }

    /// The removed table's columns it reads.
    pub(super) fn removed_columns(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.signal_columns().chain([columns::REASON])
    }

    /// Adds a batch of kept rows: bins, 10% stricter moves, nearest rows.
    pub(super) fn add_kept(&mut self, batch: &RecordBatch) -> Result<()> {
        self.kept_rows += batch.num_rows() as u64;
        let ids = utf8_column(batch, columns::ID);
        let ts: &'a [Threshold] = &self.st.thresholds;
        each_signal(batch, ts, |i, stored, j, x| {
            let c = &mut self.kept[i][bin(x, self.widths[i])];
            c[0] += 1;
            c[1] += u64::from(self.moves[i].stricter(x));
            let Some(ids) = ids.filter(|ids| self.wants_near[i] && ids.is_valid(j)) else {
                return Ok(());
            };
            let (id, d) = (ids.value(j), (x - ts[i].limit).abs());
            let best = &mut self.near[i];
            let nearer = |n: &(f64, String, Value)| (d, id) < (n.0, n.1.as_str());
            if best.len() < NEAR || best.last().is_some_and(nearer) {
                best.push((d, id.to_string(), stored_value(stored, j)?));
                best.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                best.truncate(NEAR);
            }
            Ok(())
        })
    }

    /// Adds a batch of removed rows: bins, 10% looser moves and removals on each
    /// threshold's side, counted for its own reason only.
    pub(super) fn add_removed(&mut self, batch: &RecordBatch) -> Result<()> {
        self.removed_rows += batch.num_rows() as u64;
        let reasons = utf8_column(batch, columns::REASON);
        let ts: &'a [Threshold] = &self.st.thresholds;
        each_signal(batch, ts, |i, _, j, x| {
            let mine = reasons.is_some_and(|r| r.is_valid(j) && r.value(j) == ts[i].reason);
            let c = &mut self.removed[i][bin(x, self.widths[i])];
            c[0] += 1;
            c[1] += u64::from(mine && self.moves[i].looser(x));
            c[2] += u64::from(mine && self.moves[i].side(x));
            Ok(())
        })
    }

    /// The keys [`render`] reads, for the tables that were read (`kept_read`,
    /// `removed_read`: they had part files): per threshold `thr:<stage>:<i>` (bins: `b`,
    /// `n`, `m` stricter), `…_removed` (bins: `b`, `n`, `m` looser, `k` removed on its
    /// side) and, for a reason that removed documents, `…_near` (the kept `id`s and values
    /// nearest the limit, nearest first, ties by id); `thr:<stage>:total` and
    /// `…:total_removed` count the rows read. Null and NaN signals are in no bin.
    pub(super) fn finish(self, kept_read: bool, removed_read: bool) -> Agg {
        let name = &self.st.name;
        let mut agg = Agg::new();
        if kept_read {
            agg.insert(format!("thr:{name}:total"), count_row(self.kept_rows));
            for (i, b) in self.kept.iter().enumerate() {
                agg.insert(format!("thr:{name}:{i}"), bin_rows(b, false));
            }
            let near = self.near.into_iter().enumerate();
            for (i, rows) in near.filter(|(i, _)| self.wants_near[*i]) {
                let shown = rows
                    .into_iter()
                    .map(|(_, id, v)| {
                        let mut r = Map::new();
                        r.insert("id".into(), Value::from(id));
                        r.insert("v".into(), v);
                        r
                    })
                    .collect();
                agg.insert(format!("thr:{name}:{i}_near"), shown);
            }
        }
        if removed_read {
            agg.insert(
                format!("thr:{name}:total_removed"),
                count_row(self.removed_rows),
            );
            for (i, b) in self.removed.iter().enumerate() {
                agg.insert(format!("thr:{name}:{i}_removed"), bin_rows(b, true));
            }
        }
        agg
    }
}

fn sum(rows: Option<&Vec<Map<String, Value>>>, key: &str) -> f64 {
    rows.into_iter()
        .flatten()
        .map(|r| r.get(key).map(num).unwrap_or(0.0))
        .sum()
}

fn limit_text(v: f64) -> String {
    if v.fract() == 0.0 {
        fmt_num(v)
    } else {
        format!("{v}")
    }
}

/// Stacked bars per bin (kept, removed by any rule) with the threshold as a line.
pub(super) fn drawn(bins: &[(String, f64, f64)], line_at: usize, note: &str) -> String {
    let max = bins.iter().map(|b| b.1 + b.2).fold(0.0, f64::max).max(1e-9);
    let (h, w, x0) = (16usize, 420.0, 150.0);
    // A 6 px gap at the threshold holds the line, clear of labels and bars.
    let height = bins.len() * h + 26;
    let mut s = format!("<svg width=\"760\" height=\"{height}\" role=\"img\">");
    for (i, (label, kept, removed)) in bins.iter().enumerate() {
        let y = i * h + if i >= line_at { 6 } else { 0 };
        let lk = kept / max * w;
        let lr = removed / max * w;
        let _ = write!(
            s,
            "<text x=\"2\" y=\"{}\" class=\"l\">{}</text>",
            y + 12,
            esc(label)
        );
        for (x, len, n, class) in [(x0, lk, *kept, "b"), (x0 + lk, lr, *removed, "x")] {
            if n > 0.0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" class=\"{class}\"/>",
                    y + 2,
                    len.max(1.0),
                    h - 4
                );
            }
        }
        if kept + removed > 0.0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" class=\"v\">{} kept, {} removed</text>",
                x0 + 6.0 + lk.max(1.0) + lr,
                y + 12,
                fmt_num(*kept),
                fmt_num(*removed)
            );
        }
    }
    let y = line_at * h + 1;
    let _ = write!(
        s,
        "<rect x=\"0\" y=\"{}\" width=\"760\" height=\"2\" class=\"t\"/>\
         <text x=\"{x0}\" y=\"{}\" class=\"v\">{}</text></svg>",
        y,
        bins.len() * h + 20,
        esc(note)
    );
    s
}

/// The thresholds section for every stage that recorded thresholds.
pub(super) fn render(s: &mut String, stats: &RunStats, agg: &Agg) {
    for st in stats.stages.iter().filter(|st| !st.thresholds.is_empty()) {
        let total = sum(agg.get(&format!("thr:{}:total", st.name)), "n")
            + sum(agg.get(&format!("thr:{}:total_removed", st.name)), "n");
        section(
            s,
            &format!("Rule thresholds of `{}` (its signals as stored)", st.name),
        );
        let _ = write!(
            s,
            "<p>For each check: what it removed in the run, and how many of the {} documents \
             read (the sampled part files, kept and removed) a threshold 10% stricter would \
             remove in addition, or 10% looser would let through (at most: another rule may \
             still catch them).</p>",
            fmt_num(total)
        );
        let share = |n: f64| {
            if total > 0.0 {
                format!("{} ({:.2}%)", fmt_num(n), n * 100.0 / total)
            } else {
                "–".into()
            }
        };
        let mut body = Vec::new();
        let mut order: Vec<(usize, u64)> = Vec::new();
        for (i, t) in st.thresholds.iter().enumerate() {
            // Removed for this reason on this side of the limit (in the sample).
            let removed = sum(agg.get(&format!("thr:{}:{i}_removed", st.name)), "k") as u64;
            let stricter = sum(agg.get(&format!("thr:{}:{i}", st.name)), "m");
            let looser = sum(agg.get(&format!("thr:{}:{i}_removed", st.name)), "m");
            body.push(vec![
                t.reason.clone(),
                t.lang.clone(),
                format!("{} {} {}", t.column, t.op, limit_text(t.limit)),
                fmt_num(removed as f64),
                share(stricter),
                share(looser),
            ]);
            order.push((i, removed));
        }
        table(
            s,
            &[
                "reason",
                "lang",
                "removed when",
                "removed (read)",
                "10% stricter: also removes",
                "10% looser: lets through",
            ],
            &body,
        );
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for &(i, removed) in order.iter().filter(|o| o.1 > 0).take(DRAWN) {
            let t = &st.thresholds[i];
            let mut bins: BTreeMap<i64, (f64, f64)> = (0..=BINS).map(|b| (b, (0.0, 0.0))).collect();
            for (key, removed_side) in [
                (format!("thr:{}:{i}", st.name), false),
                (format!("thr:{}:{i}_removed", st.name), true),
            ] {
                for r in agg.get(&key).into_iter().flatten() {
                    let b = r
                        .get("b")
                        .and_then(Value::as_i64)
                        .unwrap_or(0)
                        .clamp(0, BINS);
                    let n = r.get("n").map(num).unwrap_or(0.0);
                    let e = bins.entry(b).or_default();
                    if removed_side {
                        e.1 += n;
                    } else {
                        e.0 += n;
                    }
                }
            }
            let wdt = width(t);
            let rows: Vec<(String, f64, f64)> = bins
                .iter()
                .map(|(&b, &(k, r))| {
                    let label = if b == BINS {
                        format!("≥ {}", limit_text(b as f64 * wdt))
                    } else {
                        format!(
                            "{}–{}",
                            limit_text(round(b as f64 * wdt)),
                            limit_text(round((b + 1) as f64 * wdt))
                        )
                    };
                    (label, k, r)
                })
                .collect();
            let _ = write!(
                s,
                "<h3>{} — {} removed</h3>",
                esc(&t.reason),
                fmt_num(removed as f64)
            );
            let note = format!(
                "threshold {} {} {} (the line); other rules' removals are in the orange too",
                t.column,
                t.op,
                limit_text(t.limit)
            );
            // Empty bins at either end are left out; the two around the line stay.
            let line = (BINS / 2) as usize;
            let filled = |r: &(String, f64, f64)| r.1 + r.2 > 0.0;
            let first = rows.iter().position(filled).unwrap_or(line).min(line - 1);
            let last = rows.iter().rposition(filled).unwrap_or(line).max(line);
            s.push_str(&drawn(&rows[first..=last], line - first, &note));
            if let Some(near) = agg.get(&format!("thr:{}:{i}_near", st.name)) {
                s.push_str("<p>kept nearest the threshold:</p>");
                for r in near {
                    let _ = write!(
                        s,
                        "<p><b>{}</b> {} = {}</p><pre>{}</pre>",
                        esc(&r.get("id").map(text).unwrap_or_default()),
                        esc(&t.column),
                        esc(&r.get("v").map(text).unwrap_or_default()),
                        esc(&r.get("head").map(text).unwrap_or_default())
                    );
                }
            }
        }
    }
}

/// Bin edges to 4 significant digits, for labels.
fn round(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(op: &str, limit: f64) -> Threshold {
        Threshold {
            reason: "r:x".into(),
            column: "f.x".into(),
            op: op.into(),
            limit,
            lang: "en".into(),
        }
    }

    #[test]
    fn moves_bracket_the_limit() {
        // Removed below 50: stricter (55) also removes [50, 55); looser (45) keeps [45, 50).
        let t50 = t("<", 50.0);
        let m = Moves::new(&t50);
        assert!(m.stricter(50.0) && m.stricter(54.9) && !m.stricter(55.1) && !m.stricter(49.0));
        assert!(m.looser(45.0) && m.looser(49.9) && !m.looser(44.9) && !m.looser(50.0));
        assert!(m.side(49.9) && !m.side(50.0));
        // Removed above 0.5: looser (0.55) keeps (0.5, 0.55].
        let t05 = t(">", 0.5);
        let m = Moves::new(&t05);
        assert!(m.looser(0.55) && !m.looser(0.5) && !m.looser(0.56));
        assert!(m.stricter(0.5) && m.stricter(0.46) && !m.stricter(0.44));
        assert_eq!(round(0.123456), 0.1235);
        assert!((width(&t(">", 0.3)) - 0.03).abs() < 1e-12);
        assert_eq!(
            (bin(-1.0, 0.03), bin(0.3, 0.03), bin(9.0, 0.03)),
            (0, 10, 20)
        );
    }
    #[test]
    fn tally_bins_moves_and_nearest_from_the_parts() {
        use std::sync::Arc;

        use arrow::array::{Float32Array, StringArray};

        use super::super::read::scan;
        use super::super::read::testing::{folder, write_part};
        use std::collections::BTreeSet;
        let dir = folder("thresholds");
        let (kept, removed) = (dir.join("part-k.parquet"), dir.join("part-r.parquet"));
        let ids = |v: &[&str]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
        let q = |v: Vec<Option<f32>>| Arc::new(Float32Array::from(v)) as ArrayRef;
        write_part(
            &kept,
            vec![
                ("id", ids(&["c", "a", "b", "d", "e"])),
                (
                    "f.x",
                    q(vec![Some(12.0), Some(8.0), Some(12.0), Some(10.5), None]),
                ),
            ],
        );
        write_part(
            &removed,
            vec![
                ("id", ids(&["r1", "r2", "r3", "r4"])),
                ("reason", ids(&["r:x", "r:x", "other", "other"])),
                (
                    "f.x",
                    q(vec![Some(5.0), Some(9.5), Some(9.5), Some(f32::NAN)]),
                ),
            ],
        );
        let st = StageStats {
            name: "quality".into(),
            docs_removed: [("r:x".into(), 2)].into(),
            thresholds: vec![t("<", 10.0)],
            ..Default::default()
        };
        let mut tally = Tally::new(&st);
        let (kc, rc): (BTreeSet<&str>, BTreeSet<&str>) = (
            tally.kept_columns().collect(),
            tally.removed_columns().collect(),
        );
        scan(&[kept], &kc, |b| tally.add_kept(b)).unwrap();
        scan(&[removed], &rc, |b| tally.add_removed(b)).unwrap();
        let got = tally.finish(true, true);
        let shown = |k: &str| serde_json::to_string(&got[k]).unwrap();
        // Width 1: 8 in bin 8, 10.5 in 10 (10% stricter removes it), 12 in 12.
        assert_eq!(
            shown("thr:quality:0"),
            r#"[{"b":8,"m":0,"n":1},{"b":10,"m":1,"n":1},{"b":12,"m":0,"n":2}]"#
        );
        // 10% looser keeps r2 (9.5) of this reason, not r3 of another; NaN is in no bin.
        assert_eq!(
            shown("thr:quality:0_removed"),
            r#"[{"b":5,"k":1,"m":0,"n":1},{"b":9,"k":1,"m":1,"n":2}]"#
        );
        assert_eq!(
            shown("thr:quality:0_near"),
            r#"[{"id":"d","v":10.5},{"id":"a","v":8.0}]"#,
            "nearest first, ties (a, b, c at 2) by id"
        );
        assert_eq!(shown("thr:quality:total"), r#"[{"n":5}]"#);
        assert_eq!(shown("thr:quality:total_removed"), r#"[{"n":4}]"#);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
