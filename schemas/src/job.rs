//! The job file: what to read, which stages to run, and with which parameters.
//!
//! A job file is TOML parsed into these serde types with unknown keys rejected, then
//! validated ([`JobSpec::validate`]). The types round-trip through serde, and the
//! canonical JSON of each stage (with everything before it) is hashed into the stage's
//! config hash: that hash is what resume markers compare.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A job file that could not be read as a valid job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The TOML did not parse, or a key was unknown or had a bad value (the message names it).
    #[error("{0}")]
    Parse(#[from] toml::de::Error),
    /// The file parsed but a value is not acceptable.
    #[error("invalid value for `{key}`: {message}")]
    Invalid {
        /// Dotted path of the key, e.g. `stages[1].name`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The whole job file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// `[job]`: name, output folder and run-wide settings.
    pub job: JobSection,
    /// `[[inputs]]`: the corpora to read.
    #[serde(default)]
    pub inputs: Vec<InputSpec>,
    /// `[[stages]]`: the ordered list of stages.
    #[serde(default)]
    pub stages: Vec<StageSpec>,
    /// `[storage]`: object-store settings (not part of any config hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// `[slurm]`: resource hints for `taojin slurm` (not part of any config hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<SlurmSpec>,
    /// `[k8s]`: settings for `taojin k8s` (not part of any config hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<K8sSpec>,
}

/// `[storage]`: where S3 is and where outputs on S3 are staged locally.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// Local folder mirroring an `s3://` output while tasks run (default: a folder under
    /// the system temp folder named after the output URL). The environment variable
    /// `TAOJIN_STAGING_DIR` overrides it, e.g. with node-local scratch on a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging_dir: Option<String>,
    /// `[storage.s3]`.
    #[serde(default)]
    pub s3: S3Spec,
}

/// `[storage.s3]`: for S3-compatible stores (MinIO, Ceph, R2, a local test server).
/// Credentials always come from the standard AWS chain, never from the job file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Spec {
    /// Endpoint URL (else `AWS_ENDPOINT_URL` or AWS itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Path-style addressing; default: on when an endpoint is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_path_style: Option<bool>,
    /// Region (else `AWS_REGION`, the profile, or `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Attempts per request before giving up (default 10), with exponential backoff and
    /// jitter between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
}

/// `[slurm]`: what every generated sbatch script asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmSpec {
    /// `--partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// `--account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `--cpus-per-task`; also the task's `--threads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_per_task: Option<usize>,
    /// `--mem`, e.g. `"8G"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// `--time`, e.g. `"02:00:00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// At most this many array tasks at once (`--array=0-N%max_parallel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<usize>,
    /// Extra `#SBATCH` lines, verbatim (e.g. `"--qos=low"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<String>,
}

/// `[k8s]`: what every generated Indexed Job uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K8sSpec {
    /// Container image with `taojin` on its PATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Namespace of the Jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// CPU request and limit per pod (also the task's `--threads`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<usize>,
    /// Memory request and limit per pod, e.g. `"8Gi"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// A PersistentVolumeClaim holding the job file, data and output (shared by all pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_claim: Option<String>,
    /// Where the claim is mounted; the job file's path must be valid inside the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Pods running at once per Job (default: all of its tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<usize>,
}

/// What to do with a record that cannot be read (bad JSON, invalid UTF-8, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadRecordPolicy {
    /// Stop the run with an error naming the file and line.
    #[default]
    Fail,
    /// Count it under reason `bad_record` and keep it raw in `removed/`.
    Skip,
}

/// `[job]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    /// Job name, shown in logs and stats.
    pub name: String,
    /// Output folder; relative paths resolve against the job file's folder.
    pub output: String,
    /// Seed of every random choice the job makes (sampling, shuffles).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Policy for malformed records.
    #[serde(default)]
    pub on_bad_record: BadRecordPolicy,
    /// Documents whose text is longer than this many bytes are bad records.
    #[serde(default = "default_max_doc_bytes")]
    pub max_doc_bytes: u64,
    /// Target size of one ingest task: larger uncompressed JSONL files and Parquet files
    /// are split into tasks of about this many bytes.
    #[serde(default = "default_split_bytes")]
    pub split_bytes: u64,
    /// Rows per in-memory batch (batches are also cut at 64 MiB of text).
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// zstd level of the Parquet files stages write.
    #[serde(default = "default_zstd_level")]
    pub zstd_level: i32,
}

fn default_seed() -> u64 {
    42
}
fn default_max_doc_bytes() -> u64 {
    32 << 20
}
fn default_split_bytes() -> u64 {
    256 << 20
}
fn default_batch_rows() -> usize {
    2048
}
fn default_zstd_level() -> i32 {
    1
}

