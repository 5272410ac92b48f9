//! Object storage at step boundaries: with an `s3://` output, stage folders live in a
//! local staging folder that is synchronized with the bucket before and after each step.
//! The orchestrator calls these hooks and nothing else touches the bucket during a run.

use taojin_schemas::StageSpec;

use crate::engine::stage_dir::meta_bytes_match;
use crate::engine::steps::{Phase, Step};
use crate::error::{PipelineError, Result};
use crate::plan::Plan;
use crate::storage::{Remote, is_small};
use crate::task::part_name;

/// The S3 hooks of one worker.
pub struct S3Sync {
    remote: Remote,
}

/// Bytes of part files a `finalize` whose staging folder lacks them pulls at most to
/// build the report (its sample of each table, see [`S3Sync::pull_report_sample`]).
pub const REPORT_SAMPLE_BYTES: u64 = 1 << 30;

/// What [`S3Sync::pull_report_sample`] brought down.
pub struct ReportSample {
    /// The files the report reads and each table's part count in the bucket.
    pub sample: crate::html_report::Sample,
    /// Files and folders this pull created, removed again once the report is built.
    pub pulled: Vec<std::path::PathBuf>,
}

impl ReportSample {
    /// Removes what the pull created (files first, then the folders it made if empty).
    pub fn remove_pulled(&self) {
        remove_created(&self.pulled);
    }
}

fn remove_created(paths: &[std::path::PathBuf]) {
    for p in paths {
        let _ = match p.is_dir() {
            true => std::fs::remove_dir(p),
            false => std::fs::remove_file(p),
        };
    }
}

impl S3Sync {
    /// Hooks for `remote`.
    pub fn new(remote: Remote) -> S3Sync {
        S3Sync { remote }
    }

    /// Before the `prepare` step (or a setup that re-prepares its stage): the bucket is
    /// the truth. A stage folder of another config (or every one, with `force`) is deleted
    /// there; one of this config lends its `_stage.json` to the staging folder.
    pub fn before_prepare(&self, plan: &Plan, stages: &[usize], force: bool) -> Result<()> {
        for &i in stages {
            let st = &plan.stages[i];
            let name = st.spec.name();
            let meta = format!("{name}/_stage.json");
            match self.remote.read_small(&meta)? {
                Some(b) if !force && meta_bytes_match(&b, st) => {
                    let dir = plan.output.join(name);
                    std::fs::create_dir_all(&dir).map_err(PipelineError::io(&dir))?;
                    crate::writer::write_atomic(&plan.output.join(&meta), &b)?
                }
                Some(_) => self.remote.delete_dir(name)?,
                None => {}
            }
        }
        Ok(())
    }

    /// After the local folders are prepared: their `_stage.json` go up.
    pub fn after_prepare(&self, plan: &Plan, stages: &[usize]) -> Result<()> {
        for &i in stages {
            self.remote
                .push_file(&format!("{}/_stage.json", plan.stages[i].spec.name()))?;
        }
        Ok(())
    }

    /// Aborts multipart uploads that dead writers left.
    pub fn abort_stale_uploads(&self) -> Result<usize> {
        self.remote.abort_stale_uploads()
    }

    /// Before a step: the stage's small files (markers, stats), plus `_work/` for the
    /// reduce and apply phases, so the worker knows what is done.
    pub fn pull_state(&self, plan: &Plan, step: &Step) -> Result<()> {
        let name = plan.stages[step.stage].spec.name();
        let work = matches!(step.phase, Phase::Reduce | Phase::Apply | Phase::Ids);
        let prefix = format!("{name}/_work/");
        self.remote.pull(name, &|rel: &str| {
            is_small(rel) || (work && rel.starts_with(prefix.as_str()))
        })?;
        Ok(())
    }

