//! The report's rule thresholds: for each numeric check a stage recorded
//! ([`taojin_schemas::Threshold`]), the signal's histogram over the documents the stage
//! judged with the threshold drawn, the documents a 10% stricter or looser threshold
//! would move (from the stored signals: stricter removes kept documents between the
//! two limits; looser brings back at most the documents this reason removed between
//! them, fewer where another rule also catches them), and kept documents nearest it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};
use taojin_schemas::{RunStats, StageStats, Threshold};

use super::{esc, fmt_num, num, section, table, text};

/// Histogram bins: 20 across `[0, 2 × limit)`, the limit on the boundary after bin 9,
/// and an overflow bin.
const BINS: i64 = 20;
/// Rules drawn as histograms (most removals first); the table lists them all.
const DRAWN: usize = 12;
/// Kept documents shown nearest each drawn threshold.
const NEAR: usize = 2;

/// Aggregate rows by key, as the report's queries return them.
pub(super) type Agg = BTreeMap<String, Vec<Map<String, Value>>>;

fn quote(column: &str) -> String {
    format!("\"{}\"", column.replace('"', "\"\""))
}

fn lit(v: f64) -> String {
    format!("{v:?}")
}

fn width(t: &Threshold) -> f64 {
    if t.limit > 0.0 {
        2.0 * t.limit / BINS as f64
    } else {
        0.05
    }
}

/// The conditions, over the column, for what moves when the threshold is made 10%
/// stricter (kept documents it would remove) and 10% looser (documents removed on this
/// side of the limit that it would keep), and for the rejecting side itself (a reason
/// with a lower and an upper limit removes on both sides).
fn moved(t: &Threshold) -> (String, String, String) {
    let c = quote(&t.column);
    let (l, lo, hi) = (lit(t.limit), lit(t.limit * 0.9), lit(t.limit * 1.1));
    let (stricter, looser) = match t.op.as_str() {
        // Removed below the limit: stricter raises it, looser lowers it.
        "<" => (
            format!("{c} >= {l} AND {c} < {hi}"),
            format!("{c} >= {lo} AND {c} < {l}"),
        ),
        "<=" => (
            format!("{c} > {l} AND {c} <= {hi}"),
            format!("{c} > {lo} AND {c} <= {l}"),
        ),
        ">" => (
            format!("{c} > {lo} AND {c} <= {l}"),
            format!("{c} > {l} AND {c} <= {hi}"),
        ),
        _ => (
            format!("{c} >= {lo} AND {c} < {l}"),
            format!("{c} >= {l} AND {c} < {hi}"),
        ),
    };
    (stricter, looser, format!("{c} {} {l}", t.op))
}

/// The queries for `stage`'s thresholds, added through `add(key, table, sql)`.
pub(super) fn queries(st: &StageStats, add: &mut dyn FnMut(&str, &str, String)) {
    let (kept, removed) = (st.name.clone(), format!("{}_removed", st.name));
    add(
        &format!("thr:{}:total", st.name),
        &kept,
        format!("SELECT count(*) AS n FROM \"{kept}\""),
    );
    add(
        &format!("thr:{}:total_removed", st.name),
        &removed,
        format!("SELECT count(*) AS n FROM \"{removed}\""),
    );
    for (i, t) in st.thresholds.iter().enumerate() {
        let c = quote(&t.column);
        let bucket = format!(
            "CAST(least(greatest(floor({c} / {}), 0), {BINS}) AS BIGINT)",
            lit(width(t))
        );
        let (stricter, looser, side) = moved(t);
        let reason = t.reason.replace('\'', "''");
        add(
            &format!("thr:{}:{i}", st.name),
            &kept,
            format!(
                "SELECT {bucket} AS b, count(*) AS n, sum(CASE WHEN {stricter} THEN 1 ELSE 0 END) AS m \
                 FROM \"{kept}\" WHERE {c} IS NOT NULL GROUP BY 1 ORDER BY 1"
            ),
        );
        add(
            &format!("thr:{}:{i}_removed", st.name),
            &removed,
            format!(
                "SELECT {bucket} AS b, count(*) AS n, sum(CASE WHEN reason = '{reason}' AND {looser} THEN 1 ELSE 0 END) AS m, \
                 sum(CASE WHEN reason = '{reason}' AND {side} THEN 1 ELSE 0 END) AS k \
                 FROM \"{removed}\" WHERE {c} IS NOT NULL GROUP BY 1 ORDER BY 1"
            ),
        );
        if st.docs_removed.contains_key(&t.reason) {
            add(
                &format!("thr:{}:{i}_near", st.name),
                &kept,
                format!(
                    "SELECT id, {c} AS v FROM \"{kept}\" \
                     WHERE {c} IS NOT NULL ORDER BY abs({c} - {}), id LIMIT {NEAR}",
                    lit(t.limit)
                ),
            );
        }
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
    fn moved_conditions_bracket_the_limit() {
        assert_eq!(
            moved(&t("<", 50.0)),
            (
                "\"f.x\" >= 50.0 AND \"f.x\" < 55.00000000000001".into(),
                "\"f.x\" >= 45.0 AND \"f.x\" < 50.0".into(),
                "\"f.x\" < 50.0".into()
            )
        );
        assert_eq!(
            moved(&t(">", 0.5)).1,
            "\"f.x\" > 0.5 AND \"f.x\" <= 0.55".to_string(),
            "looser raises a maximum"
        );
        assert_eq!(round(0.123456), 0.1235);
        assert!((width(&t(">", 0.3)) - 0.03).abs() < 1e-12);
    }
}
