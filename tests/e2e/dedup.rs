//! Deduplication end to end: the demo's planted duplicates found, clusters and survivors
//! independent of threads, tasks and memory limit, transitive chains, zh and en, repeated
//! lines, and resume inside a global stage.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow::array::AsArray;
use arrow::datatypes::{UInt32Type, UInt64Type};
use taojin_dedup::ShingleConfig;
use taojin_pipeline::demo::shingle_jaccard;

use crate::util::*;

const DEDUP: &str = "[[stages]]\nkind = \"exact_dedup\"\n\n[[stages]]\nkind = \"minhash_dedup\"\n";

fn run_demo(ws: &Workspace, job_extra: &str, stages: &str, args: &[&str]) {
    if !ws.path("data").exists() {
        ws.run_ok(&["demo-data", "data"]);
    }
    ws.job(
        job_extra,
        &input("demo", "data/*.jsonl.zst"),
        &format!("{NORMALIZE}\n{stages}"),
    );
    let mut a = vec!["run", "job.toml"];
    a.extend_from_slice(args);
    ws.run_ok(&a);
}

/// (id → (dup_cluster, dup_cluster_size)) of a minhash stage's kept and removed rows.
fn clusters(dir: &std::path::Path) -> BTreeMap<String, (u64, u32)> {
    let mut out = BTreeMap::new();
    for sub in [dir.to_path_buf(), dir.join("removed")] {
        for path in part_files(&sub) {
            for b in read_parquet(&path) {
                let ids = b
                    .column_by_name("id")
                    .expect("id")
                    .as_string::<i32>()
                    .clone();
                let c = b
                    .column_by_name("dup_cluster")
                    .expect("cluster")
                    .as_primitive::<UInt64Type>()
                    .clone();
                let s = b
                    .column_by_name("dup_cluster_size")
                    .expect("size")
                    .as_primitive::<UInt32Type>()
                    .clone();
                for i in 0..b.num_rows() {
                    out.insert(ids.value(i).to_string(), (c.value(i), s.value(i)));
                }
            }
        }
    }
    out
}

struct Truth {
    kind: Option<String>,
    dup_of: Option<String>,
    group: Option<u64>,
    /// Jaccard to `dup_of`, measured by the generator with its own shingler.
    similarity: Option<f64>,
}

fn truths(dir: &std::path::Path) -> HashMap<String, Truth> {
    let ids = column(dir, "id", false);
    let metas = column(dir, "meta", false);
    ids.into_iter()
        .zip(metas)
        .map(|(id, m)| {
            let v: serde_json::Value = serde_json::from_str(&m.expect("meta")).expect("json");
            let t = &v["truth"];
            let s = |k: &str| t[k].as_str().map(str::to_string);
            (
                id.expect("id"),
                Truth {
                    kind: s("dup_kind"),
                    dup_of: s("dup_of"),
                    group: t["dup_group"].as_u64(),
                    similarity: t["similarity"].as_f64(),
                },
            )
        })
        .collect()
}

