//! The local executor: runs a plan's stages in order, the tasks of each stage in
//! parallel on a rayon pool, skipping tasks whose done marker matches.

use std::fs;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use taojin_schemas::{RunStats, StageStats, TaskStats};

use crate::error::{PipelineError, Result};
use crate::global;
use crate::job::LoadedJob;
use crate::plan::{Plan, PlannedStage, plan};
use crate::progress::Progress;
use crate::stages;
use crate::task::{StageImpl, StageRun, TaskInput, TaskPaths, part_name, run_task};
use crate::writer::{is_tmp_name, parquet_properties, write_atomic};

/// How to run a job.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Rerun every task, ignoring done markers.
    pub force: bool,
    /// Stop after this stage (e.g. to look at a mix with `taojin mix --dry-run` first).
    pub until: Option<String>,
    /// With an `s3://` output: work in the staging folder only, no transfers (the
    /// `finalize` step of a cluster run synchronizes itself).
    pub local_only: bool,
}

/// Environment variable of the test-only fail point: `STAGE:TASK` aborts the process in
/// that task after its files are written and before they are committed, as a crash would.
pub const FAILPOINT_ENV: &str = "TAOJIN_FAILPOINT_CRASH";

/// `<stage>/_stage.json`: which config the stage folder holds.
#[derive(Debug, Serialize, Deserialize)]
struct StageMeta {
    hash: String,
    tasks: usize,
    #[serde(default)]
    seconds: Option<f64>,
}

/// True when `_stage.json` bytes describe this planned stage (same config and tasks).
pub(crate) fn meta_matches(bytes: &[u8], planned: &PlannedStage) -> bool {
    serde_json::from_slice::<StageMeta>(bytes)
        .is_ok_and(|m| m.hash == planned.hash && m.tasks == planned.tasks)
}

/// Runs a job and returns its stats (also written to `<output>/stats.json`).
pub fn run(job: &LoadedJob, opts: &RunOptions) -> Result<RunStats> {
    let mut plan = plan(job)?;
    if let Some(until) = &opts.until {
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
    fs::create_dir_all(&plan.output).map_err(PipelineError::io(&plan.output))?;
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("taojin-{i}"))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;
    let failpoint = std::env::var(FAILPOINT_ENV).ok();
    let progress = Progress::new();
    let props = parquet_properties(job.spec.job.zstd_level)?;
    let mut run_stats = RunStats {
        job: job.spec.job.name.clone(),
        stages: Vec::new(),
    };
    let remote = match opts.local_only {
        true => None,
        false => job.remote()?,
    };
    if let Some(r) = &remote {
        let aborted = r.abort_stale_uploads()?;
        tracing::info!(output = %r.url(), staging = %plan.output.display(), aborted, "output on S3");
    }
    tracing::info!(job = %job.spec.job.name, tasks = plan.splits.len(), threads, "planned");
    for (index, planned) in plan.stages.iter().enumerate() {
        let name = planned.spec.name();
        if let Some(r) = &remote {
            // Resume from the bucket when it holds this stage under this config.
            let meta = r.read_small(&format!("{name}/_stage.json"))?;
            if meta.is_some_and(|b| meta_matches(&b, planned)) {
                r.pull(name, &|_| true)?;
            }
        }
        let stats = run_stage(
            job,
            &plan,
            index,
            planned,
            &pool,
            opts,
            &progress,
            &props,
            failpoint.as_deref(),
        )?;
        run_stats.stages.push(stats);
        if let Some(r) = &remote {
            let start = Instant::now();
            let mut n = r.push(name, true)?;
            if matches!(planned.spec, taojin_schemas::StageSpec::Tokenize(_)) {
                n += r.push("shards", true)?;
            }
            let sync_ms = start.elapsed().as_millis() as u64;
            tracing::info!(
                stage = name,
                uploaded = n,
                sync_ms,
                "stage synchronized with S3"
            );
        }
    }
    run_stats.check_conservation()?;
    let json = serde_json::to_vec_pretty(&run_stats)
        .map_err(|e| PipelineError::Internal(e.to_string()))?;
    write_atomic(&plan.output.join("stats.json"), &json)?;
    if let Some(r) = &remote {
        r.push_file("stats.json")?;
    }
    Ok(run_stats)
}

