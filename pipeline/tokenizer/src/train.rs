//! `taojin train-tokenizer`: a byte-level BPE trained on a job's kept text, with the
//! choices the Yi report describes — digits split into single tokens, no normalization
//! (full-width punctuation stays as written), every byte representable (byte-level BPE
//! needs no separate byte fallback) — and runs of Han characters cut into pieces of at
//! most four before merging, so merges stay word-sized and encoding stays fast.

use std::collections::HashSet;
use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use crate::{Result, TokenizerError};

/// Special tokens every trained tokenizer has, in id order after the merges.
pub const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|startoftext|>", "<|pad|>"];

/// The pre-tokenizer split: contractions, Han runs of at most 4, other letter runs with
/// one leading non-letter, single digits, punctuation runs, newlines, spaces.
pub const SPLIT_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|\p{Han}{1,4}|[^\r\n\p{L}\p{N}]?[\p{L}&&[^\p{Han}]]+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

fn tok_err(e: impl std::fmt::Display) -> TokenizerError {
    TokenizerError::Invalid(format!("tokenizer: {e}"))
}

/// Trains a BPE of `vocab` tokens on `texts` and writes `tokenizer.json` to `out`.
pub fn train(texts: Vec<String>, vocab: usize, out: &Path) -> Result<Tokenizer> {
    if texts.is_empty() {
        return Err(TokenizerError::Invalid(
            "train-tokenizer: no text to train on".into(),
        ));
    }
    let split = Split::new(
        SplitPattern::Regex(SPLIT_PATTERN.into()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(tok_err)?;
    let pre = Sequence::new(vec![
        PreTokenizerWrapper::Split(split),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, false)),
    ]);
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(pre)));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let specials: Vec<AddedToken> = SPECIAL_TOKENS
        .iter()
        .map(|t| AddedToken::from(*t, true))
        .collect();
    let trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab)
        .min_frequency(2)
        .show_progress(false)
        .initial_alphabet(alphabet)
        .special_tokens(specials)
        .build();
    let mut trainer = TrainerWrapper::BpeTrainer(trainer);
    tokenizer
        .train(&mut trainer, texts.into_iter())
        .map_err(tok_err)?;
    // Saved under a unique temporary name beside `out`, then renamed into place.
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempfile_in(dir)
        .map_err(TokenizerError::io(dir))?
        .into_temp_path();
    tokenizer.save(&tmp, false).map_err(tok_err)?;
    tmp.persist(out).map_err(|e| TokenizerError::Io {
        path: out.to_path_buf(),
        source: e.error,
    })?;
    Ok(tokenizer)
}
