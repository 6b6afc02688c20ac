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

/// Replaces every occurrence of the provider's secrets (its key, or the values
/// of the variables its headers name) with [`MASK`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Redactor {
    /// Non-empty secrets, longest first so that a secret containing another is
    /// masked whole.
    keys: Vec<ApiKey>,
}

impl Redactor {
    pub(crate) fn new(key: Option<ApiKey>) -> Self {
        Self::many(key)
    }

    /// A redactor for several secrets.
    pub(crate) fn many(keys: impl IntoIterator<Item = ApiKey>) -> Self {
        let mut keys: Vec<ApiKey> = keys.into_iter().filter(|k| !k.expose().is_empty()).collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.expose().len()));
        Self { keys }
    }

    /// `text` with every secret masked: for error messages and error bodies.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for key in &self.keys {
            if text.contains(key.expose()) {
                text = text.replace(key.expose(), MASK);
            }
        }
        text
    }

    /// A successful reply's body with every secret masked, except short placeholders.
    pub(crate) fn redact_answer(&self, mut body: Vec<u8>) -> Vec<u8> {
        for key in self.keys.iter().filter(|k| k.expose().len() >= MIN_SECRET_LEN_IN_ANSWERS) {
            body = replace_bytes(body, key.expose().as_bytes(), MASK.as_bytes());
        }
        body
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
    fn short_placeholder_keys_leave_answers_alone() {
        let r = Redactor::new(Some(ApiKey::new("EMPTY")));
        assert_eq!(r.redact("key EMPTY rejected"), "key *** rejected");
        assert_eq!(r.redact_answer(b"EMPTY room".to_vec()), b"EMPTY room".to_vec());
    }
}
