//! [`ApiKey`], a key that never prints its value, and the `Redactor` that
//! scrubs a key from any text a provider sends back (some echo the request),
//! written plainly or JSON-escaped (`\u0073k-...`, `\/`). A base URL's
//! user-info and secret-looking query values ([`url_secrets`]) are secrets
//! too, and [`redact_url`] masks them wherever a URL is shown.

use secrecy::{ExposeSecret, SecretString};

/// An API key. `Debug` prints `***`; there is no `Display`.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// A key from its text, with surrounding whitespace (a pasted newline) removed.
    pub fn new(key: impl AsRef<str>) -> Self {
        Self(SecretString::from(key.as_ref().trim()))
    }

    /// The key itself, for the one place that puts it in a header.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What a key is replaced with.
pub(crate) const MASK: &str = "***";

/// Keys shorter than this are placeholders (`EMPTY`, `ollama`) that local
/// servers ignore; they are still scrubbed from error text, but not from a
/// model's successful answer, where masking a common word would corrupt it.
const MIN_SECRET_LEN_IN_ANSWERS: usize = 8;

/// Replaces every occurrence of the provider's secrets (its key, or the values
/// of the variables its headers name) with [`MASK`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Redactor {
    /// Non-empty secrets, longest first so that a secret containing another is
    /// masked whole.
    keys: Vec<ApiKey>,
}

impl Redactor {
    #[cfg(test)]
    pub(crate) fn new(key: Option<ApiKey>) -> Self {
        Self::many(key)
    }

    /// A redactor for several secrets.
    pub(crate) fn many(keys: impl IntoIterator<Item = ApiKey>) -> Self {
        let mut keys: Vec<ApiKey> = keys.into_iter().filter(|k| !k.expose().is_empty()).collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.expose().len()));
        Self { keys }
    }

    /// A redactor for `key` and the secrets in `base_url` ([`url_secrets`]).
    pub(crate) fn for_endpoint(key: Option<ApiKey>, base_url: &str) -> Self {
        Self::many(key.into_iter().chain(url_secrets(base_url)))
    }

    /// `text` with every secret masked: for error messages and error bodies.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for key in &self.keys {
            bytes = mask(bytes, key.expose().as_bytes());
        }
        // Only whole secrets (ASCII or whole escapes) are replaced, so the
        // text stays valid UTF-8; lossy is a no-op safety net.
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// A successful reply's body with every secret masked, except short placeholders.
    pub(crate) fn redact_answer(&self, mut body: Vec<u8>) -> Vec<u8> {
        for key in self.keys.iter().filter(|k| k.expose().len() >= MIN_SECRET_LEN_IN_ANSWERS) {
            body = mask(body, key.expose().as_bytes());
        }
        body
    }
}

/// `haystack` with every occurrence of `secret` replaced by [`MASK`], the
/// secret written plainly or with any of its characters JSON-escaped
/// (`\u0073`, `\u004B`, `\/`), as a provider echoing a request may write it.
fn mask(haystack: Vec<u8>, secret: &[u8]) -> Vec<u8> {
    let Some(&first) = secret.first() else { return haystack };
    if !haystack.contains(&first) && !haystack.windows(2).any(|w| w == b"\\u" || w == b"\\/") {
        return haystack;
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        match match_at(&haystack[i..], secret) {
            Some(len) => {
                out.extend_from_slice(MASK.as_bytes());
                i += len;
            }
            None => {
                out.push(haystack[i]);
                i += 1;
            }
        }
    }
    out
}

/// The length of `secret` at the start of `hay`, each byte literal or escaped.
fn match_at(hay: &[u8], secret: &[u8]) -> Option<usize> {
    let mut i = 0;
    for &want in secret {
        let rest = hay.get(i..)?;
        if rest.first() == Some(&want) {
            i += 1;
        } else if want == b'/' && rest.starts_with(b"\\/") {
            i += 2;
        } else if rest.starts_with(b"\\u")
            && let Some(hex) = rest.get(2..6)
            && let Ok(hex) = std::str::from_utf8(hex)
            && u32::from_str_radix(hex, 16).ok() == Some(u32::from(want))
            && want.is_ascii()
        {
            i += 6;
        } else {
            return None;
        }
    }
    Some(i)
}

/// Whether a query parameter's name says its value is a credential.
fn secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["key", "token", "secret", "sig", "pass", "auth", "cred"].iter().any(|w| name.contains(w))
}

