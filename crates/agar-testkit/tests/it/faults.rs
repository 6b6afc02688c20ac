//! Faults: status replies, garbled bodies, hangs, latency and the seeded plan.

use std::time::{Duration, Instant};

use agar_testkit::{FakeConfig, FakeServer, FaultPlan, Reply};
use serde_json::{Value, json};

use crate::support::{ask, chat, client_with_timeout, content, post, post_with};

#[tokio::test]
async fn a_status_reply_arrives_verbatim_with_retry_after() {
    let server = FakeServer::start().await;
    server.script(
        "m",
        vec![Reply::Status {
            code: 429,
            retry_after: Some("7".into()),
            body: "slow down <html>".into(),
        }],
    );
    let response = post(&server, &ask("m", "hi")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(response.text().await.unwrap(), "slow down <html>");

    server.push_fault("m", Reply::rate_limited("Wed, 21 Oct 2015 07:28:00 GMT"));
    let response = post(&server, &ask("m", "hi")).await;
    assert_eq!(response.headers()["retry-after"], "Wed, 21 Oct 2015 07:28:00 GMT");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].is_string());
}

#[tokio::test]
async fn a_malformed_body_is_not_json() {
    let server = FakeServer::start().await;
    server.script("m", vec![Reply::Malformed]);
    let response = post(&server, &ask("m", "hi")).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn malformed_tool_arguments_keep_a_valid_envelope() {
    let server = FakeServer::start().await;
    server.script("m", vec![Reply::MalformedToolArguments]);
    let mut body = ask("m", "hi");
    body["tools"] = json!([{"type": "function", "function": {"name": "f", "parameters": {}}}]);
    let reply = chat(&server, &body).await;
    let call = &reply["choices"][0]["message"]["tool_calls"][0]["function"];
    assert_eq!(call["name"], "f");
    let arguments = call["arguments"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(arguments).is_err(), "{arguments}");
}

#[tokio::test]
async fn a_truncated_body_fails_on_the_client() {
    let server = FakeServer::start().await;
    server.script("m", vec![Reply::Truncated]);
    let response = post(&server, &ask("m", "hi")).await;
    assert_eq!(response.status(), 200);
    let promised: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
    assert!(promised > 0);
    assert!(response.bytes().await.is_err());
    // The server is still fine afterwards.
    assert!(content(&chat(&server, &ask("m", "again")).await).starts_with("[m] reply #2"));
}

#[tokio::test]
async fn a_hang_does_not_answer() {
    let server = FakeServer::start().await;
    server.script("m", vec![Reply::Hang]);
    let client = client_with_timeout(Duration::from_millis(300));
    let start = Instant::now();
    let err = post_with(&client, &server, &ask("m", "hi")).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(server.calls("m"), 1);
}

#[tokio::test]
async fn shutdown_releases_hanging_requests() {
    let server = FakeServer::start().await;
    server.script("m", vec![Reply::Hang]);
    let url = format!("{}/chat/completions", server.base_url());
    let request = tokio::spawn(async move {
        client_with_timeout(Duration::from_secs(2)).post(url).json(&ask("m", "hi")).send().await
    });
    while server.calls("m") == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let start = Instant::now();
    server.shutdown().await;
    let answer = request.await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    // Either the 503 got out before the connection closed, or the connection closed.
    if let Ok(response) = answer {
        assert_eq!(response.status(), 503);
    }
}

#[tokio::test]
async fn latency_delays_answers() {
    let server = FakeServer::start_with(FakeConfig {
        latency: Duration::from_millis(150),
        ..FakeConfig::default()
    })
    .await;
    server.set_model_latency("fast", Duration::ZERO);
    let start = Instant::now();
    chat(&server, &ask("slow", "hi")).await;
    assert!(start.elapsed() >= Duration::from_millis(150), "{:?}", start.elapsed());
    let start = Instant::now();
    chat(&server, &ask("fast", "hi")).await;
    assert!(start.elapsed() < Duration::from_millis(150), "{:?}", start.elapsed());
    server.set_latency(Duration::ZERO);
    server.set_model_latency("fast", Duration::from_millis(100));
    let start = Instant::now();
    chat(&server, &ask("fast", "hi")).await;
    assert!(start.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn a_pushed_fault_comes_first_and_keeps_the_script() {
    let server = FakeServer::start().await;
    server.script("m", vec![Reply::text("scripted")]);
    server.push_fault("m", Reply::server_error());
    server.push_fault("m", Reply::status(503, "{\"error\": {\"message\": \"busy\"}}"));
    assert_eq!(post(&server, &ask("m", "hi")).await.status(), 500);
    let busy = post(&server, &ask("m", "hi")).await;
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["content-type"], "application/json");
    assert_eq!(content(&chat(&server, &ask("m", "hi")).await), "scripted");
    assert_eq!(server.calls("m"), 3);
}

/// What each of `n` sequential calls got: a status, or `truncated`.
async fn outcomes(plan: FaultPlan, n: usize) -> Vec<String> {
    let server =
        FakeServer::start_with(FakeConfig { fault_plan: Some(plan), ..FakeConfig::default() })
            .await;
    let client = client_with_timeout(Duration::from_secs(1));
    let mut seen = Vec::new();
    for i in 0..n {
        let response = post_with(&client, &server, &ask("m", &format!("call {i}"))).await.unwrap();
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        let outcome = match response.text().await {
            Err(_) => "truncated".to_string(),
            Ok(body) if body.contains("oops") => "malformed_tool_args".to_string(),
            Ok(_) => format!("{status} {retry_after:?}"),
        };
        seen.push(outcome);
    }
    assert_eq!(server.calls("m"), n);
    seen
}

#[tokio::test]
async fn a_seeded_fault_plan_is_reproducible() {
    let plan = FaultPlan {
        server_error: 0.2,
        rate_limited: 0.2,
        retry_after: Some("0".into()),
        malformed_tool_args: 0.1,
        truncated: 0.1,
        seed: 7,
        ..FaultPlan::default()
    };
    let first = outcomes(plan.clone(), 30).await;
    let second = outcomes(plan.clone(), 30).await;
    assert_eq!(first, second);
    for kind in ["200 None", "500 None", "429 Some(\"0\")"] {
        assert!(first.iter().any(|o| o == kind), "no {kind} in {first:?}");
    }
    let other = outcomes(FaultPlan { seed: 8, ..plan }, 30).await;
    assert_ne!(first, other);
}

#[tokio::test]
async fn an_invalid_fault_plan_is_refused_at_start() {
    let plan = FaultPlan { hang: 2.0, ..FaultPlan::default() };
    let err =
        FakeServer::try_start_with(FakeConfig { fault_plan: Some(plan), ..FakeConfig::default() })
            .await
            .unwrap_err();
    assert!(err.to_string().contains("hang"), "{err}");
}