/// The format of an input, when its file names do not say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputFormat {
    /// JSON Lines, optionally `.zst` or `.gz` compressed.
    Jsonl,
    /// Apache Parquet.
    Parquet,
    /// One document per `.txt` file (globs may name directories).
    Txt,
}

/// `[[inputs]]`: one named corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Input name, written to the `source` column: the unit of mixing.
    pub name: String,
    /// A path or glob; relative to the job file's folder.
    pub path: String,
    /// Format; by default taken from each file's extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<InputFormat>,
    /// Field holding the text.
    #[serde(default = "default_text_field")]
    pub text_field: String,
    /// Field holding the document id; missing ids are derived as `source/file/line`.
    #[serde(default = "default_id_field")]
    pub id_field: String,
    /// Field holding the URL.
    #[serde(default = "default_url_field")]
    pub url_field: String,
}

fn default_text_field() -> String {
    "text".into()
}
fn default_id_field() -> String {
    "id".into()
}
fn default_url_field() -> String {
    "url".into()
}

/// `[[stages]]`: one stage, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageSpec {
    /// Unicode and whitespace normalization; drops documents left empty.
    Normalize(NormalizeSpec),
    /// Language identification (fastText lid.176) and routing by language.
    Langid(LangIdSpec),
    /// Exact duplicates of the normalized text, across the whole job.
    ExactDedup(ExactDedupSpec),
    /// Near duplicates by MinHash-LSH, clustered across the whole job.
    MinhashDedup(MinhashDedupSpec),
    /// Lines repeated across many documents (boilerplate), removed from every document.
    LineDedup(LineDedupSpec),
    /// A learned quality score (fastText supervised model from `taojin train-classifier`).
    Classifier(ClassifierSpec),
    /// Heuristic quality rules for English and Chinese, line cleaning, PII, blocklists.
    Quality(Box<crate::quality::QualitySpec>),
    /// Sources by SQL predicate, each sampled to a share of tokens (down- or up-sampled).
    Mix(MixSpec),
    /// Tokenize, pack into fixed-length rows, shuffle and write training shards.
    Tokenize(TokenizeSpec),
}

impl StageSpec {
    /// The stage kind as written in the job file.
    pub fn kind(&self) -> &'static str {
        match self {
            StageSpec::Normalize(_) => "normalize",
            StageSpec::Langid(_) => "langid",
            StageSpec::ExactDedup(_) => "exact_dedup",
            StageSpec::MinhashDedup(_) => "minhash_dedup",
            StageSpec::LineDedup(_) => "line_dedup",
            StageSpec::Classifier(_) => "classifier",
            StageSpec::Quality(_) => "quality",
            StageSpec::Mix(_) => "mix",
            StageSpec::Tokenize(_) => "tokenize",
        }
    }

    /// The stage name: `name` if given, else the kind. Also its output folder name.
    pub fn name(&self) -> &str {
        match self {
            StageSpec::Normalize(s) => s.name.as_deref().unwrap_or("normalize"),
            StageSpec::Langid(s) => s.name.as_deref().unwrap_or("langid"),
            StageSpec::ExactDedup(s) => s.name.as_deref().unwrap_or("exact_dedup"),
            StageSpec::MinhashDedup(s) => s.name.as_deref().unwrap_or("minhash_dedup"),
            StageSpec::LineDedup(s) => s.name.as_deref().unwrap_or("line_dedup"),
            StageSpec::Classifier(s) => s.name.as_deref().unwrap_or("classifier"),
            StageSpec::Quality(s) => s.name.as_deref().unwrap_or("quality"),
            StageSpec::Mix(s) => s.name.as_deref().unwrap_or("mix"),
            StageSpec::Tokenize(s) => s.name.as_deref().unwrap_or("tokenize"),
        }
    }
}

/// Parameters of the `normalize` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeSpec {
    /// Stage name (default `normalize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Remove ANSI terminal escape sequences (`ESC [ … m`) along with control characters.
    #[serde(default = "yes")]
    pub strip_ansi: bool,
    /// Map exotic spaces (no-break, thin, en/em …) to ASCII space. The ideographic space
    /// U+3000 is kept: it is Chinese typography, not noise.
    #[serde(default = "yes")]
    pub unify_spaces: bool,
    /// Collapse runs of spaces and tabs inside a line to one space (off by default: it
    /// destroys code and table layout).
    #[serde(default)]
    pub collapse_spaces: bool,
    /// Longest run of blank lines kept.
    #[serde(default = "one")]
    pub max_blank_lines: usize,
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}

impl Default for NormalizeSpec {
    fn default() -> Self {
        NormalizeSpec {
            name: None,
            strip_ansi: true,
            unify_spaces: true,
            collapse_spaces: false,
            max_blank_lines: 1,
        }
    }
}

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

