//! One writer per output folder: `<output>/_lock.json` names who holds it (host, pid,
//! process start, config hash). A local `taojin run` holds it for the whole run and
//! releases it at the end. A cluster run shares one lock by design: its `prepare` step
//! takes it for the job's config and the run's id (`holder = "cluster"`, `run` from
//! `--cluster-run`), every step checks that the lock names its own config and run, and
//! `finalize` releases it; so workers of the same run pass, and a run of another config,
//! another cluster run of the same config (a second Ray driver, the scripts of another
//! `taojin slurm`), or a local run racing the cluster, is refused with exit 1 before it
//! touches a file.
//! A lock whose process is dead on this host is stale and is broken with a message.
//! With an `s3://` output the lock is the object `<output>/_lock.json` in the bucket,
//! created with a conditional PUT (`If-None-Match: *`), so machines that share only the
//! bucket exclude each other the same way. Breaking or releasing a lock removes it only
//! while it still holds what was read (see `LockPlace::remove_if`).

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
    /// A cluster run's id (`--cluster-run`); none for a local run or steps run by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// Where a lock lives: a file of the output folder, or an object of an S3 output.
pub enum LockPlace<'a> {
    /// `<output>/_lock.json` on a file system.
    Local(&'a Path),
    /// `_lock.json` under the output's prefix in the bucket.
    Remote(&'a crate::storage::Remote),
}

enum Held {
    Local(PathBuf),
    Remote(crate::storage::Remote),
}

impl Held {
    fn place(&self) -> LockPlace<'_> {
        match self {
            Held::Local(dir) => LockPlace::Local(dir),
            Held::Remote(r) => LockPlace::Remote(r),
        }
    }
}

impl LockPlace<'_> {
    fn name(&self) -> String {
        match self {
            LockPlace::Local(dir) => dir.join(LOCK_FILE).display().to_string(),
            LockPlace::Remote(r) => format!("{}/{LOCK_FILE}", r.url().trim_end_matches('/')),
        }
    }

    fn create(&self, info: &LockInfo) -> Result<bool> {
        match self {
            LockPlace::Local(dir) => create(&dir.join(LOCK_FILE), info),
            LockPlace::Remote(r) => {
                let json = serde_json::to_vec_pretty(info)
                    .map_err(|e| PipelineError::Internal(e.to_string()))?;
                r.create_small(LOCK_FILE, &json)
            }
        }
    }

    fn read(&self) -> Result<Option<Option<LockInfo>>> {
        let bytes = match self {
            LockPlace::Local(dir) => match fs::read(dir.join(LOCK_FILE)) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(PipelineError::io(dir.join(LOCK_FILE))(e)),
            },
            LockPlace::Remote(r) => r.read_small(LOCK_FILE)?,
        };
        Ok(parse(bytes))
    }

    fn remove(&self) -> Result<()> {
        match self {
            LockPlace::Local(dir) => match fs::remove_file(dir.join(LOCK_FILE)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(PipelineError::io(dir.join(LOCK_FILE))(e))
                }
                _ => Ok(()),
            },
            LockPlace::Remote(r) => r.delete_file(LOCK_FILE),
        }
    }

    /// Removes the lock if what it holds still passes `still` (read again), never a lock
    /// another run wrote meanwhile. On a file system this runs under an exclusive `flock`
    /// of the output folder, so of two runs that found the same stale lock the second sees
    /// the first one's new lock and leaves it; where the folder cannot be locked (NFS
    /// without `local_lock`, Lustre without `flock`) it reads and deletes unguarded. In a
    /// bucket the delete is conditional on the ETag of what was read.
    fn remove_if(&self, still: impl Fn(&Option<Option<LockInfo>>) -> bool) -> Result<()> {
        match self {
            LockPlace::Local(dir) => {
                let _guard = fs::File::open(dir)
                    .and_then(|d| d.lock().map(|()| d))
                    .inspect_err(|e| {
                        tracing::debug!("{}: no flock ({e}); unguarded", dir.display())
                    })
                    .ok();
                if still(&self.read()?) {
                    self.remove()?;
                }
            }
            LockPlace::Remote(r) => {
                if let Some((bytes, etag)) = r.read_small_tagged(LOCK_FILE)?
                    && still(&parse(Some(bytes)))
                {
                    r.delete_if_match(LOCK_FILE, &etag)?;
                }
            }
        }
        Ok(())
    }

    fn held(&self) -> Held {
        match self {
            LockPlace::Local(dir) => Held::Local(dir.to_path_buf()),
            LockPlace::Remote(r) => Held::Remote((*r).clone()),
        }
    }
}

