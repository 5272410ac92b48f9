//! One task of one stage: read its input, run the stage batch by batch, write its part
//! files, check its accounting, and commit — outputs first, done marker last.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;
use taojin_schemas::{BadRecordPolicy, JobSpec, TaskStats, columns, read_schema, removed_schema};

use crate::batch::{
    DocBatchBuilder, Processed, bad_records_batch, partition, text_bytes, text_column,
};
use crate::error::{PipelineError, Result};
use crate::ingest::{BadRecord, Doc, ReadContext, RecordSink, Split, read_part};
use crate::progress::StageProgress;
use crate::stages::{Edit, EditTally, MapStage, TextEdit};
use crate::writer::{ParquetPart, Pending, write_atomic};

/// The file name stem of task `task`'s outputs.
pub fn part_name(task: usize) -> String {
    format!("part-{task:05}")
}

/// Where a task's outputs go.
#[derive(Debug, Clone)]
pub struct TaskPaths {
    /// Kept rows.
    pub kept: PathBuf,
    /// Removed rows.
    pub removed: PathBuf,
    /// Task stats.
    pub stats: PathBuf,
    /// Done marker (holds the stage's config hash).
    pub done: PathBuf,
}

impl TaskPaths {
    /// The paths of task `task` in stage folder `dir`.
    pub fn new(dir: &Path, task: usize) -> TaskPaths {
        let part = part_name(task);
        TaskPaths {
            kept: dir.join(format!("{part}.parquet")),
            removed: dir.join("removed").join(format!("{part}.parquet")),
            stats: dir.join("_stats").join(format!("{part}.json")),
            done: dir.join("_done").join(part),
        }
    }

    /// True when the done marker exists and holds `hash`.
    pub fn is_done(&self, hash: &str) -> bool {
        fs::read_to_string(&self.done).is_ok_and(|h| h.trim() == hash)
    }

    fn remove_existing(&self) -> Result<()> {
        for p in [&self.done, &self.stats, &self.removed, &self.kept] {
            match fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(PipelineError::Io {
                        path: p.clone(),
                        source: e,
                    });
                }
            }
        }
        Ok(())
    }
}

/// What a task reads.
pub enum TaskInput<'a> {
    /// Raw input files (first stage).
    Split(&'a Split),
    /// The part file of the same task in the previous stage, with the ids to rewrite
    /// (row, occurrence) when the previous stage is the first (see [`crate::engine::ids`]).
    Part {
        /// The part file.
        path: PathBuf,
        /// Sorted by row.
        renames: Vec<(u32, u32)>,
    },
}

/// Builds the map stage of one task (global stages apply per-task decisions).
pub type PerTask<'a> = &'a (dyn Fn(usize) -> Result<Box<dyn MapStage>> + Sync);

/// How a stage's tasks get their [`MapStage`].
#[derive(Clone, Copy)]
pub enum StageImpl<'a> {
    /// One instance shared by every task.
    Shared(&'a dyn MapStage),
    /// One instance per task.
    PerTask(PerTask<'a>),
}

/// Everything the tasks of one stage share.
pub struct StageRun<'a> {
    /// Stage name.
    pub name: &'a str,
    /// Stage config hash, written into done markers.
    pub hash: &'a str,
    /// Stage output folder.
    pub dir: &'a Path,
    /// The stage, shared by all tasks or built per task.
    pub stage: StageImpl<'a>,
    /// The job.
    pub job: &'a JobSpec,
    /// Parquet settings.
    pub props: WriterProperties,
    /// Progress counters.
    pub progress: &'a StageProgress,
    /// Test-only fail point: abort the process in this task before it commits.
    pub crash_task: Option<usize>,
    /// For the job's first stage: its folder, where each task writes the hashes of its
    /// kept ids for the `:ids` step.
    pub ids: Option<&'a crate::engine::stage_dir::StageDir>,
}

