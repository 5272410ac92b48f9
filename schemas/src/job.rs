//! The job file: what to read, which stages to run, and with which parameters.
//!
//! A job file is TOML parsed into these serde types with unknown keys rejected, then
//! validated ([`JobSpec::validate`]). The types round-trip through serde, and the
//! canonical JSON of each stage (with everything before it) is hashed into the stage's
//! config hash: that hash is what resume markers compare.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bytesize::ByteSize;

pub use crate::stages::classifier::ClassifierSpec;
pub use crate::stages::dedup::{
    ExactDedupSpec, LineDedupSpec, MinhashDedupSpec, SubstringDedupSpec, SurvivorRule,
};
pub use crate::stages::extract::{ExtractSpec, Favor};
pub use crate::stages::langid::{LangIdSpec, MixedPolicy};
pub use crate::stages::mix::{ClusterWeight, MixSource, MixSpec};
pub use crate::stages::normalize::NormalizeSpec;
pub use crate::stages::perplexity::PerplexitySpec;
pub use crate::stages::read::ReadSpec;
pub use crate::stages::safety::SafetySpec;
pub use crate::stages::tokenize::TokenizeSpec;
pub use crate::stages::topics::TopicsSpec;
pub use crate::stages::{StageAt, StageMode, StageParams, StageSpec};

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
    /// `[ray]`: settings for the Ray launcher `python -m taojin_ray` (not part of any
    /// config hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ray: Option<RaySpec>,
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

/// `[ray]`: how the Ray launcher (`python -m taojin_ray JOB`) places the job's tasks.
/// `taojin plan JOB --json` hands it to the launcher with byte sizes already parsed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaySpec {
    /// The cluster, as `ray.init(address=…)` takes it (`RAY_ADDRESS` overrides it;
    /// neither: `auto`, the cluster this machine belongs to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// CPUs Ray reserves per task (default 1); also the task's `--threads`. A reduce
    /// step takes a whole node instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_per_task: Option<usize>,
    /// Memory Ray reserves per task, e.g. `"4GiB"` (default: none reserved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ByteSize>,
    /// Retries of a failed task (its process exited non-zero or its worker died),
    /// with exponential backoff, before the job stops (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Seconds before the first retry; doubles with each further one, at most 60 s
    /// (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_backoff_s: Option<f64>,
    /// Ray's `runtime_env` for every task, passed through as is (`env_vars`,
    /// `working_dir` holding the binary and models, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_env: Option<serde_json::Value>,
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
    /// What to do when two documents of the job carry the same id: `suffix` (default:
    /// every occurrence after the first, in task and row order, becomes `ID#2`, `ID#3`, …
    /// from the second stage on), `keep` (count and warn only) or `fail`.
    #[serde(default, skip_serializing_if = "DuplicateIdPolicy::is_default")]
    pub on_duplicate_id: DuplicateIdPolicy,
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
    /// Codec of the Parquet files stages write: `zstd` (default, at `zstd_level`), or
    /// the cheaper `lz4` / `snappy` / `none` for outputs that only feed the next stage
    /// (faster stages, larger files). In the config hash like `zstd_level`: one hash,
    /// one set of bytes.
    #[serde(default, skip_serializing_if = "OutputCompression::is_default")]
    pub compression: OutputCompression,
    /// How input files are identified in the config hash: `metadata` (size and
    /// modification time, cheap) or `content` (sha256 of every file, cached by path, size
    /// and mtime; for file systems whose mtimes cannot be trusted).
    #[serde(default, skip_serializing_if = "InputsFingerprint::is_default")]
    pub inputs_fingerprint: InputsFingerprint,
    /// Write `<output>/report.html` (`taojin report`) when a run finishes.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub report: bool,
}

fn yes() -> bool {
    true
}

fn is_yes(v: &bool) -> bool {
    *v
}

/// What to do with documents whose ids repeat across the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateIdPolicy {
    /// Make them unique: `ID#2`, `ID#3`, … for the second, third, … occurrence.
    #[default]
    Suffix,
    /// Keep them as they are (counted, with a warning).
    Keep,
    /// Stop the run naming the id.
    Fail,
}

impl DuplicateIdPolicy {
    fn is_default(&self) -> bool {
        *self == DuplicateIdPolicy::Suffix
    }

    /// What the first stage's `:ids` marker holds: its config hash and, unless it is the
    /// default (whose markers stay as they were), this policy; so a changed policy reruns
    /// that step (and, through their hashes, the stages after it).
    pub fn ids_key(&self, first_stage_hash: &str) -> String {
        match self.is_default() {
            true => first_stage_hash.to_string(),
            false => format!("{first_stage_hash} on_duplicate_id={self:?}"),
        }
    }
}

/// Codec of stage outputs (`[job] compression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputCompression {
    /// zstd at `zstd_level`.
    #[default]
    Zstd,
    /// LZ4 (raw blocks): about a third larger than zstd level 1 on text.
    Lz4,
    /// Snappy.
    Snappy,
    /// Uncompressed: the fastest writes, about 2.6 times zstd level 1 on text.
    None,
}

