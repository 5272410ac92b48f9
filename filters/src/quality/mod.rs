//! Heuristic quality rules for English and Chinese documents, line cleaning, PII
//! replacement and blocklists — the library half of the `quality` stage.
//!
//! A [`QualityJudge`] is built once from a [`QualitySpec`] and judges one document at a
//! time, from any number of threads:
//! 1. **Line cleaning** ([`lines`]) removes whole boilerplate lines first, so every rule
//!    judges the text that will be kept.
//! 2. A [`DocView`] of the cleaned text is built **once**: lines, paragraphs, characters,
//!    and words — the English tokenizer for `en`, jieba for `zh-Hans`/`zh-Hant`, none for
//!    other languages. Rules read the view and never split the text again.
//! 3. The rules of the document's language run ([`gopher`], [`c4`], [`fineweb`] for
//!    English; [`chinese`] with FineWeb-2's Mandarin values for Chinese), plus the
//!    script-neutral ones (URL blocklist, line cleaning, PII). A Chinese document is never
//!    judged by English word rules.
//! 4. **PII** ([`pii`]) is replaced in the kept text.
//!
//! Every rule writes signal columns named `<family>.<signal>`; the set of columns depends
//! only on the spec ([`QualityJudge::signal_defs`]), with `Null` where a rule does not
//! apply to a document. The first failed check gives the rejection reason
//! `<rule>:<signal>`; whether it removes the document is the pipeline's call
//! (`mode = "drop" | "annotate"`).

pub mod blocklist;
pub mod c4;
pub mod chinese;
pub mod fineweb;
pub mod gopher;
pub mod lines;
pub mod pii;
pub mod signal;
pub mod view;

use std::borrow::Cow;

use taojin_schemas::quality::QualitySpec;

pub use blocklist::{BlocklistRule, UrlBlocklist, WordBlocklist};
pub use lines::{Cleaned, LineCleaner, LineCounts};
pub use pii::{PiiCounts, PiiScrubber};
pub use signal::{Check, CheckOp, SignalDef, SignalKind, SignalValue};
pub use view::{DocView, Script, Segmenter};

use c4::{C4_SIGNALS, C4Rule};
use chinese::{ChineseQualityRule, FINEWEB_ZH, ZH_QUALITY_SIGNALS, ZH_REPETITION};
use fineweb::{FINEWEB_EN, FineWebRule};
use gopher::{GOPHER_QUALITY_SIGNALS, GOPHER_REPETITION, GopherQualityRule, RepetitionRule};
use view::{is_terminal_en, is_terminal_zh};

/// One numeric check of the rule table ([`QualityJudge::thresholds`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleThreshold {
    /// The rejection reason, `<rule>:<signal>`.
    pub reason: &'static str,
    /// The signal column it reads.
    pub column: &'static str,
    /// When it rejects: `value <op> limit`.
    pub op: CheckOp,
    /// The threshold.
    pub limit: f64,
    /// The language group the rule judges: `en`, `zh` or `all`.
    pub lang: &'static str,
}

/// Ordinary pages the rule table is read with (every rule runs all its checks on them).
const PROBE_EN: &str = "The river runs through the old town, and the people who live there have built \
their houses close to the water for many years.\nIn the spring the water rises and the \
farmers in the valley plant their fields with rice and beans.\nVisitors come in the summer \
to walk along the banks, to eat in the small restaurants and to watch the boats.\nThe town \
has a school, a market and a library that is open every day of the week.";
const PROBE_ZH: &str = "这条河流经古老的小镇，住在那里的人们多年来一直把房子建在靠近水的地方。\n\
春天河水上涨，山谷里的农民在田里种上水稻和豆子。\n夏天游客们来到这里，沿着河岸散步，\
在小餐馆吃饭，看着来往的船只。\n镇上有一所学校、一个市场和一座每天开放的图书馆。";

/// Errors building a [`QualityJudge`]: all are configuration mistakes.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// A blocklist entry that cannot be used.
    #[error("blocklist {list}, line {line}: {message}")]
    Blocklist {
        /// Which list (its path, or `default`).
        list: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A pattern set failed to compile.
    #[error("cannot build {what}: {message}")]
    Pattern {
        /// Which pattern set.
        what: &'static str,
        /// The underlying error.
        message: String,
    },
}

/// The text of the blocklists named in a spec, read by the caller (the pipeline resolves
/// and reads `blocklists.url_blocklist`, `words_en`, `words_zh`). `None` uses the default
/// list shipped in `filters/data/`.
#[derive(Debug, Clone, Default)]
pub struct BlocklistTexts {
    /// Content of the URL blocklist file.
    pub url: Option<String>,
    /// Content of the English word list.
    pub words_en: Option<String>,
    /// Content of the Chinese word list.
    pub words_zh: Option<String>,
}

