//! `tokenize`: tokenize → pack → shuffle → shard, as a global stage.
//!
//! Map (per task): documents are assigned to `train` or `valid` by a hash of their id and
//! the job seed (a split by document, never by row), tokenized, and written with one EOS
//! after each document. Reduce: per split, the task streams are concatenated in task
//! order and cut into rows of exactly `seq_len` tokens (the last partial row is dropped
//! and counted as `remainder_tokens`), each row remembering where documents start in it;
//! rows go to seeded buckets on disk, and each bucket's rows are shuffled (their places
//! in the file, 16 bytes a row, are permuted in memory and the rows read in that order)
//! and appended to the shards — a global shuffle in memory that does not grow with the
//! rows' tokens. Apply: documents pass through with
//! `tokens.count` and `tokens.split`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Int32Array, ListArray, RecordBatch, StringArray,
    UInt16Array, UInt32Array, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use sha2::{Digest, Sha256};
use taojin_schemas::manifest::{MANIFEST_VERSION, Manifest, ShardInfo, SplitInfo, TokenizerInfo};
use taojin_schemas::{TaskStats, TokenizeSpec, columns};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::spill::{read_file, write_file};
use super::{GlobalCtx, GlobalStage};
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};
use crate::stages::MapStage;
use crate::writer::{IpcPart, Pending, create_tmp, create_tmp_dir};

const SPLITS: [&str; 2] = ["train", "valid"];

/// The folder under the job's output that the shards go to.
pub const SHARDS_DIR: &str = "shards";

/// The `tokenize` stage.
pub struct TokenizeStage {
    spec: TokenizeSpec,
    tokenizer: crate::encoder::Encoder,
    tokenizer_sha256: String,
    eos: u32,
    seed: u64,
}

impl TokenizeStage {
    /// Loads the tokenizer named by the spec (resolved by the caller; trained by the
    /// stage's setup step when `train_vocab` is set).
    pub fn new(spec: &TokenizeSpec, path: &Path, seed: u64) -> Result<TokenizeStage> {
        let bytes = fs::read(path).map_err(PipelineError::io(path))?;
        let tokenizer = crate::encoder::Encoder::from_bytes(&bytes, path)?;
        let eos = tokenizer
            .tokenizer()
            .token_to_id(&spec.eos)
            .ok_or_else(|| {
                PipelineError::Config(format!(
                    "{}: eos token `{}` is not in the vocabulary",
                    path.display(),
                    spec.eos
                ))
            })?;
        Ok(TokenizeStage {
            spec: spec.clone(),
            tokenizer,
            tokenizer_sha256: hex::encode(Sha256::digest(&bytes)),
            eos,
            seed,
        })
    }

    fn split_of(&self, id: &str) -> usize {
        let h = xxh3_64_with_seed(id.as_bytes(), self.seed) as f64 / u64::MAX as f64;
        usize::from(h < self.spec.valid_fraction)
    }

    fn wide(&self) -> bool {
        self.tokenizer.tokenizer().get_vocab_size(true) > u16::MAX as usize + 1
    }
}

/// One document as the map phase saw it.
struct DocRecord {
    split: usize,
    /// Tokens including EOS.
    tokens: u32,
    /// Times it goes into the shards (`mix.copies`, 1 without a mix).
    copies: u32,
    /// `mix.source`, else the input name.
    source: String,
}

/// Appends a document record to a per-task doc file.
fn doc_record(buf: &mut Vec<u8>, split: usize, tokens: u32, copies: u32, source: &str) {
    buf.push(split as u8);
    buf.extend_from_slice(&tokens.to_le_bytes());
    buf.extend_from_slice(&copies.to_le_bytes());
    buf.extend_from_slice(&(source.len() as u16).to_le_bytes());
    buf.extend_from_slice(source.as_bytes());
}

fn read_docs(bytes: &[u8]) -> Result<Vec<DocRecord>> {
    let bad = || super::spill::damaged("a tokenize doc file");
    let u32_at = |at: usize| -> Result<u32> {
        Ok(u32::from_le_bytes(
            bytes
                .get(at..at + 4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ))
    };
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let split = *bytes.get(at).ok_or_else(bad)? as usize;
        let tokens = u32_at(at + 1)?;
        let copies = u32_at(at + 5)?;
        let len = u16::from_le_bytes(
            bytes
                .get(at + 9..at + 11)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ) as usize;
        let source = String::from_utf8_lossy(bytes.get(at + 11..at + 11 + len).ok_or_else(bad)?)
            .into_owned();
        at += 11 + len;
        out.push(DocRecord {
            split,
            tokens,
            copies,
            source,
        });
    }
    Ok(out)
}