/// How a document mixing languages gets its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixedPolicy {
    /// The language with the largest share of the text.
    #[default]
    Primary,
    /// Chinese whenever its share reaches `mixed_zh_min_frac`, even if another language
    /// has more text (keeps Chinese pages full of English terms and code in the zh mix).
    ZhIfAbove,
}

/// Parameters of the `langid` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangIdSpec {
    /// Stage name (default `langid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` (default) or `annotate`.
    #[serde(default)]
    pub mode: StageMode,
    /// fastText model (`lid.176.ftz` or `lid.176.bin`); relative to the job file.
    pub model: String,
    /// Labels kept in `drop` mode.
    #[serde(default = "default_keep")]
    pub keep: Vec<String>,
    /// Minimum `lang_score` per label; `zh` applies to `zh-Hans` and `zh-Hant`. Labels not
    /// listed use `default_min_score`.
    #[serde(default = "default_min_score_map")]
    pub min_score: std::collections::BTreeMap<String, f32>,
    /// Minimum score for labels not in `min_score`.
    #[serde(default = "half")]
    pub default_min_score: f32,
    /// Chinese documents need at least this share of Han characters among letters.
    #[serde(default = "default_min_han_ratio")]
    pub min_han_ratio: f32,
    /// Labelling of mixed documents.
    #[serde(default)]
    pub mixed: MixedPolicy,
    /// Chinese share that makes a document Chinese under `mixed = "zh_if_above"`.
    #[serde(default = "default_mixed_zh_min_frac")]
    pub mixed_zh_min_frac: f32,
    /// Convert zh-Hant documents to Simplified; the original label goes to `langid.orig_script`.
    #[serde(default)]
    pub to_simplified: bool,
    /// At most this many paragraphs of a document are classified (evenly spread), which
    /// bounds the cost of very long documents.
    #[serde(default = "default_max_paragraphs")]
    pub max_paragraphs: usize,
    /// Paragraphs are classified in pieces of at most this many bytes.
    #[serde(default = "default_max_paragraph_bytes")]
    pub max_paragraph_bytes: usize,
}

fn default_keep() -> Vec<String> {
    vec!["en".into(), "zh-Hans".into(), "zh-Hant".into()]
}
// Defaults from the published pipelines: zh ≥ 0.5 is CCNet's document-level threshold
// (`lang_threshold = 0.5`); en ≥ 0.65 is FineWeb's (§3.3).
fn default_min_score_map() -> std::collections::BTreeMap<String, f32> {
    [("en".to_string(), 0.65), ("zh".to_string(), 0.5)]
        .into_iter()
        .collect()
}
fn half() -> f32 {
    0.5
}
// Han share ≥ 0.3 follows ChineseWebText's `min_zh_percent` filter.
fn default_min_han_ratio() -> f32 {
    0.3
}
fn default_mixed_zh_min_frac() -> f32 {
    0.3
}
fn default_max_paragraphs() -> usize {
    64
}
fn default_max_paragraph_bytes() -> usize {
    4096
}

impl LangIdSpec {
    /// A spec with every default and the given model path.
    pub fn with_model(model: &str) -> LangIdSpec {
        LangIdSpec {
            name: None,
            mode: StageMode::Drop,
            model: model.to_string(),
            keep: default_keep(),
            min_score: default_min_score_map(),
            default_min_score: half(),
            min_han_ratio: default_min_han_ratio(),
            mixed: MixedPolicy::Primary,
            mixed_zh_min_frac: default_mixed_zh_min_frac(),
            to_simplified: false,
            max_paragraphs: default_max_paragraphs(),
            max_paragraph_bytes: default_max_paragraph_bytes(),
        }
    }

    /// The minimum score of a label.
    pub fn min_score_for(&self, lang: &str) -> f32 {
        let family = if lang.starts_with("zh-") { "zh" } else { lang };
        self.min_score
            .get(lang)
            .or_else(|| self.min_score.get(family))
            .copied()
            .unwrap_or(self.default_min_score)
    }
}

/// Which member of a duplicate cluster survives: `smallest_id` (default), `longest`, or
/// `highest:<column>` (the largest value of a numeric column, e.g. a quality score).
/// Ties always fall back to the smallest id, so the choice never depends on timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SurvivorRule {
    /// The lexicographically smallest document id.
    SmallestId,
    /// The longest text.
    Longest,
    /// The highest value of a Float/Int column.
    Highest(String),
}

impl TryFrom<String> for SurvivorRule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "smallest_id" => Ok(SurvivorRule::SmallestId),
            "longest" => Ok(SurvivorRule::Longest),
            _ => match s.strip_prefix("highest:") {
                Some(col) if !col.is_empty() => Ok(SurvivorRule::Highest(col.to_string())),
                _ => Err(format!(
                    "`{s}`: expected \"smallest_id\", \"longest\" or \"highest:<column>\""
                )),
            },
        }
    }
}

