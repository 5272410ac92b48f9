//! Demo files for the learned filters, beside the main corpus:
//!
//! - `lm-reference/reference.jsonl`: clean generated text in English and Chinese, what
//!   `make demo` trains its n-gram model on (Simplified and Traditional Chinese too) (CCNet trains on Wikipedia; a model must not
//!   learn from the junk it is meant to find);
//! - `spam/web-spam-00.jsonl`: a crawl source of pages a rule-based quality filter lets
//!   through — ordinary paragraphs with gambling or adult spam lines in them (for the
//!   `safety` stage) and word salad, fluent sentences with their words shuffled (for the
//!   `perplexity` stage).

use super::rng::Rng;
use super::text::{Lang, Style, body};
use super::{DemoFile, Doc, to_json};

const ZH_GAMBLING: &[&str] = &[
    "澳门威尼斯人官网注册送彩金，天天返水，提款秒到！",
    "北京赛车pk10计划免费领取，加微信 cai88990 进群上分。",
    "时时彩平台开户就送38元彩金，百家乐、真人视讯、棋牌游戏应有尽有。",
    "全网最高赔率，足球投注、体育投注，首存即送100%彩金。",
    "六合彩开奖直播，一肖一码，特码资料免费看。",
    "新葡京娱乐城在线赌场，老虎机、电子游艺二十四小时营业。",
];
const EN_GAMBLING: &[&str] = &[
    "Claim 200 free spins at the best online casino, no deposit bonus, bet now!",
    "Sports betting with the highest odds: join our sportsbook and get a deposit bonus.",
    "Play poker online, blackjack and roulette for real money at our online casino.",
    "Place your bets today: free spins, casino bonus and daily jackpot.",
];
const EN_PORN: &[&str] = &[
    "Free porn videos updated daily, live sex cams and sex chat with real girls.",
    "Hot xxx adult videos, free porn and hentai, click here to watch.",
    "Escort service in your city, escorts available tonight, sex chat online.",
];
const ZH_PORN: &[&str] = &[
    "成人视频免费在线观看，日本av无码高清，每日更新。",
    "黄色网站导航，色情视频、自拍偷拍合集，点击进入。",
    "同城约炮一夜情，裸聊视频聊天室，加微信看更多。",
];

fn doc(
    rng: &mut Rng,
    n: &mut usize,
    lang: Lang,
    lines: Vec<String>,
    defect: &'static str,
) -> String {
    *n += 1;
    let d = Doc {
        id: format!("web-spam-{n:06}"),
        text: lines.join("\n"),
        url: format!(
            "https://{}.example/{}/{}.html",
            ["win888", "cp-king", "hot-video"][rng.below(3)],
            defect,
            rng.range(1000, 9999)
        ),
        lang,
        topic: "spam",
        defects: vec![defect],
        ..Doc::default()
    };
    to_json(&d)
}

/// Fluent paragraphs with `k` spam lines from `pool` put between them.
fn spam_page(rng: &mut Rng, lang: Lang, pool: &[&str], k: usize) -> Vec<String> {
    let st = Style {
        lang,
        topic: rng.below(6),
        tech: false,
    };
    let mut lines = body(rng, st, 2);
    for _ in 0..k {
        let at = rng.below(lines.len() + 1);
        lines.insert(at, pool[rng.below(pool.len())].to_string());
    }
    lines
}

/// Fluent paragraphs with the words (English) or characters (Chinese) of each shuffled.
fn word_salad(rng: &mut Rng, lang: Lang) -> Vec<String> {
    let st = Style {
        lang,
        topic: rng.below(6),
        tech: false,
    };
    body(rng, st, 3)
        .into_iter()
        .map(|line| {
            if lang.cjk() {
                let mut cs: Vec<char> = line
                    .chars()
                    .filter(|c| !"，。！？、；：".contains(*c))
                    .collect();
                rng.shuffle(&mut cs);
                let mut s: String = cs.into_iter().collect();
                s.push('。');
                s
            } else {
                let mut ws: Vec<String> = line
                    .split_whitespace()
                    .map(|w| {
                        w.trim_matches(|c: char| c.is_ascii_punctuation())
                            .to_lowercase()
                    })
                    .collect();
                rng.shuffle(&mut ws);
                let mut s = ws.join(" ");
                if let Some(first) = s.get(..1) {
                    s = first.to_uppercase() + &s[1..];
                }
                s.push('.');
                s
            }
        })
        .collect()
}

/// The reference text of the demo's n-gram model.
pub fn reference(seed: u64) -> DemoFile {
    let mut rng = Rng::new(seed ^ 0x5EED_0F1A);
    let lines = (0..1600)
        .map(|i| {
            let lang = [Lang::En, Lang::Zh, Lang::En, Lang::Zh, Lang::Hant][i % 5];
            let st = Style {
                lang,
                topic: rng.below(6),
                tech: false,
            };
            let text = body(&mut rng, st, 3).join("\n");
            format!("{{\"id\":\"ref-{i:05}\",\"text\":{}}}", super::q(&text))
        })
        .collect();
    DemoFile {
        name: "lm-reference/reference.jsonl".into(),
        lines,
    }
}

/// The spam source: 50 pages with spam lines, 40 of word salad.
pub fn spam(seed: u64) -> DemoFile {
    let mut rng = Rng::new(seed ^ 0x5BA4);
    let mut n = 0;
    let mut lines = Vec::new();
    for i in 0..50 {
        let (lang, pool, defect) = match i % 5 {
            0 | 1 => (Lang::Zh, ZH_GAMBLING, "gambling_spam"),
            2 => (Lang::En, EN_GAMBLING, "gambling_spam"),
            3 => (Lang::En, EN_PORN, "porn_spam"),
            _ => (Lang::Zh, ZH_PORN, "porn_spam"),
        };
        let k = rng.range(3, 6);
        let page = spam_page(&mut rng, lang, pool, k);
        lines.push(doc(&mut rng, &mut n, lang, page, defect));
    }
    for i in 0..40 {
        let lang = if i % 2 == 0 { Lang::En } else { Lang::Zh };
        let salad = word_salad(&mut rng, lang);
        lines.push(doc(&mut rng, &mut n, lang, salad, "word_salad"));
    }
    DemoFile {
        name: "spam/web-spam-00.jsonl".into(),
        lines,
    }
}