/// Runs one task to completion and returns its stats.
pub fn run_task(run: &StageRun<'_>, task: usize, input: TaskInput<'_>) -> Result<TaskStats> {
    let start = Instant::now();
    let paths = TaskPaths::new(run.dir, task);
    paths.remove_existing()?;
    let input_schema = match &input {
        TaskInput::Split(_) => read_schema(run.job.reads_web()),
        TaskInput::Part { path, .. } => parquet_schema(path)?,
    };
    let owned;
    let stage: &dyn MapStage = match run.stage {
        StageImpl::Shared(s) => s,
        StageImpl::PerTask(build) => {
            owned = build(task)?;
            owned.as_ref()
        }
    };
    let output_schema = stage.output_schema(&input_schema);
    let mut out = TaskOutput {
        run,
        stage,
        stats: TaskStats {
            stage: run.name.to_string(),
            task,
            ..Default::default()
        },
        kept: ParquetPart::create(&paths.kept, output_schema.clone(), run.props.clone())?,
        removed: None,
        removed_schema: removed_schema(&output_schema),
        removed_path: paths.removed.clone(),
        ids: run.ids.map(|_| crate::engine::ids::IdCollector::default()),
    };
    match input {
        TaskInput::Split(split) => {
            let spec = run
                .job
                .inputs
                .get(split.input)
                .ok_or_else(|| PipelineError::Internal("split of unknown input".into()))?;
            let ctx = ReadContext {
                input: spec,
                max_doc_bytes: run.job.job.max_doc_bytes,
                batch_rows: run.job.job.batch_rows,
            };
            let mut sink = IngestSink {
                edit: stage.text_edit().map(|edit| Fused {
                    edit,
                    reasons: Vec::new(),
                    tally: EditTally::default(),
                    bytes_in: 0,
                }),
                out: &mut out,
                docs: DocBatchBuilder::new(run.job.job.batch_rows, run.job.reads_web()),
                bad: Vec::new(),
                source: &spec.name,
                policy: run.job.job.on_bad_record,
            };
            for part in &split.parts {
                read_part(part, &ctx, &mut sink)?;
            }
            sink.flush_docs()?;
            sink.flush_bad()?;
        }
        TaskInput::Part { path, renames } => {
            let file = File::open(&path).map_err(PipelineError::io(&path))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(PipelineError::parquet(&path))?
                .with_batch_size(run.job.job.batch_rows)
                .build()
                .map_err(PipelineError::parquet(&path))?;
            let mut row = 0u64;
            for batch in reader {
                let batch = batch?;
                let n = batch.num_rows() as u64;
                out.process(crate::engine::ids::apply(batch, row, &renames)?)?;
                row += n;
            }
        }
    }
    out.finish(&paths, start)
}

fn parquet_schema(path: &Path) -> Result<SchemaRef> {
    let file = File::open(path).map_err(PipelineError::io(path))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(PipelineError::parquet(path))?;
    Ok(builder.schema().clone())
}

/// A task's writers and counts.
struct TaskOutput<'a> {
    run: &'a StageRun<'a>,
    stage: &'a dyn MapStage,
    stats: TaskStats,
    kept: ParquetPart,
    removed: Option<ParquetPart>,
    removed_schema: SchemaRef,
    removed_path: PathBuf,
    /// The id hashes of the kept rows (the first stage only).
    ids: Option<crate::engine::ids::IdCollector>,
}

impl TaskOutput<'_> {
    /// Runs the stage on one input batch and writes both sides.
    fn process(&mut self, batch: RecordBatch) -> Result<()> {
        let bytes = text_bytes(&batch)?;
        let processed = self.stage.process(&batch, &mut self.stats)?;
        self.write(batch.num_rows(), bytes, processed)
    }

    /// Writes a batch the reader already ran the stage's [`TextEdit`] on: `reasons` per
    /// row, `bytes_in` the text bytes before the edits.
    fn write_edited(
        &mut self,
        batch: RecordBatch,
        reasons: &[Option<&str>],
        bytes_in: u64,
        tally: EditTally,
    ) -> Result<()> {
        tally.add_to(&mut self.stats);
        let processed = partition(&batch, reasons)?;
        self.write(batch.num_rows(), bytes_in, processed)
    }

    /// Counts a processed batch of `rows` input rows (`bytes` of text) and writes it.
    fn write(&mut self, rows: usize, bytes: u64, processed: Processed) -> Result<()> {
        self.stats.docs_in += rows as u64;
        self.stats.bytes_in += bytes;
        self.stats.docs_kept += processed.kept.num_rows() as u64;
        self.stats.bytes_kept += text_bytes(&processed.kept)?;
        self.kept.write(&processed.kept)?;
        if let Some(ids) = self.ids.as_mut() {
            ids.add(&processed.kept)?;
        }
        if let Some(removed) = processed.removed {
            let reasons = removed
                .column_by_name(columns::REASON)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| PipelineError::Internal("removed rows without a `reason`".into()))?;
            let text = text_column(&removed)?;
            for (reason, t) in reasons.iter().zip(text.iter()) {
                self.stats
                    .remove(reason.unwrap_or("unknown"), t.map_or(0, |t| t.len() as u64));
            }
            self.write_removed(&removed)?;
        }
        self.run.progress.add(rows as u64, bytes);
        Ok(())
    }

    fn write_removed(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.removed.is_none() {
            self.removed = Some(ParquetPart::create(
                &self.removed_path,
                self.removed_schema.clone(),
                self.run.props.clone(),
            )?);
        }
        match self.removed.as_mut() {
            Some(w) => w.write(batch),
            None => Err(PipelineError::Internal("removed writer missing".into())),
        }
    }

    /// Closes the files, checks conservation, and commits: part files, stats, marker.
    fn finish(mut self, paths: &TaskPaths, start: Instant) -> Result<TaskStats> {
        let kept = self.kept.finish()?;
        let removed: Option<Pending> = self.removed.map(ParquetPart::finish).transpose()?;
        self.stats.seconds = start.elapsed().as_secs_f64();
        self.stats.check_conservation()?;
        if self.run.crash_task == Some(self.stats.task) {
            tracing::error!(
                stage = self.run.name,
                task = self.stats.task,
                "fail point: aborting before commit"
            );
            std::process::abort();
        }
        kept.commit()?;
        if let Some(r) = removed {
            r.commit()?;
        }
        if let (Some(ids), Some(dir)) = (self.ids, self.run.ids) {
            ids.finish(dir, self.stats.task)?;
        }
        let json = serde_json::to_vec_pretty(&self.stats)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_atomic(&paths.stats, &json)?;
        write_atomic(&paths.done, self.run.hash.as_bytes())?;
        self.run.progress.task_done();
        Ok(self.stats)
    }
}