impl From<SurvivorRule> for String {
    fn from(r: SurvivorRule) -> String {
        match r {
            SurvivorRule::SmallestId => "smallest_id".into(),
            SurvivorRule::Longest => "longest".into(),
            SurvivorRule::Highest(c) => format!("highest:{c}"),
        }
    }
}

fn default_survivor() -> SurvivorRule {
    SurvivorRule::SmallestId
}
fn default_memory_limit() -> String {
    "1GiB".into()
}

/// Parses a byte size such as `512MiB`, `2GB`, `64KiB` or `1048576`.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Parameters of the `exact_dedup` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactDedupSpec {
    /// Stage name (default `exact_dedup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` (default) or `annotate` (only writes `exact_dup.cluster_size`).
    #[serde(default)]
    pub mode: StageMode,
    /// Survivor of each group of exact duplicates.
    #[serde(default = "default_survivor")]
    pub keep: SurvivorRule,
    /// Memory the grouping may use; beyond it the keys are spread over more spill partitions.
    #[serde(default = "default_memory_limit")]
    pub memory_limit: String,
}

/// Parameters of the `minhash_dedup` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinhashDedupSpec {
    /// Stage name (default `minhash_dedup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` (default) or `annotate` (clusters written, nothing removed).
    #[serde(default)]
    pub mode: StageMode,
    /// LSH bands (FineWeb: 14).
    #[serde(default = "default_bands")]
    pub bands: usize,
    /// Rows per band (FineWeb: 8); permutations = bands × rows.
    #[serde(default = "default_rows")]
    pub rows: usize,
    /// Shingle size in words for Latin-script documents (FineWeb: 5).
    #[serde(default = "default_n_latin")]
    pub ngram_latin: usize,
    /// Shingle size in characters for Chinese/Japanese/Korean documents (7 ≈ 5 words).
    #[serde(default = "default_n_han")]
    pub ngram_han: usize,
    /// Only the first this many tokens of a document are shingled.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    /// Check every candidate pair's true shingle Jaccard against `threshold` before joining it.
    #[serde(default)]
    pub verify: bool,
    /// Jaccard threshold used by `verify`, and shown beside the S-curve.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Survivor of each cluster.
    #[serde(default = "default_survivor")]
    pub keep: SurvivorRule,
    /// Memory the band grouping may use; beyond it the band keys spill to more partitions.
    #[serde(default = "default_memory_limit")]
    pub memory_limit: String,
}

fn default_bands() -> usize {
    14
}
fn default_rows() -> usize {
    8
}
fn default_n_latin() -> usize {
    5
}
fn default_n_han() -> usize {
    7
}
fn default_max_tokens() -> usize {
    100_000
}
fn default_threshold() -> f64 {
    0.8
}

/// Parameters of the `line_dedup` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineDedupSpec {
    /// Stage name (default `line_dedup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A line found in more than this many documents is removed from all of them.
    #[serde(default = "default_max_occurrences")]
    pub max_occurrences: u32,
    /// Lines with fewer letters and digits than this are never removed.
    #[serde(default = "default_min_line_chars")]
    pub min_line_chars: usize,
    /// Memory the counting may use; beyond it the line keys spill to more partitions.
    #[serde(default = "default_memory_limit")]
    pub memory_limit: String,
}

fn default_max_occurrences() -> u32 {
    8
}
fn default_min_line_chars() -> usize {
    10
}

/// Parameters of the `classifier` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierSpec {
    /// Stage name (default `classifier`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `drop` removes documents under `min_score`; `annotate` (default) only scores.
    #[serde(default = "annotate")]
    pub mode: StageMode,
    /// The model file; relative to the job file.
    pub model: String,
    /// Column the score goes to.
    #[serde(default = "default_score_column")]
    pub column: String,
    /// In `drop` mode, documents scoring below this are removed as `classifier:low_score`.
    #[serde(default = "half_f32")]
    pub min_score: f32,
}

fn annotate() -> StageMode {
    StageMode::Annotate
}
fn default_score_column() -> String {
    "quality.score".into()
}
fn half_f32() -> f32 {
    0.5
}

/// Parameters of the `mix` stage: which documents make up the training mix and how often
/// each is seen. A document belongs to the first source whose predicate it matches;
/// documents no source selects are removed as `mix_unselected`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    /// Stage name (default `mix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tokens of the whole mix. Unset: the largest mix in which no weighted source is
    /// repeated (the scarcest source, relative to its weight, is taken whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// Re-weighting of documents inside a source by `dup_cluster_size` (from
    /// `minhash_dedup`): `none`, `sqrt`, `log` (1 + ln size) or `linear`. The source's
    /// token target is unchanged; survivors of big clusters get more of it.
    #[serde(default)]
    pub cluster_weight: ClusterWeight,
    /// A `tokenizer.json` (relative to the job file) to calibrate the token estimates:
    /// one document in 16 is tokenized exactly. Unset: estimates from characters alone
    /// (Han characters ×0.7 + other bytes ÷4.2, typical of large bilingual vocabularies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// The sources, in order of precedence.
    pub sources: Vec<MixSource>,
}

