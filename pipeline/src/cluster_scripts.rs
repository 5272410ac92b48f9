//! `taojin slurm` and `taojin k8s`: a job's steps (see [`crate::engine::steps`]) as
//! scheduler files — one sbatch array job per step chained with `afterok`, or one
//! Kubernetes Indexed Job per step applied in order. Every task runs
//! `taojin run JOB --stage STEP --task I --tasks N --cluster-run ID`: one set of files is
//! one cluster run (its id in each of them), so submitting it again carries that run on,
//! and another set's steps are refused while this run holds the output.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::engine::{Step, steps};
use crate::error::Result;
use crate::job::LoadedJob;
use crate::plan::plan;

/// A generated file: name inside the output folder, content, executable or not.
pub struct ScriptFile {
    /// File name.
    pub name: String,
    /// Its text.
    pub text: String,
    /// Needs the executable bit.
    pub executable: bool,
}

/// `s` quoted for a POSIX shell (`shlex`); a NUL byte, which no shell word can hold,
/// becomes U+FFFD.
fn quote(s: &str) -> String {
    let clean = s.replace('\0', "\u{fffd}");
    shlex::try_quote(&clean).map_or(clean.clone(), |q| q.into_owned())
}

/// A YAML scalar: a JSON string is a valid YAML double-quoted scalar, escapes included.
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// `s` as a Kubernetes name or label value: lower-case letters, digits and `-`, starting and
/// ending with a letter or digit, at most 63 characters (a long one keeps a hash of the
/// whole so two names stay apart).
fn k8s_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let mut out = out.trim_matches('-').to_string();
    if out.len() > 63 {
        let hash = &taojin_schemas::job::sha256_hex(s.as_bytes())[..8];
        out.truncate(54);
        out = format!("{}-{hash}", out.trim_end_matches('-'));
    }
    if out.is_empty() { "taojin".into() } else { out }
}

/// `s` as a Slurm job name: no spaces or shell characters in an `#SBATCH` line.
fn slurm_name(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() || "._-".contains(c) => c,
            _ => '-',
        })
        .collect()
}

fn file_stem(i: usize, step: &Step) -> String {
    format!("{i:02}-{}", step.name.replace(':', "-"))
}

/// The sbatch scripts of a job and `submit.sh`, which submits them in order.
pub fn slurm(
    job: &LoadedJob,
    job_path: &Path,
    taojin: &Path,
    logs: &Path,
    run: &str,
) -> Result<Vec<ScriptFile>> {
    crate::engine::check_cluster_run_id(run)?;
    let plan = plan(job)?;
    let cfg = job.spec.slurm.clone().unwrap_or_default();
    let mut files = Vec::new();
    let mut submit = String::from(
        "#!/usr/bin/env bash\n# Submits the steps of the job in order, each after the previous one succeeded.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\nprev=\"\"\n",
    );
    for (i, step) in steps(&plan).iter().enumerate() {
        let stem = file_stem(i, step);
        let mut t = String::from("#!/usr/bin/env bash\n");
        let _ = writeln!(
            t,
            "#SBATCH --job-name=taojin-{}-{}",
            slurm_name(&job.spec.job.name),
            slurm_name(&step.name)
        );
        if step.tasks > 1 {
            let limit = cfg.max_parallel.map_or(String::new(), |m| format!("%{m}"));
            let _ = writeln!(t, "#SBATCH --array=0-{}{limit}", step.tasks - 1);
        }
        let _ = writeln!(t, "#SBATCH --output={}/%x-%A_%a.out", logs.display());
        for (flag, v) in [
            ("partition", &cfg.partition),
            ("account", &cfg.account),
            ("mem", &cfg.mem),
            ("time", &cfg.time),
        ] {
            if let Some(v) = v {
                let _ = writeln!(t, "#SBATCH --{flag}={v}");
            }
        }
        if let Some(c) = cfg.cpus_per_task {
            let _ = writeln!(t, "#SBATCH --cpus-per-task={c}");
        }
        for e in &cfg.extra {
            let _ = writeln!(t, "#SBATCH {e}");
        }
        let _ = writeln!(
            t,
            "set -euo pipefail\nexec {} run {} --stage {} --task \"${{SLURM_ARRAY_TASK_ID:-0}}\" --tasks {} --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\" --cluster-run {run}",
            quote(&taojin.display().to_string()),
            quote(&job_path.display().to_string()),
            quote(&step.name),
            step.tasks,
            cfg.cpus_per_task.unwrap_or(1)
        );
        let _ = writeln!(
            submit,
            "prev=$(sbatch --parsable ${{prev:+--dependency=afterok:${{prev%%;*}}}} {stem}.sbatch)\necho \"{} → job $prev\"",
            step.name
        );
        files.push(ScriptFile {
            name: format!("{stem}.sbatch"),
            text: t,
            executable: true,
        });
    }
    submit.push_str("echo \"last job: $prev (wait with: squeue -j ${prev%%;*})\"\n");
    files.push(ScriptFile {
        name: "submit.sh".into(),
        text: submit,
        executable: true,
    });
    Ok(files)
}

