//! Progress bars on a terminal (docs/s, MB/s, ETA per stage); nothing when stderr is not
//! a terminal, so CI logs stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of a run.
pub struct Progress {
    multi: MultiProgress,
    enabled: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Bars on stderr if it is a terminal, else hidden.
    pub fn new() -> Progress {
        let enabled = std::io::stderr().is_terminal();
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            enabled,
        }
    }

    /// A bar for a stage of `tasks` tasks.
    pub fn stage(&self, name: &str, tasks: usize) -> StageProgress {
        let bar = if self.enabled {
            self.multi.add(ProgressBar::new(tasks as u64))
        } else {
            ProgressBar::hidden()
        };
        let style = ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} tasks  {msg}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(name.to_string());
        StageProgress {
            bar,
            docs: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            start: Instant::now(),
        }
    }
}

/// Counters of one stage, shared by its tasks.
pub struct StageProgress {
    bar: ProgressBar,
    docs: AtomicU64,
    bytes: AtomicU64,
    start: Instant,
}

impl StageProgress {
    /// Adds a processed batch.
    pub fn add(&self, docs: u64, bytes: u64) {
        let docs = self.docs.fetch_add(docs, Ordering::Relaxed) + docs;
        let bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if self.bar.is_hidden() {
            return;
        }
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!(
            "{docs} docs  {:.0} docs/s  {:.1} MB/s",
            docs as f64 / secs,
            bytes as f64 / 1e6 / secs
        ));
    }

    /// Marks one task finished.
    pub fn task_done(&self) {
        self.bar.inc(1);
    }

    /// Ends the bar.
    pub fn finish(&self) {
        self.bar.finish();
    }
}
