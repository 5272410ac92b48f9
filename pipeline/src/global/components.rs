//! Connected components of the candidate graph, written as per-task label files.
//!
//! `labels-TTTTT.bin` holds `[doc u32][root u32][size u32]` for every document of task T
//! in a component of two or more, in document order. A root is its component's smallest
//! member, so labels do not depend on the order edges arrive in. Union-find runs in
//! memory (8 bytes per document) when that fits `memory_limit`; beyond it, alternating
//! large-star / small-star rounds (Kiveris et al., "Connected Components in MapReduce and
//! Beyond", 2014) run over edge files partitioned by node (`node % partitions`), so a
//! worker holds one partition at a time and no array spans all documents.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use taojin_dedup::UnionFind;

use super::spill::{
    LocalWriter, SharedWriter, TaskGroups, damaged, partition_of, read_file, records, write_file,
};
use crate::error::{PipelineError, Result};

/// A label record: `[doc u32][root u32][size u32]`.
pub(super) const LABEL: usize = 12;

/// A decoded label: (doc, root, component size).
pub(super) type Label = (u32, u32, u32);

/// Rounds after which the partitioned search gives up (it converges in O(log² n)).
const MAX_ROUNDS: u32 = 256;

/// The candidate graph: `edges-PPPPP.bin` files of `[a u32][b u32]` under `work`.
pub(super) struct Graph<'a> {
    /// Folder of the edge files, the label files and the round files.
    pub(super) work: &'a Path,
    /// Number of edge files, and of partitions per round.
    pub(super) parts: usize,
    /// The tasks, grouped for routing labels.
    pub(super) groups: &'a TaskGroups,
    /// Documents in all.
    pub(super) docs: u64,
    /// Bytes one step may hold.
    pub(super) limit: u64,
    /// The pool partitions run on.
    pub(super) pool: &'a rayon::ThreadPool,
}

/// How the components were found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Found {
    /// Large-star / small-star rounds (0: union-find in memory).
    pub(super) rounds: u64,
}

/// Path of task `t`'s label file.
pub(super) fn labels_path(work: &Path, t: usize) -> PathBuf {
    work.join(format!("labels-{t:05}.bin"))
}

/// Decodes a label file.
pub(super) fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let bytes = read_file(path)?;
    Ok(records(&bytes, LABEL, LABELS)?
        .map(|r| (word(r, 0), word(r, 4), word(r, 8)))
        .collect())
}

const LABELS: &str = "a dedup label file";
const EDGES: &str = "a dedup edge file";

fn word(r: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]])
}

fn pair(a: u32, b: u32) -> [u8; 8] {
    let mut r = [0u8; 8];
    r[..4].copy_from_slice(&a.to_le_bytes());
    r[4..].copy_from_slice(&b.to_le_bytes());
    r
}

fn pairs(bytes: &[u8]) -> Result<Vec<(u32, u32)>> {
    Ok(records(bytes, 8, EDGES)?
        .map(|e| (word(e, 0), word(e, 4)))
        .collect())
}

