//! Test doubles: [`Scripted`], an in-process model that plays a list of
//! [`Step`]s and records when it was called and how many calls overlapped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agar_core::{ChatModel, ChatRequest, ChatResponse, ModelError, Usage};
use agar_models::{CallPolicy, Resilient, UsageMeter};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// What one call of [`Scripted`] does.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Answers this text (1 input and 2 output tokens).
    Answer(&'static str),
    /// Fails with this error.
    Fail(ModelError),
    /// Never finishes.
    Hang,
}

/// A model that plays its steps in order, then answers `"done"` forever.
#[derive(Debug)]
pub(crate) struct Scripted {
    steps: Mutex<VecDeque<Step>>,
    /// How long each call takes before doing its step.
    work: Duration,
    /// When each call started.
    started: Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Scripted {
    pub(crate) fn new(steps: Vec<Step>) -> Arc<Self> {
        Self::working(steps, Duration::ZERO)
    }

    pub(crate) fn working(steps: Vec<Step>, work: Duration) -> Arc<Self> {
        Arc::new(Self {
            steps: Mutex::new(steps.into()),
            work,
            started: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        })
    }

    pub(crate) fn calls(&self) -> usize {
        self.started.lock().expect("not poisoned").len()
    }

    pub(crate) fn started(&self) -> Vec<Instant> {
        self.started.lock().expect("not poisoned").clone()
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Decrements the in-flight count when a call ends, even by cancellation.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl ChatModel for Scripted {
    fn name(&self) -> &str {
        "scripted/test"
    }

    async fn chat(&self, _request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.started.lock().expect("not poisoned").push(Instant::now());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let _guard = InFlight(&self.in_flight);
        let step =
            self.steps.lock().expect("not poisoned").pop_front().unwrap_or(Step::Answer("done"));
        tokio::time::sleep(self.work).await;
        match step {
            Step::Answer(text) => Ok(ChatResponse {
                content: text.into(),
                usage: Usage { input_tokens: 1, output_tokens: 2, ..Usage::default() },
                ..ChatResponse::default()
            }),
            Step::Fail(error) => Err(error),
            Step::Hang => std::future::pending().await,
        }
    }
}

/// `inner` in the middleware with its own limiter of `limit` permits and a fresh meter.
pub(crate) fn resilient(inner: Arc<Scripted>, policy: CallPolicy, limit: usize) -> Arc<Resilient> {
    Arc::new(Resilient::new(
        inner,
        policy,
        Arc::new(Semaphore::new(limit)),
        Arc::new(UsageMeter::new()),
    ))
}

pub(crate) fn rate_limited(retry_after: Option<Duration>) -> ModelError {
    ModelError::RateLimited { status: 429, retry_after, body: "slow down".into() }
}

pub(crate) fn provider_error(status: u16) -> ModelError {
    ModelError::Provider { status, retry_after: None, body: format!("status {status}") }
}
