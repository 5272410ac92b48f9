//! `perplexity`: CCNet's document perplexity under one n-gram model per language, and
//! buckets by the run's own per-language percentiles (CCNet splits at the 30th and 60th:
//! `head` < p30 ≤ `middle` < p60 ≤ `tail`).
//!
//! - **map** scores each document once (its lines, `<s>`/`</s>` around each, long
//!   documents on an evenly spaced sample of lines) and writes one f32 per document
//!   (NaN: no model or no units) plus a per-language histogram of log10 perplexity in
//!   steps of 10⁻⁴ (a bin is 0.023% of perplexity; memory is bins, not documents);
//! - **reduce** merges the histograms into per-language cut-offs (`cutoffs.json`);
//! - **apply** adds `ppl.doc` and `ppl.bucket` from the stored scores and, in `drop`
//!   mode, removes the tail and documents above `max_ppl` as `perplexity:tail`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, Float32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, SchemaRef};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use taojin_filters::lm::NgramModel;
use taojin_schemas::{PerplexitySpec, StageMode, TaskStats, columns};

use super::spill::{damaged, read_file, write_file};
use super::{GlobalCtx, GlobalStage, RowCursor};
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};
use crate::stages::MapStage;

/// Reason for documents in the tail bucket or above `max_ppl`.
pub const REASON_TAIL: &str = "perplexity:tail";
/// The document perplexity column.
pub const PPL_DOC: &str = "ppl.doc";
/// The bucket column: `head`, `middle` or `tail`.
pub const PPL_BUCKET: &str = "ppl.bucket";
/// Histogram bins per unit of log10 perplexity.
const BINS_PER_DECADE: f64 = 10_000.0;

/// Per-language cut-offs of a run, as `cutoffs.json` holds them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cutoffs {
    /// Per language: documents scored and the two percentile perplexities.
    pub langs: BTreeMap<String, LangCutoffs>,
}

/// The cut-offs of one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LangCutoffs {
    /// Documents with a score.
    pub docs: u64,
    /// Histogram bin of the lower percentile (`head` is below it).
    pub head_below: u32,
    /// Histogram bin of the upper percentile (`tail` starts at it).
    pub tail_from: u32,
    /// The two percentile perplexities (bin lower edges), for people.
    pub ppl: [f64; 2],
    /// `max_ppl` for this language: documents above it are removed as
    /// `perplexity:tail` in `drop` mode whatever their bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ppl: Option<f64>,
}

fn bin(ppl: f32) -> u32 {
    (f64::from(ppl).max(1.0).log10() * BINS_PER_DECADE).round() as u32
}

fn bin_ppl(bin: u32) -> f64 {
    10f64.powf(f64::from(bin) / BINS_PER_DECADE)
}

type Histograms = BTreeMap<String, BTreeMap<u32, u64>>;

/// The `perplexity` stage.
pub struct PerplexityStage {
    spec: PerplexitySpec,
    paths: BTreeMap<String, PathBuf>,
    models: OnceLock<std::result::Result<BTreeMap<String, Arc<NgramModel>>, String>>,
}

impl PerplexityStage {
    /// The stage; `paths` are the resolved model files by key.
    pub fn new(spec: &PerplexitySpec, paths: BTreeMap<String, PathBuf>) -> PerplexityStage {
        PerplexityStage {
            spec: spec.clone(),
            paths,
            models: OnceLock::new(),
        }
    }

    /// The models, loaded once per process (one file serving several keys loads once).
    fn models(&self) -> Result<&BTreeMap<String, Arc<NgramModel>>> {
        self.models
            .get_or_init(|| {
                let mut by_path: HashMap<&PathBuf, Arc<NgramModel>> = HashMap::new();
                let mut out = BTreeMap::new();
                for (key, path) in &self.paths {
                    let m = match by_path.get(path) {
                        Some(m) => m.clone(),
                        None => {
                            let m = Arc::new(crate::lm::load(path).map_err(|e| e.to_string())?);
                            by_path.insert(path, m.clone());
                            m
                        }
                    };
                    out.insert(key.clone(), m);
                }
                Ok(out)
            })
            .as_ref()
            .map_err(|e| PipelineError::Config(format!("perplexity model: {e}")))
    }

