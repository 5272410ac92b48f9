//! Language identification of whole documents with fastText `lid.176`.
//!
//! fastText is trained on single lines, so a document is judged paragraph by paragraph
//! (a bounded, evenly spread sample of them for long documents) and the verdicts are
//! aggregated by length. Script counts then settle what fastText cannot: Simplified vs
//! Traditional Chinese (from the characters), and Chinese vs Japanese vs Korean when
//! kana or hangul say otherwise. Short texts, code and markup get low scores rather than
//! confident wrong labels.

mod chinese;
mod hs;
mod script;

use std::collections::BTreeMap;
use std::path::Path;

use fasttext::FastText;
use fasttext::dictionary::EOS;

use crate::fasttext_input::{HiddenRows, InputIds, Scratch};
use taojin_schemas::{LangIdSpec, MixedPolicy};

pub use chinese::ChineseScripts;
pub use hs::HsPredictor;
pub use script::{ScriptCounts, is_han, is_hangul, is_kana};

/// A model that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LangIdError {
    /// The model file is missing.
    #[error(
        "language-ID model not found at {0}: run `make models` (scripts/fetch_models.sh) to fetch lid.176.ftz"
    )]
    Missing(String),
    /// The file is not a usable fastText model.
    #[error("cannot load fastText model {path}: {detail}; fetch a fresh copy with `make models`")]
    Corrupt {
        /// The model path.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The OpenCC tables did not load.
    #[error(transparent)]
    OpenCc(#[from] chinese::OpenCcError),
}

/// A loaded fastText language-ID model with a correct predictor for it.
pub struct LangIdModel {
    model: FastText,
    hs: Option<HsPredictor>,
    labels: Vec<String>,
    ids: InputIds,
    rows: HiddenRows,
}

impl LangIdModel {
    /// Loads a `.ftz` or `.bin` model.
    pub fn load(path: &Path) -> Result<LangIdModel, LangIdError> {
        if !path.is_file() {
            return Err(LangIdError::Missing(path.display().to_string()));
        }
        let corrupt = |detail: String| LangIdError::Corrupt {
            path: path.display().to_string(),
            detail,
        };
        // The crate can panic on some malformed files; a bad file must be an error, not a crash.
        let model = std::panic::catch_unwind(|| FastText::load_model(path))
            .map_err(|_| corrupt("the file is malformed".into()))?
            .map_err(|e| corrupt(e.to_string()))?;
        let (labels, _) = model.get_labels();
        if labels.is_empty() {
            return Err(corrupt(
                "the model has no labels (not a supervised model)".into(),
            ));
        }
        let labels = labels
            .into_iter()
            .map(|l| l.trim_start_matches("__label__").to_string())
            .collect();
        let hs = HsPredictor::new(&model);
        let ids = InputIds::new(&model);
        // Decoding reads the quantizer's layout as the file gives it; a malformed one must
        // be an error here too.
        let rows = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            HiddenRows::new(&model, &ids)
        }))
        .map_err(|_| corrupt("the quantized input matrix is malformed".into()))?
        .map_err(corrupt)?;
        Ok(LangIdModel {
            model,
            hs,
            labels,
            ids,
            rows,
        })
    }

    /// Top-`k` labels (without `__label__`) and probabilities for one line of text, as the
    /// official fastText `predict` gives them.
    pub fn predict(&self, line: &str, k: usize) -> Vec<(&str, f32)> {
        self.predict_with(line, k, &mut LineBuffers::default())
    }

    /// [`Self::predict`] with buffers reused across the lines of a document.
    fn predict_with(&self, line: &str, k: usize, buf: &mut LineBuffers) -> Vec<(&str, f32)> {
        let (dict, ids) = (self.model.dict(), &mut buf.ids);
        self.ids.line(dict, line, ids, &mut buf.scratch);
        match &self.hs {
            Some(hs) => {
                if ids.is_empty() {
                    // No token: C++ fastText still predicts from the end-of-line token
                    // (the crate would average nothing).
                    self.ids.line(dict, EOS, ids, &mut buf.scratch);
                }
                buf.hidden.resize(self.model.get_dimension() as usize, 0.0);
                self.rows.average(&self.model, ids, &mut buf.hidden);
                hs.predict(&buf.hidden, k)
                    .into_iter()
                    .filter_map(|(i, p)| Some((self.labels.get(i)?.as_str(), p)))
                    .collect()
            }
            None => self
                .model
                .predict_on_words(ids, k, 0.0)
                .into_iter()
                .filter_map(|p| {
                    let label = p.label.trim_start_matches("__label__");
                    let i = self.labels.iter().position(|l| l == label)?;
                    Some((self.labels[i].as_str(), p.prob))
                })
                .collect(),
        }
    }
}

