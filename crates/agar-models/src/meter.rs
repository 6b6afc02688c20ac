//! [`UsageMeter`]: counters of one model's calls, retries and tokens over a run,
//! shared by every user of the model and read for run summaries.

use std::sync::atomic::{AtomicU64, Ordering};

use agar_core::Usage;
use serde::Serialize;

/// Lock-free counters for one model, updated by [`crate::Resilient`] after every call.
///
/// One meter is shared (through an `Arc`) by every resolve of the same model
/// reference, so it counts the whole run's traffic to that model whatever role
/// made the call. Counters only grow; read them with [`UsageMeter::snapshot`].
#[derive(Debug, Default)]
pub struct UsageMeter {
    /// Logical calls made through the middleware (one per `chat`, whatever its attempts).
    calls: AtomicU64,
    /// Calls that failed past their retries (or at once, for a non-retryable error).
    failed_calls: AtomicU64,
    /// Attempts beyond the first, over all calls.
    retries: AtomicU64,
    /// Input (prompt) tokens of successful calls, as the provider reported them.
    input_tokens: AtomicU64,
    /// Output (completion) tokens of successful calls.
    output_tokens: AtomicU64,
}

/// The values of a [`UsageMeter`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct UsageSnapshot {
    pub calls: u64,
    pub failed_calls: u64,
    pub retries: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl UsageSnapshot {
    /// The token counts as a [`Usage`].
    pub fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            ..Usage::default()
        }
    }
}

impl UsageMeter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current values. Each counter is read atomically; the set is not one
    /// consistent cut while calls are running, which is fine for summaries.
    pub fn snapshot(&self) -> UsageSnapshot {
        UsageSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            failed_calls: self.failed_calls.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            input_tokens: self.input_tokens.load(Ordering::Relaxed),
            output_tokens: self.output_tokens.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn record_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_failure(&self) {
        self.failed_calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_usage(&self, usage: Usage) {
        self.input_tokens.fetch_add(usage.input_tokens, Ordering::Relaxed);
        self.output_tokens.fetch_add(usage.output_tokens, Ordering::Relaxed);
    }
}
