//! Tests: the corpus is deterministic and its ground truth tells the truth.

use super::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

const LANGS: [&str; 9] = [
    "en", "zh-Hans", "zh-Hant", "ja", "ko", "de", "fr", "es", "ru",
];

fn corpus() -> &'static (Vec<DemoFile>, DemoSummary) {
    static C: OnceLock<(Vec<DemoFile>, DemoSummary)> = OnceLock::new();
    C.get_or_init(|| generate(&DemoOptions::default()))
}

/// Every document as (file name, parsed JSON).
fn docs() -> &'static Vec<(String, Value)> {
    static D: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    D.get_or_init(|| {
        let parse = |l: &String| serde_json::from_str(l).expect("every line is JSON");
        let files = &corpus().0;
        files
            .iter()
            .flat_map(|f| f.lines.iter().map(|l| (f.name.clone(), parse(l))))
            .collect()
    })
}

fn st<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn han(t: &str) -> usize {
    t.chars().filter(|&c| shingle::is_cjk_char(c)).count()
}

/// What an exact-dedup key must fold: NFKC full-width forms, case, whitespace runs.
fn norm(t: &str) -> String {
    let folded: String = t
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn luhn_ok(digits: &str) -> bool {
    let (body, last) = digits.split_at(digits.len() - 1);
    last.parse::<u8>().is_ok_and(|d| d == pii::luhn_digit(body))
}

#[test]
fn same_seed_same_bytes_other_seed_differs() {
    assert_eq!(&generate(&DemoOptions::default()), corpus());
    let other = generate(&DemoOptions { seed: 7, scale: 1 });
    assert_ne!(other.0, corpus().0);
}

#[test]
fn summary_matches_lines() {
    let (files, summary) = corpus();
    assert!((6..=10).contains(&files.len()));
    let (mut ids, mut by_lang) = (BTreeSet::new(), BTreeMap::new());
    let (mut exact, mut near, mut bad, mut dated) = (0, 0, 0, 0);
    for (_, d) in docs() {
        let t = &d["truth"];
        assert!(ids.insert(st(d, "id")), "duplicate id {}", d["id"]);
        assert!(!st(d, "text").is_empty() && st(d, "url").starts_with("https://"));
        assert!(LANGS.contains(&st(t, "lang")), "{t}");
        *by_lang.entry(st(t, "lang").to_string()).or_insert(0) += 1;
        exact += usize::from(st(t, "dup_kind") == "exact");
        near += usize::from(st(t, "dup_kind") == "near");
        let n_defects = t["defects"].as_array().map_or(0, Vec::len);
        assert_eq!(st(t, "quality") == "bad", n_defects > 0, "{t}");
        bad += usize::from(n_defects > 0);
        dated += usize::from(d.get("crawl_date").is_some());
        assert_eq!(t["mixed"].as_bool(), Some(t["secondary"].is_string()));
    }
    let bytes: usize = files
        .iter()
        .flat_map(|f| &f.lines)
        .map(|l| l.len() + 1)
        .sum();
    assert_eq!((summary.docs, summary.bytes), (docs().len(), bytes));
    assert_eq!(summary.by_lang, by_lang);
    assert_eq!(
        (summary.exact_dups, summary.near_dups, summary.bad_quality),
        (exact, near, bad)
    );
    assert!(dated > 100 && dated < docs().len() / 2);
    assert!(
        by_lang.len() == LANGS.len() && docs().iter().any(|(_, d)| d["truth"]["mixed"] == true)
    );
}

#[test]
fn duplicates_are_truthful() {
    let by_id: BTreeMap<&str, &(String, Value)> =
        docs().iter().map(|e| (st(&e.1, "id"), e)).collect();
    let (mut sims, mut chains, mut cross_file, mut normalized) = (Vec::new(), 0, 0, 0);
    for (file, d) in docs() {
        let t = &d["truth"];
        let Some(parent_id) = t["dup_of"].as_str() else {
            continue;
        };
        let (p_file, p) = by_id[parent_id];
        let (text, p_text) = (st(d, "text"), st(p, "text"));
        assert_eq!(t["dup_group"], p["truth"]["dup_group"]);
        assert!(t["dup_group"].is_u64());
        cross_file += usize::from(file != p_file);
        let sim = t["similarity"].as_f64().unwrap_or(-1.0);
        if st(t, "dup_kind") == "exact" {
            assert_eq!(sim, 1.0);
            if t["normalized_only"] == true {
                normalized += 1;
                assert!(text != p_text && norm(text) == norm(p_text), "{parent_id}");
            } else {
                assert_eq!(text, p_text);
            }
        } else {
            assert_eq!(st(t, "dup_kind"), "near");
            assert!(
                (sim - shingle_jaccard(p_text, text, 5, 5)).abs() < 1e-9,
                "{parent_id}"
            );
            assert!(text.split_whitespace().count() >= 150 || han(text) >= 300);
            chains += usize::from(p["truth"]["dup_kind"] == "near");
            sims.push(sim);
        }
    }
    sims.sort_by(f64::total_cmp);
    let (lo, hi) = (sims[0], sims[sims.len() - 1]);
    assert!(
        lo <= 0.55 && (0.93..1.0).contains(&hi),
        "near-dup similarities span {lo}..{hi}"
    );
    assert!(chains >= 5 && normalized >= 10 && cross_file * 2 > sims.len());
}

#[test]
fn pii_is_valid_and_decoys_are_not() {
    assert_eq!(pii::cn_id_check("11010519491231002"), 'X');
    assert!(luhn_ok("4111111111111111") && !luhn_ok("4111111111111112"));
    let mut kinds = BTreeSet::new();
    for (_, d) in docs() {
        let (t, text) = (&d["truth"], st(d, "text"));
        for (list, is_pii) in [(&t["pii"], true), (&t["decoys"], false)] {
            for p in list.as_array().into_iter().flatten() {
                let (kind, v) = (st(p, "kind"), st(p, "value"));
                assert!(norm(text).contains(&norm(v)), "{v} not in text");
                let digits: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                match kind {
                    "cn_id" | "cn_id_invalid" => {
                        assert_eq!(digits.len(), 18);
                        let ok =
                            pii::cn_id_check(&digits[..17]) == digits.chars().last().unwrap_or(' ');
                        assert_eq!(ok, is_pii, "{v}");
                    }
                    "bank_card" | "order_number" => {
                        assert!((16..=19).contains(&digits.len()));
                        assert_eq!(luhn_ok(&digits), is_pii, "{v}");
                    }
                    _ => {}
                }
                if is_pii {
                    assert_eq!(st(t, "quality"), "good");
                    kinds.insert(kind.to_string());
                }
            }
        }
    }
    assert_eq!(kinds.len(), 7, "{kinds:?}");
}

#[test]
fn shingle_jaccard_basics() {
    assert_eq!(
        shingle_jaccard(
            "The cat sat on the mat today",
            "the cat sat on the mat today",
            3,
            3
        ),
        1.0
    );
    assert_eq!(shingle_jaccard("Hello, World!", "hello world", 5, 5), 1.0);
    assert_eq!(
        shingle_jaccard("alpha beta gamma", "delta epsilon zeta", 2, 2),
        0.0
    );
    assert_eq!(
        (
            shingle_jaccard("", "", 5, 5),
            shingle_jaccard("", "a", 5, 5)
        ),
        (1.0, 0.0)
    );
    // Han characters are tokens: {机器, 器学, 学习} vs {机器, 器人}.
    assert_eq!(shingle_jaccard("机器学习", "机器人", 5, 2), 0.25);
    let zh = "我们使用模型训练数据，效果很好。";
    let edited = zh.replacen('很', "非常", 1);
    let j = shingle_jaccard(zh, &edited, 5, 5);
    assert!(j > 0.4 && j < 1.0, "{j}");
}

#[test]
fn size() {
    let (files, s) = generate(&DemoOptions::default());
    assert!((2500..=4000).contains(&s.docs), "{s:?}");
    assert!((3_000_000..=6_000_000).contains(&s.bytes), "{s:?}");
    let text: usize = docs().iter().map(|(_, d)| st(d, "text").len()).sum();
    assert!(text >= 3_000_000, "{text}");
    assert!(
        docs()
            .iter()
            .filter(|(_, d)| st(d, "text").len() >= 50_000)
            .count()
            >= 4
    );
    assert_eq!(files.len(), corpus().0.len());
    let double = generate(&DemoOptions { seed: 42, scale: 2 }).1.docs;
    assert!(
        double * 10 >= s.docs * 18 && double * 10 <= s.docs * 22,
        "{double}"
    );
}

#[test]
fn good_docs_look_like_prose() {
    let stop = ["the", "be", "to", "of", "and", "that", "have", "with"];
    for (_, d) in docs() {
        let (t, text) = (&d["truth"], st(d, "text"));
        if st(t, "quality") != "good" || t["mixed"] == true {
            continue;
        }
        let low = text.to_lowercase();
        assert!(!text.contains('{') && !low.contains("lorem ipsum") && !low.contains("javascript"));
        match st(t, "lang") {
            "en" => {
                let words: Vec<&str> = text.split_whitespace().collect();
                let mean = words.iter().map(|w| w.len()).sum::<usize>() as f64 / words.len() as f64;
                let stops = words
                    .iter()
                    .filter(|w| stop.contains(&w.to_lowercase().as_str()))
                    .count();
                assert!(
                    words.len() >= 50 && (3.0..=10.0).contains(&mean) && stops >= 2,
                    "{text}"
                );
                assert!(!text.lines().any(|l| l.ends_with("...")));
            }
            "zh-Hans" | "zh-Hant" => assert!(han(text) >= 100, "{text}"),
            _ => {}
        }
    }
}

#[test]
fn bad_docs_show_their_defects() {
    let mut seen = BTreeSet::new();
    for (_, d) in docs() {
        let (t, text) = (&d["truth"], st(d, "text"));
        // Normalized-only copies differ in case, spacing and full-width punctuation.
        let (low, zh) = (norm(text), st(t, "lang") != "en");
        let lines: Vec<String> = text.lines().map(norm).collect();
        let frac = |f: &dyn Fn(&str) -> bool| {
            lines.iter().filter(|l| f(l)).count() as f64 / lines.len() as f64
        };
        let size = if zh {
            han(text)
        } else {
            text.split_whitespace().count()
        };
        for defect in t["defects"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            seen.insert((st(t, "lang").to_string(), defect.to_string()));
            let ok = match defect {
                "short" => size < if zh { 100 } else { 50 },
                "boilerplate_lines" => t["boilerplate_lines"].as_u64() >= Some(5),
                "spam_keywords" => words::SPAM_EN.iter().any(|s| low.contains(s)),
                "keyword_list" | "no_punctuation" => {
                    frac(&|l| l.ends_with(['.', '。', '!', '！', '?', '？'])) == 0.0
                }
                "repeated_lines" => lines
                    .iter()
                    .any(|l| lines.iter().filter(|m| *m == l).count() >= 3),
                "repeated_ngrams" => words::REPEAT_PHRASES
                    .iter()
                    .flat_map(|p| p.iter())
                    .any(|p| low.matches(p).count() >= 20),
                "symbol_heavy" => text.matches('#').count() * 10 >= size,
                "bullet_list" => frac(&|l| l.starts_with(['•', '-', '*', '·'])) >= 0.9,
                "ellipsis_lines" => {
                    frac(&|l| l.trim_end().ends_with("...") || l.trim_end().ends_with('…')) >= 0.3
                }
                "lorem_ipsum" => low.contains("lorem ipsum"),
                "javascript" => ["javascript", "window.", "var _", "document."]
                    .iter()
                    .any(|s| low.contains(s)),
                "curly_braces" => text.contains('{'),
                "bracket_spam" => text.matches('【').count() >= 10,
                "ad_patterns" => words::ADS_ZH.iter().any(|s| text.contains(s)),
                "garbled" => ["ã", "â€", "锟斤拷", "烫烫烫", "屯屯屯", "ä¸"]
                    .iter()
                    .any(|s| low.contains(s)),
                other => panic!("unknown defect {other}"),
            };
            assert!(ok, "{defect} not visible in {}", st(d, "id"));
        }
    }
    assert!(seen.len() >= 14 + 15 + 5, "{seen:?}");
}

#[test]
fn boilerplate_lines_repeat_across_documents() {
    let pool: BTreeSet<&str> = [words::BP_EN, words::BP_ZH, words::BP_HANT]
        .iter()
        .flatten()
        .flat_map(|l| l.iter().copied())
        .collect();
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, d) in docs() {
        let t = &d["truth"];
        if t["dup_kind"] == "near" || t["normalized_only"] == true {
            continue;
        }
        let found: Vec<&str> = st(d, "text").lines().filter(|l| pool.contains(l)).collect();
        assert_eq!(
            t["boilerplate_lines"].as_u64(),
            Some(found.len() as u64),
            "{}",
            st(d, "id")
        );
        found.iter().for_each(|l| *uses.entry(l).or_insert(0) += 1);
    }
    assert!(
        uses.values().filter(|&&n| n >= 20).count() >= 10,
        "{uses:?}"
    );
}
