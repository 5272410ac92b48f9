//! Deterministic synthetic demo corpus: bilingual zh/en web-like documents (plus ja, ko, de, fr,
//! es, ru and mixed pages) with planted ground truth — language, quality defects, PII, exact and
//! near duplicates, boilerplate — that every pipeline stage's tests measure themselves against.
//!
//! Same [`DemoOptions`] ⇒ byte-identical output on every platform: our own PRNG, fixed word
//! lists, no hash-map iteration, no libm-dependent float math, hand-written JSON.
//!
//! Each line: `{"id","text","url",["crawl_date"],"truth"}`; `truth` has, in this order:
//! - `lang` (en, zh-Hans, zh-Hant, ja, ko, de, fr, es, ru; the dominant one for mixed pages),
//!   `mixed` (bool), `secondary` (the other language or null), `topic`;
//! - `quality` ("good"/"bad") and `defects` (planted defect names; empty iff good);
//! - `pii_kinds`, `pii` (`[{kind, value}]`, values with valid checksums) and `decoys`
//!   (`[{kind, value}]` look-alikes: version, date, git_hash, order_number, cn_id_invalid);
//! - `dup_group` (shared by an original and its copies), `dup_kind` ("exact"/"near"/null),
//!   `dup_of` (the id copied from; chains point at their direct parent), `similarity`
//!   (`shingle_jaccard(parent, copy, 5, 5)`; 1.0 for exact), `normalized_only` (exact copy that
//!   differs only in case, whitespace or full-width punctuation);
//! - `boilerplate_lines`: lines taken verbatim from a small shared pool (nav, cookie, copyright).
//!
//! Copies inherit their parent's truth (PII values of a normalized-only copy may differ in spacing).
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod defects;
mod dup;
mod learned;
mod pii;
mod rng;
mod shingle;
mod text;
#[rustfmt::skip]
mod words;

mod web;

use std::collections::BTreeMap;

pub use learned::{reference as lm_reference, spam as spam_source};
use pii::Planted;
use rng::Rng;
pub use shingle::shingle_jaccard;
use text::{Lang, Style};
pub use web::{DemoWarc, WebTruth, demo_warc};

/// Options of the demo generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoOptions {
    /// PRNG seed; the same seed always yields the same bytes.
    pub seed: u64,
    /// Size multiplier: 1 = default size (~3,000 documents, ~5 MB of JSON lines); 0 acts as 1.
    pub scale: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { seed: 42, scale: 1 }
    }
}

/// One output file: its name (e.g. "web-zh-00.jsonl") and its JSON lines (each a serialized
/// object, no trailing newline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoFile {
    /// File name, without directory and without a compression suffix.
    pub name: String,
    /// One JSON object per document.
    pub lines: Vec<String>,
}

/// Summary counts for printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    /// Number of documents in all files.
    pub docs: usize,
    /// Bytes of all JSON lines, counting one newline per line (the uncompressed file sizes).
    pub bytes: usize,
    /// Documents per `truth.lang`.
    pub by_lang: BTreeMap<String, usize>,
    /// Copies with `truth.dup_kind == "exact"` (originals not counted).
    pub exact_dups: usize,
    /// Copies with `truth.dup_kind == "near"` (originals not counted).
    pub near_dups: usize,
    /// Documents with `truth.quality == "bad"` (copies of bad documents included).
    pub bad_quality: usize,
}

/// Sources: name prefix and number of files.
const SOURCES: [(&str, usize); 3] = [("web-en", 3), ("web-zh", 3), ("web-mixed", 2)];
/// Base documents per language at scale 1.
const PLAN: [(Lang, usize); 9] = [
    (Lang::En, 1150),
    (Lang::Zh, 1000),
    (Lang::Hant, 250),
    (Lang::Ja, 40),
    (Lang::Ko, 40),
    (Lang::De, 40),
    (Lang::Fr, 40),
    (Lang::Es, 40),
    (Lang::Ru, 40),
];
/// Mixed-language documents at scale 1 (half zh-dominant, half en-dominant).
const MIXED: usize = 60;
/// Planted near-duplicate similarities, cycled.
const TARGETS: [f64; 8] = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5];

