//! Bad-quality documents: each planted defect is strong enough on its own to fail the usual
//! Gopher / C4 / FineWeb style rules.

use super::rng::Rng;
use super::text::{Lang, Style, add_boilerplate, body, join_sentences, sentence, units};
use super::words::*;

/// One or two defects for the `k`-th bad document of `lang` (round robin, so every defect appears).
pub(crate) fn choose(rng: &mut Rng, lang: Lang, k: usize) -> Vec<&'static str> {
    let list = match lang {
        Lang::En => EN_DEFECTS,
        Lang::Zh => ZH_DEFECTS,
        _ => HANT_DEFECTS,
    };
    let first = list[k % list.len()];
    let mut out = vec![first];
    if !WHOLE_DOC_DEFECTS.contains(&first) && rng.chance(0.3) {
        let rest: Vec<&str> = list
            .iter()
            .copied()
            .filter(|d| *d != first && !WHOLE_DOC_DEFECTS.contains(d))
            .collect();
        out.push(rng.pick(&rest));
    }
    out
}

/// Decodes the UTF-8 bytes of `s` as Windows-1252: classic mojibake ("é" becomes "Ã©").
fn mojibake(s: &str) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    s.bytes()
        .map(|b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// Index 0 for English-like pools, 1 for Chinese.
fn zi(lang: Lang) -> usize {
    usize::from(lang != Lang::En)
}

/// A short list-item fragment (no terminal punctuation).
fn fragment(rng: &mut Rng, st: Style) -> String {
    match st.lang {
        Lang::En => {
            let n = rng.pick(EN_NOUNS[st.topic]);
            match rng.below(3) {
                0 => format!("{} {n}", rng.pick(EN_ADJS)),
                1 => format!("How to {} a {n}", rng.pick(EN_SHARED_VERBS)),
                _ => format!("{n} and {}", rng.pick(EN_NOUNS[st.topic])),
            }
        }
        Lang::Hant => format!("{}的{}", rng.pick(HANT.adjs), rng.pick(HANT.nouns[0])),
        _ => match rng.below(3) {
            0 => format!("{}的{}", rng.pick(ZH.adjs), rng.pick(ZH.nouns[st.topic])),
            1 => format!("{}{}指南", rng.pick(ZH.verbs), rng.pick(ZH.nouns[st.topic])),
            _ => format!(
                "{}{}推荐",
                rng.pick(ZH.places),
                rng.pick(ZH.nouns[st.topic])
            ),
        },
    }
}

/// A random content word for word salad.
fn salad_word(rng: &mut Rng, lang: Lang) -> &'static str {
    match (lang, rng.below(3)) {
        (Lang::En, 0) => rng.pick(EN_ADJS),
        (Lang::En, 1) => rng.pick(EN_SHARED_VERBS),
        (Lang::En, _) => {
            let t = rng.below(6);
            rng.pick(EN_NOUNS[t])
        }
        (Lang::Hant, 0) => rng.pick(HANT.adjs),
        (Lang::Hant, _) => rng.pick(HANT.nouns[0]),
        (_, 0) => rng.pick(ZH.verbs),
        (_, _) => {
            let t = rng.below(6);
            rng.pick(ZH.nouns[t])
        }
    }
}

fn insert_random(rng: &mut Rng, lines: &mut Vec<String>, line: String) {
    let i = rng.below(lines.len() + 1);
    lines.insert(i, line);
}