#[allow(clippy::too_many_arguments)]
fn run_stage(
    job: &LoadedJob,
    plan: &Plan,
    index: usize,
    planned: &PlannedStage,
    pool: &rayon::ThreadPool,
    opts: &RunOptions,
    progress: &Progress,
    props: &parquet::file::properties::WriterProperties,
    failpoint: Option<&str>,
) -> Result<StageStats> {
    let stage_start = Instant::now();
    let name = planned.spec.name();
    let dir = plan.output.join(name);
    let previous_seconds = prepare_stage_dir(&dir, planned, opts.force)?;
    let todo: Vec<usize> = (0..planned.tasks)
        .filter(|&t| !TaskPaths::new(&dir, t).is_done(&planned.hash))
        .collect();
    let prev_dir = index
        .checked_sub(1)
        .map(|i| plan.output.join(plan.stages[i].spec.name()));
    let global = match todo.is_empty() {
        false => global::build(&planned.spec, job, prev_dir.as_deref())?,
        true => None,
    };
    let shared = match (global::is_global(&planned.spec), todo.is_empty()) {
        (false, false) => Some(stages::build(&planned.spec, job)?),
        _ => None,
    };
    let mut gctx = None;
    let mut global_counters = Vec::new();
    if let (Some(g), false, Some(prev)) = (&global, todo.is_empty(), &prev_dir) {
        let ctx = global_ctx(job, planned, &dir, prev, pool, g.as_ref())?;
        global_counters = run_global_phases(g.as_ref(), &ctx, &planned.hash, name)?;
        gctx = Some(ctx);
    }
    let resumed = planned.tasks - todo.len();
    if resumed > 0 {
        tracing::info!(stage = name, resumed, "tasks already done, skipped");
    }
    let bar = progress.stage(name, todo.len());
    let crash_task = failpoint
        .and_then(|f| f.rsplit_once(':'))
        .filter(|(s, _)| *s == name)
        .and_then(|(_, t)| t.parse().ok());
    let per_task = |task: usize| -> Result<Box<dyn stages::MapStage>> {
        match (&global, &gctx) {
            (Some(g), Some(ctx)) => g.applier(ctx, task),
            _ => Err(PipelineError::Internal("no global context".into())),
        }
    };
    let stage_impl = match &shared {
        Some(s) => StageImpl::Shared(s.as_ref()),
        None => StageImpl::PerTask(&per_task),
    };
    let run = StageRun {
        name,
        hash: &planned.hash,
        dir: &dir,
        stage: stage_impl,
        job: &job.spec,
        props: props.clone(),
        progress: &bar,
        crash_task,
    };
    let results: Vec<Result<TaskStats>> = pool.install(|| {
        todo.par_iter()
            .map(|&task| {
                let input = match &prev_dir {
                    None => TaskInput::Split(&plan.splits[task]),
                    Some(prev) => {
                        TaskInput::Part(prev.join(format!("{}.parquet", part_name(task))))
                    }
                };
                run_task(&run, task, input)
            })
            .collect()
    });
    bar.finish();
    // The first failure in task order, whatever order the threads met them in.
    for r in results {
        r?;
    }
    let seconds = stage_start.elapsed().as_secs_f64();
    let mut tasks = Vec::with_capacity(planned.tasks);
    for t in 0..planned.tasks {
        let path = TaskPaths::new(&dir, t).stats;
        let bytes = fs::read(&path).map_err(PipelineError::io(&path))?;
        let stats: TaskStats = serde_json::from_slice(&bytes)
            .map_err(|e| PipelineError::Internal(format!("{}: {e}", path.display())))?;
        tasks.push(stats);
    }
    let mut stats = StageStats::from_tasks(name, planned.spec.kind(), &tasks);
    stats.tasks_resumed = resumed;
    stats.counters.extend(global_counters);
    stats.seconds = match previous_seconds {
        Some(s) if todo.is_empty() => s,
        _ => seconds,
    };
    stats.check_conservation()?;
    write_stage_meta(&dir, planned, Some(stats.seconds))?;
    tracing::info!(
        stage = name,
        docs_in = stats.docs_in,
        docs_kept = stats.docs_kept,
        removed = stats.docs_removed_total(),
        mb_per_s = format!(
            "{:.1}",
            stats.bytes_in as f64 / 1e6 / stats.seconds.max(1e-9)
        ),
        "stage done"
    );
    Ok(stats)
}

/// The context every phase of a global stage works in.
pub(crate) fn global_ctx<'a>(
    job: &'a LoadedJob,
    planned: &PlannedStage,
    dir: &Path,
    prev: &Path,
    pool: &'a rayon::ThreadPool,
    g: &dyn global::GlobalStage,
) -> Result<global::GlobalCtx<'a>> {
    let rows = global::stage_rows(prev, planned.tasks)?;
    let mut offsets = Vec::with_capacity(rows.len());
    let mut acc = 0u64;
    for r in &rows {
        offsets.push(acc);
        acc += r;
    }
    let partitions = global::partitions_for(
        acc.saturating_mul(g.spill_bytes_per_doc()),
        g.memory_limit(),
    );
    Ok(global::GlobalCtx {
        work: dir.join("_work"),
        prev_dir: prev.to_path_buf(),
        job: &job.spec,
        rows,
        offsets,
        partitions,
        pool,
        hash: planned.hash.clone(),
    })
}

