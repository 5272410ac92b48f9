//! The verified reduce of `minhash_dedup`: candidate components (connected components
//! of the LSH buckets) are split into clusters of bounded diameter by leader clustering
//! (`taojin_dedup::leader_clusters`). Each component's members, their buckets and their
//! survivor facts are routed to one partition by the component's root, so a partition is
//! one bounded task and the partitions run in parallel.

use std::collections::HashMap;

use rayon::prelude::*;
use taojin_dedup::{jaccard, leader_clusters};
use xxhash_rust::xxh3::xxh3_64;

use super::cluster::{Decision, Member, ShingleStore};
use super::spill::{self, SharedWriter, TaskGroups, damaged, partition_of, read_file};
use super::{GlobalCtx, components};
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

/// Writes every clustered document's buckets to its component's partition as
/// `[root][doc][bucket]`: each task group's memberships meet the group's labels.
pub(super) fn route_buckets(ctx: &GlobalCtx<'_>, groups: &TaskGroups) -> Result<()> {
    let w = SharedWriter::create(&ctx.work.join("components"), "c", ctx.partitions)?;
    let results: Vec<Result<()>> = ctx.pool.install(|| {
        (0..groups.len())
            .into_par_iter()
            .map(|g| {
                let mut roots = Vec::new();
                for t in groups.tasks(g).0 {
                    let labels = components::read_labels(&components::labels_path(&ctx.work, t))?;
                    roots.extend(labels.into_iter().map(|(doc, root, _)| (doc, root)));
                }
                let bytes = read_file(&ctx.work.join(format!("members/g-{g:05}.bin")))?;
                let mut out = w.local();
                for r in spill::records(&bytes, MEMBERSHIP, WHAT)? {
                    let doc = u32_at(r, 0)?;
                    let i = roots
                        .binary_search_by_key(&doc, |x| x.0)
                        .map_err(|_| damaged(WHAT))?;
                    let root = roots[i].1;
                    let mut rec = [0u8; 16];
                    rec[..4].copy_from_slice(&root.to_le_bytes());
                    rec[4..].copy_from_slice(r);
                    out.write(partition_of(u128::from(root), ctx.partitions), &rec)?;
                }
                out.flush()
            })
            .collect()
    });
    results.into_iter().collect::<Result<()>>()?;
    w.finish()
}

/// Leader clustering of every component routed to partition `q`, whose `members` are
/// sorted by root and then best survivor first; calls `emit` once per member.
pub(super) fn place(
    ctx: &GlobalCtx<'_>,
    q: usize,
    members: &[Member<'_>],
    threshold: f64,
    emit: &mut dyn FnMut(u32, Decision) -> Result<()>,
) -> Result<LeaderCounts> {
    let mut buckets: HashMap<u32, Vec<u64>> = HashMap::new();
    let path = ctx.work.join(format!("components/c-{q:05}.bin"));
    let bytes = read_file(&path)?;
    for r in spill::records(&bytes, 16, WHAT)? {
        buckets
            .entry(u32_at(r, 4)?)
            .or_default()
            .push(u64_at(r, 8)?);
    }
    let mut store = ShingleStore::new(ctx);
    let mut counts = LeaderCounts::default();
    for component in members.chunk_by(|a, b| a.0 == b.0) {
        let lists: Vec<Vec<u64>> = component
            .iter()
            .map(|m| {
                let mut list = buckets.remove(&m.1).unwrap_or_default();
                list.sort_unstable();
                list
            })
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
            let decision = Decision {
                cluster: xxh3_64(component[l].2.id.as_bytes()),
                size: size[l],
                keep: l == i,
            };
            emit(component[i].1, decision)?;
        }
    }
    Ok(counts)
}