impl Graph<'_> {
    /// Writes every task's label file.
    pub(super) fn label(&self) -> Result<Found> {
        if self.docs.saturating_mul(8) <= self.limit {
            self.in_memory()?;
            Ok(Found::default())
        } else {
            self.partitioned()
        }
    }

    fn edge_file(&self, p: usize) -> PathBuf {
        self.work.join(format!("edges-{p:05}.bin"))
    }

    fn node_part(&self, node: u32) -> usize {
        partition_of(u128::from(node), self.parts)
    }

    /// Union-find over all documents, streaming the edge files.
    fn in_memory(&self) -> Result<()> {
        let n = usize::try_from(self.docs)
            .map_err(|_| PipelineError::Internal("too many documents".into()))?;
        let mut uf = UnionFind::new(n);
        for p in 0..self.parts {
            for (a, b) in pairs(&read_file(&self.edge_file(p))?)? {
                if a as usize >= n || b as usize >= n {
                    return Err(damaged(EDGES));
                }
                uf.union(a, b);
            }
        }
        let mut sizes = vec![0u32; n];
        for d in 0..n as u32 {
            sizes[uf.find(d) as usize] += 1;
        }
        for g in 0..self.groups.len() {
            for t in self.groups.tasks(g).0 {
                let mut out = Vec::new();
                for d in self.groups.docs_of(t) {
                    let d = d as u32;
                    let r = uf.find(d);
                    if sizes[r as usize] > 1 {
                        out.extend_from_slice(&label(d, r, sizes[r as usize]));
                    }
                }
                write_file(&labels_path(self.work, t), &out)?;
            }
        }
        Ok(())
    }

    /// Large-star / small-star rounds until the graph is a forest of stars centred on
    /// their smallest members, then labels from the stars.
    fn partitioned(&self) -> Result<Found> {
        let dir = self.work.join("cc");
        // Round 0's large-star input: every edge from both ends, partitioned by node.
        let mut input = dir.join("r000-large");
        let w = SharedWriter::create(&input, "p", self.parts)?;
        let results: Vec<Result<()>> = self.pool.install(|| {
            (0..self.parts)
                .into_par_iter()
                .map(|p| {
                    let mut local = w.local();
                    for (a, b) in pairs(&read_file(&self.edge_file(p))?)? {
                        if u64::from(a.max(b)) >= self.docs {
                            return Err(damaged(EDGES));
                        }
                        if a != b {
                            local.write(self.node_part(a), &pair(a, b))?;
                            local.write(self.node_part(b), &pair(b, a))?;
                        }
                    }
                    local.flush()
                })
                .collect()
        });
        results.into_iter().collect::<Result<()>>()?;
        w.finish()?;
        for round in 0..MAX_ROUNDS {
            let small = dir.join(format!("r{round:03}-small"));
            if self.large_star(&input, &small)? == 0 {
                self.stars_to_labels(&input)?;
                remove(&dir)?;
                return Ok(Found {
                    rounds: u64::from(round) + 1,
                });
            }
            remove(&input)?;
            input = dir.join(format!("r{:03}-large", round + 1));
            self.small_star(&small, &input)?;
            remove(&small)?;
        }
        Err(PipelineError::Internal(format!(
            "connected components did not converge in {MAX_ROUNDS} rounds"
        )))
    }

    /// Runs `f(records, out)` on every partition of `input` in parallel, the records
    /// sorted and deduplicated, writing into `out`'s `parts` files; sums what `f` returns.
    fn each_partition(
        &self,
        input: &Path,
        out: &SharedWriter,
        f: impl Fn(&[(u32, u32)], &mut LocalWriter<'_>) -> Result<u64> + Sync,
    ) -> Result<u64> {
        let largest = AtomicU64::new(0);
        let results: Vec<Result<u64>> = self.pool.install(|| {
            (0..self.parts)
                .into_par_iter()
                .map(|p| {
                    let mut edges = pairs(&read_file(&input.join(format!("p-{p:05}.bin")))?)?;
                    largest.fetch_max(edges.len() as u64 * 8, Ordering::Relaxed);
                    edges.sort_unstable();
                    edges.dedup();
                    let mut local = out.local();
                    let r = f(&edges, &mut local)?;
                    local.flush()?;
                    Ok(r)
                })
                .collect()
        });
        let largest = largest.into_inner();
        // A component's star sits whole in its centre's partition: a huge one can
        // outgrow the limit however many partitions there are.
        if largest.saturating_mul(3) > self.limit {
            tracing::warn!(
                "connected components: a partition of {largest} edge bytes exceeds a third of \
                 memory_limit ({} bytes); one component may be very large",
                self.limit
            );
        }
        results.into_iter().sum()
    }

    /// Large-star: each node links its larger neighbours to the smallest of its
    /// neighbourhood. Writes the result, by larger endpoint, into `out`'s merged files
    /// and returns the nodes not yet in a star centred on their component's minimum.
    fn large_star(&self, input: &Path, out: &Path) -> Result<u64> {
        let w = SharedWriter::create(out, "p", self.parts)?;
        let unsettled = self.each_partition(input, &w, |records, emit| {
            let mut unsettled = 0;
            for group in records.chunk_by(|a, b| a.0 == b.0) {
                let u = group[0].0;
                let m = group[0].1.min(u);
                let smaller = group.iter().take_while(|r| r.1 < u).count();
                if smaller > 1 || (smaller == 1 && smaller < group.len()) {
                    unsettled += 1;
                }
                for &(_, v) in &group[smaller..] {
                    emit.write(self.node_part(v), &pair(v, m))?;
                }
            }
            Ok(unsettled)
        })?;
        w.finish()?;
        Ok(unsettled)
    }

    /// Small-star: each node links itself and its smaller neighbours to the smallest of
    /// them. Writes the result from both ends into `out`.
    fn small_star(&self, input: &Path, out: &Path) -> Result<()> {
        let w = SharedWriter::create(out, "p", self.parts)?;
        self.each_partition(input, &w, |records, emit| {
            for group in records.chunk_by(|a, b| a.0 == b.0) {
                let u = group[0].0;
                let m = group[0].1;
                for v in group.iter().map(|r| r.1).chain([u]).filter(|&v| v != m) {
                    emit.write(self.node_part(v), &pair(v, m))?;
                    emit.write(self.node_part(m), &pair(m, v))?;
                }
            }
            Ok(0)
        })?;
        w.finish()
    }

    /// In a forest of stars a centre's group lists its whole component: it writes one
    /// label per member, routed to the member's task group, and each group is split
    /// into its tasks' sorted label files.
    fn stars_to_labels(&self, input: &Path) -> Result<()> {
        let dir = self.work.join("cc").join("labels");
        let w = SharedWriter::create(&dir, "g", self.groups.len())?;
        self.each_partition(input, &w, |records, out| {
            for group in records.chunk_by(|a, b| a.0 == b.0) {
                let c = group[0].0;
                if group[0].1 < c {
                    continue; // a leaf: its centre writes it
                }
                let size = group.len() as u32 + 1;
                for d in group.iter().map(|r| r.1).chain([c]) {
                    out.write(self.groups.of_doc(d), &label(d, c, size))?;
                }
            }
            Ok(0)
        })?;
        w.finish()?;
        let results: Vec<Result<()>> = self.pool.install(|| {
            (0..self.groups.len())
                .into_par_iter()
                .map(|g| {
                    let bytes = read_file(&dir.join(format!("g-{g:05}.bin")))?;
                    let mut records: Vec<&[u8]> = records(&bytes, LABEL, LABELS)?.collect();
                    records.sort_unstable_by_key(|r| word(r, 0));
                    let mut rest = &records[..];
                    for t in self.groups.tasks(g).0 {
                        let end = self.groups.docs_of(t).end;
                        let n = rest.partition_point(|r| u64::from(word(r, 0)) < end);
                        write_file(&labels_path(self.work, t), &rest[..n].concat())?;
                        rest = &rest[n..];
                    }
                    match rest.is_empty() {
                        true => Ok(()),
                        false => Err(damaged(LABELS)),
                    }
                })
                .collect()
        });
        results.into_iter().collect()
    }
}

