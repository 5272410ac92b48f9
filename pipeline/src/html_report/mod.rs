//! `taojin report OUT`: one self-contained HTML page of a finished run — no script, no
//! network, inline SVG only, so it opens on an air-gapped login node. Built from
//! `stats.json`, the shards' manifest, a few DataFusion aggregates over the part files
//! (histograms are `GROUP BY` buckets) and one projected read of each table for the rule
//! thresholds and removed examples (`read`): the funnel per stage
//! and reason, languages, length and language-score distributions per language,
//! duplicate clusters, the mix and the shards, removed examples per reason, timings.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value};
use taojin_schemas::manifest::Manifest;
use taojin_schemas::{RunStats, StageStats};

use crate::error::{PipelineError, Result};
use crate::sql::{
    Picked, json_rows as rows, part_files, queries_sampled, sample_files, sampled_parts,
};

mod examples;
mod read;
mod thresholds;

/// Part files per table the histograms, clusters and examples read at most (spread over
/// the table), so a report of a 1 TB run reads a bounded sample; the funnel is exact.
pub const SAMPLE_FILES: usize = 16;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0.0)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Labels longer than this are cut (the full label is the element's tooltip).
const LABEL_CHARS: usize = 32;

/// `label`, cut to [`LABEL_CHARS`] with an ellipsis, and whether it was cut.
fn short(label: &str) -> (String, bool) {
    if label.chars().count() <= LABEL_CHARS {
        return (label.to_string(), false);
    }
    let mut cut: String = label.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    (cut, true)
}

/// `unit` for one (`docs` → `doc`).
fn unit_for(v: f64, unit: &str) -> &str {
    if v == 1.0 {
        unit.strip_suffix('s').unwrap_or(unit)
    } else {
        unit
    }
}

/// Horizontal bars, one per (label, value), scaled to the largest.
fn bars(rows: &[(String, f64)], unit: &str) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(1e-9);
    let (h, w) = (18, 420.0);
    let mut s = format!(
        "<svg width=\"760\" height=\"{}\" role=\"img\">",
        rows.len() * h + 4
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = i * h;
        let len = (v / max * w).max(1.0);
        let (shown, cut) = short(label);
        let title = if cut {
            format!("<title>{}</title>", esc(label))
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "<text x=\"2\" y=\"{}\" class=\"l\">{title}{}</text><rect x=\"230\" y=\"{}\" width=\"{len:.1}\" height=\"{}\" class=\"b\"/><text x=\"{:.1}\" y=\"{}\" class=\"v\">{} {}</text>",
            y + 13,
            esc(&shown),
            y + 2,
            h - 4,
            236.0 + len,
            y + 13,
            fmt_num(*v),
            unit_for(*v, unit)
        );
    }
    s.push_str("</svg>");
    s
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let s = format!("{}", v as i64);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 && c != '-' {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{v:.3}")
    }
}

