//! Text → token ids for the stages: the fast byte-level BPE when the `tokenizer.json`
//! has a layout it reproduces exactly, `tokenizers` otherwise (and for any document the
//! fast path cannot split, e.g. a regex backtracking limit).

use std::path::Path;

use rayon::prelude::*;
use tokenizers::Tokenizer;

use crate::fast_bpe::FastBpe;
use crate::{Result, TokenizerError};

/// A loaded tokenizer.
pub struct Encoder {
    hf: Tokenizer,
    fast: Option<FastBpe>,
}

impl Encoder {
    /// Loads a `tokenizer.json` from its bytes; `path` names it in errors and logs.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Encoder> {
        // Both parse the whole file (megabytes for a large vocabulary): side by side.
        let (hf, fast) = rayon::join(
            || Tokenizer::from_bytes(bytes),
            || {
                serde_json::from_slice::<serde_json::Value>(bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|json| FastBpe::from_json(&json))
            },
        );
        let hf = hf.map_err(|e| {
            TokenizerError::Invalid(format!("{}: not a tokenizer.json: {e}", path.display()))
        })?;
        let fast = match fast {
            Ok(f) => Some(f),
            Err(why) => {
                tracing::info!(tokenizer = %path.display(), "using `tokenizers` (the fast encoder does not cover this layout: {why})");
                None
            }
        };
        Ok(Encoder { hf, fast })
    }

    /// Loads a `tokenizer.json` file.
    pub fn from_file(path: &Path) -> Result<Encoder> {
        let bytes = std::fs::read(path).map_err(TokenizerError::io(path))?;
        Encoder::from_bytes(&bytes, path)
    }

    /// The `tokenizers` object (vocabulary, special tokens, decoding).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.hf
    }

    /// True when ids come from the fast encoder.
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// The ids of each text, without special tokens added, in parallel on the current
    /// rayon pool.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        match &self.fast {
            Some(fast) => texts
                .par_iter()
                .map(|t| {
                    let mut ids = Vec::with_capacity(t.len() / 3 + 1);
                    match fast.encode(t, &mut ids) {
                        Ok(()) => Ok(ids),
                        Err(why) => {
                            tracing::debug!(
                                "fast encoder declined a document ({why}); using `tokenizers`"
                            );
                            self.encode_hf(t)
                        }
                    }
                })
                .collect(),
            None => Ok(self
                .hf
                .encode_batch(texts.to_vec(), false)
                .map_err(|e| TokenizerError::Encode(e.to_string()))?
                .into_iter()
                .map(|e| e.get_ids().to_vec())
                .collect()),
        }
    }

    /// The ids `tokenizers` gives for one text.
    pub fn encode_hf(&self, text: &str) -> Result<Vec<u32>> {
        self.hf
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| TokenizerError::Encode(e.to_string()))
    }
}

/// The outcome of [`check`]: both encoders over the same texts.
#[derive(Debug, serde::Serialize)]
pub struct CheckReport {
    /// Documents.
    pub docs: usize,
    /// Text bytes.
    pub bytes: usize,
    /// Tokens (`tokenizers`' count).
    pub tokens: usize,
    /// Documents whose ids differ.
    pub mismatches: usize,
    /// Index of the first differing document.
    pub first_mismatch: Option<usize>,
    /// Seconds `tokenizers`' `encode_batch` took (batches of 1,000).
    pub hf_seconds: f64,
    /// Seconds the fast encoder took.
    pub fast_seconds: f64,
    /// `tokenizers` MB/s.
    pub hf_mb_per_s: f64,
    /// Fast encoder MB/s.
    pub fast_mb_per_s: f64,
    /// fast ÷ `tokenizers` throughput.
    pub speedup: f64,
}

/// Encodes `texts` with `tokenizers` and with the fast encoder on the current rayon pool,
/// compares the ids document by document and times both.
pub fn check(encoder: &Encoder, texts: &[String]) -> Result<CheckReport> {
    if !encoder.is_fast() {
        return Err(TokenizerError::Invalid(
            "the fast encoder does not cover this tokenizer's layout (see the log)".into(),
        ));
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let start = std::time::Instant::now();
    let mut hf = Vec::with_capacity(texts.len());
    for chunk in refs.chunks(1000) {
        let enc = encoder
            .hf
            .encode_batch(chunk.to_vec(), false)
            .map_err(|e| TokenizerError::Encode(e.to_string()))?;
        hf.extend(enc.into_iter().map(|e| e.get_ids().to_vec()));
    }
    let hf_seconds = start.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    let mut fast = Vec::with_capacity(texts.len());
    for chunk in refs.chunks(1000) {
        fast.extend(encoder.encode_batch(chunk)?);
    }
    let fast_seconds = start.elapsed().as_secs_f64();
    let differs: Vec<usize> = (0..texts.len()).filter(|&i| hf[i] != fast[i]).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6;
    Ok(CheckReport {
        docs: texts.len(),
        bytes,
        tokens: hf.iter().map(Vec::len).sum(),
        mismatches: differs.len(),
        first_mismatch: differs.first().copied(),
        hf_seconds,
        fast_seconds,
        hf_mb_per_s: mb / hf_seconds.max(1e-9),
        fast_mb_per_s: mb / fast_seconds.max(1e-9),
        speedup: hf_seconds / fast_seconds.max(1e-9),
    })
}
