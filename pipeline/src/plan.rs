//! Planning: from a job to the list of tasks of every stage.
//!
//! The first stage has one task per input split (a file, a byte range of a large plain
//! JSONL file, a run of Parquet row groups, or a group of small text files). Every later
//! map stage has one task per task of the stage before it, reading that task's part file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use taojin_schemas::{InputFormat, InputSpec, InputsFingerprint, StageSpec};

use crate::digest::DigestCache;
use crate::engine::stage_dir::FORMAT_VERSION;

use crate::error::{PipelineError, Result};
use crate::ingest::{
    Compression, FileFormat, InputFile, Piece, Split, SplitPart, row_group_sizes, split_lines,
};
use crate::job::LoadedJob;

/// One stage as planned.
#[derive(Debug, Clone)]
pub struct PlannedStage {
    /// Its spec.
    pub spec: StageSpec,
    /// Config hash: this stage's settings and everything before it.
    pub hash: String,
    /// Number of tasks.
    pub tasks: usize,
    /// What the `:ids` marker of the first stage holds (see `DuplicateIdPolicy::ids_key`).
    pub ids_key: String,
}

/// The whole plan of a job.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Output folder.
    pub output: PathBuf,
    /// Inputs of the first stage's tasks, by task index.
    pub splits: Vec<Split>,
    /// Stages in order.
    pub stages: Vec<PlannedStage>,
    /// Input entries not read, by reason (non-regular files, link loops, files reached
    /// twice); reported as counters of the first stage.
    pub skipped: Skipped,
    /// What the config hashes know of the input files (names, sizes, mtimes or digests).
    pub inputs_fingerprint: String,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// The folder part of a pattern before its first glob component.
fn glob_base(pattern: &Path) -> PathBuf {
    let mut base = PathBuf::new();
    for comp in pattern.components() {
        if has_glob(&comp.as_os_str().to_string_lossy()) {
            break;
        }
        base.push(comp);
    }
    if base == pattern {
        base.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        base
    }
}

fn format_of(path: &Path, declared: Option<InputFormat>) -> Option<FileFormat> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let (stem, compression) = if let Some(s) = name
        .strip_suffix(".zst")
        .or_else(|| name.strip_suffix(".zstd"))
    {
        (s, Compression::Zstd)
    } else if let Some(s) = name.strip_suffix(".gz") {
        (s, Compression::Gzip)
    } else {
        (name.as_str(), Compression::None)
    };
    let codec = match compression {
        Compression::None => taojin_web::warc::Codec::Plain,
        Compression::Gzip => taojin_web::warc::Codec::Gzip,
        Compression::Zstd => taojin_web::warc::Codec::Zstd,
    };
    match declared {
        Some(InputFormat::Warc) => Some(FileFormat::Warc(codec)),
        Some(InputFormat::Wet) => Some(FileFormat::Wet(codec)),
        None if stem.ends_with(".wet") || stem.ends_with(".warc.wet") => {
            Some(FileFormat::Wet(codec))
        }
        None if stem.ends_with(".warc") => Some(FileFormat::Warc(codec)),
        Some(InputFormat::Jsonl) => Some(FileFormat::Jsonl(compression)),
        Some(InputFormat::Parquet) => Some(FileFormat::Parquet),
        Some(InputFormat::Txt) => Some(FileFormat::Txt),
        None if [".jsonl", ".json", ".ndjson"]
            .iter()
            .any(|e| stem.ends_with(e)) =>
        {
            Some(FileFormat::Jsonl(compression))
        }
        None if stem.ends_with(".parquet") && compression == Compression::None => {
            Some(FileFormat::Parquet)
        }
        None if stem.ends_with(".txt") && compression == Compression::None => Some(FileFormat::Txt),
        None => None,
    }
}

/// The glob of an input path, with the job file's folder (when the path is relative)
/// escaped: a folder named `data[1]` is a name, not a character class.
fn glob_pattern(job: &LoadedJob, path: &str) -> String {
    match Path::new(path).is_absolute() {
        true => path.to_string(),
        false => {
            let dir = globset::escape(&job.dir.to_string_lossy());
            match dir.is_empty() {
                true => path.to_string(),
                false => format!("{}/{path}", dir.trim_end_matches('/')),
            }
        }
    }
}

