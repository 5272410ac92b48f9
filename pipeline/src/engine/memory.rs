//! The process's memory: the allocator's settings, free memory handed back between
//! stages, and the peak RSS of each stage (what `stats.json` shows a user).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Hands memory the allocator holds free back to the system (glibc keeps what a stage
/// freed in its arenas, so a job's RSS would climb stage by stage to the sum of their
/// peaks). Elsewhere a no-op.
pub(super) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// One glibc malloc arena per worker thread rather than glibc's eight per core: each
/// arena keeps its own free memory, and with many of them a job's RSS ran about a third
/// above its live heap (the demo at 64×: 472 MiB, 377 MiB with two arenas, same time). A
/// user's `MALLOC_ARENA_MAX` wins. Elsewhere a no-op.
pub(super) fn limit_allocator_arenas(threads: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let arenas = libc::c_int::try_from(threads.max(1)).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets a tunable of the allocator; arenas already made stay.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = threads;
}

/// Each stage's peak RSS, without touching the process's own high-water mark (which
/// `time -v`, `wait4` and schedulers read). When the kernel's mark (`VmHWM`) rose during
/// a stage, that stage set it and the mark is exact; otherwise a sampler thread's
/// maximum of the RSS (every [`SAMPLE_EVERY`]) is the stage's peak.
pub(super) struct StagePeaks {
    shared: Arc<Shared>,
    sampler: Option<std::thread::JoinHandle<()>>,
    hwm_at_start: Option<u64>,
}

/// How often the sampler reads the RSS.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Shared {
    max: AtomicU64,
    stop: AtomicBool,
}

impl StagePeaks {
    /// Starts the sampler (none where the RSS cannot be read).
    pub(super) fn start() -> StagePeaks {
        let shared = Arc::new(Shared::default());
        let sampler = rss().and_then(|now| {
            shared.max.store(now, Ordering::Relaxed);
            let s = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("taojin-rss".into())
                .spawn(move || {
                    while !s.stop.load(Ordering::Relaxed) {
                        if let Some(now) = rss() {
                            s.max.fetch_max(now, Ordering::Relaxed);
                        }
                        std::thread::park_timeout(SAMPLE_EVERY);
                    }
                })
                .ok()
        });
        StagePeaks {
            shared,
            sampler,
            hwm_at_start: hwm(),
        }
    }

    /// A new stage starts: its peak starts at the RSS now.
    pub(super) fn begin(&mut self) {
        self.shared.max.store(rss().unwrap_or(0), Ordering::Relaxed);
        self.hwm_at_start = hwm();
    }

    /// The peak RSS in bytes since [`StagePeaks::begin`]; `None` where it is not known.
    pub(super) fn peak(&self) -> Option<u64> {
        let sampled = rss().map(|now| self.shared.max.fetch_max(now, Ordering::Relaxed).max(now));
        match (self.hwm_at_start, hwm()) {
            (Some(start), Some(end)) if end > start => Some(end),
            _ => sampled.filter(|_| self.sampler.is_some()),
        }
    }
}

impl Drop for StagePeaks {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.sampler.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// The process's RSS in bytes (`/proc/self/statm`); `None` off Linux.
fn rss() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        // SAFETY: sysconf only reads a constant of the system.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Some(statm_resident_pages(&statm)? * u64::try_from(page).ok()?)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// The resident pages (second field) of a `/proc/<pid>/statm` text.
fn statm_resident_pages(statm: &str) -> Option<u64> {
    statm.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The kernel's high-water mark of the process's RSS in bytes (`VmHWM`).
fn hwm() -> Option<u64> {
    vm_hwm_bytes(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// `VmHWM:   123456 kB` of a `/proc/<pid>/status` text, in bytes.
fn vm_hwm_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kb = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_high_water_mark_and_resident_pages_are_read_from_proc_texts() {
        let status = "Name:\ttaojin\nVmPeak:\t 9000 kB\nVmHWM:\t   1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(vm_hwm_bytes(status), Some(1234 * 1024));
        assert_eq!(vm_hwm_bytes("VmRSS:\t1 kB\n"), None);
        assert_eq!(vm_hwm_bytes("VmHWM:\tlots\n"), None);
        assert_eq!(
            statm_resident_pages("5000 1200 300 10 0 900 0\n"),
            Some(1200)
        );
        assert_eq!(statm_resident_pages("5000"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_stage_sees_its_own_peak_and_not_the_last_ones() {
        let mut peaks = StagePeaks::start();
        let before = peaks.peak().unwrap_or(0);
        // 512 MiB touched, then freed: other tests alive in this process would have to
        // hold over 100 MiB at the next stage's start to hide it.
        let big = vec![1u8; 512 << 20];
        std::hint::black_box(&big);
        std::thread::sleep(SAMPLE_EVERY * 3);
        drop(big);
        release_free_memory();
        let high = peaks.peak().unwrap_or(0);
        assert!(high >= before + (500 << 20), "{before} -> {high}");
        // The next stage starts below that; the process's own mark is not reset.
        peaks.begin();
        let next = peaks.peak().unwrap_or(u64::MAX);
        assert!(
            next + (400 << 20) <= high,
            "last stage {high}, this one {next}"
        );
        assert!(hwm().unwrap_or(0) >= high, "the kernel's mark stays");
    }
}
