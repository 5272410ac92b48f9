//! Task-addressed runs: the generated sbatch scripts, executed as Slurm would (every
//! array task of a step at once, some twice), give the same bytes as a local run; steps
//! out of order fail with a clear message; Kubernetes manifests cover every step.

use std::path::Path;
use std::process::Command;

use crate::util::*;

const STAGES: &str = "[[stages]]\nkind = \"normalize\"\n\n\
    [[stages]]\nkind = \"exact_dedup\"\n\n\
    [[stages]]\nkind = \"minhash_dedup\"\n\n\
    [[stages]]\nkind = \"mix\"\n\n\
    [[stages.sources]]\nname = \"en\"\nwhere = \"source = 'web-en'\"\nweight = 0.5\n\n\
    [[stages.sources]]\nname = \"zh\"\nwhere = \"source LIKE 'web-zh%'\"\nweight = 0.5\n\n\
    [[stages]]\nkind = \"tokenize\"\ntokenizer = \"tok.json\"\ntrain_vocab = 800\nseq_len = 128\nvalid_fraction = 0.1\n";

const SLURM: &str = "[slurm]\npartition = \"debug\"\ncpus_per_task = 1\nmem = \"2G\"\ntime = \"00:10:00\"\nmax_parallel = 4\n\n[k8s]\nimage = \"registry.example/taojin:0.1\"\ncpus = 2\nmemory = \"4Gi\"\nvolume_claim = \"corpus\"\nmount_path = \"/data\"\n";

fn setup() -> Workspace {
    let ws = Workspace::new();
    ws.run_ok(&["demo-data", "data"]);
    let inputs = ["web-en", "web-zh"]
        .map(|n| input(n, &format!("data/{n}-*.jsonl.zst")))
        .join("\n");
    ws.write(
        "job.toml",
        format!("[job]\nname = \"t\"\noutput = \"out\"\n\n{inputs}\n{STAGES}\n{SLURM}"),
    );
    ws
}

