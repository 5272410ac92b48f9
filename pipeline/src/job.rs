//! Loading a job file from disk and resolving its relative paths.

use std::path::{Path, PathBuf};

use taojin_schemas::JobSpec;

use crate::error::{PipelineError, Result};

/// A validated job and the folder its relative paths resolve against.
#[derive(Debug, Clone)]
pub struct LoadedJob {
    /// The parsed job.
    pub spec: JobSpec,
    /// The job file.
    pub path: PathBuf,
    /// Its folder.
    pub dir: PathBuf,
}

impl LoadedJob {
    /// Reads and validates a job file.
    pub fn load(path: &Path) -> Result<LoadedJob> {
        let text = std::fs::read_to_string(path).map_err(PipelineError::io(path))?;
        let spec = JobSpec::from_toml(&text).map_err(|source| PipelineError::Job {
            file: path.display().to_string(),
            source,
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(LoadedJob {
            spec,
            path: path.to_path_buf(),
            dir,
        })
    }

    /// A path from the job file, resolved against the job file's folder.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    /// The output folder.
    pub fn output_dir(&self) -> PathBuf {
        self.resolve(&self.spec.job.output)
    }
}