impl OutputCompression {
    fn is_default(&self) -> bool {
        *self == OutputCompression::Zstd
    }
}

/// How input files are identified in the config hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputsFingerprint {
    /// Size and modification time.
    #[default]
    Metadata,
    /// sha256 of the contents.
    Content,
}

impl InputsFingerprint {
    fn is_default(&self) -> bool {
        *self == InputsFingerprint::Metadata
    }
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
    // A batch is about 0.7 MB of text here: at 2048 rows each thread held about 28 MiB
    // more (the 16× demo peaked at 179 MiB, 156 at 512) for no speed.
    512
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
    /// WARC 1.0/1.1 (`.warc`, `.warc.gz`, `.warc.zst`): HTML responses become documents
    /// for the `extract` stage.
    Warc,
    /// WET (`.warc.wet.gz`): text already extracted, read straight into `text`.
    Wet,
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
    /// Field holding raw HTML (JSONL/Parquet): the `extract` stage turns it into `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_field: Option<String>,
    /// Follow symbolic links to folders while walking a folder (loops are detected by
    /// device and inode). Off by default: a link back to a parent would read every file
    /// again. Links to files are always followed; a file reached twice is read once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_links: bool,
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

/// Names reserved for other things in the output folder.
const RESERVED_NAMES: &[&str] = &["shards", "stats.json", "removed", "_files"];

pub(crate) fn check_name(key: String, name: &str) -> Result<(), JobError> {
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

pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> JobError {
    JobError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl JobSpec {
    /// Parses and validates a job file's text.
    pub fn from_toml(text: &str) -> Result<JobSpec, JobError> {
        let spec: JobSpec = match toml::from_str(text) {
            Ok(spec) => spec,
            Err(e) => return Err(locate_stage_error(text).unwrap_or(JobError::Parse(e))),
        };
        spec.validate()?;
        Ok(spec)
    }

    /// The job as TOML; parsing it back gives an equal `JobSpec`.
    pub fn to_toml(&self) -> String {
        // Serializing plain structs of strings, numbers and bools to TOML cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// True when the job starts with `extract`: readers then write the web columns
    /// (`html`, `warc.*`, `http.content_type`).
    pub fn reads_web(&self) -> bool {
        matches!(self.stages.first(), Some(StageSpec::Extract(_)))
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
            stage.params().validate(&StageAt {
                index: i,
                key: format!("stages[{i}]"),
                before: &self.stages[..i],
                last: i + 1 == self.stages.len(),
            })?;
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

    /// One config hash per stage. Each covers the format version of what taojin writes,
    /// the output-relevant `[job]` settings, the inputs (plus `inputs_fingerprint`, which
    /// the planner derives from the files found), and every stage up to and including this
    /// one with `stage_files[i]`, the digests of the files stage `i` reads besides its
    /// input (models, lists, tokenizers): a change reruns that stage and all after it, and
    /// nothing before it.
    pub fn stage_hashes(
        &self,
        format_version: u32,
        inputs_fingerprint: &str,
        stage_files: &[String],
    ) -> Vec<String> {
        // `name`, `output` and `report` do not change what a stage writes.
        let mut job = serde_json::to_value(&self.job).unwrap_or_default();
        if let Some(map) = job.as_object_mut() {
            map.remove("name");
            map.remove("output");
            map.remove("report");
            // The first stage's parts keep the ids as read: the policy keys the stages
            // after it (and the `:ids` step, see `ids_key`), so changing it does not rerun
            // the first stage. (The default was never serialized: its hashes stay.)
            map.remove("on_duplicate_id");
        }
        let policy = (!self.job.on_duplicate_id.is_default())
            .then(|| serde_json::to_string(&self.job.on_duplicate_id).unwrap_or_default());
        let base = serde_json::json!({
            "format": format_version,
            "job": job,
            "inputs": self.inputs,
            "files": inputs_fingerprint
        });
        let mut prev = sha256_hex(base.to_string().as_bytes());
        self.stages
            .iter()
            .enumerate()
            .map(|(i, stage)| {
                let own = serde_json::to_string(stage).unwrap_or_default();
                let files = stage_files.get(i).map_or("", String::as_str);
                let mut text = format!("{prev}\n{own}\n{files}");
                if let Some(p) = policy.as_ref().filter(|_| i > 0) {
                    text.push_str(&format!("\non_duplicate_id={p}"));
                }
                prev = sha256_hex(text.as_bytes());
                prev.clone()
            })
            .collect()
    }
}

/// A value error inside `[[stages]]`, with the key that holds it (`stages[2].min_words`).
fn locate_stage_error(text: &str) -> Option<JobError> {
    let doc: toml::Table = text.parse().ok()?;
    let stages = doc.get("stages")?.as_array()?;
    for (i, stage) in stages.iter().enumerate() {
        let mut table = stage.as_table()?.clone();
        let kind = table.remove("kind")?;
        if let Some((path, message)) = crate::stages::locate_error(kind.as_str()?, table) {
            return Some(JobError::Invalid {
                key: format!("stages[{i}].{path}"),
                message,
            });
        }
    }
    None
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs written before `on_duplicate_id` left the first stage's hash resume: the
    /// default gives the hashes that version gave (pinned from it, 434f3ba), and another
    /// policy changes every stage's but the first.
    #[test]
    fn the_id_policy_keys_the_stages_after_the_first_and_old_hashes_stay() {
        let hashes = |extra: &str| {
            let text = format!(
                "[job]\nname = \"g\"\noutput = \"out\"\n{extra}\n[[inputs]]\nname = \"a\"\npath = \"a.jsonl\"\n\n[[stages]]\nkind = \"normalize\"\n\n[[stages]]\nkind = \"exact_dedup\"\n"
            );
            let spec = JobSpec::from_toml(&text).expect("job");
            spec.stage_hashes(4, "fp", &[String::new(), String::new()])
        };
        let old = [
            "09c0ba5d136787e2a535a5ab2d72464c9562696e722a862d6c7a7e21c3b6517b",
            "0928db75a942e8c77fb6169eb48c0bf76ef70ffe0af404bad5b0e05a6092c401",
        ];
        assert_eq!(hashes(""), old);
        assert_eq!(hashes("on_duplicate_id = \"suffix\""), old);
        for policy in ["keep", "fail"] {
            let h = hashes(&format!("on_duplicate_id = \"{policy}\""));
            assert_eq!(h[0], old[0], "{policy}");
            assert_ne!(h[1], old[1], "{policy}");
        }
        assert_ne!(
            hashes("on_duplicate_id = \"keep\"")[1],
            hashes("on_duplicate_id = \"fail\"")[1]
        );
        assert_eq!(DuplicateIdPolicy::Suffix.ids_key("h"), "h");
        assert_ne!(DuplicateIdPolicy::Keep.ids_key("h"), "h");
    }

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
        assert_eq!(
            spec.stage_hashes(1, "f", &[]),
            again.stage_hashes(1, "f", &[])
        );
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
        assert_eq!((m.bands_rows(), m.ngram_han, m.verify), ((20, 5), 7, true));
        assert_eq!(m.keep, SurvivorRule::Highest("quality.score".into()));
        assert_eq!(
            JobSpec::from_toml(&spec.to_toml()).expect("round trip"),
            spec
        );
        let lots = JobSpec::from_toml(&text.replace("64KiB", "lots")).err();
        assert!(
            lots.is_some_and(|e| e.to_string().contains("stages[1].memory_limit")),
            "a bad size names its key"
        );
        assert!(JobSpec::from_toml(&text.replace("highest:quality.score", "biggest")).is_err());
        let first = MINIMAL.replace("kind = \"normalize\"", "kind = \"exact_dedup\"");
        assert!(
            JobSpec::from_toml(&first).is_ok(),
            "any stage may be first (the planner reads the inputs before it)"
        );
    }

    #[test]
    fn hashes_chain_and_ignore_name() {
        let spec = JobSpec::from_toml(MINIMAL).expect("valid");
        let mut renamed = spec.clone();
        renamed.job.name = "other".into();
        renamed.job.output = "elsewhere".into();
        assert_eq!(
            spec.stage_hashes(1, "f", &[]),
            renamed.stage_hashes(1, "f", &[])
        );
        let mut two = spec.clone();
        two.stages.push(StageSpec::Normalize(NormalizeSpec {
            name: Some("again".into()),
            ..Default::default()
        }));
        let h1 = spec.stage_hashes(1, "f", &[]);
        let h2 = two.stage_hashes(1, "f", &[]);
        assert_eq!(h1[0], h2[0], "adding a later stage keeps earlier hashes");
        let mut changed = two.clone();
        if let StageSpec::Normalize(n) = &mut changed.stages[1] {
            n.collapse_spaces = true;
        }
        let h3 = changed.stage_hashes(1, "f", &[]);
        assert_eq!(h2[0], h3[0]);
        assert_ne!(h2[1], h3[1]);
        assert_ne!(
            spec.stage_hashes(1, "f", &[]),
            spec.stage_hashes(1, "g", &[]),
            "input files are part of the hash"
        );
    }

    #[test]
    fn the_ray_table_parses_sizes_and_passes_runtime_env_through() {
        let text = format!(
            "{MINIMAL}\n[ray]\ncpus_per_task = 4\nmemory = \"2GiB\"\nmax_retries = 5\n\
             runtime_env = {{ env_vars = {{ A = \"1\" }}, working_dir = \"/srv/tj\" }}\n"
        );
        let spec = JobSpec::from_toml(&text).expect("valid");
        let ray = spec.ray.clone().expect("ray table");
        assert_eq!(ray.memory, Some(ByteSize(2 << 30)));
        let json = serde_json::to_value(&ray).expect("json");
        assert_eq!(json["memory"], 2u64 << 30);
        assert_eq!(json["runtime_env"]["env_vars"]["A"], "1");
        assert_eq!(json["cpus_per_task"], 4);
        let err = JobSpec::from_toml(&text.replace("max_retries", "retries")).expect_err("unknown");
        assert!(err.to_string().contains("retries"), "{err}");
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