/// One source of a mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSource {
    /// Name, written to `mix.source` and reported in the manifest.
    pub name: String,
    /// A SQL boolean expression over the columns of the stage before (DataFusion
    /// dialect), e.g. `lang = 'en' AND "quality.score" > 0.5`.
    #[serde(rename = "where")]
    pub predicate: String,
    /// Share of the weighted part of the mix (weights are normalized to sum to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// An absolute target in tokens, instead of a weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Never repeat this source more than this many times (caps up-sampling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epochs: Option<f64>,
}

/// How documents of a source are re-weighted by their near-duplicate cluster size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterWeight {
    /// Every document weighs the same.
    #[default]
    None,
    /// Weight √size.
    Sqrt,
    /// Weight 1 + ln size.
    Log,
    /// Weight size: as if the removed duplicates were still there.
    Linear,
}

impl ClusterWeight {
    /// The weight of a document whose cluster has `size` members.
    pub fn weight(self, size: u32) -> f64 {
        let k = f64::from(size.max(1));
        match self {
            ClusterWeight::None => 1.0,
            ClusterWeight::Sqrt => k.sqrt(),
            ClusterWeight::Log => 1.0 + k.ln(),
            ClusterWeight::Linear => k,
        }
    }
}

impl MixSpec {
    fn validate(&self, i: usize) -> Result<(), JobError> {
        if self.sources.is_empty() {
            return Err(invalid(
                format!("stages[{i}].sources"),
                "at least one [[stages.sources]] is required",
            ));
        }
        let mut names = BTreeSet::new();
        for (j, s) in self.sources.iter().enumerate() {
            let key = format!("stages[{i}].sources[{j}]");
            check_name(format!("{key}.name"), &s.name)?;
            if !names.insert(s.name.as_str()) {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("`{}` is used twice", s.name),
                ));
            }
            if s.predicate.trim().is_empty() {
                return Err(invalid(format!("{key}.where"), "must not be empty"));
            }
            match (s.weight, s.tokens) {
                (Some(w), None) if w.is_finite() && w > 0.0 => {}
                (None, Some(_)) => {}
                _ => {
                    return Err(invalid(
                        key,
                        "give exactly one of `weight` (> 0) or `tokens`",
                    ));
                }
            }
            if s.max_epochs.is_some_and(|e| !(e.is_finite() && e > 0.0)) {
                return Err(invalid(format!("{key}.max_epochs"), "must be > 0"));
            }
        }
        let fixed: u64 = self.sources.iter().filter_map(|s| s.tokens).sum();
        if let Some(total) = self.total_tokens {
            let weighted = self.sources.iter().any(|s| s.weight.is_some());
            if fixed > total || (weighted && fixed == total) {
                return Err(invalid(
                    format!("stages[{i}].total_tokens"),
                    "must exceed the sum of the sources' `tokens` targets",
                ));
            }
        }
        Ok(())
    }
}

/// Parameters of the `tokenize` stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizeSpec {
    /// Stage name (default `tokenize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An HF `tokenizer.json`; relative to the job file.
    pub tokenizer: String,
    /// When the tokenizer file does not exist: train a byte-level BPE of this many tokens
    /// on the documents entering this stage and write it there (`taojin train-tokenizer`
    /// does the same as a separate command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_vocab: Option<usize>,
    /// Tokens per training row.
    #[serde(default = "default_seq_len")]
    pub seq_len: usize,
    /// Target size of one shard file.
    #[serde(default = "default_shard_bytes")]
    pub shard_bytes: String,
    /// Share of documents (not rows) that go to the validation split.
    #[serde(default = "default_valid_fraction")]
    pub valid_fraction: f64,
    /// The end-of-document token appended after every document.
    #[serde(default = "default_eos")]
    pub eos: String,
    /// Memory the row shuffle may use; beyond it rows spill to more buckets.
    #[serde(default = "default_memory_limit")]
    pub memory_limit: String,
}

fn default_seq_len() -> usize {
    2048
}
fn default_shard_bytes() -> String {
    "256MiB".into()
}
fn default_valid_fraction() -> f64 {
    0.01
}
fn default_eos() -> String {
    "<|endoftext|>".into()
}

/// Names reserved for other things in the output folder.
const RESERVED_NAMES: &[&str] = &["shards", "stats.json", "removed"];