/// The files and folders a glob matches (`*`, `?`, `[…]`, `{a,b}` and `**`, by
/// `globset`), found by walking the pattern's base folder no deeper than the pattern
/// reaches; hidden entries are not matched. A matched folder is walked later, whole.
fn glob_matches(
    pattern: &Path,
    pattern_str: &str,
    follow: bool,
) -> std::result::Result<Vec<PathBuf>, String> {
    let matcher = globset::GlobBuilder::new(pattern_str)
        .literal_separator(true)
        .build()
        .map_err(|e| e.kind().to_string())?
        .compile_matcher();
    let base = glob_base(pattern);
    let rest = pattern.strip_prefix(&base).unwrap_or(pattern);
    let mut walker = walkdir::WalkDir::new(&base)
        .follow_links(follow)
        .sort_by_file_name()
        .min_depth(1);
    if !rest
        .components()
        .any(|c| c.as_os_str().to_string_lossy().contains("**"))
    {
        walker = walker.max_depth(rest.components().count().max(1));
    }
    let mut out = Vec::new();
    let mut it = walker.into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.loop_ancestor().is_some() => continue,
            Err(e) if e.path() == Some(base.as_path()) => return Ok(out),
            Err(e) => return Err(e.to_string()),
        };
        if entry.file_name().to_string_lossy().starts_with('.') {
            if entry.file_type().is_dir() {
                it.skip_current_dir();
            }
            continue;
        }
        if matcher.is_match(entry.path()) {
            out.push(entry.path().to_path_buf());
            if entry.file_type().is_dir() {
                it.skip_current_dir();
            }
        }
    }
    Ok(out)
}

/// What walking an input found besides its files: entries skipped, by reason.
pub type Skipped = std::collections::BTreeMap<String, u64>;

fn skip(skipped: &mut Skipped, reason: &str, path: &Path) {
    tracing::warn!(path = %path.display(), "input entry skipped: {reason}");
    *skipped.entry(reason.to_string()).or_default() += 1;
}

/// Why `meta` (of a path that is not a folder) cannot be read as an input file.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    match () {
        _ if t.is_file() => None,
        _ if t.is_fifo() => Some("input_fifo"),
        _ if t.is_socket() => Some("input_socket"),
        _ if t.is_block_device() || t.is_char_device() => Some("input_device"),
        _ => Some("input_not_regular"),
    }
}

/// Regular files under a folder, recursively, sorted; hidden entries skipped. Symbolic
/// links to folders are followed only with `follow` (walkdir detects loops); links to
/// files always. Anything that is not a regular file is skipped and counted, never
/// opened; an unreadable entry is an error naming it.
fn walk(
    dir: &Path,
    follow: bool,
    seen: &mut std::collections::HashSet<(u64, u64)>,
    out: &mut Vec<PathBuf>,
    skipped: &mut Skipped,
) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(follow)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.loop_ancestor().is_some() => {
                skip(skipped, "input_link_loop", e.path().unwrap_or(dir));
                continue;
            }
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                return Err(PipelineError::Config(format!(
                    "{}: cannot read this input entry: {e}",
                    path.display()
                )));
            }
        };
        let path = entry.path();
        if entry.file_type().is_dir() {
            continue;
        }
        // Through a link to a file (never to a folder here: those are walked or skipped).
        let meta = std::fs::metadata(path).map_err(PipelineError::io(path))?;
        if meta.is_dir() {
            skip(skipped, "input_link_to_folder", path);
            continue;
        }
        if let Some(reason) = not_regular(&meta) {
            skip(skipped, reason, path);
            continue;
        }
        if !seen.insert((meta.dev(), meta.ino())) {
            skip(skipped, "input_seen_twice", path);
            continue;
        }
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// The files an input names, sorted, with their formats. HTML inputs (WARC files, an
/// `html_field`) need the job to start with `extract`, which alone reads the `html` column.
pub fn input_files(
    job: &LoadedJob,
    index: usize,
    input: &InputSpec,
    skipped: &mut Skipped,
) -> Result<Vec<Arc<InputFile>>> {
    let files = found_files(job, index, input, skipped)?;
    if !job.spec.reads_web() {
        let html = input.html_field.is_some().then(|| {
            format!(
                "html_field = \"{}\"",
                input.html_field.as_deref().unwrap_or("")
            )
        });
        let warc = files
            .iter()
            .find(|f| matches!(f.format, FileFormat::Warc(_)))
            .map(|f| format!("{} is a WARC of HTML pages", f.path.display()));
        if let Some(what) = warc.or(html) {
            return Err(PipelineError::Config(format!(
                "{}: inputs[{index}]: {what}; put a `kind = \"extract\"` stage first",
                job.path.display()
            )));
        }
    }
    Ok(files)
}

