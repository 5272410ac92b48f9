//! S3 storage through `aws-sdk-s3`: inputs read in place, outputs kept in a bucket.
//!
//! - **Inputs** (`s3://bucket/prefix/*.jsonl.zst`): the glob's fixed prefix is listed
//!   (paginated) and matched; objects are streamed with ranged GETs of [`CHUNK`] bytes,
//!   never buffered whole, so a 100 GB object costs 8 MiB of memory. Parquet inputs are
//!   read the same way, a column chunk at a time.
//! - **Outputs** (`output = "s3://bucket/prefix"`): the engine writes into a local
//!   staging folder exactly as for a local job, and each stage (or, on a cluster, each
//!   step) is synchronized with the bucket: a task's files go up first and its done
//!   marker last, so a reader that trusts markers never sees partial output; objects
//!   only become visible complete (single PUT, or multipart completed at the end). A
//!   worker pulls what it needs (the previous stage, its own stage's shared files)
//!   before it starts. Incomplete multipart uploads of dead workers are aborted by the
//!   next run.
//!
//! Every request goes through the SDK's standard retry policy: exponential backoff with
//! jitter on throttling (503 SlowDown), 5xx and connection errors, [`MAX_ATTEMPTS`]
//! attempts. Credentials come from the standard AWS chain (environment, profiles, …);
//! `[storage.s3]` can set the endpoint (path-style addressing then, unless told
//! otherwise) and the region. No credential is ever logged or printed.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use taojin_schemas::job::S3Spec;

use crate::error::{PipelineError, Result};

/// Bytes per ranged GET when streaming an object.
pub const CHUNK: u64 = 8 << 20;
/// Files above this size are uploaded in parts of this size.
pub const PART: u64 = 16 << 20;
/// Attempts per request (first try included) unless `[storage.s3] max_attempts` says.
pub const MAX_ATTEMPTS: u32 = 10;
/// Transfers in flight at once during a push or pull.
pub const CONCURRENCY: usize = 8;

/// True for `s3://…` locations.
pub fn is_s3(location: &str) -> bool {
    location.starts_with("s3://")
}

/// Splits `s3://bucket/key` into bucket and key.
pub fn parse_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| PipelineError::Config(format!("`{url}` is not an s3:// URL")))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(PipelineError::Config(format!("`{url}`: no bucket")));
    }
    Ok((bucket.to_string(), key.to_string()))
}