/// One document with its ground truth.
#[derive(Clone, Debug, Default)]
struct Doc {
    id: String,
    source: usize,
    file: usize,
    text: String,
    url: String,
    crawl_date: Option<String>,
    lang: Lang,
    secondary: Option<Lang>,
    topic: &'static str,
    defects: Vec<&'static str>,
    pii: Planted,
    decoys: Planted,
    dup_group: Option<usize>,
    dup_kind: Option<&'static str>,
    dup_of: Option<String>,
    similarity: Option<f64>,
    normalized_only: bool,
    boilerplate: usize,
    long: bool,
}

struct Builder {
    rng: Rng,
    docs: Vec<Doc>,
    counters: [usize; 3],
    groups: usize,
    bad_seen: [usize; 9],
}

impl Builder {
    fn next_id(&mut self, source: usize) -> String {
        self.counters[source] += 1;
        format!("{}-{:06}", SOURCES[source].0, self.counters[source])
    }

    fn url(&mut self, lang: Lang, topic: &str) -> String {
        let r = &mut self.rng;
        let domain = r.pick(words::DOMAINS[lang.index()]);
        let (y, m, n) = (
            r.range(2018, 2025),
            r.range(1, 12),
            r.range(100_000, 999_999),
        );
        format!("https://{domain}/{topic}/{y}/{m:02}/{n}.html")
    }

    fn crawl_date(&mut self) -> Option<String> {
        let r = &mut self.rng;
        r.chance(0.3)
            .then(|| format!("2026-01-{:02}", r.range(1, 28)))
    }

    /// A fresh original document on `source`.
    fn push(
        &mut self,
        lang: Lang,
        topic: &'static str,
        lines: Vec<String>,
        source: usize,
    ) -> &mut Doc {
        let id = self.next_id(source);
        let file = self.rng.below(SOURCES[source].1);
        let url = self.url(lang, topic);
        let crawl_date = self.crawl_date();
        let text = lines.join("\n");
        let doc = Doc {
            id,
            source,
            file,
            text,
            url,
            crawl_date,
            lang,
            topic,
            ..Doc::default()
        };
        self.docs.push(doc);
        let last = self.docs.len() - 1;
        &mut self.docs[last]
    }

    fn base_doc(&mut self, lang: Lang, i: usize) {
        let r = &mut self.rng;
        let tech = lang == Lang::Zh && i % 10 == 3;
        let topic = if tech { 4 } else { r.below(6) };
        let st = Style { lang, topic, tech };
        let topic_name = if matches!(lang, Lang::En | Lang::Zh) {
            words::TOPICS[topic]
        } else {
            "general"
        };
        let long = (lang == Lang::En && i.is_multiple_of(400))
            || (lang == Lang::Zh && i.is_multiple_of(500));
        let bad_rate = match lang {
            Lang::En | Lang::Zh => 0.2,
            Lang::Hant => 0.15,
            _ => 0.0,
        };
        let (mut defects, mut planted, mut bp) = (Vec::new(), (Vec::new(), Vec::new()), 0);
        let lines = if long {
            let size = r.range(50_000, 95_000);
            text::long_body(r, st, size)
        } else if !tech && r.chance(bad_rate) {
            defects = defects::choose(r, lang, self.bad_seen[lang.index()]);
            self.bad_seen[lang.index()] += 1;
            let (lines, n) = defects::bad_lines(r, st, &defects);
            bp = n;
            lines
        } else {
            let n = text::paragraph_count(r);
            let mut lines = text::body(r, st, n);
            if matches!(lang, Lang::En | Lang::Zh) {
                if r.chance(0.08) {
                    let (n_pii, n_decoys) =
                        (r.range(1, 3), if r.chance(0.5) { r.range(1, 2) } else { 0 });
                    planted = pii::plant(r, lang, &mut lines, n_pii, n_decoys);
                } else if r.chance(0.025) {
                    let n_decoys = r.range(1, 2);
                    planted = pii::plant(r, lang, &mut lines, 0, n_decoys);
                }
            }
            if matches!(lang, Lang::En | Lang::Zh | Lang::Hant)
                && lines.len() >= 3
                && r.chance(0.22)
            {
                let k = r.range(1, 3);
                bp = text::add_boilerplate(r, lang, &mut lines, k);
            }
            lines
        };
        let source = match lang {
            Lang::En => 0,
            Lang::Zh => 1,
            _ => 2,
        };
        let d = self.push(lang, topic_name, lines, source);
        (d.defects, d.boilerplate, d.long) = (defects, bp, long);
        (d.pii, d.decoys) = planted;
    }

