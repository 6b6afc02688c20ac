//! The live progress bar of `agar audit` and `agar resume`, and the log
//! writer that keeps log lines readable around it.
//!
//! The bar exists only when stderr is a terminal and `--json` is off; it
//! shows audits finished of those to run, running, invalid and failed
//! counts, tokens, cost, elapsed time and an estimate of the time left.
//! While it is on screen, every log line and message goes through
//! [`eprint_line`] or the [`LogWriter`], which hide the bar, write, and draw
//! it again.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar on screen, if any: the log writer suspends it around each write.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn active() -> Option<ProgressBar> {
    ACTIVE.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Writes one line to stderr without tearing the bar.
pub(crate) fn eprint_line(line: &str) {
    match active() {
        Some(bar) => bar.suspend(|| eprintln!("{}", crate::term::clean(line))),
        None => eprintln!("{}", crate::term::clean(line)),
    }
}

/// Where tracing writes: stderr, with the bar hidden during the write.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Log lines carry provider and model text: escape what would steer
        // the terminal (see `crate::term`).
        let text = String::from_utf8_lossy(buf);
        let clean = crate::term::clean_log(&text);
        match active() {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(clean.as_bytes()))?,
            None => std::io::stderr().write_all(clean.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The writer factory for `tracing_subscriber`.
pub(crate) fn log_writer() -> LogWriter {
    LogWriter
}

/// Counts shown by the bar.
#[derive(Debug, Default)]
struct Counts {
    running: AtomicU64,
    invalid: AtomicU64,
    failed: AtomicU64,
    tokens: AtomicU64,
    /// Cost in micro-dollars.
    cost_micro: AtomicU64,
}

/// The progress of one invocation.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    counts: Counts,
}

impl Progress {
    /// A bar for `total` audits when stderr is a terminal and `json` is off;
    /// otherwise a progress that shows nothing.
    pub(crate) fn new(total: usize, json: bool) -> Progress {
        let show = !json && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:24.cyan/blue} {pos}/{len} audits {msg} [{elapsed_precise}, ETA {eta}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(500));
            *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
            bar
        });
        let p = Progress { bar, counts: Counts::default() };
        p.redraw();
        p
    }

    pub(crate) fn started(&self) {
        self.counts.running.fetch_add(1, Ordering::Relaxed);
        self.redraw();
    }

    /// One audit finished with this status label.
    pub(crate) fn finished(&self, status: &str) {
        self.counts.running.fetch_sub(1, Ordering::Relaxed);
        match status {
            "invalid" => self.counts.invalid.fetch_add(1, Ordering::Relaxed),
            "failed" => self.counts.failed.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.redraw();
    }

    /// The run's tokens and cost so far.
    pub(crate) fn spent(&self, tokens: u64, cost_usd: Option<f64>) {
        self.counts.tokens.store(tokens, Ordering::Relaxed);
        if let Some(c) = cost_usd {
            self.counts.cost_micro.store((c * 1e6).round() as u64, Ordering::Relaxed);
        }
        self.redraw();
    }

    fn redraw(&self) {
        let Some(bar) = &self.bar else { return };
        let c = &self.counts;
        let cost = c.cost_micro.load(Ordering::Relaxed);
        let cost = if cost > 0 { format!(", ${:.4}", cost as f64 / 1e6) } else { String::new() };
        bar.set_message(format!(
            "| {} running, {} invalid, {} failed | {} tokens{cost}",
            c.running.load(Ordering::Relaxed),
            c.invalid.load(Ordering::Relaxed),
            c.failed.load(Ordering::Relaxed),
            c.tokens.load(Ordering::Relaxed),
        ));
    }

    /// Takes the bar off the screen (before the summary is printed).
    pub(crate) fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
