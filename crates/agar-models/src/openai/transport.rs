//! The HTTP transport under async-openai: one reqwest client, no retries (the
//! middleware owns retrying), and every non-2xx answer turned into a typed
//! [`HttpFailure`] carrying the status, `Retry-After` and the (redacted) body,
//! whatever shape the body has. Also the mapping of async-openai's errors to
//! [`ModelError`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use agar_core::ModelError;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;

use crate::http::{error_chain, retry_after, truncate};
use crate::secret::Redactor;

/// A failed HTTP exchange, as the transport reports it to async-openai (boxed
/// in `OpenAIError::Boxed`) and [`to_model_error`] reads it back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpFailure {
    #[error("HTTP {status}")]
    Status { status: u16, retry_after: Option<Duration>, body: String },
    #[error("{0}")]
    Connection(String),
}

/// The tower service async-openai executes requests with.
///
/// It holds the provider's one `reqwest::Client` (cloning shares its
/// connection pool) and the redactor for what comes back.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    client: reqwest::Client,
    redactor: Redactor,
}

impl Transport {
    pub(crate) fn new(client: reqwest::Client, redactor: Redactor) -> Self {
        Self { client, redactor }
    }
}

type TransportFuture =
    Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send + 'static>>;

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = TransportFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let client = self.client.clone();
        let redactor = self.redactor.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let fail = |f: HttpFailure| OpenAIError::Boxed(Box::new(f));
            let response = client
                .execute(request)
                .await
                .map_err(|e| fail(HttpFailure::Connection(redactor.redact(&error_chain(&e)))))?;
            let status = response.status();
            let retry_after = retry_after(response.headers(), SystemTime::now());
            // The whole body is read here, so a reply cut off mid-way is a
            // connection failure, and async-openai only ever sees complete bodies.
            let body = response
                .bytes()
                .await
                .map_err(|e| fail(HttpFailure::Connection(redactor.redact(&error_chain(&e)))))?;
            if !status.is_success() {
                let body = redactor.redact(&String::from_utf8_lossy(&body));
                return Err(fail(HttpFailure::Status {
                    status: status.as_u16(),
                    retry_after,
                    body: truncate(body),
                }));
            }
            let body = redactor.redact_answer(body.to_vec());
            let rebuilt = http::Response::builder()
                .status(status)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .map_err(|e| fail(HttpFailure::Connection(e.to_string())))?;
            Ok(reqwest::Response::from(rebuilt))
        })
    }
}

/// Whether a 429's body says the account is out of credit (OpenAI's
/// `insufficient_quota`) rather than asking the client to slow down.
fn is_quota_exhausted(body: &str) -> bool {
    body.contains("insufficient_quota")
}

/// A 5xx with an empty message, answering a request that sent
/// `tool_choice: "required"`: what llama-cpp-python 0.3 does with that
/// feature. The error then says so (and is final: the same request fails
/// the same way), with the setting that avoids it.
pub(crate) fn blame_required(error: ModelError, required: bool) -> ModelError {
    match error {
        ModelError::Provider { status, retry_after, body }
            if required && status >= 500 && message_is_empty(&body) =>
        {
            ModelError::Provider {
                status,
                retry_after,
                body: format!(
                    "{body} [agar: the request sent tool_choice \"required\", which is not supported \
                     by some servers (llama-cpp-python 0.3 answers HTTP 500 with no message); set \
                     `tool_choice_required = false` for this model in agar.toml]"
                ),
            }
        }
        other => other,
    }
}

/// Whether an error body carries no message: empty, or `{"error": {"message": ""}}`.
fn message_is_empty(body: &str) -> bool {
    if body.trim().is_empty() {
        return true;
    }
    serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| {
        let message = v.pointer("/error/message").or_else(|| v.get("message"));
        message.is_none_or(|m| m.as_str().is_some_and(|t| t.trim().is_empty()))
    })
}

/// Converts what async-openai returned into agar's error, masking the key in any text kept.
pub(crate) fn to_model_error(error: OpenAIError, redactor: &Redactor) -> ModelError {
    match error {
        OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpFailure>() {
            Ok(failure) => match *failure {
                HttpFailure::Status { status: 429, retry_after, body }
                    if !is_quota_exhausted(&body) =>
                {
                    ModelError::RateLimited { status: 429, retry_after, body }
                }
                // Includes a 429 for an exhausted quota: waiting will not help,
                // and a `Provider` 429 is not retryable.
                HttpFailure::Status { status, retry_after, body } => {
                    ModelError::Provider { status, retry_after, body }
                }
                HttpFailure::Connection(message) => ModelError::Connection(message),
            },
            Err(other) => ModelError::Connection(redactor.redact(&error_chain(other.as_ref()))),
        },
        OpenAIError::JSONDeserialize(e, body) => ModelError::Undecodable {
            detail: redactor.redact(&e.to_string()),
            body: truncate(redactor.redact(&body)),
        },
        OpenAIError::ApiError(api) => ModelError::Provider {
            status: api.status_code.as_u16(),
            retry_after: None,
            body: truncate(redactor.redact(&api.api_error.to_string())),
        },
        OpenAIError::InvalidArgument(message) => {
            ModelError::Config(format!("invalid request: {}", redactor.redact(&message)))
        }
        other => ModelError::Connection(redactor.redact(&error_chain(&other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_typed_errors() {
        let status = |code, body: &str| {
            let failure = HttpFailure::Status {
                status: code,
                retry_after: Some(Duration::from_secs(3)),
                body: body.into(),
            };
            to_model_error(OpenAIError::Boxed(Box::new(failure)), &Redactor::default())
        };
        let slow = status(429, r#"{"error":{"code":"rate_limit_exceeded"}}"#);
        assert!(matches!(slow, ModelError::RateLimited { status: 429, .. }) && slow.is_retryable());
        assert_eq!(slow.retry_after(), Some(Duration::from_secs(3)));
        let broke = status(429, r#"{"error":{"code":"insufficient_quota"}}"#);
        assert!(matches!(broke, ModelError::Provider { status: 429, .. }) && !broke.is_retryable());
        assert!(status(503, "").is_retryable());
        assert!(!status(404, "").is_retryable());
    }
}
