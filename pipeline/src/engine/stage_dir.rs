//! One stage folder: its paths, done markers and `_stage.json`. Every other part of the
//! engine asks this type what is done; nothing else spells a marker name.
//!
//! ```text
//! <stage>/part-NNNNN.parquet          kept rows of task N
//! <stage>/removed/part-NNNNN.parquet  removed rows, with `reason` and `detail`
//! <stage>/_stats/part-NNNNN.json      task stats
//! <stage>/_done/part-NNNNN            done marker of task N (holds the config hash)
//! <stage>/_work/                      spill and decision files of a global stage
//! <stage>/_work/_done/map-NNNNN       map phase of task N done
//! <stage>/_work/_done/reduce          reduce done; its counters in reduce-counters.json
//! <stage>/_stage.json                 config hash, task count, format version, seconds
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use taojin_schemas::TaskStats;

use crate::error::{PipelineError, Result};
use crate::plan::PlannedStage;
use crate::task::TaskPaths;
use crate::writer::{remove_tmp_files, write_atomic};

/// Version of everything taojin writes under a stage folder (part files, spill and
/// decision records, markers). 3: the first stage writes `_work/ids-*.bin`; 4: and
/// `_work/ids-suffixed-*.bin`, which the ids step needs. A folder of another version is
/// never reused: it is part of every config hash, and `_stage.json` records it.
pub const FORMAT_VERSION: u32 = 4;

/// What a `prepare` does with what writers left: temporary files (and, with an `s3://`
/// output, unfinished multipart uploads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftovers {
    /// Removed: no writer of this output is alive (a new run holds the lock).
    Remove,
    /// Kept: the step joined a cluster run whose workers may be writing them now. A dead
    /// worker's stay until the next run's `prepare`; nothing reads a temporary name.
    Keep,
}

/// `<stage>/_stage.json`: which config the stage folder holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageMeta {
    /// The stage's config hash.
    pub hash: String,
    /// Its task count.
    pub tasks: usize,
    /// [`FORMAT_VERSION`] of the writer (0: written before versions existed).
    #[serde(default)]
    pub format: u32,
    /// Wall seconds of the run that finished the stage.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Peak RSS of the process while the run that finished the stage ran it (local runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
}

impl StageMeta {
    fn of(planned: &PlannedStage) -> StageMeta {
        StageMeta {
            hash: planned.hash.clone(),
            tasks: planned.tasks,
            format: FORMAT_VERSION,
            seconds: None,
            peak_rss_bytes: None,
        }
    }

    /// True when this meta describes `planned` (same config, tasks and format).
    pub fn matches(&self, planned: &PlannedStage) -> bool {
        self.hash == planned.hash && self.tasks == planned.tasks && self.format == FORMAT_VERSION
    }
}

/// True when `_stage.json` bytes describe `planned`.
pub fn meta_bytes_match(bytes: &[u8], planned: &PlannedStage) -> bool {
    serde_json::from_slice::<StageMeta>(bytes).is_ok_and(|m| m.matches(planned))
}

/// The folder of one planned stage.
#[derive(Debug, Clone)]
pub struct StageDir {
    /// `<output>/<stage name>`.
    pub dir: PathBuf,
    /// The stage name.
    pub name: String,
    hash: String,
    /// What its `:ids` marker holds (the first stage's).
    ids_key: String,
    tasks: usize,
}

impl StageDir {
    /// The folder of `planned` under `output`.
    pub fn new(output: &Path, planned: &PlannedStage) -> StageDir {
        StageDir {
            dir: output.join(planned.spec.name()),
            name: planned.spec.name().to_string(),
            hash: planned.hash.clone(),
            ids_key: planned.ids_key.clone(),
            tasks: planned.tasks,
        }
    }

    /// The config hash markers must hold.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Number of tasks.
    pub fn tasks(&self) -> usize {
        self.tasks
    }

    /// Paths of task `task`'s outputs.
    pub fn task(&self, task: usize) -> TaskPaths {
        TaskPaths::new(&self.dir, task)
    }

    /// The kept part file of task `task`.
    pub fn part(&self, task: usize) -> PathBuf {
        self.task(task).kept
    }

    /// `_work/`: spill and decision files of a global stage.
    pub fn work(&self) -> PathBuf {
        self.dir.join("_work")
    }

    fn phase_marker(&self, name: &str) -> PathBuf {
        self.work().join("_done").join(name)
    }

    fn map_marker(&self, task: usize) -> PathBuf {
        self.phase_marker(&format!("map-{task:05}"))
    }

    fn holds_hash(&self, path: &Path) -> bool {
        Self::holds(path, &self.hash)
    }

    fn holds(path: &Path, key: &str) -> bool {
        fs::read_to_string(path).is_ok_and(|h| h.trim() == key)
    }

    /// True when task `task` has committed under this config.
    pub fn task_done(&self, task: usize) -> bool {
        self.task(task).is_done(&self.hash)
    }

    /// True when the map phase of task `task` has finished under this config.
    pub fn map_done(&self, task: usize) -> bool {
        self.holds_hash(&self.map_marker(task))
    }

    /// Marks the map phase of task `task` done.
    pub fn mark_map(&self, task: usize) -> Result<()> {
        write_atomic(&self.map_marker(task), self.hash.as_bytes())
    }

    /// True when the reduce phase has finished under this config.
    pub fn reduce_done(&self) -> bool {
        self.holds_hash(&self.phase_marker("reduce"))
    }