#[test]
fn demo_duplicates_are_found() {
    let ws = Workspace::new();
    run_demo(
        &ws,
        "",
        &DEDUP.replace(
            "kind = \"minhash_dedup\"",
            "kind = \"minhash_dedup\"\nmode = \"annotate\"",
        ),
        &[],
    );
    let truth = truths(&ws.path("out/normalize"));
    // Exact: of every original and its exact copies, exactly one survives.
    let kept: BTreeSet<String> = column(&ws.path("out/exact_dedup"), "id", false)
        .into_iter()
        .flatten()
        .collect();
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, t) in &truth {
        if t.kind.as_deref() == Some("exact") {
            let orig = t.dup_of.as_deref().expect("dup_of");
            groups.entry(orig).or_insert_with(|| vec![orig]).push(id);
        }
    }
    assert!(groups.len() > 50);
    for (orig, members) in &groups {
        let survivors = members.iter().filter(|m| kept.contains(**m)).count();
        assert_eq!(survivors, 1, "exact group of {orig}: {members:?}");
    }
    let removed = ws.stats("out")["stages"][1]["docs_removed"]["exact_dup"]
        .as_u64()
        .expect("n");
    let planted: usize = groups.values().map(|m| m.len() - 1).sum();
    assert_eq!(removed as usize, planted, "no exact-dup false positives");

    // Near: of every planted near copy with true Jaccard ≥ 0.8 and its original, one at
    // most survives; most share a cluster (a chain's far end may lead its own).
    let dir = ws.path("out/minhash_dedup");
    let cl = clusters(&dir);
    let survives = |id: &str| cl[id].0 == xxhash_rust::xxh3::xxh3_64(id.as_bytes());
    let (mut same, mut one_left, mut total, mut below_found, mut below) = (0, 0, 0, 0, 0);
    for (id, t) in &truth {
        let (Some("near"), Some(orig)) = (t.kind.as_deref(), t.dup_of.as_deref()) else {
            continue;
        };
        if !(cl.contains_key(id) && cl.contains_key(orig)) {
            continue;
        }
        let j = t.similarity.expect("a near copy states its similarity");
        let joined = cl[id].0 == cl[orig].0;
        if j >= 0.8 {
            total += 1;
            same += joined as u32;
            one_left += u32::from(!(survives(id) && survives(orig)));
        } else if j < 0.5 {
            below += 1;
            below_found += joined as u32;
        }
    }
    eprintln!(
        "near pairs at J ≥ 0.8: {same}/{total} in one cluster, {one_left}/{total} with one survivor; pairs with J < 0.5 clustered: {below_found}/{below}"
    );
    assert!(total >= 40, "{total} planted pairs");
    assert!(one_left as f64 >= 0.97 * total as f64, "{one_left}/{total}");
    assert!(same as f64 >= 0.75 * total as f64, "{same}/{total}");
    assert_eq!(below_found, 0);
    // No cluster holds two documents below J = 0.5 (measured by the generator's shingler).
    let texts: HashMap<String, String> = column(&dir, "id", false)
        .into_iter()
        .flatten()
        .zip(column(&dir, "text", false).into_iter().flatten())
        .collect();
    let mut members: HashMap<u64, Vec<&str>> = HashMap::new();
    for (id, (c, size)) in &cl {
        if *size > 1 {
            members.entry(*c).or_default().push(id);
        }
    }
    let cfg = ShingleConfig::default();
    for m in members.values() {
        for (i, a) in m.iter().enumerate() {
            for b in &m[i + 1..] {
                let j = shingle_jaccard(&texts[*a], &texts[*b], cfg.n_latin, cfg.n_han);
                assert!(j >= 0.5, "{a} and {b} share a cluster at J = {j:.3}");
            }
        }
    }
    // Documents clustered with no planted relation at all are false positives.
    let mut by_cluster: HashMap<u64, Vec<&str>> = HashMap::new();
    for (id, (c, size)) in &cl {
        if *size > 1 {
            by_cluster.entry(*c).or_default().push(id);
        }
    }
    let unrelated = by_cluster
        .values()
        .flat_map(|m| m.iter())
        .filter(|id| truth.get(**id).is_some_and(|t| t.group.is_none()))
        .count();
    assert!(
        unrelated * 200 <= cl.len(),
        "{unrelated} unrelated documents clustered of {}",
        cl.len()
    );
}