/// The aggregates the page needs, by key, for the tables that exist.
fn aggregates(
    out: &Path,
    stats: &RunStats,
    picked: Option<&Picked>,
) -> Result<BTreeMap<String, Vec<Map<String, Value>>>> {
    let by_kind = |k: &str| {
        stats
            .stages
            .iter()
            .find(|s| s.kind == k)
            .map(|s| s.name.clone())
    };
    let last = stats.stages.last().map(|s| s.name.clone());
    let mut keys: Vec<(String, String)> = Vec::new();
    let results = queries_sampled(out, SAMPLE_FILES, picked, |tables| {
        let mut qs = Vec::new();
        let mut add = |key: &str, table: &str, sql: String| {
            if tables.iter().any(|t| t == table) {
                keys.push((key.to_string(), table.to_string()));
                qs.push(sql);
            }
        };
        if let Some(l) = by_kind("langid") {
            // Kept rows and those removed for a low score (not those of other languages).
            for (suffix, table, filter) in [
                ("", l.clone(), "true"),
                (
                    "_removed",
                    format!("{l}_removed"),
                    "reason NOT LIKE 'lang:%'",
                ),
            ] {
                add(
                    &format!("length{suffix}"),
                    &table,
                    format!(
                        "SELECT lang, CAST(floor(log2(length(text) + 1)) AS BIGINT) AS b, count(*) AS n FROM \"{table}\" WHERE {filter} GROUP BY 1, 2 ORDER BY 1, 2"
                    ),
                );
                add(
                    &format!("score{suffix}"),
                    &table,
                    format!(
                        "SELECT lang, CAST(least(floor(lang_score * 20), 19) AS BIGINT) AS b, count(*) AS n FROM \"{table}\" WHERE {filter} GROUP BY 1, 2 ORDER BY 1, 2"
                    ),
                );
            }
            if let Some(last) = &last {
                add(
                    "final_lang",
                    last,
                    format!(
                        "SELECT lang, count(*) AS n, sum(length(text)) AS chars FROM \"{last}\" GROUP BY 1 ORDER BY 2 DESC"
                    ),
                );
            }
        }
        // Learned-filter signals, kept and removed rows apart (merged when drawn).
        let signals = [
            (
                "perplexity",
                "ppl",
                "CAST(floor(log10(\"ppl.doc\") * 4) AS BIGINT)",
                "\"ppl.doc\" IS NOT NULL",
            ),
            (
                "safety",
                "safety",
                "CAST(least(floor(\"safety.score\"), 10) AS BIGINT)",
                "true",
            ),
        ];
        for (kind, key, bucket, filter) in signals {
            if let (Some(st), Some(_)) = (by_kind(kind), by_kind("langid")) {
                for (suffix, table) in [("", st.clone()), ("_removed", format!("{st}_removed"))] {
                    add(
                        &format!("{key}{suffix}"),
                        &table,
                        format!(
                            "SELECT lang, {bucket} AS b, count(*) AS n FROM \"{table}\" WHERE {filter} GROUP BY 1, 2 ORDER BY 1, 2"
                        ),
                    );
                }
            }
        }
        if let Some(m) = by_kind("minhash_dedup") {
            for (suffix, table) in [("", m.clone()), ("_removed", format!("{m}_removed"))] {
                add(
                    &format!("sizes{suffix}"),
                    &table,
                    format!(
                        "SELECT dup_cluster_size AS size, count(*) AS n FROM \"{table}\" GROUP BY 1 ORDER BY 1"
                    ),
                );
                add(
                    &format!("per_source{suffix}"),
                    &table,
                    format!(
                        "SELECT source, count(*) AS n, sum(CASE WHEN dup_cluster_size > 1 THEN 1 ELSE 0 END) AS dup FROM \"{table}\" GROUP BY 1 ORDER BY 1"
                    ),
                );
            }
            add(
                "largest",
                &m,
                format!(
                    "SELECT id AS survivor, dup_cluster_size AS size FROM \"{m}\" WHERE dup_cluster_size > 1 ORDER BY size DESC, id LIMIT 10"
                ),
            );
        }
        qs
    })?;
    let mut map = BTreeMap::new();
    for ((k, _), b) in keys.iter().zip(results) {
        map.insert(k.clone(), rows(&b)?);
    }
    // Thresholds (51 checks × two histograms and nearest rows) and removed examples (one
    // per reason) were ~160 small queries, most of the report's time in planning: one
    // read of each table's few columns does them.
    for st in &stats.stages {
        let dir = out.join(&st.name);
        let removed = format!("{}_removed", st.name);
        let removed_files = sampled_parts(&dir.join("removed"), &removed, SAMPLE_FILES, picked);
        let mut examples = examples::Examples::new(st, |r| evidence_column(st, r));
        let mut tally = (!st.thresholds.is_empty()).then(|| thresholds::Tally::new(st));
        let mut wanted: BTreeSet<&str> = examples.columns().collect();
        wanted.extend(tally.iter().flat_map(|t| t.removed_columns()));
        // One read of the removed table serves both sections.
        read::scan(&removed_files, &wanted, |batch| {
            examples.add(batch)?;
            tally.as_mut().map_or(Ok(()), |t| t.add_removed(batch))
        })?;
        let mut found = examples.finish(!removed_files.is_empty());
        if let Some(mut t) = tally {
            let kept_files = sampled_parts(&dir, &st.name, SAMPLE_FILES, picked);
            let wanted: BTreeSet<&str> = t.kept_columns().collect();
            read::scan(&kept_files, &wanted, |batch| t.add_kept(batch))?;
            found.append(&mut t.finish(!kept_files.is_empty(), !removed_files.is_empty()));
        }
        for (k, v) in found {
            if k.starts_with("ex:") {
                keys.push((k.clone(), removed.clone()));
            } else if k.ends_with("_near") {
                keys.push((k.clone(), st.name.clone()));
            }
            map.insert(k, v);
        }
    }
    add_heads(out, picked, &keys, &mut map)?;
    Ok(map)
}