    /// Keeps the reduce's counters, then marks the reduce done.
    pub fn mark_reduce(&self, counters: &[(String, u64)]) -> Result<()> {
        self.mark_phase("reduce", counters, &self.hash)
    }

    /// True when the `:ids` step (duplicate ids of the first stage) has finished under
    /// this config and the job's `on_duplicate_id`.
    pub fn ids_done(&self) -> bool {
        Self::holds(&self.phase_marker("ids"), &self.ids_key)
    }

    /// Removes the `:ids` marker (the step is about to rerun).
    pub fn unmark_ids(&self) -> Result<()> {
        let path = self.phase_marker("ids");
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PipelineError::io(&path)(e)),
            _ => Ok(()),
        }
    }

    /// Keeps the `:ids` step's counters, then marks it done.
    pub fn mark_ids(&self, counters: &[(String, u64)]) -> Result<()> {
        self.mark_phase("ids", counters, &self.ids_key)
    }

    /// A one-task phase's counters in `_work/<phase>-counters.json`, then its marker
    /// holding `key`.
    fn mark_phase(&self, phase: &str, counters: &[(String, u64)], key: &str) -> Result<()> {
        let json =
            serde_json::to_vec(counters).map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_atomic(&self.work().join(format!("{phase}-counters.json")), &json)?;
        write_atomic(&self.phase_marker(phase), key.as_bytes())
    }

    /// The counters of the finished phases (reduce, ids) of the stage.
    pub fn phase_counters(&self) -> Result<Vec<(String, u64)>> {
        let mut out = self.read_counters(self.reduce_done(), "reduce-counters.json")?;
        out.extend(self.read_counters(self.ids_done(), "ids-counters.json")?);
        Ok(out)
    }

    fn read_counters(&self, done: bool, name: &str) -> Result<Vec<(String, u64)>> {
        if !done {
            return Ok(Vec::new());
        }
        let path = self.work().join(name);
        let bytes = fs::read(&path).map_err(PipelineError::io(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| corrupt(&path, e))
    }

    /// The tasks of `0..tasks` for which `done` is false.
    pub fn pending(&self, tasks: usize, done: impl Fn(usize) -> bool) -> Vec<usize> {
        (0..tasks).filter(|&t| !done(t)).collect()
    }

    /// `_stage.json`, if it exists and parses.
    pub fn meta(&self) -> Option<StageMeta> {
        fs::read(self.dir.join("_stage.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// True when `_stage.json` says the folder holds this config.
    pub fn is_prepared(&self, planned: &PlannedStage) -> bool {
        self.meta().is_some_and(|m| m.matches(planned))
    }

    /// Makes the folder ready: wiped when `force` or when it holds another config (or
    /// format), subfolders created, temporary files of dead writers deleted unless
    /// `leftovers` keeps them.
    pub fn prepare(&self, planned: &PlannedStage, force: bool, leftovers: Leftovers) -> Result<()> {
        let matches = self.is_prepared(planned);
        if self.dir.exists() && (force || !matches) {
            if !force {
                tracing::info!(stage = %self.name, "config changed: rerunning the stage");
            }
            fs::remove_dir_all(&self.dir).map_err(PipelineError::io(&self.dir))?;
        }
        self.create_subdirs()?;
        if leftovers == Leftovers::Remove {
            remove_tmp_files(&self.dir)?;
        }
        if force || !matches {
            self.write_meta(&StageMeta::of(planned))?;
        }
        Ok(())
    }

    /// Creates the subfolders a task writes into (a fresh staging folder on another
    /// machine has only what was pulled).
    pub fn create_subdirs(&self) -> Result<()> {
        for sub in ["", "removed", "_stats", "_done", "_work/_done"] {
            let d = self.dir.join(sub);
            fs::create_dir_all(&d).map_err(PipelineError::io(&d))?;
        }
        Ok(())
    }

    fn write_meta(&self, meta: &StageMeta) -> Result<()> {
        let json =
            serde_json::to_vec_pretty(meta).map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_atomic(&self.dir.join("_stage.json"), &json)
    }

    /// Records the wall seconds and peak RSS of the run that finished the stage.
    pub fn record_run(
        &self,
        planned: &PlannedStage,
        seconds: f64,
        peak_rss_bytes: Option<u64>,
    ) -> Result<()> {
        let mut meta = StageMeta::of(planned);
        meta.seconds = Some(seconds);
        meta.peak_rss_bytes = peak_rss_bytes;
        self.write_meta(&meta)
    }

    /// The stats of every task (all must be done).
    pub fn task_stats(&self) -> Result<Vec<TaskStats>> {
        (0..self.tasks).map(|t| self.task_stat(t)).collect()
    }

    /// The stats of task `t` (it must be done).
    pub fn task_stat(&self, t: usize) -> Result<TaskStats> {
        let path = self.task(t).stats;
        let bytes = fs::read(&path).map_err(PipelineError::io(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| corrupt(&path, e))
    }

    /// Documents kept by each task (from the task stats).
    pub fn rows(&self) -> Result<Vec<u64>> {
        Ok(self.task_stats()?.iter().map(|s| s.docs_kept).collect())
    }
}

/// A file taojin wrote that no longer parses: damaged on disk, not a bug.
pub fn corrupt(path: &Path, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Config(format!(
        "{}: damaged ({e}); rerun the stage with --force",
        path.display()
    ))
}
