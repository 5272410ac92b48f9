//! Exact and MinHash deduplication as one global stage: documents are keyed (the exact
//! matching-key hash, or one key per LSH band), equal keys become edges, and connected
//! components (`components.rs`: in memory, or partitioned beyond `memory_limit`) turn
//! edges into components. An exact component is a cluster; a MinHash component is one
//! cluster only without `verify` (it may chain), and with it is split by leader clustering
//! (`leaders.rs`). One survivor per cluster is chosen by a deterministic rule.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Float64Type, SchemaRef};
use rayon::prelude::*;
use taojin_dedup::exact::exact_key_hash;
use taojin_dedup::{MinHasher, ShingleConfig, shingle_hashes};
use taojin_schemas::{
    ExactDedupSpec, MinhashDedupSpec, StageMode, SurvivorRule, TaskStats, columns,
};
use xxhash_rust::xxh3::xxh3_64;

use super::spill::{
    KEY_DOC, PartitionedWriter, SharedWriter, SpillFile, TaskGroups, damaged, key_doc, key_doc_of,
    partition_of, read_file, records, u32_at, u64_at, write_file,
};
use super::{GlobalCtx, GlobalStage, components, leaders};
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};
use crate::stages::MapStage;

/// How documents are keyed.
pub enum ClusterKind {
    /// One key: the 128-bit hash of the matching key.
    Exact,
    /// One key per LSH band.
    Minhash {
        /// Signature and band computation.
        hasher: MinHasher,
        /// Shingling.
        shingles: ShingleConfig,
        /// Split candidate components by exact Jaccard to their survivors.
        verify: bool,
        /// Jaccard a member needs to its survivor under `verify`.
        threshold: f64,
    },
}

/// `exact_dedup` or `minhash_dedup`.
pub struct ClusterStage {
    kind: ClusterKind,
    mode: StageMode,
    keep: SurvivorRule,
    limit: u64,
    reason: &'static str,
    cluster_col: &'static str,
    size_col: &'static str,
}

impl ClusterStage {
    /// The `exact_dedup` stage.
    pub fn exact(spec: &ExactDedupSpec) -> ClusterStage {
        ClusterStage {
            kind: ClusterKind::Exact,
            mode: spec.mode,
            keep: spec.keep.clone(),
            limit: spec.memory_limit.bytes().max(1),
            reason: "exact_dup",
            cluster_col: "exact_dup.cluster",
            size_col: "exact_dup.cluster_size",
        }
    }

    /// The `minhash_dedup` stage; the permutation seed is fixed so signatures are stable.
    pub fn minhash(spec: &MinhashDedupSpec) -> ClusterStage {
        let (bands, rows) = spec.bands_rows();
        ClusterStage {
            kind: ClusterKind::Minhash {
                hasher: MinHasher::new(bands, rows, 0x7A0_71E5),
                shingles: ShingleConfig {
                    n_latin: spec.ngram_latin,
                    n_han: spec.ngram_han,
                    max_tokens: spec.max_tokens,
                },
                verify: spec.verify,
                threshold: spec.threshold,
            },
            mode: spec.mode,
            keep: spec.keep.clone(),
            limit: spec.memory_limit.bytes().max(1),
            reason: "near_dup",
            cluster_col: columns::DUP_CLUSTER,
            size_col: columns::DUP_CLUSTER_SIZE,
        }
    }

    /// Writes task `task`'s map output from given `(id, text length, keys)` instead of
    /// text, so the reduce can be measured at scales where shingling would dominate
    /// (`examples/synthetic_reduce.rs`, the README's capacity plan). Not with `verify`,
    /// which needs shingle sets.
    pub fn map_keys(
        &self,
        ctx: &GlobalCtx<'_>,
        task: usize,
        docs: impl IntoIterator<Item = (String, usize, Vec<u128>)>,
    ) -> Result<()> {
        if self.verify() {
            return Err(PipelineError::Config(
                "map_keys needs verify = false: verify compares shingle sets".into(),
            ));
        }
        let mut out = MapOut::create(ctx, task)?;
        for (id, len, keys) in docs {
            out.push(&id, len, 0.0, &keys)?;
        }
        out.finish(ctx, task)
    }

