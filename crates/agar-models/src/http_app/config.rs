//! [`HttpAppConfig`]: what `agar.toml` says about an HTTP application target
//! (`[models.NAME]` with `provider = "http"`), and the `${VAR}` expansion of
//! its header values.

use std::collections::BTreeMap;

use crate::env::Env;

/// The keys of an HTTP target's table that belong to it rather than to the
/// common `[models.NAME]` keys (`provider`, `max_concurrency`, prices...).
pub const HTTP_KEYS: [&str; 7] =
    ["url", "method", "body", "headers", "reply_pointer", "session_pointer", "stateful"];

/// The body sent when the entry gives none: the whole conversation and the session id.
pub const DEFAULT_BODY: &str =
    r#"{"messages": {{ messages | tojson }}, "session_id": {{ session_id | tojson }}}"#;

/// An HTTP application target, as written in `agar.toml`:
///
/// ```toml
/// [models.support-bot]
/// provider = "http"
/// url = "https://bot.example.invalid/api/chat"
/// method = "POST"                       # default POST
/// body = '{"message": {{ last_user_message | tojson }}, "session": {{ session_id | tojson }}}'
/// headers = { Authorization = "Bearer ${SUPPORT_BOT_TOKEN}" }
/// reply_pointer = "/reply"              # JSON pointer to the reply text
/// session_pointer = "/session_id"       # optional: carried into later turns
/// stateful = true                       # the app keeps the history: no rollback
/// ```
///
/// `url` and `body` are minijinja templates given `messages` (the conversation
/// so far: a list of `{role, content}`, user and assistant turns), `last_user_message`,
/// `system` (the target's system prompt, or none) and `session_id` (from the
/// previous reply, or none). Header values may name environment variables as
/// `${VAR}`; their values are secrets: masked in errors, never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAppConfig {
    pub url: String,
    /// `POST` when not given.
    pub method: String,
    /// The request body template; [`DEFAULT_BODY`] when absent (no body for GET).
    pub body: Option<String>,
    pub headers: BTreeMap<String, String>,
    /// A JSON pointer (RFC 6901) to the reply text in the response, e.g. `/reply`
    /// or `/choices/0/message/content`.
    pub reply_pointer: String,
    /// A JSON pointer to a session id in the response, sent back as `session_id`.
    pub session_pointer: Option<String>,
    /// Whether the application keeps the conversation on its side. A stateful
    /// target cannot be rolled back or restarted; a stateless one is sent the
    /// whole history (through `messages`) every turn.
    pub stateful: bool,
}

fn default_method() -> String {
    "POST".to_owned()
}

impl HttpAppConfig {
    /// Takes the HTTP target's own keys ([`HTTP_KEYS`]) out of a `[models.NAME]`
    /// table, leaving the common keys for the caller. The message of an error
    /// names the key at fault.
    pub fn take_from(table: &mut toml::Table) -> Result<HttpAppConfig, String> {
        fn take<T: serde::de::DeserializeOwned>(
            table: &mut toml::Table,
            key: &str,
        ) -> Result<Option<T>, String> {
            table
                .remove(key)
                .map(|value| {
                    value.try_into().map_err(|e| format!("`{key}`: {}", e.message().trim()))
                })
                .transpose()
        }
        let required = |key: &str| format!("`{key}` is required for an http target");
        Ok(HttpAppConfig {
            url: take(table, "url")?.ok_or_else(|| required("url"))?,
            method: take(table, "method")?.unwrap_or_else(default_method),
            body: take(table, "body")?,
            headers: take(table, "headers")?.unwrap_or_default(),
            reply_pointer: take(table, "reply_pointer")?
                .ok_or_else(|| required("reply_pointer"))?,
            session_pointer: take(table, "session_pointer")?,
            stateful: take(table, "stateful")?.unwrap_or(false),
        })
    }

    /// Parses a whole `[models.NAME]` table of an HTTP target; keys common to
    /// every entry (`provider`, `max_concurrency`, `requests_per_minute`,
    /// `input_price`, `output_price`) are accepted and ignored here.
    pub fn from_table(mut table: toml::Table) -> Result<HttpAppConfig, String> {
        let config = Self::take_from(&mut table)?;
        const COMMON: [&str; 5] =
            ["provider", "max_concurrency", "requests_per_minute", "input_price", "output_price"];
        if let Some(unknown) = table.keys().find(|k| !COMMON.contains(&k.as_str())) {
            return Err(format!(
                "unknown key `{unknown}` for an http target (expected one of {})",
                HTTP_KEYS.join(", ")
            ));
        }
        Ok(config)
    }
}

/// `${VAR}` references in a header value: the variable names, in order.
pub(crate) fn variables(value: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if is_variable_name(&after[..end]) => {
                names.push(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    names
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `value` with each `${VAR}` replaced by the variable's value; `Err(VAR)`
/// names the first one that is not set.
pub(crate) fn expand<'a>(value: &'a str, env: &Env) -> Result<String, &'a str> {
    let mut out = value.to_owned();
    for name in variables(value) {
        let found = env.get(name).ok_or(name)?;
        out = out.replace(&format!("${{{name}}}"), found);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_found_and_expanded() {
        assert_eq!(variables("Bearer ${TOKEN} and ${OTHER_1}"), ["TOKEN", "OTHER_1"]);
        assert_eq!(variables("$5 ${} ${1X} ${OK"), Vec::<&str>::new());
        let env = Env::empty().with("TOKEN", "t-1\n");
        assert_eq!(expand("Bearer ${TOKEN}", &env), Ok("Bearer t-1".to_owned()));
        assert_eq!(expand("${MISSING}", &env), Err("MISSING"));
        assert_eq!(expand("plain", &env), Ok("plain".to_owned()));
    }

    #[test]
    fn a_table_parses_with_defaults_and_unknown_keys_are_named() {
        let table: toml::Table = toml::from_str(
            r#"
            provider = "http"
            url = "http://127.0.0.1:9/chat"
            reply_pointer = "/reply"
            max_concurrency = 2
            "#,
        )
        .expect("toml");
        let config = HttpAppConfig::from_table(table).expect("valid");
        assert_eq!(config.method, "POST");
        assert!(!config.stateful && config.body.is_none() && config.headers.is_empty());

        let table: toml::Table = toml::from_str(
            "provider = \"http\"\nurl = \"u\"\nreply_pointer = \"/r\"\nrepl_pointer = 1\n",
        )
        .expect("toml");
        let e = HttpAppConfig::from_table(table).expect_err("typo");
        assert!(e.contains("repl_pointer"), "{e}");
        let table: toml::Table =
            toml::from_str("provider = \"http\"\nurl = \"u\"\n").expect("toml");
        let e = HttpAppConfig::from_table(table).expect_err("no pointer");
        assert!(e.contains("reply_pointer"), "{e}");
    }
}
