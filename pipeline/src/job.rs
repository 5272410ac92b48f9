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
        let mut spec = JobSpec::from_toml(&text).map_err(|source| PipelineError::Job {
            file: path.display().to_string(),
            source,
        })?;
        // A global stage reads a finished stage: the inputs become one first.
        if spec.stages.first().is_some_and(crate::registry::is_global)
            && !spec.stages.iter().any(|s| s.name() == "read")
        {
            spec.stages
                .insert(0, taojin_schemas::StageSpec::Read(Default::default()));
        }
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

    /// The output folder: where stages write. For an `s3://` output, the local staging
    /// folder that mirrors it (see [`crate::storage`]).
    pub fn output_dir(&self) -> PathBuf {
        let out = &self.spec.job.output;
        if !crate::storage::is_s3(out) {
            return self.resolve(out);
        }
        let storage = self.spec.storage.clone().unwrap_or_default();
        let env = std::env::var("TAOJIN_STAGING_DIR")
            .ok()
            .filter(|d| !d.is_empty());
        match env.or(storage.staging_dir) {
            Some(d) => self.resolve(&d),
            None => std::env::temp_dir()
                .join("taojin-staging")
                .join(&taojin_schemas::job::sha256_hex(out.as_bytes())[..16]),
        }
    }

    /// The S3 client of this job's `[storage.s3]` settings.
    pub fn s3(&self) -> Result<std::sync::Arc<crate::storage::S3>> {
        let storage = self.spec.storage.clone().unwrap_or_default();
        crate::storage::S3::shared(&storage.s3)
    }

    /// The S3 output this job's staging folder mirrors, if its output is on S3.
    pub fn remote(&self) -> Result<Option<crate::storage::Remote>> {
        let out = &self.spec.job.output;
        if !crate::storage::is_s3(out) {
            return Ok(None);
        }
        crate::storage::Remote::new(self.s3()?, out, self.output_dir()).map(Some)
    }
}
