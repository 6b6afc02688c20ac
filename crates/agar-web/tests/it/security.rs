//! The viewer's defences: security headers on every response, ids that
//! cannot name a path outside the store, and the Host allow-list.

use agar_web::app::CONTENT_SECURITY_POLICY;
use agar_web::{AppState, app};
use axum::body::Body;
use axum::http::Request;

use crate::fixture::{leak_audit, review_store};
use crate::support::{assert_error_page, get, send};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (_dir, store) = review_store();
    let app = app(AppState::new(store));
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    for uri in [
        "/",
        "/runs/nightly",
        "/runs/nightly/audits/leak",
        "/compare",
        "/nope",
        "/api/stamp",
        "/assets/agar.js",
    ] {
        let p = get(&app, uri).await;
        let csp = p.header("content-security-policy");
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{uri}: {part} missing from {csp:?}");
        }
        assert_eq!(p.header("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(p.header("x-frame-options"), "DENY", "{uri}");
    }
}

#[tokio::test]
async fn no_url_reads_outside_the_store() {
    let (dir, store) = review_store();
    // A transcript-shaped file just outside the store, and one beside the runs.
    let mut outside = leak_audit("nightly");
    outside.scenario.instructions = "OUTSIDE-THE-STORE".into();
    let text = serde_json::to_string(&outside).unwrap();
    std::fs::write(dir.path().join("secret.json"), &text).unwrap();
    std::fs::write(dir.path().join("store").join("secret.json"), &text).unwrap();
    let app = app(AppState::new(store));
    for uri in [
        "/runs/..%2f..%2fetc/audits/passwd",
        "/runs/..%2F..%2Fetc/audits/passwd",
        "/runs/%2e%2e/audits/secret",
        "/runs/nightly/audits/..%2fsecret",
        "/runs/nightly/audits/..%2f..%2fsecret",
        "/runs/nightly/audits/%2e%2e%2f%2e%2e%2fsecret",
        "/runs/.index/audits/x",
        "/runs/nightly/audits/.hidden",
        "/runs/nightly/audits/labels%2fleak",
        "/runs/..%2fstore%2fnightly/audits/leak",
        "/assets/..%2f..%2fCargo.toml",
        "/api/runs/..%2f..%2f/stamp",
        "/compare?a=..%2fsecret&b=nightly",
    ] {
        let p = get(&app, uri).await;
        assert!(matches!(p.status.as_u16(), 400 | 404), "{uri}: {}", p.status);
        assert!(!p.body.contains("OUTSIDE-THE-STORE"), "{uri} read outside the store");
        assert!(!p.body.contains("root:"), "{uri}");
    }
    // A raw `..` segment is not even routed to a run.
    let raw = send(&app, Request::get("/runs/../../etc/passwd").body(Body::empty()).unwrap()).await;
    assert!(matches!(raw.status.as_u16(), 400 | 404));
}

#[tokio::test]
async fn a_loopback_viewer_answers_only_to_its_own_host_names() {
    let (_dir, store) = review_store();
    let app = app(AppState::with_allowed_hosts(
        store,
        vec!["127.0.0.1:8700".into(), "localhost:8700".into()],
    ));
    let with_host =
        |host: &'static str| Request::get("/").header("host", host).body(Body::empty()).unwrap();
    assert_eq!(send(&app, with_host("127.0.0.1:8700")).await.status, 200);
    assert_eq!(send(&app, with_host("LOCALHOST:8700")).await.status, 200);
    // A rebinding attacker's name resolving to 127.0.0.1 is refused.
    let p = send(&app, with_host("attacker.example:8700")).await;
    assert_error_page(&p, 403);
    assert!(!p.body.contains("nightly"));
    let p = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(p.status, 403, "no Host header at all");
}