    /// Before running tasks `todo` of a step: the previous stage's small files and the
    /// part files those tasks read (every part for `setup`, which reads every document).
    pub fn pull_inputs(&self, plan: &Plan, step: &Step, todo: &[usize]) -> Result<()> {
        let Some(prev) = step.stage.checked_sub(1).map(|i| &plan.stages[i]) else {
            return Ok(());
        };
        let parts: Vec<String> = todo
            .iter()
            .map(|&t| format!("/{}.parquet", part_name(t)))
            .collect();
        let all = step.phase == Phase::Setup;
        self.remote.pull(prev.spec.name(), &|rel: &str| {
            all || is_small(rel)
                || rel.contains("/_work/id-renames-")
                || (!rel.contains("/removed/") && parts.iter().any(|p| rel.ends_with(p.as_str())))
        })?;
        Ok(())
    }

    /// After a step ran tasks: the stage folder goes up (data first, markers last), and
    /// after a reduce the stage's extra outputs (e.g. `shards/`) too.
    pub fn after_step(&self, plan: &Plan, step: &Step) -> Result<usize> {
        let spec: &StageSpec = &plan.stages[step.stage].spec;
        let mut n = self.remote.push(spec.name(), false)?;
        if step.phase == Phase::Reduce {
            for extra in crate::registry::extra_outputs(spec) {
                n += self.remote.push(extra, true)?;
            }
        }
        Ok(n)
    }

    /// Before `finalize`: the small files of every stage (task stats, counters).
    pub fn before_finalize(&self, plan: &Plan) -> Result<()> {
        for st in &plan.stages {
            self.remote.pull(st.spec.name(), &is_small)?;
        }
        Ok(())
    }

    /// For the report of a run whose parts are in the bucket only (a cluster's
    /// `finalize`): pulls the part files the report will read, each table's sample as
    /// [`crate::sql::sample_files`] picks it from the bucket's sorted listing, and the
    /// shards' manifest. `None`, with nothing pulled, when that sample is over `budget`
    /// bytes; on an error what was pulled is removed again.
    pub fn pull_report_sample(
        &self,
        plan: &Plan,
        per_table: usize,
        budget: u64,
    ) -> Result<Option<ReportSample>> {
        use std::path::PathBuf;
        let root = plan.output.clone();
        let mut sample = crate::html_report::Sample {
            picked: Default::default(),
            parts: Default::default(),
        };
        let mut wanted = std::collections::HashSet::new();
        let mut bytes = 0u64;
        for st in &plan.stages {
            let name = st.spec.name();
            for (table, dir) in [
                (name.to_string(), name.to_string()),
                (format!("{name}_removed"), format!("{name}/removed")),
            ] {
                let listed = self.remote.parts(&dir)?;
                sample.parts.insert(table.clone(), listed.len());
                let sizes: std::collections::HashMap<PathBuf, u64> = listed
                    .iter()
                    .map(|(rel, size)| (PathBuf::from(rel), *size))
                    .collect();
                let paths: Vec<PathBuf> = listed.into_iter().map(|(rel, _)| rel.into()).collect();
                let picked = crate::sql::sample_files(paths, per_table);
                for p in &picked {
                    bytes += sizes.get(p).copied().unwrap_or(0);
                    wanted.insert(p.to_string_lossy().into_owned());
                }
                sample
                    .picked
                    .insert(table, picked.iter().map(|p| root.join(p)).collect());
            }
        }
        if bytes > budget {
            tracing::info!(
                "report.html not built: the sample of the bucket's parts it reads is {:.1} MB, \
                 over {:.1} MB; run `taojin report` on a local copy",
                bytes as f64 / 1e6,
                budget as f64 / 1e6
            );
            return Ok(None);
        }
        // What this pull creates: the sampled files missing here (and their folders), the
        // manifest; folders last, so that removing in order empties them first.
        let mut pulled: Vec<PathBuf> = wanted
            .iter()
            .map(|rel| root.join(rel))
            .chain([root.join("shards/manifest.json")])
            .filter(|p| !p.exists())
            .collect();
        for st in &plan.stages {
            let removed = root.join(st.spec.name()).join("removed");
            if !removed.exists() {
                pulled.push(removed);
            }
        }
        let shards = root.join("shards");
        if !shards.exists() {
            pulled.push(shards.clone());
        }
        let pull = || -> Result<()> {
            for st in &plan.stages {
                self.remote
                    .pull(st.spec.name(), &|rel| wanted.contains(rel))?;
            }
            std::fs::create_dir_all(&shards).map_err(PipelineError::io(&shards))?;
            self.remote.pull_file("shards/manifest.json")?;
            Ok(())
        };
        match pull() {
            Ok(()) => Ok(Some(ReportSample { sample, pulled })),
            Err(e) => {
                remove_created(&pulled);
                Err(e)
            }
        }
    }