    fn verify(&self) -> bool {
        matches!(self.kind, ClusterKind::Minhash { verify: true, .. })
    }

    /// The keys of one document (and its shingles when verifying).
    fn keys(&self, text: &str) -> (Vec<u128>, Vec<u64>) {
        match &self.kind {
            ClusterKind::Exact => (vec![exact_key_hash(text)], Vec::new()),
            ClusterKind::Minhash {
                hasher,
                shingles,
                verify,
                ..
            } => {
                let (mut tokens, mut set, mut sig, mut bands) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                shingle_hashes(text, shingles, &mut tokens, &mut set);
                hasher.signature(&set, &mut sig);
                hasher.band_keys(&sig, &mut bands);
                let keys = bands.into_iter().map(u128::from).collect();
                (keys, if *verify { set } else { Vec::new() })
            }
        }
    }
}

/// One task's map output: keyed records by partition, and survivor facts in row order.
struct MapOut {
    writer: PartitionedWriter,
    meta: Vec<u8>,
    doc: u64,
    partitions: usize,
}

impl MapOut {
    fn create(ctx: &GlobalCtx<'_>, task: usize) -> Result<MapOut> {
        Ok(MapOut {
            writer: ctx.map_writer(task)?,
            meta: Vec::new(),
            doc: ctx.offsets[task],
            partitions: ctx.partitions,
        })
    }

    /// The next document of the task.
    fn push(&mut self, id: &str, len: usize, score: f64, keys: &[u128]) -> Result<()> {
        let d = u32::try_from(self.doc).map_err(|_| {
            PipelineError::Config("more than 4,294,967,295 documents in one dedup stage".into())
        })?;
        for &key in keys {
            self.writer
                .write(partition_of(key, self.partitions), &key_doc(key, d))?;
        }
        push_meta(&mut self.meta, id, len, score);
        self.doc += 1;
        Ok(())
    }

    fn finish(self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()> {
        self.writer.finish()?;
        write_file(&ctx.work.join(format!("meta-{task:05}.bin")), &self.meta)
    }
}

/// Per-document facts the survivor rule needs: `[id len u32][id][text len u32][score f64]`.
fn push_meta(buf: &mut Vec<u8>, id: &str, len: usize, score: f64) {
    buf.extend_from_slice(&(id.len() as u32).to_le_bytes());
    buf.extend_from_slice(id.as_bytes());
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.extend_from_slice(&score.to_le_bytes());
}

/// The facts of one document the survivor rule compares.
pub(super) struct Meta<'a> {
    pub(super) id: &'a str,
    pub(super) len: u32,
    pub(super) score: f64,
}

/// What the reduce decided for one clustered document.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decision {
    /// Hash of the survivor's id.
    pub(super) cluster: u64,
    /// Members of the cluster.
    pub(super) size: u32,
    /// This document is the survivor.
    pub(super) keep: bool,
}

/// Parses a task's meta file.
pub(super) fn read_meta(bytes: &[u8]) -> Result<Vec<Meta<'_>>> {
    let bad = || super::spill::damaged("a dedup meta file");
    let mut out = Vec::new();
    let mut at = 0;
    let u32_at = |at: usize| -> Result<u32> {
        Ok(u32::from_le_bytes(
            bytes
                .get(at..at + 4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ))
    };
    while at < bytes.len() {
        let n = u32_at(at)? as usize;
        let id = std::str::from_utf8(bytes.get(at + 4..at + 4 + n).ok_or_else(bad)?)
            .map_err(|_| bad())?;
        at += 4 + n;
        let len = u32_at(at)?;
        let score = f64::from_le_bytes(
            bytes
                .get(at + 4..at + 12)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        );
        at += 12;
        out.push(Meta { id, len, score });
    }
    Ok(out)
}

