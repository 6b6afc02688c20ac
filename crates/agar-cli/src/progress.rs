//! The live progress bar of `agar audit` and `agar resume`, and the log
//! writer that keeps log lines readable around it.
//!
//! The bar exists only when stderr is a terminal and `--json` is off; it
//! shows audits finished of those to run, running, invalid and failed
//! counts, tokens, cost, elapsed time and, once an audit has finished, an
//! estimate of the time left (never a made-up `0s` while work runs). With
//! few audits running it names each one's phase ([`crate::phase`]); when a
//! local model generates, its tokens and tokens per second.
//! While it is on screen, every log line and message goes through
//! [`eprint_line`] or the [`LogWriter`], which hide the bar, write, and draw
//! it again.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::phase::Board;

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

/// Running audits whose phases the bar names (more are only counted).
const PHASES_SHOWN: usize = 3;

/// The progress of one invocation.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    counts: Counts,
    board: Arc<Board>,
    started: Instant,
    /// Local tokens generated at the last rate sample, when, and the rate.
    local: Mutex<(Instant, u64, f64)>,
    /// Local tokens generated before this invocation's audits.
    local_start: u64,
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
                "{bar:24.cyan/blue} {pos}/{len} audits {msg} [{elapsed_precise}{prefix}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(500));
            *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
            bar
        });
        let now = Instant::now();
        let p = Progress {
            bar,
            counts: Counts::default(),
            board: Arc::default(),
            started: now,
            local: Mutex::new((now, agar_local::tokens_generated(), 0.0)),
            local_start: agar_local::tokens_generated(),
        };
        p.redraw();
        p
    }

    /// Where running audits mark their phases, when the bar is shown.
    pub(crate) fn board(&self) -> Option<Arc<Board>> {
        self.bar.as_ref().map(|_| self.board.clone())
    }

    pub(crate) fn started(&self) {
        self.counts.running.fetch_add(1, Ordering::Relaxed);
        self.redraw();
    }

    /// One audit finished in this state.
    pub(crate) fn finished(&self, status: agar_core::AuditState) {
        self.counts.running.fetch_sub(1, Ordering::Relaxed);
        match status {
            agar_core::AuditState::Invalid => self.counts.invalid.fetch_add(1, Ordering::Relaxed),
            agar_core::AuditState::Failed => self.counts.failed.fetch_add(1, Ordering::Relaxed),
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
        let phases = self.board.snapshot();
        let phases = if phases.is_empty() || phases.len() > PHASES_SHOWN {
            String::new()
        } else {
            let named: Vec<String> =
                phases.iter().map(|(a, p)| format!("{a}: {}", p.label())).collect();
            format!(" | {}", named.join(", "))
        };
        bar.set_message(format!(
            "| {} running, {} invalid, {} failed | {} tokens{cost}{}{phases}",
            c.running.load(Ordering::Relaxed),
            c.invalid.load(Ordering::Relaxed),
            c.failed.load(Ordering::Relaxed),
            c.tokens.load(Ordering::Relaxed),
            self.local_rate(),
        ));
        let finished = bar.position() as usize;
        let left = (bar.length().unwrap_or(0) as usize).saturating_sub(finished);
        bar.set_prefix(eta(self.started.elapsed(), finished, left));
    }

    /// `, local 1234 tokens at 21.5 tok/s`, once a local model generated.
    fn local_rate(&self) -> String {
        let now = Instant::now();
        let total = agar_local::tokens_generated();
        let mut sample = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, before, _) = *sample;
        let dt = now.duration_since(at).as_secs_f64();
        if dt >= 1.0 {
            *sample = (now, total, total.saturating_sub(before) as f64 / dt);
        }
        let generated = total.saturating_sub(self.local_start);
        if generated == 0 {
            return String::new();
        }
        format!(" | local: {generated} tokens generated, {:.1} tok/s", sample.2)
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

/// `, ETA 3m 20s` when it can be estimated: at least one audit finished and
/// some are left (finished audits' pace, times those left); otherwise nothing.
pub(crate) fn eta(elapsed: Duration, finished: usize, left: usize) -> String {
    if finished == 0 || left == 0 {
        return String::new();
    }
    // Rounded up: an audit still running never reads `0s`.
    let secs = (elapsed.as_secs_f64() * left as f64 / finished as f64).ceil().max(1.0) as u64;
    match secs {
        0..60 => format!(", ETA {secs}s"),
        60..3600 => format!(", ETA {}m {:02}s", secs / 60, secs % 60),
        _ => format!(", ETA {}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_eta_until_an_audit_finished_and_never_zero_for_running_work() {
        let t = Duration::from_secs(120);
        assert_eq!(eta(t, 0, 1), "", "nothing finished: no estimate");
        assert_eq!(eta(t, 1, 0), "", "nothing left");
        assert_eq!(eta(t, 2, 1), ", ETA 1m 00s");
        assert_eq!(eta(Duration::from_millis(10), 1, 1), ", ETA 1s");
        assert_eq!(eta(Duration::from_secs(7200), 1, 1), ", ETA 2h 00m");
    }
}
