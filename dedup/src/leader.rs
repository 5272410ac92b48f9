//! Near-duplicate clusters that do not chain: leader clustering over LSH buckets.
//!
//! Union-find over candidate pairs joins A–B–C–… chains of documents whose ends share
//! nothing (long licence texts with small edits do this). Here the members of a candidate
//! component are visited in survivor order, best first; each joins the most similar
//! *leader* it shares an LSH bucket with, if their exact Jaccard reaches the threshold, and
//! otherwise becomes a leader itself. So:
//! - every member is within the threshold `t` of its leader (the survivor), and since
//!   Jaccard distance is a metric, any two members of one cluster have `J ≥ 2t − 1`
//!   (0.6 at the default 0.8): a cluster's diameter is bounded;
//! - two leaders (survivors) that share a bucket were compared and are below `t`;
//! - the result depends only on the members' order and buckets, not on threads or tasks.
//!
//! Leaders sharing a bucket are pairwise below `t` yet agree on a whole band, which is
//! improbable (`Jʳ`), so a bucket's leader list stays short; `max_leaders` bounds the
//! comparisons per document anyway (the cap's hits are counted).

use std::collections::HashMap;

/// What leader clustering decided for one component.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaders {
    /// For every member (by position in the given order), the position of its leader; a
    /// leader points at itself.
    pub leader: Vec<u32>,
    /// Jaccard computations made.
    pub comparisons: u64,
    /// Members whose candidate leaders exceeded `max_leaders` (only the best-ranked were
    /// compared).
    pub capped: u64,
}

/// Clusters the members of one candidate component.
///
/// `buckets[i]` are the LSH buckets member `i` belongs to (any ids, equal for members of
/// one bucket); members are given best survivor first. `similarity(i, l)` is the exact
/// Jaccard of members `i` and `l`.
pub fn leader_clusters<E>(
    buckets: &[Vec<u64>],
    threshold: f64,
    max_leaders: usize,
    mut similarity: impl FnMut(usize, usize) -> Result<f64, E>,
) -> Result<Leaders, E> {
    let mut leaders_in: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut out = Leaders {
        leader: Vec::with_capacity(buckets.len()),
        comparisons: 0,
        capped: 0,
    };
    let mut candidates = Vec::new();
    for (i, mine) in buckets.iter().enumerate() {
        candidates.clear();
        for b in mine {
            if let Some(ls) = leaders_in.get(b) {
                candidates.extend_from_slice(ls);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        if candidates.len() > max_leaders {
            out.capped += 1;
            candidates.truncate(max_leaders);
        }
        let mut best: Option<(u32, f64)> = None;
        for &l in &candidates {
            out.comparisons += 1;
            let s = similarity(i, l as usize)?;
            if s >= threshold && best.is_none_or(|(_, b)| s > b) {
                best = Some((l, s));
            }
        }
        match best {
            Some((l, _)) => out.leader.push(l),
            None => {
                out.leader.push(i as u32);
                for b in mine {
                    leaders_in.entry(*b).or_default().push(i as u32);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jaccard;

    /// Sets `0..100` shifted by `step × i`: neighbours overlap a lot, ends not at all.
    fn chain(n: usize, step: u64) -> Vec<Vec<u64>> {
        (0..n as u64)
            .map(|i| (i * step..i * step + 100).collect())
            .collect()
    }

    fn run(sets: &[Vec<u64>], t: f64) -> Leaders {
        // Every member in one bucket: the worst case for chaining.
        let buckets = vec![vec![7u64]; sets.len()];
        leader_clusters::<()>(&buckets, t, 64, |a, b| Ok(jaccard(&sets[a], &sets[b]))).unwrap()
    }

    #[test]
    fn a_chain_is_cut_into_clusters_of_bounded_diameter() {
        let sets = chain(40, 5); // J(i, i+1) = 95/105 ≈ 0.9, J(i, i+4) = 80/120 ≈ 0.67
        let out = run(&sets, 0.8);
        for (i, &l) in out.leader.iter().enumerate() {
            assert!(jaccard(&sets[i], &sets[l as usize]) >= 0.8);
            assert!(l as usize <= i, "a leader comes first");
            for (j, &m) in out.leader.iter().enumerate() {
                if m == l {
                    assert!(jaccard(&sets[i], &sets[j]) >= 0.6, "{i} and {j}");
                }
            }
        }
        let clusters = out
            .leader
            .iter()
            .enumerate()
            .filter(|(i, l)| *i == **l as usize);
        assert!(clusters.count() > 5, "the chain is not one cluster");
    }

    #[test]
    fn members_join_the_most_similar_leader_and_leaders_stay_apart() {
        // 0 and 2 are leaders (J = 0.67 < 0.8); 3 is closer to 2 than to 0.
        let sets: Vec<Vec<u64>> = vec![
            (0..100).collect(),
            (2..102).collect(),
            (20..120).collect(),
            (12..112).collect(),
        ];
        let out = run(&sets, 0.75);
        assert_eq!(out.leader, vec![0, 0, 2, 2]);
        assert_eq!(out.comparisons, 1 + 1 + 2);
    }

    #[test]
    fn members_only_meet_leaders_of_their_buckets() {
        let sets = [vec![1, 2, 3], vec![1, 2, 3], vec![1, 2, 3]];
        let buckets = vec![vec![1], vec![2], vec![1, 2]];
        let out = leader_clusters::<()>(&buckets, 0.8, 64, |a, b| Ok(jaccard(&sets[a], &sets[b])))
            .unwrap();
        assert_eq!(
            out.leader,
            vec![0, 1, 0],
            "0 and 1 never met; 2 takes the first"
        );
    }

    #[test]
    fn the_cap_bounds_comparisons() {
        let sets: Vec<Vec<u64>> = (0..10u64).map(|i| vec![i]).collect();
        let buckets = vec![vec![1u64]; 10];
        let out = leader_clusters::<()>(&buckets, 0.8, 3, |a, b| Ok(jaccard(&sets[a], &sets[b])))
            .unwrap();
        assert_eq!(out.leader, (0..10).collect::<Vec<u32>>());
        assert_eq!(out.comparisons, 1 + 2 + 3 * 7, "0, 1, 2, then 3 each");
        assert_eq!(out.capped, 6);
    }
}
