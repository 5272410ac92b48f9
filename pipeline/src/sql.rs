//! `taojin sql OUT "SELECT …"`: DataFusion over a job's outputs. Every stage folder is a
//! table of its kept rows (named like the stage), and `<stage>_removed` holds its removed
//! rows with their reasons — a new threshold or mix is a query, not a rerun.

use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::error::{PipelineError, Result};

/// Output formats of `taojin sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header.
    Csv,
    /// JSON lines.
    Json,
    /// A Parquet file (needs an output path).
    Parquet,
}

fn df_err(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Config(format!("sql: {e}"))
}

/// The stage folders of an output (those holding `_stage.json`), sorted.
pub fn stage_tables(out: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut v: Vec<_> = std::fs::read_dir(out)
        .map_err(PipelineError::io(out))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("_stage.json").is_file())
        .filter_map(|p| Some((p.file_name()?.to_string_lossy().into_owned(), p)))
        .collect();
    v.sort();
    Ok(v)
}

fn has_parts(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with("part-")
                && e.path().extension().is_some_and(|x| x == "parquet")
        })
    })
}

/// Runs `query` over the stage tables of `out` and returns the result batches.
pub fn query(out: &Path, query: &str) -> Result<Vec<RecordBatch>> {
    let mut results = queries(out, |_| vec![query.to_string()])?;
    Ok(results.pop().unwrap_or_default())
}

/// Runs the queries `make(tables)` returns (given the registered table names) in one
/// session over the stage tables of `out`, in order.
pub fn queries(
    out: &Path,
    make: impl FnOnce(&[String]) -> Vec<String>,
) -> Result<Vec<Vec<RecordBatch>>> {
    queries_over(out, None, None, make)
}

/// Part files chosen per table (`stage`, `stage_removed`), read instead of the folder's.
pub type Picked = std::collections::BTreeMap<String, Vec<std::path::PathBuf>>;

/// [`queries`] over at most `max_files` part files per table, spread evenly over its
/// files: a bounded sample for summaries of very large runs. A table in `picked` reads
/// those files instead (a sample made elsewhere, e.g. from a bucket's listing).
pub fn queries_sampled(
    out: &Path,
    max_files: usize,
    picked: Option<&Picked>,
    make: impl FnOnce(&[String]) -> Vec<String>,
) -> Result<Vec<Vec<RecordBatch>>> {
    queries_over(out, Some(max_files.max(1)), picked, make)
}

/// The part files of a folder, sorted.
pub fn part_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
                && p.extension().is_some_and(|x| x == "parquet")
        })
        .collect();
    v.sort();
    v
}

/// At most `n` of `files`, evenly spaced (every k-th file).
pub fn sample_files(files: Vec<std::path::PathBuf>, n: usize) -> Vec<std::path::PathBuf> {
    let step = files.len().div_ceil(n.max(1)).max(1);
    files.into_iter().step_by(step).collect()
}

/// The part files a sampled summary reads for `table` (held in `folder`): those `picked`
/// names for it, else at most `max_files` of the folder's, evenly spaced; none when the
/// folder has no part files. What [`queries_sampled`] registers, for readers of their own.
pub fn sampled_parts(
    folder: &Path,
    table: &str,
    max_files: usize,
    picked: Option<&Picked>,
) -> Vec<std::path::PathBuf> {
    if !has_parts(folder) {
        return Vec::new();
    }
    match picked.and_then(|p| p.get(table)) {
        Some(files) => files.clone(),
        None => sample_files(part_files(folder), max_files.max(1)),
    }
}

fn queries_over(
    out: &Path,
    sample: Option<usize>,
    picked: Option<&Picked>,
    make: impl FnOnce(&[String]) -> Vec<String>,
) -> Result<Vec<Vec<RecordBatch>>> {
    let tables = stage_tables(out)?;
    if tables.is_empty() {
        return Err(PipelineError::Config(format!(
            "{}: no stage outputs (has the job run?)",
            out.display()
        )));
    }
    let start = std::time::Instant::now();
    let results = runtime()?.block_on(async {
        let ctx = SessionContext::new();
        let mut registered = Vec::new();
        for (name, dir) in &tables {
            for (table, folder) in [
                (name.clone(), dir.clone()),
                (format!("{name}_removed"), dir.join("removed")),
            ] {
                // A sampled table's files come from sampled_parts, which checks too.
                if sample.is_none() && !has_parts(&folder) {
                    continue;
                }
                match sample {
                    None => {
                        let glob = format!("{}/part-*.parquet", folder.display());
                        ctx.register_parquet(
                            format!("\"{table}\""),
                            &glob,
                            ParquetReadOptions::default(),
                        )
                        .await
                        .map_err(df_err)?;
                    }
                    Some(n) => {
                        let files = sampled_parts(&folder, &table, n, picked);
                        if files.is_empty() {
                            continue;
                        }
                        let picked: Vec<String> =
                            files.iter().map(|p| p.display().to_string()).collect();
                        let df = ctx
                            .read_parquet(picked, ParquetReadOptions::default())
                            .await
                            .map_err(df_err)?;
                        ctx.register_table(format!("\"{table}\""), df.into_view())
                            .map_err(df_err)?;
                    }
                }
                registered.push(table);
            }
        }
        // Two queries at a time (most are small, and one alone keeps a core idle while
        // it plans; all at once held twice the memory); results in the order asked.
        let mut results = Vec::new();
        let queries = make(&registered);
        for pair in queries.chunks(2) {
            let running: Vec<_> = pair
                .iter()
                .map(|q| {
                    let (ctx, q) = (ctx.clone(), q.clone());
                    tokio::spawn(async move { ctx.sql(&q).await?.collect().await })
                })
                .collect();
            for r in running {
                let batches = r
                    .await
                    .map_err(|e| PipelineError::Internal(format!("query task: {e}")))?;
                results.push(batches.map_err(df_err)?);
            }
        }
        Ok::<_, PipelineError>(results)
    })?;
    let seconds = start.elapsed().as_secs_f64();
    tracing::debug!(
        queries = results.len(),
        seconds,
        "queries over {}",
        out.display()
    );
    Ok(results)
}

