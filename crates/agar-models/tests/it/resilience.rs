//! The middleware on paused tokio time: retries, `Retry-After`, timeouts,
//! backoff bounds, the concurrency limit and usage accounting.

use std::sync::Arc;
use std::time::Duration;

use agar_core::{ChatModel, ChatRequest, ModelError};
use agar_models::{CallPolicy, UsageSnapshot};
use tokio::time::Instant;

use crate::support::{Scripted, Step, provider_error, rate_limited, resilient};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(start_paused = true)]
async fn rate_limited_calls_wait_for_retry_after_then_succeed() {
    let inner = Scripted::new(vec![
        Step::Fail(rate_limited(Some(secs(2)))),
        Step::Fail(rate_limited(Some(secs(2)))),
        Step::Answer("hello"),
    ]);
    let model = resilient(inner.clone(), CallPolicy::default(), 4);
    let start = Instant::now();

    let answer = model.chat(&ChatRequest::default()).await.expect("third attempt succeeds");

    assert_eq!(answer.content, "hello");
    assert_eq!(answer.attempts, 3);
    assert_eq!(inner.calls(), 3);
    assert!(start.elapsed() >= secs(4), "waited only {:?}", start.elapsed());
    let started = inner.started();
    assert!(started[1] - started[0] >= secs(2) && started[2] - started[1] >= secs(2));
    assert_eq!(
        model.meter().snapshot(),
        UsageSnapshot { calls: 1, failed_calls: 0, retries: 2, input_tokens: 1, output_tokens: 2 }
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_error_is_returned_at_once() {
    let inner = Scripted::new(vec![Step::Fail(provider_error(400)), Step::Answer("never")]);
    let model = resilient(inner.clone(), CallPolicy::default(), 4);
    let start = Instant::now();

    let err = model.chat(&ChatRequest::default()).await.expect_err("400 is final");

    assert!(matches!(err, ModelError::Provider { status: 400, .. }), "{err}");
    assert_eq!(inner.calls(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
    let meter = model.meter().snapshot();
    assert_eq!((meter.calls, meter.failed_calls, meter.retries), (1, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_hung_call_times_out_and_is_retried_up_to_max_attempts() {
    let policy = CallPolicy { timeout: secs(10), max_attempts: 3, ..CallPolicy::default() };
    let inner = Scripted::new(vec![Step::Hang, Step::Hang, Step::Hang, Step::Answer("too late")]);
    let model = resilient(inner.clone(), policy, 4);
    let start = Instant::now();

    let err = model.chat(&ChatRequest::default()).await.expect_err("every attempt hangs");

    assert!(matches!(err.last_attempt(), ModelError::Timeout(d) if *d == secs(10)), "{err}");
    assert_eq!(inner.calls(), 3);
    assert!(start.elapsed() >= secs(30), "three timeouts take 30 s, took {:?}", start.elapsed());
    assert_eq!(inner.max_in_flight(), 1, "a timed-out attempt is abandoned before the next");
    let meter = model.meter().snapshot();
    assert_eq!((meter.calls, meter.failed_calls, meter.retries), (1, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn a_hung_call_recovers_on_the_next_attempt() {
    let policy = CallPolicy { timeout: secs(5), ..CallPolicy::default() };
    let inner = Scripted::new(vec![Step::Hang, Step::Answer("ok")]);
    let model = resilient(inner.clone(), policy, 4);

    let answer = model.chat(&ChatRequest::default()).await.expect("second attempt answers");

    assert_eq!((answer.content.as_str(), answer.attempts), ("ok", 2));
}

#[tokio::test(start_paused = true)]
async fn backoff_without_retry_after_grows_and_stays_within_max_delay() {
    let policy = CallPolicy {
        max_attempts: 6,
        base_delay: secs(1),
        max_delay: secs(8),
        ..CallPolicy::default()
    };
    let failures = 5; // the gaps after attempts 1..=5 have ceilings 1, 2, 4, 8, 8 s
    let calls = 60;
    let steps = (0..calls)
        .flat_map(|_| {
            let fails = (0..failures).map(|_| Step::Fail(provider_error(503)));
            fails.chain([Step::Answer("ok")])
        })
        .collect::<Vec<_>>();
    let inner = Scripted::new(steps);
    let model = resilient(inner.clone(), policy.clone(), 4);

    // Sequential calls: each takes five failures, then its sixth attempt answers.
    for _ in 0..calls {
        let answer = model.chat(&ChatRequest::default()).await.expect("sixth attempt answers");
        assert_eq!(answer.attempts, 6);
    }

    let started = inner.started();
    assert_eq!(started.len(), calls * 6);
    let mut mean_gap = [0.0f64; 5];
    for call in started.chunks(6) {
        for (i, pair) in call.windows(2).enumerate() {
            let gap = pair[1] - pair[0];
            let attempt = u32::try_from(i + 1).expect("small");
            assert!(gap <= policy.backoff_ceiling(attempt), "gap {gap:?} after attempt {attempt}");
            assert!(gap <= policy.max_delay, "gap {gap:?} past max_delay");
            mean_gap[i] += gap.as_secs_f64() / calls as f64;
        }
    }
    // Full jitter: the mean gap is half the ceiling (0.5, 1, 2, 4, 4 s); with
    // 60 samples each, the first four are far apart.
    for i in 0..3 {
        assert!(mean_gap[i + 1] > mean_gap[i] * 1.3, "mean gaps do not grow: {mean_gap:?}");
    }
    assert!(mean_gap[4] < 6.0, "capped gaps average half of max_delay: {mean_gap:?}");
}

#[tokio::test(start_paused = true)]
async fn at_most_the_limit_of_calls_are_inside_the_model() {
    let inner = Scripted::working(vec![], secs(1));
    let model = resilient(inner.clone(), CallPolicy::default(), 2);
    let start = Instant::now();

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let model = Arc::clone(&model);
        calls.spawn(async move { model.chat(&ChatRequest::default()).await });
    }
    while let Some(result) = calls.join_next().await {
        result.expect("task ran").expect("call succeeds");
    }

    assert_eq!(inner.calls(), 5);
    assert_eq!(inner.max_in_flight(), 2);
    assert!(start.elapsed() >= secs(3), "5 one-second calls, 2 at a time, need 3 s");
}

#[tokio::test(start_paused = true)]
async fn the_permit_is_released_while_a_call_waits_to_retry() {
    let inner =
        Scripted::new(vec![Step::Fail(rate_limited(Some(secs(60)))), Step::Answer("second")]);
    let model = resilient(inner.clone(), CallPolicy::default(), 1);

    let first = tokio::spawn({
        let model = Arc::clone(&model);
        async move { model.chat(&ChatRequest::default()).await }
    });
    // Let the first call fail and start its 60 s wait.
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(inner.calls(), 1);

    let start = Instant::now();
    let second = model.chat(&ChatRequest::default()).await.expect("answers");
    assert_eq!(second.content, "second");
    assert!(start.elapsed() < secs(1), "the second call waited for the first's backoff");

    let first = first.await.expect("task ran").expect("retry succeeds");
    assert_eq!(first.attempts, 2);
}

#[tokio::test(start_paused = true)]
async fn retryable_errors_fail_after_max_attempts() {
    let policy = CallPolicy { max_attempts: 3, ..CallPolicy::default() };
    let steps = vec![Step::Fail(provider_error(500)); 5];
    let inner = Scripted::new(steps);
    let model = resilient(inner.clone(), policy, 4);

    let err = model.chat(&ChatRequest::default()).await.expect_err("three 500s");

    assert!(matches!(err.last_attempt(), ModelError::Provider { status: 500, .. }), "{err}");
    assert_eq!(inner.calls(), 3);
    // The error carries what the attempts cost, for the stored call record.
    assert_eq!((err.attempts(), err.kind(), err.label().as_str()), (3, "provider", "http_500"));
    assert_eq!(err.retried(), ["http_500", "http_500"]);
    assert!(err.elapsed().is_some_and(|e| e >= err.retry_wait()), "{err:?}");
    assert!(err.to_string().contains("[agar: 3 attempts over"), "{err}");
    assert!(!err.is_retryable() || err.last_attempt().is_retryable());
}

#[tokio::test(start_paused = true)]
async fn a_closed_limiter_stops_calls_without_reaching_the_model() {
    let inner = Scripted::new(vec![]);
    let model = resilient(inner.clone(), CallPolicy::default(), 1);
    model.limiter().close();

    let err = model.chat(&ChatRequest::default()).await.expect_err("stopped");

    assert!(matches!(err, ModelError::Config(_)), "{err}");
    assert_eq!(inner.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn connection_failures_are_retried_for_the_time_budget_past_max_attempts() {
    // A server restarting for about a minute: 15 refused connections, then it answers.
    let mut steps = vec![Step::Fail(ModelError::Connection("connection refused".into())); 15];
    steps.push(Step::Answer("back"));
    let inner = Scripted::new(steps);
    let model = resilient(inner.clone(), CallPolicy::default(), 4);

    let answer = model.chat(&ChatRequest::default()).await.expect("rides out the restart");

    assert_eq!((answer.content.as_str(), answer.attempts), ("back", 16));
    assert_eq!(answer.retried, vec!["connection".to_owned(); 15]);
}

#[tokio::test(start_paused = true)]
async fn a_connection_budget_runs_out_with_the_attempts_and_errors_named() {
    let policy = CallPolicy { connection_budget: secs(30), ..CallPolicy::default() };
    let steps = vec![Step::Fail(ModelError::Connection("connection refused".into())); 100];
    let inner = Scripted::new(steps);
    let model = resilient(inner.clone(), policy, 4);
    let start = Instant::now();

    let err = model.chat(&ChatRequest::default()).await.expect_err("the server never comes back");

    assert!(start.elapsed() <= secs(30), "{:?}", start.elapsed());
    assert!(inner.calls() > 6, "only {} attempts", inner.calls());
    let shown = err.to_string();
    assert!(shown.contains(&format!("{} attempts", inner.calls())), "{shown}");
    assert!(
        shown.contains("last distinct errors: connection failed: connection refused"),
        "{shown}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_500_saying_the_request_is_invalid_is_not_retried_and_names_the_feature() {
    let invalid = ModelError::Provider {
        status: 500,
        retry_after: None,
        body: r#"{"error":{"message":"1 validation error: messages.3.content: Field required","type":"internal_server_error"}}"#.into(),
    };
    let inner = Scripted::new(vec![Step::Fail(invalid), Step::Answer("never")]);
    let model = resilient(inner.clone(), CallPolicy::default(), 4);

    let err = model.chat(&ChatRequest::default()).await.expect_err("final at once");

    assert_eq!(inner.calls(), 1);
    assert!(err.to_string().contains("blames the request's `content` of a message"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_context_overflow_is_final_and_reported_with_the_model_and_sizes() {
    let overflow = ModelError::Provider {
        status: 400,
        retry_after: None,
        body: r#"{"error":{"message":"This model's maximum context length is 2048 tokens. However, you requested 3012 tokens (3012 in the messages, 0 in the completion).","code":"context_length_exceeded"}}"#.into(),
    };
    let inner = Scripted::new(vec![Step::Fail(overflow)]);
    let model = resilient(inner.clone(), CallPolicy::default(), 4);

    let err = model.chat(&ChatRequest::default()).await.expect_err("overflow");

    assert_eq!(inner.calls(), 1);
    assert_eq!(err.label(), "context_length");
    let shown = err.to_string();
    assert!(shown.contains("3012 tokens requested, window 2048"), "{shown}");
    assert!(shown.contains(model.name()), "{shown}");
}
