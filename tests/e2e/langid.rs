//! The `langid` stage end to end: planted languages of the demo corpus recovered, routing
//! reasons, hard cases (Traditional, Japanese with kanji, Korean, mixed, code, very short,
//! very long), `to_simplified`, and a missing model.

use std::collections::BTreeMap;

use crate::util::*;

fn model() -> String {
    let p = lid_model_path();
    assert!(
        std::path::Path::new(&p).exists(),
        "{p} is missing: run `make models`"
    );
    p
}

fn langid_stage(extra: &str) -> String {
    format!(
        "{NORMALIZE}\n[[stages]]\nkind = \"langid\"\nmodel = \"{}\"\n{extra}\n",
        model()
    )
}

#[test]
fn demo_languages_are_recovered() {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    ws.job(
        "",
        &input("demo", "data/*.jsonl.zst"),
        &langid_stage("mode = \"annotate\""),
    );
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/langid");
    let langs = column(&dir, "lang", false);
    let metas = column(&dir, "meta", false);
    let mut table: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut confusions = Vec::new();
    for (lang, meta) in langs.iter().zip(&metas) {
        let meta: serde_json::Value =
            serde_json::from_str(meta.as_deref().expect("meta")).expect("json");
        let truth = &meta["truth"];
        let planted = truth["lang"].as_str().expect("truth.lang").to_string();
        // Garbled and keyword-list pages have no reliable language; judge prose only.
        let defects: Vec<&str> = truth["defects"]
            .as_array()
            .map(|d| d.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        if defects.iter().any(|d| {
            [
                "garbled",
                "keyword_list",
                "symbol_heavy",
                "curly_braces",
                "short",
            ]
            .contains(d)
        }) {
            continue;
        }
        let e = table.entry(planted.clone()).or_default();
        e.1 += 1;
        if lang.as_deref() == Some(planted.as_str()) {
            e.0 += 1;
        } else {
            confusions.push(format!("{planted} -> {lang:?}"));
        }
    }
    let report: Vec<String> = table
        .iter()
        .map(|(l, (ok, n))| format!("{l} {ok}/{n}"))
        .collect();
    eprintln!("demo language recovery: {}", report.join(", "));
    for (lang, (ok, n)) in &table {
        let min = if ["en", "zh-Hans", "zh-Hant"].contains(&lang.as_str()) {
            0.98
        } else {
            0.9
        };
        assert!(
            *ok as f64 >= min * *n as f64,
            "{lang}: {ok}/{n}; {report:?}; e.g. {:?}",
            &confusions[..confusions.len().min(20)]
        );
    }
}

fn docs(ws: &Workspace, docs: &[(&str, String)]) {
    let lines: String = docs
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
        .collect();
    ws.write("data/docs.jsonl", lines);
}

#[test]
fn hard_cases_and_routing_reasons() {
    let ws = Workspace::new();
    let long_en = "The committee reviewed the annual budget and approved new funding for the public library. ".repeat(60_000);
    assert!(long_en.len() > 5_000_000);
    docs(
        &ws,
        &[
            ("hans", "我们今天去图书馆借书，然后在公园里散步。这个城市的交通非常方便，很多人坐地铁上班。".into()),
            ("hant", "我們今天去圖書館借書，然後在公園裡散步。這個城市的交通非常方便，很多人坐捷運上班。".into()),
            ("ja", "東京の図書館で本を借りました。それから公園を散歩して、友達と昼ご飯を食べました。".into()),
            ("ko", "오늘은 도서관에서 책을 빌리고 공원에서 산책을 했습니다. 날씨가 정말 좋았어요.".into()),
            ("mixed", "我们使用 PyTorch 训练模型，并用 TensorBoard 观察损失曲线。\n\n模型的 learning rate 设置为 0.001，batch size 为 32。\n\n训练结束后，我们在验证集上评估准确率，结果比基线提高了三个百分点。".into()),
            ("en-quoting-zh", "The poem is short and famous. It begins with the line below.\n\n床前明月光\n\nScholars have debated its meaning for centuries, and every school child in China can recite it from memory.".into()),
            ("code", "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }\nreturn sum;".into()),
            ("short", "OK".into()),
            ("german", "Die Bibliothek der Stadt bleibt wegen Renovierung bis zum Ende des Monats geschlossen.".into()),
            ("long", long_en),
        ],
    );
    ws.job("", &input("t", "data/docs.jsonl"), &langid_stage(""));
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/langid");
    let kept: BTreeMap<String, String> = column(&dir, "id", false)
        .into_iter()
        .zip(column(&dir, "lang", false))
        .map(|(i, l)| (i.expect("id"), l.expect("lang")))
        .collect();
    assert_eq!(kept.get("hans").map(String::as_str), Some("zh-Hans"));
    assert_eq!(kept.get("hant").map(String::as_str), Some("zh-Hant"));
    assert_eq!(kept.get("mixed").map(String::as_str), Some("zh-Hans"));
    assert_eq!(kept.get("en-quoting-zh").map(String::as_str), Some("en"));
    assert_eq!(kept.get("long").map(String::as_str), Some("en"));
    let removed: BTreeMap<String, String> = column(&dir, "id", true)
        .into_iter()
        .zip(column(&dir, "reason", true))
        .map(|(i, r)| (i.expect("id"), r.expect("reason")))
        .collect();
    assert_eq!(removed.get("ja").map(String::as_str), Some("lang:ja"));
    assert_eq!(removed.get("ko").map(String::as_str), Some("lang:ko"));
    assert_eq!(removed.get("german").map(String::as_str), Some("lang:de"));
    assert_eq!(
        removed.get("short").map(String::as_str),
        Some("lang_low_score"),
        "{removed:?}"
    );
    assert!(
        removed.contains_key("code"),
        "code is not confidently labelled: {removed:?}"
    );
    assert_eq!(kept.len() + removed.len(), 10);
    // Mixed documents carry their language shares.
    let mixed_row = column(&dir, "id", false)
        .iter()
        .position(|i| i.as_deref() == Some("mixed"))
        .expect("mixed kept");
    let zh_frac = float_column(&dir, "langid.zh_frac")[mixed_row];
    let en_frac = float_column(&dir, "langid.en_frac")[mixed_row];
    assert!(
        zh_frac > en_frac && zh_frac > 0.5,
        "zh {zh_frac} en {en_frac}"
    );
}

#[test]
fn mixed_policy_routes_chinese_share_above_threshold() {
    let ws = Workspace::new();
    let en = "This guide explains how to install the package, configure the server and run the first job on a small cluster.";
    let text = format!("{en}\n\n{en}\n\n我们建议先在一台机器上测试，然后再扩展到整个集群。");
    docs(&ws, &[("m", text)]);
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &langid_stage("mode = \"annotate\""),
    );
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(
        column(&ws.path("out/langid"), "lang", false),
        vec![Some("en".to_string())]
    );
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &langid_stage("mode = \"annotate\"\nmixed = \"zh_if_above\"\nmixed_zh_min_frac = 0.1"),
    );
    ws.run_ok(&["run", "job.toml"]);
    assert_eq!(
        column(&ws.path("out/langid"), "lang", false),
        vec![Some("zh-Hans".to_string())]
    );
}

#[test]
fn to_simplified_converts_traditional() {
    let ws = Workspace::new();
    docs(
        &ws,
        &[(
            "t",
            "這個軟體可以幫助我們處理網路上的資料，讓學習變得更簡單。".into(),
        )],
    );
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &langid_stage("to_simplified = true"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/langid");
    assert_eq!(
        column(&dir, "text", false),
        vec![Some(
            "这个软体可以帮助我们处理网路上的资料，让学习变得更简单。".to_string()
        )]
    );
    assert_eq!(
        column(&dir, "lang", false),
        vec![Some("zh-Hans".to_string())]
    );
    assert_eq!(
        column(&dir, "langid.orig_script", false),
        vec![Some("zh-Hant".to_string())]
    );
    assert_conserved(&ws, "out");
}

#[test]
fn missing_model_says_how_to_fetch_it() {
    let ws = Workspace::new();
    docs(&ws, &[("a", "text".into())]);
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"langid\"\nmodel = \"models/nope.ftz\"\n"),
    );
    let out = ws.taojin(&["run", "job.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("nope.ftz") && stderr.contains("make models"),
        "{stderr}"
    );
}
