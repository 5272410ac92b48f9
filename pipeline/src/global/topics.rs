//! `topics`: Yi's cluster-based filtering, as columns. Every document becomes a hashed
//! TF-IDF vector over words and Han bigrams; seeded spherical k-means trains on a
//! deterministic sample; every document gets `topic.id` and `topic.distance` (cosine
//! distance to its centroid). `topics/topics.json` lists each cluster's share, top terms
//! per language and example ids, so a person can label clusters and select with
//! `where = "\"topic.id\" NOT IN (3, 17)"` in a mix source.
//!
//! - **map**: document frequencies per feature (one file per task) and the term counts
//!   of the sampled documents (id hash below `sample / docs` of the range, so the same
//!   documents for any task layout), with the spellings of their features counted;
//! - **reduce**: IDF, k-means over the sample sorted by id hash (bounded by `sample`
//!   vectors and `k × features` centroid weights), `topics.json`;
//! - **apply**: the nearest centroid of each document.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, Int32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use serde::Serialize;
use taojin_filters::topics::{self, Centroids};
use taojin_schemas::script::is_han;
use taojin_schemas::{TaskStats, TopicsSpec};
use xxhash_rust::xxh3::xxh3_64;

use super::spill::{damaged, read_file, u32_at, u64_at, write_file};
use super::{GlobalCtx, GlobalStage};
use crate::batch::{Processed, id_column, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};
use crate::stages::MapStage;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Han,
    Latin,
    Other,
}

/// The folder under the job output that holds `topics.json`.
pub const TOPICS_DIR: &str = "topics";
/// The cluster column.
pub const TOPIC_ID: &str = "topic.id";
/// The distance column.
pub const TOPIC_DISTANCE: &str = "topic.distance";

/// The `topics` stage.
pub struct TopicsStage {
    spec: TopicsSpec,
    seed: u64,
}

/// One cluster in `topics.json`.
#[derive(Serialize)]
struct Cluster {
    id: usize,
    sample_docs: usize,
    share: f64,
    top_terms_en: Vec<String>,
    top_terms_zh: Vec<String>,
    top_terms_other: Vec<String>,
    examples: Vec<String>,
}

/// `topics.json`.
#[derive(Serialize)]
struct TopicsFile {
    k: usize,
    features: u32,
    docs: u64,
    sample_docs: usize,
    clusters: Vec<Cluster>,
}

struct Sampled {
    hash: u64,
    id: String,
    counts: Vec<(u32, f32)>,
}

fn read_samples(path: &Path) -> Result<Vec<Sampled>> {
    let bytes = read_file(path)?;
    let what = "a topics sample file";
    let (mut out, mut at) = (Vec::new(), 0);
    while at < bytes.len() {
        let hash = u64_at(&bytes, at, what)?;
        let len = u32_at(&bytes, at + 8, what)? as usize;
        let id = bytes
            .get(at + 12..at + 12 + len)
            .ok_or_else(|| damaged(what))?;
        let id = String::from_utf8(id.to_vec()).map_err(|_| damaged(what))?;
        at += 12 + len;
        let n = u32_at(&bytes, at, what)? as usize;
        at += 4;
        let mut counts = Vec::with_capacity(n);
        for _ in 0..n {
            let f = u32_at(&bytes, at, what)?;
            let c = f32::from_bits(u32_at(&bytes, at + 4, what)?);
            counts.push((f, c));
            at += 8;
        }
        out.push(Sampled { hash, id, counts });
    }
    Ok(out)
}

fn f32s(bytes: &[u8]) -> Result<Vec<f32>> {
    Ok(super::spill::records(bytes, 4, "the topics model file")?
        .map(|r| f32::from_le_bytes([r[0], r[1], r[2], r[3]]))
        .collect())
}

impl TopicsStage {
    /// The stage; `seed` is the job's.
    pub fn new(spec: &TopicsSpec, seed: u64) -> TopicsStage {
        TopicsStage {
            spec: spec.clone(),
            seed,
        }
    }

    fn threshold(&self, docs: u64) -> u64 {
        let rate = (self.spec.sample as f64 / docs.max(1) as f64).min(1.0);
        if rate >= 1.0 {
            u64::MAX
        } else {
            (rate * u64::MAX as f64) as u64
        }
    }
}

impl GlobalStage for TopicsStage {
    fn spill_bytes_per_doc(&self) -> u64 {
        0
    }

    fn memory_limit(&self) -> u64 {
        1 << 30
    }

    fn describe(&self) -> Option<String> {
        Some(format!(
            "topics: k = {}, {} hashed features, k-means on a sample of ~{} documents",
            self.spec.k, self.spec.features, self.spec.sample
        ))
    }