/// What [`LangIdModel::predict_with`] reuses between lines: the input ids, the n-gram
/// buffers and the hidden vector.
#[derive(Default)]
struct LineBuffers {
    ids: Vec<i32>,
    scratch: Scratch,
    hidden: Vec<f32>,
}

/// The language verdict on one document, with the signals it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct LangVerdict {
    /// `en`, `zh-Hans`, `zh-Hant`, `ja`, `ko`, another fastText code, or `und` (no letters).
    pub lang: String,
    /// Confidence in `lang`, 0..=1.
    pub score: f32,
    /// Share of the classified text in Chinese paragraphs.
    pub zh_frac: f32,
    /// Share in English paragraphs.
    pub en_frac: f32,
    /// Share in paragraphs of any other language.
    pub other_frac: f32,
    /// Han share of letters.
    pub han_ratio: f32,
    /// Latin share of letters.
    pub latin_ratio: f32,
    /// Kana share of letters.
    pub kana_ratio: f32,
}

/// Why a verdict does not pass routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A language not in `keep`: the reason is `lang:<code>`.
    Language(String),
    /// A kept language below its minimum score (or, for Chinese, its Han ratio).
    LowScore,
}

/// Evidence (in "words", see [`ScriptCounts::evidence`]) needed for full confidence.
const FULL_EVIDENCE: f32 = 4.0;
/// Letter density under which a text is treated as code or markup and its score scaled down.
const MIN_LETTER_DENSITY: f32 = 0.5;

/// Identifies document languages and routes them by a [`LangIdSpec`].
pub struct LangIdentifier {
    model: LangIdModel,
    chinese: ChineseScripts,
    spec: LangIdSpec,
}

impl LangIdentifier {
    /// Builds an identifier from a loaded model.
    pub fn new(model: LangIdModel, spec: &LangIdSpec) -> Result<LangIdentifier, LangIdError> {
        Ok(LangIdentifier {
            model,
            chinese: ChineseScripts::new()?,
            spec: spec.clone(),
        })
    }

    /// The Chinese script tables (for `to_simplified`).
    pub fn chinese(&self) -> &ChineseScripts {
        &self.chinese
    }

