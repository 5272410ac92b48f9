//! Running a job as independent, addressable tasks for a cluster scheduler.
//!
//! A job becomes an ordered list of *steps*; every task of a step can run on any machine
//! that sees the same output folder, in any order and more than once:
//!
//! - `prepare` (1 task): makes every stage folder ready (a folder holding another config
//!   is wiped, temporary files of dead workers are deleted). Only this step deletes.
//! - `<stage>` (one task per part) for per-document stages;
//! - `<stage>:setup` (1 task) where building a global stage has a side effect (training
//!   the tokenizer), so workers never race on it;
//! - `<stage>:map`, `<stage>:reduce` (1 task; its partitions run on the task's threads),
//!   `<stage>:apply` for global stages;
//! - `finalize` (1 task): checks the accounting and writes `stats.json`.
//!
//! `--task I --tasks N` runs the tasks `t` with `t % N == I` that are not done yet, so an
//! array of N workers covers a step of any size. A task whose done marker matches is
//! skipped; two workers given the same task write identical bytes through temporary
//! names and renames, the marker last.

use std::fs;
use std::path::Path;

use taojin_schemas::StageSpec;

use crate::error::{PipelineError, Result};
use crate::executor::{
    RunOptions, global_ctx, global_map_task, global_reduce, meta_matches, prepare_stage_dir,
};
use crate::global;
use crate::job::LoadedJob;
use crate::plan::{Plan, PlannedStage, plan};
use crate::progress::Progress;
use crate::stages;
use crate::task::{StageImpl, StageRun, TaskInput, TaskPaths, part_name, run_task};
use crate::writer::parquet_properties;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Make the stage folders ready.
    Prepare,
    /// A per-document stage.
    Map,
    /// Build a global stage once (trains the tokenizer if it must).
    Setup,
    /// The map phase of a global stage.
    GlobalMap,
    /// The reduce phase of a global stage.
    Reduce,
    /// The apply phase of a global stage.
    Apply,
    /// Stats and accounting of the whole run.
    Finalize,
}

/// One step of a job.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name, as `--stage` takes it.
    pub name: String,
    /// Index of its stage in the plan (0 for prepare and finalize).
    pub stage: usize,
    /// What it does.
    pub phase: Phase,
    /// Number of tasks.
    pub tasks: usize,
}

/// The ordered steps of a planned job.
pub fn steps(plan: &Plan) -> Vec<Step> {
    let step = |name: String, stage, phase, tasks| Step {
        name,
        stage,
        phase,
        tasks,
    };
    let mut out = vec![step("prepare".into(), 0, Phase::Prepare, 1)];
    for (i, st) in plan.stages.iter().enumerate() {
        let name = st.spec.name();
        if !global::is_global(&st.spec) {
            out.push(step(name.into(), i, Phase::Map, st.tasks));
            continue;
        }
        if matches!(&st.spec, StageSpec::Tokenize(t) if t.train_vocab.is_some()) {
            out.push(step(format!("{name}:setup"), i, Phase::Setup, 1));
        }
        out.push(step(format!("{name}:map"), i, Phase::GlobalMap, st.tasks));
        out.push(step(format!("{name}:reduce"), i, Phase::Reduce, 1));
        out.push(step(format!("{name}:apply"), i, Phase::Apply, st.tasks));
    }
    out.push(step("finalize".into(), 0, Phase::Finalize, 1));
    out
}

/// Which task indices worker `task` of `workers` owns in a step of `total` tasks.
pub fn assigned(task: usize, workers: usize, total: usize) -> Vec<usize> {
    (task..total).step_by(workers.max(1)).collect()
}