/// Builds a bad document with `defects`; returns its lines and the number of boilerplate lines.
pub(crate) fn bad_lines(
    rng: &mut Rng,
    st: Style,
    defects: &[&'static str],
) -> (Vec<String>, usize) {
    let lang = st.lang;
    let mut bp = 0;
    let mut lines = match defects[0] {
        "short" => {
            let limit = if lang.cjk() { 100 } else { 50 };
            let mut parts = vec![sentence(rng, st)];
            while units(lang, &parts[0]) >= limit {
                parts[0] = sentence(rng, st);
            }
            let extra = sentence(rng, st);
            if rng.chance(0.5) && units(lang, &parts[0]) + units(lang, &extra) < limit {
                parts.push(extra);
            }
            vec![join_sentences(lang, &parts)]
        }
        "boilerplate_lines" => {
            let mut lines = vec![sentence(rng, st)];
            let k = rng.range(5, 8);
            bp = add_boilerplate(rng, lang, &mut lines, k);
            lines
        }
        "keyword_list" => (0..rng.range(3, 8))
            .map(|_| {
                let base = rng.pick(SEO[2 * zi(lang)]);
                let items: Vec<String> = (0..rng.range(8, 15))
                    .map(|_| {
                        let m = rng.pick(SEO[2 * zi(lang) + 1]);
                        match (lang, rng.chance(0.5)) {
                            (Lang::En, true) => format!("{m} {base}"),
                            (Lang::En, false) => format!("{base} {m}"),
                            (_, true) => format!("{m}{base}"),
                            (_, false) => format!("{base}{m}"),
                        }
                    })
                    .collect();
                items.join(if lang == Lang::En { ", " } else { " " })
            })
            .collect(),
        "bullet_list" => {
            let bullet = rng.pick(&["• ", "- ", "* ", "· "]);
            (0..rng.range(8, 20))
                .map(|_| format!("{bullet}{}", fragment(rng, st)))
                .collect()
        }
        "ellipsis_lines" => (0..rng.range(6, 12))
            .map(|_| {
                let s = sentence(rng, st);
                if lang.cjk() {
                    let cs: Vec<char> = s.chars().collect();
                    let cut = cs.len() * rng.range(5, 8) / 10;
                    format!("{}……", cs[..cut.max(4)].iter().collect::<String>())
                } else {
                    let ws: Vec<&str> = s.split(' ').collect();
                    let cut = (ws.len() * rng.range(5, 8) / 10).max(3).min(ws.len());
                    format!("{} ...", ws[..cut].join(" "))
                }
            })
            .collect(),
        "no_punctuation" => (0..rng.range(3, 6))
            .map(|_| {
                let n = rng.range(25, 60);
                let ws: Vec<&str> = (0..n).map(|_| salad_word(rng, lang)).collect();
                ws.join(if lang == Lang::En || rng.chance(0.5) {
                    " "
                } else {
                    ""
                })
            })
            .collect(),
        _ => {
            let n = rng.range(3, 6);
            body(rng, st, n)
        }
    };
    // Garbling first, so it cannot overwrite another defect's lines.
    let garbled_first = defects
        .iter()
        .filter(|d| **d == "garbled")
        .chain(defects.iter().filter(|d| **d != "garbled"));
    for &d in garbled_first {
        let n = lines.len();
        let i = zi(lang);
        match d {
            "spam_keywords" => {
                for _ in 0..n.max(3) {
                    let ws: Vec<&str> = (0..rng.range(4, 7)).map(|_| rng.pick(SPAM_EN)).collect();
                    insert_random(rng, &mut lines, format!("{}!!!", ws.join(" ")));
                }
            }
            "repeated_lines" => {
                let line = if rng.chance(0.5) {
                    lines[rng.below(n)].clone()
                } else {
                    sentence(rng, st)
                };
                for _ in 0..n + 2 {
                    insert_random(rng, &mut lines, line.clone());
                }
            }
            "repeated_ngrams" => {
                let phrase = rng.pick(REPEAT_PHRASES[i]);
                let reps =
                    (units(lang, &lines.join("\n")) * 6 / 10 / units(lang, phrase).max(1)).max(20);
                let joined = vec![phrase; reps].join(if lang.cjk() && rng.chance(0.5) {
                    ""
                } else {
                    " "
                });
                insert_random(rng, &mut lines, joined);
            }
            "symbol_heavy" => {
                let need = units(lang, &lines.join("\n")) / if lang.cjk() { 3 } else { 2 };
                let mut have = 0;
                for l in lines.iter_mut() {
                    l.insert_str(0, "### ");
                    have += 3;
                }
                while have < need {
                    let w = salad_word(rng, lang);
                    insert_random(rng, &mut lines, format!("######## {w} ######## #{w} #{w}"));
                    have += 18;
                }
            }
            "lorem_ipsum" => {
                for line in LOREM.iter().take(rng.range(2, 4)) {
                    insert_random(rng, &mut lines, line.to_string());
                }
            }
            "javascript" => {
                for _ in 0..n.max(3) {
                    let l = rng.pick(JS_LINES[i]);
                    insert_random(rng, &mut lines, l.to_string());
                }
            }
            "curly_braces" => {
                for _ in 0..rng.range(2, 4) {
                    let l = rng.pick(CURLY_LINES[i]);
                    insert_random(rng, &mut lines, l.to_string());
                }
            }
            "garbled" => {
                let mut idx: Vec<usize> = (0..lines.len()).collect();
                rng.shuffle(&mut idx);
                for &j in idx.iter().take(lines.len().div_ceil(2).max(2)) {
                    let bad = if lang == Lang::En {
                        let ws: Vec<&str> =
                            (0..rng.range(2, 4)).map(|_| rng.pick(ACCENTED)).collect();
                        mojibake(&ws.join(" "))
                    } else if rng.chance(0.5) {
                        mojibake(&sentence(rng, st))
                    } else {
                        (0..rng.range(4, 10)).map(|_| rng.pick(GARBLE_ZH)).collect()
                    };
                    lines[j] = bad;
                }
            }
            "bracket_spam" => {
                for _ in 0..rng.range(3, 6) {
                    let tags: String = (0..rng.range(4, 8))
                        .map(|_| rng.pick(BRACKET_TAGS))
                        .collect();
                    let item = fragment(rng, st);
                    let tail = rng.pick(BRACKET_TAGS);
                    insert_random(rng, &mut lines, format!("{tags}{item}{tail}"));
                }
            }
            "ad_patterns" => {
                for _ in 0..n.max(3) {
                    let ws: Vec<&str> = (0..rng.range(2, 3)).map(|_| rng.pick(ADS_ZH)).collect();
                    insert_random(rng, &mut lines, format!("{}！", ws.join("，")));
                }
            }
            _ => {}
        }
    }
    (lines, bp)
}
