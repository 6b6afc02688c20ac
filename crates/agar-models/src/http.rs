//! The one HTTP transport every HTTP provider goes through ([`Transport`]):
//! one reqwest client (one TLS setup, agar's user agent, a connect timeout),
//! no redirects followed, no retries of its own (the middleware in
//! [`crate::resilient`] owns retrying), every reply read in full under a size
//! cap, every text kept from a reply redacted, and one mapping of a failed
//! status to a [`ModelError`]. Also `Retry-After` parsing, error chains on
//! one line, and the cap on error bodies kept.

use std::time::{Duration, SystemTime};

use agar_core::ModelError;
use reqwest::header::{HeaderMap, LOCATION};

use crate::resolve::ResolveError;
use crate::secret::{Redactor, redact_url, url_secrets};

/// How long establishing a connection may take; the whole call is bounded by
/// the middleware's per-attempt timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an error body is kept in a [`ModelError`] (an HTML error page can be large).
pub(crate) const MAX_KEPT_BODY: usize = 4000;

/// The largest reply read: a bigger one fails the attempt as undecodable
/// rather than filling memory (a chat answer is kilobytes; 32 MiB leaves room
/// for log-probabilities and long tool arguments).
pub(crate) const MAX_REPLY_BYTES: usize = 32 * 1024 * 1024;

/// A provider's model reference and API root, checked: the model name is not
/// empty and the base URL is an http(s) URL (trailing `/` and white space
/// trimmed).
pub(crate) struct Endpoint {
    /// The model reference, `PROVIDER/MODEL`.
    pub(crate) name: String,
    /// The model name sent to the server.
    pub(crate) model: String,
    /// The normalised API root.
    pub(crate) base_url: String,
    pub(crate) url: reqwest::Url,
}