/// Receives records from the readers of a first-stage task.
struct IngestSink<'a, 'b> {
    out: &'a mut TaskOutput<'b>,
    docs: DocBatchBuilder,
    /// The stage's per-document edit, applied as each document arrives.
    edit: Option<Fused<'b>>,
    bad: Vec<BadRecord>,
    source: &'a str,
    policy: BadRecordPolicy,
}

/// A [`TextEdit`] run by the reader, and what it did to the batch being built.
struct Fused<'a> {
    edit: &'a dyn TextEdit,
    /// Per buffered row: why it is removed.
    reasons: Vec<Option<&'static str>>,
    tally: EditTally,
    /// Text bytes of the buffered rows as read.
    bytes_in: u64,
}

const BAD_BATCH: usize = 1024;

impl IngestSink<'_, '_> {
    fn flush_docs(&mut self) -> Result<()> {
        if self.docs.is_empty() {
            return Ok(());
        }
        let batch = self.docs.finish()?;
        match self.edit.as_mut() {
            Some(f) => {
                let tally = std::mem::take(&mut f.tally);
                let bytes = std::mem::take(&mut f.bytes_in);
                self.out.write_edited(batch, &f.reasons, bytes, tally)?;
                f.reasons.clear();
            }
            None => self.out.process(batch)?,
        }
        Ok(())
    }

    fn flush_bad(&mut self) -> Result<()> {
        if !self.bad.is_empty() {
            let batch = bad_records_batch(&self.out.removed_schema, self.source, &self.bad)?;
            self.out.write_removed(&batch)?;
            self.bad.clear();
        }
        Ok(())
    }
}

impl RecordSink for IngestSink<'_, '_> {
    fn doc(&mut self, mut doc: Doc<'_>) -> Result<()> {
        if let Some(f) = self.edit.as_mut() {
            let edit = f.edit.edit(&doc.text);
            f.bytes_in += doc.text.len() as u64;
            f.tally.add(doc.text.len(), &edit);
            f.reasons.push(match edit {
                Edit::Same => None,
                Edit::Changed(text) => {
                    doc.text = text.into();
                    None
                }
                Edit::Removed(reason) => Some(reason),
            });
        }
        self.docs.push(&doc, self.source);
        if self.docs.is_full() {
            self.flush_docs()?;
        }
        Ok(())
    }

    fn bad(&mut self, bad: BadRecord) -> Result<()> {
        if self.policy == BadRecordPolicy::Fail {
            return Err(PipelineError::BadRecord {
                file: bad.file,
                line: bad.line,
                detail: bad.detail,
            });
        }
        tracing::debug!(file = %bad.file, line = bad.line, detail = %bad.detail, "bad record skipped");
        let stats = &mut self.out.stats;
        stats.docs_in += 1;
        stats.bytes_in += bad.raw_len;
        stats.remove(crate::batch::REASON_BAD_RECORD, bad.raw_len);
        self.bad.push(bad);
        if self.bad.len() >= BAD_BATCH {
            self.flush_bad()?;
        }
        Ok(())
    }

    fn blank_line(&mut self) {
        self.out.stats.count("blank_lines", 1);
    }

    fn count(&mut self, key: &str, n: u64) {
        self.out.stats.count(key, n);
    }
}