    /// A Chinese article with an English paragraph, or an English page quoting Chinese.
    fn mixed_doc(&mut self, zh_dominant: bool) {
        let r = &mut self.rng;
        let topic = r.below(6);
        let zh = Style {
            lang: Lang::Zh,
            topic,
            tech: false,
        };
        let en = Style {
            lang: Lang::En,
            topic,
            tech: false,
        };
        let (main, other) = if zh_dominant { (zh, en) } else { (en, zh) };
        let n = r.range(4, 7);
        let mut lines = text::body(r, main, n);
        let quote = text::paragraph(r, other, 2, 3);
        let line = if zh_dominant {
            quote
        } else {
            format!("The original Chinese text reads: “{quote}”")
        };
        let at = r.range(1, lines.len());
        lines.insert(at, line);
        let d = self.push(main.lang, words::TOPICS[topic], lines, 2);
        d.secondary = Some(other.lang);
    }

    /// A copy of `parent` with `text` in a random file (rarely the parent's); returns its index.
    fn copy(
        &mut self,
        parent: usize,
        text: String,
        kind: &'static str,
        sim: f64,
        norm: bool,
    ) -> usize {
        let p = &self.docs[parent];
        let (p_source, p_file, p_id, lang, topic) =
            (p.source, p.file, p.id.clone(), p.lang, p.topic);
        let source = if self.rng.chance(0.65) {
            p_source
        } else {
            self.rng.below(SOURCES.len())
        };
        let mut file = self.rng.below(SOURCES[source].1);
        if source == p_source && file == p_file {
            file = (file + 1) % SOURCES[source].1;
        }
        let (id, url, crawl_date) = (
            self.next_id(source),
            self.url(lang, topic),
            self.crawl_date(),
        );
        let doc = Doc {
            id,
            source,
            file,
            text,
            url,
            crawl_date,
            dup_kind: Some(kind),
            dup_of: Some(p_id),
            similarity: Some(sim),
            normalized_only: norm,
            ..self.docs[parent].clone()
        };
        self.docs.push(doc);
        self.docs.len() - 1
    }

    fn near(&mut self, parent: usize, target: f64) -> usize {
        let cjk = self.docs[parent].lang.cjk();
        let (text, sim) = dup::near_copy(&mut self.rng, &self.docs[parent].text, cjk, target);
        self.copy(parent, text, "near", sim, false)
    }

    fn duplicates(&mut self) {
        let base = self.docs.len();
        let mut order: Vec<usize> = (0..base).filter(|&i| !self.docs[i].long).collect();
        self.rng.shuffle(&mut order);
        let n_exact = base * 40 / 1000;
        for &i in &order[..n_exact] {
            self.docs[i].dup_group = Some(self.groups);
            self.groups += 1;
            let copies = match self.rng.below(10) {
                0..7 => 1,
                7..9 => 2,
                _ => 3,
            };
            for _ in 0..copies {
                let lang = self.docs[i].lang;
                let norm =
                    matches!(lang, Lang::En | Lang::Zh | Lang::Hant) && self.rng.chance(0.25);
                let text = if norm {
                    dup::normalized_variant(&mut self.rng, &self.docs[i].text, lang.cjk())
                } else {
                    self.docs[i].text.clone()
                };
                self.copy(i, text, "exact", 1.0, norm);
            }
        }
        let n_near = base * 45 / 1000;
        let candidates: Vec<usize> = order[n_exact..]
            .iter()
            .copied()
            .filter(|&i| {
                let d = &self.docs[i];
                let min = if d.lang.cjk() { 340 } else { 170 }; // copies keep ≥ 300 / 150
                matches!(d.lang, Lang::En | Lang::Zh)
                    && d.secondary.is_none()
                    && d.defects.is_empty()
                    && d.boilerplate == 0
                    && text::units(d.lang, &d.text) >= min
            })
            .take(n_near)
            .collect();
        for (k, &i) in candidates.iter().enumerate() {
            self.docs[i].dup_group = Some(self.groups);
            self.groups += 1;
            let chain = k % 6 == 5;
            let b = self.near(
                i,
                if chain {
                    0.85
                } else {
                    TARGETS[k % TARGETS.len()]
                },
            );
            if chain {
                self.near(b, 0.85);
            }
            if k % 7 == 3 {
                self.near(i, TARGETS[(k + 3) % TARGETS.len()]);
            }
        }
    }
}