fn found_files(
    job: &LoadedJob,
    index: usize,
    input: &InputSpec,
    skipped: &mut Skipped,
) -> Result<Vec<Arc<InputFile>>> {
    let key = format!("inputs[{index}].path");
    if crate::storage::is_s3(&input.path) {
        return s3_input_files(job, &key, input, skipped);
    }
    let pattern = job.resolve(&input.path);
    let mut matched: Vec<PathBuf> = match has_glob(&input.path) {
        true => glob_matches(
            &pattern,
            &glob_pattern(job, &input.path),
            input.follow_links,
        )
        .map_err(|e| {
            PipelineError::Config(format!(
                "{}: {key} `{}`: {e}",
                job.path.display(),
                input.path
            ))
        })?,
        // A path that does not exist stays: reading it reports the error.
        false => vec![pattern.clone()],
    };
    matched.sort();
    let base = if has_glob(&input.path) {
        glob_base(&pattern)
    } else {
        pattern.clone()
    };
    // (path, found by walking a matched directory): walked files of unknown format are
    // skipped, a file named directly must be readable.
    let mut paths: Vec<(PathBuf, bool)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in matched {
        if p.is_dir() {
            let mut walked = Vec::new();
            walk(&p, input.follow_links, &mut seen, &mut walked, skipped)?;
            paths.extend(walked.into_iter().map(|w| (w, true)));
        } else {
            // A path that cannot be stat'ed stays; reading it reports the error.
            if let Ok(meta) = std::fs::metadata(&p) {
                use std::os::unix::fs::MetadataExt;
                if let Some(reason) = not_regular(&meta) {
                    return Err(PipelineError::Config(format!(
                        "{}: {key}: {} is not a regular file ({reason})",
                        job.path.display(),
                        p.display()
                    )));
                }
                if !seen.insert((meta.dev(), meta.ino())) {
                    skip(skipped, "input_seen_twice", &p);
                    continue;
                }
            }
            paths.push((p, false));
        }
    }
    if paths.is_empty() {
        return Err(PipelineError::Config(format!(
            "{}: {key} `{}` matched no files (resolved to {})",
            job.path.display(),
            input.path,
            pattern.display()
        )));
    }
    let mut files = Vec::with_capacity(paths.len());
    for (path, walked) in paths {
        let Some(format) = format_of(&path, input.format) else {
            if walked {
                skip(skipped, "input_unknown_format", &path);
                continue;
            }
            return Err(PipelineError::Config(format!(
                "{}: cannot tell the format of {} from its name; set inputs[{index}].format",
                job.path.display(),
                path.display()
            )));
        };
        // A path that cannot be stat'ed still becomes a file; reading it reports the error.
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let name = path
            .strip_prefix(&base)
            .ok()
            .filter(|r| !r.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new(path.file_name().unwrap_or_default()))
            .to_string_lossy()
            .into_owned();
        files.push(Arc::new(InputFile {
            path,
            name,
            size,
            format,
            version: String::new(),
        }));
    }
    if files.is_empty() {
        return Err(PipelineError::Config(format!(
            "{}: {key} `{}` matched no readable input files",
            job.path.display(),
            input.path
        )));
    }
    Ok(files)
}

/// The objects an `s3://` input names, listed with their sizes.
fn s3_input_files(
    job: &LoadedJob,
    key: &str,
    input: &InputSpec,
    skipped: &mut Skipped,
) -> Result<Vec<Arc<InputFile>>> {
    let s3 = job.s3()?;
    let url = &input.path;
    let base = match url.find(['*', '?', '[', '{']) {
        Some(i) => url[..i].rfind('/').map_or(url.as_str(), |j| &url[..=j]),
        None => url.rfind('/').map_or(url.as_str(), |j| &url[..=j]),
    };
    let mut files = Vec::new();
    let named = !url.contains(['*', '?', '[', '{']) && !url.ends_with('/');
    for (obj, size, etag) in crate::storage::glob(&s3, url)? {
        let path = PathBuf::from(&obj);
        let Some(format) = format_of(&path, input.format) else {
            if named && obj == *url {
                return Err(PipelineError::Config(format!(
                    "{}: cannot tell the format of {obj} from its name; set {}.format",
                    job.path.display(),
                    key.trim_end_matches(".path")
                )));
            }
            skip(skipped, "input_unknown_format", &path);
            continue;
        };
        let name = obj.strip_prefix(base).unwrap_or(&obj).to_string();
        files.push(Arc::new(InputFile {
            path,
            name,
            size,
            format,
            version: etag,
        }));
    }
    if files.is_empty() {
        return Err(PipelineError::Config(format!(
            "{}: {key} `{url}` matched no objects of a known format",
            job.path.display()
        )));
    }
    Ok(files)
}

