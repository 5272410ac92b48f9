//! The engine: a plan becomes ordered [`steps`], and one orchestrator runs them. A local
//! run is every step of the plan, in order, on one worker with a thread pool; a cluster
//! worker runs its share of one step (`--stage S --task I --tasks N`) through the very
//! same code, so the local path is the cluster path.
//!
//! Every task of a step can run on any machine that sees the same output folder, in any
//! order and more than once: a task whose marker matches is skipped, and two workers
//! given the same task write identical bytes through unique temporary names and renames,
//! the marker last.

pub mod ids;
pub mod lock;
mod memory;
pub mod stage_dir;
pub mod steps;
mod sync;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use taojin_schemas::{RunStats, StageStats};

use crate::error::{PipelineError, Result};
use crate::global::{GlobalCtx, GlobalStage};
use crate::job::LoadedJob;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::registry::Built;
use crate::stages::MapStage;
use crate::task::{StageImpl, StageRun, TaskInput, run_task};
use crate::writer::{parquet_properties, remove_tmp_files, remove_tmp_siblings, write_atomic};
use memory::{StagePeaks, limit_allocator_arenas, release_free_memory};
use stage_dir::{Leftovers, StageDir};
pub use steps::{Phase, Step, assigned, pending, steps};
use sync::S3Sync;

/// How to run a job locally.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Rerun every task, ignoring done markers.
    pub force: bool,
    /// Stop after this stage (e.g. to look at a mix with `taojin mix --dry-run` first).
    pub until: Option<String>,
}

/// Environment variable of the test-only fail point: `STAGE:TASK` aborts the process in
/// that task after its files are written and before they are committed, as a crash would.
pub const FAILPOINT_ENV: &str = "TAOJIN_FAILPOINT_CRASH";

/// The most worker threads `--threads` accepts per core (a typo like `--threads 100000`
/// would spend minutes creating threads).
pub const MAX_THREADS_PER_CORE: usize = 4;

/// Cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs a whole job on this machine and returns its stats (also in `<output>/stats.json`).
pub fn run(job: &LoadedJob, opts: &RunOptions) -> Result<RunStats> {
    let mut plan = plan_until(job, opts.until.as_deref())?;
    let worker = Worker::new(job, opts.threads)?;
    std::fs::create_dir_all(&plan.output).map_err(PipelineError::io(&plan.output))?;
    let remote = job.remote()?;
    let place = match &remote {
        Some(r) => lock::LockPlace::Remote(r),
        None => lock::LockPlace::Local(&plan.output),
    };
    let _lock = lock::OutputLock::acquire(place, "local", &config_of(job), None)?;
    tracing::info!(job = %job.spec.job.name, tasks = plan.splits.len(), threads = worker.pool.current_num_threads(), "planned");
    worker.prepare(&plan, opts.force, Leftovers::Remove)?;
    let mut ran = vec![0usize; plan.stages.len()];
    let mut seconds = vec![0f64; plan.stages.len()];
    // Stages where this run did work, the apply aside: a reduce rerun after its apply
    // tasks were done (their markers may come first, see `reduce_and_apply`) counts.
    let mut worked = vec![false; plan.stages.len()];
    let mut built: Option<(usize, Arc<Built>)> = None;
    let mut current = None;
    let mut peaks = StagePeaks::start();
    let list = steps(&plan);
    let mut next = 0;
    while let Some(step) = list.get(next) {
        next += 1;
        if matches!(step.phase, Phase::Prepare | Phase::Finalize) {
            continue;
        }
        if current != Some(step.stage) {
            // The last stage's state goes before this one's peak starts.
            if built.take().is_some() {
                release_free_memory();
            }
            peaks.begin();
            current = Some(step.stage);
        }
        let start = Instant::now();
        let tasks: Vec<usize> = (0..step.tasks).collect();
        let beside = list
            .get(next)
            .filter(|a| worker.apply_beside_reduce(&plan, step, a));
        let n = match beside {
            Some(apply) => {
                next += 1;
                worker.reduce_and_apply(&plan, step, apply, &mut built)?
            }
            None => worker.run_step(&plan, step, &tasks, &mut built, false)?,
        };
        // With the apply done beside it, the reduce step's stage is finished here.
        let step = beside.unwrap_or(step);
        seconds[step.stage] += start.elapsed().as_secs_f64();
        // (A setup step always "runs": it is idempotent and cheap when done.)
        worked[step.stage] |= n > 0 && step.phase != Phase::Setup;
        if step.phase == Phase::Setup {
            // The setup wrote a file the stage's config hash covers (the tokenizer).
            crate::plan::rehash(job, &mut plan)?;
            worker.prepare_stages(&plan, &[step.stage], false, Leftovers::Remove)?;
            built = None;
        }
        if step.finishes_stage() {
            ran[step.stage] = n;
            let st = &plan.stages[step.stage];
            let dir = StageDir::new(&plan.output, st);
            match worked[step.stage] {
                false => {
                    tracing::info!(stage = %dir.name, resumed = st.tasks, "tasks already done, skipped")
                }
                true => dir.record_run(st, seconds[step.stage], peaks.peak())?,
            }
            let stats = stage_stats(&plan, step.stage, n)?;
            log_stage(&stats);
        }
    }
    worker.finalize(&plan, &ran)
}