/// Example rows (`ex:*`, `thr:*_near`) get the first characters of their text as `head`,
/// read by one query per table for every example's id: the text column is the bulk of a
/// part file, so it is decoded once per table, not once per example query.
fn add_heads(
    out: &Path,
    picked: Option<&Picked>,
    keys: &[(String, String)],
    map: &mut BTreeMap<String, Vec<Map<String, Value>>>,
) -> Result<()> {
    let examples = |k: &str| k.starts_with("ex:") || k.ends_with("_near");
    let mut wanted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (k, table) in keys.iter().filter(|(k, _)| examples(k)) {
        let ids = map.get(k).into_iter().flatten().filter_map(|r| r.get("id"));
        wanted.entry(table).or_default().extend(ids.map(text));
    }
    wanted.retain(|_, ids| !ids.is_empty());
    let tables: Vec<&str> = wanted.keys().copied().collect();
    let results = queries_sampled(out, SAMPLE_FILES, picked, |_| {
        wanted
            .iter()
            .map(|(table, ids)| {
                let list: Vec<String> = ids
                    .iter()
                    .map(|id| format!("'{}'", id.replace('\'', "''")))
                    .collect();
                format!(
                    "SELECT id, substr(text, 1, 240) AS head FROM \"{table}\" WHERE id IN ({})",
                    list.join(", ")
                )
            })
            .collect()
    })?;
    let mut heads: BTreeMap<(&str, String), Value> = BTreeMap::new();
    for (table, b) in tables.iter().zip(results) {
        for mut r in rows(&b)? {
            let id = r.get("id").map(text).unwrap_or_default();
            heads.insert((table, id), r.remove("head").unwrap_or(Value::Null));
        }
    }
    for (k, table) in keys.iter().filter(|(k, _)| examples(k)) {
        for r in map.get_mut(k).into_iter().flatten() {
            let id = r.get("id").map(text).unwrap_or_default();
            if let Some(h) = heads.get(&(table.as_str(), id)) {
                r.insert("head".into(), h.clone());
            }
        }
    }
    Ok(())
}

/// The signal column that shows why `stage` removed a document for `reason`, where the
/// removed rows carry one.
fn evidence_column<'a>(st: &'a StageStats, reason: &str) -> Option<&'a str> {
    match st.kind.as_str() {
        "langid" => Some("lang_score"),
        "perplexity" => Some("ppl.doc"),
        "safety" => Some("safety.score"),
        "quality" => st
            .thresholds
            .iter()
            .find(|t| t.reason == reason)
            .map(|t| t.column.as_str()),
        _ => None,
    }
}

fn section(s: &mut String, title: &str) {
    let _ = write!(s, "<h2>{}</h2>", esc(title));
}

fn table(s: &mut String, head: &[&str], body: &[Vec<String>]) {
    s.push_str("<table><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    for row in body {
        s.push_str("<tr>");
        for c in row {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.2}%", part as f64 * 100.0 / whole as f64)
    }
}

