//! The `taojin` command line: parses arguments, sets up logging, calls the engine, and
//! turns errors into a one-line cause and an exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use taojin_pipeline::{LoadedJob, PipelineError, RunOptions, report};
use taojin_schemas::RunStats;

/// taojin (淘金): raw bilingual zh+en text in, training-ready token shards out.
#[derive(Parser)]
#[command(name = "taojin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a job file: every stage, resuming tasks that already finished.
    Run {
        /// The job file (TOML).
        job: PathBuf,
        /// Worker threads (default: all cores; at most 4 per core unless
        /// TAOJIN_MAX_THREADS says otherwise).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Rerun every task, even those with a matching done marker.
        #[arg(long)]
        force: bool,
        /// Stop after this stage.
        #[arg(long)]
        until: Option<String>,
        /// Run one step only (see `taojin plan`): `prepare`, a stage name, `<stage>:map`,
        /// `:reduce`, `:apply` (and `:setup`) of a global stage, or `finalize`.
        #[arg(long, requires = "task")]
        stage: Option<String>,
        /// With --stage: this worker's index (e.g. $SLURM_ARRAY_TASK_ID).
        #[arg(long, requires = "stage")]
        task: Option<usize>,
        /// With --stage: the number of workers; worker I runs the step's tasks t with
        /// t % N == I (default: one worker per task).
        #[arg(long, requires = "stage")]
        tasks: Option<usize>,
        /// With --stage: the cluster run this step belongs to. Its `prepare` takes the
        /// output for this id; steps of another id are refused until its `finalize`.
        #[arg(long, requires = "stage")]
        cluster_run: Option<String>,
    },
    /// Write Slurm sbatch scripts (one array job per step, chained with afterok) and
    /// submit.sh, with resources from the job's [slurm] table.
    Slurm {
        /// The job file (TOML).
        job: PathBuf,
        /// Folder for the scripts.
        #[arg(long)]
        out: PathBuf,
        /// The taojin binary the tasks run (default: this one).
        #[arg(long)]
        taojin: Option<PathBuf>,
        /// The cluster run the scripts belong to (default: a new one); give a crashed
        /// run's id to write its scripts again.
        #[arg(long)]
        cluster_run: Option<String>,
    },
    /// Write Kubernetes Indexed Job manifests (one per step) and apply.sh, with settings
    /// from the job's [k8s] table.
    K8s {
        /// The job file (TOML); its path must be valid inside the pods.
        job: PathBuf,
        /// Folder for the manifests.
        #[arg(long)]
        out: PathBuf,
        /// The cluster run the manifests belong to (default: a new one).
        #[arg(long)]
        cluster_run: Option<String>,
    },
    /// Show what a job's mix stage would take from each source, in seconds and without
    /// writing (the stages before the mix must have run: `taojin run JOB --until STAGE`).
    Mix {
        /// The job file (TOML).
        job: PathBuf,
        /// Plan only, write nothing (the only mode: a real mix runs inside `taojin run`).
        #[arg(long, required = true)]
        dry_run: bool,
        /// The mix stage (default: the first one).
        #[arg(long)]
        stage: Option<String>,
        /// Worker threads (default: all cores; at most 4 per core unless
        /// TAOJIN_MAX_THREADS says otherwise).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
    },
    /// Print the stage/task graph of a job: tasks per stage, map or global, and how many
    /// tasks are already done (what a rerun would skip).
    Plan {
        /// The job file (TOML).
        job: PathBuf,
        /// Print the steps as JSON, with the job's `[ray]` table (what the Ray launcher
        /// `python -m taojin_ray` reads).
        #[arg(long)]
        json: bool,
    },
    /// Print the funnel of a finished run.
    Stats {
        /// The job's output folder.
        out: PathBuf,
        /// Print stats.json as is.
        #[arg(long)]
        json: bool,
    },
    /// Write a finished run's HTML report (one self-contained file: funnel, languages,
    /// distributions, duplicate clusters, mix and shards, removed examples, timings).
    Report {
        /// The job's output folder.
        out: PathBuf,
        /// Where to write it (default `<out>/report.html`).
        #[arg(long)]
        html: Option<PathBuf>,
        /// An earlier run to compare with (what `taojin diff` prints, as a section).
        #[arg(long)]
        against: Option<PathBuf>,
    },
    /// Compare two runs: the funnel per stage and removal reason, train tokens per
    /// source, and a sample of documents one run kept and the other removed (with where).
    Diff {
        /// Run A's output folder.
        a: PathBuf,
        /// Run B's output folder.
        b: PathBuf,
        /// Documents sampled each way.
        #[arg(long, default_value_t = 5)]
        sample: usize,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Memory for joining the two runs' ids (e.g. `2GiB`); beyond it the join's sorts
        /// spill to the system temp folder.
        #[arg(long, default_value = "1GiB", value_parser = parse_size)]
        memory: taojin_schemas::ByteSize,
    },
    /// Explain documents: at each stage kept or removed (reason, detail), the signals it
    /// added, duplicate clusters with survivor and members, and whether it reached the
    /// shards.
    Explain {
        /// The job's output folder.
        out: PathBuf,
        /// Document ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the shards in a trainer's format: `megatron` is Megatron-LM's indexed
    /// dataset (`train.bin`/`.idx`, `valid.bin`/`.idx`, one sequence per document, read by
    /// megatron-core's `IndexedDataset`), with the shards' manifest beside it.
    Export {
        /// The shards folder (`<output>/shards`).
        shards: PathBuf,
        /// Output format (only `megatron`).
        #[arg(long, default_value = "megatron")]
        format: String,
        /// Folder to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run SQL over a job's outputs: every stage is a table of its kept rows,
    /// `<stage>_removed` of its removed rows.
    Sql {
        /// The job's output folder.
        out: PathBuf,
        /// The query, e.g. "SELECT lang, count(*) FROM langid GROUP BY lang".
        query: String,
        /// table, csv, json or parquet.
        #[arg(long, default_value = "table")]
        format: String,
        /// Write the result here instead of stdout (required for parquet).
        #[arg(long)]
        out_file: Option<PathBuf>,
    },
    /// Print the MinHash-LSH S-curve: the probability that two documents of a given
    /// Jaccard similarity become candidates, for bands × rows.
    DedupParams {
        /// The similarity you want to catch.
        #[arg(long, default_value_t = 0.8)]
        threshold: f64,
        /// Permutations (bands × rows); ignored when both --bands and --rows are given.
        #[arg(long, default_value_t = 112)]
        perms: usize,
        /// Bands (default: the split of at most --perms that minimizes false positives + false negatives).
        #[arg(long)]
        bands: Option<usize>,
        /// Rows per band.
        #[arg(long)]
        rows: Option<usize>,
    },
    /// Train a fastText quality classifier from good and bad example documents (JSONL).
    TrainClassifier {
        /// High-quality examples (JSONL, .zst or .gz).
        #[arg(long)]
        pos: PathBuf,
        /// Low-quality examples.
        #[arg(long)]
        neg: PathBuf,
        /// Where to write the model (fastText .bin).
        #[arg(long)]
        out: PathBuf,
        /// The field holding the text.
        #[arg(long, default_value = "text")]
        text_field: String,
        /// Passes over the data.
        #[arg(long, default_value_t = 10)]
        epoch: i32,
        /// At most this many examples per class.
        #[arg(long, default_value_t = 1_000_000)]
        max_docs: usize,
    },
    /// Train a KenLM-compatible n-gram model (interpolated modified Kneser-Ney, lmplz's
    /// estimator) and write it as ARPA, for the perplexity stage.
    TrainLm {
        /// Training text: JSONL (the `text` field, each of its lines a sentence) or plain
        /// text (each line a sentence); .zst or .gz.
        #[arg(long, required = true, num_args = 1..)]
        input: Vec<PathBuf>,
        /// The model's order.
        #[arg(long, default_value_t = 5)]
        order: usize,
        /// Count thresholds per order, unigrams first, as `lmplz --prune` (e.g. `0 0 1`).
        #[arg(long, num_args = 1..)]
        prune: Vec<u64>,
        /// Take each line's whitespace-separated words as they are, instead of taojin's
        /// units (Han characters, lower-cased words, digits folded).
        #[arg(long)]
        raw: bool,
        /// Memory for counting and sorting, besides the vocabulary (e.g. `4GiB`); beyond
        /// it sorted runs spill to `--tmp`, and the model comes out the same.
        #[arg(long, default_value = "1GiB", value_parser = parse_size)]
        memory: taojin_schemas::ByteSize,
        /// Where spilled runs go (anonymous files, removed as training ends).
        #[arg(long)]
        tmp: Option<PathBuf>,
        /// Where to write the ARPA file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Score each line of stdin with an ARPA model (`<s>`/`</s>` around it): prints
    /// `log10 <tab> tokens <tab> oov` per line.
    LmScore {
        /// The ARPA model.
        model: PathBuf,
        /// Score the line's whitespace-separated words as given, not taojin's units.
        #[arg(long)]
        raw: bool,
        /// Add a fourth column: the words scored, space-joined (what KenLM's `score()`
        /// would need to give the same number).
        #[arg(long)]
        show_words: bool,
    },
    /// Train a byte-level BPE tokenizer on the kept text of a job's stage.
    TrainTokenizer {
        /// The job file (its output must exist: run it first).
        job: PathBuf,
        /// Vocabulary size.
        #[arg(long, default_value_t = 64000)]
        vocab: usize,
        /// Where to write tokenizer.json.
        #[arg(long)]
        out: PathBuf,
        /// The stage whose kept documents to read (default: the last stage before `tokenize`).
        #[arg(long)]
        stage: Option<String>,
        /// At most this many documents.
        #[arg(long, default_value_t = 1_000_000)]
        max_docs: usize,
    },
    /// Encode a JSONL corpus with `tokenizers` and with taojin's fast BPE encoder, check
    /// that every document gets identical ids, and time both (prints one JSON line).
    EncodeCheck {
        /// The tokenizer.json.
        tokenizer: PathBuf,
        /// A JSONL file (plain, .zst or .gz).
        input: PathBuf,
        /// The field holding the text.
        #[arg(long, default_value = "text")]
        field: String,
        /// At most this many documents.
        #[arg(long, default_value_t = usize::MAX)]
        max_docs: usize,
        /// Worker threads (default: all cores; at most 4 per core unless
        /// TAOJIN_MAX_THREADS says otherwise).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
    },
    /// Write the deterministic synthetic demo corpus.
    DemoData {
        /// Folder to write into.
        dir: PathBuf,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Size multiplier (1 ≈ 3,000 documents).
        #[arg(long, default_value_t = 1)]
        scale: usize,
        /// Also write the learned filters' files: `spam/` (spam pages and word salad)
        /// and `lm-reference/` (clean text to train the n-gram model on).
        #[arg(long)]
        learned: bool,
    },
    /// Write the demo crawl: one WARC file of generated pages (English, GBK and Big5
    /// Chinese, boilerplate, non-HTML records, a truncated record) and its truth.
    DemoCrawl {
        /// Folder to write into (`crawl-00000.warc.gz`, `truth.jsonl`).
        dir: PathBuf,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// HTML pages to generate.
        #[arg(long, default_value_t = 60)]
        pages: usize,
    },
}

/// `--threads`: at least 1, at most [`taojin_pipeline::engine::MAX_THREADS_PER_CORE`] per
/// core (or `TAOJIN_MAX_THREADS`), checked when the arguments are parsed (exit 2).
/// A byte size argument (`512MiB`, `4GiB`, `1048576`).
fn parse_size(s: &str) -> std::result::Result<taojin_schemas::ByteSize, String> {
    taojin_schemas::ByteSize::parse(s).ok_or_else(|| format!("`{s}` is not a size such as 4GiB"))
}

fn parse_threads(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of threads"))?;
    let cap = std::env::var("TAOJIN_MAX_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(
            taojin_pipeline::engine::cores() * taojin_pipeline::engine::MAX_THREADS_PER_CORE,
        );
    match n {
        0 => Err("must be at least 1".into()),
        n if n > cap => Err(format!(
            "{n} is more than {cap} (4 per core); set TAOJIN_MAX_THREADS to allow more"
        )),
        n => Ok(n),
    }
}

/// `taojin plan --json`: the job, its output, its steps in order (with the tasks each
/// still has to run) and its `[ray]` table.
fn plan_json(
    job: &LoadedJob,
    path: &std::path::Path,
    plan: &taojin_pipeline::plan::Plan,
) -> anyhow::Result<String> {
    let output = match job.remote()? {
        Some(r) => r.url(),
        None => std::path::absolute(&plan.output)?.display().to_string(),
    };
    let steps: Vec<serde_json::Value> = taojin_pipeline::engine::steps(plan)
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "phase": s.phase.as_str(),
                "tasks": s.tasks,
                "pending": taojin_pipeline::engine::pending(plan, s).len(),
            })
        })
        .collect();
    Ok(serde_json::to_string_pretty(&serde_json::json!({
        "job": job.spec.job.name,
        "job_file": std::path::absolute(path)?,
        "output": output,
        "steps": steps,
        "ray": job.spec.ray.clone().unwrap_or_default(),
    }))?)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let internal = err.chain().any(|c| {
                c.downcast_ref::<PipelineError>()
                    .is_some_and(PipelineError::is_internal)
            });
            let in_use = err.chain().any(|c| {
                matches!(
                    c.downcast_ref::<PipelineError>(),
                    Some(PipelineError::InUse(_))
                )
            });
            // Each cause once: a message that already quotes its source is not repeated.
            let mut line = String::new();
            for cause in err.chain().map(ToString::to_string) {
                if !line.contains(&cause) {
                    if !line.is_empty() {
                        line.push_str(": ");
                    }
                    line.push_str(&cause);
                }
            }
            eprintln!("error: {line}");
            ExitCode::from(match (internal, in_use) {
                (true, _) => 3,
                (false, true) => 4,
                (false, false) => 1,
            })
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,taojin_pipeline=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Run {
            job,
            threads,
            force,
            until,
            stage,
            task,
            tasks,
            cluster_run,
        } => {
            let loaded = LoadedJob::load(&job)?;
            if let (Some(stage), Some(task)) = (stage, task) {
                if force || until.is_some() {
                    anyhow::bail!("--stage runs one step: --force and --until do not apply");
                }
                let summary = taojin_pipeline::engine::run_step(
                    &loaded,
                    &stage,
                    task,
                    tasks,
                    threads,
                    cluster_run.as_deref(),
                )?;
                return print_stdout(&format!("{}\n", summary.trim_end()));
            }
            let stats = taojin_pipeline::run(
                &loaded,
                &RunOptions {
                    threads,
                    force,
                    until,
                },
            )?;
            print_stdout(&report::funnel(&stats))
        }
        Command::Slurm {
            job,
            out,
            taojin,
            cluster_run,
        } => {
            let loaded = LoadedJob::load(&job)?;
            let taojin = match taojin {
                Some(t) => t,
                None => std::env::current_exe()?,
            };
            let job_path = std::path::absolute(&job)?;
            let out_abs = std::path::absolute(&out)?;
            let run = cluster_run.unwrap_or_else(taojin_pipeline::engine::new_cluster_run_id);
            let files = taojin_pipeline::cluster_scripts::slurm(
                &loaded,
                &job_path,
                &std::path::absolute(taojin)?,
                &out_abs.join("logs"),
                &run,
            )?;
            std::fs::create_dir_all(out_abs.join("logs"))?;
            taojin_pipeline::cluster_scripts::write(&out, &files)?;
            print_stdout(&format!(
                "wrote {} sbatch scripts of cluster run {run} to {}; submit them in order with: bash {}/submit.sh\n",
                files.len() - 1,
                out.display(),
                out.display()
            ))
        }
        Command::K8s {
            job,
            out,
            cluster_run,
        } => {
            let loaded = LoadedJob::load(&job)?;
            let run = cluster_run.unwrap_or_else(taojin_pipeline::engine::new_cluster_run_id);
            let files = taojin_pipeline::cluster_scripts::k8s(&loaded, &job, &run)?;
            taojin_pipeline::cluster_scripts::write(&out, &files)?;
            print_stdout(&format!(
                "wrote {} Indexed Job manifests of cluster run {run} to {}; apply them in order with: bash {}/apply.sh\n",
                files.len() - 1,
                out.display(),
                out.display()
            ))
        }
        Command::Mix {
            job,
            dry_run: _,
            stage,
            threads,
        } => {
            let loaded = LoadedJob::load(&job)?;
            let d = taojin_pipeline::mix_dry_run::dry_run_job(&loaded, stage.as_deref(), threads)?;
            print_stdout(&taojin_pipeline::mix_dry_run::render_dry_run(&d))
        }
        Command::Plan { job, json } => {
            let loaded = LoadedJob::load(&job)?;
            let plan = taojin_pipeline::plan::plan(&loaded)?;
            if json {
                return print_stdout(&(plan_json(&loaded, &job, &plan)? + "\n"));
            }
            let files: usize = plan.splits.iter().map(|s| s.parts.len()).sum();
            let mut text = format!(
                "job {}: {} inputs, {} file pieces, {} tasks per stage, output {}\n",
                loaded.spec.job.name,
                loaded.spec.inputs.len(),
                files,
                plan.splits.len(),
                plan.output.display()
            );
            for (i, st) in plan.stages.iter().enumerate() {
                let dir = taojin_pipeline::engine::stage_dir::StageDir::new(&plan.output, st);
                let done = (0..st.tasks).filter(|&t| dir.task_done(t)).count();
                let shape = if taojin_pipeline::registry::is_global(&st.spec) {
                    // A local run's apply may finish beside a reduce that was then killed.
                    if done > 0 && !dir.reduce_done() {
                        "global: map → reduce → apply (the reduce is not done)"
                    } else {
                        "global: map → reduce → apply"
                    }
                } else {
                    "map"
                };
                text.push_str(&format!(
                    "{i:>3}  {:<16} {:<14} {:>6} tasks  {:>6} done  {shape}  config {}\n",
                    st.spec.name(),
                    st.spec.kind(),
                    st.tasks,
                    done,
                    &st.hash[..12]
                ));
            }
            text.push_str(
                "\nsteps for a cluster (`taojin run JOB --stage STEP --task I --tasks N`):\n",
            );
            for step in taojin_pipeline::engine::steps(&plan) {
                let left = taojin_pipeline::engine::pending(&plan, &step).len();
                text.push_str(&format!(
                    "  {:<24} {:>6} tasks  {:>6} pending\n",
                    step.name, step.tasks, left
                ));
            }
            print_stdout(&text)
        }
        Command::Report { out, html, against } => {
            let page = taojin_pipeline::html_report::build_against(&out, against.as_deref())
                .with_context(|| format!("reporting {}", out.display()))?;
            let dest = html.unwrap_or_else(|| out.join("report.html"));
            taojin_pipeline::writer::write_atomic(&dest, page.as_bytes())?;
            print_stdout(&format!("{}\n", dest.display()))
        }
        Command::Diff {
            a,
            b,
            sample,
            json,
            memory,
        } => {
            let memory = usize::try_from(memory.bytes()).unwrap_or(usize::MAX);
            let d = taojin_pipeline::diff::diff(&a, &b, sample, memory)
                .with_context(|| format!("comparing {} with {}", a.display(), b.display()))?;
            let text = if json {
                serde_json::to_string_pretty(&d)? + "\n"
            } else {
                taojin_pipeline::diff::render_text(&d, &a, &b)
            };
            print_stdout(&text)
        }
        Command::Explain { out, ids, json } => {
            let all = taojin_pipeline::explain::explain(&out, &ids)
                .with_context(|| format!("explaining ids in {}", out.display()))?;
            let text = if json {
                serde_json::to_string_pretty(&all)? + "\n"
            } else {
                taojin_pipeline::explain::render_text(&all)
            };
            print_stdout(&text)
        }
        Command::Export {
            shards,
            format,
            out,
        } => {
            if format != "megatron" {
                anyhow::bail!("--format {format}: the formats are: megatron");
            }
            let done = taojin_pipeline::export::megatron(&shards, &out)
                .with_context(|| format!("exporting {}", shards.display()))?;
            let mut text = String::new();
            for (split, s) in &done.splits {
                text.push_str(&format!(
                    "{split}: {} documents, {} tokens ({}) -> {}\n",
                    s.documents,
                    s.tokens,
                    s.dtype,
                    out.join(format!("{split}.bin")).display()
                ));
            }
            print_stdout(&text)
        }
        Command::Stats { out, json } => {
            let path = out.join("stats.json");
            let bytes = std::fs::read(&path)
                .with_context(|| format!("{}: no stats (has the job run?)", path.display()))?;
            if json {
                let mut s = String::from_utf8_lossy(&bytes).into_owned();
                if !s.ends_with('\n') {
                    s.push('\n');
                }
                return print_stdout(&s);
            }
            let stats: RunStats = serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not a taojin stats file", path.display()))?;
            let mut text = report::funnel(&stats);
            for note in taojin_pipeline::engine::stale_stats(&out, &stats) {
                text.push_str(&format!("warning: {note}\n"));
            }
            print_stdout(&text)
        }
        Command::Sql {
            out,
            query,
            format,
            out_file,
        } => {
            use taojin_pipeline::sql::{SqlFormat, render};
            let format = match format.as_str() {
                "table" => SqlFormat::Table,
                "csv" => SqlFormat::Csv,
                "json" => SqlFormat::Json,
                "parquet" => SqlFormat::Parquet,
                other => anyhow::bail!("--format `{other}`: expected table, csv, json or parquet"),
            };
            let batches = taojin_pipeline::sql::query(&out, &query)?;
            let bytes = render(&batches, format, out_file.as_deref())?;
            match (out_file, format) {
                (Some(_), SqlFormat::Parquet) => Ok(()),
                (Some(path), _) => Ok(taojin_pipeline::writer::write_atomic(&path, &bytes)?),
                (None, _) => print_stdout(&String::from_utf8_lossy(&bytes)),
            }
        }
        Command::DedupParams {
            threshold,
            perms,
            bands,
            rows,
        } => {
            if !(0.0..=1.0).contains(&threshold) || perms == 0 {
                anyhow::bail!("--threshold must be within 0..=1 and --perms ≥ 1");
            }
            let (b, r) = match (bands, rows) {
                (Some(b), Some(r)) if b > 0 && r > 0 => (b, r),
                (Some(b), None) if b > 0 => (b, (perms / b).max(1)),
                (None, Some(r)) if r > 0 => ((perms / r).max(1), r),
                (None, None) => taojin_dedup::optimal_split(perms, threshold),
                _ => anyhow::bail!("--bands and --rows must be ≥ 1"),
            };
            print_stdout(&taojin_pipeline::report::s_curve(b, r, threshold))
        }
        Command::TrainClassifier {
            pos,
            neg,
            out,
            text_field,
            epoch,
            max_docs,
        } => {
            use taojin_filters::classifier;
            let p = taojin_pipeline::texts::read_texts(&pos, &text_field, max_docs)?;
            let n = taojin_pipeline::texts::read_texts(&neg, &text_field, max_docs)?;
            let opts = classifier::TrainOptions {
                epoch,
                ..Default::default()
            };
            let model = classifier::train(&p, &n, &out, &opts)
                .with_context(|| format!("training {}", out.display()))?;
            let correct = p.iter().filter(|t| model.score(t) >= 0.5).count()
                + n.iter().filter(|t| model.score(t) < 0.5).count();
            print_stdout(&format!(
                "trained on {} positive and {} negative documents; training accuracy {:.3}; model written to {}\n",
                p.len(),
                n.len(),
                correct as f64 / (p.len() + n.len()) as f64,
                out.display()
            ))
        }
        Command::TrainLm {
            input,
            order,
            prune,
            raw,
            memory,
            tmp,
            out,
        } => {
            use taojin_pipeline::lm;
            let budget = lm::Budget {
                memory: usize::try_from(memory.bytes()).unwrap_or(usize::MAX),
                tmp: tmp.unwrap_or_else(std::env::temp_dir),
            };
            let words = if raw {
                lm::Words::Raw
            } else {
                lm::Words::Units
            };
            let started = std::time::Instant::now();
            let stats = lm::train(&input, order, &prune, words, &budget, &out)
                .with_context(|| format!("training {}", out.display()))?;
            let counts: Vec<String> = stats.ngrams.iter().map(|c| c.to_string()).collect();
            let discounts: Vec<String> = stats
                .discounts
                .iter()
                .map(|d| format!("{:.3}/{:.3}/{:.3}", d[0], d[1], d[2]))
                .collect();
            let mut text = format!(
                "{} sentences, {} words; n-grams per order {}; discounts D1/D2/D3+ {}; {:.1} s; model written to {}\n",
                stats.sentences,
                stats.tokens,
                counts.join(" "),
                discounts.join(" "),
                started.elapsed().as_secs_f64(),
                out.display()
            );
            if stats.spilled_runs > 0 {
                text.push_str(&format!(
                    "over the {} memory budget: {} sorted runs spilled to {}\n",
                    memory,
                    stats.spilled_runs,
                    budget.tmp.display()
                ));
            }
            if !stats.fallback.is_empty() {
                text.push_str(&format!(
                    "too little data for Kneser-Ney discounts at order {:?}: used lmplz's fallback 0.5/1/1.5\n",
                    stats.fallback
                ));
            }
            print_stdout(&text)
        }
        Command::LmScore {
            model,
            raw,
            show_words,
        } => {
            use taojin_pipeline::lm;
            let words = if raw {
                lm::Words::Raw
            } else {
                lm::Words::Units
            };
            let m = lm::load(&model)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            lm::score(&m, words, show_words, std::io::stdin().lock(), &mut out)?;
            std::io::Write::flush(&mut out).context("writing to stdout")
        }
        Command::TrainTokenizer {
            job,
            vocab,
            out,
            stage,
            max_docs,
        } => {
            let loaded = LoadedJob::load(&job)?;
            let name = match stage {
                Some(s) => s,
                None => loaded
                    .spec
                    .stages
                    .iter()
                    .rev()
                    .find(|s| s.kind() != "tokenize")
                    .map(|s| s.name().to_string())
                    .context("the job has no stage to read text from")?,
            };
            let dir = loaded.output_dir().join(&name);
            let texts = taojin_pipeline::texts::stage_texts(&dir, max_docs).with_context(|| {
                format!("reading the kept text of stage `{name}` (has the job run?)")
            })?;
            let n = texts.len();
            let tokenizer = taojin_pipeline::tokenizer_train::train(texts, vocab, &out)?;
            print_stdout(&format!(
                "trained a {}-token BPE on {n} documents of stage `{name}`; written to {}\n",
                tokenizer.get_vocab_size(true),
                out.display()
            ))
        }
        Command::EncodeCheck {
            tokenizer,
            input,
            field,
            max_docs,
            threads,
        } => {
            use taojin_pipeline::encoder::{Encoder, check};
            let encoder = Encoder::from_file(&tokenizer)?;
            let texts = taojin_pipeline::texts::read_texts(&input, &field, max_docs)?;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads.unwrap_or(0))
                .build()?;
            let report = pool.install(|| check(&encoder, &texts))?;
            print_stdout(&format!("{}\n", serde_json::to_string(&report)?))?;
            if report.mismatches > 0 {
                anyhow::bail!(
                    "{} of {} documents got different ids (first: document {})",
                    report.mismatches,
                    report.docs,
                    report.first_mismatch.unwrap_or(0)
                );
            }
            Ok(())
        }
        Command::DemoData {
            dir,
            seed,
            scale,
            learned,
        } => {
            let summary = taojin_pipeline::demo_data::write(&dir, seed, scale, learned)?;
            print_stdout(&summary)
        }
        Command::DemoCrawl { dir, seed, pages } => {
            let summary = taojin_pipeline::demo_data::write_crawl(&dir, seed, pages)?;
            print_stdout(&summary)
        }
    }
}

/// Prints to stdout; a closed pipe (`taojin stats out | head`) is not an error.
fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
