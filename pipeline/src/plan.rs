//! Planning: from a job to the list of tasks of every stage.
//!
//! The first stage has one task per input split (a file, a byte range of a large plain
//! JSONL file, a run of Parquet row groups, or a group of small text files). Every later
//! map stage has one task per task of the stage before it, reading that task's part file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use taojin_schemas::{InputFormat, InputSpec, StageSpec};

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
    match declared {
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

/// Files under a directory, recursively, sorted; hidden files skipped.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(PipelineError::io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?
        } else {
            out.push(p)
        }
    }
    Ok(())
}

/// The files an input names, sorted, with their formats.
pub fn input_files(
    job: &LoadedJob,
    index: usize,
    input: &InputSpec,
) -> Result<Vec<Arc<InputFile>>> {
    let key = format!("inputs[{index}].path");
    if crate::storage::is_s3(&input.path) {
        return s3_input_files(job, &key, input);
    }
    let pattern = job.resolve(&input.path);
    let pattern_str = pattern.to_string_lossy().into_owned();
    let mut matched: Vec<PathBuf> = glob::glob(&pattern_str)
        .map_err(|e| {
            PipelineError::Config(format!(
                "{}: {key} `{}`: {e}",
                job.path.display(),
                input.path
            ))
        })?
        // Entries glob cannot stat are kept, so opening them reports the error.
        .map(|r| r.unwrap_or_else(|e| e.path().to_path_buf()))
        .collect();
    matched.sort();
    let base = if has_glob(&input.path) {
        glob_base(&pattern)
    } else {
        pattern.clone()
    };
    // (path, found by walking a matched directory): walked files of unknown format are
    // skipped, a file named directly must be readable.
    let mut paths: Vec<(PathBuf, bool)> = Vec::new();
    for p in matched {
        if p.is_dir() {
            let mut walked = Vec::new();
            walk(&p, &mut walked)?;
            paths.extend(walked.into_iter().map(|w| (w, true)));
        } else {
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
fn s3_input_files(job: &LoadedJob, key: &str, input: &InputSpec) -> Result<Vec<Arc<InputFile>>> {
    let s3 = job.s3()?;
    let url = &input.path;
    let base = match url.find(['*', '?', '[', '{']) {
        Some(i) => url[..i].rfind('/').map_or(url.as_str(), |j| &url[..=j]),
        None => url.rfind('/').map_or(url.as_str(), |j| &url[..=j]),
    };
    let mut files = Vec::new();
    for (obj, size) in crate::storage::glob(&s3, url)? {
        let path = PathBuf::from(&obj);
        let Some(format) = format_of(&path, input.format) else {
            continue;
        };
        let name = obj.strip_prefix(base).unwrap_or(&obj).to_string();
        files.push(Arc::new(InputFile {
            path,
            name,
            size,
            format,
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
            FileFormat::Jsonl(_) => vec![Piece::Whole],
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

/// Plans a job: finds its files, splits them into tasks and hashes every stage.
pub fn plan(job: &LoadedJob) -> Result<Plan> {
    let spec = &job.spec;
    let mut splits = Vec::new();
    let mut fingerprint = String::new();
    for (i, input) in spec.inputs.iter().enumerate() {
        let files = input_files(job, i, input)?;
        for f in &files {
            fingerprint.push_str(&format!("{}\t{}\t{}\n", input.name, f.name, f.size));
        }
        splits.extend(splits_of(i, &files, spec.job.split_bytes)?);
    }
    let hashes = spec.stage_hashes(&fingerprint);
    let stages = spec
        .stages
        .iter()
        .zip(hashes)
        .map(|(s, hash)| PlannedStage {
            spec: s.clone(),
            hash,
            tasks: splits.len(),
        })
        .collect();
    Ok(Plan {
        output: job.output_dir(),
        splits,
        stages,
    })
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