/// Kept and removed rows of a per-language histogram query, summed per (lang, bucket).
fn merged(agg: &BTreeMap<String, Vec<Map<String, Value>>>, key: &str) -> Vec<Map<String, Value>> {
    let mut sum: BTreeMap<(String, i64), f64> = BTreeMap::new();
    for k in [key.to_string(), format!("{key}_removed")] {
        for r in agg.get(&k).into_iter().flatten() {
            let lang = r.get("lang").map(text).unwrap_or_default();
            let b = r.get("b").and_then(Value::as_i64).unwrap_or(0);
            *sum.entry((lang, b)).or_default() += r.get("n").map(num).unwrap_or(0.0);
        }
    }
    sum.into_iter()
        .map(|((lang, b), n)| {
            let mut m = Map::new();
            m.insert("lang".into(), Value::from(lang));
            m.insert("b".into(), Value::from(b));
            m.insert("n".into(), Value::from(n));
            m
        })
        .collect()
}

/// Perplexity and safety score distributions per language, with the run's cut-offs.
fn learned(
    s: &mut String,
    out: &Path,
    stats: &RunStats,
    agg: &BTreeMap<String, Vec<Map<String, Value>>>,
) {
    if let Some(st) = stats.stages.iter().find(|st| st.kind == "perplexity") {
        section(
            s,
            "Perplexity per language (all documents the stage scored)",
        );
        let path = out.join(&st.name).join("_work").join("cutoffs.json");
        let cutoffs = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<crate::global::perplexity::Cutoffs>(&b).ok());
        if let Some(c) = &cutoffs {
            let body: Vec<Vec<String>> = c
                .langs
                .iter()
                .map(|(lang, l)| {
                    vec![
                        lang.clone(),
                        fmt_num(l.docs as f64),
                        format!("{:.0}", l.ppl[0]),
                        format!("{:.0}", l.ppl[1]),
                        l.max_ppl.map_or("–".into(), fmt_num),
                    ]
                })
                .collect();
            s.push_str("<h3>buckets: head below the first cut-off, tail from the second; removed above max_ppl</h3>");
            table(
                s,
                &["lang", "scored", "head below", "tail from", "max_ppl"],
                &body,
            );
        }
        let max_ppl = |lang: &str| {
            cutoffs
                .as_ref()
                .and_then(|c| c.langs.get(lang))
                .and_then(|l| l.max_ppl)
        };
        ppl_histograms(s, agg, max_ppl);
    }
    if stats.stages.iter().any(|st| st.kind == "safety") {
        section(
            s,
            "Safety score per language (worst family's hits per 1,000 characters)",
        );
        histograms(s, &merged(agg, "safety"), |b| {
            if b >= 10 {
                "≥ 10".into()
            } else {
                format!("{b}–{}", b + 1)
            }
        });
    }
}

/// Per-language histograms of `key` (rows of lang, bucket b, count n).
/// Perplexity per language, 4 buckets per decade. Where the language has a `max_ppl`,
/// kept and removed documents are stacked and the limit is a line at the first bucket
/// edge at or above it (exact when it is a power of 10^¼, like 1,000).
fn ppl_histograms(
    s: &mut String,
    agg: &BTreeMap<String, Vec<Map<String, Value>>>,
    max_ppl: impl Fn(&str) -> Option<f64>,
) {
    let label = |b: i64| {
        format!(
            "{:.0}–{:.0}",
            10f64.powf(b as f64 / 4.0),
            10f64.powf((b + 1) as f64 / 4.0)
        )
    };
    let mut by_lang: BTreeMap<String, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
    for (k, removed) in [("ppl", false), ("ppl_removed", true)] {
        for r in agg.get(k).into_iter().flatten() {
            let lang = r.get("lang").map(text).unwrap_or_default();
            let b = r.get("b").and_then(Value::as_i64).unwrap_or(0);
            let n = r.get("n").map(num).unwrap_or(0.0);
            let e = by_lang.entry(lang).or_default().entry(b).or_default();
            if removed { e.1 += n } else { e.0 += n }
        }
    }
    for (lang, bins) in by_lang {
        let Some(limit) = max_ppl(&lang) else {
            let all = bins.iter().map(|(&b, &(k, r))| (b, k + r)).collect();
            lang_bars(s, &lang, &all, label);
            continue;
        };
        let edge = (limit.max(1.0).log10() * 4.0 - 1e-9).ceil() as i64;
        let lo = bins.keys().next().copied().unwrap_or(edge).min(edge);
        let hi = bins.keys().last().copied().unwrap_or(edge).max(edge);
        let rows: Vec<(String, f64, f64)> = (lo..=hi)
            .map(|b| {
                let (k, r) = bins.get(&b).copied().unwrap_or((0.0, 0.0));
                (label(b), k, r)
            })
            .collect();
        let note = format!("max_ppl = {} (removed above it)", fmt_num(limit));
        let _ = write!(
            s,
            "<h3>{}</h3>{}",
            esc(&lang),
            thresholds::drawn(&rows, (edge - lo) as usize, &note)
        );
    }
}

