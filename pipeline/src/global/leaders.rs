//! The verified reduce of `minhash_dedup`: candidate components (union-find over the LSH
//! buckets) are split into clusters of bounded diameter by leader clustering
//! (`taojin_dedup::leader_clusters`). Each component's members, their buckets and their
//! survivor facts are routed to one partition by the component's root, so a partition is
//! one bounded task and the partitions run in parallel.

use std::collections::HashMap;

use rayon::prelude::*;
use taojin_dedup::{jaccard, leader_clusters};
use taojin_schemas::SurvivorRule;
use xxhash_rust::xxh3::xxh3_64;

use super::GlobalCtx;
use super::cluster::{Decision, Meta, ShingleStore, for_each_clustered, survivor_order};
use super::spill::{self, PartitionedWriter, damaged, partition_of, read_file};
use crate::error::Result;

/// Candidate leaders one document is compared with at most.
const MAX_LEADERS: usize = 64;

/// A bucket membership written by the band partitions: `[doc u32][bucket u64]`.
pub(super) const MEMBERSHIP: usize = 12;

/// Encodes a bucket membership.
pub(super) fn membership(doc: u32, bucket: u64) -> [u8; MEMBERSHIP] {
    let mut r = [0u8; MEMBERSHIP];
    r[..4].copy_from_slice(&doc.to_le_bytes());
    r[4..].copy_from_slice(&bucket.to_le_bytes());
    r
}

const WHAT: &str = "a dedup component file";

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    spill::u32_at(b, at, WHAT)
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    spill::u64_at(b, at, WHAT)
}

/// What the leader pass counted.
#[derive(Default)]
pub(super) struct LeaderCounts {
    /// Exact Jaccard computations.
    pub(super) comparisons: u64,
    /// Documents whose candidate leaders were capped.
    pub(super) capped: u64,
}

/// Decisions for every document of a component of two or more, by global index.
pub(super) fn assign(
    ctx: &GlobalCtx<'_>,
    roots: &[u32],
    sizes: &[u32],
    keep: &SurvivorRule,
    threshold: f64,
) -> Result<(HashMap<u32, Decision>, LeaderCounts)> {
    let parts = ctx.partitions;
    let route = |root: u32| partition_of(u128::from(root), parts);
    // Memberships → the component's partition: [root][doc][bucket].
    let mut writer = PartitionedWriter::create(&ctx.work.join("components"), "c", parts)?;
    for p in 0..parts {
        let bytes = read_file(&ctx.work.join(format!("buckets-{p:05}.bin")))?;
        for r in bytes.chunks_exact(MEMBERSHIP) {
            let doc = u32_at(r, 0)?;
            let root = roots[doc as usize];
            let mut rec = [0u8; 16];
            rec[..4].copy_from_slice(&root.to_le_bytes());
            rec[4..].copy_from_slice(r);
            writer.write(route(root), &rec)?;
        }
    }
    writer.finish()?;
    // Survivor facts → the same partition: [root][doc][len][score][id len][id].
    let mut writer = PartitionedWriter::create(&ctx.work.join("components"), "m", parts)?;
    for_each_clustered(ctx, roots, sizes, |doc, root, m| {
        let mut rec = Vec::with_capacity(24 + m.id.len());
        rec.extend_from_slice(&root.to_le_bytes());
        rec.extend_from_slice(&doc.to_le_bytes());
        rec.extend_from_slice(&m.len.to_le_bytes());
        rec.extend_from_slice(&m.score.to_le_bytes());
        rec.extend_from_slice(&(m.id.len() as u32).to_le_bytes());
        rec.extend_from_slice(m.id.as_bytes());
        writer.write(route(root), &rec)
    })?;
    writer.finish()?;
    let results: Vec<Result<Placed>> = ctx.pool.install(|| {
        (0..parts)
            .into_par_iter()
            .map(|q| partition(ctx, q, keep, threshold))
            .collect()
    });
    let (mut decisions, mut counts) = (HashMap::new(), LeaderCounts::default());
    for r in results {
        let (d, c) = r?;
        decisions.extend(d);
        counts.comparisons += c.comparisons;
        counts.capped += c.capped;
    }
    Ok((decisions, counts))
}

/// The decisions of one partition's components, and what placing them counted.
type Placed = (Vec<(u32, Decision)>, LeaderCounts);

/// Leader clustering of every component routed to partition `q`.
fn partition(ctx: &GlobalCtx<'_>, q: usize, keep: &SurvivorRule, threshold: f64) -> Result<Placed> {
    let dir = ctx.work.join("components");
    let bytes = read_file(&dir.join(format!("m-{q:05}.bin")))?;
    let mut members: Vec<(u32, u32, Meta<'_>)> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (root, doc, len) = (
            u32_at(&bytes, at)?,
            u32_at(&bytes, at + 4)?,
            u32_at(&bytes, at + 8)?,
        );
        let score = f64::from_bits(u64_at(&bytes, at + 12)?);
        let n = u32_at(&bytes, at + 20)? as usize;
        let id = bytes
            .get(at + 24..at + 24 + n)
            .and_then(|s| std::str::from_utf8(s).ok())
            .ok_or_else(|| damaged("a dedup component file"))?;
        members.push((root, doc, Meta { id, len, score }));
        at += 24 + n;
    }
    members.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| survivor_order(keep, &a.2, &b.2)));
    let mut buckets: HashMap<u32, Vec<u64>> = HashMap::new();
    for r in read_file(&dir.join(format!("c-{q:05}.bin")))?.chunks_exact(16) {
        buckets
            .entry(u32_at(r, 4)?)
            .or_default()
            .push(u64_at(r, 8)?);
    }
    let mut store = ShingleStore::new(ctx);
    let (mut out, mut counts) = (Vec::new(), LeaderCounts::default());
    for component in members.chunk_by(|a, b| a.0 == b.0) {
        let lists: Vec<Vec<u64>> = component
            .iter()
            .map(|m| buckets.remove(&m.1).unwrap_or_default())
            .collect();
        // The member being placed, and the leaders' sets (read once each).
        let mut current: (usize, Vec<u64>) = (usize::MAX, Vec::new());
        let mut leaders: HashMap<usize, Vec<u64>> = HashMap::new();
        let decided = leader_clusters(&lists, threshold, MAX_LEADERS, |i, l| {
            if current.0 != i {
                current = (i, store.get(component[i].1)?);
            }
            if let std::collections::hash_map::Entry::Vacant(e) = leaders.entry(l) {
                e.insert(store.get(component[l].1)?);
            }
            Ok::<f64, crate::error::PipelineError>(jaccard(&current.1, &leaders[&l]))
        })?;
        counts.comparisons += decided.comparisons;
        counts.capped += decided.capped;
        let mut size = vec![0u32; component.len()];
        for &l in &decided.leader {
            size[l as usize] += 1;
        }
        for (i, &l) in decided.leader.iter().enumerate() {
            let l = l as usize;
            let cluster = xxh3_64(component[l].2.id.as_bytes());
            out.push((
                component[i].1,
                Decision {
                    cluster,
                    size: size[l],
                    keep: l == i,
                },
            ));
        }
    }
    Ok((out, counts))
}
