//! What every HTTP provider shares: the reqwest client (one TLS setup, one
//! user agent, a connect timeout), one exchange read in full, `Retry-After`
//! parsing, error chains on one line, and the cap on error bodies kept.

use std::time::{Duration, SystemTime};

use agar_core::ModelError;
use reqwest::header::HeaderMap;

use crate::resolve::ResolveError;
use crate::secret::Redactor;

/// How long establishing a connection may take; the whole call is bounded by
/// the middleware's per-attempt timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an error body is kept in a [`ModelError`] (an HTML error page can be large).
pub(crate) const MAX_KEPT_BODY: usize = 4000;

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

/// The HTTP client of one provider: rustls (the backend async-openai uses too,
/// so all providers share one reqwest build), agar's user agent, and no
/// overall timeout (the middleware owns it). Redirects are not followed: a
/// redirect to another host would carry custom key headers (`x-api-key`) along.
pub(crate) fn client(reference: &str) -> Result<reqwest::Client, ResolveError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("agar/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ResolveError::HttpClient {
            reference: reference.to_owned(),
            reason: e.to_string(),
        })
}

/// A completed exchange: the status, the wait a non-2xx reply asked for, and
/// the whole body.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

impl Exchange {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text with the key masked and cut to [`MAX_KEPT_BODY`]: what
    /// an error may keep of it.
    pub(crate) fn error_text(&self, redactor: &Redactor) -> String {
        truncate(redactor.redact(&String::from_utf8_lossy(&self.body)))
    }
}

/// Sends `request` and reads the whole reply, so a body cut off mid-way is a
/// (retryable) connection failure rather than a garbled answer.
pub(crate) async fn exchange(
    client: &reqwest::Client,
    request: reqwest::RequestBuilder,
    redactor: &Redactor,
) -> Result<Exchange, ModelError> {
    let connection = |e: reqwest::Error| ModelError::Connection(redactor.redact(&error_chain(&e)));
    let request = request.build().map_err(connection)?;
    let response = client.execute(request).await.map_err(connection)?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers(), SystemTime::now());
    let body = response.bytes().await.map_err(connection)?.to_vec();
    Ok(Exchange { status, retry_after, body })
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

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(MAX_KEPT_BODY);
        let cut = truncate(body);
        assert!(cut.len() < MAX_KEPT_BODY + 40);
        assert!(cut.ends_with("more bytes)"));
    }
}
