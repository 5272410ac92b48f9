//! `mix`: the training mixture, as a global stage.
//!
//! Map (per task): each document is assigned to the first source whose SQL predicate it
//! matches and its tokens are estimated (characters, calibrated per source on an exactly
//! tokenized 1-in-16 sample when a tokenizer is given). Reduce: per-source sums give each
//! source's available tokens, its target and so its epochs; the plan is written to
//! `<mix>/mix_plan.json`. Apply: every document gets `copies = ⌊e⌋ + [u < e − ⌊e⌋]` for its
//! epochs `e` and a uniform `u` hashed from its id and the job seed, so down- and
//! up-sampling are deterministic and independent of the task layout. Documents with no
//! copy are removed (`mix_unselected`, `mix_downsampled`); kept ones carry `mix.source`
//! and `mix.copies`, which `tokenize` honours.

use std::path::Path;
use std::sync::Arc;

use crate::encoder::Encoder;
use arrow::array::{Array, ArrayRef, AsArray, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, SchemaRef, UInt32Type};
use datafusion::common::DFSchema;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use taojin_schemas::manifest::{MixPlan, MixSourcePlan};
use taojin_schemas::{ClusterWeight, MixSpec, TaskStats, columns};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::spill::{read_file, write_file};
use super::{GlobalCtx, GlobalStage, RowCursor};
use crate::batch::{Processed, partition, text_column, with_columns, with_fields};
use crate::error::{PipelineError, Result};
use crate::stages::MapStage;

pub use super::mix_plan::{MIX_COPIES, MIX_SOURCE, PLAN_FILE, read_plan};

const SALT_COPIES: u64 = 0x6d69_785f_636f_7079;
const SALT_SAMPLE: u64 = 0x6d69_785f_7361_6d70;
/// One document in this many is tokenized exactly to calibrate the estimate.
const SAMPLE_EVERY: u64 = 16;
/// Bytes of one map record: source, estimate, exact, cluster size, bytes.
const RECORD: usize = 20;
const NOT_SAMPLED: u32 = u32::MAX;
/// Repeats allowed without an explicit `max_epochs`, for a source and for any one
/// document (cluster weights can ask more of one document than of its source).
pub const MAX_EPOCHS: f64 = 64.0;

/// The `mix` stage.
pub struct MixStage {
    spec: MixSpec,
    seed: u64,
    key: String,
    tokenizer: Option<Encoder>,
}

/// Estimated tokens of a text plus its EOS, from characters alone: Han (and other CJK)
/// characters ×0.7, other bytes ÷4.2 — typical of a large byte-level bilingual BPE.
pub fn estimate_tokens(text: &str) -> f32 {
    let (mut cjk, mut other) = (0u32, 0u32);
    for c in text.chars() {
        match c as u32 {
            0x2E80..=0x9FFF
            | 0xAC00..=0xD7AF
            | 0xF900..=0xFAFF
            | 0xFF00..=0xFFEF
            | 0x20000..=0x2FFFF => cjk += 1,
            _ => other += c.len_utf8() as u32,
        }
    }
    cjk as f32 * 0.7 + other as f32 / 4.2 + 1.0
}

/// A uniform number in [0, 1) from a document id, the job seed and a salt.
fn uniform(id: &str, seed: u64, salt: u64) -> f64 {
    (xxh3_64_with_seed(id.as_bytes(), seed ^ salt) >> 11) as f64 / (1u64 << 53) as f64
}

/// The compiled source predicates of a mix, for one input schema.
struct Selector {
    exprs: Vec<Arc<dyn PhysicalExpr>>,
}

