//! The engine's error type: user mistakes, bad input, runtime failures and bugs kept apart,
//! so the CLI can say which one the user is looking at.

use std::path::{Path, PathBuf};

use taojin_schemas::{ConservationError, JobError};

/// Result with [`PipelineError`].
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

/// Everything that can stop a job.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The job file is wrong (the message names the key).
    #[error("{file}: {source}")]
    Job {
        /// The job file.
        file: String,
        /// What is wrong.
        source: JobError,
    },
    /// A setting or argument is wrong in a way the job file parser cannot see.
    #[error("{0}")]
    Config(String),
    /// The output is held by another run (the message names it and what to do); a
    /// retry cannot help until that run ends, so it has its own exit code (4).
    #[error("{0}")]
    InUse(String),
    /// Object storage failed after its retries (the message names the object).
    #[error("{0}")]
    Storage(String),
    /// A record (or a whole file, `line` 0) that cannot be read under `on_bad_record = "fail"`.
    #[error("{}", located(file, *line, detail))]
    BadRecord {
        /// The input file.
        file: String,
        /// 1-based line (JSONL) or row (Parquet).
        line: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// A file or stream that cannot be read any further (truncated archive, bad footer).
    #[error("{file}: corrupt or truncated input after line {line}: {detail}")]
    Corrupt {
        /// The file.
        file: String,
        /// Last line read completely.
        line: u64,
        /// The decoder's message.
        detail: String,
    },
    /// An I/O failure on a named path.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Parquet could not read or write a named file.
    #[error("{}: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The Parquet error.
        source: parquet::errors::ParquetError,
    },
    /// A tokenizer that cannot be loaded, trained or used.
    #[error(transparent)]
    Tokenizer(#[from] taojin_tokenizer::TokenizerError),
    /// A language model that cannot be read or trained.
    #[error(transparent)]
    Lm(#[from] taojin_filters::lm::LmError),
    /// An Arrow kernel failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Accounting does not add up.
    #[error("internal error (a bug in taojin, please report it): {0}")]
    Conservation(#[from] ConservationError),
    /// Any other bug.
    #[error("internal error (a bug in taojin, please report it): {0}")]
    Internal(String),
}

/// `file:line: detail`, or `file: detail` where there is no line (whole files, WARC
/// records, whose detail names the byte offset).
pub(crate) fn located(file: &str, line: u64, detail: &str) -> String {
    if line == 0 {
        format!("{file}: {detail}")
    } else {
        format!("{file}:{line}: {detail}")
    }
}

impl PipelineError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<Path>) -> impl Fn(std::io::Error) -> PipelineError {
        let path = path.as_ref().to_path_buf();
        move |source| PipelineError::Io {
            path: path.clone(),
            source,
        }
    }

    /// Wraps a Parquet error with the file it concerns.
    pub fn parquet(
        path: impl AsRef<Path>,
    ) -> impl FnOnce(parquet::errors::ParquetError) -> PipelineError {
        let path = path.as_ref().to_path_buf();
        move |source| PipelineError::Parquet { path, source }
    }

    /// True for bugs in taojin rather than problems with the job or its input.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            PipelineError::Conservation(_)
                | PipelineError::Internal(_)
                | PipelineError::Tokenizer(taojin_tokenizer::TokenizerError::Encode(_))
        )
    }
}