fn histograms(s: &mut String, rows: &[Map<String, Value>], label: impl Fn(i64) -> String) {
    let mut by_lang: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    for r in rows {
        let lang = r.get("lang").map(text).unwrap_or_default();
        let b = r.get("b").and_then(Value::as_i64).unwrap_or(0);
        *by_lang.entry(lang).or_default().entry(b).or_default() +=
            r.get("n").map(num).unwrap_or(0.0);
    }
    for (lang, bins) in by_lang {
        lang_bars(s, &lang, &bins, &label);
    }
}

/// One language's histogram: a bar per bucket, empty buckets between the first and the
/// last drawn too.
fn lang_bars(s: &mut String, lang: &str, bins: &BTreeMap<i64, f64>, label: impl Fn(i64) -> String) {
    let (lo, hi) = (bins.keys().next().copied(), bins.keys().last().copied());
    let rows: Vec<(String, f64)> = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo..=hi)
            .map(|b| (label(b), bins.get(&b).copied().unwrap_or(0.0)))
            .collect(),
        _ => Vec::new(),
    };
    let _ = write!(s, "<h3>{}</h3>{}", esc(lang), bars(&rows, "docs"));
}

fn funnel(s: &mut String, stats: &RunStats) {
    section(s, "Funnel");
    let rows: Vec<(String, f64)> = stats
        .stages
        .iter()
        .map(|st| (format!("{} kept", st.name), st.docs_kept as f64))
        .collect();
    s.push_str(&bars(&rows, "docs"));
    let mut body = Vec::new();
    for st in &stats.stages {
        body.push(vec![
            st.name.clone(),
            st.kind.clone(),
            fmt_num(st.docs_in as f64),
            fmt_num(st.docs_kept as f64),
            pct(st.docs_kept, st.docs_in),
            fmt_num(st.bytes_in as f64),
            fmt_num(st.bytes_kept as f64),
        ]);
        let mut reasons: Vec<(&String, &u64)> = st.docs_removed.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1));
        for (reason, n) in reasons {
            let bytes = st.bytes_removed.get(reason).copied().unwrap_or(0);
            body.push(vec![
                String::new(),
                format!("removed: {reason}"),
                String::new(),
                fmt_num(*n as f64),
                pct(*n, st.docs_in),
                String::new(),
                fmt_num(bytes as f64),
            ]);
        }
    }
    table(
        s,
        &[
            "stage",
            "kind / reason",
            "docs in",
            "docs",
            "share of in",
            "bytes in",
            "bytes",
        ],
        &body,
    );
}

fn timings(s: &mut String, stats: &RunStats) {
    section(s, "Timings");
    let body: Vec<Vec<String>> = stats
        .stages
        .iter()
        .map(|st: &StageStats| {
            let secs = st.seconds.max(1e-9);
            vec![
                st.name.clone(),
                format!("{:.2}", st.seconds),
                format!("{:.2}", st.task_seconds),
                fmt_num((st.docs_in as f64 / secs).round()),
                format!("{:.1}", st.bytes_in as f64 / 1e6 / secs),
                st.peak_rss_bytes
                    .map_or_else(|| "-".into(), |b| (b >> 20).to_string()),
            ]
        })
        .collect();
    table(
        s,
        &[
            "stage",
            "wall s",
            "task s",
            "docs/s",
            "MB/s",
            "peak RSS MiB",
        ],
        &body,
    );
}

