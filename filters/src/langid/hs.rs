//! Hierarchical-softmax prediction for fastText models, done the way C++ fastText does it.
//!
//! `fasttext` 0.8 (the pure-Rust port) predicts wrong labels for models that are both
//! quantized and trained with hierarchical softmax — `lid.176.ftz` is one: its quantized
//! path applies a softmax over the first output rows, which for `loss = hs` are Huffman
//! tree nodes, not labels. This module rebuilds the Huffman tree from the label counts
//! (as C++ `HierarchicalSoftmaxLoss::buildTree` does) and searches it with the hidden
//! vector the crate computes correctly, so predictions match the official fastText.

use fasttext::FastText;

/// One node of the Huffman tree; leaves are labels `0..nlabels`.
#[derive(Debug, Clone, Copy)]
struct Node {
    left: i32,
    right: i32,
    count: i64,
}

/// The label tree of a hierarchical-softmax model and the dense output matrix rows of
/// its inner nodes.
pub struct HsPredictor {
    tree: Vec<Node>,
    nlabels: usize,
    dim: usize,
    /// Row `i` holds inner node `nlabels + i`.
    output: Vec<f32>,
}

/// `ln(x + 1e-5)`, exactly C++ fastText's `std_log`.
fn std_log(x: f32) -> f32 {
    (x + 1e-5).ln()
}

impl HsPredictor {
    /// Builds the tree from a loaded model. `None` unless the model uses hierarchical
    /// softmax with a dense output matrix.
    pub fn new(model: &FastText) -> Option<HsPredictor> {
        if model.args().loss != fasttext::args::LossName::HierarchicalSoftmax
            || model.quant_output().is_some()
        {
            return None;
        }
        let (_, counts) = model.get_labels();
        let nlabels = counts.len();
        if nlabels < 2 {
            return None;
        }
        let dim = model.get_dimension() as usize;
        let out = model.output_matrix();
        if out.data().len() < (nlabels - 1) * dim {
            return None;
        }
        let output = out.data()[..(nlabels - 1) * dim].to_vec();
        Some(HsPredictor {
            tree: build_tree(&counts),
            nlabels,
            dim,
            output,
        })
    }

    /// Top-`k` labels (indices into the model's labels) with probabilities, best first,
    /// for a hidden vector (the averaged input rows of a line plus its end-of-line token).
    pub fn predict(&self, hidden: &[f32], k: usize) -> Vec<(usize, f32)> {
        let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
        if k > 0 && hidden.len() == self.dim {
            self.dfs(k, 2 * self.nlabels - 2, 0.0, &mut best, hidden);
        }
        best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        best.into_iter()
            .map(|(score, label)| (label, score.exp()))
            .collect()
    }

    fn dfs(&self, k: usize, node: usize, score: f32, best: &mut Vec<(f32, usize)>, hidden: &[f32]) {
        if best.len() == k && best.iter().all(|b| score < b.0) {
            return;
        }
        let n = self.tree[node];
        if n.left == -1 && n.right == -1 {
            best.push((score, node));
            if best.len() > k {
                // Drop the worst (lowest score; on ties the later label, as the C++ heap does).
                if let Some(worst) =
                    (0..best.len()).min_by(|&a, &b| best[a].0.total_cmp(&best[b].0))
                {
                    best.swap_remove(worst);
                }
            }
            return;
        }
        let row = &self.output[(node - self.nlabels) * self.dim..][..self.dim];
        let dot: f32 = row.iter().zip(hidden).map(|(w, h)| w * h).sum();
        let f = 1.0 / (1.0 + (-dot).exp());
        self.dfs(k, n.left as usize, score + std_log(1.0 - f), best, hidden);
        self.dfs(k, n.right as usize, score + std_log(f), best, hidden);
    }
}

/// C++ `buildTree`: labels arrive sorted by descending count; merge the two smallest
/// nodes repeatedly, taking leaves from the end and inner nodes from the front.
fn build_tree(counts: &[i64]) -> Vec<Node> {
    let n = counts.len();
    let mut tree = vec![
        Node {
            left: -1,
            right: -1,
            count: 1_000_000_000_000_000
        };
        2 * n - 1
    ];
    for (node, &c) in tree.iter_mut().zip(counts) {
        node.count = c;
    }
    let mut leaf = n as i64 - 1;
    let mut next = n;
    for i in n..2 * n - 1 {
        let mut mini = [0usize; 2];
        for m in &mut mini {
            if leaf >= 0 && tree[leaf as usize].count < tree[next].count {
                *m = leaf as usize;
                leaf -= 1;
            } else {
                *m = next;
                next += 1;
            }
        }
        tree[i].left = mini[0] as i32;
        tree[i].right = mini[1] as i32;
        tree[i].count = tree[mini[0]].count + tree[mini[1]].count;
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_is_a_huffman_tree() {
        let tree = build_tree(&[50, 30, 15, 5]);
        assert_eq!(tree.len(), 7);
        // 5 + 15 merge first, then 20 + 30, then 50 + 50.
        assert_eq!((tree[4].left, tree[4].right, tree[4].count), (3, 2, 20));
        assert_eq!((tree[5].left, tree[5].right, tree[5].count), (4, 1, 50));
        assert_eq!(tree[6].count, 100);
    }
}