/// One Indexed Job manifest per step and `apply.sh`, which applies them in order and
/// waits for each to complete.
pub fn k8s(job: &LoadedJob, job_path: &Path, run: &str) -> Result<Vec<ScriptFile>> {
    crate::engine::check_cluster_run_id(run)?;
    let plan = plan(job)?;
    let cfg = job.spec.k8s.clone().unwrap_or_default();
    let image = cfg.image.clone().unwrap_or_else(|| "taojin:latest".into());
    let cpus = cfg.cpus.unwrap_or(1);
    let mut files = Vec::new();
    let mut apply = String::from(
        "#!/usr/bin/env bash\n# Applies the steps' Jobs in order; each must complete before the next starts.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n",
    );
    let ns = cfg
        .namespace
        .as_ref()
        .map_or(String::new(), |n| format!(" -n {}", quote(n)));
    for (i, step) in steps(&plan).iter().enumerate() {
        let stem = file_stem(i, step);
        let name = k8s_name(&format!("taojin-{}-{stem}", job.spec.job.name));
        let mut y = String::new();
        let _ = writeln!(
            y,
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}"
        );
        if let Some(n) = &cfg.namespace {
            let _ = writeln!(y, "  namespace: {}", yaml_str(n));
        }
        let _ = writeln!(
            y,
            "  labels:\n    app.kubernetes.io/name: taojin\n    taojin/job: {}\n    taojin/step: {}",
            k8s_name(&job.spec.job.name),
            k8s_name(&step.name)
        );
        let parallelism = cfg.parallelism.unwrap_or(step.tasks).min(step.tasks).max(1);
        let _ = writeln!(
            y,
            "spec:\n  completionMode: Indexed\n  completions: {}\n  parallelism: {parallelism}\n  backoffLimitPerIndex: 3\n  maxFailedIndexes: 0\n  podFailurePolicy:\n    rules:\n      - action: FailJob\n        onExitCodes:\n          containerName: taojin\n          operator: In\n          values: [4]\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: taojin\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: taojin\n          image: {}",
            step.tasks,
            yaml_str(&image)
        );
        let cmd = format!(
            "exec taojin run {} --stage {} --task \"$JOB_COMPLETION_INDEX\" --tasks {} --threads {cpus} --cluster-run {run}",
            quote(&job_path.display().to_string()),
            quote(&step.name),
            step.tasks
        );
        let _ = writeln!(
            y,
            "          command: [\"/bin/sh\", \"-c\"]\n          args: [{}]",
            serde_json::Value::String(cmd)
        );
        let mem = yaml_str(cfg.memory.as_deref().unwrap_or("2Gi"));
        let _ = writeln!(
            y,
            "          resources:\n            requests:\n              cpu: \"{cpus}\"\n              memory: {mem}\n            limits:\n              cpu: \"{cpus}\"\n              memory: {mem}"
        );
        if let Some(claim) = &cfg.volume_claim {
            let mount = cfg.mount_path.clone().unwrap_or_else(|| "/data".into());
            let _ = writeln!(
                y,
                "          volumeMounts:\n            - name: data\n              mountPath: {}\n      volumes:\n        - name: data\n          persistentVolumeClaim:\n            claimName: {}",
                yaml_str(&mount),
                yaml_str(claim)
            );
        }
        let _ = writeln!(
            apply,
            "kubectl{ns} apply -f {stem}.yaml\nkubectl{ns} wait --for=condition=complete --timeout=24h job/{name}"
        );
        files.push(ScriptFile {
            name: format!("{stem}.yaml"),
            text: y,
            executable: false,
        });
    }
    files.push(ScriptFile {
        name: "apply.sh".into(),
        text: apply,
        executable: true,
    });
    Ok(files)
}

/// Writes generated files into `dir`.
pub fn write(dir: &Path, files: &[ScriptFile]) -> Result<()> {
    use crate::error::PipelineError;
    fs::create_dir_all(dir).map_err(PipelineError::io(dir))?;
    for f in files {
        let path = dir.join(&f.name);
        crate::writer::write_atomic(&path, f.text.as_bytes())?;
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                .map_err(PipelineError::io(&path))?;
        }
    }
    Ok(())
}
