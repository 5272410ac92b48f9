//! Deduplication for taojin: exact (this module so far), MinHash-LSH fuzzy, and repeated
//! lines. Like `filters`, it knows nothing of files or executors.
#![warn(missing_docs)]

pub mod exact;
