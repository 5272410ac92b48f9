//! Deduplication for taojin: the pieces that decide what is a duplicate — exact keys,
//! script-aware shingles, MinHash signatures and LSH bands, order-independent union-find,
//! and line keys. Like `filters`, it knows nothing of files or executors; the pipeline
//! partitions, spills and schedules the work.
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod exact;
pub mod leader;
pub mod lines;
pub mod minhash;
pub mod shingle;
pub mod substring;
pub mod unionfind;

pub use exact::{exact_key_hash, matching_key};
pub use leader::{Leaders, leader_clusters};
pub use minhash::{MinHasher, implied_threshold, match_probability, optimal_split};
pub use shingle::{ShingleConfig, jaccard, shingle_hashes};
pub use unionfind::UnionFind;