#[test]
fn clusters_do_not_depend_on_threads_tasks_or_memory() {
    let ws = Workspace::new();
    let stages = format!("{DEDUP}\n[[stages]]\nkind = \"line_dedup\"\n");
    run_demo(&ws, "", &stages, &["--threads", "1"]);
    std::fs::rename(ws.path("out"), ws.path("one")).expect("rename");
    run_demo(&ws, "", &stages, &["--threads", "2"]);
    assert_same_parts(&ws.path("one"), &ws.path("out"));
    let reference = clusters(&ws.path("out/minhash_dedup"));
    // A tiny memory limit: hundreds of spill partitions, same decisions, same bytes.
    std::fs::rename(ws.path("out"), ws.path("two")).expect("rename");
    let tiny = stages
        .replace(
            "kind = \"minhash_dedup\"",
            "kind = \"minhash_dedup\"\nmemory_limit = \"16KiB\"",
        )
        .replace(
            "kind = \"exact_dedup\"",
            "kind = \"exact_dedup\"\nmemory_limit = \"4KiB\"",
        );
    run_demo(&ws, "", &tiny, &[]);
    assert_same_parts(&ws.path("two"), &ws.path("out"));
    // The default limit finds components in memory; the tiny one by partitioned rounds.
    let rounds = |out: &str| {
        let stats = ws.stats(out);
        let minhash = &stats["stages"][2];
        assert_eq!(minhash["name"], "minhash_dedup");
        minhash["counters"]["component_rounds"]
            .as_u64()
            .expect("rounds")
    };
    assert_eq!(rounds("two"), 0);
    assert!(rounds("out") >= 1);
    // Many more tasks (small splits of the same files): the same clusters and survivors.
    std::fs::rename(ws.path("out"), ws.path("three")).expect("rename");
    let plain_dir = ws.path("plain");
    std::fs::create_dir_all(&plain_dir).expect("mkdir");
    for f in all_files(&ws.path("data")) {
        let bytes = zstd::decode_all(std::fs::File::open(ws.path("data").join(&f)).expect("open"))
            .expect("zstd");
        std::fs::write(
            plain_dir.join(f.to_string_lossy().replace(".zst", "")),
            bytes,
        )
        .expect("write");
    }
    ws.job(
        "split_bytes = 200000",
        &input("demo", "plain/*.jsonl"),
        &format!("{NORMALIZE}\n{stages}"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let stats = ws.stats("out");
    assert!(stats["stages"][0]["tasks"].as_u64().expect("n") > 20);
    assert_eq!(clusters(&ws.path("out/minhash_dedup")), reference);
    let ids = |d: &str| {
        column(&ws.path(d), "id", false)
            .into_iter()
            .flatten()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(ids("out/line_dedup"), ids("three/line_dedup"));
}

fn edit_words(text: &str, every: usize, offset: usize, with: &str) -> String {
    text.split(' ')
        .enumerate()
        .map(|(i, w)| if i % every == offset { with } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn transitive_chains_in_both_languages() {
    let ws = Workspace::new();
    let base_en: String = (0..400)
        .map(|i| format!("w{}", (i * 7919) % 1000))
        .collect::<Vec<_>>()
        .join(" ");
    let b_en = edit_words(&base_en, 30, 0, "xx");
    let c_en = edit_words(&b_en, 30, 15, "yy");
    let han: Vec<char> = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严".chars().collect();
    let zh_a: String = han.iter().cycle().step_by(7).take(900).collect();
    let mut zh_b: Vec<char> = zh_a.chars().collect();
    for i in (0..zh_b.len()).step_by(40) {
        zh_b[i] = '龙';
    }
    let zh_b: String = zh_b.into_iter().collect();
    let mut zh_c: Vec<char> = zh_b.chars().collect();
    for i in (20..zh_c.len()).step_by(40) {
        zh_c[i] = '凤';
    }
    let zh_c: String = zh_c.into_iter().collect();
    // Measured with the demo generator's shingler, not the one under test.
    let cfg = ShingleConfig::default();
    let j = |a: &str, b: &str| shingle_jaccard(a, b, cfg.n_latin, cfg.n_han);
    let (ab, bc, ac) = (j(&base_en, &b_en), j(&b_en, &c_en), j(&base_en, &c_en));
    assert!(
        ab > 0.6 && bc > 0.6 && ac < ab && ac < bc,
        "en chain {ab} {bc} {ac}"
    );
    let lines: String = [
        ("en-a", base_en.clone()),
        ("en-b", b_en),
        ("en-c", c_en),
        ("zh-a", zh_a),
        ("zh-b", zh_b),
        ("zh-c", zh_c),
        (
            "other",
            "A different document entirely, about nothing in particular at all.".into(),
        ),
    ]
    .iter()
    .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
    .collect();
    ws.write("data/docs.jsonl", lines);
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"minhash_dedup\"\nbands = 20\nrows = 5\nverify = false\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let cl = clusters(&ws.path("out/minhash_dedup"));
    assert_eq!(
        cl["en-a"], cl["en-c"],
        "without verify, A~B and B~C put A and C in one cluster: {cl:?}"
    );
    assert_eq!(cl["en-a"].1, 3);
    assert_eq!(cl["zh-a"], cl["zh-c"], "{cl:?}");
    assert_eq!(cl["zh-a"].1, 3);
    assert_eq!(cl["other"].1, 1);
    let kept: BTreeSet<String> = column(&ws.path("out/minhash_dedup"), "id", false)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        kept,
        ["en-a", "zh-a", "other"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "survivor = smallest id"
    );
    assert_conserved(&ws, "out");

    // By default a document joins only a survivor within the threshold: the ends of a
    // chain never share a cluster, and every member is close to its survivor.
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"minhash_dedup\"\nbands = 20\nrows = 5\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let cl = clusters(&ws.path("out/minhash_dedup"));
    assert_ne!(cl["en-a"].0, cl["en-c"].0, "{cl:?}");
    assert_ne!(cl["zh-a"].0, cl["zh-c"].0, "{cl:?}");
    let texts: HashMap<String, String> = column(&ws.path("out/minhash_dedup"), "id", false)
        .into_iter()
        .flatten()
        .zip(
            column(&ws.path("out/minhash_dedup"), "text", false)
                .into_iter()
                .flatten(),
        )
        .collect();
    for (id, (c, size)) in &cl {
        let survivor = cl
            .iter()
            .find(|(s, (sc, _))| sc == c && xxhash_rust::xxh3::xxh3_64(s.as_bytes()) == *c)
            .map(|(s, _)| s.clone())
            .expect("every cluster has its survivor");
        if *size > 1 && survivor != *id {
            assert!(
                j(&texts[id], &texts[&survivor]) >= 0.74,
                "{id} → {survivor}"
            );
        }
    }
}

#[test]
fn repeated_lines_are_removed_everywhere() {
    let ws = Workspace::new();
    let mut lines = String::new();
    for i in 0..30 {
        let topic: String = [b'a' + (i % 26) as u8, b'a' + (i / 26) as u8, b'q']
            .iter()
            .map(|&b| b as char)
            .collect();
        let text = format!(
            "首页 | 关于我们 | 联系我们\nUnique content about the topic {topic}.\nCopyright 2024 Example Inc. All rights reserved."
        );
        lines.push_str(
            &(serde_json::json!({"id": format!("d{i:02}"), "text": text}).to_string() + "\n"),
        );
    }
    lines.push_str(&(serde_json::json!({"id": "only-boilerplate", "text": "首页 | 关于我们 | 联系我们\nCopyright 2024 Example Inc. All rights reserved."}).to_string() + "\n"));
    ws.write("data/docs.jsonl", lines);
    ws.job(
        "",
        &input("t", "data/docs.jsonl"),
        &format!("{NORMALIZE}\n[[stages]]\nkind = \"line_dedup\"\nmax_occurrences = 5\n"),
    );
    ws.run_ok(&["run", "job.toml"]);
    let dir = ws.path("out/line_dedup");
    let texts: Vec<String> = column(&dir, "text", false).into_iter().flatten().collect();
    assert_eq!(texts.len(), 30);
    assert!(
        texts.iter().all(|t| !t.contains("首页")
            && !t.contains("Copyright")
            && t.starts_with("Unique content")),
        "{texts:?}"
    );
    assert_eq!(
        column(&dir, "reason", true),
        vec![Some("line_dedup_empty".to_string())]
    );
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][1]["counters"]["lines_removed"], 62);
    assert_conserved(&ws, "out");
}

#[test]
fn crash_inside_a_global_stage_resumes_identically() {
    let ws = Workspace::new();
    run_demo(&ws, "", DEDUP, &[]);
    std::fs::rename(ws.path("out"), ws.path("clean")).expect("rename");
    ws.run_crashing("minhash_dedup:3", &["run", "job.toml", "--threads", "1"]);
    ws.run_ok(&["run", "job.toml"]);
    assert_same_parts(&ws.path("clean"), &ws.path("out"));
    let stats = ws.stats("out");
    assert_eq!(stats["stages"][2]["tasks_resumed"], 3);
    assert_no_tmp_files(&ws.path("out"));
}

/// A chain of `n` texts, each with a few more units replaced than the one before.
fn chain(n: usize, zh: bool) -> Vec<String> {
    let mut state = if zh { 7u64 } else { 11 };
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let mut units: Vec<String> = (0..600)
        .map(|_| {
            let r = next();
            if zh {
                char::from_u32(0x4E00 + (r % 3000) as u32).map_or("中".into(), String::from)
            } else {
                format!("w{}", r % 5000)
            }
        })
        .collect();
    (0..n)
        .map(|_| {
            for _ in 0..if zh { 5 } else { 8 } {
                let at = next() % units.len();
                units[at] = if zh {
                    "龘".into()
                } else {
                    format!("e{}", next() % 100_000)
                };
            }
            units.join(if zh { "" } else { " " })
        })
        .collect()
}

#[test]
fn long_chains_are_cut_into_tight_clusters() {
    let ws = Workspace::new();
    let mut docs: Vec<(String, String)> = Vec::new();
    for (lang, zh) in [("en", false), ("zh", true)] {
        for (i, t) in chain(30, zh).into_iter().enumerate() {
            docs.push((format!("{lang}-{i:02}"), t));
        }
    }
    let lines: String = docs
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
        .collect();
    ws.write("data/docs.jsonl", lines);
    let cfg = ShingleConfig::default();
    let j = |a: &str, b: &str| shingle_jaccard(a, b, cfg.n_latin, cfg.n_han);
    let text: HashMap<&str, &str> = docs.iter().map(|(i, t)| (i.as_str(), t.as_str())).collect();
    assert!(j(text["en-00"], text["en-01"]) > 0.85 && j(text["en-00"], text["en-29"]) < 0.3);
    assert!(j(text["zh-00"], text["zh-01"]) > 0.85 && j(text["zh-00"], text["zh-29"]) < 0.3);
    let run = |stage: &str| {
        ws.job(
            "",
            &input("t", "data/docs.jsonl"),
            &format!("[[stages]]\nkind = \"minhash_dedup\"\nmode = \"annotate\"\n{stage}"),
        );
        ws.run_ok(&["run", "job.toml", "--force"]);
        clusters(&ws.path("out/minhash_dedup"))
    };
    // Without verification each chain is one cluster, ends included.
    let chained = run("verify = false\n");
    assert_eq!(chained["en-00"], chained["en-29"]);
    assert_eq!(chained["zh-00"].1, 30);
    // By default: clusters of bounded diameter, and of two neighbours one at most survives.
    let cl = run("");
    for (a, (ca, _)) in &cl {
        for (b, (cb, _)) in &cl {
            if a < b && ca == cb {
                let s = j(text[a.as_str()], text[b.as_str()]);
                assert!(s >= 0.5, "{a} and {b} share a cluster at J = {s:.3}");
            }
        }
    }
    let survives = |id: &str| cl[id].0 == xxhash_rust::xxh3::xxh3_64(id.as_bytes());
    for w in docs.windows(2) {
        if w[0].0[..2] == w[1].0[..2] {
            assert!(
                !(survives(&w[0].0) && survives(&w[1].0)),
                "{} and {}",
                w[0].0,
                w[1].0
            );
        }
    }
    let clusters_en = cl
        .iter()
        .filter(|(id, (c, _))| {
            id.starts_with("en") && xxhash_rust::xxh3::xxh3_64(id.as_bytes()) == *c
        })
        .count();
    assert!(
        clusters_en >= 3,
        "the chain is cut: {clusters_en} survivors"
    );
    let stats = ws.stats("out");
    assert!(stats["stages"][1]["counters"]["jaccard_checks"].as_u64() > Some(0));
}
