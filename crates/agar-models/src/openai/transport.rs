//! async-openai's HTTP service: the shared [`crate::http::Transport`] (no
//! redirects, no retries, a size cap, redaction) behind the tower service
//! async-openai executes requests with. Every non-2xx answer becomes the
//! shared transport's typed [`ModelError`] (boxed in `OpenAIError::Boxed`,
//! read back by [`to_model_error`]), whatever shape the body has. Also the
//! mapping of async-openai's own errors to [`ModelError`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use agar_core::ModelError;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;

use crate::http::{Transport, error_chain, truncate};
use crate::secret::Redactor;

/// The tower service async-openai executes requests with: the provider's
/// [`Transport`] (cloning shares its connection pool).
#[derive(Clone, Debug)]
pub(crate) struct Service {
    transport: Transport,
}

impl Service {
    pub(crate) fn new(transport: Transport) -> Self {
        Self { transport }
    }
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send + 'static>>;

impl tower::Service<HttpRequestFactory> for Service {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = ServiceFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let transport = self.transport.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let fail = |e: ModelError| OpenAIError::Boxed(Box::new(e));
            // The whole body is read by the transport, so a reply cut off
            // mid-way is a connection failure, and async-openai only ever
            // sees complete bodies.
            let reply = transport.execute(request).await.map_err(fail)?;
            if !reply.is_success() {
                return Err(fail(reply.status_error(transport.redactor())));
            }
            let body = transport.redactor().redact_answer(reply.body);
            let rebuilt = http::Response::builder()
                .status(reply.status)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .map_err(|e| fail(ModelError::Connection(e.to_string())))?;
            Ok(reqwest::Response::from(rebuilt))
        })
    }
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
        OpenAIError::Boxed(boxed) => match boxed.downcast::<ModelError>() {
            // Already typed and redacted by the transport.
            Ok(error) => *error,
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
    fn typed_errors_from_the_transport_come_back_unchanged() {
        let typed = ModelError::RateLimited {
            status: 429,
            retry_after: Some(std::time::Duration::from_secs(3)),
            body: "slow".into(),
        };
        let back = to_model_error(OpenAIError::Boxed(Box::new(typed)), &Redactor::default());
        assert!(matches!(back, ModelError::RateLimited { status: 429, .. }) && back.is_retryable());
        assert_eq!(back.retry_after(), Some(std::time::Duration::from_secs(3)));
    }
}
