//! The minijinja environment: every template is embedded in the binary and
//! named `*.html`, so minijinja escapes every value it prints. No template
//! marks model-written text `|safe`; the view models hand templates plain
//! strings and numbers.

use std::sync::OnceLock;

use axum::http::StatusCode;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::error::WebError;

const TEMPLATES: [(&str, &str); 7] = [
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("runs.html", include_str!("../templates/runs.html")),
    ("run.html", include_str!("../templates/run.html")),
    ("transcript.html", include_str!("../templates/transcript.html")),
    ("pending.html", include_str!("../templates/pending.html")),
    ("compare.html", include_str!("../templates/compare.html")),
];

/// The environment, built once (on first use; [`crate::AppState::new`] forces it).
pub(crate) fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            // The templates are compiled in and covered by tests: a broken
            // one is logged, and rendering it then fails with a 500 page.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!("template {name}: {e:#}");
            }
        }
        env
    })
}

/// Renders template `name` with `ctx`.
pub(crate) fn render(name: &str, ctx: &impl Serialize) -> Result<String, WebError> {
    let template = env().get_template(name)?;
    Ok(template.render(Serde(ctx))?)
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    title: String,
    code: u16,
    reason: &'a str,
    message: &'a str,
}

/// The plain error page; falls back to fixed text if even that fails.
pub(crate) fn error_page(status: StatusCode, message: &str) -> String {
    let reason = status.canonical_reason().unwrap_or("error");
    let ctx = ErrorPage {
        title: format!("{} {reason}", status.as_u16()),
        code: status.as_u16(),
        reason,
        message,
    };
    render("error.html", &ctx).unwrap_or_else(|_| {
        format!("<!doctype html><title>{0}</title><h1>{0}</h1>", status.as_u16())
    })
}