/// An S3 failure as one short line: the object, then each distinct message of the error's
/// chain (the service's code and message, or the transport's cause). The SDK's full
/// context, with its request and response dumps, goes to the debug log only.
fn s3_err(what: &str, e: impl std::error::Error) -> PipelineError {
    tracing::debug!("{what}: {}", DisplayErrorContext(&e));
    let mut parts: Vec<String> = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(&e);
    while let Some(c) = cause {
        let text = c.to_string();
        // Debug dumps of requests and responses are not messages.
        let dump = text.len() > 300 || text.contains(" { ");
        if !dump && !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    PipelineError::Storage(format!("{what}: {}", parts.join(": ")))
}

/// A connected S3 client with its own runtime; the engine calls it from plain threads.
pub struct S3 {
    client: Client,
    runtime: tokio::runtime::Runtime,
}

static SHARED: OnceLock<std::sync::Mutex<Option<Arc<S3>>>> = OnceLock::new();

impl S3 {
    /// The process's client for these settings (made on first use).
    pub fn shared(spec: &S3Spec) -> Result<Arc<S3>> {
        let slot = SHARED.get_or_init(|| std::sync::Mutex::new(None));
        let mut guard = slot
            .lock()
            .map_err(|_| PipelineError::Internal("poisoned S3 client lock".into()))?;
        if let Some(s3) = guard.as_ref() {
            return Ok(s3.clone());
        }
        let s3 = Arc::new(S3::connect(spec)?);
        *guard = Some(s3.clone());
        Ok(s3)
    }

    /// Builds a client from the AWS environment and `[storage.s3]`.
    pub fn connect(spec: &S3Spec) -> Result<S3> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("taojin-s3")
            .enable_all()
            .build()
            .map_err(|e| PipelineError::Internal(format!("tokio runtime: {e}")))?;
        let client = runtime.block_on(async {
            use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
            let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(
                RetryConfig::standard()
                    .with_max_attempts(spec.max_attempts.unwrap_or(MAX_ATTEMPTS).max(1))
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(10)),
            );
            if let Some(r) = &spec.region {
                loader = loader.region(Region::new(r.clone()));
            }
            if let Some(url) = &spec.endpoint_url {
                loader = loader.endpoint_url(url);
            }
            let sdk = loader.load().await;
            let mut conf = aws_sdk_s3::config::Builder::from(&sdk);
            if sdk.region().is_none() {
                conf = conf.region(Region::new("us-east-1"));
            }
            let path_style = spec
                .force_path_style
                .unwrap_or(spec.endpoint_url.is_some() || sdk.endpoint_url().is_some());
            Client::from_conf(conf.force_path_style(path_style).build())
        });
        Ok(S3 { client, runtime })
    }

    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Key, size and ETag of every object under `prefix`, sorted by key.
    pub fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<(String, u64, String)>> {
        self.block(async {
            let mut out = Vec::new();
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| s3_err(&format!("listing s3://{bucket}/{prefix}"), e))?;
                for o in page.contents() {
                    if let Some(k) = o.key() {
                        let size = o.size().unwrap_or(0).max(0) as u64;
                        let etag = o.e_tag().unwrap_or_default().to_string();
                        out.push((k.to_string(), size, etag));
                    }
                }
            }
            out.sort();
            Ok(out)
        })
    }

    /// Bytes `[start, start + len)` of an object; with `if_match`, only of the version
    /// with that ETag (another is an error, so bytes of two versions never mix).
    pub fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
        if_match: Option<&str>,
    ) -> Result<Vec<u8>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        self.block(async {
            let what = || format!("reading s3://{bucket}/{key}");
            let resp = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .range(format!("bytes={start}-{}", start + len - 1))
                .set_if_match(if_match.map(str::to_string))
                .send()
                .await
                .map_err(|e| match (e.raw_response().map(|r| r.status().as_u16()), if_match) {
                    (Some(412), Some(etag)) => PipelineError::Storage(format!(
                        "s3://{bucket}/{key} changed after the job listed it (its ETag is no longer {etag}): \
                         rerun the job, which lists it again"
                    )),
                    _ => s3_err(&what(), e),
                })?;
            let body = resp.body.collect().await.map_err(|e| s3_err(&what(), e))?;
            Ok(body.into_bytes().to_vec())
        })
    }

    /// A whole small object, or `None` if there is none.
    pub fn get_small(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_small_tagged(bucket, key)?.map(|(bytes, _)| bytes))
    }

    /// A whole small object with its ETag, or `None` if there is none.
    pub fn get_small_tagged(&self, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        self.block(async {
            let what = || format!("reading s3://{bucket}/{key}");
            match self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
            {
                Ok(resp) => {
                    let etag = resp.e_tag().unwrap_or_default().to_string();
                    let body = resp.body.collect().await.map_err(|e| s3_err(&what(), e))?;
                    Ok(Some((body.into_bytes().to_vec(), etag)))
                }
                Err(e) => match e.as_service_error() {
                    Some(se) if se.is_no_such_key() => Ok(None),
                    _ => Err(s3_err(&what(), e)),
                },
            }
        })
    }

    /// Deletes an object only if it is still the version with `etag`; false if it is not
    /// (or is gone).
    pub fn delete_if_match(&self, bucket: &str, key: &str, etag: &str) -> Result<bool> {
        self.block(async {
            let sent = self
                .client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .if_match(etag)
                .send()
                .await;
            match sent {
                Ok(_) => Ok(true),
                Err(e)
                    if e.raw_response()
                        .is_some_and(|r| matches!(r.status().as_u16(), 404 | 412)) =>
                {
                    Ok(false)
                }
                Err(e) => Err(s3_err(&format!("deleting s3://{bucket}/{key}"), e)),
            }
        })
    }

    /// Uploads a local file: one PUT, or a multipart upload in [`PART`]-byte parts read one
    /// at a time. The object appears only when complete.
    pub async fn put_file(&self, bucket: &str, key: &str, path: &Path) -> Result<()> {
        let what = || format!("uploading {} to s3://{bucket}/{key}", path.display());
        let size = std::fs::metadata(path)
            .map_err(PipelineError::io(path))?
            .len();
        if size <= PART {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|e| s3_err(&what(), e))?;
            self.client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(body)
                .send()
                .await
                .map_err(|e| s3_err(&what(), e))?;
            return Ok(());
        }
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_err(&what(), e))?;
        let id = upload
            .upload_id()
            .ok_or_else(|| PipelineError::Storage(format!("{}: no upload id", what())))?;
        let mut parts = Vec::new();
        let mut file = std::fs::File::open(path).map_err(PipelineError::io(path))?;
        let mut number = 1;
        loop {
            let mut buf = Vec::with_capacity(PART as usize);
            (&mut file)
                .take(PART)
                .read_to_end(&mut buf)
                .map_err(PipelineError::io(path))?;
            if buf.is_empty() {
                break;
            }
            let part = self
                .client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(id)
                .part_number(number)
                .body(ByteStream::from(buf))
                .send()
                .await
                .map_err(|e| s3_err(&what(), e))?;
            parts.push(
                CompletedPart::builder()
                    .set_e_tag(part.e_tag().map(str::to_string))
                    .part_number(number)
                    .build(),
            );
            number += 1;
        }
        self.client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| s3_err(&what(), e))?;
        Ok(())
    }

    /// Downloads an object into `path`, streaming, through a temporary name.
    pub async fn get_file(&self, bucket: &str, key: &str, path: &Path) -> Result<()> {
        let what = || format!("downloading s3://{bucket}/{key}");
        let mut resp = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_err(&what(), e))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(PipelineError::io(parent))?;
        }
        let (file, pending) = crate::writer::create_tmp(path)?;
        let tmp = pending.tmp().to_path_buf();
        let mut f = std::io::BufWriter::new(file);
        while let Some(chunk) = resp.body.next().await {
            let chunk = chunk.map_err(|e| s3_err(&what(), e))?;
            f.write_all(&chunk).map_err(PipelineError::io(&tmp))?;
        }
        f.flush().map_err(PipelineError::io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(PipelineError::io(path))
    }

    /// Creates a small object only if none exists at `key` (a conditional PUT with
    /// `If-None-Match: *`): true when this call created it, false when one was there.
    pub fn put_if_absent(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<bool> {
        self.block(async {
            let sent = self
                .client
                .put_object()
                .bucket(bucket)
                .key(key)
                .if_none_match("*")
                .body(ByteStream::from(bytes.to_vec()))
                .send()
                .await;
            match sent {
                Ok(_) => Ok(true),
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Ok(false),
                Err(e) => Err(s3_err(&format!("creating s3://{bucket}/{key}"), e)),
            }
        })
    }

    /// Writes a small object, replacing any.
    pub fn put_small(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<()> {
        self.block(async {
            self.client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(bytes.to_vec()))
                .send()
                .await
                .map_err(|e| s3_err(&format!("writing s3://{bucket}/{key}"), e))?;
            Ok(())
        })
    }

    /// Deletes objects.
    pub fn delete(&self, bucket: &str, keys: &[String]) -> Result<()> {
        self.block(async {
            for k in keys {
                self.client
                    .delete_object()
                    .bucket(bucket)
                    .key(k)
                    .send()
                    .await
                    .map_err(|e| s3_err(&format!("deleting s3://{bucket}/{k}"), e))?;
            }
            Ok(())
        })
    }

    /// Aborts incomplete multipart uploads under `prefix` (left by dead workers).
    pub fn abort_stale_uploads(&self, bucket: &str, prefix: &str) -> Result<usize> {
        // `out/` and not `out`: the uploads of a job writing `out2/` are not ours.
        let prefix = match prefix.is_empty() || prefix.ends_with('/') {
            true => prefix.to_string(),
            false => format!("{prefix}/"),
        };
        self.block(async {
            let mut uploads = Vec::new();
            let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
            loop {
                let resp = self
                    .client
                    .list_multipart_uploads()
                    .bucket(bucket)
                    .prefix(&prefix)
                    .set_key_marker(key_marker.clone())
                    .set_upload_id_marker(id_marker.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        s3_err(&format!("listing uploads under s3://{bucket}/{prefix}"), e)
                    })?;
                uploads.extend(resp.uploads().iter().cloned());
                if !resp.is_truncated().unwrap_or(false) {
                    break;
                }
                key_marker = resp.next_key_marker().map(str::to_string);
                id_marker = resp.next_upload_id_marker().map(str::to_string);
                if key_marker.is_none() && id_marker.is_none() {
                    break;
                }
            }
            let mut n = 0;
            for u in &uploads {
                if let (Some(k), Some(id)) = (u.key(), u.upload_id()) {
                    self.client
                        .abort_multipart_upload()
                        .bucket(bucket)
                        .key(k)
                        .upload_id(id)
                        .send()
                        .await
                        .map_err(|e| {
                            s3_err(&format!("aborting an upload of s3://{bucket}/{k}"), e)
                        })?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Runs transfers with at most [`CONCURRENCY`] in flight; the first error wins.
    fn run_all<F, Fut>(&self, items: Vec<(String, PathBuf)>, f: F) -> Result<()>
    where
        F: Fn(String, PathBuf) -> Fut,
        Fut: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        self.block(async {
            let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
            let mut set = tokio::task::JoinSet::new();
            for (key, path) in items {
                let permit = sem
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| PipelineError::Internal(e.to_string()))?;
                let fut = f(key, path);
                set.spawn(async move {
                    let r = fut.await;
                    drop(permit);
                    r
                });
            }
            let mut first = Ok(());
            while let Some(r) = set.join_next().await {
                let r = r
                    .map_err(|e| PipelineError::Internal(e.to_string()))
                    .and_then(|r| r);
                if first.is_ok() {
                    first = r;
                }
            }
            first
        })
    }
}

/// An S3 failure carried through `std::io::Read`, so readers can tell it from corrupt
/// input.
#[derive(Debug)]
struct StorageIoError(String);

impl std::fmt::Display for StorageIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StorageIoError {}

/// True when an I/O error is an object-store failure (see [`ObjectReader`]).
pub fn is_storage_error(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<StorageIoError>())
}

/// A readable, seekable S3 object, fetched [`CHUNK`] bytes at a time.
pub struct ObjectReader {
    s3: Arc<S3>,
    bucket: String,
    key: String,
    size: u64,
    /// The ETag the plan listed: every read asks for that version.
    etag: Option<String>,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl ObjectReader {
    /// Opens `s3://bucket/key` of known size, pinned to the version with `etag` if given.
    pub fn new(s3: Arc<S3>, url: &str, size: u64, etag: Option<String>) -> Result<ObjectReader> {
        let (bucket, key) = parse_url(url)?;
        Ok(ObjectReader {
            s3,
            bucket,
            key,
            size,
            etag,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
        })
    }

    /// Bytes `[start, start + len)`.
    pub fn range(&self, start: u64, len: u64) -> Result<Vec<u8>> {
        self.s3
            .get_range(&self.bucket, &self.key, start, len, self.etag.as_deref())
    }

    /// Object size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Another reader of the same object.
    pub fn reopen(&self) -> ObjectReader {
        ObjectReader {
            s3: self.s3.clone(),
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            size: self.size,
            etag: self.etag.clone(),
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.size || out.is_empty() {
            return Ok(0);
        }
        let end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || self.pos >= end {
            let len = CHUNK.min(self.size - self.pos);
            self.buf = self
                .range(self.pos, len)
                .map_err(|e| std::io::Error::other(StorageIoError(e.to_string())))?;
            self.buf_start = self.pos;
            if self.buf.is_empty() {
                return Ok(0);
            }
        }
        let at = (self.pos - self.buf_start) as usize;
        let n = out.len().min(self.buf.len() - at);
        out[..n].copy_from_slice(&self.buf[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ObjectReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.size as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if pos < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        }
        self.pos = pos as u64;
        Ok(self.pos)
    }
}

impl parquet::file::reader::Length for ObjectReader {
    fn len(&self) -> u64 {
        self.size
    }
}

impl parquet::file::reader::ChunkReader for ObjectReader {
    type T = ObjectReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<ObjectReader> {
        let mut r = self.reopen();
        r.pos = start;
        Ok(r)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.range(start, length as u64)
            .map(bytes::Bytes::from)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
    }
}

/// The objects an input glob `s3://bucket/prefix*pattern` names: (url, size, ETag),
/// sorted.
pub fn glob(s3: &S3, url: &str) -> Result<Vec<(String, u64, String)>> {
    let (bucket, key) = parse_url(url)?;
    let fixed = key
        .find(['*', '?', '[', '{'])
        .map_or(key.as_str(), |i| &key[..i]);
    let pattern = globset::GlobBuilder::new(&key)
        .literal_separator(true)
        .build()
        .map_err(|e| PipelineError::Config(format!("`{url}`: {}", e.kind())))?
        .compile_matcher();
    let exact = fixed == key;
    Ok(s3
        .list(&bucket, fixed)?
        .into_iter()
        .filter(|(k, _, _)| {
            // A plain prefix names that object, or every object under it as a folder.
            if exact {
                k == &key || k.starts_with(&format!("{}/", key.trim_end_matches('/')))
            } else {
                pattern.is_match(k.as_str())
            }
        })
        .filter(|(k, _, _)| !k.ends_with('/'))
        .map(|(k, size, etag)| (format!("s3://{bucket}/{k}"), size, etag))
        .collect())
}

/// A job's output prefix on S3 mirrored by a local staging folder.
#[derive(Clone)]
pub struct Remote {
    s3: Arc<S3>,
    bucket: String,
    prefix: String,
    local: PathBuf,
}

/// True for the small files of a stage folder (markers, stats, plans), false for data
/// (`.parquet`, `.bin`, `.arrow`).
pub fn is_small(rel: &str) -> bool {
    !(rel.ends_with(".parquet") || rel.ends_with(".bin") || rel.ends_with(".arrow"))
}

fn is_marker(rel: &str) -> bool {
    rel.contains("/_done/")
        || rel.ends_with("_stage.json")
        || rel == "stats.json"
        || rel == "shards/manifest.json"
}

/// What a synchronized folder holds, from its identity file: a stage's config hash and
/// task count (`_stage.json`), or the shards' whole `manifest.json`. `None` when absent.
fn identity(rel_dir: &str, bytes: Option<Vec<u8>>) -> Option<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&bytes?).ok()?;
    match rel_dir {
        "shards" => Some(v),
        _ => Some(serde_json::json!([v.get("hash")?, v.get("tasks")?])),
    }
}

fn identity_file(rel_dir: &str) -> String {
    match rel_dir {
        "shards" => "shards/manifest.json".into(),
        _ => format!("{rel_dir}/_stage.json"),
    }
}

impl Remote {
    /// The remote for output URL `url` staged in `local`.
    pub fn new(s3: Arc<S3>, url: &str, local: PathBuf) -> Result<Remote> {
        let (bucket, prefix) = parse_url(url)?;
        Ok(Remote {
            s3,
            bucket,
            prefix: prefix.trim_end_matches('/').to_string(),
            local,
        })
    }

    fn key(&self, rel: &str) -> String {
        match self.prefix.is_empty() {
            true => rel.to_string(),
            false => format!("{}/{rel}", self.prefix),
        }
    }

    /// The output URL.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn remote_files(&self, rel_dir: &str) -> Result<Vec<(String, u64)>> {
        let base = self.key(rel_dir);
        let strip = match self.prefix.is_empty() {
            true => 0,
            false => self.prefix.len() + 1,
        };
        Ok(self
            .s3
            .list(&self.bucket, &format!("{base}/"))?
            .into_iter()
            .map(|(k, s, _)| (k[strip..].to_string(), s))
            .collect())
    }

    /// The files under `rel_dir` of the staging folder (none when it does not exist),
    /// temporary files left out; an entry that cannot be read is an error naming it.
    fn local_files(&self, rel_dir: &str) -> Result<Vec<(String, u64)>> {
        let dir = self.local.join(rel_dir);
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&dir).to_path_buf();
                PipelineError::Io {
                    source: e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("loop")),
                    path,
                }
            })?;
            let name = entry.file_name().to_string_lossy();
            if !entry.file_type().is_file() || crate::writer::is_tmp_name(&name) {
                continue;
            }
            let meta = entry.metadata().map_err(|e| PipelineError::Io {
                path: entry.path().to_path_buf(),
                source: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("metadata")),
            })?;
            if let Ok(rel) = entry.path().strip_prefix(&self.local) {
                out.push((rel.to_string_lossy().into_owned(), meta.len()));
            }
        }
        Ok(out)
    }

    /// Moves files up or down, data first and markers last; returns how many.
    fn transfer(&self, files: Vec<(String, u64)>, up: bool) -> Result<usize> {
        let n = files.len();
        let (data, markers): (Vec<_>, Vec<_>) = files.into_iter().partition(|(r, _)| !is_marker(r));
        for group in [data, markers] {
            let items = group
                .into_iter()
                .map(|(rel, _)| (self.key(&rel), self.local.join(&rel)))
                .collect();
            let s3 = self.s3.clone();
            let bucket = self.bucket.clone();
            self.s3.run_all(items, move |key, path| {
                let s3 = s3.clone();
                let bucket = bucket.clone();
                async move {
                    match up {
                        true => s3.put_file(&bucket, &key, &path).await,
                        false => s3.get_file(&bucket, &key, &path).await,
                    }
                }
            })?;
        }
        Ok(n)
    }

    /// True when the local and remote copies of `rel_dir` hold the same thing. Files are
    /// then compared by size alone, which is sound because one config always writes the
    /// same bytes; between different configs (a stage rerun after a change, shards of
    /// another shuffle seed) equal sizes prove nothing, so the copy being replaced is
    /// cleared first. A side without an identity file (a push cut short before its
    /// markers) never matches.
    fn same_contents(&self, rel_dir: &str) -> Result<bool> {
        let file = identity_file(rel_dir);
        let local = identity(rel_dir, std::fs::read(self.local.join(&file)).ok());
        let remote = identity(rel_dir, self.read_small(&file)?);
        Ok(local.is_some() && local == remote)
    }

    /// Downloads the objects under `rel_dir` (paths relative to the output) that `keep`
    /// accepts and that are missing locally or differ in size (and the `:ids` marker), data
    /// before markers; a
    /// local copy of other contents is deleted first. Returns how many came down.
    pub fn pull(&self, rel_dir: &str, keep: &dyn Fn(&str) -> bool) -> Result<usize> {
        let dir = self.local.join(rel_dir);
        if dir.exists() && !self.same_contents(rel_dir)? {
            std::fs::remove_dir_all(&dir).map_err(PipelineError::io(&dir))?;
        }
        let local: std::collections::HashMap<String, u64> =
            self.local_files(rel_dir)?.into_iter().collect();
        let todo: Vec<(String, u64)> = self
            .remote_files(rel_dir)?
            .into_iter()
            // Two policies' `:ids` markers may have one size (`keep`, `fail`).
            .filter(|(rel, size)| local.get(rel) != Some(size) || rel.ends_with("/_work/_done/ids"))
            .filter(|(rel, _)| keep(rel))
            .collect();
        self.transfer(todo, false)
    }

    /// Uploads the files under `rel_dir` that are missing remotely or differ in size:
    /// data first, markers last; a remote copy of other contents is deleted first. With
    /// `mirror`, objects under `rel_dir` with no local file are deleted too (the local
    /// folder is the truth: a single-machine run).
    pub fn push(&self, rel_dir: &str, mirror: bool) -> Result<usize> {
        if !self.same_contents(rel_dir)? {
            self.delete_dir(rel_dir)?;
        }
        let remote: std::collections::HashMap<String, u64> =
            self.remote_files(rel_dir)?.into_iter().collect();
        let local = self.local_files(rel_dir)?;
        let todo: Vec<(String, u64)> = local
            .iter()
            .filter(|(rel, size)| is_marker(rel) || remote.get(rel) != Some(size))
            .cloned()
            .collect();
        let n = self.transfer(todo, true)?;
        if mirror {
            let keep: std::collections::HashSet<&String> = local.iter().map(|(r, _)| r).collect();
            let stale: Vec<String> = remote
                .keys()
                .filter(|r| !keep.contains(r))
                .map(|r| self.key(r))
                .collect();
            self.s3.delete(&self.bucket, &stale)?;
        }
        Ok(n)
    }

    /// Uploads one file at `rel` (e.g. `stats.json`).
    pub fn push_file(&self, rel: &str) -> Result<()> {
        let path = self.local.join(rel);
        let key = self.key(rel);
        self.s3.block(self.s3.put_file(&self.bucket, &key, &path))
    }

    /// The content of a small object at `rel`, if it exists.
    pub fn read_small(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        self.s3.get_small(&self.bucket, &self.key(rel))
    }

    /// The content and ETag of a small object at `rel`, if it exists.
    pub fn read_small_tagged(&self, rel: &str) -> Result<Option<(Vec<u8>, String)>> {
        self.s3.get_small_tagged(&self.bucket, &self.key(rel))
    }

    /// Deletes the object `rel` only if its ETag is still `etag`; false if not.
    pub fn delete_if_match(&self, rel: &str, etag: &str) -> Result<bool> {
        self.s3.delete_if_match(&self.bucket, &self.key(rel), etag)
    }

    /// Downloads one small object at `rel` if it exists; true if it did.
    pub fn pull_file(&self, rel: &str) -> Result<bool> {
        match self.read_small(rel)? {
            Some(bytes) => {
                crate::writer::write_atomic(&self.local.join(rel), &bytes)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes the small object `rel`, replacing any.
    pub fn put_small(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        self.s3.put_small(&self.bucket, &self.key(rel), bytes)
    }

    /// Creates the small object `rel` only if it does not exist; true if this call did.
    pub fn create_small(&self, rel: &str, bytes: &[u8]) -> Result<bool> {
        self.s3.put_if_absent(&self.bucket, &self.key(rel), bytes)
    }

    /// The part files (`part-*.parquet`) right under `rel_dir` in the bucket, with their
    /// sizes, sorted by path (relative to the output).
    pub fn parts(&self, rel_dir: &str) -> Result<Vec<(String, u64)>> {
        let mut v: Vec<(String, u64)> = self
            .remote_files(rel_dir)?
            .into_iter()
            .filter(|(rel, _)| {
                rel.strip_prefix(rel_dir)
                    .and_then(|r| r.strip_prefix('/'))
                    .is_some_and(|n| {
                        n.starts_with("part-") && n.ends_with(".parquet") && !n.contains('/')
                    })
            })
            .collect();
        v.sort();
        Ok(v)
    }

    /// True when the object `rel` exists (a listing: needs no more than the pulls do).
    pub fn exists(&self, rel: &str) -> Result<bool> {
        let key = self.key(rel);
        Ok(self
            .s3
            .list(&self.bucket, &key)?
            .iter()
            .any(|(k, _, _)| *k == key))
    }

    /// Deletes the object `rel`.
    pub fn delete_file(&self, rel: &str) -> Result<()> {
        self.s3.delete(&self.bucket, &[self.key(rel)])
    }

    /// Deletes every object under `rel_dir`.
    pub fn delete_dir(&self, rel_dir: &str) -> Result<()> {
        let keys: Vec<String> = self
            .remote_files(rel_dir)?
            .into_iter()
            .map(|(r, _)| self.key(&r))
            .collect();
        self.s3.delete(&self.bucket, &keys)
    }

    /// Aborts incomplete multipart uploads under the output prefix.
    pub fn abort_stale_uploads(&self) -> Result<usize> {
        self.s3.abort_stale_uploads(&self.bucket, &self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `data`, then fails the way an [`ObjectReader`] does when the store is down.
    struct Failing {
        data: std::io::Cursor<Vec<u8>>,
    }

    impl Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            match self.data.read(out)? {
                0 => Err(std::io::Error::other(StorageIoError("store down".into()))),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn store_failures_survive_the_decompressors() {
        let text: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let zst = zstd::encode_all(&text[..], 3).expect("zstd");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).expect("gz");
        let gz = gz.finish().expect("gz");
        // Cut both streams short: the reader fails where the object would continue.
        let zst = Failing {
            data: std::io::Cursor::new(zst[..zst.len() / 2].to_vec()),
        };
        let gz = Failing {
            data: std::io::Cursor::new(gz[..gz.len() / 2].to_vec()),
        };
        let mut sink = Vec::new();
        let e = zstd::Decoder::new(zst)
            .expect("decoder")
            .read_to_end(&mut sink)
            .expect_err("fails");
        assert!(is_storage_error(&e), "zstd: {e}");
        let e = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(gz))
            .read_to_end(&mut sink)
            .expect_err("fails");
        assert!(is_storage_error(&e), "gzip: {e}");
        assert!(!is_storage_error(&std::io::Error::other("corrupt")));
    }
}
