//! [`ApiKey`], a key that never prints its value, and the `Redactor` that
//! scrubs a key from any text a provider sends back (some echo the request).

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

    pub(crate) fn secret(&self) -> &SecretString {
        &self.0
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

/// Replaces every occurrence of the provider's key with [`MASK`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Redactor {
    key: Option<ApiKey>,
}

impl Redactor {
    pub(crate) fn new(key: Option<ApiKey>) -> Self {
        Self { key: key.filter(|k| !k.expose().is_empty()) }
    }

    /// `text` with the key masked: for error messages and error bodies.
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.key {
            Some(key) => text.replace(key.expose(), MASK),
            None => text.to_owned(),
        }
    }

    /// A successful reply's body with the key masked, unless the key is a short placeholder.
    pub(crate) fn redact_answer(&self, body: Vec<u8>) -> Vec<u8> {
        match &self.key {
            Some(key) if key.expose().len() >= MIN_SECRET_LEN_IN_ANSWERS => {
                replace_bytes(body, key.expose().as_bytes(), MASK.as_bytes())
            }
            _ => body,
        }
    }
}

/// `haystack` with every non-overlapping `needle` replaced by `with`.
fn replace_bytes(haystack: Vec<u8>, needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || !haystack.windows(needle.len()).any(|w| w == needle) {
        return haystack;
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack.as_slice();
    while !rest.is_empty() {
        if rest.starts_with(needle) {
            out.extend_from_slice(with);
            rest = &rest[needle.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
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
    fn short_placeholder_keys_leave_answers_alone() {
        let r = Redactor::new(Some(ApiKey::new("EMPTY")));
        assert_eq!(r.redact("key EMPTY rejected"), "key *** rejected");
        assert_eq!(r.redact_answer(b"EMPTY room".to_vec()), b"EMPTY room".to_vec());
    }
}
