//! The steps of a planned job, in order. A local run executes all of them on one worker;
//! a cluster runs each as an array of independent tasks (`--stage S --task I --tasks N`).
//!
//! - `prepare` (1 task): makes every stage folder ready (a folder holding another config
//!   is wiped, temporary files of dead writers are deleted). Only this step deletes.
//! - `<stage>` (one task per part) for per-document stages, and after the first one
//!   `<stage>:ids` (1 task), which makes ids repeated across the job unique;
//! - `<stage>:setup` (1 task) where a global stage needs one-off work first (training the
//!   tokenizer), so workers never race on it;
//! - `<stage>:map`, `<stage>:reduce` (1 task; its partitions run on the task's threads),
//!   `<stage>:apply` for global stages;
//! - `finalize` (1 task): checks the accounting and writes `stats.json`.

use crate::engine::stage_dir::StageDir;
use crate::plan::Plan;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Make the stage folders ready.
    Prepare,
    /// A per-document stage.
    Map,
    /// Duplicate ids of the first stage, made unique for every later reader.
    Ids,
    /// One-off work of a global stage before its map (trains the tokenizer if it must).
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

impl Phase {
    /// Its name in `taojin plan --json` (what a launcher keys placement on).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Prepare => "prepare",
            Phase::Map => "map",
            Phase::Ids => "ids",
            Phase::Setup => "setup",
            Phase::GlobalMap => "global_map",
            Phase::Reduce => "reduce",
            Phase::Apply => "apply",
            Phase::Finalize => "finalize",
        }
    }
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

impl Step {
    /// True for the step whose task markers say a stage's tasks are finished (the
    /// per-document pass, or the apply phase of a global stage).
    pub fn finishes_stage(&self) -> bool {
        matches!(self.phase, Phase::Map | Phase::Apply)
    }
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
        if !crate::registry::is_global(&st.spec) {
            out.push(step(name.into(), i, Phase::Map, st.tasks));
            if i == 0 {
                out.push(step(format!("{name}:ids"), i, Phase::Ids, 1));
            }
            continue;
        }
        if crate::registry::has_setup(&st.spec) {
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

/// The tasks of a step not done yet under the plan's config.
pub fn pending(plan: &Plan, step: &Step) -> Vec<usize> {
    let st = &plan.stages[step.stage];
    let dir = StageDir::new(&plan.output, st);
    match step.phase {
        Phase::Map | Phase::Apply => dir.pending(step.tasks, |t| dir.task_done(t)),
        Phase::GlobalMap => dir.pending(step.tasks, |t| dir.map_done(t)),
        Phase::Reduce => dir.pending(1, |_| dir.reduce_done()),
        Phase::Ids => dir.pending(1, |_| dir.ids_done()),
        Phase::Setup | Phase::Prepare | Phase::Finalize => Vec::new(),
    }
}