/// Runs worker `task` of `workers` (default: the step's task count) of step `name`, as
/// part of cluster run `cluster_run` (see [`lock`]); returns a one-line summary.
pub fn run_step(
    job: &LoadedJob,
    name: &str,
    task: usize,
    workers: Option<usize>,
    threads: Option<usize>,
    cluster_run: Option<&str>,
) -> Result<String> {
    if let Some(id) = cluster_run {
        check_cluster_run_id(id)?;
    }
    if let Some(remote) = job.remote()? {
        sync::pull_missing_stage_files(job, &remote)?;
    }
    let plan = crate::plan::plan_and_cache(job)?;
    let all = steps(&plan);
    let step = all.iter().find(|s| s.name == name).ok_or_else(|| {
        PipelineError::Config(format!(
            "--stage `{name}`: no such step (steps: {})",
            all.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let workers = workers.unwrap_or(step.tasks);
    if workers == 0 || task >= workers {
        return Err(PipelineError::Config(format!(
            "--task {task} --tasks {workers}: the task index must be below --tasks"
        )));
    }
    let mine = assigned(task, workers, step.tasks);
    let worker = Worker::new(job, threads)?;
    let remote = job.remote()?;
    let place = || match &remote {
        Some(r) => lock::LockPlace::Remote(r),
        None => lock::LockPlace::Local(&plan.output),
    };
    // A prepare that joins its run's lock (a resubmitted script) may run beside that
    // run's workers: it keeps what they may be writing.
    let mut leftovers = Leftovers::Remove;
    if step.phase == Phase::Prepare {
        std::fs::create_dir_all(&plan.output).map_err(PipelineError::io(&plan.output))?;
        let lock = lock::OutputLock::acquire(place(), "cluster", &config_of(job), cluster_run)?;
        if lock.joined() {
            leftovers = Leftovers::Keep;
        }
    } else {
        lock::OutputLock::check_cluster(place(), &config_of(job), cluster_run)?;
    }
    match step.phase {
        Phase::Prepare => {
            worker.prepare(&plan, false, leftovers)?;
            Ok(format!("prepared {} stage folders", plan.stages.len()))
        }
        Phase::Finalize => {
            if let Some(s) = &worker.sync {
                s.before_finalize(&plan)?;
            }
            let missing: Vec<String> = all
                .iter()
                .filter(|s| !matches!(s.phase, Phase::Prepare | Phase::Finalize))
                .filter_map(|s| {
                    let left = pending(&plan, s);
                    (!left.is_empty()).then(|| format!("{} ({} tasks)", s.name, left.len()))
                })
                .collect();
            if !missing.is_empty() {
                return Err(PipelineError::Config(format!(
                    "not finished yet: {}",
                    missing.join(", ")
                )));
            }
            let stats = worker.finalize(&plan, &vec![0; plan.stages.len()])?;
            lock::OutputLock::release(place(), &config_of(job), cluster_run)?;
            Ok(crate::report::funnel(&stats))
        }
        Phase::Setup => {
            worker.run_step(&plan, step, &mine, &mut None, false)?;
            let mut plan = plan;
            crate::plan::rehash(job, &mut plan)?;
            // Kept: a resubmitted setup may run while that stage's workers write.
            worker.prepare_stages(&plan, &[step.stage], false, Leftovers::Keep)?;
            Ok(format!("{}: set up", step.name))
        }
        _ => {
            let n = worker.run_step(&plan, step, &mine, &mut None, false)?;
            let mut line = match n {
                0 => format!("{}: tasks {mine:?} already done", step.name),
                _ => format!("{}: ran tasks {mine:?}", step.name),
            };
            if step.finishes_stage() {
                let dir = StageDir::new(&plan.output, &plan.stages[step.stage]);
                let (mut docs, mut bytes) = (0, 0);
                // A task another worker is running again at the same moment (a requeue)
                // has no stats until it commits: it is left out of this line.
                for &t in &mine {
                    match dir.task_stat(t) {
                        Ok(s) => {
                            docs += s.docs_in;
                            bytes += s.bytes_in;
                        }
                        Err(PipelineError::Io { source, .. })
                            if source.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                line.push_str(&format!(" ({docs} docs in, {bytes} bytes in)"));
            }
            Ok(line)
        }
    }
}

/// What no longer matches between `stats.json` and the stage folders under `output`: a
/// stage rerun with another config (and interrupted), or tasks not done. One line each.
pub fn stale_stats(output: &std::path::Path, stats: &RunStats) -> Vec<String> {
    let mut notes = Vec::new();
    for s in &stats.stages {
        let dir = output.join(&s.name);
        let meta: Option<stage_dir::StageMeta> = std::fs::read(dir.join("_stage.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        match meta {
            None => notes.push(format!("stage `{}`: its folder is gone or damaged", s.name)),
            Some(m) if !s.config.is_empty() && m.hash != s.config => notes.push(format!(
                "stage `{}` now holds another config than this funnel counts (a rerun that did not finish?): run the job again",
                s.name
            )),
            Some(m) => {
                let done = (0..m.tasks)
                    .filter(|&t| crate::task::TaskPaths::new(&dir, t).is_done(&m.hash))
                    .count();
                if done < m.tasks {
                    notes.push(format!(
                        "stage `{}` is incomplete: {done} of {} tasks done",
                        s.name, m.tasks
                    ));
                }
            }
        }
    }
    notes
}

/// The config a lock names: a hash of the whole job file as parsed (not of the files it
/// reads, which a setup step may create while the lock is held).
fn config_of(job: &LoadedJob) -> String {
    let json = serde_json::to_string(&job.spec).unwrap_or_default();
    taojin_schemas::job::sha256_hex(json.as_bytes())
}

/// The plan, cut after stage `until`.
fn plan_until(job: &LoadedJob, until: Option<&str>) -> Result<Plan> {
    let mut plan = crate::plan::plan_and_cache(job)?;
    if let Some(until) = until {
        let Some(i) = plan.stages.iter().position(|s| s.spec.name() == until) else {
            return Err(PipelineError::Config(format!(
                "--until `{until}`: the job has no such stage (stages: {})",
                plan.stages
                    .iter()
                    .map(|s| s.spec.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        plan.stages.truncate(i + 1);
    }
    Ok(plan)
}

/// One worker: a thread pool, writer settings, progress, and the storage hooks.
struct Worker<'a> {
    job: &'a LoadedJob,
    pool: rayon::ThreadPool,
    props: WriterProperties,
    progress: Progress,
    /// Test-only fail point: (stage, task).
    failpoint: Option<(String, usize)>,
    sync: Option<S3Sync>,
    /// Set when a reduce beside its apply failed: the apply starts no more tasks.
    stop: AtomicBool,
}

impl<'a> Worker<'a> {
    fn new(job: &'a LoadedJob, threads: Option<usize>) -> Result<Worker<'a>> {
        let threads = threads.unwrap_or_else(cores);
        limit_allocator_arenas(threads);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("taojin-{i}"))
            .build()
            .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;
        let failpoint = std::env::var(FAILPOINT_ENV).ok().and_then(|f| {
            let (s, t) = f.rsplit_once(':')?;
            Some((s.to_string(), t.parse().ok()?))
        });
        let sync = job.remote()?.map(S3Sync::new);
        Ok(Worker {
            job,
            pool,
            props: parquet_properties(job.spec.job.compression, job.spec.job.zstd_level)?,
            progress: Progress::new(),
            failpoint,
            sync,
            stop: AtomicBool::new(false),
        })
    }

    /// The `prepare` step: every stage folder made ready, and what dead writers left
    /// removed unless `leftovers` keeps it.
    fn prepare(&self, plan: &Plan, force: bool, leftovers: Leftovers) -> Result<()> {
        std::fs::create_dir_all(&plan.output).map_err(PipelineError::io(&plan.output))?;
        if let Some(s) = &self.sync {
            let aborted = match leftovers {
                Leftovers::Remove => s.abort_stale_uploads()?,
                Leftovers::Keep => 0,
            };
            tracing::info!(output = %s.url(), staging = %plan.output.display(), aborted, "output on S3");
        }
        if leftovers == Leftovers::Remove {
            remove_output_tmp_files(self.job, plan)?;
        }
        let all: Vec<usize> = (0..plan.stages.len()).collect();
        self.prepare_stages(plan, &all, force, leftovers)
    }

    /// Makes `stages`' folders ready under `plan` (after a setup step changed one
    /// stage's config hash, that stage alone).
    fn prepare_stages(
        &self,
        plan: &Plan,
        stages: &[usize],
        force: bool,
        leftovers: Leftovers,
    ) -> Result<()> {
        if let Some(s) = &self.sync {
            s.before_prepare(plan, stages, force)?;
        }
        for &i in stages {
            StageDir::new(&plan.output, &plan.stages[i]).prepare(
                &plan.stages[i],
                force,
                leftovers,
            )?;
        }
        if let Some(s) = &self.sync {
            s.after_prepare(plan, stages)?;
        }
        Ok(())
    }

    /// True when `apply` follows `reduce` in a local run and can run beside it: its
    /// stage's apply reads only the map's records, and both steps have work left. (Not
    /// with object storage, whose state is pushed after each step in order.)
    fn apply_beside_reduce(&self, plan: &Plan, reduce: &Step, apply: &Step) -> bool {
        reduce.phase == Phase::Reduce
            && apply.phase == Phase::Apply
            && apply.stage == reduce.stage
            && self.sync.is_none()
            && !crate::registry::apply_needs_reduce(&plan.stages[reduce.stage].spec)
            && !pending(plan, reduce).is_empty()
            && !pending(plan, apply).is_empty()
    }

    /// Runs a global stage's reduce (one task, on its own thread) and its apply tasks (on
    /// the pool) at once, on one built instance; returns how many apply tasks ran. The
    /// reduce of a tokenize stage is one thread's work, so the apply's pass over the
    /// documents comes nearly free.
    fn reduce_and_apply(
        &self,
        plan: &Plan,
        reduce: &Step,
        apply: &Step,
        built: &mut Option<(usize, Arc<Built>)>,
    ) -> Result<usize> {
        self.build(plan, reduce.stage, built)?;
        tracing::info!(stage = %plan.stages[reduce.stage].spec.name(), "apply beside the reduce");
        let (mut for_reduce, mut for_apply) = (built.clone(), built.clone());
        let tasks: Vec<usize> = (0..apply.tasks).collect();
        self.stop.store(false, Ordering::Relaxed);
        let (reduced, applied) = std::thread::scope(|s| {
            let r = s.spawn(|| {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.run_step(plan, reduce, &[0], &mut for_reduce, false)
                }));
                // A failed reduce is reported now, not after the apply's last task.
                if !matches!(r, Ok(Ok(_))) {
                    self.stop.store(true, Ordering::Relaxed);
                }
                r
            });
            let a = self.run_step(plan, apply, &tasks, &mut for_apply, true);
            (r.join(), a)
        });
        let panicked = || PipelineError::Internal(format!("`{}` panicked", reduce.name));
        reduced.map_err(|_| panicked())?.map_err(|_| panicked())??;
        applied
    }

    /// Builds step `stage`'s stage into `built` unless it holds it already.
    fn build(
        &self,
        plan: &Plan,
        stage: usize,
        built: &mut Option<(usize, Arc<Built>)>,
    ) -> Result<()> {
        if built.as_ref().is_none_or(|(s, _)| *s != stage) {
            // (A local run drops the last stage's state before this one's first step.)
            let prev = stage
                .checked_sub(1)
                .map(|i| StageDir::new(&plan.output, &plan.stages[i]));
            let b = crate::registry::build(
                &plan.stages[stage].spec,
                self.job,
                prev.as_ref().map(|p| p.dir.as_path()),
            )?;
            *built = Some((stage, Arc::new(b)));
        }
        Ok(())
    }

    /// Runs the tasks of `mine` that are not done yet; returns how many ran. `built`
    /// caches the stage between the steps of one stage in a local run. `beside_reduce`:
    /// an apply step running while its reduce does (see [`Worker::reduce_and_apply`]).
    fn run_step(
        &self,
        plan: &Plan,
        step: &Step,
        mine: &[usize],
        built: &mut Option<(usize, Arc<Built>)>,
        beside_reduce: bool,
    ) -> Result<usize> {
        let st = &plan.stages[step.stage];
        let dir = StageDir::new(&plan.output, st);
        if let Some(s) = &self.sync {
            s.pull_state(plan, step)?;
        }
        if !dir.is_prepared(st) {
            let why = match dir.meta() {
                Some(m) if m.format != stage_dir::FORMAT_VERSION => format!(
                    "written by another version of taojin (format {}, this one reads {})",
                    m.format,
                    stage_dir::FORMAT_VERSION
                ),
                _ => "not prepared for this job's config".into(),
            };
            return Err(PipelineError::Config(format!(
                "{}: {why}; run the `prepare` step first (it reruns the stage)",
                dir.dir.display()
            )));
        }
        dir.create_subdirs()?;
        let todo: Vec<usize> = match step.phase {
            Phase::Setup => mine.to_vec(),
            _ => {
                let left = pending(plan, step);
                mine.iter().copied().filter(|t| left.contains(t)).collect()
            }
        };
        if todo.is_empty() {
            return Ok(0);
        }
        if let Some(s) = &self.sync {
            s.pull_inputs(plan, step, &todo)?;
        }
        self.require_before(plan, step, beside_reduce)?;
        let prev = step
            .stage
            .checked_sub(1)
            .map(|i| StageDir::new(&plan.output, &plan.stages[i]));
        if step.phase == Phase::Setup {
            let prev = prev.ok_or_else(|| {
                PipelineError::Config(format!("`{}` needs a stage before it", step.name))
            })?;
            crate::registry::setup(&st.spec, self.job, &prev.dir)?;
            if let Some(s) = &self.sync {
                s.push_stage_files(&st.spec, self.job)?;
            }
            return Ok(1);
        }
        if step.phase == Phase::Ids {
            // An earlier policy's marker must not outlive the renames this step rewrites.
            dir.unmark_ids()?;
            let counters = ids::resolve(&dir, self.job.spec.job.on_duplicate_id)?;
            dir.mark_ids(&counters)?;
            if let Some(s) = &self.sync {
                s.after_step(plan, step)?;
            }
            return Ok(1);
        }
        self.build(plan, step.stage, built)?;
        let Some((_, stage)) = built.as_ref() else {
            return Err(PipelineError::Internal("stage not built".into()));
        };
        let bar = self.progress.stage(&step.name, todo.len());
        // The second stage reads the first with its repeated ids made unique.
        let first = ids::first_stage_input(plan, step.stage);
        let renamed = |t: usize| match &first {
            Some(dir) => ids::renames(dir, t, self.job.spec.job.on_duplicate_id),
            None => Ok(Vec::new()),
        };
        let input = |t: usize| -> Result<TaskInput<'_>> {
            Ok(match &prev {
                None => TaskInput::Split(&plan.splits[t]),
                Some(prev) => TaskInput::Part {
                    path: prev.part(t),
                    renames: renamed(t)?,
                },
            })
        };
        let collect_ids = (step.stage == 0).then_some(&dir);
        let crash_task = self
            .failpoint
            .as_ref()
            .filter(|(s, _)| s == st.spec.name())
            .map(|(_, t)| *t);
        let run_tasks = |stage: StageImpl<'_>| -> Result<()> {
            let run = StageRun {
                name: st.spec.name(),
                hash: &st.hash,
                dir: &dir.dir,
                stage,
                job: &self.job.spec,
                props: self.props.clone(),
                progress: &bar,
                crash_task,
                ids: collect_ids,
            };
            let results: Vec<Result<_>> = self.pool.install(|| {
                todo.par_iter()
                    .map(|&t| {
                        if self.stop.load(Ordering::Relaxed) {
                            return Err(PipelineError::Internal(
                                "stopped: the reduce failed".into(),
                            ));
                        }
                        run_task(&run, t, input(t)?)
                    })
                    .collect()
            });
            // The first failure in task order, whatever order the threads met them in.
            results.into_iter().try_for_each(|r| r.map(drop))
        };
        match (step.phase, stage.as_ref()) {
            (Phase::Map, Built::Map(m)) => run_tasks(StageImpl::Shared(m.as_ref()))?,
            (Phase::GlobalMap | Phase::Reduce | Phase::Apply, Built::Global(g)) => {
                let ctx = GlobalCtx::new(&self.job.spec, plan, step.stage, &self.pool, g.as_ref())?;
                self.global_step(step, &dir, g.as_ref(), &ctx, &todo, &run_tasks)?;
            }
            _ => {
                return Err(PipelineError::Internal(format!(
                    "step `{}` does not fit its stage",
                    step.name
                )));
            }
        }
        bar.finish();
        if let Some(s) = &self.sync {
            s.after_step(plan, step)?;
        }
        Ok(todo.len())
    }

    fn global_step(
        &self,
        step: &Step,
        dir: &StageDir,
        g: &dyn GlobalStage,
        ctx: &GlobalCtx<'_>,
        todo: &[usize],
        run_tasks: &dyn Fn(StageImpl<'_>) -> Result<()>,
    ) -> Result<()> {
        match step.phase {
            Phase::GlobalMap => {
                if let Some(d) = g.describe() {
                    tracing::info!(stage = %dir.name, "{d}");
                }
                let results: Vec<Result<()>> = self.pool.install(|| {
                    todo.par_iter()
                        .map(|&t| g.map(ctx, t).and_then(|()| dir.mark_map(t)))
                        .collect()
                });
                results.into_iter().collect()
            }
            Phase::Reduce => {
                let start = Instant::now();
                let mut counters = g.reduce(ctx)?;
                counters.push(("reduce_ms".into(), start.elapsed().as_millis() as u64));
                counters.push(("partitions".into(), ctx.partitions as u64));
                dir.mark_reduce(&counters)?;
                let shown: Vec<String> = counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
                tracing::info!(stage = %dir.name, "{}", shown.join(" "));
                Ok(())
            }
            _ => {
                let per_task = |t: usize| -> Result<Box<dyn MapStage>> { g.applier(ctx, t) };
                run_tasks(StageImpl::PerTask(&per_task))
            }
        }
    }

    /// Refuses a step whose inputs are not finished: the stage before (for its first
    /// step), every map task (for a reduce), the reduce (for an apply).
    fn require_before(&self, plan: &Plan, step: &Step, beside_reduce: bool) -> Result<()> {
        let st = &plan.stages[step.stage];
        let dir = StageDir::new(&plan.output, st);
        match step.phase {
            Phase::Reduce => {
                let left = dir.pending(st.tasks, |t| dir.map_done(t)).len();
                if left > 0 {
                    return Err(PipelineError::Config(format!(
                        "`{}` needs every map task; {left} are not done",
                        step.name
                    )));
                }
            }
            Phase::Apply if !beside_reduce && !dir.reduce_done() => {
                return Err(PipelineError::Config(format!(
                    "`{}` needs `{}:reduce` done first",
                    step.name,
                    st.spec.name()
                )));
            }
            Phase::Apply => {}
            Phase::Ids => require_finished(step, &dir)?,
            _ => {
                if let Some(prev) = step.stage.checked_sub(1).map(|i| &plan.stages[i]) {
                    let pd = StageDir::new(&plan.output, prev);
                    require_finished(step, &pd)?;
                    // The first stage's repeated ids must be resolved before anyone reads it.
                    if ids::first_stage_input(plan, step.stage).is_some() && !pd.ids_done() {
                        return Err(PipelineError::Config(format!(
                            "`{}` needs `{}:ids` done first",
                            step.name,
                            prev.spec.name()
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The `finalize` step: every stage's stats from its folder, the accounting checked
    /// across stages, `stats.json` written. `ran[i]`: tasks of stage i this run executed.
    fn finalize(&self, plan: &Plan, ran: &[usize]) -> Result<RunStats> {
        let mut run_stats = RunStats {
            job: self.job.spec.job.name.clone(),
            stages: Vec::with_capacity(plan.stages.len()),
        };
        for i in 0..plan.stages.len() {
            run_stats
                .stages
                .push(stage_stats(plan, i, ran.get(i).copied().unwrap_or(0))?);
        }
        if let Some(first) = run_stats.stages.first_mut() {
            for (reason, n) in &plan.skipped {
                *first.counters.entry(reason.clone()).or_default() += n;
            }
        }
        run_stats.check_conservation()?;
        let changed = ran.iter().any(|&n| n > 0) || !self.same_configs_as_the_bucket(&run_stats);
        let json = serde_json::to_vec_pretty(&run_stats)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_atomic(&plan.output.join("stats.json"), &json)?;
        self.write_report(plan, changed)?;
        if let Some(s) = &self.sync {
            s.after_finalize()?;
        }
        Ok(run_stats)
    }
}

impl Worker<'_> {
    /// For an S3 output: whether the bucket's last `stats.json` names the same config for
    /// every stage as `now`. The outputs are keyed by their configs, so then its report is
    /// still true (a cluster's `finalize` cannot tell what its workers ran, only this). An
    /// unreadable one counts as different: the report is then removed, never kept stale.
    fn same_configs_as_the_bucket(&self, now: &RunStats) -> bool {
        let Some(s) = &self.sync else {
            return false;
        };
        let last = s
            .read_stats()
            .inspect_err(|e| tracing::warn!("the bucket's last stats.json: {e}"))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<RunStats>(&b).ok());
        last.is_some_and(|last| {
            let configs = |r: &RunStats| -> Vec<(String, String)> {
                r.stages
                    .iter()
                    .map(|s| (s.name.clone(), s.config.clone()))
                    .collect()
            };
            configs(&last) == configs(now)
        })
    }

    /// `report.html` beside `stats.json` (`report = true`). For an output on S3 it is built
    /// from the staging folder when that holds every stage's parts (a local run that did
    /// them all) and goes up beside `stats.json`. A report that cannot be built never fails
    /// the run, and one not written this time does not stay behind stale in the bucket once
    /// the outputs may have changed (`changed`); a local one not written is always removed.
    /// Only a stale report the bucket refuses to remove fails `finalize`, before
    /// `stats.json` goes up: with that the next `finalize` would take the report for true.
    fn write_report(&self, plan: &Plan, changed: bool) -> Result<()> {
        // An arena per query thread too: with `--threads 1` the report's two threads
        // shared the main thread's arena and its lock, and took 0.65 s instead of 0.4 s.
        limit_allocator_arenas(self.pool.current_num_threads() + crate::sql::QUERY_THREADS);
        let path = plan.output.join("report.html");
        let every_part = || {
            plan.stages.iter().all(|st| {
                let dir = StageDir::new(&plan.output, st);
                (0..st.tasks).all(|t| dir.part(t).exists())
            })
        };
        let page = match (self.job.spec.job.report, &self.sync) {
            (false, _) => None,
            // The outputs are those of the bucket's report: it stays, nothing is pulled.
            (true, Some(s)) if !changed && !every_part() && s.has_report_or_say() => {
                return Ok(());
            }
            // A cluster's finalize: the parts are in the bucket; the report's sample comes down.
            (true, Some(s)) if !every_part() => {
                let sample = s.pull_report_sample(
                    plan,
                    crate::html_report::SAMPLE_FILES,
                    sync::REPORT_SAMPLE_BYTES,
                );
                match sample {
                    Ok(Some(pulled)) => {
                        let page = crate::html_report::build_sampled(&plan.output, &pulled.sample);
                        pulled.remove_pulled();
                        page.inspect_err(|e| tracing::warn!("report.html not written: {e}"))
                            .ok()
                    }
                    Ok(None) => None,
                    Err(e) => {
                        tracing::warn!("report.html not built: {e}");
                        None
                    }
                }
            }
            (true, _) => match crate::html_report::build(&plan.output) {
                Ok(page) => Some(page),
                Err(e) => {
                    tracing::warn!("report.html not written: {e}");
                    None
                }
            },
        };
        let done = match page {
            Some(page) => write_atomic(&path, page.as_bytes()),
            None if path.exists() => std::fs::remove_file(&path).map_err(PipelineError::io(&path)),
            None => Ok(()),
        };
        let written = done.is_ok() && path.exists();
        if let Err(e) = done {
            tracing::warn!("report.html: {e}");
        }
        let Some(s) = &self.sync else {
            return Ok(());
        };
        if written {
            match s.push_report() {
                Ok(()) => return Ok(()),
                Err(e) => tracing::warn!("report.html not pushed ({e}); removing the bucket's"),
            }
        } else if !changed {
            return Ok(());
        }
        s.delete_report()
    }
}

/// Refuses a cluster run id that is not 1 to 64 ASCII letters, digits, `-`, `_` or `.`
/// starting with a letter or digit (it goes into shell scripts, manifests and the lock,
/// and a leading `-` would read as a flag).
pub fn check_cluster_run_id(id: &str) -> Result<()> {
    let ok = (1..=64).contains(&id.len())
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    match ok {
        true => Ok(()),
        false => Err(PipelineError::Config(format!(
            "--cluster-run {id:?}: use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        ))),
    }
}

/// A new cluster run id: 12 hex digits from the clock, the process and the host.
pub fn new_cluster_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos} {} {}", std::process::id(), lock::host());
    taojin_schemas::job::sha256_hex(seed.as_bytes())[..12].to_string()
}

/// Refuses `step` unless every task of the stage in `dir` is done.
fn require_finished(step: &Step, dir: &StageDir) -> Result<()> {
    match dir.pending(dir.tasks(), |t| dir.task_done(t)).len() {
        0 => Ok(()),
        left => Err(PipelineError::Config(format!(
            "`{}` needs stage `{}` finished; {left} of its tasks are not done",
            step.name, dir.name
        ))),
    }
}

/// Stage `i`'s stats from its folder: task stats, reduce counters, recorded seconds.
fn stage_stats(plan: &Plan, i: usize, ran: usize) -> Result<StageStats> {
    let st = &plan.stages[i];
    let dir = StageDir::new(&plan.output, st);
    let tasks = dir.task_stats()?;
    let mut stats = StageStats::from_tasks(st.spec.name(), st.spec.kind(), &tasks);
    stats.tasks_resumed = st.tasks.saturating_sub(ran);
    stats.config = st.hash.clone();
    stats.counters.extend(dir.phase_counters()?);
    stats.seconds = dir
        .meta()
        .and_then(|m| m.seconds)
        .unwrap_or(stats.task_seconds);
    stats.peak_rss_bytes = dir.meta().and_then(|m| m.peak_rss_bytes);
    stats.check_conservation()?;
    Ok(stats)
}

fn log_stage(stats: &StageStats) {
    tracing::info!(
        stage = %stats.name,
        docs_in = stats.docs_in,
        docs_kept = stats.docs_kept,
        removed = stats.docs_removed_total(),
        mb_per_s = format!("{:.1}", stats.bytes_in as f64 / 1e6 / stats.seconds.max(1e-9)),
        "stage done"
    );
}

/// Temporary files and folders killed writers left directly under the output (the
/// shards' folder being built, `stats.json`) and in the stages' extra output folders.
fn remove_output_tmp_files(job: &LoadedJob, plan: &Plan) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(&plan.output) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(PipelineError::io(&plan.output))?;
        let path = entry.path();
        if crate::writer::is_tmp_name(&entry.file_name().to_string_lossy()) {
            match path.is_dir() {
                true => std::fs::remove_dir_all(&path),
                false => std::fs::remove_file(&path),
            }
            .map_err(PipelineError::io(&path))?;
        }
    }
    for st in &plan.stages {
        for extra in crate::registry::extra_outputs(&st.spec) {
            remove_tmp_files(&plan.output.join(extra))?;
        }
        // A file the stage writes outside the output (a trained tokenizer).
        for (_, file) in crate::registry::files(&st.spec, job) {
            remove_tmp_siblings(&file)?;
        }
    }
    Ok(())
}
