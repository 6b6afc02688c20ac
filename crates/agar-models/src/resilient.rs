//! [`Resilient`]: the middleware around every provider. Each call gets a
//! per-attempt timeout, retries with full-jitter exponential backoff (or the
//! provider's `Retry-After`), a per-model concurrency limit and usage accounting.
//!
//! It wraps any `Arc<dyn ChatModel>`, so every provider gets the same stack.

use std::sync::Arc;
use std::time::Duration;

use agar_core::{Capabilities, ChatModel, ChatRequest, ChatResponse, ModelError, RetriedCall};
use tokio::sync::Semaphore;

use crate::meter::UsageMeter;

/// How [`Resilient`] times, retries and spaces out the attempts of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPolicy {
    /// Longest one attempt may take inside the provider; past it the attempt
    /// fails with [`ModelError::Timeout`] (retryable). The wait for a
    /// concurrency permit does not count.
    pub timeout: Duration,
    /// Attempts per call, the first included (`1` never retries; `0` counts as `1`).
    pub max_attempts: u32,
    /// Backoff ceiling after the first failed attempt; it doubles with each retry.
    pub base_delay: Duration,
    /// Upper bound of any backoff wait.
    pub max_delay: Duration,
    /// Upper bound of a wait the provider asked for with `Retry-After`, so a
    /// wrong or hostile header cannot park a run for hours.
    pub max_retry_after: Duration,
    /// How long connection failures (a server restarting, a port not yet
    /// open) keep being retried, past `max_attempts`, counted from the
    /// call's first attempt. Each wait is capped at [`CONNECTION_RETRY_CAP`].
    pub connection_budget: Duration,
}

/// The longest wait between two attempts to reach a server that refused the
/// connection, so a restarted server is picked up within seconds.
pub const CONNECTION_RETRY_CAP: Duration = Duration::from_secs(5);

/// How many distinct errors a failed call reports.
const KEPT_ERRORS: usize = 3;

impl Default for CallPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            max_attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
            connection_budget: Duration::from_secs(120),
        }
    }
}

impl CallPolicy {
    /// The largest backoff after the `attempt`-th failed attempt (1-based):
    /// `base_delay * 2^(attempt-1)`, capped at `max_delay`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.checked_pow(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.checked_mul(factor).unwrap_or(Duration::MAX).min(self.max_delay)
    }

    /// The wait before retrying after the `attempt`-th attempt failed with `error`:
    /// the provider's `Retry-After` when it sent one (capped at `max_retry_after`),
    /// otherwise a uniformly random wait in `[0, backoff_ceiling(attempt)]` ("full jitter",
    /// so that many audits throttled at once do not retry in lockstep).
    pub fn retry_delay(&self, attempt: u32, error: &ModelError) -> Duration {
        match error.retry_after() {
            Some(wait) => wait.min(self.max_retry_after),
            None => {
                let ceiling = self.backoff_ceiling(attempt);
                let unit: f64 = rand::random();
                Duration::try_from_secs_f64(ceiling.as_secs_f64() * unit)
                    .unwrap_or(ceiling)
                    .min(ceiling)
            }
        }
    }

    fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// Whether the call that began `elapsed` ago and has just failed its
    /// `attempt`-th attempt with `error` gets another one after `wait`.
    fn retries(&self, attempt: u32, error: &ModelError, elapsed: Duration, wait: Duration) -> bool {
        if !error.is_retryable() {
            return false;
        }
        attempt < self.attempts()
            || (matches!(error, ModelError::Connection(_))
                && elapsed.saturating_add(wait) < self.connection_budget)
    }
}

/// A [`ChatModel`] that makes another one dependable: timeouts, retries,
/// a concurrency limit and usage accounting.
///
/// A call runs attempts until one succeeds, an error is not retryable
/// ([`ModelError::is_retryable`]), or [`CallPolicy::max_attempts`] is reached;
/// the answer's [`ChatResponse::attempts`] says how many it took, and a call
/// that failed after retries ends in [`ModelError::Retried`] (attempts, time
/// spent, retried labels, last distinct errors around the last error). Dropping the
/// call's future (cancellation) abandons the attempt in flight and releases its permit.
#[derive(Debug)]
pub struct Resilient {
    /// The model doing the work: a provider, or another middleware.
    inner: Arc<dyn ChatModel>,
    /// Timeout, attempts and backoff of each call.
    policy: CallPolicy,
    /// Bounds how many attempts are inside `inner` at once. It is shared by every
    /// handle on the same model (see [`crate::SharedModels`]), so the limit holds
    /// for the model across all roles. A permit is held for one attempt only and
    /// released before any backoff wait, so a call sleeping on a `Retry-After`
    /// does not block others. Closing it (e.g. at shutdown) makes waiting and
    /// later calls fail at once with [`ModelError::Config`], without reaching the provider.
    limiter: Arc<Semaphore>,
    /// Counts calls, failures, retries and tokens; shared like `limiter`.
    meter: Arc<UsageMeter>,
}