impl Selector {
    fn new(spec: &MixSpec, key: &str, schema: &SchemaRef) -> Result<Selector> {
        let ctx = SessionContext::new();
        let df_schema = DFSchema::try_from(schema.as_ref().clone())
            .map_err(|e| PipelineError::Internal(format!("mix schema: {e}")))?;
        let exprs = spec
            .sources
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let bad = |e: &dyn std::fmt::Display| {
                    PipelineError::Config(format!(
                        "{key}.sources[{j}].where `{}`: {e} (columns: {})",
                        s.predicate,
                        schema
                            .fields()
                            .iter()
                            .map(|f| format!("\"{}\"", f.name()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                };
                let expr = ctx
                    .parse_sql_expr(&s.predicate, &df_schema)
                    .map_err(|e| bad(&e))?;
                ctx.create_physical_expr(expr, &df_schema)
                    .map_err(|e| bad(&e))
            })
            .collect::<Result<_>>()?;
        Ok(Selector { exprs })
    }

    /// The index of the first matching source per row, -1 for none (NULL is no match).
    fn select(&self, batch: &RecordBatch) -> Result<Vec<i32>> {
        let n = batch.num_rows();
        let mut out = vec![-1i32; n];
        for (j, e) in self.exprs.iter().enumerate() {
            let values = e
                .evaluate(batch)
                .and_then(|v| v.into_array(n))
                .map_err(|e| PipelineError::Config(format!("mix predicate {j}: {e}")))?;
            let Some(mask) = values.as_boolean_opt() else {
                return Err(PipelineError::Config(format!(
                    "mix predicate {j} is {}, not a boolean",
                    values.data_type()
                )));
            };
            for (i, o) in out.iter_mut().enumerate() {
                if *o < 0 && mask.is_valid(i) && mask.value(i) {
                    *o = j as i32;
                }
            }
        }
        Ok(out)
    }
}

/// Per-source sums over map records.
#[derive(Debug, Clone, Default)]
struct Sums {
    documents: u64,
    bytes: u64,
    estimate: f64,
    weighted_estimate: f64,
    sampled: u64,
    sampled_estimate: f64,
    sampled_exact: f64,
}

impl MixStage {
    /// Builds the stage; `key` names it in errors (`stages[i]`), `tokenizer` is the
    /// resolved calibration tokenizer, if any.
    pub fn new(
        spec: &MixSpec,
        key: String,
        seed: u64,
        tokenizer: Option<&Path>,
    ) -> Result<MixStage> {
        let tokenizer = match tokenizer {
            Some(p) => Some(Encoder::from_file(p)?),
            None => None,
        };
        Ok(MixStage {
            spec: spec.clone(),
            seed,
            key,
            tokenizer,
        })
    }

    /// The map records of one task: 20 bytes per document, in order.
    fn records(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut selector: Option<Selector> = None;
        ctx.for_each_batch(task, |batch| {
            if selector.is_none() {
                selector = Some(Selector::new(&self.spec, &self.key, &batch.schema())?);
            }
            let Some(sel) = selector.as_ref() else {
                return Ok(());
            };
            let src = sel.select(batch)?;
            let text = text_column(batch)?;
            let ids = batch
                .column_by_name(columns::ID)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| PipelineError::Internal("batch without id".into()))?;
            let sizes = match self.spec.cluster_weight {
                ClusterWeight::None => None,
                _ => Some(
                    batch
                        .column_by_name(columns::DUP_CLUSTER_SIZE)
                        .and_then(|c| c.as_primitive_opt::<UInt32Type>())
                        .ok_or_else(|| {
                            PipelineError::Config(format!(
                                "{}.cluster_weight needs the `{}` column of a minhash_dedup stage before the mix",
                                self.key,
                                columns::DUP_CLUSTER_SIZE
                            ))
                        })?,
                ),
            };
            let sampled: Vec<usize> = match &self.tokenizer {
                Some(_) => (0..batch.num_rows())
                    .filter(|&i| {
                        src[i] >= 0
                            && xxh3_64_with_seed(ids.value(i).as_bytes(), self.seed ^ SALT_SAMPLE).is_multiple_of(SAMPLE_EVERY)
                    })
                    .collect(),
                None => Vec::new(),
            };
            let mut exact = vec![NOT_SAMPLED; batch.num_rows()];
            if let (Some(tok), false) = (&self.tokenizer, sampled.is_empty()) {
                let texts: Vec<&str> = sampled.iter().map(|&i| text.value(i)).collect();
                let enc = tok.encode_batch(&texts)?;
                for (&i, e) in sampled.iter().zip(&enc) {
                    exact[i] = e.len() as u32 + 1;
                }
            }
            for i in 0..batch.num_rows() {
                let t = text.value(i);
                out.extend_from_slice(&src[i].to_le_bytes());
                out.extend_from_slice(&estimate_tokens(t).to_le_bytes());
                out.extend_from_slice(&exact[i].to_le_bytes());
                let size = sizes.map_or(1, |s| if s.is_valid(i) { s.value(i) } else { 1 });
                out.extend_from_slice(&size.to_le_bytes());
                out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn add_sums(&self, sums: &mut [Sums], unselected: &mut u64, records: &[u8]) {
        for r in records.chunks_exact(RECORD) {
            let word = |k: usize| [r[k], r[k + 1], r[k + 2], r[k + 3]];
            let src = i32::from_le_bytes(word(0));
            let Some(s) = usize::try_from(src).ok().and_then(|s| sums.get_mut(s)) else {
                *unselected += 1;
                continue;
            };
            let estimate = f64::from(f32::from_le_bytes(word(4)));
            let exact = u32::from_le_bytes(word(8));
            let size = u32::from_le_bytes(word(12));
            s.documents += 1;
            s.bytes += u64::from(u32::from_le_bytes(word(16)));
            s.estimate += estimate;
            s.weighted_estimate += estimate * self.spec.cluster_weight.weight(size);
            if exact != NOT_SAMPLED {
                s.sampled += 1;
                s.sampled_estimate += estimate;
                s.sampled_exact += f64::from(exact);
            }
        }
    }

    /// Turns per-source sums into targets and epochs.
    fn plan(&self, sums: &[Sums], unselected: u64, hash: &str) -> Result<MixPlan> {
        let calib: Vec<f64> = sums
            .iter()
            .map(|s| match s.sampled {
                0 => 1.0,
                _ => s.sampled_exact / s.sampled_estimate.max(1e-9),
            })
            .collect();
        let available: Vec<f64> = sums
            .iter()
            .zip(&calib)
            .map(|(s, c)| s.estimate * c)
            .collect();
        let sources = &self.spec.sources;
        let fixed: f64 = sources.iter().filter_map(|s| s.tokens).sum::<u64>() as f64;
        let weight_sum: f64 = sources.iter().filter_map(|s| s.weight).sum();
        // Tokens of the weighted part: given, or the most that repeats no weighted source.
        let weighted_total = match self.spec.total_tokens {
            Some(t) => t as f64 - fixed,
            None => sources
                .iter()
                .zip(&available)
                .filter_map(|(s, a)| s.weight.map(|w| a / (w / weight_sum)))
                .filter(|t| *t > 0.0)
                .fold(f64::INFINITY, f64::min),
        };
        let weighted_total = if weighted_total.is_finite() {
            weighted_total
        } else {
            0.0
        };
        let plans = sources
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let avail = available[j];
                let mut target = match (s.tokens, s.weight) {
                    (Some(t), _) => t as f64,
                    (None, Some(w)) => weighted_total * w / weight_sum,
                    (None, None) => 0.0,
                };
                if let Some(cap) = s.max_epochs {
                    target = target.min(cap * avail);
                }
                let epochs = if avail > 0.0 { target / avail } else { 0.0 };
                if s.max_epochs.is_none() && epochs > MAX_EPOCHS {
                    return Err(PipelineError::Config(format!(
                        "{}.sources[{j}] `{}` would be repeated {epochs:.1} times ({target:.0} tokens asked, {avail:.0} available); set its max_epochs to allow more than {MAX_EPOCHS}",
                        self.key, s.name
                    )));
                }
                let weighted = sums[j].weighted_estimate * calib[j];
                Ok(MixSourcePlan {
                    name: s.name.clone(),
                    documents: sums[j].documents,
                    bytes: sums[j].bytes,
                    tokens_available: avail,
                    sampled_documents: sums[j].sampled,
                    tokens_target: target,
                    epochs,
                    scale: if weighted > 0.0 {
                        target / weighted
                    } else {
                        0.0
                    },
                    tokens_realized: None,
                    documents_realized: None,
                })
            })
            .collect::<Result<_>>()?;
        Ok(MixPlan {
            stage_hash: hash.to_string(),
            unselected_docs: unselected,
            sources: plans,
        })
    }

    /// The plan a run would make, computed in memory without writing anything (the
    /// `taojin mix --dry-run` path); the previous stage must have finished.
    pub fn dry_run(&self, ctx: &GlobalCtx<'_>) -> Result<MixPlan> {
        use rayon::prelude::*;
        let parts: Vec<Result<(Vec<Sums>, u64)>> = ctx.pool.install(|| {
            (0..ctx.tasks())
                .into_par_iter()
                .map(|t| {
                    let mut sums = vec![Sums::default(); self.spec.sources.len()];
                    let mut unselected = 0;
                    self.add_sums(&mut sums, &mut unselected, &self.records(ctx, t)?);
                    Ok((sums, unselected))
                })
                .collect()
        });
        let mut sums = vec![Sums::default(); self.spec.sources.len()];
        let mut unselected = 0;
        for p in parts {
            let (part, u) = p?;
            unselected += u;
            for (s, x) in sums.iter_mut().zip(part) {
                merge(s, &x);
            }
        }
        self.plan(&sums, unselected, &ctx.hash)
    }
}

fn merge(into: &mut Sums, x: &Sums) {
    into.documents += x.documents;
    into.bytes += x.bytes;
    into.estimate += x.estimate;
    into.weighted_estimate += x.weighted_estimate;
    into.sampled += x.sampled;
    into.sampled_estimate += x.sampled_estimate;
    into.sampled_exact += x.sampled_exact;
}

fn stage_dir<'a>(ctx: &'a GlobalCtx<'_>) -> Result<&'a Path> {
    ctx.work
        .parent()
        .ok_or_else(|| PipelineError::Internal("no stage folder".into()))
}

impl GlobalStage for MixStage {
    fn spill_bytes_per_doc(&self) -> u64 {
        RECORD as u64
    }

    fn memory_limit(&self) -> u64 {
        u64::MAX
    }

    fn describe(&self) -> Option<String> {
        Some(format!(
            "{} sources, total {}, cluster weight {:?}, estimates {}",
            self.spec.sources.len(),
            self.spec.total_tokens.map_or(
                "the largest without repeating a weighted source".into(),
                |t| { t.to_string() }
            ),
            self.spec.cluster_weight,
            if self.tokenizer.is_some() {
                "calibrated on a 1-in-16 tokenized sample"
            } else {
                "from characters"
            }
        ))
    }

    fn map(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<()> {
        let records = self.records(ctx, task)?;
        write_file(&ctx.work.join(format!("records-{task:05}.bin")), &records)
    }

    fn reduce(&self, ctx: &GlobalCtx<'_>) -> Result<Vec<(String, u64)>> {
        let mut sums = vec![Sums::default(); self.spec.sources.len()];
        let mut unselected = 0;
        for t in 0..ctx.tasks() {
            let records = read_file(&ctx.work.join(format!("records-{t:05}.bin")))?;
            self.add_sums(&mut sums, &mut unselected, &records);
        }
        let plan = self.plan(&sums, unselected, &ctx.hash)?;
        for s in &plan.sources {
            tracing::info!(
                source = %s.name,
                documents = s.documents,
                tokens_available = format!("{:.0}", s.tokens_available),
                tokens_target = format!("{:.0}", s.tokens_target),
                epochs = format!("{:.3}", s.epochs),
                "mix source"
            );
        }
        let json =
            serde_json::to_vec_pretty(&plan).map_err(|e| PipelineError::Internal(e.to_string()))?;
        write_file(&stage_dir(ctx)?.join(PLAN_FILE), &json)?;
        let mut counters = vec![("unselected".to_string(), unselected)];
        for s in &plan.sources {
            counters.push((format!("target_tokens.{}", s.name), s.tokens_target as u64));
        }
        Ok(counters)
    }

    fn applier(&self, ctx: &GlobalCtx<'_>, task: usize) -> Result<Box<dyn MapStage>> {
        let plan = read_plan(stage_dir(ctx)?)?
            .ok_or_else(|| PipelineError::Internal("mix plan missing after reduce".into()))?;
        let records = read_file(&ctx.work.join(format!("records-{task:05}.bin")))?;
        let rows = records
            .chunks_exact(RECORD)
            .map(|r| {
                (
                    i32::from_le_bytes([r[0], r[1], r[2], r[3]]),
                    u32::from_le_bytes([r[12], r[13], r[14], r[15]]),
                )
            })
            .collect();
        Ok(Box::new(MixApplier {
            rows: RowCursor::new(rows),
            names: plan.sources.iter().map(|s| s.name.clone()).collect(),
            scales: plan.sources.iter().map(|s| s.scale).collect(),
            caps: self
                .spec
                .sources
                .iter()
                .map(|s| s.max_epochs.unwrap_or(MAX_EPOCHS))
                .collect(),
            weight: self.spec.cluster_weight,
            seed: self.seed,
        }))
    }
}

/// Gives each document its copies and source.
struct MixApplier {
    rows: RowCursor<(i32, u32)>,
    names: Vec<String>,
    scales: Vec<f64>,
    /// Most copies of one document, per source.
    caps: Vec<f64>,
    weight: ClusterWeight,
    seed: u64,
}

fn mix_fields() -> [Field; 2] {
    [
        Field::new(MIX_SOURCE, DataType::Utf8, true),
        Field::new(MIX_COPIES, DataType::Int32, true),
    ]
}

impl MapStage for MixApplier {
    fn output_schema(&self, input: &SchemaRef) -> SchemaRef {
        with_fields(input, &mix_fields())
    }

    fn process(&self, batch: &RecordBatch, stats: &mut TaskStats) -> Result<Processed> {
        let n = batch.num_rows();
        let rows = self.rows.take(n)?;
        let ids = batch
            .column_by_name(columns::ID)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| PipelineError::Internal("batch without id".into()))?;
        let mut copies = Vec::with_capacity(n);
        let mut reasons = Vec::with_capacity(n);
        for (i, &(src, size)) in rows.iter().enumerate() {
            let Some(scale) = usize::try_from(src).ok().and_then(|s| self.scales.get(s)) else {
                copies.push(0);
                reasons.push(Some("mix_unselected"));
                continue;
            };
            let cap = self.caps.get(src as usize).copied().unwrap_or(MAX_EPOCHS);
            let e = (scale * self.weight.weight(size)).min(cap);
            let u = uniform(ids.value(i), self.seed, SALT_COPIES);
            let c = e.floor() as i32 + i32::from(u < e.fract());
            copies.push(c);
            reasons.push((c == 0).then_some("mix_downsampled"));
        }
        stats.count(
            "copies",
            copies.iter().map(|&c| u64::try_from(c).unwrap_or(0)).sum(),
        );
        let names: ArrayRef =
            Arc::new(StringArray::from_iter(rows.iter().map(|r| {
                usize::try_from(r.0).ok().and_then(|s| self.names.get(s))
            })));
        let copies: ArrayRef = Arc::new(Int32Array::from(copies));
        let batch = with_columns(batch, &mix_fields(), vec![names, copies])?;
        partition(&batch, &reasons)
    }
}

/// The `mix` kind in the stage registry.
pub struct Kind;

impl crate::registry::StageKind<taojin_schemas::MixSpec> for Kind {
    fn is_global(&self, _spec: &taojin_schemas::MixSpec) -> bool {
        true
    }

    fn files(
        &self,
        spec: &taojin_schemas::MixSpec,
        job: &crate::job::LoadedJob,
    ) -> Vec<(String, std::path::PathBuf)> {
        spec.tokenizer
            .iter()
            .map(|t| ("tokenizer".to_string(), job.resolve(t)))
            .collect()
    }

    fn build(
        &self,
        spec: &taojin_schemas::MixSpec,
        job: &crate::job::LoadedJob,
        _prev: Option<&std::path::Path>,
    ) -> Result<crate::registry::Built> {
        Ok(crate::registry::Built::Global(Box::new(super::mix_stage(
            spec, job,
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taojin_schemas::MixSource;

    fn source(name: &str, weight: Option<f64>, tokens: Option<u64>) -> MixSource {
        MixSource {
            name: name.into(),
            predicate: "true".into(),
            weight,
            tokens,
            max_epochs: None,
        }
    }

    fn stage(total: Option<u64>, sources: Vec<MixSource>) -> MixStage {
        let spec = MixSpec {
            name: None,
            total_tokens: total,
            cluster_weight: ClusterWeight::None,
            tokenizer: None,
            sources,
        };
        MixStage::new(&spec, "stages[1]".into(), 42, None).expect("stage")
    }

    fn sums(estimates: &[f64]) -> Vec<Sums> {
        estimates
            .iter()
            .map(|&e| Sums {
                documents: 10,
                estimate: e,
                weighted_estimate: e,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn without_a_total_the_scarcest_weighted_source_is_taken_whole() {
        let s = stage(
            None,
            vec![source("en", Some(3.0), None), source("zh", Some(1.0), None)],
        );
        let p = s.plan(&sums(&[600.0, 100.0]), 0, "h").expect("plan");
        // en can give 600 at weight 3/4 → 800 total; zh gives 100 at 1/4 → 400: zh binds.
        assert!((p.sources[1].epochs - 1.0).abs() < 1e-12);
        assert!((p.sources[0].tokens_target - 300.0).abs() < 1e-9);
        assert!((p.sources[0].epochs - 0.5).abs() < 1e-12);
    }

    #[test]
    fn totals_fixed_targets_and_caps() {
        let s = stage(
            Some(1000),
            vec![
                source("en", Some(1.0), None),
                source("zh", Some(1.0), None),
                source("code", None, Some(200)),
            ],
        );
        let p = s.plan(&sums(&[800.0, 100.0, 400.0]), 3, "h").expect("plan");
        assert_eq!(p.unselected_docs, 3);
        assert!((p.sources[0].tokens_target - 400.0).abs() < 1e-9);
        assert!((p.sources[1].epochs - 4.0).abs() < 1e-12, "up-sampled");
        assert!((p.sources[2].epochs - 0.5).abs() < 1e-12);
        let mut capped = source("zh", Some(1.0), None);
        capped.max_epochs = Some(2.0);
        let s = stage(Some(1000), vec![source("en", Some(1.0), None), capped]);
        let p = s.plan(&sums(&[800.0, 100.0]), 0, "h").expect("plan");
        assert!((p.sources[1].epochs - 2.0).abs() < 1e-12, "capped");
        // Without a cap, asking for more than MAX_EPOCHS repeats is an error naming it.
        let s = stage(
            Some(100_000),
            vec![source("en", Some(1.0), None), source("zh", Some(1.0), None)],
        );
        let err = s
            .plan(&sums(&[800.0, 100.0]), 0, "h")
            .expect_err("too many");
        assert!(err.to_string().contains("sources[1] `zh`"), "{err}");
    }

    #[test]
    fn calibration_and_cluster_weights_scale_documents() {
        let s = stage(None, vec![source("en", Some(1.0), None)]);
        let mut x = sums(&[1000.0]);
        x[0].sampled = 5;
        x[0].sampled_estimate = 100.0;
        x[0].sampled_exact = 150.0;
        x[0].weighted_estimate = 2000.0;
        let p = s.plan(&x, 0, "h").expect("plan");
        assert!((p.sources[0].tokens_available - 1500.0).abs() < 1e-9);
        // Weighted sum is twice the plain one: per-document epochs halve, so a weight-2
        // document gets exactly one pass on average.
        assert!((p.sources[0].scale - 0.5).abs() < 1e-12);
    }

    #[test]
    fn estimates_count_han_and_latin() {
        assert!((estimate_tokens("") - 1.0).abs() < 1e-6);
        assert!((estimate_tokens("中文字") - (1.0 + 2.1)).abs() < 1e-5);
        assert!((estimate_tokens("abcdefghijklmnopqrstu") - (1.0 + 5.0)).abs() < 1e-5);
    }
}