/// True when `a` should survive over `b` under `rule` (ties: smallest id).
fn better(rule: &SurvivorRule, a: &Meta<'_>, b: &Meta<'_>) -> bool {
    let by_id = a.id < b.id;
    match rule {
        SurvivorRule::SmallestId => by_id,
        SurvivorRule::Longest => a.len > b.len || (a.len == b.len && by_id),
        SurvivorRule::Highest(_) => {
            let (x, y) = (
                if a.score.is_nan() {
                    f64::NEG_INFINITY
                } else {
                    a.score
                },
                if b.score.is_nan() {
                    f64::NEG_INFINITY
                } else {
                    b.score
                },
            );
            x > y || (x == y && by_id)
        }
    }
}

/// Survivor order, best first: the order leader clustering visits a component in.
pub(super) fn survivor_order(
    rule: &SurvivorRule,
    a: &Meta<'_>,
    b: &Meta<'_>,
) -> std::cmp::Ordering {
    if better(rule, a, b) {
        std::cmp::Ordering::Less
    } else if better(rule, b, a) {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

/// A clustered document in its component's partition: (root, doc, facts).
pub(super) type Member<'a> = (u32, u32, Meta<'a>);

const MEMBERS: &str = "a dedup component file";

/// Parses a component partition's members: `[root][doc][len][score][id len][id]`.
fn read_members(bytes: &[u8]) -> Result<Vec<Member<'_>>> {
    let mut members = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let root = u32_at(bytes, at, MEMBERS)?;
        let doc = u32_at(bytes, at + 4, MEMBERS)?;
        let len = u32_at(bytes, at + 8, MEMBERS)?;
        let score = f64::from_bits(u64_at(bytes, at + 12, MEMBERS)?);
        let n = u32_at(bytes, at + 20, MEMBERS)? as usize;
        let id = bytes
            .get(at + 24..at + 24 + n)
            .and_then(|s| std::str::from_utf8(s).ok())
            .ok_or_else(|| damaged(MEMBERS))?;
        members.push((root, doc, Meta { id, len, score }));
        at += 24 + n;
    }
    Ok(members)
}

/// Writes every clustered document's facts to its component's partition, from the
/// per-task labels and meta files (tasks in parallel).
fn route_members(ctx: &GlobalCtx<'_>) -> Result<()> {
    let w = SharedWriter::create(&ctx.work.join("components"), "m", ctx.partitions)?;
    let results: Vec<Result<()>> = ctx.pool.install(|| {
        (0..ctx.tasks())
            .into_par_iter()
            .map(|t| {
                let labels = components::read_labels(&components::labels_path(&ctx.work, t))?;
                let bytes = read_file(&ctx.work.join(format!("meta-{t:05}.bin")))?;
                let meta = read_meta(&bytes)?;
                let mut out = w.local();
                for (doc, root, _) in labels {
                    let m = u64::from(doc)
                        .checked_sub(ctx.offsets[t])
                        .and_then(|row| usize::try_from(row).ok())
                        .and_then(|row| meta.get(row))
                        .ok_or_else(|| damaged("a dedup label file"))?;
                    let mut rec = Vec::with_capacity(24 + m.id.len());
                    rec.extend_from_slice(&root.to_le_bytes());
                    rec.extend_from_slice(&doc.to_le_bytes());
                    rec.extend_from_slice(&m.len.to_le_bytes());
                    rec.extend_from_slice(&m.score.to_le_bytes());
                    rec.extend_from_slice(&(m.id.len() as u32).to_le_bytes());
                    rec.extend_from_slice(m.id.as_bytes());
                    out.write(partition_of(u128::from(root), ctx.partitions), &rec)?;
                }
                out.flush()
            })
            .collect()
    });
    results.into_iter().collect::<Result<()>>()?;
    w.finish()
}

/// A routed decision: `[doc u32][cluster u64][size u32][keep u8]`.
const DECIDED: usize = 17;