fn shards(s: &mut String, m: &Manifest) {
    section(s, "Mix and shards");
    let _ = write!(
        s,
        "<p>seq_len {}, dtype {}, tokenizer {} (vocab {}), seed {}</p>",
        m.seq_len,
        esc(&m.dtype),
        esc(&m.tokenizer.path),
        m.tokenizer.vocab_size,
        m.seed
    );
    if let Some(mix) = &m.mix {
        let body: Vec<Vec<String>> = mix
            .sources
            .iter()
            .map(|src| {
                let v = serde_json::to_value(src).unwrap_or(Value::Null);
                let get = |k: &str| v.get(k).map(text).unwrap_or_default();
                let n = |k: &str| v.get(k).map(num).unwrap_or(0.0);
                vec![
                    get("name"),
                    fmt_num(n("documents").round()),
                    fmt_num(n("tokens_target").round()),
                    fmt_num(n("tokens_realized").round()),
                    format!("{:.2}", n("epochs")),
                ]
            })
            .collect();
        table(
            s,
            &[
                "source",
                "documents",
                "planned tokens",
                "realized tokens",
                "planned epochs",
            ],
            &body,
        );
    }
    for (split, info) in &m.splits {
        let _ = write!(
            s,
            "<h3>{}</h3><p>{} documents, {} rows, {} row tokens ({} remainder tokens dropped; {} of the document tokens are in rows)</p>",
            esc(split),
            fmt_num(info.documents as f64),
            fmt_num(info.rows as f64),
            fmt_num(info.row_tokens as f64),
            fmt_num(info.remainder_tokens as f64),
            pct(info.row_tokens, info.document_tokens)
        );
        let rows: Vec<(String, f64)> = info
            .tokens_per_source
            .iter()
            .map(|(k, v)| {
                (
                    format!(
                        "{k} (×{:.2} realized)",
                        info.epochs_per_source.get(k).copied().unwrap_or(1.0)
                    ),
                    *v as f64,
                )
            })
            .collect();
        s.push_str(&bars(&rows, "tokens"));
    }
    let body: Vec<Vec<String>> = m
        .shards
        .iter()
        .map(|sh| {
            vec![
                sh.file.clone(),
                sh.split.clone(),
                fmt_num(sh.rows as f64),
                fmt_num(sh.tokens as f64),
            ]
        })
        .collect();
    table(s, &["shard", "split", "rows", "tokens"], &body);
}

/// `out` without `.` and `dir/..` steps (`jobs/../out/demo` reads `out/demo`).
fn tidy(out: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut p = std::path::PathBuf::new();
    for c in out.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(p.components().next_back(), Some(Component::Normal(_))) =>
            {
                p.pop();
            }
            other => p.push(other),
        }
    }
    p
}

/// The report page of the run under `out`.
pub fn build(out: &Path) -> Result<String> {
    build_against(out, None)
}

/// The comparison with an earlier run `a` (`taojin diff a out` as tables).
fn against(s: &mut String, a: &Path, out: &Path) -> Result<()> {
    let d = crate::diff::diff(a, out, 10, crate::diff::DEFAULT_MEMORY)?;
    section(s, &format!("Against {}", a.display()));
    let change = |p: &crate::diff::Pair| match (p.a, p.b) {
        (Some(x), Some(y)) => format!("{:+}", y as i128 - x as i128),
        _ => String::new(),
    };
    let cell = |v: Option<u64>| v.map_or("–".to_string(), |v| fmt_num(v as f64));
    let mut body = Vec::new();
    for st in &d.stages {
        body.push(vec![
            format!("{} kept", st.stage),
            cell(st.kept.a),
            cell(st.kept.b),
            change(&st.kept),
        ]);
        for (reason, p) in st.removed.iter().filter(|(_, p)| p.a != p.b) {
            body.push(vec![
                format!("  removed: {reason}"),
                cell(p.a),
                cell(p.b),
                change(p),
            ]);
        }
    }
    for (source, p) in &d.tokens_per_source {
        body.push(vec![
            format!("train tokens: {source}"),
            cell(p.a),
            cell(p.b),
            change(p),
        ]);
    }
    table(s, &["", "before", "this run", "change"], &body);
    for (label, (total, moved)) in [
        ("kept before, not in this run", &d.only_a),
        ("kept in this run, not before", &d.only_b),
    ] {
        let _ = write!(
            s,
            "<h3>{} ({} documents)</h3>",
            esc(label),
            fmt_num(*total as f64)
        );
        let body: Vec<Vec<String>> = moved
            .iter()
            .map(|m| vec![m.id.clone(), m.there.clone()])
            .collect();
        table(s, &["id", "where it left the other run"], &body);
    }
    Ok(())
}

