//! Requests through the router without a socket.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt;

/// A response, read whole.
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The body with minijinja's `&#x2f;` (an escaped `/`, harmless) read
    /// back as `/`, so tests can look for links as written.
    pub(crate) body: String,
    /// The body exactly as sent.
    pub(crate) raw: String,
}

impl Page {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

pub(crate) async fn send(app: &Router, req: Request<Body>) -> Page {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20).await.unwrap();
    let raw = String::from_utf8(bytes.to_vec()).unwrap();
    Page { status, headers, body: raw.replace("&#x2f;", "/"), raw }
}

pub(crate) async fn get(app: &Router, uri: &str) -> Page {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A form post with `pairs` url-encoded, and extra headers.
pub(crate) async fn post_form(
    app: &Router,
    uri: &str,
    pairs: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Page {
    let body: Vec<String> =
        pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    let mut req = Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(app, req.body(Body::from(body.join("&"))).unwrap()).await
}

pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The `<tr>` of audit `id` in a run page.
pub(crate) fn row<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body.find(&format!("data-audit=\"{id}\"")).unwrap_or_else(|| panic!("no row {id}"));
    let end = body[start..].find("</tr>").unwrap() + start;
    &body[start..end]
}

/// Audit ids of a run page's rows, in order.
pub(crate) fn row_order(body: &str) -> Vec<String> {
    body.match_indices("data-audit=\"")
        .map(|(i, m)| {
            let rest = &body[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The page shows the plain error page with `code`.
pub(crate) fn assert_error_page(p: &Page, code: u16) {
    assert_eq!(p.status.as_u16(), code, "{}", p.body);
    assert!(p.body.contains(&format!("<h1>{code} ")), "{}", p.body);
    assert!(p.header("content-type").starts_with("text/html"), "{:?}", p.headers);
    assert!(p.header("content-security-policy").contains("script-src 'self'"));
}
