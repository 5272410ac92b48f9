//! Tokenizer work for taojin, apart from the engine: [`fast_bpe`], a byte-level BPE
//! encoder whose ids are identical to the `tokenizers` crate's (tested on every document of
//! a real corpus by `taojin encode-check`), [`encoder`], which picks it when a tokenizer's
//! layout allows and falls back to `tokenizers` otherwise, and [`train`], the Yi-style BPE
//! trainer behind `taojin train-tokenizer` and the `tokenize:setup` step.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod encoder;
pub mod fast_bpe;
mod scanner;
mod splitter;
pub mod train;

use std::path::PathBuf;

/// What can go wrong with a tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A file that cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A tokenizer file or setting that cannot be used (the message names it).
    #[error("{0}")]
    Invalid(String),
    /// Encoding failed inside `tokenizers` (a bug, here or there).
    #[error("tokenizer: {0}")]
    Encode(String),
}

/// Result with [`TokenizerError`].
pub type Result<T, E = TokenizerError> = std::result::Result<T, E>;

impl TokenizerError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TokenizerError {
        let path = path.into();
        move |source| TokenizerError::Io { path, source }
    }
}