    fn scores_path(ctx: &GlobalCtx<'_>, task: usize) -> PathBuf {
        ctx.work.join(format!("scores-{task:05}.bin"))
    }

    fn histogram_path(ctx: &GlobalCtx<'_>, task: usize) -> PathBuf {
        ctx.work.join(format!("hist-{task:05}.json"))
    }
}

/// The language label of each row ("und" without a `lang` column or value).
fn langs(batch: &RecordBatch) -> Vec<&str> {
    let col = batch
        .column_by_name(columns::LANG)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>());
    (0..batch.num_rows())
        .map(|i| match col {
            Some(c) if c.is_valid(i) => c.value(i),
            _ => "und",
        })
        .collect()
}

impl GlobalStage for PerplexityStage {
    fn spill_bytes_per_doc(&self) -> u64 {
        4
    }

    fn memory_limit(&self) -> u64 {
        1 << 30
    }

    fn describe(&self) -> Option<String> {
        let models: Vec<String> = self
            .paths
            .iter()
            .map(|(k, p)| format!("{k} = {}", p.display()))
            .collect();
        Some(format!(
            "perplexity: models {}; buckets at p{} / p{} per language",
            models.join(", "),
            self.spec.percentiles[0],
            self.spec.percentiles[1]
        ))
    }