use taojin_schemas::rng::splitmix64 as splitmix;

/// One packed row on its way through the shuffle.
struct Row {
    id: u64,
    starts: Vec<u32>,
    tokens: Vec<u32>,
}

fn encode_row(r: &Row, out: &mut Vec<u8>) {
    out.extend_from_slice(&r.id.to_le_bytes());
    out.extend_from_slice(&(r.starts.len() as u32).to_le_bytes());
    for s in &r.starts {
        out.extend_from_slice(&s.to_le_bytes());
    }
    for t in &r.tokens {
        out.extend_from_slice(&t.to_le_bytes());
    }
}

/// The row [`encode_row`] wrote as `bytes` (exactly one row); `None` when they are not.
fn decode_row(bytes: &[u8], seq_len: usize) -> Option<Row> {
    let u32s = |b: &[u8]| -> Vec<u32> {
        b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let id = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let n = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize;
    let tokens_at = 12 + 4 * n;
    if bytes.len() != tokens_at + 4 * seq_len {
        return None;
    }
    Some(Row {
        id,
        starts: u32s(&bytes[12..tokens_at]),
        tokens: u32s(&bytes[tokens_at..]),
    })
}

/// Writes shards of one split, rotating files every `rows_per_shard` rows.
struct ShardSink<'a> {
    dir: &'a Path,
    split: &'static str,
    seq_len: usize,
    wide: bool,
    rows_per_shard: usize,
    schema: SchemaRef,
    current: Option<(IpcPart, String, u64)>,
    pending: Vec<Row>,
    done: Vec<ShardInfo>,
}