impl Resilient {
    pub fn new(
        inner: Arc<dyn ChatModel>,
        policy: CallPolicy,
        limiter: Arc<Semaphore>,
        meter: Arc<UsageMeter>,
    ) -> Self {
        Self { inner, policy, limiter, meter }
    }

    /// The usage counters of the wrapped model.
    pub fn meter(&self) -> &Arc<UsageMeter> {
        &self.meter
    }

    pub fn policy(&self) -> &CallPolicy {
        &self.policy
    }

    /// The concurrency limiter (see the field's documentation).
    pub fn limiter(&self) -> &Arc<Semaphore> {
        &self.limiter
    }

    /// One attempt: wait for a permit, then run the inner call under the timeout.
    /// The permit is dropped when this returns, before any backoff.
    async fn attempt(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let _permit = self.limiter.acquire().await.map_err(|_closed| {
            ModelError::Config(format!(
                "calls to {} were stopped (its concurrency limiter is closed)",
                self.inner.name()
            ))
        })?;
        match tokio::time::timeout(self.policy.timeout, self.inner.chat(request)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(ModelError::Timeout(self.policy.timeout)),
        }
    }
}

#[async_trait::async_trait]
impl ChatModel for Resilient {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.meter.record_call();
        let started = tokio::time::Instant::now();
        let max_attempts = self.policy.attempts();
        let mut attempt = 1;
        let mut waited = Duration::ZERO;
        let mut retried = Vec::new();
        let mut distinct: Vec<String> = Vec::new();
        loop {
            match self.attempt(request).await {
                Ok(mut response) => {
                    response.attempts = attempt;
                    response.retry_wait_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
                    response.retried = retried;
                    self.meter.record_usage(response.usage);
                    return Ok(response);
                }
                Err(error) => {
                    let mut wait = self.policy.retry_delay(attempt, &error);
                    if matches!(error, ModelError::Connection(_)) {
                        wait = wait.min(CONNECTION_RETRY_CAP);
                    }
                    let shown = error.to_string();
                    distinct.retain(|e| e != &shown);
                    distinct.push(shown);
                    if !self.policy.retries(attempt, &error, started.elapsed(), wait) {
                        self.meter.record_failure();
                        let error = explain(error, self.inner.name());
                        if attempt == 1 {
                            return Err(error);
                        }
                        let kept = distinct.len().saturating_sub(KEPT_ERRORS);
                        return Err(ModelError::Retried(Box::new(RetriedCall {
                            last: error,
                            attempts: attempt,
                            elapsed: started.elapsed(),
                            waited,
                            retried,
                            distinct: distinct.split_off(kept),
                        })));
                    }
                    tracing::warn!(
                        model = self.inner.name(),
                        attempt,
                        max_attempts,
                        error_kind = error.kind(),
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        error = %error,
                        "model call failed; retrying"
                    );
                    self.meter.record_retry();
                    retried.push(error.label());
                    tokio::time::sleep(wait).await;
                    waited = waited.saturating_add(wait);
                    attempt += 1;
                }
            }
        }
    }
}

/// The final error of a call, saying what the server's message allows: the
/// context sizes of an overflow, or the request feature blamed. Its kind and
/// status are unchanged. (After retries, [`ModelError::Retried`] adds how
/// many attempts over how long and the last distinct errors.)
fn explain(error: ModelError, model: &str) -> ModelError {
    let note = if let Some(sizes) = error.context_overflow() {
        format!("the request does not fit {model}'s context window ({sizes})")
    } else if let Some(feature) = error.blamed_feature() {
        format!("the server's message blames the request's {feature}")
    } else {
        return error;
    };
    let note = format!(" [agar: {note}]");
    match error {
        ModelError::Provider { status, retry_after, body } => {
            ModelError::Provider { status, retry_after, body: body + &note }
        }
        ModelError::Connection(message) => ModelError::Connection(message + &note),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_ceiling_doubles_then_caps() {
        let p = CallPolicy::default();
        let ceilings: Vec<u64> = (1..=9).map(|a| p.backoff_ceiling(a).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.backoff_ceiling(u32::MAX), p.max_delay);
    }

    #[test]
    fn jittered_delay_stays_under_the_ceiling() {
        let p = CallPolicy::default();
        let err = ModelError::Connection("reset".into());
        for attempt in 1..12 {
            for _ in 0..50 {
                let d = p.retry_delay(attempt, &err);
                assert!(d <= p.backoff_ceiling(attempt), "{d:?} at attempt {attempt}");
            }
        }
    }

    #[test]
    fn retry_after_is_used_and_capped() {
        let p = CallPolicy::default();
        let rl = |s| ModelError::RateLimited {
            status: 429,
            retry_after: Some(Duration::from_secs(s)),
            body: String::new(),
        };
        assert_eq!(p.retry_delay(1, &rl(7)), Duration::from_secs(7));
        assert_eq!(p.retry_delay(1, &rl(0)), Duration::ZERO);
        assert_eq!(p.retry_delay(1, &rl(86_400)), p.max_retry_after);
    }
}