fn label(doc: u32, root: u32, size: u32) -> [u8; LABEL] {
    let mut rec = [0u8; LABEL];
    rec[..4].copy_from_slice(&doc.to_le_bytes());
    rec[4..8].copy_from_slice(&root.to_le_bytes());
    rec[8..].copy_from_slice(&size.to_le_bytes());
    rec
}

fn remove(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).map_err(PipelineError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels of `edges` over `docs` documents in `tasks` equal tasks, by either method.
    fn labels(docs: u32, tasks: u32, edges: &[(u32, u32)], limit: u64) -> (Vec<Vec<Label>>, Found) {
        let dir = tempfile::tempdir().expect("tempdir");
        let parts = 7;
        let mut files = vec![Vec::new(); parts];
        for (i, &(a, b)) in edges.iter().enumerate() {
            files[i % parts].extend_from_slice(&pair(a, b));
        }
        for (p, bytes) in files.iter().enumerate() {
            write_file(&dir.path().join(format!("edges-{p:05}.bin")), bytes).expect("write");
        }
        let offsets: Vec<u64> = (0..tasks).map(|t| u64::from(t * docs / tasks)).collect();
        let groups = TaskGroups::new(&offsets, u64::from(docs), 3);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        let graph = Graph {
            work: dir.path(),
            parts,
            groups: &groups,
            docs: u64::from(docs),
            limit,
            pool: &pool,
        };
        let found = graph.label().expect("label");
        let out = (0..tasks as usize)
            .map(|t| read_labels(&labels_path(dir.path(), t)).expect("read"))
            .collect();
        (out, found)
    }

    #[test]
    fn partitioned_components_equal_union_find() {
        let n = 3000u32;
        let mut graphs: Vec<Vec<(u32, u32)>> = Vec::new();
        // A path given in the worst order, a star on the largest node, random sparse edges.
        graphs.push((1..n).rev().map(|i| (i, i - 1)).collect());
        graphs.push((0..n - 1).map(|i| (n - 1, i)).collect());
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % u64::from(n)) as u32
        };
        graphs.push((0..2500).map(|_| (next(), next())).collect());
        // Interleaved chains whose minima sit at the far ends.
        graphs.push((0..1000).map(|i| (i * 3 % n, (i * 3 + 3) % n)).collect());
        for edges in graphs {
            let (memory, found) = labels(n, 5, &edges, u64::MAX);
            assert_eq!(found.rounds, 0);
            let (parted, found) = labels(n, 5, &edges, 1);
            assert!(found.rounds > 0);
            assert_eq!(memory, parted);
        }
    }
}