impl ShardSink<'_> {
    fn push(&mut self, row: Row) -> Result<()> {
        self.pending.push(row);
        let in_file = self.current.as_ref().map_or(0, |c| c.2) as usize;
        if self.pending.len() >= 1024 || in_file + self.pending.len() >= self.rows_per_shard {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.current.is_none() {
            let file = format!("{}-{:05}.arrow", self.split, self.done.len());
            self.current = Some((
                IpcPart::create(&self.dir.join(&file), &self.schema)?,
                file,
                0,
            ));
        }
        let rows = std::mem::take(&mut self.pending);
        let flat: Vec<u32> = rows.iter().flat_map(|r| r.tokens.iter().copied()).collect();
        let values: ArrayRef = if self.wide {
            Arc::new(UInt32Array::from(flat))
        } else {
            Arc::new(UInt16Array::from_iter_values(
                flat.iter().map(|&t| t as u16),
            ))
        };
        let item = Arc::new(Field::new("item", values.data_type().clone(), false));
        let tokens = FixedSizeListArray::try_new(item, self.seq_len as i32, values, None)?;
        let starts_values =
            UInt32Array::from_iter_values(rows.iter().flat_map(|r| r.starts.iter().copied()));
        let offsets = OffsetBuffer::from_lengths(rows.iter().map(|r| r.starts.len()));
        let starts = ListArray::try_new(
            Arc::new(Field::new("item", DataType::UInt32, false)),
            offsets,
            Arc::new(starts_values),
            None,
        )?;
        let ids = UInt64Array::from_iter_values(rows.iter().map(|r| r.id));
        let batch = RecordBatch::try_new(
            self.schema.clone(),
            vec![Arc::new(tokens), Arc::new(starts), Arc::new(ids)],
        )?;
        if let Some((part, _, n)) = self.current.as_mut() {
            part.write(&batch)?;
            *n += rows.len() as u64;
            if *n as usize >= self.rows_per_shard {
                self.close()?;
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some((part, file, rows)) = self.current.take() {
            part.finish()?.commit()?;
            let sha = crate::digest::sha256_file(&self.dir.join(&file))?;
            self.done.push(ShardInfo {
                file,
                split: self.split.into(),
                rows,
                tokens: rows * self.seq_len as u64,
                sha256: sha,
            });
        }
        Ok(())
    }
}

/// Schema of a shard file.
pub fn shard_schema(seq_len: usize, wide: bool) -> SchemaRef {
    let dt = if wide {
        DataType::UInt32
    } else {
        DataType::UInt16
    };
    Arc::new(Schema::new(vec![
        Field::new(
            "tokens",
            DataType::FixedSizeList(Arc::new(Field::new("item", dt, false)), seq_len as i32),
            false,
        ),
        Field::new(
            "doc_starts",
            DataType::List(Arc::new(Field::new("item", DataType::UInt32, false))),
            false,
        ),
        Field::new("row_id", DataType::UInt64, false),
    ]))
}

impl GlobalStage for TokenizeStage {
    fn spill_bytes_per_doc(&self) -> u64 {
        4096
    }

    fn memory_limit(&self) -> u64 {
        self.spec.memory_limit.bytes().max(1)
    }

    fn map(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()> {
        let open = |split: &str| -> Result<(BufWriter<File>, Pending)> {
            let (f, pending) = create_tmp(&ctx.work.join(format!("tokens-{task:05}-{split}.bin")))?;
            Ok((BufWriter::new(f), pending))
        };
        let mut outs = [open(SPLITS[0])?, open(SPLITS[1])?];
        let mut docs = Vec::new();
        ctx.for_each_batch(task, |batch| {
            let text = text_column(batch)?;
            let ids = batch
                .column_by_name(columns::ID)
                .and_then(|c| c.as_string_opt::<i32>());
            let sources = batch
                .column_by_name(columns::SOURCE)
                .and_then(|c| c.as_string_opt::<i32>());
            let (Some(ids), Some(sources)) = (ids, sources) else {
                return Err(PipelineError::Internal("batch without id/source".into()));
            };
            let (copies, mix_sources) = super::mix_plan::batch_mix(batch);
            let texts: Vec<&str> = (0..batch.num_rows()).map(|i| text.value(i)).collect();
            let encodings = self.tokenizer.encode_batch(&texts)?;
            for (i, enc) in encodings.iter().enumerate() {
                let split = self.split_of(ids.value(i));
                let (w, path) = &mut outs[split];
                let mut bytes = Vec::with_capacity(4 * (enc.len() + 1));
                for t in enc.iter().chain(std::iter::once(&self.eos)) {
                    bytes.extend_from_slice(&t.to_le_bytes());
                }
                w.write_all(&bytes).map_err(PipelineError::io(path.tmp()))?;
                let source = match mix_sources {
                    Some(m) if m.is_valid(i) => m.value(i),
                    _ => sources.value(i),
                };
                doc_record(
                    &mut docs,
                    split,
                    enc.len() as u32 + 1,
                    copies.map_or(1, |c| u32::try_from(c.value(i)).unwrap_or(0)),
                    source,
                );
            }
            Ok(())
        })?;
        for (w, pending) in outs {
            let f = w.into_inner().map_err(|e| PipelineError::Io {
                path: pending.tmp().to_path_buf(),
                source: e.into_error(),
            })?;
            f.sync_data().map_err(PipelineError::io(pending.tmp()))?;
            drop(f);
            pending.commit()?;
        }
        write_file(&ctx.work.join(format!("docs-{task:05}.bin")), &docs)
    }

    fn reduce(&self, ctx: &GlobalCtx<'_>) -> Result<Vec<(String, u64)>> {
        let seq_len = self.spec.seq_len;
        let wide = self.wide();
        let final_dir = ctx.output.join(SHARDS_DIR);
        let dir = create_tmp_dir(&final_dir)?;
        let row_bytes = seq_len * if wide { 4 } else { 2 };
        let rows_per_shard = (self.spec.shard_bytes.bytes() as usize / row_bytes).max(1);
        let schema = shard_schema(seq_len, wide);
        let mut shards = Vec::new();
        let mut splits = BTreeMap::new();
        let mut counters = Vec::new();
        for (s, split) in SPLITS.iter().enumerate() {
            let mut info = SplitInfo::default();
            let mut total = 0u64;
            let mut passes = 0u32;
            let mut once: BTreeMap<String, u64> = BTreeMap::new();
            for t in 0..ctx.tasks() {
                for d in read_docs(&read_file(&ctx.work.join(format!("docs-{t:05}.bin")))?)? {
                    if d.split == s {
                        let n = u64::from(d.tokens) * u64::from(d.copies);
                        passes = passes.max(d.copies);
                        info.documents += 1;
                        info.document_tokens += n;
                        total += n;
                        *info.tokens_per_source.entry(d.source.clone()).or_default() += n;
                        *once.entry(d.source.clone()).or_default() += u64::from(d.tokens);
                        *info.documents_per_source.entry(d.source).or_default() += 1;
                    }
                }
            }
            for (src, n) in &info.tokens_per_source {
                let base = once.get(src).copied().unwrap_or(0).max(1);
                info.epochs_per_source
                    .insert(src.clone(), *n as f64 / base as f64);
            }
            // Pack into rows, spreading rows over seeded buckets on disk.
            let buckets = ((total * 4 * 2) / self.memory_limit() + 1).clamp(1, 4096) as usize;
            let bucket_paths: Vec<PathBuf> = (0..buckets)
                .map(|b| ctx.work.join(format!("rows-{split}-{b:05}.bin")))
                .collect();
            let mut writers = Vec::with_capacity(buckets);
            for p in &bucket_paths {
                writers.push(BufWriter::new(
                    File::create(p).map_err(PipelineError::io(p))?,
                ));
            }
            let mut row = Row {
                id: 0,
                starts: Vec::new(),
                tokens: Vec::with_capacity(seq_len),
            };
            let mut encoded = Vec::new();
            let mut doc = Vec::new();
            // Pass k packs the documents with more than k copies, so the repeats of an
            // up-sampled source are spread over the stream rather than back to back.
            for pass in 0..passes {
                for t in 0..ctx.tasks() {
                    let docs = read_docs(&read_file(&ctx.work.join(format!("docs-{t:05}.bin")))?)?;
                    // The task's tokens are streamed, a document at a time: memory does
                    // not grow with the task.
                    let name = format!("tokens-{t:05}-{split}.bin");
                    let path = ctx.work.join(&name);
                    let mut tokens =
                        BufReader::new(File::open(&path).map_err(PipelineError::io(&path))?);
                    for d in docs.iter().filter(|d| d.split == s) {
                        let n = d.tokens as usize;
                        if d.copies <= pass {
                            tokens
                                .seek_relative(4 * n as i64)
                                .map_err(PipelineError::io(&path))?;
                            continue;
                        }
                        doc.resize(4 * n, 0);
                        tokens
                            .read_exact(&mut doc)
                            .map_err(read_error(&name, &path))?;
                        for (k, c) in doc.chunks_exact(4).enumerate() {
                            if k == 0 {
                                row.starts.push(row.tokens.len() as u32);
                            }
                            row.tokens
                                .push(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                            if row.tokens.len() == seq_len {
                                let b = (splitmix(self.seed ^ splitmix(row.id ^ (s as u64) << 63))
                                    % buckets as u64)
                                    as usize;
                                encoded.clear();
                                encode_row(&row, &mut encoded);
                                writers[b]
                                    .write_all(&encoded)
                                    .map_err(PipelineError::io(&bucket_paths[b]))?;
                                info.rows += 1;
                                row = Row {
                                    id: row.id + 1,
                                    starts: Vec::new(),
                                    tokens: Vec::with_capacity(seq_len),
                                };
                            }
                        }
                    }
                }
            }
            info.remainder_tokens = row.tokens.len() as u64;
            info.row_tokens = info.rows * seq_len as u64;
            if *split == "train" && info.rows == 0 {
                return Err(PipelineError::Config(format!(
                    "tokenize: the train split has {} tokens, fewer than one row of seq_len = {seq_len}: no shard could be written; lower seq_len or add data",
                    info.remainder_tokens
                )));
            }
            for (w, p) in writers.into_iter().zip(&bucket_paths) {
                w.into_inner().map_err(|e| PipelineError::Io {
                    path: p.clone(),
                    source: e.into_error(),
                })?;
            }
            let mut sink = ShardSink {
                dir: &dir,
                split,
                seq_len,
                wide,
                rows_per_shard,
                schema: schema.clone(),
                current: None,
                pending: Vec::new(),
                done: Vec::new(),
            };
            for (b, p) in bucket_paths.iter().enumerate() {
                // The shuffle permutes where the rows lie (16 bytes a row of this bucket),
                // not the rows themselves.
                let file = File::open(p).map_err(PipelineError::io(p))?;
                let name = format!("rows-{split}-{b:05}.bin");
                let mut rows = row_places(&file, seq_len).map_err(read_error(&name, p))?;
                // Fisher–Yates with a stream seeded by (seed, split, bucket).
                let mut state = splitmix(self.seed ^ ((s as u64) << 32) ^ b as u64);
                for i in (1..rows.len()).rev() {
                    state = splitmix(state);
                    rows.swap(i, (state % (i as u64 + 1)) as usize);
                }
                // Each row is read where it lies, in the shuffled order (the bucket, at most
                // half of `memory_limit`, was just written: its pages are most likely
                // still cached).
                let mut bytes = Vec::new();
                for (at, len) in rows {
                    bytes.resize(len as usize, 0);
                    file.read_exact_at(&mut bytes, at)
                        .map_err(read_error(&name, p))?;
                    let row =
                        decode_row(&bytes, seq_len).ok_or_else(|| super::spill::damaged(&name))?;
                    sink.push(row)?;
                }
                drop(file);
                fs::remove_file(p).map_err(PipelineError::io(p))?;
            }
            sink.flush()?;
            sink.close()?;
            counters.push((format!("{split}_rows"), info.rows));
            counters.push((format!("{split}_remainder_tokens"), info.remainder_tokens));
            shards.extend(sink.done);
            splits.insert(split.to_string(), info);
        }
        let manifest = Manifest {
            format_version: MANIFEST_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            job_hash: ctx.hash.clone(),
            seed: self.seed,
            tokenizer: TokenizerInfo {
                path: self.spec.tokenizer.clone(),
                sha256: self.tokenizer_sha256.clone(),
                vocab_size: self.tokenizer.tokenizer().get_vocab_size(true),
                eos_id: self.eos,
                bos_id: ["<|startoftext|>", "<s>"]
                    .iter()
                    .find_map(|t| self.tokenizer.tokenizer().token_to_id(t)),
            },
            seq_len,
            dtype: if wide { "uint32" } else { "uint16" }.into(),
            shards,
            mix: realized_mix(&ctx.prev_dir, &splits)?,
            splits,
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_file(&dir.join("manifest.json"), &json)?;
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(PipelineError::io(&final_dir))?;
        }
        fs::rename(&dir, &final_dir).map_err(PipelineError::io(&final_dir))?;
        Ok(counters)
    }

    fn applier(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<Box<dyn MapStage>> {
        let docs = read_docs(&read_file(&ctx.work.join(format!("docs-{task:05}.bin")))?)?;
        Ok(Box::new(TokenCounts {
            docs: super::RowCursor::new(docs.into_iter().map(|d| (d.split, d.tokens)).collect()),
        }))
    }
}

/// The plan of a mix stage right before, completed with what reached the shards.
fn realized_mix(
    prev_dir: &Path,
    splits: &BTreeMap<String, SplitInfo>,
) -> Result<Option<taojin_schemas::manifest::MixPlan>> {
    let Some(mut plan) = super::mix_plan::read_plan(prev_dir)? else {
        return Ok(None);
    };
    for src in &mut plan.sources {
        src.tokens_realized = Some(
            splits
                .values()
                .filter_map(|i| i.tokens_per_source.get(&src.name))
                .sum(),
        );
        src.documents_realized = Some(
            splits
                .values()
                .filter_map(|i| i.documents_per_source.get(&src.name))
                .sum(),
        );
    }
    Ok(Some(plan))
}

/// Adds `tokens.count` and `tokens.split` to the documents.
struct TokenCounts {
    docs: super::RowCursor<(usize, u32)>,
}

fn count_fields() -> [Field; 2] {
    [
        Field::new("tokens.count", DataType::Int32, true),
        Field::new("tokens.split", DataType::Utf8, true),
    ]
}

impl MapStage for TokenCounts {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &count_fields())
    }

    fn process(&self, batch: &RecordBatch, _stats: &mut TaskStats) -> Result<Processed> {
        let n = batch.num_rows();
        let rows = self.docs.take(n)?;
        let counts: ArrayRef = Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|r| r.1 as i32),
        ));
        let splits: ArrayRef = Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| SPLITS[r.0]),
        ));
        let batch = with_columns(batch, &count_fields(), vec![counts, splits])?;
        partition(&batch, &vec![None; n])
    }
}