/// `s` as a JSON string literal (only `"`, `\` and control characters escaped).
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), q)
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

fn planted(p: &Planted) -> String {
    list(
        p.iter()
            .map(|(k, v)| format!("{{\"kind\":{},\"value\":{}}}", q(k), q(v))),
    )
}

/// The document as one compact JSON object with a fixed key order.
fn to_json(d: &Doc) -> String {
    let quality = if d.defects.is_empty() { "good" } else { "bad" };
    let truth = [
        ("lang", q(d.lang.code())),
        ("mixed", d.secondary.is_some().to_string()),
        ("secondary", opt(d.secondary.map(Lang::code))),
        ("topic", q(d.topic)),
        ("quality", q(quality)),
        ("defects", list(d.defects.iter().map(|s| q(s)))),
        ("pii_kinds", list(d.pii.iter().map(|(k, _)| q(k)))),
        ("pii", planted(&d.pii)),
        ("decoys", planted(&d.decoys)),
        (
            "dup_group",
            d.dup_group.map_or("null".to_string(), |g| g.to_string()),
        ),
        ("dup_kind", opt(d.dup_kind)),
        ("dup_of", opt(d.dup_of.as_deref())),
        // `{:?}` is the shortest round-trip form and keeps a '.', e.g. "1.0".
        (
            "similarity",
            d.similarity
                .map_or("null".to_string(), |s| format!("{s:?}")),
        ),
        ("normalized_only", d.normalized_only.to_string()),
        ("boilerplate_lines", d.boilerplate.to_string()),
    ];
    let mut o = format!(
        "{{\"id\":{},\"text\":{},\"url\":{}",
        q(&d.id),
        q(&d.text),
        q(&d.url)
    );
    if let Some(c) = &d.crawl_date {
        o.push_str(&format!(",\"crawl_date\":{}", q(c)));
    }
    let truth: Vec<String> = truth.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    o.push_str(&format!(",\"truth\":{{{}}}}}", truth.join(",")));
    o
}

/// Generates the demo corpus: files of JSON lines (`id`, `text`, `url`, sometimes `crawl_date`,
/// and the ground truth under `truth`) and summary counts. Pure and deterministic.
pub fn generate(opts: &DemoOptions) -> (Vec<DemoFile>, DemoSummary) {
    let scale = opts.scale.max(1);
    let mut b = Builder {
        rng: Rng::new(opts.seed),
        docs: Vec::new(),
        counters: [0; 3],
        groups: 0,
        bad_seen: [0; 9],
    };
    for (lang, n) in PLAN {
        for i in 0..n * scale {
            b.base_doc(lang, i);
        }
    }
    for i in 0..MIXED * scale {
        b.mixed_doc(i % 2 == 0);
    }
    b.duplicates();
    let mut summary = DemoSummary {
        docs: b.docs.len(),
        bytes: 0,
        by_lang: BTreeMap::new(),
        exact_dups: 0,
        near_dups: 0,
        bad_quality: 0,
    };
    for d in &b.docs {
        *summary
            .by_lang
            .entry(d.lang.code().to_string())
            .or_insert(0) += 1;
        summary.exact_dups += usize::from(d.dup_kind == Some("exact"));
        summary.near_dups += usize::from(d.dup_kind == Some("near"));
        summary.bad_quality += usize::from(!d.defects.is_empty());
    }
    let mut files = Vec::new();
    for (s, (name, n_files)) in SOURCES.iter().enumerate() {
        for f in 0..*n_files {
            let mut idx: Vec<usize> = (0..b.docs.len())
                .filter(|&i| b.docs[i].source == s && b.docs[i].file == f)
                .collect();
            b.rng.shuffle(&mut idx);
            let lines: Vec<String> = idx.iter().map(|&i| to_json(&b.docs[i])).collect();
            summary.bytes += lines.iter().map(|l| l.len() + 1).sum::<usize>();
            files.push(DemoFile {
                name: format!("{name}-{f:02}.jsonl"),
                lines,
            });
        }
    }
    (files, summary)
}

#[cfg(test)]
mod tests;
