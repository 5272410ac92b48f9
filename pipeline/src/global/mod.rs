//! Global stages: decisions that need every document of the job (duplicates across
//! shards, corpus-wide line counts), run as three phases that each scale out:
//!
//! 1. **map** — one task per part file of the previous stage writes compact keys into
//!    hash-partitioned spill files under `<stage>/_work/`;
//! 2. **reduce** — one task per partition groups its keys (bounded memory: the number of
//!    partitions comes from the stage's `memory_limit`), then the partition results are
//!    merged (for dedup: connected components in memory or in partitioned rounds,
//!    `components.rs`) into one decision file per task;
//! 3. **apply** — one task per part file applies its decisions as an ordinary map stage.
//!
//! Each phase has done markers, so a killed run resumes inside the stage too.

pub mod cluster;
mod components;
mod leaders;
pub mod lines;
pub mod mix;
pub mod mix_plan;
pub mod perplexity;
pub mod spill;
pub mod substring;
pub mod tokenize;
pub mod topics;

use std::fs::File;
use std::path::PathBuf;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use taojin_schemas::JobSpec;

use crate::engine::stage_dir::StageDir;
use crate::error::{PipelineError, Result};
use crate::plan::Plan;
use crate::stages::MapStage;

pub use cluster::{ClusterKind, ClusterStage};
pub use lines::LineDedupStage;
pub use mix::MixStage;
pub use tokenize::{TokenizeStage, shard_schema};

/// What every phase of a global stage needs to know.
pub struct GlobalCtx<'a> {
    /// The job's output folder (a stage's extra outputs, like `shards/`, go here).
    pub output: PathBuf,
    /// `<stage>/_work`: spill and decision files.
    pub work: PathBuf,
    /// The previous stage's folder (its part files are the input).
    pub prev_dir: PathBuf,
    /// The job.
    pub job: &'a JobSpec,
    /// Documents in each input part (from the previous stage's task stats).
    pub rows: Vec<u64>,
    /// Global index of each part's first document.
    pub offsets: Vec<u64>,
    /// Spill partitions.
    pub partitions: usize,
    /// The pool reduce tasks run on.
    pub pool: &'a rayon::ThreadPool,
    /// The stage's config hash.
    pub hash: String,
    /// The job's first stage when it is the input: its repeated ids are rewritten while
    /// reading (see [`crate::engine::ids`]).
    pub first_stage: Option<StageDir>,
}

impl<'a> GlobalCtx<'a> {
    /// The context of stage `index` of `plan`, whose previous stage must be finished.
    pub fn new(
        job: &'a JobSpec,
        plan: &Plan,
        index: usize,
        pool: &'a rayon::ThreadPool,
        stage: &dyn GlobalStage,
    ) -> Result<GlobalCtx<'a>> {
        let planned = &plan.stages[index];
        let prev = index
            .checked_sub(1)
            .map(|i| StageDir::new(&plan.output, &plan.stages[i]))
            .ok_or_else(|| {
                PipelineError::Config(format!(
                    "stage `{}` needs a stage before it",
                    planned.spec.name()
                ))
            })?;
        let rows = prev.rows()?;
        let mut offsets = Vec::with_capacity(rows.len());
        let mut acc = 0u64;
        for r in &rows {
            offsets.push(acc);
            acc += r;
        }
        let partitions = partitions_for(
            acc.saturating_mul(stage.spill_bytes_per_doc()),
            stage.memory_limit(),
        );
        let first_stage = crate::engine::ids::first_stage_input(plan, index);
        Ok(GlobalCtx {
            first_stage,
            output: plan.output.clone(),
            work: StageDir::new(&plan.output, planned).work(),
            prev_dir: prev.dir,
            job,
            rows,
            offsets,
            partitions,
            pool,
            hash: planned.hash.clone(),
        })
    }

    /// Number of tasks.
    pub fn tasks(&self) -> usize {
        self.rows.len()
    }

    /// Total documents.
    pub fn docs(&self) -> u64 {
        self.rows.iter().sum()
    }

    /// The part file of task `task` in the previous stage.
    pub fn input(&self, task: usize) -> PathBuf {
        self.prev_dir
            .join(format!("{}.parquet", crate::task::part_name(task)))
    }

    /// Calls `f` on every batch of task `task`'s input, in order. The next batch is read
    /// and decoded while `f` works (a pool thread takes the read when it has nothing else
    /// to do, e.g. while a one-task tokenize map encodes).
    pub fn for_each_batch(
        &self,
        task: usize,
        mut f: impl FnMut(&RecordBatch) -> Result<()> + Send,
    ) -> Result<()> {
        let path = self.input(task);
        let file = File::open(&path).map_err(PipelineError::io(&path))?;
        let mut reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(PipelineError::parquet(&path))?
            .with_batch_size(self.job.job.batch_rows)
            .build()
            .map_err(PipelineError::parquet(&path))?;
        let renames = match &self.first_stage {
            Some(dir) => crate::engine::ids::renames(dir, task, self.job.job.on_duplicate_id)?,
            None => Vec::new(),
        };
        let mut row = 0u64;
        let mut next = reader.next();
        while let Some(batch) = next {
            let batch = crate::engine::ids::apply(batch?, row, &renames)?;
            row += batch.num_rows() as u64;
            let (done, read) = rayon::join(|| f(&batch), || reader.next());
            done?;
            next = read;
        }
        Ok(())
    }

    /// Task `task`'s map-phase writer: `<work>/map-TTTTT/p-PPPPP.bin`, one per partition.
    pub fn map_writer(&self, task: usize) -> Result<spill::PartitionedWriter> {
        spill::PartitionedWriter::create(
            &self.work.join(format!("map-{task:05}")),
            "p",
            self.partitions,
        )
    }

    /// Task `t`'s map-phase file of partition `p` (what [`GlobalCtx::map_writer`] wrote).
    fn map_file(&self, t: usize, p: usize) -> PathBuf {
        self.work.join(format!("map-{t:05}/p-{p:05}.bin"))
    }

    /// The number of `size`-byte records the map phase wrote to partition `p` (from the
    /// files' lengths), to size what holds them.
    pub fn map_records(&self, p: usize, size: usize) -> Result<usize> {
        let mut n = 0u64;
        for t in 0..self.tasks() {
            let path = self.map_file(t, p);
            n += std::fs::metadata(&path)
                .map_err(PipelineError::io(&path))?
                .len()
                / size as u64;
        }
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Calls `f` on every `size`-byte record every task's map phase wrote to partition
    /// `p`, task by task; a file that is not whole records is damaged.
    pub fn for_each_map_record(
        &self,
        p: usize,
        size: usize,
        mut f: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        for t in 0..self.tasks() {
            let bytes = spill::read_file(&self.map_file(t, p))?;
            for r in spill::records(&bytes, size, "a map spill file")? {
                f(r)?;
            }
        }
        Ok(())
    }

    /// The (task, row) of a global document index.
    pub fn locate(&self, doc: u64) -> (usize, u64) {
        let task = self.offsets.partition_point(|&o| o <= doc) - 1;
        (task, doc - self.offsets[task])
    }
}

