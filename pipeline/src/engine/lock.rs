//! One writer per output folder: `<output>/_lock.json` names who holds it (host, pid,
//! process start, config hash). A local `taojin run` holds it for the whole run and
//! releases it at the end. A cluster run shares one lock by design: its `prepare` step
//! takes it for the job's config (`holder = "cluster"`), every step checks that the lock
//! names its own config, and `finalize` releases it; so workers of the same job pass, and
//! a run of another config (or a local run racing the cluster) is refused with exit 1.
//! A lock whose process is dead on this host is stale and is broken with a message.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{PipelineError, Result};

/// The lock file under the output folder.
pub const LOCK_FILE: &str = "_lock.json";

/// Who holds an output folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// `local` (one process) or `cluster` (every worker of one job).
    pub holder: String,
    /// Host name of the process that took it.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Its start time in clock ticks since boot (tells a reused pid from the holder).
    pub proc_start: u64,
    /// When it was taken, seconds since the epoch.
    pub since: u64,
    /// The job's config hash (that of its last stage).
    pub config: String,
}

/// A held lock; dropping it releases a local one.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
    release_on_drop: bool,
}

fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Start time of process `pid` (field 22 of `/proc/PID/stat`), if it is alive.
fn proc_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl LockInfo {
    fn new(holder: &str, config: &str) -> LockInfo {
        let pid = std::process::id();
        LockInfo {
            holder: holder.into(),
            host: host(),
            pid,
            proc_start: proc_start(pid).unwrap_or(0),
            since: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            config: config.into(),
        }
    }

    /// True when the holding process is gone (checked only on this host; a cluster lock
    /// is never stale: `finalize` releases it).
    fn is_stale(&self) -> bool {
        self.holder == "local"
            && self.host == host()
            && proc_start(self.pid).is_none_or(|s| s != self.proc_start)
    }

    fn describe(&self) -> String {
        format!(
            "{} run (pid {} on {}, config {}, since {} s after the epoch)",
            self.holder,
            self.pid,
            self.host,
            &self.config[..self.config.len().min(12)],
            self.since
        )
    }
}

fn read(path: &Path) -> Option<LockInfo> {
    fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Creates the lock file only if there is none (write aside, then hard-link: atomic).
fn create(path: &Path, info: &LockInfo) -> Result<bool> {
    let (mut f, pending) = crate::writer::create_tmp(path)?;
    let json =
        serde_json::to_vec_pretty(info).map_err(|e| PipelineError::Internal(e.to_string()))?;
    f.write_all(&json)
        .map_err(PipelineError::io(pending.tmp()))?;
    f.sync_data().map_err(PipelineError::io(pending.tmp()))?;
    drop(f);
    let linked = fs::hard_link(pending.tmp(), path);
    fs::remove_file(pending.tmp()).map_err(PipelineError::io(pending.tmp()))?;
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(PipelineError::io(path)(e)),
    }
}

impl OutputLock {
    /// Takes the lock of `output` for `holder` (`local` or `cluster`) and `config`, or
    /// refuses naming the holder. A cluster lock of the same config is shared.
    pub fn acquire(output: &Path, holder: &str, config: &str) -> Result<OutputLock> {
        let path = output.join(LOCK_FILE);
        let me = LockInfo::new(holder, config);
        for _ in 0..3 {
            if create(&path, &me)? {
                return Ok(OutputLock {
                    path,
                    release_on_drop: holder == "local",
                });
            }
            let Some(held) = read(&path) else {
                // Unreadable or half-written by a dead writer: gone on the next try.
                std::thread::sleep(std::time::Duration::from_millis(50));
                if read(&path).is_none() {
                    fs::remove_file(&path).map_err(PipelineError::io(&path))?;
                }
                continue;
            };
            if holder == "cluster" && held.holder == "cluster" && held.config == config {
                return Ok(OutputLock {
                    path,
                    release_on_drop: false,
                });
            }
            if held.is_stale() {
                tracing::warn!(lock = %path.display(), "breaking the stale lock of a {}", held.describe());
                fs::remove_file(&path).map_err(PipelineError::io(&path))?;
                continue;
            }
            return Err(refused(&path, &held));
        }
        Err(PipelineError::Config(format!(
            "{}: could not take the lock",
            path.display()
        )))
    }

    /// Checks that a cluster step may write `output`: no lock, or the cluster lock of
    /// its own config.
    pub fn check_cluster(output: &Path, config: &str) -> Result<()> {
        let path = output.join(LOCK_FILE);
        match read(&path) {
            Some(held) if !(held.holder == "cluster" && held.config == config) => {
                if held.is_stale() {
                    return Ok(());
                }
                Err(refused(&path, &held))
            }
            _ => Ok(()),
        }
    }

    /// Releases a cluster lock (the `finalize` step).
    pub fn release(output: &Path) -> Result<()> {
        let path = output.join(LOCK_FILE);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PipelineError::io(&path)(e)),
            _ => Ok(()),
        }
    }
}

fn refused(path: &Path, held: &LockInfo) -> PipelineError {
    PipelineError::Config(format!(
        "{}: the output is in use by a {}; wait for it, or delete the lock file if that run is gone",
        path.display(),
        held.describe()
    ))
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        if self.release_on_drop {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_local_writer_and_stale_locks_break() -> Result<()> {
        let dir = tempfile::tempdir().map_err(PipelineError::io("tmp"))?;
        let first = OutputLock::acquire(dir.path(), "local", "aaa")?;
        let second = OutputLock::acquire(dir.path(), "local", "bbb");
        assert!(
            second.is_err_and(|e| e.to_string().contains("in use by a local run")),
            "a live holder refuses"
        );
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists(), "released on drop");
        // A dead process's lock: pid 0 never has a /proc entry.
        let mut dead = LockInfo::new("local", "ccc");
        dead.pid = u32::MAX;
        create(&dir.path().join(LOCK_FILE), &dead)?;
        let taken = OutputLock::acquire(dir.path(), "local", "ddd")?;
        assert_eq!(
            read(&dir.path().join(LOCK_FILE)).map(|l| l.config),
            Some("ddd".into())
        );
        drop(taken);
        // Cluster workers of one config share; another config is refused.
        OutputLock::acquire(dir.path(), "cluster", "eee")?;
        OutputLock::acquire(dir.path(), "cluster", "eee")?;
        OutputLock::check_cluster(dir.path(), "eee")?;
        assert!(OutputLock::check_cluster(dir.path(), "fff").is_err());
        assert!(OutputLock::acquire(dir.path(), "local", "eee").is_err());
        OutputLock::release(dir.path())?;
        Ok(())
    }
}
