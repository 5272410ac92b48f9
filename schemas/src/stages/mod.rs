//! The stages of a job file: one module per stage kind holding its parameters, their
//! defaults and their validation. [`stage_kinds!`] is the registration: one line per
//! kind gives the `StageSpec` variant, its `kind` string and the per-kind checks.

pub mod classifier;
pub mod dedup;
pub mod extract;
pub mod langid;
pub mod mix;
pub mod normalize;
pub mod perplexity;
pub mod read;
pub mod safety;
pub mod tokenize;
pub mod topics;

use serde::{Deserialize, Serialize};

use crate::bytesize::ByteSize;
use crate::job::{JobError, invalid};

pub use crate::quality;

/// Whether a stage that judges documents also removes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageMode {
    /// Write the signal columns and remove rejected documents with a reason.
    #[default]
    Drop,
    /// Write the signal columns only; keep every document.
    Annotate,
}

/// Where a stage stands in its job, for validation.
#[derive(Debug)]
pub struct StageAt<'a> {
    /// Its index in `[[stages]]`.
    pub index: usize,
    /// `stages[i]`, the prefix of the keys an error names.
    pub key: String,
    /// The stages before it.
    pub before: &'a [StageSpec],
    /// True for the job's last stage.
    pub last: bool,
}

/// What every stage kind's parameters tell the job file parser.
pub trait StageParams {
    /// The `name` key, if given.
    fn name(&self) -> Option<&str>;

    /// Checks what serde cannot: sane numbers, order constraints.
    fn validate(&self, _at: &StageAt<'_>) -> Result<(), JobError> {
        Ok(())
    }
}

impl<T: StageParams> StageParams for Box<T> {
    fn name(&self) -> Option<&str> {
        self.as_ref().name()
    }

    fn validate(&self, at: &StageAt<'_>) -> Result<(), JobError> {
        self.as_ref().validate(at)
    }
}

/// The default `memory_limit` of the global stages: 1 GiB.
/// Serde default of switches that are on unless turned off.
fn default_true() -> bool {
    true
}

fn default_memory_limit() -> ByteSize {
    ByteSize(1 << 30)
}

fn check_memory_limit(at: &StageAt<'_>, limit: ByteSize) -> Result<(), JobError> {
    match limit.0 {
        0 => Err(invalid(format!("{}.memory_limit", at.key), "must be > 0")),
        _ => Ok(()),
    }
}

/// The first line of a parser message (the rest repeats where it was).
fn first_line(message: &str) -> String {
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The registration of stage kinds: `Variant(Spec) = "kind"`, with its doc comment.
macro_rules! stage_kinds {
    ($( $(#[$doc:meta])* $variant:ident($spec:ty) = $kind:literal, )*) => {
        /// `[[stages]]`: one stage, tagged by `kind`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum StageSpec {
            $( $(#[$doc])* #[serde(rename = $kind)] $variant($spec), )*
        }

        impl StageSpec {
            /// The stage kind as written in the job file.
            pub fn kind(&self) -> &'static str {
                match self { $( StageSpec::$variant(_) => $kind, )* }
            }

            /// The stage name: `name` if given, else the kind. Also its output folder name.
            pub fn name(&self) -> &str {
                match self { $( StageSpec::$variant(s) => s.name().unwrap_or($kind), )* }
            }

            /// Its parameters.
            pub fn params(&self) -> &dyn StageParams {
                match self { $( StageSpec::$variant(s) => s, )* }
            }
        }

        /// Deserializes one `[[stages]]` table as the spec of `kind`, so that a bad value
        /// is reported with its key (serde cannot track keys inside a tagged enum).
        pub(crate) fn locate_error(kind: &str, table: toml::Table) -> Option<(String, String)> {
            match kind {
                $( $kind => serde_path_to_error::deserialize::<_, $spec>(table)
                    .err()
                    .map(|e| (e.path().to_string(), first_line(&e.into_inner().to_string()))), )*
                _ => None,
            }
        }
    };
}

stage_kinds! {
    /// Reads the inputs into documents and keeps them all (only bad records are set
    /// aside). Put first by the planner when the first stage needs a whole stage.
    Read(read::ReadSpec) = "read",
    /// Main text out of HTML (WARC responses or an input's `html_field`): charset
    /// decoding, boilerplate removal for Chinese and English.
    Extract(extract::ExtractSpec) = "extract",
    /// Unicode and whitespace normalization; drops documents left empty.
    Normalize(normalize::NormalizeSpec) = "normalize",
    /// Language identification (fastText lid.176) and routing by language.
    Langid(langid::LangIdSpec) = "langid",
    /// Exact duplicates of the normalized text, across the whole job.
    ExactDedup(dedup::ExactDedupSpec) = "exact_dedup",
    /// Near duplicates by MinHash-LSH, clustered across the whole job.
    MinhashDedup(dedup::MinhashDedupSpec) = "minhash_dedup",
    /// Lines repeated across many documents (boilerplate), removed from every document.
    LineDedup(dedup::LineDedupSpec) = "line_dedup",
    /// Spans of `min_tokens` units repeated anywhere earlier in the job, cut out (Lee et
    /// al.'s ExactSubstr).
    SubstringDedup(dedup::SubstringDedupSpec) = "substring_dedup",
    /// A learned quality score (fastText supervised model from `taojin train-classifier`).
    Classifier(classifier::ClassifierSpec) = "classifier",
    /// CCNet's n-gram perplexity per language model, bucketed by the run's percentiles.
    Perplexity(perplexity::PerplexitySpec) = "perplexity",
    /// Keyword and pattern signals for pornography, gambling, violence and drugs.
    Safety(safety::SafetySpec) = "safety",
    /// Heuristic quality rules for English and Chinese, line cleaning, PII, blocklists.
    Quality(Box<quality::QualitySpec>) = "quality",
    /// Topic clusters: hashed TF-IDF vectors, seeded spherical k-means (`topic.id`).
    Topics(topics::TopicsSpec) = "topics",
    /// Sources by SQL predicate, each sampled to a share of tokens (down- or up-sampled).
    Mix(mix::MixSpec) = "mix",
    /// Tokenize, pack into fixed-length rows, shuffle and write training shards.
    Tokenize(tokenize::TokenizeSpec) = "tokenize",
}
