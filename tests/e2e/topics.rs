//! The `topics` stage on a corpus with known categories in both languages: clusters are
//! pure beside a random baseline, `topics.json` names them with their words, a mix can
//! leave a cluster out, and the result is the same for any thread count or task layout.

use std::collections::BTreeMap;

use taojin_schemas::rng::SplitMix64;

use crate::util::*;

const CATEGORIES: [(&str, &[&str], &[&str]); 4] = [
    (
        "sport",
        &[
            "goal", "match", "team", "player", "league", "coach", "score",
        ],
        &["比赛", "球队", "进球", "球员", "联赛", "教练"],
    ),
    (
        "food",
        &[
            "recipe", "flour", "sugar", "oven", "butter", "bake", "dough",
        ],
        &["面粉", "烤箱", "黄油", "食谱", "糖果", "面团"],
    ),
    (
        "weather",
        &["rain", "cloud", "wind", "storm", "forecast", "thunder"],
        &["下雨", "云层", "大风", "暴雨", "预报", "雷电"],
    ),
    (
        "code",
        &[
            "compiler", "function", "variable", "memory", "thread", "pointer",
        ],
        &["编译", "函数", "变量", "内存", "线程", "指针"],
    ),
];
const FILLER_EN: &[&str] = &["the", "and", "of", "today", "people", "very", "new"];
const FILLER_ZH: &[&str] = &["今天", "我们", "非常", "一些", "新的", "可以"];

fn corpus(ws: &Workspace) -> BTreeMap<String, &'static str> {
    let mut rng = SplitMix64::new(11);
    let mut pick = |xs: &[&'static str]| xs[(rng.next() % xs.len() as u64) as usize];
    let (mut docs, mut truth) = (String::new(), BTreeMap::new());
    for i in 0..400 {
        let (cat, en, zh) = CATEGORIES[i % 4];
        let zh_doc = i % 8 >= 4;
        let words: Vec<&str> = (0..40)
            .map(|j| match (zh_doc, j % 3) {
                (false, 0) => pick(FILLER_EN),
                (false, _) => pick(en),
                (true, 0) => pick(FILLER_ZH),
                (true, _) => pick(zh),
            })
            .collect();
        let text = words.join(if zh_doc { "" } else { " " });
        let id = format!("doc-{i:03}");
        docs.push_str(&serde_json::json!({"id": id, "text": text}).to_string());
        docs.push('\n');
        truth.insert(id, cat);
    }
    ws.write("docs.jsonl", docs);
    truth
}

const TOPICS: &str = "[[stages]]\nkind = \"topics\"\nk = 8\n";

/// Share of documents whose cluster's majority category is their own.
fn purity(assign: &[(String, i32)], truth: &BTreeMap<String, &str>) -> f64 {
    let mut by: BTreeMap<i32, BTreeMap<&str, usize>> = BTreeMap::new();
    for (id, c) in assign {
        *by.entry(*c).or_default().entry(truth[id]).or_insert(0) += 1;
    }
    let majority: usize = by
        .values()
        .map(|m| m.values().max().copied().unwrap_or(0))
        .sum();
    majority as f64 / assign.len() as f64
}

fn assignment(ws: &Workspace) -> Vec<(String, i32)> {
    let dir = ws.path("out/topics");
    let ids = column(&dir, "id", false);
    let topics = int_column(&dir, "topic.id");
    let mut v: Vec<(String, i32)> = ids
        .into_iter()
        .map(|i| i.expect("id"))
        .zip(topics)
        .collect();
    v.sort();
    v
}

#[test]
fn clusters_are_pure_named_and_selectable() {
    let ws = Workspace::new();
    let truth = corpus(&ws);
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &format!("{NORMALIZE}\n{TOPICS}"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let assign = assignment(&ws);
    assert_eq!(assign.len(), 400);
    let p = purity(&assign, &truth);
    // Random clusters of the same sizes: about the largest category's share.
    let mut rng = SplitMix64::new(1);
    let random: Vec<(String, i32)> = assign
        .iter()
        .map(|(id, _)| (id.clone(), (rng.next() % 8) as i32))
        .collect();
    let baseline = purity(&random, &truth);
    assert!(p > 0.95 && baseline < 0.4, "purity {p}, random {baseline}");
    let distances = float_column(&ws.path("out/topics"), "topic.distance");
    assert!(distances.iter().all(|d| (0.0..1.0).contains(d)));

    let topics: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ws.path("out/topics/topics.json")).expect("topics.json"),
    )
    .expect("json");
    let clusters = topics["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 8);
    let words: Vec<String> = CATEGORIES
        .iter()
        .flat_map(|(_, en, zh)| en.iter().chain(zh.iter()).map(|w| w.to_string()))
        .collect();
    for c in clusters {
        let en = c["top_terms_en"].as_array().expect("en");
        let zh = c["top_terms_zh"].as_array().expect("zh");
        let top = en
            .first()
            .or(zh.first())
            .and_then(|t| t.as_str())
            .expect("a top term");
        assert!(
            words
                .iter()
                .any(|w| w == top || (top.chars().count() == 2 && w.contains(top))),
            "{c}"
        );
        assert_eq!(c["examples"].as_array().expect("examples").len(), 5);
    }

    // A mix that leaves one cluster out.
    let drop = assign[0].1;
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &format!(
            "{NORMALIZE}\n{TOPICS}\n[[stages]]\nkind = \"mix\"\n[[stages.sources]]\nname = \"all\"\nwhere = \"\\\"topic.id\\\" NOT IN ({drop})\"\nweight = 1.0\n"
        ),
    );
    ws.run_ok(&["run", "job.toml"]);
    let kept = column(&ws.path("out/mix"), "id", false);
    let expected = assign.iter().filter(|(_, c)| *c != drop).count();
    assert_eq!(kept.len(), expected);
}

#[test]
fn the_same_clusters_for_any_threads_or_task_layout() {
    let ws = Workspace::new();
    corpus(&ws);
    ws.job(
        "",
        &input("docs", "docs.jsonl"),
        &format!("{NORMALIZE}\n{TOPICS}"),
    );
    ws.run_ok(&["run", "job.toml", "--threads", "1"]);
    let one = assignment(&ws);
    let json = std::fs::read(ws.path("out/topics/topics.json")).expect("topics.json");
    ws.job(
        "split_bytes = 20000",
        &input("docs", "docs.jsonl"),
        &format!("{NORMALIZE}\n{TOPICS}"),
    );
    ws.run_ok(&["run", "job.toml", "--threads", "2"]);
    assert!(
        part_files(&ws.path("out/topics")).len() > 1,
        "several tasks"
    );
    assert_eq!(assignment(&ws), one);
    assert_eq!(
        std::fs::read(ws.path("out/topics/topics.json")).expect("topics.json"),
        json
    );
}