fn decision_record(doc: u32, d: &Decision) -> [u8; DECIDED] {
    let mut r = [0u8; DECIDED];
    r[..4].copy_from_slice(&doc.to_le_bytes());
    r[4..12].copy_from_slice(&d.cluster.to_le_bytes());
    r[12..16].copy_from_slice(&d.size.to_le_bytes());
    r[16] = d.keep as u8;
    r
}

/// The dense decision files of group `g`'s tasks (a singleton is its own cluster);
/// returns (removed, clustered, clusters).
fn write_decisions(ctx: &GlobalCtx<'_>, groups: &TaskGroups, g: usize) -> Result<[u64; 3]> {
    let bytes = read_file(&ctx.work.join(format!("decided/g-{g:05}.bin")))?;
    let mut decided: Vec<&[u8]> = records(&bytes, DECIDED, "a dedup decision file")?.collect();
    decided.sort_unstable_by_key(|r| u32_at(r, 0, "").unwrap_or(0));
    let mut next = decided.iter().peekable();
    let [mut removed, mut clustered, mut clusters] = [0u64; 3];
    for t in groups.tasks(g).0 {
        let bytes = read_file(&ctx.work.join(format!("meta-{t:05}.bin")))?;
        let meta = read_meta(&bytes)?;
        let mut out = Vec::with_capacity(meta.len() * 13);
        for (row, m) in meta.iter().enumerate() {
            let doc = (ctx.offsets[t] + row as u64) as u32;
            let mut d = Decision {
                cluster: xxh3_64(m.id.as_bytes()),
                size: 1,
                keep: true,
            };
            if let Some(r) = next.next_if(|r| u32_at(r, 0, "").is_ok_and(|x| x == doc)) {
                let size = u32_at(r, 12, "")?;
                if size > 1 {
                    d = Decision {
                        cluster: u64_at(r, 4, "")?,
                        size,
                        keep: r[16] == 1,
                    };
                }
            }
            clustered += u64::from(d.size > 1);
            clusters += u64::from(d.size > 1 && d.keep);
            removed += u64::from(!d.keep);
            out.extend_from_slice(&d.cluster.to_le_bytes());
            out.extend_from_slice(&d.size.to_le_bytes());
            out.push(d.keep as u8);
        }
        write_file(&ctx.work.join(format!("decisions-{t:05}.bin")), &out)?;
    }
    if next.next().is_some() {
        return Err(damaged("a dedup decision file"));
    }
    Ok([removed, clustered, clusters])
}

/// Random access to the shingle sets the map phase stored (for `verify`): two small
/// reads per set (its offsets, then its hashes), at most [`OPEN_TASKS`] tasks' files
/// open at once, and nothing held per document.
pub(super) struct ShingleStore<'a> {
    ctx: &'a GlobalCtx<'a>,
    files: HashMap<usize, (File, File)>,
}

/// Tasks whose shingle files one store keeps open.
const OPEN_TASKS: usize = 64;

const SHINGLES: &str = "a dedup shingle file";

impl<'a> ShingleStore<'a> {
    /// A store reading the map phase's shingle files.
    pub(super) fn new(ctx: &'a GlobalCtx<'a>) -> ShingleStore<'a> {
        ShingleStore {
            ctx,
            files: HashMap::new(),
        }
    }

    /// The sorted shingle set of global document `doc`.
    pub(super) fn get(&mut self, doc: u32) -> Result<Vec<u64>> {
        let (task, row) = self.ctx.locate(u64::from(doc));
        if !self.files.contains_key(&task) {
            if self.files.len() >= OPEN_TASKS {
                self.files.clear();
            }
            let open = |ext: &str| {
                let path = self.ctx.work.join(format!("shingles-{task:05}.{ext}"));
                File::open(&path).map_err(PipelineError::io(&path))
            };
            self.files.insert(task, (open("bin")?, open("idx")?));
        }
        let Some((data, idx)) = self.files.get_mut(&task) else {
            return Err(damaged(SHINGLES));
        };
        let mut span = [0u8; 16];
        read_at(idx, row * 8, &mut span)?;
        let (start, end) = (u64_at(&span, 0, SHINGLES)?, u64_at(&span, 8, SHINGLES)?);
        let n = end
            .checked_sub(start)
            .and_then(|n| usize::try_from(n * 8).ok())
            .ok_or_else(|| damaged(SHINGLES))?;
        let mut bytes = vec![0u8; n];
        read_at(data, start * 8, &mut bytes)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
}