/// The `tokenize` kind in the stage registry: trains its tokenizer in a `:setup` step
/// when `train_vocab` is set and the file does not exist, and writes `shards/`.
pub struct Kind;

impl crate::registry::StageKind<TokenizeSpec> for Kind {
    fn is_global(&self, _spec: &TokenizeSpec) -> bool {
        true
    }

    fn apply_needs_reduce(&self, _spec: &TokenizeSpec) -> bool {
        // The apply writes each document's token count from the map's records.
        false
    }

    fn has_setup(&self, spec: &TokenizeSpec) -> bool {
        spec.train_vocab.is_some()
    }

    fn setup(&self, spec: &TokenizeSpec, job: &crate::job::LoadedJob, prev: &Path) -> Result<()> {
        let path = job.resolve(&spec.tokenizer);
        if let (false, Some(vocab)) = (path.exists(), spec.train_vocab) {
            tracing::info!(tokenizer = %path.display(), vocab, "training the tokenizer on the documents entering the stage");
            let texts = crate::texts::stage_text_sample(prev, spec.train_bytes.bytes())?;
            let bytes: usize = texts.iter().map(String::len).sum();
            tracing::info!(
                docs = texts.len(),
                bytes,
                train_bytes = spec.train_bytes.bytes(),
                "tokenizer training sample"
            );
            crate::tokenizer_train::train(texts, vocab, &path)?;
        }
        Ok(())
    }

