//! Prose generators: template sentences per language, paragraphs, document bodies, boilerplate.

use super::rng::Rng;
use super::shingle::is_cjk_char;
use super::words::*;

/// Planted language of a document.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum Lang {
    #[default]
    En,
    Zh,
    Hant,
    Ja,
    Ko,
    De,
    Fr,
    Es,
    Ru,
}

impl Lang {
    /// The code written to `truth.lang`.
    pub(crate) fn code(self) -> &'static str {
        [
            "en", "zh-Hans", "zh-Hant", "ja", "ko", "de", "fr", "es", "ru",
        ][self.index()]
    }

    /// Position in per-language tables such as `DOMAINS`.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether text is measured in CJK characters and written without spaces.
    pub(crate) fn cjk(self) -> bool {
        matches!(self, Lang::Zh | Lang::Hant | Lang::Ja)
    }
}

/// What to write: language, topic (index into `TOPICS`) and whether zh prose carries English terms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub(crate) lang: Lang,
    pub(crate) topic: usize,
    pub(crate) tech: bool,
}

/// English plural / third-person singular by suffix rules (word lists avoid the exceptions).
pub(crate) fn plural(w: &str) -> String {
    let b = w.as_bytes();
    let consonant_before = b.len() > 1 && !b"aeiou".contains(&b[b.len() - 2]);
    if w.ends_with('y') && consonant_before {
        format!("{}ies", &w[..w.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"].iter().any(|s| w.ends_with(s))
        || (w.ends_with('o') && consonant_before)
    {
        format!("{w}es")
    } else {
        format!("{w}s")
    }
}

/// Expands `{X}` slots of `tpl` into `out`, asking `slot` for each key.
fn expand(
    rng: &mut Rng,
    tpl: &str,
    out: &mut String,
    slot: &mut dyn FnMut(&mut Rng, char, &mut String),
) {
    let mut chars = tpl.chars();
    while let Some(c) = chars.next() {
        if c == '{' {
            if let Some(k) = chars.next() {
                chars.next(); // the closing brace
                slot(rng, k, out);
            }
        } else {
            out.push(c);
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn en_slot(rng: &mut Rng, topic: usize, k: char, out: &mut String) {
    let verb = |r: &mut Rng| {
        if r.chance(0.6) {
            r.pick(EN_VERBS[topic])
        } else {
            r.pick(EN_SHARED_VERBS)
        }
    };
    match k {
        'N' => out.push_str(rng.pick(EN_NOUNS[topic])),
        'P' => out.push_str(&plural(rng.pick(EN_NOUNS[topic]))),
        'V' => out.push_str(&plural(verb(rng))),
        'B' => out.push_str(verb(rng)),
        'A' => out.push_str(rng.pick(EN_ADJS)),
        'D' => out.push_str(rng.pick(EN_ADVS)),
        'M' => out.push_str(rng.pick(EN_NAMES)),
        'L' => out.push_str(rng.pick(EN_PLACES)),
        _ => out.push_str(rng.pick(EN_QUANT)),
    }
}

/// "a" before a vowel sound becomes "an"; first letter upper-cased.
fn en_finish(s: &str) -> String {
    let words: Vec<&str> = s.split(' ').collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let next = words.get(i + 1).copied().unwrap_or("");
        let vowel = next.starts_with(['a', 'e', 'i', 'o', 'u'])
            && !next.starts_with("use")
            && !next.starts_with("uni");
        match *w {
            "a" if vowel => out.push_str("an"),
            "A" if vowel => out.push_str("An"),
            _ => out.push_str(w),
        }
    }
    capitalize(&out)
}

fn en_sentence(rng: &mut Rng, topic: usize) -> String {
    let mut s = String::new();
    let slot = &mut |r: &mut Rng, k: char, o: &mut String| en_slot(r, topic, k, o);
    if rng.chance(0.05) {
        let t = rng.pick(EN_QUESTIONS);
        expand(rng, t, &mut s, slot);
        s.push('?');
        return en_finish(&s);
    }
    if rng.chance(0.3) {
        let t = rng.pick(EN_OPENERS);
        expand(rng, t, &mut s, slot);
        s.push(' ');
    }
    let t = rng.pick(EN_CLAUSES);
    expand(rng, t, &mut s, slot);
    if rng.chance(0.35) {
        s.push_str(rng.pick(EN_LINKS));
        let t = rng.pick(EN_CLAUSES);
        expand(rng, t, &mut s, slot);
    }
    s.push(if rng.chance(0.04) { '!' } else { '.' });
    en_finish(&s)
}

/// Word lists and templates of one Chinese variety (nouns per topic).
pub(crate) struct ZhSet {
    pub(crate) nouns: [&'static [&'static str]; 6],
    pub(crate) verbs: &'static [&'static str],
    pub(crate) adjs: &'static [&'static str],
    pub(crate) advs: &'static [&'static str],
    pub(crate) names: &'static [&'static str],
    pub(crate) places: &'static [&'static str],
    pub(crate) times: &'static [&'static str],
    pub(crate) clauses: &'static [&'static str],
    pub(crate) standalone: &'static [&'static str],
    pub(crate) openers: &'static [&'static str],
    pub(crate) links: &'static [&'static str],
}

/// The Chinese word set of a style (Traditional or Simplified).
pub(crate) fn zh_set(lang: Lang) -> &'static ZhSet {
    if lang == Lang::Hant { &HANT } else { &ZH }
}