    fn map(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()> {
        let dims = self.spec.features;
        let threshold = self.threshold(ctx.docs());
        let mut df = vec![0u32; dims as usize];
        let mut sample: Vec<u8> = Vec::new();
        let mut terms: BTreeMap<u32, BTreeMap<String, u64>> = BTreeMap::new();
        ctx.for_each_batch(task, |batch| {
            let text = text_column(batch)?;
            let ids = id_column(batch)?;
            let counts: Vec<Vec<(u32, f32)>> = (0..batch.num_rows())
                .into_par_iter()
                .map(|i| topics::term_counts(text.value(i), dims))
                .collect();
            for (i, c) in counts.iter().enumerate() {
                for &(f, _) in c {
                    df[f as usize] += 1;
                }
                let id = ids.value(i);
                let hash = xxh3_64(id.as_bytes());
                if hash > threshold || c.is_empty() {
                    continue;
                }
                sample.extend_from_slice(&hash.to_le_bytes());
                sample.extend_from_slice(&(id.len() as u32).to_le_bytes());
                sample.extend_from_slice(id.as_bytes());
                sample.extend_from_slice(&(c.len() as u32).to_le_bytes());
                for &(f, n) in c {
                    sample.extend_from_slice(&f.to_le_bytes());
                    sample.extend_from_slice(&n.to_bits().to_le_bytes());
                }
                topics::for_each_term(text.value(i), |t| {
                    let spellings = terms.entry(topics::feature(t, dims)).or_default();
                    match spellings.get_mut(t) {
                        Some(n) => *n += 1,
                        None => {
                            spellings.insert(t.to_owned(), 1);
                        }
                    }
                });
            }
            Ok(())
        })?;
        let df: Vec<u8> = df.iter().flat_map(|d| d.to_le_bytes()).collect();
        write_file(&ctx.work.join(format!("df-{task:05}.bin")), &df)?;
        write_file(&ctx.work.join(format!("sample-{task:05}.bin")), &sample)?;
        let json =
            serde_json::to_vec(&terms).map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_file(&ctx.work.join(format!("terms-{task:05}.json")), &json)
    }

    fn reduce(&self, ctx: &GlobalCtx<'_>) -> Result<Vec<(String, u64)>> {
        let dims = self.spec.features as usize;
        let mut df = vec![0u64; dims];
        let mut samples = Vec::new();
        let mut spellings: BTreeMap<u32, BTreeMap<String, u64>> = BTreeMap::new();
        for t in 0..ctx.tasks() {
            let path = ctx.work.join(format!("df-{t:05}.bin"));
            let bytes = read_file(&path)?;
            if bytes.len() != dims * 4 {
                return Err(damaged("a topics document-frequency file"));
            }
            for (d, c) in df.iter_mut().zip(bytes.chunks_exact(4)) {
                *d += u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            }
            samples.extend(read_samples(&ctx.work.join(format!("sample-{t:05}.bin")))?);
            let path = ctx.work.join(format!("terms-{t:05}.json"));
            let part: BTreeMap<u32, BTreeMap<String, u64>> =
                serde_json::from_slice(&read_file(&path)?)
                    .map_err(|_| damaged("a topics terms file"))?;
            for (f, counts) in part {
                let into = spellings.entry(f).or_default();
                for (term, n) in counts {
                    *into.entry(term).or_insert(0) += n;
                }
            }
        }
        // Each feature is named by its most frequent spelling in the sample.
        let terms: BTreeMap<u32, String> = spellings
            .into_iter()
            .filter_map(|(f, counts)| {
                let best = counts
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
                Some((f, best.0))
            })
            .collect();
        samples.sort_by(|a, b| (a.hash, &a.id).cmp(&(b.hash, &b.id)));
        let idf = topics::idf(&df, ctx.docs());
        let vectors: Vec<Vec<(u32, f32)>> = ctx.pool.install(|| {
            samples
                .par_iter()
                .map(|s| topics::weigh(&s.counts, &idf))
                .collect()
        });
        let (centroids, assign) = ctx.pool.install(|| {
            topics::kmeans(&vectors, dims, self.spec.k, self.spec.iterations, self.seed)
        });
        let mut model: Vec<u8> = Vec::with_capacity((centroids.weights.len() + dims) * 4);
        model.extend_from_slice(&(centroids.k as u32).to_le_bytes());
        for w in idf.iter().chain(&centroids.weights) {
            model.extend_from_slice(&w.to_le_bytes());
        }
        write_file(&ctx.work.join("model.bin"), &model)?;
        // The file people read.
        // Terms by their first letter: Han (Chinese bigrams and characters), Latin
        // (English and other Latin-script words), anything else (kana, hangul,
        // Cyrillic, …) on its own list, so Japanese does not pass for Chinese.
        let script = |f: u32| -> Option<Script> {
            let c = terms.get(&f)?.chars().next()?;
            Some(if is_han(c) {
                Script::Han
            } else if c.is_ascii_alphabetic() || ('\u{c0}'..='\u{24f}').contains(&c) {
                Script::Latin
            } else {
                Script::Other
            })
        };
        let name = |fs: Vec<u32>| -> Vec<String> {
            fs.iter().filter_map(|f| terms.get(f).cloned()).collect()
        };
        let mut clusters = Vec::with_capacity(centroids.k);
        for c in 0..centroids.k {
            let mut members: Vec<(f32, usize)> = (0..samples.len())
                .filter(|&i| assign[i] == Some(c))
                .map(|i| (1.0 - centroids.similarity(&vectors[i], c), i))
                .collect();
            members.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let n = self.spec.top_terms;
            clusters.push(Cluster {
                id: c,
                sample_docs: members.len(),
                share: members.len() as f64 / samples.len().max(1) as f64,
                top_terms_en: name(
                    centroids.top_features(c, n, |f| script(f) == Some(Script::Latin)),
                ),
                top_terms_zh: name(
                    centroids.top_features(c, n, |f| script(f) == Some(Script::Han)),
                ),
                top_terms_other: name(
                    centroids.top_features(c, n, |f| script(f) == Some(Script::Other)),
                ),
                examples: members
                    .iter()
                    .take(5)
                    .map(|m| samples[m.1].id.clone())
                    .collect(),
            });
        }
        let file = TopicsFile {
            k: centroids.k,
            features: self.spec.features,
            docs: ctx.docs(),
            sample_docs: samples.len(),
            clusters,
        };
        let json =
            serde_json::to_vec_pretty(&file).map_err(|e| PipelineError::Internal(e.to_string()))?;
        let dir = ctx.output.join(TOPICS_DIR);
        std::fs::create_dir_all(&dir).map_err(PipelineError::io(&dir))?;
        write_file(&dir.join("topics.json"), &json)?;
        Ok(vec![
            ("sample_docs".into(), samples.len() as u64),
            ("clusters".into(), centroids.k as u64),
        ])
    }

    fn applier(&self, ctx: &GlobalCtx<'_>, _task: usize) -> Result<Box<dyn MapStage>> {
        let dims = self.spec.features as usize;
        let path = ctx.work.join("model.bin");
        let bytes = read_file(&path)?;
        let k = u32_at(&bytes, 0, "the topics model file")? as usize;
        let values = f32s(&bytes[4..])?;
        if values.len() != dims * (k + 1) {
            return Err(damaged("the topics model file"));
        }
        let (idf, weights) = values.split_at(dims);
        Ok(Box::new(Assigner {
            dims: self.spec.features,
            idf: idf.to_vec(),
            centroids: Arc::new(Centroids {
                k,
                dims,
                weights: weights.to_vec(),
            }),
        }))
    }
}

struct Assigner {
    dims: u32,
    idf: Vec<f32>,
    centroids: Arc<Centroids>,
}

fn fields() -> [Field; 2] {
    [
        Field::new(TOPIC_ID, DataType::Int32, true),
        Field::new(TOPIC_DISTANCE, DataType::Float32, true),
    ]
}

impl MapStage for Assigner {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &fields())
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let text = text_column(batch)?;
        let nearest: Vec<Option<(usize, f32)>> = (0..batch.num_rows())
            .into_par_iter()
            .map(|i| {
                let v = topics::weigh(&topics::term_counts(text.value(i), self.dims), &self.idf);
                self.centroids.nearest(&v)
            })
            .collect();
        stats.count(
            "no_terms",
            nearest.iter().filter(|n| n.is_none()).count() as u64,
        );
        let ids: ArrayRef = Arc::new(Int32Array::from_iter(
            nearest.iter().map(|n| n.map(|n| n.0 as i32)),
        ));
        let dist: ArrayRef = Arc::new(Float32Array::from_iter(
            nearest.iter().map(|n| n.map(|n| n.1)),
        ));
        let batch = with_columns(batch, &fields(), vec![ids, dist])?;
        partition(&batch, &vec![None; batch.num_rows()])
    }
}

/// The `topics` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<TopicsSpec> for Kind {
    fn is_global(&self, _spec: &TopicsSpec) -> bool {
        true
    }

    fn extra_outputs(&self, _spec: &TopicsSpec) -> &'static [&'static str] {
        &[TOPICS_DIR]
    }

    fn build(
        &self,
        spec: &TopicsSpec,
        job: &crate::job::LoadedJob,
        _prev: Option<&Path>,
    ) -> Result<crate::registry::Built> {
        Ok(crate::registry::Built::Global(Box::new(TopicsStage::new(
            spec,
            job.spec.job.seed,
        ))))
    }
}
