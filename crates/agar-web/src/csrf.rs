//! Cross-site request forgery guard for the label form, in two layers: every
//! form carries a per-process random token (a page from another site cannot
//! read it), and a request whose `Origin` (or, lacking one, `Referer`) names
//! another origin than the viewer's own `Host` is refused outright.

use axum::http::{HeaderMap, header};

use crate::error::WebError;

/// 32 random bytes, hex: a fresh token for this process.
pub(crate) fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Equal in constant time (for equal lengths).
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a form post: the token, and the origin of the page that sent it.
pub(crate) fn check(headers: &HeaderMap, expected: &str, token: &str) -> Result<(), WebError> {
    if !same(expected, token) {
        return Err(WebError::Forbidden(
            "the form's token is missing or stale: reload the page and try again".into(),
        ));
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|h| h.to_str().ok());
    match (source, host) {
        (None, _) => Ok(()),
        (Some(source), Some(host)) if origin_host(source) == Some(host) => Ok(()),
        (Some(source), _) => Err(WebError::Forbidden(format!(
            "a form sent from another site ({}) was refused",
            origin_host(source).unwrap_or("an opaque origin")
        ))),
    }
}

/// `host[:port]` of an origin or URL (`http://127.0.0.1:8700/x` -> `127.0.0.1:8700`).
fn origin_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")));
        }
        h
    }

    #[test]
    fn the_token_and_the_origin_are_both_checked() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        let host = (header::HOST, "127.0.0.1:8700");
        let ok = headers(&[host.clone(), (header::ORIGIN, "http://127.0.0.1:8700")]);
        assert!(check(&ok, &t, &t).is_ok());
        assert!(check(&ok, &t, "x").is_err());
        assert!(check(&ok, &t, "").is_err());
        let foreign = headers(&[host.clone(), (header::ORIGIN, "http://evil.example")]);
        assert!(check(&foreign, &t, &t).is_err());
        let null = headers(&[host.clone(), (header::ORIGIN, "null")]);
        assert!(check(&null, &t, &t).is_err());
        let referer =
            headers(&[host.clone(), (header::REFERER, "http://127.0.0.1:8700/runs/a?x=1")]);
        assert!(check(&referer, &t, &t).is_ok());
        let bad_referer = headers(&[host, (header::REFERER, "http://127.0.0.1:9999/")]);
        assert!(check(&bad_referer, &t, &t).is_err());
        assert_eq!(origin_host("http://h:1#x"), Some("h:1"));
    }
}