fn zh_sentence(rng: &mut Rng, st: Style) -> String {
    let v = zh_set(st.lang);
    let mut s = String::new();
    let slot = &mut |r: &mut Rng, k: char, o: &mut String| {
        let list = match k {
            'N' => v.nouns[st.topic],
            'V' => v.verbs,
            'A' => v.adjs,
            'D' => v.advs,
            'M' => v.names,
            'L' => v.places,
            'T' => v.times,
            _ => TECH_TERMS,
        };
        o.push_str(r.pick(list));
    };
    if rng.chance(0.08) {
        let t = rng.pick(v.standalone);
        expand(rng, t, &mut s, slot);
        return s;
    }
    if rng.chance(0.35) {
        let t = rng.pick(v.openers);
        expand(rng, t, &mut s, slot);
    }
    let clauses = if st.tech && rng.chance(0.45) {
        ZH_TECH_CLAUSES
    } else {
        v.clauses
    };
    let t = rng.pick(clauses);
    expand(rng, t, &mut s, slot);
    if rng.chance(0.3) {
        s.push_str(rng.pick(v.links));
        let t = rng.pick(v.clauses);
        expand(rng, t, &mut s, slot);
    }
    s.push_str(if rng.chance(0.05) { "！" } else { "。" });
    s
}

/// Sentence from one of the small template sets (ja, ko, de, fr, es, ru).
fn simple_sentence(rng: &mut Rng, lang: Lang) -> String {
    let [tpl, nouns, adjs, verbs] = SIMPLE[lang.index().saturating_sub(Lang::Ja.index())];
    let mut s = String::new();
    let t = rng.pick(tpl);
    expand(
        rng,
        t,
        &mut s,
        &mut |r: &mut Rng, k: char, o: &mut String| {
            o.push_str(r.pick(match k {
                'N' => nouns,
                'A' => adjs,
                _ => verbs,
            }))
        },
    );
    capitalize(&s)
}

/// One sentence in the given style, with its terminal punctuation.
pub(crate) fn sentence(rng: &mut Rng, st: Style) -> String {
    match st.lang {
        Lang::En => en_sentence(rng, st.topic),
        Lang::Zh | Lang::Hant => zh_sentence(rng, st),
        lang => simple_sentence(rng, lang),
    }
}

/// Joins sentences the way the language does (no spaces for zh/ja).
pub(crate) fn join_sentences(lang: Lang, parts: &[String]) -> String {
    parts.join(if lang.cjk() { "" } else { " " })
}

/// A paragraph of `lo..=hi` sentences.
pub(crate) fn paragraph(rng: &mut Rng, st: Style, lo: usize, hi: usize) -> String {
    let n = rng.range(lo, hi);
    let parts: Vec<String> = (0..n).map(|_| sentence(rng, st)).collect();
    join_sentences(st.lang, &parts)
}

/// Size in the unit quality rules use: CJK characters for zh/ja, whitespace words otherwise.
pub(crate) fn units(lang: Lang, text: &str) -> usize {
    if lang.cjk() {
        text.chars().filter(|&c| is_cjk_char(c)).count()
    } else {
        text.split_whitespace().count()
    }
}

/// Smallest size of a good document, in `units`.
fn min_units(lang: Lang) -> usize {
    match lang {
        Lang::Zh | Lang::Hant => 160,
        Lang::Ja => 120,
        Lang::Ko => 45,
        _ => 70,
    }
}

/// Paragraphs of a good document: `paras` of them, more if still under the minimum size.
pub(crate) fn body(rng: &mut Rng, st: Style, paras: usize) -> Vec<String> {
    let mut lines: Vec<String> = (0..paras).map(|_| paragraph(rng, st, 2, 5)).collect();
    while lines.iter().map(|l| units(st.lang, l)).sum::<usize>() < min_units(st.lang) {
        lines.push(paragraph(rng, st, 2, 5));
    }
    lines
}

/// Paragraphs adding up to at least `bytes` bytes (the long documents).
pub(crate) fn long_body(rng: &mut Rng, st: Style, bytes: usize) -> Vec<String> {
    let (mut lines, mut len) = (Vec::new(), 0);
    while len < bytes {
        let p = paragraph(rng, st, 3, 7);
        len += p.len() + 1;
        lines.push(p);
    }
    lines
}

/// A document's paragraph count: mostly short, a tail up to ~8 KB.
pub(crate) fn paragraph_count(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..50 => rng.range(2, 4),
        50..82 => rng.range(4, 7),
        82..97 => rng.range(8, 12),
        _ => rng.range(18, 28),
    }
}

/// The boilerplate pool (top lines, bottom lines) of a language.
pub(crate) fn boilerplate_pool(lang: Lang) -> [&'static [&'static str]; 2] {
    match lang {
        Lang::Zh => BP_ZH,
        Lang::Hant => BP_HANT,
        _ => BP_EN,
    }
}

/// Adds `k` distinct boilerplate lines (maybe a navigation line on top, the rest at the bottom).
pub(crate) fn add_boilerplate(
    rng: &mut Rng,
    lang: Lang,
    lines: &mut Vec<String>,
    k: usize,
) -> usize {
    let [top, bottom] = boilerplate_pool(lang);
    let mut added = 0;
    if rng.chance(0.5) || k > bottom.len() {
        lines.insert(0, rng.pick(top).to_string());
        added += 1;
    }
    let mut pool = bottom.to_vec();
    rng.shuffle(&mut pool);
    for line in pool.into_iter().take(k.saturating_sub(added)) {
        lines.push(line.to_string());
        added += 1;
    }
    added
}