/// [`build`], with a comparison against an earlier run when `a` is given.
pub fn build_against(out: &Path, a: Option<&Path>) -> Result<String> {
    build_with(out, a, None)
}

/// The part files a report reads per table when they were picked elsewhere (a cluster's
/// `finalize` pulled this sample from the bucket), and how many each table has there.
pub struct Sample {
    /// The files read, per table (`stage`, `stage_removed`).
    pub picked: Picked,
    /// Each table's part count where the run keeps them.
    pub parts: BTreeMap<String, usize>,
}

/// The report of a run whose folder holds `sample` of its part files (and maybe others,
/// which are not read): the page reads exactly those and says how many of the parts.
pub fn build_sampled(out: &Path, sample: &Sample) -> Result<String> {
    build_with(out, None, Some(sample))
}

fn build_with(out: &Path, a: Option<&Path>, sample: Option<&Sample>) -> Result<String> {
    let path = out.join("stats.json");
    let bytes = std::fs::read(&path).map_err(PipelineError::io(&path))?;
    let stats: RunStats = serde_json::from_slice(&bytes)
        .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))?;
    let agg = aggregates(out, &stats, sample.map(|s| &s.picked))?;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>taojin report: {0}</title><style>\
         body{{font:14px system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}\
         .l{{font-size:12px}}.v{{font-size:11px;fill:#555}}.b{{fill:#3b7dd8}}.x{{fill:#e08a3c}}.t{{fill:#c00}}pre{{white-space:pre-wrap;background:#f6f6f6;padding:4px}}\
         </style></head><body><h1>taojin report: {0}</h1><p>{1}</p>",
        esc(&stats.job),
        esc(&tidy(out).display().to_string())
    );
    if let Some(a) = a {
        against(&mut s, a, out)?;
    }
    funnel(&mut s, &stats);
    let sampled: Vec<String> = crate::sql::stage_tables(out)?
        .iter()
        .flat_map(|(name, dir)| {
            [
                (name.clone(), dir.clone()),
                (format!("{name}_removed"), dir.join("removed")),
            ]
        })
        .filter_map(|(name, dir)| {
            let (k, n) =
                match sample.and_then(|s| Some((s.picked.get(&name)?, s.parts.get(&name)?))) {
                    Some((picked, &n)) => (picked.len(), n),
                    None => {
                        let files = part_files(&dir);
                        let n = files.len();
                        (sample_files(files, SAMPLE_FILES).len(), n)
                    }
                };
            (k < n).then(|| format!("{name} ({k} of {n} part files)"))
        })
        .collect();
    if !sampled.is_empty() {
        let _ = write!(
            s,
            "<p>The sections below the funnel read a sample: {}.</p>",
            esc(&sampled.join(", "))
        );
    }
    if let Some(l) = stats.stages.iter().find(|st| st.kind == "langid") {
        section(&mut s, "Languages");
        let mut langs: Vec<(String, f64)> = l
            .counters
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("lang.")?.to_string(), *v as f64)))
            .collect();
        langs.sort_by(|a, b| b.1.total_cmp(&a.1));
        langs.truncate(20);
        let _ = write!(
            s,
            "<h3>identified by `{}` (top 20)</h3>{}",
            esc(&l.name),
            bars(&langs, "docs")
        );
        if let Some(rows) = agg.get("final_lang") {
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.get("lang").map(text).unwrap_or_default(),
                        fmt_num(r.get("n").map(num).unwrap_or(0.0)),
                        fmt_num(r.get("chars").map(num).unwrap_or(0.0)),
                    ]
                })
                .collect();
            s.push_str("<h3>at the last stage (in the sampled part files)</h3>");
            table(&mut s, &["lang", "documents", "characters"], &body);
        }
        let length = merged(&agg, "length");
        if !length.is_empty() {
            section(
                &mut s,
                "Document length (characters, log2 buckets) per language, at language ID",
            );
            histograms(&mut s, &length, |b| {
                format!("{}–{}", (1i64 << b) - 1, (1i64 << (b + 1)) - 2)
            });
        }
        let score = merged(&agg, "score");
        if !score.is_empty() {
            section(
                &mut s,
                "Language score per language (kept, and removed for a low score)",
            );
            histograms(&mut s, &score, |b| {
                format!("{:.2}–{:.2}", b as f64 / 20.0, (b + 1) as f64 / 20.0)
            });
        }
    }
    learned(&mut s, out, &stats, &agg);
    thresholds::render(&mut s, &stats, &agg);
    if agg.contains_key("sizes") || agg.contains_key("sizes_removed") {
        section(&mut s, "Near-duplicate clusters");
        let mut sizes: BTreeMap<i64, f64> = BTreeMap::new();
        for key in ["sizes", "sizes_removed"] {
            for r in agg.get(key).into_iter().flatten() {
                let size = r.get("size").and_then(Value::as_i64).unwrap_or(0);
                *sizes.entry(size).or_default() += r.get("n").map(num).unwrap_or(0.0);
            }
        }
        let rows: Vec<(String, f64)> = sizes
            .iter()
            .map(|(k, v)| (format!("size {k}"), *v))
            .collect();
        s.push_str("<h3>documents by the size of their cluster</h3>");
        s.push_str(&bars(&rows, "docs"));
        let mut per_source: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for key in ["per_source", "per_source_removed"] {
            for r in agg.get(key).into_iter().flatten() {
                let e = per_source
                    .entry(r.get("source").map(text).unwrap_or_default())
                    .or_default();
                e.0 += r.get("n").map(num).unwrap_or(0.0);
                e.1 += r.get("dup").map(num).unwrap_or(0.0);
            }
        }
        let body: Vec<Vec<String>> = per_source
            .iter()
            .map(|(k, (n, d))| {
                vec![
                    k.clone(),
                    fmt_num(*n),
                    format!("{:.2}%", d * 100.0 / n.max(1.0)),
                ]
            })
            .collect();
        s.push_str("<h3>near-duplicate share per source</h3>");
        table(
            &mut s,
            &["source", "documents", "in a cluster of 2+"],
            &body,
        );
        if let Some(rows) = agg.get("largest") {
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.get("survivor").map(text).unwrap_or_default(),
                        r.get("size").map(text).unwrap_or_default(),
                    ]
                })
                .collect();
            s.push_str("<h3>largest clusters (in the sampled part files)</h3>");
            table(&mut s, &["survivor", "members"], &body);
        }
    }
    if let Some(m) = std::fs::read_to_string(out.join("shards/manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
    {
        shards(&mut s, &m);
    }
    section(&mut s, "Removed examples");
    for st in &stats.stages {
        for reason in st.docs_removed.keys() {
            let Some(rows) = agg.get(&format!("ex:{}:{reason}", st.name)) else {
                continue;
            };
            let _ = write!(s, "<h3>{} — {}</h3>", esc(&st.name), esc(reason));
            for r in rows {
                let detail = r
                    .get("detail")
                    .filter(|d| !d.is_null())
                    .map(text)
                    .unwrap_or_default();
                let evidence = match (r.get("signal"), r.get("value")) {
                    (Some(c), Some(v)) => format!("{} = {}", text(c), text(v)),
                    _ => String::new(),
                };
                let _ = write!(
                    s,
                    "<p><b>{}</b> {}</p><pre>{}</pre>",
                    esc(&r.get("id").map(text).unwrap_or_default()),
                    esc([detail, evidence]
                        .iter()
                        .filter(|x| !x.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                        .as_str()),
                    esc(&r.get("head").map(text).unwrap_or_default())
                );
            }
        }
    }
    timings(&mut s, &stats);
    s.push_str("</body></html>\n");
    Ok(s)
}