/// The verdict on one document.
#[derive(Debug, Clone)]
pub struct QualityOutcome<'a> {
    /// The text to keep: after line cleaning and PII replacement (borrowed when unchanged).
    pub text: Cow<'a, str>,
    /// One value per column of [`QualityJudge::signal_names`], in that order.
    pub signals: Vec<(&'static str, SignalValue)>,
    /// The first failed check as `<rule>:<signal>` (e.g. `gopher_quality:mean_word_len`),
    /// or `None` when the document passes.
    pub reject: Option<&'static str>,
}

/// Which rule set a language label gets.
pub fn script_for(lang: &str) -> Script {
    let lower = lang.trim();
    let is = |p: &str| {
        lower.eq_ignore_ascii_case(p)
            || (lower.len() > p.len()
                && lower.is_char_boundary(p.len())
                && lower[..p.len()].eq_ignore_ascii_case(p)
                && matches!(lower.as_bytes()[p.len()], b'-' | b'_'))
    };
    if is("en") {
        Script::English
    } else if is("zh") {
        Script::Chinese
    } else {
        Script::Neutral
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Slots {
    lines: Option<usize>,
    gopher_quality: Option<usize>,
    gopher_repetition: Option<usize>,
    c4: Option<usize>,
    fineweb: Option<usize>,
    zh_quality: Option<usize>,
    zh_repetition: Option<usize>,
    zh_fineweb: Option<usize>,
    blocklist: Option<usize>,
    pii: Option<usize>,
}

/// All quality rules of one `quality` stage, built once and shared by all threads.
#[derive(Debug, Clone)]
pub struct QualityJudge {
    segmenter: Segmenter,
    cleaner: Option<LineCleaner>,
    gopher_quality: Option<GopherQualityRule>,
    gopher_repetition: Option<RepetitionRule>,
    c4: Option<C4Rule>,
    fineweb: Option<FineWebRule>,
    zh_quality: Option<ChineseQualityRule>,
    zh_repetition: Option<RepetitionRule>,
    zh_fineweb: Option<FineWebRule>,
    blocklist: Option<BlocklistRule>,
    pii: Option<PiiScrubber>,
    defs: Vec<SignalDef>,
    names: Vec<&'static str>,
    kinds: Vec<SignalKind>,
    slots: Slots,
}

impl QualityJudge {
    /// Builds every enabled rule of `spec`; `lists` holds the blocklist files' text.
    ///
    /// Loads jieba's dictionary (shared with the judges alive) when a Chinese rule is on.
    pub fn new(spec: &QualitySpec, lists: &BlocklistTexts) -> Result<QualityJudge, QualityError> {
        let segmenter = Segmenter::new(spec.zh.jieba_hmm);
        let mut defs: Vec<SignalDef> = Vec::new();
        let mut slots = Slots::default();
        let place = |sigs: &[SignalDef], defs: &mut Vec<SignalDef>| {
            let at = defs.len();
            defs.extend_from_slice(sigs);
            Some(at)
        };

        let cleaner = if spec.lines.enabled {
            let c = LineCleaner::new(&spec.lines, segmenter.clone())?;
            slots.lines = place(c.signals(), &mut defs);
            Some(c)
        } else {
            None
        };
        let en = &spec.en;
        let gopher_quality = en.gopher.enabled.then(|| {
            slots.gopher_quality = place(GOPHER_QUALITY_SIGNALS, &mut defs);
            GopherQualityRule::new(&en.gopher)
        });
        let gopher_repetition = en.repetition.enabled.then(|| {
            slots.gopher_repetition = place(GOPHER_REPETITION.signals, &mut defs);
            RepetitionRule::new((&en.repetition).into(), &GOPHER_REPETITION)
        });
        let c4 = if en.c4.enabled {
            slots.c4 = place(C4_SIGNALS, &mut defs);
            Some(C4Rule::new(&en.c4)?)
        } else {
            None
        };
        let fineweb = en.fineweb.enabled.then(|| {
            slots.fineweb = place(FINEWEB_EN.signals, &mut defs);
            FineWebRule::new((&en.fineweb).into(), is_terminal_en, &FINEWEB_EN)
        });
        let zh = &spec.zh;
        let zh_quality = if zh.enabled {
            slots.zh_quality = place(ZH_QUALITY_SIGNALS, &mut defs);
            Some(ChineseQualityRule::new(zh)?)
        } else {
            None
        };
        let zh_repetition = zh.repetition.enabled.then(|| {
            slots.zh_repetition = place(ZH_REPETITION.signals, &mut defs);
            RepetitionRule::new((&zh.repetition).into(), &ZH_REPETITION)
        });
        let zh_fineweb = zh.fineweb.enabled.then(|| {
            slots.zh_fineweb = place(FINEWEB_ZH.signals, &mut defs);
            FineWebRule::new((&zh.fineweb).into(), is_terminal_zh, &FINEWEB_ZH)
        });
        let b = &spec.blocklists;
        let blocklist = if b.enabled {
            let url_name = b.url_blocklist.as_deref().unwrap_or("default");
            let urls = UrlBlocklist::parse(
                lists
                    .url
                    .as_deref()
                    .unwrap_or(blocklist::DEFAULT_URL_BLOCKLIST),
                url_name,
            )?;
            let words_en = WordBlocklist::english(
                lists
                    .words_en
                    .as_deref()
                    .unwrap_or(blocklist::DEFAULT_WORDS_EN),
            )?;
            let words_zh = WordBlocklist::chinese(
                lists
                    .words_zh
                    .as_deref()
                    .unwrap_or(blocklist::DEFAULT_WORDS_ZH),
            )?;
            slots.blocklist = place(blocklist::BLOCKLIST_SIGNALS, &mut defs);
            Some(BlocklistRule::new(
                urls,
                words_en,
                words_zh,
                b.max_blocked_word_ratio,
            ))
        } else {
            None
        };
        let pii = if spec.pii && !spec.pii_kinds.is_empty() {
            let p = PiiScrubber::new(&spec.pii_kinds)?;
            slots.pii = place(&p.signals(), &mut defs);
            Some(p)
        } else {
            None
        };
        let uses_jieba = zh_quality.is_some()
            || zh_repetition.is_some()
            || zh_fineweb.is_some()
            || (spec.lines.enabled
                && spec.lines.c4_rules
                && spec.lines.min_words_per_line_zh.get().is_some());
        if uses_jieba {
            segmenter.warm_up();
        }
        let names = defs.iter().map(|d| d.name).collect();
        let kinds = defs.iter().map(|d| d.kind).collect();
        Ok(QualityJudge {
            segmenter,
            cleaner,
            gopher_quality,
            gopher_repetition,
            c4,
            fineweb,
            zh_quality,
            zh_repetition,
            zh_fineweb,
            blocklist,
            pii,
            defs,
            names,
            kinds,
            slots,
        })
    }

    /// The signal columns, in the order of [`QualityOutcome::signals`]. Fixed for a spec.
    pub fn signal_names(&self) -> &[&'static str] {
        &self.names
    }

    /// The Arrow type of each column of [`Self::signal_names`].
    pub fn signal_kinds(&self) -> &[SignalKind] {
        &self.kinds
    }

    /// Names and types together.
    pub fn signal_defs(&self) -> &[SignalDef] {
        &self.defs
    }

    /// The numeric threshold checks of the enabled rules with the signal column each one
    /// reads and the language group it applies to (`en`, `zh`, or `all`): the rule table
    /// the report draws on the histograms. Read from the rules themselves by judging one
    /// ordinary English and one ordinary Chinese page with checks recorded.
    pub fn thresholds(&self) -> Vec<RuleThreshold> {
        let checks = signal::record_checks(|| {
            self.judge(PROBE_EN, "en", Some("https://example.org/page"));
            self.judge(PROBE_ZH, "zh-Hans", Some("https://example.org/page"));
        });
        let mut out: Vec<RuleThreshold> = Vec::new();
        for c in checks {
            let Some((family, signal)) = c.reason.split_once(':') else {
                continue;
            };
            let column = match c.reason {
                "zh_fineweb:dup_line_char_frac" => "zh.fw_dup_line_char_frac".to_string(),
                "blocklist:words" => "blocklist.word_ratio".to_string(),
                _ => format!("{}.{signal}", family.split('_').next().unwrap_or(family)),
            };
            let Some(def) = self.defs.iter().find(|d| d.name == column) else {
                continue;
            };
            if def.kind == SignalKind::Bool
                || out.iter().any(|t| t.reason == c.reason && t.op == c.op)
            {
                continue;
            }
            let lang = match family.split('_').next() {
                Some("zh") => "zh",
                Some("blocklist") => "all",
                _ => "en",
            };
            out.push(RuleThreshold {
                reason: c.reason,
                column: def.name,
                op: c.op,
                limit: c.limit,
                lang,
            });
        }
        out
    }

    /// Judges one document labelled `lang` (from the langid stage) with its URL, if any.
    pub fn judge<'a>(&self, text: &'a str, lang: &str, url: Option<&str>) -> QualityOutcome<'a> {
        let script = script_for(lang);
        let mut values = vec![SignalValue::Null; self.defs.len()];
        let mut reject: Option<&'static str> = None;
        let mut note = |r: Option<&'static str>| {
            if reject.is_none() {
                reject = r;
            }
        };
        let slice =
            |values: &mut Vec<SignalValue>, at: usize, len: usize| -> std::ops::Range<usize> {
                let end = (at + len).min(values.len());
                at.min(end)..end
            };

        let cleaned = match &self.cleaner {
            Some(c) => {
                let cleaned = c.clean(text, script);
                if let Some(at) = self.slots.lines {
                    let r = slice(&mut values, at, c.signals().len());
                    c.write_signals(&cleaned.counts, &mut values[r]);
                }
                cleaned.text
            }
            None => Cow::Borrowed(text),
        };

        if let (Some(b), Some(at)) = (&self.blocklist, self.slots.blocklist) {
            let r = slice(&mut values, at, blocklist::BLOCKLIST_SIGNALS.len());
            note(b.judge_url(url, &mut values[r]));
        }

        {
            let view = DocView::new(&cleaned, self.view_script(script), &self.segmenter);
            match script {
                Script::English => {
                    if let (Some(rule), Some(at)) =
                        (&self.gopher_repetition, self.slots.gopher_repetition)
                    {
                        let r = slice(&mut values, at, rule.signals().len());
                        note(rule.judge(&view, &mut values[r]));
                    }
                    if let (Some(rule), Some(at)) =
                        (&self.gopher_quality, self.slots.gopher_quality)
                    {
                        let r = slice(&mut values, at, GOPHER_QUALITY_SIGNALS.len());
                        note(rule.judge(&view, &mut values[r]));
                    }
                    if let (Some(rule), Some(at)) = (&self.c4, self.slots.c4) {
                        let r = slice(&mut values, at, C4_SIGNALS.len());
                        note(rule.judge(&view, &mut values[r]));
                    }
                    if let (Some(rule), Some(at)) = (&self.fineweb, self.slots.fineweb) {
                        let r = slice(&mut values, at, rule.signals().len());
                        note(rule.judge(&view, &mut values[r]));
                    }
                }
                Script::Chinese => {
                    if let (Some(rule), Some(at)) = (&self.zh_quality, self.slots.zh_quality) {
                        let r = slice(&mut values, at, ZH_QUALITY_SIGNALS.len());
                        note(rule.judge(&view, &mut values[r]));
                    }
                    if let (Some(rule), Some(at)) = (&self.zh_repetition, self.slots.zh_repetition)
                    {
                        let r = slice(&mut values, at, rule.signals().len());
                        note(rule.judge(&view, &mut values[r]));
                    }
                    if let (Some(rule), Some(at)) = (&self.zh_fineweb, self.slots.zh_fineweb) {
                        let r = slice(&mut values, at, rule.signals().len());
                        note(rule.judge(&view, &mut values[r]));
                    }
                }
                Script::Neutral => {}
            }
            if let (Some(b), Some(at)) = (&self.blocklist, self.slots.blocklist) {
                let r = slice(&mut values, at, blocklist::BLOCKLIST_SIGNALS.len());
                note(b.judge_words(&view, &mut values[r]));
            }
        }

        let text = match (&self.pii, self.slots.pii) {
            (Some(p), Some(at)) => {
                let mut counts = PiiCounts::default();
                let t = p.scrub(cleaned, &mut counts);
                let r = slice(&mut values, at, p.kinds().len());
                p.write_signals(&counts, &mut values[r]);
                t
            }
            _ => cleaned,
        };

        QualityOutcome {
            text,
            signals: self.names.iter().copied().zip(values).collect(),
            reject,
        }
    }

    /// Words are only computed when a rule of that script will read them.
    fn view_script(&self, script: Script) -> Script {
        let words_needed = match script {
            Script::English => {
                self.gopher_quality.is_some()
                    || self.gopher_repetition.is_some()
                    || self.fineweb.is_some()
                    || self.blocklist.is_some()
            }
            Script::Chinese => {
                self.zh_quality.is_some()
                    || self.zh_repetition.is_some()
                    || self.zh_fineweb.is_some()
                    || self.blocklist.is_some()
            }
            Script::Neutral => false,
        };
        if words_needed {
            script
        } else {
            Script::Neutral
        }
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)] // tests turn one knob at a time
mod tests;