/// Cuts an input's files into splits of about `split_bytes`.
fn splits_of(input: usize, files: &[Arc<InputFile>], split_bytes: u64) -> Result<Vec<Split>> {
    let mut splits = Vec::new();
    let mut small: Vec<SplitPart> = Vec::new();
    let mut small_bytes = 0u64;
    for file in files {
        let pieces = match file.format {
            FileFormat::Jsonl(Compression::None) => split_lines(file, split_bytes)?,
            FileFormat::Parquet => row_group_pieces(file, split_bytes)?,
            FileFormat::Txt => {
                small_bytes += file.size;
                small.push(SplitPart {
                    file: file.clone(),
                    piece: Piece::Whole,
                });
                if small_bytes >= split_bytes {
                    splits.push(Split {
                        input,
                        parts: std::mem::take(&mut small),
                    });
                    small_bytes = 0;
                }
                continue;
            }
            // A WARC file is one task: records cannot be found from an arbitrary offset
            // without scanning (Common Crawl files are ~1 GB, a job has thousands).
            FileFormat::Jsonl(_) | FileFormat::Warc(_) | FileFormat::Wet(_) => vec![Piece::Whole],
        };
        for piece in pieces {
            splits.push(Split {
                input,
                parts: vec![SplitPart {
                    file: file.clone(),
                    piece,
                }],
            });
        }
    }
    if !small.is_empty() {
        splits.push(Split {
            input,
            parts: small,
        });
    }
    Ok(splits)
}

fn row_group_pieces(file: &InputFile, split_bytes: u64) -> Result<Vec<Piece>> {
    let groups = row_group_sizes(file)?;
    if groups.len() <= 1 || file.size <= split_bytes {
        return Ok(vec![Piece::Whole]);
    }
    let mut pieces = Vec::new();
    let (mut start, mut first_row, mut rows, mut bytes) = (0usize, 0u64, 0u64, 0u64);
    for (i, (r, b)) in groups.iter().enumerate() {
        rows += r;
        bytes += b;
        if bytes >= split_bytes || i + 1 == groups.len() {
            pieces.push(Piece::RowGroups {
                start,
                end: i + 1,
                first_row,
            });
            start = i + 1;
            first_row += rows;
            rows = 0;
            bytes = 0;
        }
    }
    Ok(pieces)
}

/// `path` made absolute with `.` and `..` resolved by name (the folder need not exist),
/// then through symbolic links as far as it exists.
fn normalized(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    // Resolve links on the longest existing prefix, keep the rest by name.
    let mut tail = Vec::new();
    let mut head = out.clone();
    while !head.exists() {
        match head.file_name() {
            Some(n) => tail.push(n.to_os_string()),
            None => break,
        }
        head.pop();
    }
    let mut real = std::fs::canonicalize(&head).unwrap_or(head);
    real.extend(tail.iter().rev());
    real
}

/// Refuses an output folder inside (or equal to) an input's folder: a second run would
/// read its own output.
fn check_output_outside_inputs(job: &LoadedJob, output: &Path) -> Result<()> {
    let out_url = &job.spec.job.output;
    for (i, input) in job.spec.inputs.iter().enumerate() {
        let clash = match (
            crate::storage::is_s3(&input.path),
            crate::storage::is_s3(out_url),
        ) {
            (true, true) => {
                let base = match input.path.find(['*', '?', '[', '{']) {
                    Some(k) => &input.path[..k],
                    None => input.path.as_str(),
                };
                let base = base.trim_end_matches('/');
                let out = out_url.trim_end_matches('/');
                out == base || out.starts_with(&format!("{base}/"))
            }
            (false, false) => {
                let pattern = job.resolve(&input.path);
                let base = match has_glob(&input.path) {
                    true => glob_base(&pattern),
                    false => pattern,
                };
                normalized(output).starts_with(normalized(&base))
            }
            _ => false,
        };
        if clash {
            return Err(PipelineError::Config(format!(
                "{}: job.output `{out_url}` is inside inputs[{i}].path `{}`: a later run would read its own output; put the output elsewhere",
                job.path.display(),
                input.path
            )));
        }
    }
    Ok(())
}

/// Plans a job: finds its files, splits them into tasks and hashes every stage. The
/// hashes cover the files found (size and mtime, or content), and the contents of every
/// file a stage reads besides its input (see [`crate::registry::StageKind::files`]).
pub fn plan(job: &LoadedJob) -> Result<Plan> {
    plan_with(job, false)
}