/// The secrets a base URL carries: its user name and password (user-info),
/// and the values of query parameters named like credentials (`api_key`,
/// `token`, `sig`...), raw and percent-decoded.
pub fn url_secrets(base_url: &str) -> Vec<ApiKey> {
    let Ok(url) = reqwest::Url::parse(base_url.trim()) else { return Vec::new() };
    let mut raw: Vec<String> = vec![url.username().to_owned()];
    raw.extend(url.password().map(str::to_owned));
    if let Some(query) = url.query() {
        for pair in query.split('&') {
            if let Some((name, value)) = pair.split_once('=')
                && secret_param(name)
            {
                raw.push(value.to_owned());
            }
        }
    }
    let mut out = Vec::new();
    for value in raw.into_iter().filter(|v| !v.is_empty()) {
        let decoded = percent_decode(&value);
        if !decoded.is_empty() && decoded != value {
            out.push(ApiKey::new(decoded));
        }
        out.push(ApiKey::new(value));
    }
    out
}

/// `%XX` escapes (and `+` as a space) decoded; invalid escapes kept.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` fit to show: user-info and every query value replaced by `***`
/// (a URL that does not parse is shown up to its host only).
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url.trim()) else {
        return match url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split(['/', '?', '#']).next().unwrap_or("");
                let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
                format!("{scheme}://{host}/...")
            }
            None => MASK.to_owned(),
        };
    };
    let secret_free = parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.query().is_none_or(str::is_empty);
    if secret_free {
        return url.trim().to_owned();
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        let _ = parsed.set_password(None);
        let _ = parsed.set_username(MASK);
    }
    if let Some(query) = parsed.query().map(str::to_owned) {
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}={MASK}"),
                None => pair.to_owned(),
            })
            .collect();
        parsed.set_query(Some(&masked.join("&")));
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("sk-very-secret\n");
        assert_eq!(format!("{key:?}"), "***");
        assert_eq!(key.expose(), "sk-very-secret");
    }

    #[test]
    fn redacts_text_and_answers() {
        let r = Redactor::new(Some(ApiKey::new("sk-very-secret")));
        assert_eq!(r.redact("bad key sk-very-secret!"), "bad key ***!");
        let body = br#"{"echo":"sk-very-secret","x":"sk-very-secret"}"#.to_vec();
        assert_eq!(r.redact_answer(body), br#"{"echo":"***","x":"***"}"#.to_vec());
    }

    #[test]
    fn several_secrets_are_all_masked() {
        let r = Redactor::many([
            ApiKey::new("tok-abc"),
            ApiKey::new("tok-abcdef-long"),
            ApiKey::new(""),
        ]);
        assert_eq!(r.redact("a tok-abcdef-long b tok-abc c"), "a *** b *** c");
        let body = b"x tok-abcdef-long y".to_vec();
        assert_eq!(r.redact_answer(body), b"x *** y".to_vec());
    }

    #[test]
    fn json_escaped_echoes_are_masked() {
        let r = Redactor::new(Some(ApiKey::new("sk-very/secret")));
        let echoed = r#"{"m":"key \u0073k-very\/secret and \u0073\u006B-v\u0065ry/secret"}"#;
        assert_eq!(r.redact(echoed), r#"{"m":"key *** and ***"}"#);
        assert_eq!(
            r.redact_answer(echoed.as_bytes().to_vec()),
            br#"{"m":"key *** and ***"}"#.to_vec()
        );
        // Near misses stay.
        assert_eq!(r.redact("\\u0073k-very"), "\\u0073k-very");
        assert_eq!(r.redact("ünï sk-very/secret ✓"), "ünï *** ✓");
    }

    #[test]
    fn base_url_credentials_are_secrets_and_never_shown() {
        let url =
            "https://bob:pa%24%24word-123@gw.example/v1?api_key=qk-123456789&api-version=2024";
        let secrets: Vec<String> = url_secrets(url).iter().map(|k| k.expose().to_owned()).collect();
        assert!(secrets.contains(&"bob".to_owned()), "{secrets:?}");
        assert!(secrets.contains(&"pa$$word-123".to_owned()), "{secrets:?}");
        assert!(secrets.contains(&"pa%24%24word-123".to_owned()), "{secrets:?}");
        assert!(secrets.contains(&"qk-123456789".to_owned()), "{secrets:?}");
        assert!(!secrets.contains(&"2024".to_owned()), "{secrets:?}");
        let shown = redact_url(url);
        assert_eq!(shown, "https://***@gw.example/v1?api_key=***&api-version=***");
        assert_eq!(redact_url("http://127.0.0.1:8000/v1"), "http://127.0.0.1:8000/v1");
        assert_eq!(redact_url("ht!tp://u:p@h/x"), "ht!tp://h/...");
        let r = Redactor::for_endpoint(None, url);
        assert_eq!(
            r.redact("GET gw.example?api_key=qk-123456789 failed"),
            "GET gw.example?api_key=*** failed"
        );
    }

    #[test]
    fn short_placeholder_keys_leave_answers_alone() {
        let r = Redactor::new(Some(ApiKey::new("EMPTY")));
        assert_eq!(r.redact("key EMPTY rejected"), "key *** rejected");
        assert_eq!(r.redact_answer(b"EMPTY room".to_vec()), b"EMPTY room".to_vec());
    }
}
