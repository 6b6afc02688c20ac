//! Who may use a viewer that is not on loopback. Bound to a loopback address
//! the viewer answers only to its own host names (against DNS rebinding);
//! bound elsewhere, `agar view` must say either which `Host` names it
//! answers to (`--allow-host`) or it requires a random access token, printed
//! once: given as `?token=` it is kept in a same-site, HTTP-only cookie, so
//! a page under another name (a rebinding attacker's) never carries it.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::csrf::same;
use crate::error::WebError;

/// The cookie holding the access token.
pub const TOKEN_COOKIE: &str = "agar_token";

/// How requests are let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Every request (tests, and embedding behind a proxy that checks).
    Open,
    /// Only requests whose `Host` header is one of these (`name` or `name:port`).
    Hosts(Vec<String>),
    /// Only requests carrying this token (query `token=` or the cookie).
    Token(String),
}

impl Access {
    /// A fresh random token (32 bytes, hex).
    pub fn new_token() -> Access {
        Access::Token(crate::csrf::new_token())
    }

    /// `--allow-host` names, each accepted bare and with `port`.
    pub fn hosts(names: &[String], port: u16) -> Access {
        let mut hosts = Vec::new();
        for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            hosts.push(n.to_string());
            if !n.ends_with(']') && n.contains(':') && !n.starts_with('[') {
                continue; // already host:port (or a bare IPv6 literal, taken as is)
            }
            hosts.push(format!("{n}:{port}"));
        }
        Access::Hosts(hosts)
    }
}

/// What happens to `req` under the state's access rule: `None` lets it in.
pub(crate) fn check(state: &AppState, req: &Request) -> Option<Response> {
    match &state.inner.access {
        Access::Open => None,
        Access::Hosts(allowed) => {
            let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            if allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
                None
            } else {
                Some(
                    WebError::Forbidden(
                        "this viewer answers only to the host names it was started with".into(),
                    )
                    .into_response(),
                )
            }
        }
        Access::Token(token) => token_check(token, req),
    }
}

fn token_check(token: &str, req: &Request) -> Option<Response> {
    if cookie_token(req).is_some_and(|t| same(&t, token)) {
        return None;
    }
    let query = req.uri().query().unwrap_or("");
    let given = query.split('&').find_map(|kv| kv.strip_prefix("token="));
    if given.is_some_and(|t| same(t, token)) {
        // Keep the token in a cookie and drop it from the address bar.
        let rest: Vec<&str> = query.split('&').filter(|kv| !kv.starts_with("token=")).collect();
        let mut to = req.uri().path().to_string();
        if !rest.is_empty() {
            to = format!("{to}?{}", rest.join("&"));
        }
        let mut resp = Redirect::to(&to).into_response();
        let cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        return Some(resp);
    }
    Some(
        WebError::Forbidden(
            "this viewer needs its access token: open the URL `agar view` printed".into(),
        )
        .into_response(),
    )
}

fn cookie_token(req: &Request) -> Option<String> {
    req.headers().get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').map(str::trim).find_map(|c| {
            c.strip_prefix(TOKEN_COOKIE).and_then(|r| r.strip_prefix('=')).map(str::to_string)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_names_take_the_port_too() {
        let Access::Hosts(h) = Access::hosts(&["review.lan".into(), "10.0.0.5:80".into()], 8700)
        else {
            panic!()
        };
        assert_eq!(h, ["review.lan", "review.lan:8700", "10.0.0.5:80"]);
    }
}