    fn files(&self, spec: &TokenizeSpec, job: &crate::job::LoadedJob) -> Vec<(String, PathBuf)> {
        vec![("tokenizer".into(), job.resolve(&spec.tokenizer))]
    }

    fn extra_outputs(&self, _spec: &TokenizeSpec) -> &'static [&'static str] {
        &[SHARDS_DIR]
    }

    fn build(
        &self,
        spec: &TokenizeSpec,
        job: &crate::job::LoadedJob,
        _prev: Option<&Path>,
    ) -> Result<crate::registry::Built> {
        let path = job.resolve(&spec.tokenizer);
        let stage = TokenizeStage::new(spec, &path, job.spec.job.seed)?;
        Ok(crate::registry::Built::Global(Box::new(stage)))
    }
}

/// Where each row of a bucket file lies, (offset, length), from the rows' headers; a file
/// that does not end at a row's end is `UnexpectedEof`.
fn row_places(file: &File, seq_len: usize) -> std::io::Result<Vec<(u64, u64)>> {
    let len = file.metadata()?.len();
    let mut places = Vec::new();
    let mut header = [0u8; 12];
    let mut at = 0u64;
    while at < len {
        file.read_exact_at(&mut header, at)?;
        let starts = u64::from(u32::from_le_bytes([
            header[8], header[9], header[10], header[11],
        ]));
        let row = 12 + 4 * starts + 4 * seq_len as u64;
        if at + row > len {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        places.push((at, row));
        at += row;
    }
    Ok(places)
}

/// A read error of `_work` file `name` at `path`: a file that ends early is damaged.
fn read_error<'a>(name: &'a str, path: &'a Path) -> impl Fn(std::io::Error) -> PipelineError + 'a {
    move |e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => super::spill::damaged(name),
        _ => PipelineError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_decodes_to_what_was_encoded_and_a_cut_row_to_nothing() {
        let row = Row {
            id: 7,
            starts: vec![0, 3],
            tokens: vec![1, 2, 3, 4, 5, 6],
        };
        let mut bytes = Vec::new();
        encode_row(&row, &mut bytes);
        let back = decode_row(&bytes, 6).expect("one whole row");
        assert_eq!(
            (back.id, back.starts, back.tokens),
            (7, row.starts, row.tokens)
        );
        for cut in 0..bytes.len() {
            assert!(decode_row(&bytes[..cut], 6).is_none(), "cut at {cut}");
        }
        assert!(decode_row(&bytes, 5).is_none(), "another seq_len");
    }

    #[test]
    fn row_places_follow_the_headers_and_a_cut_file_is_eof() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("rows.bin");
        let mut bytes = Vec::new();
        for (id, starts) in [(0u64, vec![0u32]), (1, vec![]), (2, vec![0, 1, 2])] {
            let row = Row {
                id,
                starts,
                tokens: vec![9; 4],
            };
            encode_row(&row, &mut bytes);
        }
        std::fs::write(&path, &bytes).expect("write");
        let places = row_places(&File::open(&path).expect("open"), 4).expect("places");
        assert_eq!(places, vec![(0, 32), (32, 28), (60, 40)]);
        std::fs::write(&path, &bytes[..bytes.len() - 1]).expect("write");
        let cut = row_places(&File::open(&path).expect("open"), 4);
        assert!(cut.is_err_and(|e| e.kind() == std::io::ErrorKind::UnexpectedEof));
    }
}