fn check_name(key: String, name: &str) -> Result<(), JobError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !RESERVED_NAMES.contains(&name);
    if ok {
        Ok(())
    } else {
        Err(JobError::Invalid {
            key,
            message: format!(
                "`{name}` must be 1–64 characters of a-z, 0-9, `_`, `-` and not one of {RESERVED_NAMES:?}"
            ),
        })
    }
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> JobError {
    JobError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl JobSpec {
    /// Parses and validates a job file's text.
    pub fn from_toml(text: &str) -> Result<JobSpec, JobError> {
        let spec: JobSpec = toml::from_str(text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// The job as TOML; parsing it back gives an equal `JobSpec`.
    pub fn to_toml(&self) -> String {
        // Serializing plain structs of strings, numbers and bools to TOML cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks what serde cannot: non-empty lists, unique names, sane numbers.
    pub fn validate(&self) -> Result<(), JobError> {
        if self.job.name.trim().is_empty() {
            return Err(invalid("job.name", "must not be empty"));
        }
        if self.job.output.trim().is_empty() {
            return Err(invalid("job.output", "must not be empty"));
        }
        if self.job.max_doc_bytes == 0 {
            return Err(invalid("job.max_doc_bytes", "must be > 0"));
        }
        if self.job.split_bytes == 0 {
            return Err(invalid("job.split_bytes", "must be > 0"));
        }
        if self.job.batch_rows == 0 {
            return Err(invalid("job.batch_rows", "must be > 0"));
        }
        if !(1..=22).contains(&self.job.zstd_level) {
            return Err(invalid("job.zstd_level", "must be 1..=22"));
        }
        if self.inputs.is_empty() {
            return Err(invalid("inputs", "at least one [[inputs]] is required"));
        }
        let mut seen = BTreeSet::new();
        for (i, input) in self.inputs.iter().enumerate() {
            check_name(format!("inputs[{i}].name"), &input.name)?;
            if !seen.insert(input.name.as_str()) {
                return Err(invalid(
                    format!("inputs[{i}].name"),
                    format!("`{}` is used twice", input.name),
                ));
            }
            if input.path.trim().is_empty() {
                return Err(invalid(format!("inputs[{i}].path"), "must not be empty"));
            }
        }
        if self.stages.is_empty() {
            return Err(invalid("stages", "at least one [[stages]] is required"));
        }
        let mut seen = BTreeSet::new();
        for (i, stage) in self.stages.iter().enumerate() {
            check_name(format!("stages[{i}].name"), stage.name())?;
            if let StageSpec::Tokenize(t) = stage {
                if t.seq_len < 2
                    || !(0.0..1.0).contains(&t.valid_fraction)
                    || parse_bytes(&t.shard_bytes).is_none_or(|b| b == 0)
                {
                    return Err(invalid(
                        format!("stages[{i}]"),
                        "seq_len ≥ 2, 0 ≤ valid_fraction < 1, shard_bytes a size",
                    ));
                }
                if i + 1 != self.stages.len() {
                    return Err(invalid(
                        format!("stages[{i}].kind"),
                        "`tokenize` must be the last stage",
                    ));
                }
            }
            if let StageSpec::Mix(m) = stage {
                m.validate(i)?;
                if i == 0 {
                    return Err(invalid(
                        format!("stages[{i}].kind"),
                        "`mix` needs a stage before it (its predicates read that stage's columns)",
                    ));
                }
            }
            let limit = match stage {
                StageSpec::Tokenize(t) => Some(&t.memory_limit),
                StageSpec::ExactDedup(d) => Some(&d.memory_limit),
                StageSpec::MinhashDedup(d) => Some(&d.memory_limit),
                StageSpec::LineDedup(d) => Some(&d.memory_limit),
                _ => None,
            };
            if let Some(limit) = limit {
                if parse_bytes(limit).is_none_or(|b| b == 0) {
                    return Err(invalid(
                        format!("stages[{i}].memory_limit"),
                        format!("`{limit}` is not a size like \"512MiB\""),
                    ));
                }
                if i == 0 {
                    return Err(invalid(
                        format!("stages[{i}].kind"),
                        "a dedup stage needs a stage before it (e.g. normalize)",
                    ));
                }
            }
            if let StageSpec::MinhashDedup(m) = stage {
                if m.bands == 0
                    || m.rows == 0
                    || m.ngram_latin == 0
                    || m.ngram_han == 0
                    || m.max_tokens == 0
                {
                    return Err(invalid(
                        format!("stages[{i}]"),
                        "bands, rows, ngram sizes and max_tokens must be ≥ 1",
                    ));
                }
                if !(0.0..=1.0).contains(&m.threshold) {
                    return Err(invalid(
                        format!("stages[{i}].threshold"),
                        "must be within 0..=1",
                    ));
                }
            }
            if let StageSpec::Langid(l) = stage {
                if l.max_paragraphs == 0 || l.max_paragraph_bytes < 16 {
                    return Err(invalid(
                        format!("stages[{i}].max_paragraphs"),
                        "max_paragraphs ≥ 1 and max_paragraph_bytes ≥ 16",
                    ));
                }
                let probs = l.min_score.values().chain([
                    &l.default_min_score,
                    &l.min_han_ratio,
                    &l.mixed_zh_min_frac,
                ]);
                if probs.into_iter().any(|p| !(0.0..=1.0).contains(p)) {
                    return Err(invalid(
                        format!("stages[{i}]"),
                        "scores, ratios and fractions must be within 0..=1",
                    ));
                }
            }
            if !seen.insert(stage.name()) {
                return Err(invalid(
                    format!("stages[{i}].name"),
                    format!(
                        "`{}` is used twice; give one of them another `name`",
                        stage.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// One config hash per stage. Each covers the output-relevant `[job]` settings, the
    /// inputs (plus `inputs_fingerprint`, which the planner derives from the files found),
    /// and every stage up to and including this one: a change reruns that stage and all
    /// after it, and nothing before it.
    pub fn stage_hashes(&self, inputs_fingerprint: &str) -> Vec<String> {
        // `name` and `output` do not change what a stage writes.
        let mut job = serde_json::to_value(&self.job).unwrap_or_default();
        if let Some(map) = job.as_object_mut() {
            map.remove("name");
            map.remove("output");
        }
        let base =
            serde_json::json!({ "job": job, "inputs": self.inputs, "files": inputs_fingerprint });
        let mut prev = sha256_hex(base.to_string().as_bytes());
        self.stages
            .iter()
            .map(|stage| {
                let own = serde_json::to_string(stage).unwrap_or_default();
                prev = sha256_hex(format!("{prev}\n{own}").as_bytes());
                prev.clone()
            })
            .collect()
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[job]
name = "demo"
output = "out/demo"

[[inputs]]
name = "web-zh"
path = "data/zh-*.jsonl.zst"

[[stages]]
kind = "normalize"
"#;

    #[test]
    fn parses_minimal_with_defaults() {
        let spec = JobSpec::from_toml(MINIMAL).expect("valid job");
        assert_eq!(spec.job.seed, 42);
        assert_eq!(spec.job.on_bad_record, BadRecordPolicy::Fail);
        assert_eq!(spec.inputs[0].text_field, "text");
        assert_eq!(spec.stages[0].name(), "normalize");
        assert_eq!(
            spec.stages[0],
            StageSpec::Normalize(NormalizeSpec::default())
        );
    }

    #[test]
    fn round_trips_through_toml() {
        let spec = JobSpec::from_toml(MINIMAL).expect("valid job");
        let again = JobSpec::from_toml(&spec.to_toml()).expect("round trip parses");
        assert_eq!(spec, again);
        assert_eq!(spec.stage_hashes("f"), again.stage_hashes("f"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let bad = MINIMAL
            .replace("seed", "sed")
            .replace("output = \"out/demo\"", "output = \"o\"\nsed = 1");
        let err = JobSpec::from_toml(&bad).expect_err("unknown key");
        assert!(err.to_string().contains("sed"), "{err}");
        let bad = format!("{MINIMAL}strip_ansii = true\n");
        let err = JobSpec::from_toml(&bad).expect_err("unknown stage key");
        assert!(err.to_string().contains("strip_ansii"), "{err}");
        let bad = MINIMAL.replace("kind = \"normalize\"", "kind = \"normalise\"");
        let err = JobSpec::from_toml(&bad).expect_err("unknown kind");
        assert!(err.to_string().contains("normalise"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let bad = MINIMAL.replace(
            "output = \"out/demo\"",
            "output = \"o\"\non_bad_record = \"ignore\"",
        );
        let err = JobSpec::from_toml(&bad).expect_err("bad enum");
        assert!(err.to_string().contains("ignore"), "{err}");
        let bad = MINIMAL.replace("output = \"out/demo\"", "output = \"o\"\nmax_doc_bytes = 0");
        let err = JobSpec::from_toml(&bad).expect_err("zero");
        assert!(err.to_string().contains("job.max_doc_bytes"), "{err}");
        let twice = format!("{MINIMAL}\n[[stages]]\nkind = \"normalize\"\n");
        let err = JobSpec::from_toml(&twice).expect_err("duplicate stage");
        assert!(err.to_string().contains("stages[1].name"), "{err}");
    }

    #[test]
    fn langid_defaults_and_scores() {
        let text = format!(
            "{MINIMAL}\n[[stages]]\nkind = \"langid\"\nmodel = \"m.ftz\"\nmin_score = {{ en = 0.7 }}\n"
        );
        let spec = JobSpec::from_toml(&text).expect("valid");
        let StageSpec::Langid(l) = &spec.stages[1] else {
            panic!("langid")
        };
        assert_eq!(l.keep, ["en", "zh-Hans", "zh-Hant"]);
        assert_eq!(l.min_score_for("en"), 0.7);
        assert_eq!(
            l.min_score_for("zh-Hant"),
            0.5,
            "a table given in the job replaces the default table"
        );
        assert_eq!(l.min_score_for("de"), 0.5);
        assert_eq!(
            JobSpec::from_toml(&spec.to_toml()).expect("round trip"),
            spec
        );
        let bad = text.replace("en = 0.7", "en = 1.5");
        assert!(JobSpec::from_toml(&bad).is_err());
    }

    #[test]
    fn dedup_specs_parse_and_validate() {
        let text = format!(
            "{MINIMAL}\n[[stages]]\nkind = \"minhash_dedup\"\nkeep = \"highest:quality.score\"\nmemory_limit = \"64KiB\"\n"
        );
        let spec = JobSpec::from_toml(&text).expect("valid");
        let StageSpec::MinhashDedup(m) = &spec.stages[1] else {
            panic!("minhash")
        };
        assert_eq!((m.bands, m.rows, m.ngram_han), (14, 8, 7));
        assert_eq!(m.keep, SurvivorRule::Highest("quality.score".into()));
        assert_eq!(
            JobSpec::from_toml(&spec.to_toml()).expect("round trip"),
            spec
        );
        assert!(JobSpec::from_toml(&text.replace("64KiB", "lots")).is_err());
        assert!(JobSpec::from_toml(&text.replace("highest:quality.score", "biggest")).is_err());
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("512MB"), Some(512_000_000));
        assert_eq!(parse_bytes("12"), Some(12));
        let first = MINIMAL.replace("kind = \"normalize\"", "kind = \"exact_dedup\"");
        assert!(
            JobSpec::from_toml(&first).is_err(),
            "dedup cannot be the first stage"
        );
    }

    #[test]
    fn hashes_chain_and_ignore_name() {
        let spec = JobSpec::from_toml(MINIMAL).expect("valid");
        let mut renamed = spec.clone();
        renamed.job.name = "other".into();
        renamed.job.output = "elsewhere".into();
        assert_eq!(spec.stage_hashes("f"), renamed.stage_hashes("f"));
        let mut two = spec.clone();
        two.stages.push(StageSpec::Normalize(NormalizeSpec {
            name: Some("again".into()),
            ..Default::default()
        }));
        let h1 = spec.stage_hashes("f");
        let h2 = two.stage_hashes("f");
        assert_eq!(h1[0], h2[0], "adding a later stage keeps earlier hashes");
        let mut changed = two.clone();
        if let StageSpec::Normalize(n) = &mut changed.stages[1] {
            n.collapse_spaces = true;
        }
        let h3 = changed.stage_hashes("f");
        assert_eq!(h2[0], h3[0]);
        assert_ne!(h2[1], h3[1]);
        assert_ne!(
            spec.stage_hashes("f"),
            spec.stage_hashes("g"),
            "input files are part of the hash"
        );
    }

    #[test]
    fn mix_specs_parse_and_validate() {
        let text = format!(
            "{MINIMAL}\n[[stages]]\nkind = \"mix\"\ncluster_weight = \"sqrt\"\n\n\
             [[stages.sources]]\nname = \"en\"\nwhere = \"lang = 'en'\"\nweight = 0.7\n\n\
             [[stages.sources]]\nname = \"zh\"\nwhere = \"lang LIKE 'zh%'\"\ntokens = 1000\nmax_epochs = 4.0\n"
        );
        let spec = JobSpec::from_toml(&text).expect("valid");
        let StageSpec::Mix(m) = &spec.stages[1] else {
            panic!("mix")
        };
        assert_eq!(m.sources[1].tokens, Some(1000));
        assert_eq!(m.cluster_weight, ClusterWeight::Sqrt);
        assert!((ClusterWeight::Log.weight(1) - 1.0).abs() < 1e-12);
        assert_eq!(
            JobSpec::from_toml(&spec.to_toml()).expect("round trip"),
            spec
        );
        let err = JobSpec::from_toml(&text.replace("tokens = 1000", "tokens = 1000\nweight = 1.0"))
            .expect_err("both");
        assert!(err.to_string().contains("stages[1].sources[1]"), "{err}");
        let err =
            JobSpec::from_toml(&text.replace("name = \"zh\"", "name = \"en\"")).expect_err("twice");
        assert!(err.to_string().contains("used twice"), "{err}");
        let err = JobSpec::from_toml(
            &text.replace("cluster_weight", "total_tokens = 10\ncluster_weight"),
        )
        .expect_err("total below fixed");
        assert!(err.to_string().contains("total_tokens"), "{err}");
        let err = JobSpec::from_toml(&text.replace("where = \"lang = 'en'\"", "where = \" \""))
            .expect_err("empty predicate");
        assert!(err.to_string().contains("sources[0].where"), "{err}");
    }
}