/// Checks `model` and `base_url` for the provider `prefix` (`openai`, `anthropic`).
pub(crate) fn endpoint(
    prefix: &str,
    model: &str,
    base_url: &str,
) -> Result<Endpoint, ResolveError> {
    let model = model.trim();
    let name = format!("{prefix}/{model}");
    if model.is_empty() {
        return Err(ResolveError::MissingModel { reference: name });
    }
    let base_url = base_url.trim().trim_end_matches('/').to_owned();
    let invalid = |reason: &str| ResolveError::InvalidBaseUrl {
        value: crate::secret::redact_url(&base_url),
        reference: name.clone(),
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(&base_url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    Ok(Endpoint { name, model: model.to_owned(), base_url, url })
}

/// The HTTP transport of one provider: the process's client and the
/// provider's redactor. Cloning shares the connection pool.
///
/// The client is built on rustls (the backend async-openai uses too, so all
/// providers share one reqwest build), with agar's user agent and no overall
/// timeout (the middleware owns it). Redirects are never followed: a
/// redirect to another host would carry the key headers (`Authorization`,
/// `x-api-key`, an application's own) along, so a 3xx is a final error that
/// names where the server pointed.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    client: reqwest::Client,
    /// Masks the provider's secrets in anything kept from a reply.
    redactor: Redactor,
    /// [`MAX_REPLY_BYTES`], smaller in tests.
    max_reply: usize,
}

impl Transport {
    /// The transport of the model `reference`, masking what `redactor` knows.
    /// Every transport of the process shares one client (and so one
    /// connection pool): building a client loads the TLS root certificates,
    /// which cost more CPU than a hundred model calls, and the settings are
    /// the same for every provider.
    pub(crate) fn new(reference: &str, redactor: Redactor) -> Result<Self, ResolveError> {
        static CLIENT: std::sync::OnceLock<Result<reqwest::Client, String>> =
            std::sync::OnceLock::new();
        let client = CLIENT
            .get_or_init(|| {
                reqwest::Client::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("agar/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|reason| ResolveError::HttpClient {
                reference: reference.to_owned(),
                reason,
            })?;
        Ok(Self { client, redactor, max_reply: MAX_REPLY_BYTES })
    }

    /// The client, to build requests with (and for async-openai, which wants one).
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sends `body` with `request` as a one-chunk stream of known length,
    /// then as [`Transport::send`]. A plain body stays allocated until the
    /// answer comes (reqwest keeps it to resend); this one is freed once
    /// written, so a thousand calls waiting on their answers do not each hold
    /// their request (a judge request is about 80 KB).
    pub(crate) async fn send_body(
        &self,
        request: reqwest::RequestBuilder,
        body: Vec<u8>,
    ) -> Result<Exchange, ModelError> {
        let length = body.len();
        let chunk = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
        let request = request
            .header(reqwest::header::CONTENT_LENGTH, length)
            .body(reqwest::Body::wrap_stream(chunk));
        self.send(request).await
    }

    /// Builds and sends `request`; see [`Transport::execute`].
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Exchange, ModelError> {
        let request = request.build().map_err(|e| self.connection(&e))?;
        self.execute(request).await
    }

    /// Sends `request` and reads the whole reply, so a body cut off mid-way is
    /// a (retryable) connection failure rather than a garbled answer, and a
    /// body over the cap is undecodable. Any status comes back as an
    /// [`Exchange`]; only a failure to talk to the server is an error.
    pub(crate) async fn execute(&self, request: reqwest::Request) -> Result<Exchange, ModelError> {
        let mut response = self.client.execute(request).await.map_err(|e| self.connection(&e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok());
        // A redirect's target may carry credentials of its own: masked in
        // what is kept of it, and in its body (never an answer).
        let target_secrets = Redactor::many(location.map(url_secrets).unwrap_or_default());
        let location = location.map(|l| shown_location(&self.redactor.redact(l)));
        let too_big = || ModelError::Undecodable {
            detail: format!(
                "the reply is larger than {} (HTTP {status}); agar reads no more",
                shown_size(self.max_reply)
            ),
            body: String::new(),
        };
        let announced = response.content_length().and_then(|n| usize::try_from(n).ok());
        if announced.is_some_and(|n| n > self.max_reply) {
            return Err(too_big());
        }
        let mut body = Vec::with_capacity(announced.unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(|e| self.connection(&e))? {
            if body.len() + chunk.len() > self.max_reply {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        if location.is_some() {
            body = target_secrets.redact(&String::from_utf8_lossy(&body)).into_bytes();
        }
        Ok(Exchange { status, retry_after, location, body })
    }

    fn connection(&self, error: &reqwest::Error) -> ModelError {
        ModelError::Connection(self.redactor.redact(&error_chain(error)))
    }

    #[cfg(test)]
    pub(crate) fn with_max_reply(mut self, max_reply: usize) -> Self {
        self.max_reply = max_reply;
        self
    }
}

/// A completed exchange: the status, the wait a non-2xx reply asked for, where
/// a redirect pointed (redacted), and the whole body.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) location: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Exchange {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text with the secrets masked and cut to [`MAX_KEPT_BODY`]:
    /// what an error may keep of it, with a note when it was a redirect.
    pub(crate) fn error_text(&self, redactor: &Redactor) -> String {
        let body = truncate(redactor.redact(&String::from_utf8_lossy(&self.body)));
        match (&self.location, (300..400).contains(&self.status)) {
            (Some(to), true) => format!(
                "{body} [agar: the server redirected to {to}; redirects are not followed \
                 (they would carry the key along): point the base URL at the final address]"
            ),
            _ => body,
        }
    }

    /// A non-2xx reply as a [`ModelError`]: a 429 is [`ModelError::RateLimited`]
    /// unless its body says the account is out of credit (OpenAI's
    /// `insufficient_quota`, where waiting will not help and a `Provider` 429
    /// is final); anything else is [`ModelError::Provider`] with its status.
    pub(crate) fn status_error(&self, redactor: &Redactor) -> ModelError {
        let (status, retry_after) = (self.status, self.retry_after);
        let body = self.error_text(redactor);
        if status == 429 && !body.contains("insufficient_quota") {
            ModelError::RateLimited { status, retry_after, body }
        } else {
            ModelError::Provider { status, retry_after, body }
        }
    }
}

/// Where a redirect points, fit to show: an absolute URL through
/// [`redact_url`]; a relative one with its query values masked.
fn shown_location(location: &str) -> String {
    if location.contains("://") {
        return redact_url(location);
    }
    match location.split_once('?') {
        Some((path, _)) => format!("{path}?***"),
        None => location.to_owned(),
    }
}

/// A byte count for people: whole MiB when it is one, else bytes.
fn shown_size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The wait a reply asks for: `retry-after-ms` (OpenAI's precise variant), else
/// `Retry-After` as seconds or as an HTTP date (a date in the past means now).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && let Ok(wait) = Duration::try_from_secs_f64(ms / 1000.0)
    {
        return Some(wait);
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at: SystemTime = chrono::DateTime::parse_from_rfc2822(value).ok()?.into();
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An error and its sources on one line (reqwest's own message omits the cause).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `body` cut to [`MAX_KEPT_BODY`] bytes on a char boundary, saying how much was dropped.
pub(crate) fn truncate(mut body: String) -> String {
    if body.len() > MAX_KEPT_BODY {
        let mut cut = MAX_KEPT_BODY;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        let dropped = body.len() - cut;
        body.truncate(cut);
        body.push_str(&format!("... ({dropped} more bytes)"));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("valid header"));
        }
        h
    }

    #[test]
    fn retry_after_in_seconds_and_milliseconds() {
        let now = SystemTime::now();
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 1.5 ")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3"), ("retry-after-ms", "250")]), now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn retry_after_as_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let h = headers(&[("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        let past = headers(&[("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT")]);
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
    }

    #[tokio::test]
    async fn replies_over_the_cap_are_undecodable_and_redirects_are_errors() {
        let server = agar_testkit::FakeServer::start().await;
        let transport =
            Transport::new("t", Redactor::default()).expect("builds").with_max_reply(300);
        let url = format!("{}/chat/completions", server.base_url());
        let post = |model: &str| {
            transport.client().post(&url).body(format!(r#"{{"model":"{model}","messages":[]}}"#))
        };
        server.script("big", vec![agar_testkit::Reply::text("x".repeat(1000))]);
        let err = transport.send(post("big")).await.expect_err("over the cap");
        assert!(
            matches!(&err, ModelError::Undecodable { detail, .. } if detail.contains("larger than 300 bytes")),
            "{err}"
        );
        server.script("small", vec![agar_testkit::Reply::text("ok")]);
        assert!(transport.send(post("small")).await.expect("under the cap").is_success());

        let to = "http://user:pw-secret@elsewhere.invalid/v1?api_key=k-123";
        server.push_fault("moved", agar_testkit::Reply::status(302, to));
        let reply = transport.send(post("moved")).await.expect("a reply");
        assert_eq!((reply.status, server.calls("moved")), (302, 1));
        let err = reply.status_error(&Redactor::default());
        assert!(matches!(err, ModelError::Provider { status: 302, .. }) && !err.is_retryable());
        let shown = err.to_string();
        assert!(shown.contains("redirects are not followed"), "{shown}");
        assert!(!shown.contains("pw-secret") && !shown.contains("k-123"), "{shown}");
        assert_eq!(shown_size(MAX_REPLY_BYTES), "32 MiB");
    }

    #[test]
    fn a_429_is_rate_limited_unless_the_quota_is_gone() {
        let reply = |status, body: &str| Exchange {
            status,
            retry_after: Some(Duration::from_secs(3)),
            location: None,
            body: body.as_bytes().to_vec(),
        };
        let r = Redactor::default();
        let slow = reply(429, r#"{"error":{"code":"rate_limit_exceeded"}}"#).status_error(&r);
        assert!(matches!(slow, ModelError::RateLimited { status: 429, .. }) && slow.is_retryable());
        assert_eq!(slow.retry_after(), Some(Duration::from_secs(3)));
        let broke = reply(429, r#"{"error":{"code":"insufficient_quota"}}"#).status_error(&r);
        assert!(matches!(broke, ModelError::Provider { status: 429, .. }) && !broke.is_retryable());
        assert!(reply(503, "").status_error(&r).is_retryable());
        assert!(!reply(404, "").status_error(&r).is_retryable());
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(MAX_KEPT_BODY);
        let cut = truncate(body);
        assert!(cut.len() < MAX_KEPT_BODY + 40);
        assert!(cut.ends_with("more bytes)"));
    }
}