/// A stage whose decisions need the whole job.
pub trait GlobalStage: Send + Sync {
    /// Spill bytes per document, to size partitions from the memory limit.
    fn spill_bytes_per_doc(&self) -> u64;
    /// The configured memory limit of the grouping, in bytes.
    fn memory_limit(&self) -> u64;
    /// Map phase of one task.
    fn map(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()>;
    /// Reduce phase; returns counters for the stage stats log.
    fn reduce(&self, ctx: &GlobalCtx<'_>) -> Result<Vec<(String, u64)>>;
    /// A line for the job log describing the stage's settings (e.g. the LSH S-curve).
    fn describe(&self) -> Option<String> {
        None
    }
    /// The map stage that applies the decisions to task `task`.
    fn applier(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<Box<dyn MapStage>>;
}

/// Builds a job's mix stage, resolving its calibration tokenizer.
pub fn mix_stage(spec: &taojin_schemas::MixSpec, job: &crate::job::LoadedJob) -> Result<MixStage> {
    let index = job
        .spec
        .stages
        .iter()
        .position(|s| matches!(s, taojin_schemas::StageSpec::Mix(m) if m == spec))
        .unwrap_or(0);
    let tokenizer = spec.tokenizer.as_deref().map(|t| job.resolve(t));
    MixStage::new(
        spec,
        format!("stages[{index}]"),
        job.spec.job.seed,
        tokenizer.as_deref(),
    )
}

/// Number of spill partitions so that one partition of `bytes` total fits in `limit`
/// (with room for sorting), between 1 and 1024.
pub fn partitions_for(bytes: u64, limit: u64) -> usize {
    (bytes.saturating_mul(3) / limit + 1).clamp(1, 1024) as usize
}

/// Sums the per-partition counter pairs of a reduce, returning the first error.
pub fn sum_pairs(results: Vec<Result<(u64, u64)>>) -> Result<(u64, u64)> {
    results
        .into_iter()
        .try_fold((0, 0), |(a, b), r| r.map(|(x, y)| (a + x, b + y)))
}

/// Per-task decisions applied batch by batch: hands out the rows of each next batch, in
/// order, and fails loudly if the input has more rows than were decided on.
pub struct RowCursor<T> {
    rows: Vec<T>,
    next: std::sync::Mutex<usize>,
}

impl<T> RowCursor<T> {
    /// A cursor over the decisions of one task.
    pub fn new(rows: Vec<T>) -> RowCursor<T> {
        RowCursor {
            rows,
            next: std::sync::Mutex::new(0),
        }
    }

    /// The decisions of the next `n` rows.
    pub fn take(&self, n: usize) -> Result<&[T]> {
        let mut next = self
            .next
            .lock()
            .map_err(|_| PipelineError::Internal("poisoned lock".into()))?;
        let start = *next;
        *next += n;
        self.rows.get(start..start + n).ok_or_else(|| {
            PipelineError::Internal(format!(
                "decisions cover {} rows, the input has more",
                self.rows.len()
            ))
        })
    }
}
