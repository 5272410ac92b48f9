//! `taojin train-lm` and the `perplexity` stage: fluent text scores low and the same
//! words shuffled score high, buckets follow the run's per-language percentiles, a
//! language without a model gets a null score, `drop` removes the tail or what is above
//! `max_ppl`, and a changed model is never answered from the old output.

use std::collections::BTreeMap;

use taojin_schemas::rng::SplitMix64;

use crate::util::*;

const EN: [&[&str]; 5] = [
    &["the", "a", "every", "one"],
    &["old", "small", "quiet", "bright", "busy"],
    &["farmer", "teacher", "river", "city", "market", "engine"],
    &["crossed", "watched", "built", "found", "carried"],
    &[
        "the bridge",
        "a letter",
        "the harvest",
        "our school",
        "the station",
    ],
];
const ZH: [&[&str]; 4] = [
    &["老师", "农民", "工人", "学生", "医生"],
    &["在城市里", "在河边", "在学校", "在工厂", "在市场上"],
    &["修建了", "发现了", "打开了", "带来了", "看见了"],
    &["一座桥", "一封信", "新的房子", "很多粮食", "那辆车"],
];

fn pick<'a>(rng: &mut SplitMix64, xs: &[&'a str]) -> &'a str {
    xs[(rng.next() % xs.len() as u64) as usize]
}

fn sentence(rng: &mut SplitMix64, zh: bool) -> String {
    if zh {
        ZH.iter().map(|xs| pick(rng, xs)).collect::<String>() + "。"
    } else {
        let words: Vec<&str> = EN.iter().map(|xs| pick(rng, xs)).collect();
        format!("{}.", words.join(" "))
    }
}

/// The same text with its words (English) or characters (Chinese) shuffled per line.
fn shuffled(rng: &mut SplitMix64, text: &str, zh: bool) -> String {
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut parts: Vec<String> = if zh {
            line.trim_end_matches('。')
                .chars()
                .map(String::from)
                .collect()
        } else {
            line.trim_end_matches('.')
                .split(' ')
                .map(String::from)
                .collect()
        };
        for i in (1..parts.len()).rev() {
            parts.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        lines.push(if zh {
            parts.concat() + "。"
        } else {
            parts.join(" ") + "."
        });
    }
    lines.join("\n")
}

