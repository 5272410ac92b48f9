//! A learned document-quality classifier: fastText supervised training and scoring.
//!
//! Text is fed to fastText the way it can learn from both scripts: Latin words
//! lower-cased, every Han/kana/hangul character its own token (word bigrams then give
//! character bigrams for Chinese), punctuation dropped, one line per document.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use fasttext::FastText;
use fasttext::args::{Args, LossName, ModelName};

use crate::fasttext_input::{InputIds, Scratch};

/// Label of good documents in the training file and the model.
pub const POSITIVE: &str = "__label__hq";
/// Label of bad documents.
pub const NEGATIVE: &str = "__label__lq";

/// A training or scoring failure.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// I/O on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// fastText refused the data or the model.
    #[error("fastText: {0}")]
    FastText(String),
    /// One class has no examples.
    #[error("training needs examples of both classes (got {pos} positive, {neg} negative)")]
    Empty {
        /// Positive examples.
        pos: usize,
        /// Negative examples.
        neg: usize,
    },
}

use taojin_schemas::script::is_cjk_letter as is_cjk;

/// The token line fastText sees for a document (at most `max_chars` characters of it).
pub fn tokens(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 3));
    let mut in_word = false;
    for c in text.chars().take(max_chars) {
        if is_cjk(c) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            in_word = false;
        } else if c.is_alphanumeric() {
            if !in_word && !out.is_empty() {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
            in_word = true;
        } else {
            in_word = false;
        }
    }
    out
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Passes over the data.
    pub epoch: i32,
    /// Learning rate.
    pub lr: f64,
    /// Vector size.
    pub dim: i32,
    /// Word n-grams (2: bigrams, character bigrams for Chinese).
    pub word_ngrams: i32,
    /// Characters of each document used.
    pub max_chars: usize,
    /// Seed of the shuffle and of fastText.
    pub seed: u64,
    /// Training threads (1 makes the model reproducible).
    pub threads: i32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epoch: 10,
            lr: 0.5,
            dim: 64,
            word_ngrams: 2,
            max_chars: 4000,
            seed: 42,
            threads: 1,
        }
    }
}

/// Trains a classifier on positive and negative texts, writing the model to `out`.
pub fn train(
    pos: &[String],
    neg: &[String],
    out: &Path,
    opts: &TrainOptions,
) -> Result<QualityClassifier, ClassifierError> {
    if pos.is_empty() || neg.is_empty() {
        return Err(ClassifierError::Empty {
            pos: pos.len(),
            neg: neg.len(),
        });
    }
    let mut lines: Vec<String> = pos
        .iter()
        .map(|t| format!("{POSITIVE} {}", tokens(t, opts.max_chars)))
        .chain(
            neg.iter()
                .map(|t| format!("{NEGATIVE} {}", tokens(t, opts.max_chars))),
        )
        .collect();
    // Deterministic shuffle (SplitMix64 Fisher–Yates) so classes are interleaved.
    let mut state = opts.seed;
    for i in (1..lines.len()).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        lines.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
    }
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ClassifierError::Io { path, source }
    };
    let train_file = out.with_extension("train.txt");
    let mut f = std::fs::File::create(&train_file).map_err(io(&train_file))?;
    let mut buf = String::new();
    for l in &lines {
        let _ = writeln!(buf, "{l}");
    }
    f.write_all(buf.as_bytes()).map_err(io(&train_file))?;
    drop(f);
    let mut args = Args::default();
    args.apply_supervised_defaults();
    args.input = train_file.clone();
    args.output = out.to_path_buf();
    args.model = ModelName::Supervised;
    args.loss = LossName::Softmax;
    args.epoch = opts.epoch;
    args.lr = opts.lr;
    args.dim = opts.dim;
    args.word_ngrams = opts.word_ngrams;
    args.min_count = 1;
    args.minn = 0;
    args.maxn = 0;
    args.bucket = 200_000;
    args.thread = opts.threads.max(1);
    args.seed = (opts.seed & 0x7FFF_FFFF) as i32;
    args.verbose = 0;
    let result = FastText::train(args).map_err(|e| ClassifierError::FastText(e.to_string()));
    let _ = std::fs::remove_file(&train_file);
    let model = result?;
    model
        .save_model(out)
        .map_err(|e| ClassifierError::FastText(e.to_string()))?;
    Ok(QualityClassifier::new(model, opts.max_chars))
}

/// A trained classifier: `score` is the probability of the positive (high-quality) label.
pub struct QualityClassifier {
    model: FastText,
    ids: InputIds,
    max_chars: usize,
}

impl QualityClassifier {
    fn new(model: FastText, max_chars: usize) -> QualityClassifier {
        QualityClassifier {
            ids: InputIds::new(&model),
            model,
            max_chars,
        }
    }

    /// Loads a model written by [`train`] (or by fastText with the same labels).
    pub fn load(path: &Path) -> Result<QualityClassifier, ClassifierError> {
        if !path.is_file() {
            return Err(ClassifierError::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "classifier model not found (train one with `taojin train-classifier`)",
                ),
            });
        }
        let model = std::panic::catch_unwind(|| FastText::load_model(path))
            .map_err(|_| ClassifierError::FastText(format!("{}: malformed model", path.display())))?
            .map_err(|e| ClassifierError::FastText(format!("{}: {e}", path.display())))?;
        Ok(QualityClassifier::new(
            model,
            TrainOptions::default().max_chars,
        ))
    }

    /// Probability that `text` is high quality.
    pub fn score(&self, text: &str) -> f32 {
        let line = tokens(text, self.max_chars);
        let mut ids = Vec::new();
        self.ids
            .line(self.model.dict(), &line, &mut ids, &mut Scratch::default());
        let preds = self.model.predict_on_words(&ids, 2, 0.0);
        preds.iter().find(|p| p.label == POSITIVE).map_or_else(
            || {
                preds
                    .iter()
                    .find(|p| p.label == NEGATIVE)
                    .map_or(0.5, |p| 1.0 - p.prob)
            },
            |p| p.prob,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(words: &[&str], n: usize, seed: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                (0..30)
                    .map(|j| words[(i * 7 + j * 13 + seed) % words.len()])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn tokens_split_scripts() {
        assert_eq!(
            tokens("Hello, World! 你好世界。", 100),
            "hello world 你 好 世 界"
        );
        assert_eq!(tokens("abc", 2), "ab");
    }

    #[test]
    fn learns_a_separable_task() {
        let good = [
            "the", "museum", "history", "river", "city", "ancient", "library", "science",
            "research", "科学", "研究", "历史",
        ];
        let bad = [
            "casino",
            "bonus",
            "click",
            "free",
            "winner",
            "cheap",
            "viagra",
            "offer",
            "加微信",
            "免费",
            "领取",
            "赌场",
        ];
        let dir = std::env::temp_dir().join(format!("taojin-clf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let model_path = dir.join("quality.bin");
        let clf = train(
            &docs(&good, 200, 0),
            &docs(&bad, 200, 0),
            &model_path,
            &TrainOptions::default(),
        )
        .expect("train");
        let (tg, tb) = (docs(&good, 50, 5), docs(&bad, 50, 5));
        let correct = tg.iter().filter(|t| clf.score(t) > 0.5).count()
            + tb.iter().filter(|t| clf.score(t) < 0.5).count();
        assert!(correct >= 95, "{correct}/100");
        let loaded = QualityClassifier::load(&model_path).expect("load");
        assert!((loaded.score(&tg[0]) - clf.score(&tg[0])).abs() < 1e-6);
        assert!(QualityClassifier::load(&dir.join("nope.bin")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
