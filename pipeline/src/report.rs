//! The funnel table `taojin stats` and `taojin run` print.

use std::fmt::Write;

use taojin_schemas::RunStats;

fn mb(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / 1e6)
}

/// A readable table: per stage, documents in / kept / removed by reason, MB in / kept,
/// throughput (MB of text per wall-clock second) and the process's peak RSS in the stage.
pub fn funnel(stats: &RunStats) -> String {
    let mut rows = vec![[
        "stage".to_string(),
        "kind".into(),
        "docs in".into(),
        "kept".into(),
        "removed".into(),
        "MB in".into(),
        "MB kept".into(),
        "MB/s".into(),
        "peak MiB".into(),
        "removed by reason".into(),
    ]];
    for s in &stats.stages {
        let reasons = s
            .docs_removed
            .iter()
            .map(|(r, n)| format!("{r}={n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let rate = |secs: f64| {
            if secs > 0.0 {
                format!("{:.1}", s.bytes_in as f64 / 1e6 / secs)
            } else {
                "-".into()
            }
        };
        let kept_pct = if s.docs_in > 0 {
            100.0 * s.docs_kept as f64 / s.docs_in as f64
        } else {
            100.0
        };
        rows.push([
            s.name.clone(),
            s.kind.clone(),
            s.docs_in.to_string(),
            format!("{} ({kept_pct:.1}%)", s.docs_kept),
            s.docs_removed_total().to_string(),
            mb(s.bytes_in),
            mb(s.bytes_kept),
            rate(s.seconds),
            s.peak_rss_bytes
                .map_or_else(|| "-".into(), |b| (b >> 20).to_string()),
            if reasons.is_empty() {
                "-".into()
            } else {
                reasons
            },
        ]);
    }
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    let mut rows = rows.into_iter();
    if let Some(header) = rows.next() {
        table.set_header(header);
    }
    for row in rows {
        table.add_row(row);
    }
    for (c, col) in table.column_iter_mut().enumerate() {
        col.set_padding((0, 2));
        if (2..=8).contains(&c) {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    let mut out = format!("job {}\n", stats.job);
    for line in table.lines() {
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The LSH S-curve of `bands × rows`: match probability at similarities 0.1 … 1.0, the
/// implied threshold, and the expected miss/false-positive rates around `threshold`.
pub fn s_curve(bands: usize, rows: usize, threshold: f64) -> String {
    use taojin_dedup::{implied_threshold, match_probability};
    let mut out = format!(
        "MinHash-LSH: {bands} bands × {rows} rows = {} permutations; S-curve midpoint (P = 0.5) at similarity {:.3}\n",
        bands * rows,
        implied_threshold(bands, rows)
    );
    out.push_str("similarity  P(candidate)\n");
    let mut points: Vec<f64> = (1..=20).map(|i| i as f64 * 0.05).collect();
    points.push(threshold);
    points.sort_by(f64::total_cmp);
    points.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    for s in points {
        let p = match_probability(s, bands, rows);
        let bar = "#".repeat((p * 40.0).round() as usize);
        let mark = if (s - threshold).abs() < 1e-9 {
            "  <- threshold"
        } else {
            ""
        };
        let _ = writeln!(out, "{s:>10.2}  {p:>12.4}  {bar}{mark}");
    }
    out
}