/// Runs one sbatch script the way Slurm would: every array task at once, the given task
/// index twice (a duplicated worker).
fn run_array(script: &Path, twice: Option<usize>) {
    let text = std::fs::read_to_string(script).expect("script");
    let last: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array=0-"))
        .map_or(0, |r| {
            r.split('%')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("array")
        });
    let mut ids: Vec<usize> = (0..=last).collect();
    ids.extend(twice.filter(|&t| t <= last));
    let children: Vec<_> = ids
        .iter()
        .map(|i| {
            Command::new("bash")
                .arg(script)
                .env("SLURM_ARRAY_TASK_ID", i.to_string())
                .env("RUST_LOG", "warn")
                .stderr(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    wait_ok(children, &script.display().to_string());
}

#[test]
fn slurm_array_tasks_give_the_bytes_of_a_local_run() {
    let ws = setup();
    let plan = ws.run_ok(&["plan", "job.toml"]);
    assert!(plan.contains("minhash_dedup:reduce"), "{plan}");
    assert!(plan.contains("tokenize:setup"), "{plan}");
    ws.run_ok(&["slurm", "job.toml", "--out", "slurm"]);
    let mut scripts: Vec<_> = std::fs::read_dir(ws.path("slurm"))
        .expect("slurm")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sbatch"))
        .collect();
    scripts.sort();
    let names: Vec<String> = scripts
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("00-prepare.sbatch"));
    assert!(names.last().is_some_and(|n| n.ends_with("finalize.sbatch")));
    let normalize = std::fs::read_to_string(&scripts[1]).expect("normalize");
    for want in [
        "#SBATCH --partition=debug",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --mem=2G",
        "%4",
        "--stage normalize --task \"${SLURM_ARRAY_TASK_ID:-0}\"",
    ] {
        assert!(normalize.contains(want), "{want}: {normalize}");
    }
    let submit = std::fs::read_to_string(ws.path("slurm/submit.sh")).expect("submit");
    assert!(submit.contains("--dependency=afterok:"), "{submit}");
    assert_eq!(submit.matches("sbatch --parsable").count(), scripts.len());

    // Out of order: a step before `prepare`, an apply before its reduce.
    let early = ws.taojin(&["run", "job.toml", "--stage", "normalize", "--task", "0"]);
    assert!(String::from_utf8_lossy(&early.stderr).contains("prepare"));
    let bad = ws.taojin(&["run", "job.toml", "--stage", "nope", "--task", "0"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("exact_dedup:map"));

    // The scripts of another `taojin slurm` are another cluster run.
    let run_of = |dir: &str| {
        let text =
            std::fs::read_to_string(ws.path(&format!("{dir}/00-prepare.sbatch"))).expect("prepare");
        let id = text
            .split("--cluster-run ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_string);
        id.expect("--cluster-run in the script")
    };
    ws.run_ok(&["slurm", "job.toml", "--out", "other"]);
    assert_ne!(run_of("slurm"), run_of("other"));
    assert!(normalize.contains(&format!("--cluster-run {}", run_of("slurm"))));

    for (i, s) in scripts.iter().enumerate() {
        if i == 1 {
            // The prepare script submitted again joins this run: what its workers may be
            // writing (a part, the shards being built) stays.
            let live = [
                "out/normalize/.part-00000.parquet.tmp-live",
                "out/.shards.tmp-live/train-00000.arrow",
            ]
            .map(|f| ws.path(f));
            for f in &live {
                std::fs::create_dir_all(f.parent().expect("parent")).expect("dir");
                std::fs::write(f, b"being written").expect("tmp");
            }
            run_array(&scripts[0], None);
            for f in &live {
                assert!(f.exists(), "{}", f.display());
            }
            std::fs::remove_file(&live[0]).expect("rm");
            std::fs::remove_dir_all(ws.path("out/.shards.tmp-live")).expect("rm");
            // This run holds the output: the other run's prepare and steps are refused
            // before they touch a file, and its finalize leaves this run's lock.
            let lock = std::fs::read(ws.path("out/_lock.json")).expect("lock");
            for step in ["00-prepare.sbatch", &names[1], &names[names.len() - 1]] {
                let out = Command::new("bash")
                    .arg(ws.path(&format!("other/{step}")))
                    .output()
                    .expect("bash");
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(4), "{step}: {err}");
                assert!(
                    err.contains(&format!("give `--cluster-run {}`", run_of("slurm"))),
                    "{step}: {err}"
                );
            }
            assert_eq!(
                std::fs::read(ws.path("out/_lock.json")).expect("lock"),
                lock
            );
            assert!(
                !ws.path("out/normalize/_done")
                    .read_dir()
                    .expect("done")
                    .any(|_| true)
            );
        }
        if names[i].contains("exact_dedup-reduce") {
            let out = ws.taojin(&[
                "run",
                "job.toml",
                "--stage",
                "exact_dedup:apply",
                "--task",
                "0",
                "--cluster-run",
                &run_of("slurm"),
            ]);
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("exact_dedup:reduce"),
                "apply before reduce must fail"
            );
        }
        // Every array task at once; task 1 of the map and apply steps twice.
        let twice = (names[i].contains("-map") || names[i].contains("-apply")).then_some(1);
        run_array(s, twice);
    }
    assert_conserved(&ws, "out");

    // A local run of the same job gives the same bytes.
    let job = std::fs::read_to_string(ws.path("job.toml")).expect("job");
    ws.write(
        "local.toml",
        job.replace("output = \"out\"", "output = \"local\""),
    );
    ws.run_ok(&["run", "local.toml"]);
    let files = all_files(&ws.path("out"));
    let mut compared = 0;
    for f in files.iter().filter(|f| {
        let n = f.to_string_lossy();
        n.ends_with(".parquet") || n.ends_with(".arrow") || n.ends_with("manifest.json")
    }) {
        assert_eq!(
            std::fs::read(ws.path("out").join(f)).expect("out"),
            std::fs::read(ws.path("local").join(f)).expect("local"),
            "{}",
            f.display()
        );
        compared += 1;
    }
    assert!(compared > 20, "{compared}");
}

#[test]
fn k8s_manifests_cover_every_step() {
    let ws = setup();
    ws.run_ok(&[
        "k8s",
        "job.toml",
        "--out",
        "k8s",
        "--cluster-run",
        "k8s-run-1",
    ]);
    let plan = ws.run_ok(&["plan", "job.toml"]);
    let steps = plan_steps(&plan);
    let apply = std::fs::read_to_string(ws.path("k8s/apply.sh")).expect("apply.sh");
    assert_eq!(apply.matches("kubectl apply").count(), steps.len());
    for (i, (step, tasks)) in steps.iter().enumerate() {
        let file = ws.path(&format!("k8s/{i:02}-{}.yaml", step.replace(':', "-")));
        let y = std::fs::read_to_string(&file).expect("manifest");
        for want in [
            "apiVersion: batch/v1".to_string(),
            "kind: Job".into(),
            "completionMode: Indexed".into(),
            format!("completions: {tasks}"),
            format!("--stage {step} --task \\\"$JOB_COMPLETION_INDEX\\\" --tasks {tasks}"),
            "--cluster-run k8s-run-1".into(),
            "image: \"registry.example/taojin:0.1\"".into(),
            "claimName: \"corpus\"".into(),
            "restartPolicy: Never".into(),
        ] {
            assert!(y.contains(&want), "{want} in {}:\n{y}", file.display());
        }
    }
}
