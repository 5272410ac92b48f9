//! Back-off n-gram language models, KenLM-compatible: trained here with interpolated
//! modified Kneser-Ney ([`train`], KenLM `lmplz`'s estimator), stored as standard ARPA
//! text ([`arpa`]) so KenLM reads taojin's models and taojin reads KenLM's, and scored
//! with the back-off rule KenLM applies ([`NgramModel`]). The perplexity stage uses them
//! as CCNet does: one model per language, document perplexity over its lines.

pub mod arpa;
mod model;
mod sort;
pub mod train;
pub mod units;

pub use model::{NgramModel, Scored};

/// What can go wrong reading, training or writing a language model.
#[derive(Debug, thiserror::Error)]
pub enum LmError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An ARPA file that is not well formed, with the 1-based line where it goes wrong.
    #[error("{path}:{line}: {message}")]
    Arpa {
        /// The file.
        path: String,
        /// The line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Settings or training data the estimator cannot use.
    #[error("train-lm: {0}")]
    Train(String),
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, LmError>;

/// The beginning-of-sentence token (a context only, never predicted).
pub const BOS: &str = "<s>";
/// The end-of-sentence token.
pub const EOS: &str = "</s>";
/// The token unknown words are scored as.
pub const UNK: &str = "<unk>";
/// The highest order supported (KenLM's default build also stops at 6).
pub const MAX_ORDER: usize = 6;