    /// The verdict on a document.
    pub fn identify(&self, text: &str) -> LangVerdict {
        let units = paragraphs(text, self.spec.max_paragraph_bytes);
        let picked: Vec<&str> = if units.len() > self.spec.max_paragraphs {
            let n = units.len();
            (0..self.spec.max_paragraphs)
                .map(|i| units[i * n / self.spec.max_paragraphs])
                .collect()
        } else {
            units
        };
        let mut weight: BTreeMap<&str, (f32, f32)> = BTreeMap::new();
        let mut total = 0.0f32;
        let mut doc = ScriptCounts::default();
        let mut line = String::new();
        let mut buf = LineBuffers::default();
        for unit in picked {
            let counts = ScriptCounts::of(unit);
            doc.add(unit);
            if counts.letters() == 0 {
                continue;
            }
            line.clear();
            line.extend(
                unit.chars()
                    .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
            );
            let Some(&(label, p)) = self.model.predict_with(&line, 1, &mut buf).first() else {
                continue;
            };
            let label = script_guard(label, &counts);
            let w = counts.non_space as f32;
            let e = weight.entry(label).or_default();
            e.0 += w;
            e.1 += w * p;
            total += w;
        }
        let frac = |l: &str| {
            if total > 0.0 {
                weight.get(l).map_or(0.0, |e| e.0) / total
            } else {
                0.0
            }
        };
        let (zh_frac, en_frac) = (frac("zh"), frac("en"));
        let mut verdict = LangVerdict {
            lang: "und".into(),
            score: 0.0,
            zh_frac,
            en_frac,
            other_frac: if total > 0.0 {
                (1.0 - zh_frac - en_frac).max(0.0)
            } else {
                0.0
            },
            han_ratio: doc.han_ratio(),
            latin_ratio: doc.latin_ratio(),
            kana_ratio: doc.kana_ratio(),
        };
        let primary = weight
            .iter()
            .max_by(|a, b| a.1.0.total_cmp(&b.1.0).then_with(|| b.0.cmp(a.0)))
            .map(|(l, _)| *l);
        let Some(mut primary) = primary else {
            return verdict;
        };
        if self.spec.mixed == MixedPolicy::ZhIfAbove && zh_frac >= self.spec.mixed_zh_min_frac {
            primary = "zh";
        }
        let (w, wp) = weight[primary];
        let evidence = (doc.evidence() / FULL_EVIDENCE).min(1.0);
        let density = (doc.letter_density() / MIN_LETTER_DENSITY).min(1.0);
        verdict.score = (wp / w) * evidence * density;
        verdict.lang = if primary == "zh" {
            self.chinese.label(text).to_string()
        } else {
            primary.to_string()
        };
        verdict
    }

    /// `Ok` when the verdict passes the routing rules, else why not.
    pub fn route(&self, v: &LangVerdict) -> Result<(), Rejection> {
        if !self.spec.keep.contains(&v.lang) {
            return Err(Rejection::Language(v.lang.clone()));
        }
        let han_ok = !v.lang.starts_with("zh") || v.han_ratio >= self.spec.min_han_ratio;
        if v.score < self.spec.min_score_for(&v.lang) || !han_ok {
            return Err(Rejection::LowScore);
        }
        Ok(())
    }
}

/// Overrides fastText where the script is unambiguous: kana means Japanese, hangul
/// means Korean, and Han text without either is not Japanese or Korean.
fn script_guard<'a>(label: &'a str, c: &ScriptCounts) -> &'a str {
    match label {
        "zh" if c.kana_ratio() >= 0.05 => "ja",
        "zh" if c.hangul_ratio() >= 0.1 => "ko",
        "ja" | "ko" if c.kana == 0 && c.hangul == 0 && c.han_ratio() >= 0.3 => "zh",
        _ => label,
    }
}

/// Splits a document into paragraphs (blank-line separated); a paragraph longer than
/// `max_bytes` is cut at line ends (or, for a single long line, at a character boundary).
fn paragraphs(text: &str, max_bytes: usize) -> Vec<&str> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let para = para.trim_matches('\n');
        if para.trim().is_empty() {
            continue;
        }
        let mut rest = para;
        while rest.len() > max_bytes {
            let mut limit = max_bytes;
            while !rest.is_char_boundary(limit) {
                limit -= 1;
            }
            let cut = rest[..limit].rfind('\n').map_or(limit, |i| i + 1);
            out.push(&rest[..cut]);
            rest = &rest[cut..];
        }
        if !rest.trim().is_empty() {
            out.push(rest);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_bounded() {
        let text = format!("a\n\n\n\nb line\nc line\n\n{}", "x".repeat(10));
        assert_eq!(
            paragraphs(&text, 100),
            vec!["a", "b line\nc line", "xxxxxxxxxx"]
        );
        assert_eq!(paragraphs("l1\nl2\nl3", 6), vec!["l1\nl2\n", "l3"]);
        let han = "中".repeat(10);
        let parts = paragraphs(&han, 16);
        assert_eq!(parts.concat(), han);
        assert!(parts.iter().all(|p| p.len() <= 16));
    }

    #[test]
    fn guard_follows_the_script() {
        let ja = ScriptCounts::of("日本語のテキストです");
        assert_eq!(script_guard("zh", &ja), "ja");
        let han = ScriptCounts::of("中文文本");
        assert_eq!(script_guard("ja", &han), "zh");
        assert_eq!(script_guard("en", &han), "en");
    }
}