/// [`plan`], keeping the file digests it computed in the output folder for the next run
/// (what a run does; `taojin plan` and dry runs write nothing).
pub fn plan_and_cache(job: &LoadedJob) -> Result<Plan> {
    plan_with(job, true)
}

fn plan_with(job: &LoadedJob, save_digests: bool) -> Result<Plan> {
    let spec = &job.spec;
    let output = job.output_dir();
    check_output_outside_inputs(job, &output)?;
    let mut digests = DigestCache::load(&output);
    let content = spec.job.inputs_fingerprint == InputsFingerprint::Content;
    let mut splits = Vec::new();
    let mut fingerprint = String::new();
    let mut skipped = Skipped::new();
    for (i, input) in spec.inputs.iter().enumerate() {
        let files = input_files(job, i, input, &mut skipped)?;
        for f in &files {
            let id = match (crate::storage::is_s3(&input.path), content) {
                // The ETag: an object rewritten with the same size is not stale.
                (true, _) => format!("etag:{}", f.version),
                (false, true) => digests.digest(&f.path)?.unwrap_or_default(),
                (false, false) => std::fs::metadata(&f.path)
                    .map(|m| crate::digest::mtime_ns(&m).to_string())
                    .unwrap_or_default(),
            };
            fingerprint.push_str(&format!("{}\t{}\t{}\t{id}\n", input.name, f.name, f.size));
        }
        splits.extend(splits_of(i, &files, spec.job.split_bytes)?);
    }
    let mut plan = Plan {
        output,
        splits,
        stages: Vec::new(),
        skipped,
        inputs_fingerprint: fingerprint,
    };
    hash_stages(job, &mut plan, &mut digests)?;
    if save_digests {
        digests.save();
    }
    Ok(plan)
}

/// The stages' config hashes from the inputs found and the files each stage reads now.
fn hash_stages(job: &LoadedJob, plan: &mut Plan, digests: &mut DigestCache) -> Result<()> {
    let spec = &job.spec;
    let mut stage_files = Vec::with_capacity(spec.stages.len());
    for stage in &spec.stages {
        let mut line = String::new();
        for (key, path) in crate::registry::files(stage, job) {
            let digest = digests.digest(&path)?;
            line.push_str(&format!(
                "{key}={}\n",
                digest.as_deref().unwrap_or("missing")
            ));
        }
        for (key, text) in crate::registry::builtin(stage) {
            let digest = taojin_schemas::job::sha256_hex(text.as_bytes());
            line.push_str(&format!("{key}=builtin:{digest}\n"));
        }
        stage_files.push(line);
    }
    let hashes = spec.stage_hashes(FORMAT_VERSION, &plan.inputs_fingerprint, &stage_files);
    let tasks = plan.splits.len();
    let kept = plan.stages.len();
    plan.stages = spec
        .stages
        .iter()
        .zip(hashes)
        .map(|(s, hash)| PlannedStage {
            spec: s.clone(),
            ids_key: spec.job.on_duplicate_id.ids_key(&hash),
            hash,
            tasks,
        })
        .take(if kept == 0 { usize::MAX } else { kept })
        .collect();
    Ok(())
}

/// Recomputes the config hashes after a setup step wrote a file a stage reads (a trained
/// tokenizer), without walking the inputs again; a plan cut by `--until` stays cut.
pub fn rehash(job: &LoadedJob, plan: &mut Plan) -> Result<()> {
    let mut digests = DigestCache::load(&plan.output);
    hash_stages(job, plan, &mut digests)?;
    digests.save();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names() {
        let p = |s: &str| format_of(Path::new(s), None);
        assert_eq!(p("a.jsonl.zst"), Some(FileFormat::Jsonl(Compression::Zstd)));
        assert_eq!(p("a.JSONL.gz"), Some(FileFormat::Jsonl(Compression::Gzip)));
        assert_eq!(p("a.ndjson"), Some(FileFormat::Jsonl(Compression::None)));
        assert_eq!(p("a.parquet"), Some(FileFormat::Parquet));
        assert_eq!(p("a.txt"), Some(FileFormat::Txt));
        assert_eq!(p("a.csv"), None);
        assert_eq!(
            format_of(Path::new("a.data.zst"), Some(InputFormat::Jsonl)),
            Some(FileFormat::Jsonl(Compression::Zstd))
        );
    }

    #[test]
    fn glob_base_stops_at_first_pattern() {
        assert_eq!(
            glob_base(Path::new("/d/data/zh-*.jsonl")),
            PathBuf::from("/d/data")
        );
        assert_eq!(glob_base(Path::new("/d/*/x/*.jsonl")), PathBuf::from("/d"));
    }
}