/// What a lock file or object holds: `None` if there is none, `Some(None)` if it does not
/// parse. A lock appears whole (linked or PUT once written), so one that does not parse
/// was not written by this version of taojin: it is refused, never removed.
fn parse(bytes: Option<Vec<u8>>) -> Option<Option<LockInfo>> {
    bytes.map(|b| serde_json::from_slice(&b).ok())
}

/// A held lock; dropping it releases a local run's.
pub struct OutputLock {
    held: Held,
    /// What this run wrote: a release removes the lock only while it still says this.
    me: LockInfo,
    release_on_drop: bool,
    joined: bool,
}

/// This machine's host name (what a lock records and a stale-lock check compares).
pub(super) fn host() -> String {
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
    fn new(holder: &str, config: &str, run: Option<&str>) -> LockInfo {
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
            run: run.map(str::to_string),
        }
    }

    /// True when this is the cluster lock of `config` and cluster run `run`.
    fn is_cluster_run(&self, config: &str, run: Option<&str>) -> bool {
        self.holder == "cluster" && self.config == config && self.run.as_deref() == run
    }

    /// True when the holding process is gone (checked only on this host; a cluster lock
    /// is never stale: `finalize` releases it).
    fn is_stale(&self) -> bool {
        self.holder == "local"
            && self.host == host()
            && proc_start(self.pid).is_none_or(|s| s != self.proc_start)
    }

    fn describe(&self) -> String {
        let run = match &self.run {
            Some(id) => format!("--cluster-run {id}, "),
            None => String::new(),
        };
        format!(
            "{} run ({run}pid {} on {}, config {}, since {} s after the epoch)",
            self.holder,
            self.pid,
            self.host,
            &self.config[..self.config.len().min(12)],
            self.since
        )
    }
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
    /// Takes the lock at `place` for `holder` (`local` or `cluster`), `config` and cluster
    /// run `run`, or refuses naming the holder. A cluster lock of the same config and run
    /// is shared.
    pub fn acquire(
        place: LockPlace<'_>,
        holder: &str,
        config: &str,
        run: Option<&str>,
    ) -> Result<OutputLock> {
        let me = LockInfo::new(holder, config, run);
        let lock = |release_on_drop, joined| OutputLock {
            held: place.held(),
            me: me.clone(),
            release_on_drop,
            joined,
        };
        for _ in 0..3 {
            if place.create(&me)? {
                return Ok(lock(holder == "local", false));
            }
            let held = match place.read()? {
                None => continue,
                Some(Some(h)) => h,
                Some(None) => return Err(unparsable(&place.name())),
            };
            if holder == "cluster" && held.is_cluster_run(config, run) {
                return Ok(lock(false, true));
            }
            if held.is_stale() {
                tracing::warn!(lock = %place.name(), "breaking the stale lock of a {}", held.describe());
                place.remove_if(|now| matches!(now, Some(Some(h)) if *h == held))?;
                continue;
            }
            return Err(refused(
                &place.name(),
                &held,
                (holder == "cluster").then_some(config),
            ));
        }
        Err(PipelineError::Config(format!(
            "{}: could not take the lock",
            place.name()
        )))
    }

    /// True when a cluster step found its run's lock already taken: that run's other
    /// workers may be writing now.
    pub fn joined(&self) -> bool {
        self.joined
    }

    /// Checks that a cluster step may write: no lock, or the cluster lock of its config
    /// and run.
    pub fn check_cluster(place: LockPlace<'_>, config: &str, run: Option<&str>) -> Result<()> {
        match place.read()? {
            Some(None) => Err(unparsable(&place.name())),
            Some(Some(held)) if !held.is_cluster_run(config, run) => {
                if held.is_stale() {
                    return Ok(());
                }
                Err(refused(&place.name(), &held, Some(config)))
            }
            _ => Ok(()),
        }
    }

    /// Releases the cluster lock of `config` and `run` (the `finalize` step); a lock
    /// another run took meanwhile (after this one's was deleted by hand) stays.
    pub fn release(place: LockPlace<'_>, config: &str, run: Option<&str>) -> Result<()> {
        place.remove_if(|now| matches!(now, Some(Some(h)) if h.is_cluster_run(config, run)))
    }
}