/// Fills `buf` from `file` at `offset`; a short file is damaged.
fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> Result<()> {
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(buf))
        .map_err(|_| damaged(SHINGLES))
}

impl GlobalStage for ClusterStage {
    fn spill_bytes_per_doc(&self) -> u64 {
        let keys = match &self.kind {
            ClusterKind::Exact => 1,
            ClusterKind::Minhash { hasher, .. } => hasher.bands() as u64,
        };
        keys * KEY_DOC as u64
    }

    fn memory_limit(&self) -> u64 {
        self.limit
    }

    fn describe(&self) -> Option<String> {
        let ClusterKind::Minhash {
            hasher, shingles, ..
        } = &self.kind
        else {
            return None;
        };
        let (b, r) = (hasher.bands(), hasher.num_perm() / hasher.bands());
        let curve: Vec<String> = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
            .iter()
            .map(|s| format!("P({s})={:.3}", taojin_dedup::match_probability(*s, b, r)))
            .collect();
        Some(format!(
            "{b} bands x {r} rows, shingles {} words / {} ideographs; S-curve midpoint {:.3}; {}",
            shingles.n_latin,
            shingles.n_han,
            taojin_dedup::implied_threshold(b, r),
            curve.join(" ")
        ))
    }

    fn map(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()> {
        let mut out = MapOut::create(ctx, task)?;
        // Each document's shingle set (for `verify`) goes to disk as it is made, with its
        // end offset in the index: memory does not grow with the task.
        let mut shingles = match self.verify() {
            true => {
                let file = |ext: &str| {
                    SpillFile::create(&ctx.work.join(format!("shingles-{task:05}.{ext}")))
                };
                let (data, mut idx) = (file("bin")?, file("idx")?);
                idx.write(&0u64.to_le_bytes())?;
                Some((data, idx, 0u64))
            }
            false => None,
        };
        ctx.for_each_batch(task, |batch| {
            let text = text_column(batch)?;
            let ids = batch
                .column_by_name(columns::ID)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| PipelineError::Internal("batch without `id`".into()))?;
            let scores = match &self.keep {
                SurvivorRule::Highest(col) => {
                    let c = batch.column_by_name(col).ok_or_else(|| {
                        PipelineError::Config(format!(
                            "keep = \"highest:{col}\": no column `{col}` before this stage"
                        ))
                    })?;
                    Some(arrow::compute::cast(c, &DataType::Float64)?)
                }
                _ => None,
            };
            let keyed: Vec<(Vec<u128>, Vec<u64>)> = (0..batch.num_rows())
                .into_par_iter()
                .map(|i| self.keys(text.value(i)))
                .collect();
            for (i, (keys, set)) in keyed.into_iter().enumerate() {
                let score = scores.as_ref().map_or(0.0, |s| {
                    let s = s.as_primitive::<Float64Type>();
                    if s.is_null(i) { f64::NAN } else { s.value(i) }
                });
                out.push(ids.value(i), text.value(i).len(), score, &keys)?;
                if let Some((data, idx, end)) = shingles.as_mut() {
                    for h in &set {
                        data.write(&h.to_le_bytes())?;
                    }
                    *end += set.len() as u64;
                    idx.write(&end.to_le_bytes())?;
                }
            }
            Ok(())
        })?;
        if let Some((data, idx, _)) = shingles {
            data.finish()?;
            idx.finish()?;
        }
        out.finish(ctx, task)
    }

