//! `taojin mix JOB --dry-run`: the plan a job's mix stage would make now, in memory, and
//! what the shards of this very mix realized when they exist. A command over the mix and
//! the tokenize stage's outputs, so neither stage depends on the other.

use std::fs;

use taojin_schemas::StageSpec;
use taojin_schemas::manifest::MixPlan;

use crate::error::{PipelineError, Result};
use crate::global::GlobalCtx;
use crate::global::mix::MixStage;

/// What `taojin mix --dry-run` found: the plan a run would make now and, when the shards
/// of this very mix exist, what they realized.
pub struct DryRun {
    /// The stage name.
    pub stage: String,
    /// Where the calibration tokenizer came from, if any.
    pub calibration: Option<String>,
    /// The plan.
    pub plan: MixPlan,
    /// The manifest's mix, when its stage hash matches.
    pub realized: Option<MixPlan>,
}

/// Plans the job's mix stage (`stage`, or the first mix) in memory, writing nothing.
pub fn dry_run_job(
    job: &crate::job::LoadedJob,
    stage: Option<&str>,
    threads: Option<usize>,
) -> Result<DryRun> {
    let plan = crate::plan::plan(job)?;
    let index = plan
        .stages
        .iter()
        .position(|s| {
            matches!(s.spec, StageSpec::Mix(_)) && stage.is_none_or(|n| s.spec.name() == n)
        })
        .ok_or_else(|| {
            PipelineError::Config(format!(
                "{}: no mix stage{}",
                job.path.display(),
                stage.map_or(String::new(), |n| format!(" named `{n}`"))
            ))
        })?;
    let StageSpec::Mix(spec) = &plan.stages[index].spec else {
        return Err(PipelineError::Internal("not a mix stage".into()));
    };
    let prev = plan
        .stages
        .get(index.wrapping_sub(1))
        .ok_or_else(|| PipelineError::Config("a mix needs a stage before it".into()))?;
    let prev_dir = crate::engine::stage_dir::StageDir::new(&plan.output, prev);
    let done = (0..prev.tasks).filter(|&t| prev_dir.task_done(t)).count();
    if done < prev.tasks {
        return Err(PipelineError::Config(format!(
            "stage `{}` has {done} of {} tasks done with this job's config: run `taojin run {} --until {}` first",
            prev.spec.name(),
            prev.tasks,
            job.path.display(),
            prev.spec.name()
        )));
    }
    // Calibrate with the mix's own tokenizer, else with the tokenize stage's if it exists.
    let tokenizer = spec
        .tokenizer
        .as_deref()
        .map(|t| job.resolve(t))
        .or_else(|| {
            plan.stages.iter().find_map(|s| match &s.spec {
                StageSpec::Tokenize(t) => Some(job.resolve(&t.tokenizer)).filter(|p| p.is_file()),
                _ => None,
            })
        });
    let stage_impl = MixStage::new(
        spec,
        format!("stages[{index}]"),
        job.spec.job.seed,
        tokenizer.as_deref(),
    )?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;
    let hash = plan.stages[index].hash.clone();
    let mut ctx = GlobalCtx::new(&job.spec, &plan, index, &pool, &stage_impl)?;
    ctx.partitions = 1;
    let mix_plan = stage_impl.dry_run(&ctx)?;
    let realized = fs::read(
        plan.output
            .join(crate::global::tokenize::SHARDS_DIR)
            .join("manifest.json"),
    )
    .ok()
    .and_then(|b| serde_json::from_slice::<taojin_schemas::manifest::Manifest>(&b).ok())
    .and_then(|m| m.mix)
    .filter(|m| m.stage_hash == hash);
    Ok(DryRun {
        stage: plan.stages[index].spec.name().to_string(),
        calibration: tokenizer.map(|p| p.display().to_string()),
        plan: mix_plan,
        realized,
    })
}

/// The dry run as a table: per source, documents, bytes, tokens available and asked,
/// epochs and share of the mix. When the shards of this very mix exist, the plan shown is
/// the one that run used, beside the exact tokens it realized.
pub fn render_dry_run(d: &DryRun) -> String {
    let plan = d.realized.as_ref().unwrap_or(&d.plan);
    let sampled: u64 = plan.sources.iter().map(|s| s.sampled_documents).sum();
    let total: f64 = plan.sources.iter().map(|s| s.tokens_target).sum();
    let estimates = match (&d.calibration, sampled) {
        (_, 0) => "from characters only (Han ×0.7 + other bytes ÷4.2): give the mix a `tokenizer` to calibrate".to_string(),
        (Some(t), n) if d.realized.is_none() => format!("calibrated on {n} documents tokenized with {t}"),
        (_, n) => format!("calibrated on {n} documents tokenized exactly"),
    };
    let mut out = match d.realized {
        Some(_) => format!(
            "mix `{}` as run (its shards exist): token estimates {estimates}; realized tokens are exact\n",
            d.stage
        ),
        None => format!("mix `{}`: token estimates {estimates}\n", d.stage),
    };
    out.push_str(&format!(
        "{:<16} {:>10} {:>10} {:>14} {:>14} {:>8} {:>7}{}\n",
        "source",
        "docs",
        "MB",
        "tokens avail",
        "tokens in mix",
        "epochs",
        "share",
        if d.realized.is_some() {
            "  tokens realized  share realized"
        } else {
            ""
        }
    ));
    let realized_total: u64 = plan.sources.iter().filter_map(|s| s.tokens_realized).sum();
    for s in &plan.sources {
        let realized = s.tokens_realized.map_or(String::new(), |t| {
            format!(
                "  {t:>15}  {:>13.1}%",
                100.0 * t as f64 / realized_total.max(1) as f64
            )
        });
        out.push_str(&format!(
            "{:<16} {:>10} {:>10.2} {:>14.0} {:>14.0} {:>8.3} {:>6.1}%{realized}\n",
            s.name,
            s.documents,
            s.bytes as f64 / 1e6,
            s.tokens_available,
            s.tokens_target,
            s.epochs,
            100.0 * s.tokens_target / total.max(1e-9),
        ));
    }
    out.push_str(&format!(
        "{:<16} {:>10}  (removed as mix_unselected)\ntotal tokens in mix ≈ {total:.0}{}\n",
        "unselected",
        plan.unselected_docs,
        if d.realized.is_some() {
            format!(", realized {realized_total}")
        } else {
            String::new()
        }
    ));
    out
}
