//! Content digests (sha256) of the files a job reads — models, word lists, tokenizers,
//! and inputs under `inputs_fingerprint = "content"` — cached by path, size and
//! modification time in `<output>/_file_hashes.json`, so a 100 MB model is hashed once,
//! not on every run.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{PipelineError, Result};

/// The cache file under the output folder.
pub const CACHE_FILE: &str = "_file_hashes.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_ns: u128,
    /// Inode and change time: a rewrite that keeps size and mtime (`cp -p`, `rsync -t`,
    /// or within the mtime granularity) still changes these.
    #[serde(default)]
    ino: u64,
    #[serde(default)]
    ctime_ns: i128,
    sha256: String,
}

/// Digests known so far, by absolute path.
#[derive(Debug, Default)]
pub struct DigestCache {
    file: Option<PathBuf>,
    entries: BTreeMap<String, Entry>,
    dirty: bool,
}

/// Modification time in nanoseconds since the epoch (0 where the file system has none).
pub fn mtime_ns(meta: &fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

impl DigestCache {
    /// The cache kept under `output` (empty when the folder or file does not exist yet).
    pub fn load(output: &Path) -> DigestCache {
        let file = output.join(CACHE_FILE);
        let entries = fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        DigestCache {
            file: Some(file),
            entries,
            dirty: false,
        }
    }

    /// The sha256 of `path`, or `None` when it does not exist.
    pub fn digest(&mut self, path: &Path) -> Result<Option<String>> {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PipelineError::io(path)(e)),
        };
        let key = std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .into_owned();
        use std::os::unix::fs::MetadataExt;
        let (size, mtime) = (meta.len(), mtime_ns(&meta));
        let (ino, ctime) = (
            meta.ino(),
            i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        );
        if let Some(e) = self.entries.get(&key)
            && e.size == size
            && e.mtime_ns == mtime
            && e.ino == ino
            && e.ctime_ns == ctime
        {
            return Ok(Some(e.sha256.clone()));
        }
        let sha256 = sha256_file(path)?;
        self.entries.insert(
            key,
            Entry {
                size,
                mtime_ns: mtime,
                ino,
                ctime_ns: ctime,
                sha256: sha256.clone(),
            },
        );
        self.dirty = true;
        Ok(Some(sha256))
    }

    /// Writes the cache back when it learned something and the output folder exists. A
    /// cache that cannot be written costs only time on the next run.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        if !self.dirty || !file.parent().is_some_and(Path::is_dir) {
            return;
        }
        let written = serde_json::to_vec_pretty(&self.entries)
            .map_err(|e| PipelineError::Internal(e.to_string()))
            .and_then(|json| crate::writer::write_atomic(file, &json));
        if let Err(e) = written {
            tracing::warn!("file digest cache not saved: {e}");
        }
    }
}

/// The sha256 of a whole file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(PipelineError::io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(PipelineError::io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_follow_content_and_are_cached() -> Result<()> {
        let dir = tempfile::tempdir().map_err(PipelineError::io("tmp"))?;
        let f = dir.path().join("model.bin");
        fs::write(&f, b"abc").map_err(PipelineError::io(&f))?;
        let mut cache = DigestCache::load(dir.path());
        let a = cache.digest(&f)?;
        assert_eq!(
            a.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        cache.save();
        let mut again = DigestCache::load(dir.path());
        assert_eq!(again.entries.len(), 1);
        assert_eq!(again.digest(&f)?, a);
        assert!(!again.dirty, "answered from the cache");
        fs::write(&f, b"abd").map_err(PipelineError::io(&f))?;
        assert_ne!(again.digest(&f)?, a, "new content, new digest");
        assert_eq!(again.digest(&dir.path().join("missing"))?, None);
        Ok(())
    }
}