    fn reduce(&self, ctx: &GlobalCtx<'_>) -> Result<Vec<(String, u64)>> {
        let threshold = match &self.kind {
            ClusterKind::Minhash {
                verify: true,
                threshold,
                ..
            } => Some(*threshold),
            _ => None,
        };
        let groups = TaskGroups::new(&ctx.offsets, ctx.docs(), ctx.partitions);
        let memberships = match threshold {
            Some(_) => Some(SharedWriter::create(
                &ctx.work.join("members"),
                "g",
                groups.len(),
            )?),
            None => None,
        };
        // 1. Partitions in parallel: equal keys → star edges (and, to verify, every
        //    document's buckets, routed to its task group).
        let per_partition: Vec<Result<(u64, u64)>> = ctx.pool.install(|| {
            (0..ctx.partitions)
                .into_par_iter()
                .map(|p| {
                    // Sized exactly: a vector doubling as it fills held up to twice this.
                    let mut records = Vec::with_capacity(ctx.map_records(p, KEY_DOC)?);
                    ctx.for_each_map_record(p, KEY_DOC, |r| {
                        records.push(key_doc_of(r));
                        Ok(())
                    })?;
                    records.sort_unstable();
                    let (mut edges, mut candidates) = (Vec::new(), 0u64);
                    let mut local = memberships.as_ref().map(SharedWriter::local);
                    let buckets = records
                        .chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
                        .filter(|b| b.len() > 1);
                    for (seq, bucket) in buckets.enumerate() {
                        let first = bucket[0].2;
                        let n = bucket.len() as u64;
                        candidates += n * (n - 1) / 2;
                        edges.extend(bucket[1..].iter().map(|r| (first, r.2)));
                        if let Some(local) = local.as_mut() {
                            let id = ((p as u64) << 40) | seq as u64;
                            for r in bucket {
                                local.write(groups.of_doc(r.2), &leaders::membership(r.2, id))?;
                            }
                        }
                    }
                    if let Some(local) = local {
                        local.flush()?;
                    }
                    edges.sort_unstable();
                    edges.dedup();
                    let bytes: Vec<u8> = edges
                        .iter()
                        .flat_map(|(a, b)| a.to_le_bytes().into_iter().chain(b.to_le_bytes()))
                        .collect();
                    write_file(&ctx.work.join(format!("edges-{p:05}.bin")), &bytes)?;
                    Ok((candidates, edges.len() as u64))
                })
                .collect()
        });
        let (candidates, edge_count) = super::sum_pairs(per_partition)?;
        if let Some(w) = memberships {
            w.finish()?;
        }
        // 2. Connected components → per-task labels.
        let found = components::Graph {
            work: &ctx.work,
            parts: ctx.partitions,
            groups: &groups,
            docs: ctx.docs(),
            limit: self.limit,
            pool: ctx.pool,
        }
        .label()?;
        // 3. Each clustered document's facts (and buckets) to its component's partition.
        route_members(ctx)?;
        if threshold.is_some() {
            leaders::route_buckets(ctx, &groups)?;
        }
        // 4. Clusters and survivors per partition: split by leaders, or one per component.
        let decided = SharedWriter::create(&ctx.work.join("decided"), "g", groups.len())?;
        let placed: Vec<Result<leaders::LeaderCounts>> = ctx.pool.install(|| {
            (0..ctx.partitions)
                .into_par_iter()
                .map(|q| {
                    let bytes = read_file(&ctx.work.join(format!("components/m-{q:05}.bin")))?;
                    let mut members = read_members(&bytes)?;
                    members.sort_by(|a, b| {
                        a.0.cmp(&b.0)
                            .then_with(|| survivor_order(&self.keep, &a.2, &b.2))
                            .then(a.1.cmp(&b.1))
                    });
                    let mut out = decided.local();
                    let mut emit = |doc: u32, d: Decision| {
                        out.write(groups.of_doc(doc), &decision_record(doc, &d))
                    };
                    let counts = match threshold {
                        Some(t) => leaders::place(ctx, q, &members, t, &mut emit)?,
                        None => {
                            for component in members.chunk_by(|a, b| a.0 == b.0) {
                                let cluster = xxh3_64(component[0].2.id.as_bytes());
                                let size = component.len() as u32;
                                for (i, m) in component.iter().enumerate() {
                                    emit(
                                        m.1,
                                        Decision {
                                            cluster,
                                            size,
                                            keep: i == 0,
                                        },
                                    )?;
                                }
                            }
                            leaders::LeaderCounts::default()
                        }
                    };
                    out.flush()?;
                    Ok(counts)
                })
                .collect()
        });
        decided.finish()?;
        let mut counts = leaders::LeaderCounts::default();
        for c in placed {
            let c = c?;
            counts.comparisons += c.comparisons;
            counts.capped += c.capped;
        }
        // 5. Dense decisions per task, in row order.
        let written: Vec<Result<[u64; 3]>> = ctx.pool.install(|| {
            (0..groups.len())
                .into_par_iter()
                .map(|g| write_decisions(ctx, &groups, g))
                .collect()
        });
        let [mut removed, mut clustered, mut clusters] = [0u64; 3];
        for w in written {
            let [r, c, k] = w?;
            removed += r;
            clustered += c;
            clusters += k;
        }
        let mut all = vec![
            ("candidate_pairs".into(), candidates),
            ("edges".into(), edge_count),
            ("clusters".into(), clusters),
            ("docs_in_clusters".into(), clustered),
            ("duplicates".into(), removed),
            ("component_rounds".into(), found.rounds),
            // Above 1, the reduce worked partition by partition to stay in `memory_limit`.
            ("partitions".into(), ctx.partitions as u64),
        ];
        if threshold.is_some() {
            let spill: u64 = (0..ctx.tasks())
                .map(|t| {
                    let path = ctx.work.join(format!("shingles-{t:05}.bin"));
                    std::fs::metadata(&path).map_or(0, |m| m.len())
                })
                .sum();
            all.push(("jaccard_checks".to_string(), counts.comparisons));
            all.push(("leader_cap_hits".to_string(), counts.capped));
            all.push(("verify_spill_bytes".to_string(), spill));
        }
        Ok(all)
    }