    fn map(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()> {
        let models = self.models()?;
        let mut scores: Vec<u8> = Vec::new();
        let mut hist: Histograms = BTreeMap::new();
        ctx.for_each_batch(task, |batch| {
            let text = text_column(batch)?;
            let langs = langs(batch);
            let ppl: Vec<f32> = (0..batch.num_rows())
                .into_par_iter()
                .map(|i| {
                    PerplexitySpec::key_for(models, langs[i])
                        .and_then(|m| {
                            m.score_document(text.value(i), Some(self.spec.max_units))
                                .perplexity()
                        })
                        .map_or(f32::NAN, |p| p as f32)
                })
                .collect();
            for (p, lang) in ppl.iter().zip(&langs) {
                scores.extend_from_slice(&p.to_le_bytes());
                if !p.is_nan() {
                    *hist
                        .entry((*lang).to_owned())
                        .or_default()
                        .entry(bin(*p))
                        .or_insert(0) += 1;
                }
            }
            Ok(())
        })?;
        write_file(&Self::scores_path(ctx, task), &scores)?;
        let json = serde_json::to_vec(&hist).map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_file(&Self::histogram_path(ctx, task), &json)
    }

    fn reduce(&self, ctx: &GlobalCtx<'_>) -> Result<Vec<(String, u64)>> {
        let mut all: Histograms = BTreeMap::new();
        for t in 0..ctx.tasks() {
            let path = Self::histogram_path(ctx, t);
            let h: Histograms = serde_json::from_slice(&read_file(&path)?)
                .map_err(|_| damaged("a perplexity histogram file"))?;
            for (lang, bins) in h {
                let into = all.entry(lang).or_default();
                for (b, n) in bins {
                    *into.entry(b).or_insert(0) += n;
                }
            }
        }
        let mut cutoffs = Cutoffs::default();
        let mut scored = 0;
        for (lang, bins) in &all {
            let docs: u64 = bins.values().sum();
            scored += docs;
            let at = |q: f64| {
                // Nearest rank: the first bin whose cumulative count reaches q of the docs.
                let rank = ((q / 100.0) * docs as f64).ceil().max(1.0) as u64;
                let mut acc = 0;
                for (&b, &n) in bins {
                    acc += n;
                    if acc >= rank {
                        return b;
                    }
                }
                bins.keys().next_back().copied().unwrap_or(0)
            };
            let (lo, hi) = (at(self.spec.percentiles[0]), at(self.spec.percentiles[1]));
            cutoffs.langs.insert(
                lang.clone(),
                LangCutoffs {
                    docs,
                    head_below: lo,
                    tail_from: hi,
                    ppl: [bin_ppl(lo), bin_ppl(hi)],
                    max_ppl: PerplexitySpec::key_for(&self.spec.max_ppl, lang).copied(),
                },
            );
        }
        let json = serde_json::to_vec_pretty(&cutoffs)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_file(&ctx.work.join("cutoffs.json"), &json)?;
        Ok(vec![
            ("scored_docs".into(), scored),
            ("languages".into(), all.len() as u64),
        ])
    }

    fn applier(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<Box<dyn MapStage>> {
        let path = ctx.work.join("cutoffs.json");
        let cutoffs: Cutoffs = serde_json::from_slice(&read_file(&path)?)
            .map_err(|_| damaged("the perplexity cut-offs file"))?;
        let bytes = read_file(&Self::scores_path(ctx, task))?;
        let scores: Vec<f32> = super::spill::records(&bytes, 4, "a perplexity score file")?
            .map(|r| f32::from_le_bytes([r[0], r[1], r[2], r[3]]))
            .collect();
        Ok(Box::new(Bucketer {
            scores: RowCursor::new(scores),
            cutoffs,
            spec: self.spec.clone(),
        }))
    }
}

struct Bucketer {
    scores: RowCursor<f32>,
    cutoffs: Cutoffs,
    spec: PerplexitySpec,
}

fn fields() -> [Field; 2] {
    [
        Field::new(PPL_DOC, DataType::Float32, true),
        Field::new(PPL_BUCKET, DataType::Utf8, true),
    ]
}

impl MapStage for Bucketer {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &fields())
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let scores = self.scores.take(batch.num_rows())?;
        let langs = langs(batch);
        let mut buckets: Vec<Option<&str>> = Vec::with_capacity(scores.len());
        let mut reasons: Vec<Option<&str>> = Vec::with_capacity(scores.len());
        for (&p, lang) in scores.iter().zip(&langs) {
            let cut = self.cutoffs.langs.get(*lang).filter(|_| !p.is_nan());
            let bucket = cut.map(|c| {
                let b = bin(p);
                if b < c.head_below {
                    "head"
                } else if b < c.tail_from {
                    "middle"
                } else {
                    "tail"
                }
            });
            if let Some(b) = bucket {
                stats.count(&format!("bucket_{b}"), 1);
            }
            let above = !p.is_nan()
                && PerplexitySpec::key_for(&self.spec.max_ppl, lang)
                    .is_some_and(|&max| f64::from(p) > max);
            let drop = self.spec.mode == StageMode::Drop
                && ((self.spec.drop_tail && bucket == Some("tail")) || above);
            buckets.push(bucket);
            reasons.push(drop.then_some(REASON_TAIL));
        }
        let ppl: ArrayRef = Arc::new(Float32Array::from_iter(
            scores.iter().map(|&p| (!p.is_nan()).then_some(p)),
        ));
        let bucket: ArrayRef = Arc::new(StringArray::from(buckets));
        let batch = with_columns(batch, &fields(), vec![ppl, bucket])?;
        partition(&batch, &reasons)
    }
}

/// The `perplexity` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<PerplexitySpec> for Kind {
    fn is_global(&self, _spec: &PerplexitySpec) -> bool {
        true
    }

    fn files(&self, spec: &PerplexitySpec, job: &crate::job::LoadedJob) -> Vec<(String, PathBuf)> {
        spec.models
            .iter()
            .map(|(k, p)| (format!("models.{k}"), job.resolve(p)))
            .collect()
    }

    fn build(
        &self,
        spec: &PerplexitySpec,
        job: &crate::job::LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<crate::registry::Built> {
        let paths = spec
            .models
            .iter()
            .map(|(k, p)| (k.clone(), job.resolve(p)))
            .collect();
        Ok(crate::registry::Built::Global(Box::new(
            PerplexityStage::new(spec, paths),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_fine_enough() {
        for p in [1.0f32, 2.5, 340.0, 1460.0, 1e6] {
            let back = bin_ppl(bin(p));
            assert!((back / f64::from(p) - 1.0).abs() < 2.4e-4, "{p} → {back}");
        }
    }
}