/// `xxh3(text)`: the 64-bit xxh3 of a string, for deterministic
/// spread-out samples (`ORDER BY xxh3(id), id`).
fn xxh3_udf() -> datafusion::logical_expr::ScalarUDF {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, UInt64Array};
    use arrow::datatypes::DataType;
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    let f = Arc::new(|args: &[ColumnarValue]| {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let strings = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let strings = strings.as_string::<i32>();
        let hashed: UInt64Array = strings
            .iter()
            .map(|v| v.map(|s| xxhash_rust::xxh3::xxh3_64(s.as_bytes())))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(hashed) as ArrayRef))
    });
    create_udf(
        "xxh3",
        vec![DataType::Utf8],
        DataType::UInt64,
        Volatility::Immutable,
        f,
    )
}

/// Threads DataFusion's queries run on.
pub const QUERY_THREADS: usize = 2;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(QUERY_THREADS)
        .enable_all()
        .build()
        .map_err(|e| PipelineError::Internal(format!("tokio: {e}")))
}

/// Runs `queries` over the part files of each `(table, folder)` with DataFusion held to
/// `memory` bytes: joins are sort-merge joins and their sorts spill to the system temp
/// folder beyond the budget, so comparing two runs of any size needs bounded memory.
pub fn queries_in_memory(
    tables: &[(String, std::path::PathBuf)],
    memory: usize,
    queries: &[String],
) -> Result<Vec<Vec<RecordBatch>>> {
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::prelude::SessionConfig;
    runtime()?.block_on(async {
        let pool = datafusion::execution::memory_pool::FairSpillPool::new(memory);
        let rt = RuntimeEnvBuilder::new()
            .with_memory_pool(std::sync::Arc::new(pool))
            .build_arc()
            .map_err(df_err)?;
        let config = SessionConfig::new()
            .with_target_partitions(2)
            .set_bool("datafusion.optimizer.prefer_hash_join", false);
        let ctx = SessionContext::new_with_config_rt(config, rt);
        ctx.register_udf(xxh3_udf());
        for (name, folder) in tables {
            let glob = format!("{}/part-*.parquet", folder.display());
            ctx.register_parquet(format!("\"{name}\""), &glob, ParquetReadOptions::default())
                .await
                .map_err(df_err)?;
        }
        let mut results = Vec::new();
        for q in queries {
            let df = ctx.sql(q).await.map_err(df_err)?;
            results.push(df.collect().await.map_err(df_err)?);
        }
        Ok(results)
    })
}

/// Writes batches in a format; `out` is required for Parquet.
pub fn render(batches: &[RecordBatch], format: SqlFormat, out: Option<&Path>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match format {
        SqlFormat::Table => {
            let t = arrow::util::pretty::pretty_format_batches(batches)?;
            buf.extend_from_slice(format!("{t}\n").as_bytes());
        }
        SqlFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut buf);
            for b in batches {
                w.write(b)?;
            }
        }
        SqlFormat::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        SqlFormat::Parquet => {
            let path = out
                .ok_or_else(|| PipelineError::Config("--format parquet needs --out FILE".into()))?;
            let schema = batches
                .first()
                .map(|b| b.schema())
                .ok_or_else(|| PipelineError::Config("the query returned no batches".into()))?;
            let mut part = crate::writer::ParquetPart::create(
                path,
                schema,
                crate::writer::parquet_properties(Default::default(), 3)?,
            )?;
            for b in batches {
                part.write(b)?;
            }
            part.finish()?.commit()?;
        }
    }
    Ok(buf)
}

/// Result rows as JSON objects (column name → value), for commands that inspect a few
/// rows (`explain`, `report`).
pub fn json_rows(
    batches: &[RecordBatch],
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let bytes = render(batches, SqlFormat::Json, None)?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| PipelineError::Internal(format!("json rows: {e}")))
        })
        .collect()
}