fn unparsable(name: &str) -> PipelineError {
    PipelineError::InUse(format!(
        "{name}: a lock this version of taojin cannot read (another version's, or not a lock); \
         delete it if no run is using this output"
    ))
}

/// The refusal of a run; `step_config`: the config of the cluster step refused. A
/// cluster step of the holder's config is told how to join that run.
fn refused(name: &str, held: &LockInfo, step_config: Option<&str>) -> PipelineError {
    let same_config = held.holder == "cluster" && step_config == Some(held.config.as_str());
    let resume = match (same_config, &held.run) {
        (false, _) => String::new(),
        (true, Some(id)) => format!(" (or, to carry on that run, give `--cluster-run {id}`)"),
        (true, None) => " (or, to carry on that run, run its steps without `--cluster-run`)".into(),
    };
    PipelineError::InUse(format!(
        "{name}: the output is in use by a {}; wait for it, or delete the lock if that run is gone{resume}",
        held.describe()
    ))
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        if !self.release_on_drop {
            return;
        }
        // A lock deleted by hand and since taken by another run is that run's.
        let released = self
            .held
            .place()
            .remove_if(|now| matches!(now, Some(Some(h)) if *h == self.me));
        if let Err(e) = released {
            tracing::warn!("lock not released: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_run_ids_are_safe_words() {
        use crate::engine::{check_cluster_run_id, new_cluster_run_id};
        for good in ["r1", "ray-0a1b2c3d4e5f", "2026.12_03-a", &"a".repeat(64)] {
            assert!(check_cluster_run_id(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "", "-x", ".x", &long, "a b", "a;b", "$(id)", "a'b", "a\nb", "é",
        ] {
            assert!(check_cluster_run_id(bad).is_err(), "{bad:?}");
        }
        let (a, b) = (new_cluster_run_id(), new_cluster_run_id());
        assert!(check_cluster_run_id(&a).is_ok() && a != b, "{a} {b}");
    }

    #[test]
    fn one_local_writer_and_stale_locks_break() -> Result<()> {
        let dir = tempfile::tempdir().map_err(PipelineError::io("tmp"))?;
        let first = OutputLock::acquire(LockPlace::Local(dir.path()), "local", "aaa", None)?;
        let second = OutputLock::acquire(LockPlace::Local(dir.path()), "local", "bbb", None);
        assert!(
            second.is_err_and(|e| e.to_string().contains("in use by a local run")),
            "a live holder refuses"
        );
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists(), "released on drop");
        let holder = || {
            Ok::<_, PipelineError>(
                LockPlace::Local(dir.path())
                    .read()?
                    .flatten()
                    .map(|l| l.config),
            )
        };
        // A dead process's lock: no process has pid u32::MAX, so /proc has no entry.
        let mut dead = LockInfo::new("local", "ccc", None);
        dead.pid = u32::MAX;
        create(&dir.path().join(LOCK_FILE), &dead)?;
        let taken = OutputLock::acquire(LockPlace::Local(dir.path()), "local", "ddd", None)?;
        assert_eq!(holder()?, Some("ddd".into()));
        drop(taken);
        // Cluster workers of one config and run share (the second joins the first's
        // lock); another config or run is refused.
        let here = || LockPlace::Local(dir.path());
        assert!(!OutputLock::acquire(here(), "cluster", "eee", Some("r1"))?.joined());
        assert!(OutputLock::acquire(here(), "cluster", "eee", Some("r1"))?.joined());
        OutputLock::check_cluster(here(), "eee", Some("r1"))?;
        assert!(OutputLock::check_cluster(here(), "fff", Some("r1")).is_err());
        assert!(OutputLock::acquire(here(), "local", "eee", None).is_err());
        for run in [Some("r2"), None] {
            let other = OutputLock::acquire(here(), "cluster", "eee", run).err();
            assert!(
                other.is_some_and(|e| e.to_string().contains("give `--cluster-run r1`")),
                "another cluster run of the same config"
            );
            assert!(OutputLock::check_cluster(here(), "eee", run).is_err());
            // Its finalize leaves r1's lock.
            OutputLock::release(here(), "eee", run)?;
            assert_eq!(holder()?, Some("eee".into()));
        }
        OutputLock::release(here(), "eee", Some("r1"))?;
        assert!(!dir.path().join(LOCK_FILE).exists());
        // Another config is not told to join; a lock of the last version (no `run`) is
        // the run of steps without `--cluster-run`.
        OutputLock::acquire(here(), "cluster", "eee", Some("r1"))?;
        let other = OutputLock::check_cluster(here(), "fff", Some("r1")).err();
        assert!(other.is_some_and(|e| !e.to_string().contains("--cluster-run r1`")));
        OutputLock::release(here(), "eee", Some("r1"))?;
        let old = br#"{"holder": "cluster", "host": "h", "pid": 1, "proc_start": 2,
            "since": 3, "config": "eee"}"#;
        fs::write(dir.path().join(LOCK_FILE), old).map_err(PipelineError::io("lock"))?;
        OutputLock::acquire(here(), "cluster", "eee", None)?;
        OutputLock::check_cluster(here(), "eee", None)?;
        let new = OutputLock::check_cluster(here(), "eee", Some("r1")).err();
        assert!(new.is_some_and(|e| e.to_string().contains("without `--cluster-run`")));
        OutputLock::release(here(), "eee", None)?;
        assert!(!dir.path().join(LOCK_FILE).exists());
        // A lock deleted by hand and taken by another run stays that run's when the
        // first one ends.
        let first = OutputLock::acquire(LockPlace::Local(dir.path()), "local", "ggg", None)?;
        fs::remove_file(dir.path().join(LOCK_FILE)).map_err(PipelineError::io("lock"))?;
        let second = OutputLock::acquire(LockPlace::Local(dir.path()), "local", "hhh", None)?;
        drop(first);
        assert_eq!(holder()?, Some("hhh".into()));
        drop(second);
        assert!(!dir.path().join(LOCK_FILE).exists());
        // A lock that does not parse (an older version's fields) is refused and kept.
        let foreign = br#"{"holder": "local", "host": "elsewhere"}"#;
        fs::write(dir.path().join(LOCK_FILE), foreign).map_err(PipelineError::io("lock"))?;
        for refused in [
            OutputLock::acquire(LockPlace::Local(dir.path()), "local", "iii", None).err(),
            OutputLock::check_cluster(LockPlace::Local(dir.path()), "iii", None).err(),
        ] {
            assert!(refused.is_some_and(|e| e.to_string().contains("cannot read")));
        }
        let kept = fs::read(dir.path().join(LOCK_FILE)).map_err(PipelineError::io("lock"))?;
        assert_eq!(kept, foreign);
        Ok(())
    }

    /// Eight runs start at once on an output whose lock a dead process left: exactly one
    /// takes it, every round (breaking the stale lock must not remove the winner's).
    #[test]
    fn breaking_a_stale_lock_lets_exactly_one_run_in() -> Result<()> {
        for round in 0..40 {
            let dir = tempfile::tempdir().map_err(PipelineError::io("tmp"))?;
            let mut dead = LockInfo::new("local", "old", None);
            dead.pid = u32::MAX;
            create(&dir.path().join(LOCK_FILE), &dead)?;
            let start = std::sync::Barrier::new(8);
            let taken: Vec<bool> = std::thread::scope(|s| {
                let runs: Vec<_> = (0..8)
                    .map(|i| {
                        let (dir, start) = (dir.path(), &start);
                        s.spawn(move || {
                            start.wait();
                            OutputLock::acquire(
                                LockPlace::Local(dir),
                                "local",
                                &format!("c{i}"),
                                None,
                            )
                        })
                    })
                    .collect();
                // Every lock stays held until all runs answered.
                let held: Vec<_> = runs.into_iter().map(|r| r.join().ok()).collect();
                held.iter().map(|r| matches!(r, Some(Ok(_)))).collect()
            });
            assert_eq!(
                taken.iter().filter(|&&t| t).count(),
                1,
                "round {round}: {taken:?}"
            );
        }
        Ok(())
    }
}
