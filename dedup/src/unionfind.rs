//! Union-find over document indices where every component's root is its smallest
//! member: the clustering is then independent of the order edges arrive in.

/// Disjoint sets over `0..n`.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }

    /// The smallest member of `x`'s set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// Joins the sets of `a` and `b`; the smaller root becomes the root.
    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_smallest_members_in_any_order() {
        for edges in [vec![(3, 4), (4, 5), (1, 5)], vec![(1, 5), (4, 5), (3, 4)]] {
            let mut uf = UnionFind::new(7);
            for (a, b) in edges {
                uf.union(a, b);
            }
            let roots: Vec<u32> = (0..7).map(|i| uf.find(i)).collect();
            assert_eq!(roots, vec![0, 1, 2, 1, 1, 1, 6]);
        }
    }
}