/// Map and reduce phases of a global stage, each skipped when its markers match.
fn run_global_phases(
    g: &dyn global::GlobalStage,
    ctx: &global::GlobalCtx<'_>,
    hash: &str,
    name: &str,
) -> Result<Vec<(String, u64)>> {
    let done_dir = ctx.work.join("_done");
    fs::create_dir_all(&done_dir).map_err(PipelineError::io(&done_dir))?;
    let reduce_marker = global::marker(&ctx.work, "reduce");
    if global::marker_matches(&reduce_marker, hash) {
        return global::load_counters(&ctx.work);
    }
    if let Some(d) = g.describe() {
        tracing::info!(stage = name, "{d}");
    }
    let start = Instant::now();
    let todo: Vec<usize> = (0..ctx.tasks())
        .filter(|t| {
            !global::marker_matches(&global::marker(&ctx.work, &format!("map-{t:05}")), hash)
        })
        .collect();
    let results: Vec<Result<()>> = ctx.pool.install(|| {
        todo.par_iter()
            .map(|&t| global_map_task(g, ctx, t))
            .collect()
    });
    for r in results {
        r?;
    }
    let mapped = start.elapsed().as_secs_f64();
    let counters = global_reduce(g, ctx, vec![("map_ms".into(), (mapped * 1000.0) as u64)])?;
    let shown: Vec<String> = counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    tracing::info!(
        stage = name,
        partitions = ctx.partitions,
        map_seconds = format!("{mapped:.2}"),
        "{}",
        shown.join(" ")
    );
    Ok(counters)
}

/// The map phase of one task of a global stage, with its marker.
pub(crate) fn global_map_task(
    g: &dyn global::GlobalStage,
    ctx: &global::GlobalCtx<'_>,
    task: usize,
) -> Result<()> {
    g.map(ctx, task)?;
    write_atomic(
        &global::marker(&ctx.work, &format!("map-{task:05}")),
        ctx.hash.as_bytes(),
    )
}

/// The reduce phase of a global stage: its counters are kept beside the marker, so a
/// resumed run reports them too.
pub(crate) fn global_reduce(
    g: &dyn global::GlobalStage,
    ctx: &global::GlobalCtx<'_>,
    mut counters: Vec<(String, u64)>,
) -> Result<Vec<(String, u64)>> {
    let start = Instant::now();
    counters.extend(g.reduce(ctx)?);
    counters.push(("reduce_ms".into(), start.elapsed().as_millis() as u64));
    counters.push(("partitions".into(), ctx.partitions as u64));
    global::save_counters(&ctx.work, &counters)?;
    write_atomic(&global::marker(&ctx.work, "reduce"), ctx.hash.as_bytes())?;
    Ok(counters)
}

/// Deletes temporary files (see [`is_tmp_name`]) anywhere under `dir`.
fn remove_tmp_files(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_tmp_files(&path)?;
        } else if is_tmp_name(&entry.file_name().to_string_lossy()) {
            fs::remove_file(&path).map_err(PipelineError::io(&path))?;
        }
    }
    Ok(())
}

pub(crate) fn write_stage_meta(
    dir: &Path,
    planned: &PlannedStage,
    seconds: Option<f64>,
) -> Result<()> {
    let meta = StageMeta {
        hash: planned.hash.clone(),
        tasks: planned.tasks,
        seconds,
    };
    let json =
        serde_json::to_vec_pretty(&meta).map_err(|e| PipelineError::Internal(e.to_string()))?;
    write_atomic(&dir.join("_stage.json"), &json)
}

/// Makes the stage folder ready: wiped when forced or when it holds another config,
/// temporary files of dead runs deleted. Returns the stage seconds recorded last time.
pub(crate) fn prepare_stage_dir(
    dir: &Path,
    planned: &PlannedStage,
    force: bool,
) -> Result<Option<f64>> {
    let meta: Option<StageMeta> = fs::read(dir.join("_stage.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let matches = meta
        .as_ref()
        .is_some_and(|m| m.hash == planned.hash && m.tasks == planned.tasks);
    if dir.exists() && (force || !matches) {
        if !force {
            tracing::info!(
                stage = planned.spec.name(),
                "config changed: rerunning the stage"
            );
        }
        fs::remove_dir_all(dir).map_err(PipelineError::io(dir))?;
    }
    for sub in ["", "removed", "_stats", "_done"] {
        let d = dir.join(sub);
        fs::create_dir_all(&d).map_err(PipelineError::io(&d))?;
    }
    // Temporary files of a killed run (also under `_work/`): never read, deleted here.
    remove_tmp_files(dir)?;
    if !matches || force {
        write_stage_meta(dir, planned, None)?;
        return Ok(None);
    }
    Ok(meta.and_then(|m| m.seconds))
}
