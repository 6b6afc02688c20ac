//! [`WebError`]: every way a request can fail, as one type. The cause is
//! logged; the visitor gets a plain page with the status code and a short
//! message (never a store path or a backtrace).

use agar_store::StoreError;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// An unknown run, audit or page (also an id that is not a valid id).
    #[error("{0}")]
    NotFound(String),
    /// A malformed query or form.
    #[error("{0}")]
    BadRequest(String),
    /// A form that failed the same-origin or token check, or a foreign Host.
    #[error("{0}")]
    Forbidden(String),
    /// Anything else: the cause is logged, the visitor sees a generic message.
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the visitor is told.
    fn public_message(&self) -> String {
        match self {
            WebError::Internal(_) => {
                "the viewer could not read this page; its log (stderr) says why".to_string()
            }
            other => other.to_string(),
        }
    }

    /// A store error met while reading `what` (e.g. `run "x"`): unknown and
    /// invalid ids are "not found"; everything else is internal.
    pub(crate) fn from_store(what: &str, e: StoreError) -> WebError {
        match e {
            StoreError::NoSuchRun(_) | StoreError::BadId(_) | StoreError::ReservedId(_) => {
                WebError::NotFound(format!("no {what} in the store"))
            }
            StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                WebError::NotFound(format!("no {what} in the store"))
            }
            other => WebError::Internal(format!("{what}: {other}")),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            WebError::Internal(cause) => tracing::error!("{status}: {cause}"),
            other => tracing::info!("{status}: {other}"),
        }
        let page = crate::templates::error_page(status, &self.public_message());
        (status, Html(page)).into_response()
    }
}

impl From<tokio::task::JoinError> for WebError {
    fn from(e: tokio::task::JoinError) -> Self {
        WebError::Internal(format!("a page task failed: {e}"))
    }
}

impl From<axum::extract::rejection::QueryRejection> for WebError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        WebError::BadRequest(format!("the query string: {}", e.body_text()))
    }
}

impl From<axum::extract::rejection::FormRejection> for WebError {
    fn from(e: axum::extract::rejection::FormRejection) -> Self {
        WebError::BadRequest(format!("the form: {}", e.body_text()))
    }
}

impl From<axum::extract::rejection::PathRejection> for WebError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        WebError::NotFound(format!("no such page ({})", e.body_text()))
    }
}

impl From<minijinja::Error> for WebError {
    fn from(e: minijinja::Error) -> Self {
        WebError::Internal(format!("template: {e:#}"))
    }
}