    /// After `finalize`: `stats.json` goes up.
    pub fn after_finalize(&self) -> Result<()> {
        self.remote.push_file("stats.json")
    }

    /// After a setup step: the files it made (a trained tokenizer) go up beside the
    /// output, for the workers of machines that share only the bucket.
    pub fn push_stage_files(&self, spec: &StageSpec, job: &crate::job::LoadedJob) -> Result<()> {
        for (name, path) in crate::registry::files(spec, job) {
            if path.is_file() {
                let bytes = std::fs::read(&path).map_err(PipelineError::io(&path))?;
                self.remote.put_small(&stage_file(spec, &name)?, &bytes)?;
            }
        }
        Ok(())
    }

    /// The bucket's `stats.json`, if there is one.
    pub fn read_stats(&self) -> Result<Option<Vec<u8>>> {
        self.remote.read_small("stats.json")
    }

    /// `report.html` goes up beside `stats.json`.
    pub fn push_report(&self) -> Result<()> {
        self.remote.push_file("report.html")
    }

    /// True when the bucket holds a report, or when it cannot tell (said in a warning:
    /// a report never fails the run, and a kept one is only ever one of these configs).
    pub fn has_report_or_say(&self) -> bool {
        self.remote.exists("report.html").unwrap_or_else(|e| {
            tracing::warn!("report.html in the bucket: {e}; keeping it");
            true
        })
    }

    /// A report of an earlier run, not rebuilt by this one, is removed (looked for
    /// first: where there is none, credentials without DeleteObject do not fail).
    pub fn delete_report(&self) -> Result<()> {
        match self.remote.exists("report.html")? {
            true => self.remote.delete_file("report.html"),
            false => Ok(()),
        }
    }

    /// The output URL, for the log.
    pub fn url(&self) -> String {
        self.remote.url()
    }
}

/// Where a stage's file made by its setup step is kept under the output: named by the
/// stage's spec as written, so a copy made under another spec (another vocabulary, another
/// path, another stage) is never fetched.
fn stage_file(spec: &StageSpec, name: &str) -> Result<String> {
    let json = serde_json::to_vec(spec).map_err(|e| PipelineError::Internal(e.to_string()))?;
    let spec_hash = xxhash_rust::xxh3::xxh3_64(&json);
    Ok(format!("_files/{}/{name}-{spec_hash:016x}", spec.name()))
}

/// Before a cluster step plans the job: each stage file missing on this machine (a
/// tokenizer another machine's setup step trained) comes from the bucket if it is there,
/// so every worker hashes the same config. A local `taojin run` does not: there a deleted
/// tokenizer is trained again.
pub fn pull_missing_stage_files(job: &crate::job::LoadedJob, remote: &Remote) -> Result<()> {
    for spec in &job.spec.stages {
        for (name, path) in crate::registry::files(spec, job) {
            if path.exists() {
                continue;
            }
            if let Some(bytes) = remote.read_small(&stage_file(spec, &name)?)? {
                tracing::info!(file = %path.display(), "{name} of stage {} from the bucket", spec.name());
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
                }
                crate::writer::write_atomic(&path, &bytes)?;
            }
        }
    }
    Ok(())
}