/// Runs worker `task` of `workers` (default: the step's task count) of step `name`;
/// returns a one-line summary.
pub fn run_step(
    job: &LoadedJob,
    name: &str,
    task: usize,
    workers: Option<usize>,
    threads: Option<usize>,
) -> Result<String> {
    let plan = plan(job)?;
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .thread_name(|i| format!("taojin-{i}"))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;
    match step.phase {
        Phase::Prepare => {
            fs::create_dir_all(&plan.output).map_err(PipelineError::io(&plan.output))?;
            let remote = job.remote()?;
            if let Some(r) = &remote {
                r.abort_stale_uploads()?;
            }
            for st in &plan.stages {
                let name = st.spec.name();
                let meta = format!("{name}/_stage.json");
                if let Some(r) = &remote {
                    // The bucket is the truth: a stage of another config goes there too.
                    match r.read_small(&meta)? {
                        Some(b) if !meta_matches(&b, st) => r.delete_dir(name)?,
                        Some(b) => crate::writer::write_atomic(&plan.output.join(&meta), &b)?,
                        None => {}
                    }
                }
                prepare_stage_dir(&plan.output.join(name), st, false)?;
                if let Some(r) = &remote {
                    r.push_file(&meta)?;
                }
            }
            Ok(format!("prepared {} stage folders", plan.stages.len()))
        }
        Phase::Finalize => {
            let remote = job.remote()?;
            if let Some(r) = &remote {
                for st in &plan.stages {
                    r.pull(st.spec.name(), &crate::storage::is_small)?;
                }
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
            let stats = crate::executor::run(
                job,
                &RunOptions {
                    threads,
                    local_only: true,
                    ..Default::default()
                },
            )?;
            if let Some(r) = &remote {
                for st in &plan.stages {
                    r.push(st.spec.name(), false)?;
                }
                r.push_file("stats.json")?;
            }
            Ok(crate::report::funnel(&stats))
        }
        _ => pool.install(|| run_stage_step(job, &plan, step, &mine, &pool)),
    }
}

/// The tasks of a step not done yet.
pub fn pending(plan: &Plan, step: &Step) -> Vec<usize> {
    let st = &plan.stages[step.stage];
    let dir = plan.output.join(st.spec.name());
    let work = dir.join("_work");
    let marker = |name: String| global::marker_matches(&global::marker(&work, &name), &st.hash);
    (0..step.tasks)
        .filter(|&t| match step.phase {
            Phase::Map | Phase::Apply => !TaskPaths::new(&dir, t).is_done(&st.hash),
            Phase::GlobalMap => !marker(format!("map-{t:05}")),
            Phase::Reduce => !marker("reduce".into()),
            Phase::Setup | Phase::Prepare | Phase::Finalize => false,
        })
        .collect()
}

fn check_prepared(dir: &Path, st: &PlannedStage) -> Result<()> {
    let ok = fs::read(dir.join("_stage.json")).is_ok_and(|b| meta_matches(&b, st));
    match ok {
        true => Ok(()),
        false => Err(PipelineError::Config(format!(
            "{}: not prepared for this job's config; run the `prepare` step first",
            dir.display()
        ))),
    }
}

fn require_done(plan: &Plan, step_name: &str, stage: usize) -> Result<()> {
    let Some(st) = stage.checked_sub(1).map(|i| &plan.stages[i]) else {
        return Ok(());
    };
    let dir = plan.output.join(st.spec.name());
    let left = (0..st.tasks)
        .filter(|&t| !TaskPaths::new(&dir, t).is_done(&st.hash))
        .count();
    match left {
        0 => Ok(()),
        n => Err(PipelineError::Config(format!(
            "`{step_name}` needs stage `{}` finished; {n} of its tasks are not done",
            st.spec.name()
        ))),
    }
}

fn run_stage_step(
    job: &LoadedJob,
    plan: &Plan,
    step: &Step,
    mine: &[usize],
    pool: &rayon::ThreadPool,
) -> Result<String> {
    let st = &plan.stages[step.stage];
    let name = st.spec.name();
    let dir = plan.output.join(name);
    let remote = job.remote()?;
    if let Some(r) = &remote {
        pull_for_step(r, plan, step, mine)?;
    }
    check_prepared(&dir, st)?;
    // A fresh staging folder (another machine) has only what was pulled.
    for sub in ["removed", "_stats", "_done"] {
        let d = dir.join(sub);
        fs::create_dir_all(&d).map_err(PipelineError::io(&d))?;
    }
    let prev_dir = step
        .stage
        .checked_sub(1)
        .map(|i| plan.output.join(plan.stages[i].spec.name()));
    let todo: Vec<usize> = {
        let left = pending(plan, step);
        mine.iter().copied().filter(|t| left.contains(t)).collect()
    };
    if todo.is_empty() && step.phase != Phase::Setup {
        return Ok(format!("{}: tasks {mine:?} already done", step.name));
    }
    require_done(plan, &step.name, step.stage)?;
    let props = parquet_properties(job.spec.job.zstd_level)?;
    let progress = Progress::new();
    let bar = progress.stage(&step.name, todo.len());
    let input = |t: usize| match &prev_dir {
        None => TaskInput::Split(&plan.splits[t]),
        Some(prev) => TaskInput::Part(prev.join(format!("{}.parquet", part_name(t)))),
    };
    let run_with = |stage: StageImpl<'_>| -> Result<()> {
        let run = StageRun {
            name,
            hash: &st.hash,
            dir: &dir,
            stage,
            job: &job.spec,
            props: props.clone(),
            progress: &bar,
            crash_task: None,
        };
        for &t in &todo {
            run_task(&run, t, input(t))?;
        }
        Ok(())
    };
    match step.phase {
        Phase::Map => {
            let stage = stages::build(&st.spec, job)?;
            run_with(StageImpl::Shared(stage.as_ref()))?;
        }
        _ => {
            let prev = prev_dir
                .as_deref()
                .ok_or_else(|| PipelineError::Internal("global stage first".into()))?;
            let g = global::build(&st.spec, job, Some(prev))?
                .ok_or_else(|| PipelineError::Internal("not a global stage".into()))?;
            if step.phase == Phase::Setup {
                return Ok(format!("{}: set up", step.name));
            }
            let ctx = global_ctx(job, st, &dir, prev, pool, g.as_ref())?;
            fs::create_dir_all(ctx.work.join("_done"))
                .map_err(PipelineError::io(ctx.work.join("_done")))?;
            match step.phase {
                Phase::GlobalMap => {
                    for &t in &todo {
                        global_map_task(g.as_ref(), &ctx, t)?;
                    }
                }
                Phase::Reduce => {
                    let maps = pending(
                        plan,
                        &Step {
                            phase: Phase::GlobalMap,
                            tasks: st.tasks,
                            ..step.clone()
                        },
                    );
                    if !maps.is_empty() {
                        return Err(PipelineError::Config(format!(
                            "`{}` needs every map task; {} are not done",
                            step.name,
                            maps.len()
                        )));
                    }
                    global_reduce(g.as_ref(), &ctx, Vec::new())?;
                }
                _ => {
                    if !global::marker_matches(&global::marker(&ctx.work, "reduce"), &st.hash) {
                        return Err(PipelineError::Config(format!(
                            "`{}` needs `{name}:reduce` done first",
                            step.name
                        )));
                    }
                    let per_task = |t: usize| g.applier(&ctx, t);
                    run_with(StageImpl::PerTask(&per_task))?;
                }
            }
        }
    }
    bar.finish();
    if let Some(r) = &remote {
        r.push(name, false)?;
        if step.phase == Phase::Reduce && matches!(st.spec, StageSpec::Tokenize(_)) {
            r.push("shards", true)?;
        }
    }
    Ok(format!("{}: ran tasks {todo:?}", step.name))
}

/// Downloads what a worker needs for its tasks of a step: the previous stage's small
/// files and the part files of its tasks (all of them for `setup`, which reads every
/// document), this stage's small files, and `_work/` for the reduce and apply phases.
fn pull_for_step(
    r: &crate::storage::Remote,
    plan: &Plan,
    step: &Step,
    mine: &[usize],
) -> Result<()> {
    let st = &plan.stages[step.stage];
    let name = st.spec.name();
    let parts: Vec<String> = mine
        .iter()
        .map(|&t| format!("/{}.parquet", part_name(t)))
        .collect();
    if let Some(prev) = step
        .stage
        .checked_sub(1)
        .map(|i| plan.stages[i].spec.name())
    {
        let all = step.phase == Phase::Setup;
        r.pull(prev, &|rel: &str| {
            all || crate::storage::is_small(rel)
                || (!rel.contains("/removed/") && parts.iter().any(|p| rel.ends_with(p.as_str())))
        })?;
    }
    let work = matches!(step.phase, Phase::Reduce | Phase::Apply);
    let prefix = format!("{name}/_work/");
    r.pull(name, &|rel: &str| {
        crate::storage::is_small(rel) || (work && rel.starts_with(prefix.as_str()))
    })?;
    Ok(())
}
