//! End-to-end tests: whole jobs through the `taojin` binary, each in its own temp dir.

mod bad_input;
mod classifier;
mod cluster;
mod dedup;
mod demo;
mod explain;
mod inputs;
mod invariants;
mod langid;
mod mix;
mod perplexity;
mod quality;
mod resume;
mod s3;
mod sql;
mod substring;
mod tokenize;
mod topics;
mod traps;
mod util;
mod web;