fn doc(rng: &mut SplitMix64, zh: bool) -> String {
    (0..6)
        .map(|_| sentence(rng, zh))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes the reference text and the documents; returns ids of the shuffled ones.
fn corpus(ws: &Workspace) -> Vec<String> {
    let mut rng = SplitMix64::new(5);
    let reference: Vec<String> = (0..3000).map(|i| sentence(&mut rng, i % 2 == 1)).collect();
    ws.write("reference.txt", reference.join("\n") + "\n");
    let (mut docs, mut junk) = (String::new(), Vec::new());
    for i in 0..240 {
        let zh = i % 2 == 1;
        let mut text = doc(&mut rng, zh);
        let id = format!("d{i:03}");
        if i % 5 == 0 {
            text = shuffled(&mut rng, &text, zh);
            junk.push(id.clone());
        }
        docs.push_str(&serde_json::json!({"id": id, "text": text}).to_string());
        docs.push('\n');
    }
    ws.write("docs.jsonl", docs);
    junk
}

fn stages(ppl: &str) -> String {
    let model = lid_model_path();
    format!(
        "{NORMALIZE}\n[[stages]]\nkind = \"langid\"\nmodel = \"{model}\"\n\n[[stages]]\nkind = \"perplexity\"\n{ppl}\n"
    )
}

fn train(ws: &Workspace, order: &str) {
    let out = ws.run_ok(&[
        "train-lm",
        "--input",
        "reference.txt",
        "--order",
        order,
        "--out",
        "lm.arpa",
    ]);
    assert!(out.contains("model written to lm.arpa"), "{out}");
    // A budget far below the counts spills sorted runs and writes the same bytes.
    let small = ws.run_ok(&[
        "train-lm",
        "--input",
        "reference.txt",
        "--order",
        order,
        "--memory",
        "4KiB",
        "--tmp",
        "spill",
        "--out",
        "lm-small.arpa",
    ]);
    assert!(small.contains("sorted runs spilled to spill"), "{small}");
    let read = |f: &str| std::fs::read(ws.path(f)).unwrap();
    assert!(read("lm.arpa") == read("lm-small.arpa"));
    assert_eq!(std::fs::read_dir(ws.path("spill")).unwrap().count(), 0);
}

#[test]
fn scores_bucket_and_drop_by_the_run_s_percentiles() {
    let ws = Workspace::new();
    let junk = corpus(&ws);
    train(&ws, "4");
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &stages("models = { default = \"lm.arpa\" }\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/perplexity");
    let ids = column(&dir, "id", false);
    let langs = column(&dir, "lang", false);
    let ppl = float_column(&dir, "ppl.doc");
    let buckets = column(&dir, "ppl.bucket", false);
    assert_eq!(ids.len(), 240, "annotate keeps every document");
    let mut per_lang: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut fluent_max, mut junk_min) = (0f32, f32::MAX);
    for i in 0..ids.len() {
        let lang = langs[i].clone().expect("lang");
        *per_lang
            .entry(lang)
            .or_default()
            .entry(buckets[i].clone().expect("bucket"))
            .or_insert(0) += 1;
        if junk.contains(ids[i].as_ref().expect("id")) {
            junk_min = junk_min.min(ppl[i]);
            assert_eq!(
                buckets[i].as_deref(),
                Some("tail"),
                "{:?} {}",
                ids[i],
                ppl[i]
            );
        } else {
            fluent_max = fluent_max.max(ppl[i]);
        }
    }
    assert!(
        junk_min > 2.0 * fluent_max,
        "shuffled {junk_min} vs fluent {fluent_max}"
    );
    // The same scores and buckets on one thread over several tasks.
    let by_id = |ws: &Workspace| {
        let d = ws.path("out/perplexity");
        let mut v: Vec<(String, String, String)> = column(&d, "id", false)
            .into_iter()
            .zip(float_column(&d, "ppl.doc"))
            .zip(column(&d, "ppl.bucket", false))
            .map(|((i, p), b)| (i.unwrap_or_default(), format!("{p}"), b.unwrap_or_default()))
            .collect();
        v.sort();
        v
    };
    let first = by_id(&ws);
    ws.job(
        "split_bytes = 20000",
        &input("docs", "docs.jsonl"),
        &stages("models = { default = \"lm.arpa\" }\n"),
    );
    ws.run_ok(&["run", "job.toml", "--threads", "1"]);
    assert!(part_files(&dir).len() > 1, "several tasks");
    assert_eq!(by_id(&ws), first);
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &stages("models = { default = \"lm.arpa\" }\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    // Per language, head and middle are each the 30% of its documents below p30 and p60.
    assert_eq!(
        per_lang.keys().collect::<Vec<_>>(),
        ["en", "zh-Hans"],
        "{per_lang:?}"
    );
    for (lang, b) in &per_lang {
        let n: usize = b.values().sum();
        for (bucket, share) in [("head", 0.3), ("middle", 0.3)] {
            let got = b.get(bucket).copied().unwrap_or(0) as f64 / n as f64;
            assert!(
                (got - share).abs() < 0.06,
                "{lang} {bucket}: {got} of {n} ({b:?})"
            );
        }
    }

    // drop: the tail goes, with its reason; only max_ppl, and only for English.
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &stages("models = { default = \"lm.arpa\" }\nmode = \"drop\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let tails: usize = per_lang.values().map(|b| b["tail"]).sum();
    let reasons = column(&dir, "reason", true);
    assert_eq!(reasons.len(), tails);
    assert!(
        reasons
            .iter()
            .all(|r| r.as_deref() == Some("perplexity:tail"))
    );
    let cut = 1.5 * fluent_max;
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &stages(&format!(
            "models = {{ default = \"lm.arpa\" }}\nmode = \"drop\"\ndrop_tail = false\nmax_ppl = {{ en = {cut} }}\n"
        )),
    );
    ws.run_ok(&["run", "job.toml"]);
    let removed = column(&dir, "id", true);
    let junk_en: Vec<&String> = junk
        .iter()
        .filter(|id| id[1..].parse::<u32>().is_ok_and(|i| i % 2 == 0))
        .collect();
    assert_eq!(removed.len(), junk_en.len(), "{removed:?}");
    assert!(
        removed
            .iter()
            .all(|id| junk_en.contains(&id.as_ref().expect("id")))
    );
    // The report draws the limit on English's histogram, stacked kept/removed, and on
    // no other language's; the removed bars add up to what the stage removed.
    let page = std::fs::read_to_string(ws.path("out/report.html")).expect("report");
    let note = format!("max_ppl = {cut:.3} (removed above it)");
    assert_eq!(page.matches(&note).count(), 1, "{note}");
    let section = &page[page.find("Perplexity per language").expect("section")..];
    let en = &section[section.find("<h3>en</h3>").expect("en histogram")..];
    let en = &en[..en.find("</svg>").expect("svg end")];
    assert!(en.contains(&note));
    let drawn_removed: usize = en
        .split(" kept, ")
        .skip(1)
        .filter_map(|t| {
            t.split(" removed")
                .next()?
                .replace(',', "")
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert_eq!(drawn_removed, junk_en.len());
}

#[test]
fn a_language_without_a_model_gets_null_and_a_new_model_rescores() {
    let ws = Workspace::new();
    corpus(&ws);
    train(&ws, "3");
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &stages("models = { en = \"lm.arpa\" }\nmode = \"drop\"\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/perplexity");
    let langs = column(&dir, "lang", false);
    let ppl = float_column(&dir, "ppl.doc");
    let buckets = column(&dir, "ppl.bucket", false);
    let zh: Vec<usize> = (0..langs.len())
        .filter(|&i| langs[i].as_deref() == Some("zh-Hans"))
        .collect();
    assert_eq!(zh.len(), 120, "no Chinese document is removed");
    assert!(zh.iter().all(|&i| ppl[i].is_nan() && buckets[i].is_none()));
    let before: Vec<f32> = (0..ppl.len())
        .filter(|i| !zh.contains(i))
        .map(|i| ppl[i])
        .collect();
    // A different model under the same name: the stage runs again.
    train(&ws, "2");
    ws.run_ok(&["run", "job.toml"]);
    let after = float_column(&dir, "ppl.doc");
    let after: Vec<f32> = (0..after.len())
        .filter(|&i| !after[i].is_nan())
        .map(|i| after[i])
        .collect();
    assert_eq!(before.len(), after.len());
    assert_ne!(before, after, "the order-2 model scores differently");
}

#[test]
fn a_broken_model_is_a_clear_error() {
    let ws = Workspace::new();
    corpus(&ws);
    train(&ws, "3");
    let text = std::fs::read_to_string(ws.path("lm.arpa")).expect("arpa");
    ws.write("lm.arpa", &text[..text.len() / 2]);
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &stages("models = { default = \"lm.arpa\" }\n"),
    );
    let out = ws.taojin(&["run", "job.toml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lm.arpa:") && err.contains("truncated"),
        "{err}"
    );
}