    fn applier(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<Box<dyn MapStage>> {
        let bytes = read_file(&ctx.work.join(format!("decisions-{task:05}.bin")))?;
        let decisions = bytes
            .chunks_exact(13)
            .map(|c| {
                let cluster = u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8]));
                let size = u32::from_le_bytes(c[8..12].try_into().unwrap_or([0; 4]));
                (cluster, size, c[12] == 1)
            })
            .collect();
        Ok(Box::new(DecisionApplier {
            decisions: super::RowCursor::new(decisions),
            reason: self.reason,
            drop: self.mode == StageMode::Drop,
            fields: [
                Field::new(self.cluster_col, DataType::UInt64, true),
                Field::new(self.size_col, DataType::UInt32, true),
            ],
        }))
    }
}

/// Applies per-row cluster decisions to a task's batches, in order.
struct DecisionApplier {
    decisions: super::RowCursor<(u64, u32, bool)>,
    reason: &'static str,
    drop: bool,
    fields: [Field; 2],
}

impl MapStage for DecisionApplier {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &self.fields)
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let n = batch.num_rows();
        let rows = self.decisions.take(n)?;
        let cluster: ArrayRef = Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0)));
        let size: ArrayRef = Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.1)));
        let batch = with_columns(batch, &self.fields, vec![cluster, size])?;
        let reasons: Vec<Option<&str>> = rows
            .iter()
            .map(|r| (self.drop && !r.2).then_some(self.reason))
            .collect();
        stats.count(
            "in_clusters",
            rows.iter().filter(|r| r.1 > 1).count() as u64,
        );
        partition(&batch, &reasons)
    }
}

/// The `exact_dedup` kind in the stage registry.
pub const EXACT: crate::registry::GlobalKind<ExactDedupSpec> =
    crate::registry::GlobalKind(|spec| Box::new(ClusterStage::exact(spec)));

/// The `minhash_dedup` kind in the stage registry.
pub const MINHASH: crate::registry::GlobalKind<MinhashDedupSpec> =
    crate::registry::GlobalKind(|spec| Box::new(ClusterStage::minhash(spec)));
