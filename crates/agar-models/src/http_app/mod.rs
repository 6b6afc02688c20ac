//! HTTP application targets: a deployed chatbot (its own system prompt,
//! retrieval, guardrails) audited through its HTTP endpoint rather than a
//! bare model. Defined in `agar.toml` ([`HttpAppConfig`]) and used as the
//! target under its `[models.NAME]` name.
//!
//! Each turn renders the request from the conversation so far (minijinja
//! templates for the URL and body), sends it with the configured headers,
//! and reads the reply text (and optionally a session id) from the JSON
//! answer through JSON pointers. The session id travels in the assistant
//! message's [`agar_core::Message::provider_state`], so each conversation and
//! each branch carries its own. A stateless application is sent the whole
//! history every turn, so rollback and restart work; a stateful one reports
//! [`Capabilities::stateful`] and the audit refuses both.

mod config;

use agar_core::{Capabilities, ChatModel, ChatRequest, ChatResponse, Message, ModelError, Role};
use minijinja::{Environment, UndefinedBehavior, context};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::env::Env;
use crate::http::{Transport, truncate};
use crate::providers::{Build, Built, Features, Provider};
use crate::resolve::ResolveError;
use crate::secret::{ApiKey, Redactor, redact_url, url_secrets};

pub use self::config::{DEFAULT_BODY, HTTP_KEYS, HttpAppConfig};

/// The key of [`Message::provider_state`] holding an application's session id.
pub const SESSION_STATE_KEY: &str = "http_session";

/// The HTTP application provider's entry in [`crate::providers::PROVIDERS`]:
/// configured only as a `[models.NAME]` entry, by keys of its own.
pub static PROVIDER: Provider = Provider {
    name: "http",
    summary: "an HTTP application ([models.NAME] with url and reply_pointer)",
    plain_reference: false,
    base_url_var: None,
    default_base_url: None,
    default_shown: "its url",
    api_key_var: None,
    other_vars: &[],
    // Plain conversations only: an application brings its own tools.
    features: Features::NONE,
    own_keys: Some(HttpAppConfig::take_from),
    build,
};

/// The application a `[models.NAME]` entry describes.
fn build(b: &Build<'_>) -> Result<Built, ResolveError> {
    let http = b.entry.and_then(|e| e.http.as_ref()).ok_or_else(|| ResolveError::HttpTarget {
        reference: b.reference.to_owned(),
        reason: "the entry has no url".into(),
    })?;
    Ok(Built::Bare(std::sync::Arc::new(HttpApp::new(b.reference, http, b.env)?)))
}

/// One HTTP application. Cheap to share behind an `Arc`; it owns one HTTP
/// client for all its calls, and no per-conversation state (session ids
/// travel with the messages).
pub struct HttpApp {
    /// The `[models.NAME]` name it is known by.
    name: String,
    method: Method,
    /// The compiled `url` and `body` templates.
    templates: Environment<'static>,
    has_body: bool,
    /// With `${VAR}`s expanded; values that came from variables are marked sensitive.
    headers: HeaderMap,
    reply_pointer: String,
    session_pointer: Option<String>,
    stateful: bool,
    /// The shared HTTP path; its redactor masks the values of the variables
    /// the headers named and the credentials of the URL.
    transport: Transport,
}

impl std::fmt::Debug for HttpApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpApp")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("stateful", &self.stateful)
            .finish_non_exhaustive()
    }
}

impl HttpApp {
    /// The target `name` described by `config`, with header variables read
    /// from `env`. Checks everything it can before any request: the method,
    /// the templates (rendered once with a sample conversation), the URL, the
    /// pointers and every `${VAR}`.
    pub fn new(name: &str, config: &HttpAppConfig, env: &Env) -> Result<Self, ResolveError> {
        let name = name.trim().to_owned();
        let invalid = |reason: String| ResolveError::HttpTarget { reference: name.clone(), reason };
        let method = Method::from_bytes(config.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid(format!("`{}` is not an HTTP method", config.method)))?;
        for (key, pointer) in [
            ("reply_pointer", Some(&config.reply_pointer)),
            ("session_pointer", config.session_pointer.as_ref()),
        ] {
            if let Some(p) = pointer
                && !p.is_empty()
                && !p.starts_with('/')
            {
                return Err(invalid(format!(
                    "{key} `{p}` is not a JSON pointer (it starts with `/`, e.g. `/reply`)"
                )));
            }
        }

        let mut templates = Environment::new();
        templates.set_undefined_behavior(UndefinedBehavior::Strict);
        templates
            .add_template_owned("url", config.url.trim().to_owned())
            .map_err(|e| invalid(format!("url: {}", template_error(&e))))?;
        let has_body = config.body.is_some() || !matches!(method, Method::GET | Method::HEAD);
        let body = config.body.clone().unwrap_or_else(|| DEFAULT_BODY.to_owned());
        templates
            .add_template_owned("body", body)
            .map_err(|e| invalid(format!("body: {}", template_error(&e))))?;

        let mut headers = HeaderMap::new();
        let mut secrets = Vec::new();
        for (key, value) in &config.headers {
            let header = HeaderName::from_bytes(key.trim().as_bytes())
                .map_err(|_| invalid(format!("`{key}` is not a valid header name")))?;
            let expanded = config::expand(value, env).map_err(|variable| {
                ResolveError::MissingHeaderVariable {
                    variable: variable.to_owned(),
                    reference: name.clone(),
                }
            })?;
            let from_variables = config::variables(value);
            secrets.extend(from_variables.iter().filter_map(|v| env.get(v)).map(ApiKey::new));
            let mut header_value = HeaderValue::from_str(&expanded).map_err(|_| {
                // Never show the value: it may hold a secret.
                invalid(format!("the value of header `{key}` cannot be sent in an HTTP header"))
            })?;
            header_value.set_sensitive(!from_variables.is_empty());
            headers.insert(header, header_value);
        }
        if has_body && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }

        // The URL's own credentials (user-info, `?api_key=`) are secrets too.
        secrets.extend(url_secrets(config.url.trim()));
        let mut app = Self {
            transport: Transport::new(&name, Redactor::many(secrets.clone()))?,
            name: name.clone(),
            method,
            templates,
            has_body,
            headers,
            reply_pointer: config.reply_pointer.clone(),
            session_pointer: config.session_pointer.clone().filter(|p| !p.is_empty()),
            stateful: config.stateful,
        };
        // A trial render catches unknown variables and bad URLs now, not
        // mid-audit; the rendered URL's credentials join the secrets (the
        // template may not parse as a URL before rendering).
        let sample = [Message::system("You are helpful."), Message::user("Hello")];
        let (url, _) = app.render(&sample).map_err(|e| invalid(e.to_string()))?;
        let rendered = url_secrets(url.as_str());
        if !rendered.is_empty() {
            secrets.extend(rendered);
            app.transport = Transport::new(&name, Redactor::many(secrets))?;
        }
        Ok(app)
    }

    /// The URL and body for a conversation.
    fn render(&self, messages: &[Message]) -> Result<(reqwest::Url, Option<String>), ModelError> {
        let turns: Vec<minijinja::Value> = messages
            .iter()
            .filter_map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                    Role::System | Role::Tool => return None,
                };
                Some(context! { role => role, content => m.content.to_string() })
            })
            .collect();
        let system: Vec<&str> = messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let last_user_message =
            messages.iter().rev().find(|m| m.role == Role::User).map_or("", |m| m.content.as_str());
        let session_id = messages
            .iter()
            .rev()
            .filter(|m| m.role == Role::Assistant)
            .find_map(|m| m.provider_state.as_ref()?.get(SESSION_STATE_KEY)?.as_str());
        let ctx = context! {
            messages => turns,
            last_user_message => last_user_message,
            system => (!system.is_empty()).then(|| system.join("\n\n")),
            session_id => session_id,
        };
        let render = |template: &str| {
            self.templates
                .get_template(template)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| ModelError::Config(format!("{template}: {}", template_error(&e))))
        };
        let url_text = render("url")?;
        let url = reqwest::Url::parse(url_text.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                let shown = redact_url(&self.transport.redactor().redact(url_text.trim()));
                ModelError::Config(format!("url `{shown}` is not an http(s) URL"))
            })?;
        let body = if self.has_body { Some(render("body")?) } else { None };
        Ok((url, body))
    }
}

/// A template error on one line: its description and, when known, the line.
fn template_error(e: &minijinja::Error) -> String {
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    match e.line() {
        Some(line) => format!("{}{detail} (template line {line})", e.kind()),
        None => format!("{}{detail}", e.kind()),
    }
}

#[async_trait::async_trait]
impl ChatModel for HttpApp {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        PROVIDER.features.capabilities(self.stateful)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        PROVIDER.features.refuse(&format!("http target {}", self.name), request)?;
        let (url, body) = self.render(&request.messages)?;
        let client = self.transport.client();
        let mut http = client.request(self.method.clone(), url).headers(self.headers.clone());
        if let Some(body) = body {
            http = http.body(body);
        }
        let reply = self.transport.send(http).await?;
        if !reply.is_success() {
            return Err(reply.status_error(self.transport.redactor()));
        }
        let body = self.transport.redactor().redact_answer(reply.body);
        let undecodable = |detail: String| ModelError::Undecodable {
            detail,
            body: truncate(String::from_utf8_lossy(&body).into_owned()),
        };
        let json: Value = serde_json::from_slice(&body)
            .map_err(|e| undecodable(format!("the reply is not JSON: {e}")))?;
        let content = match json.pointer(&self.reply_pointer) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => {
                return Err(undecodable(format!(
                    "the reply has no text at {}",
                    shown_pointer(&self.reply_pointer)
                )));
            }
            Some(other) => other.to_string(),
        };
        let session = self
            .session_pointer
            .as_deref()
            .and_then(|p| match json.pointer(p)? {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            // An application may name the session only once: keep the last one.
            .or_else(|| {
                request.messages.iter().rev().find_map(|m| {
                    m.provider_state.as_ref()?.get(SESSION_STATE_KEY)?.as_str().map(str::to_owned)
                })
            });
        Ok(ChatResponse {
            content,
            finish_reason: Some("stop".into()),
            attempts: 1,
            provider_state: session.map(|s| json!({ SESSION_STATE_KEY: s })),
            ..ChatResponse::default()
        })
    }
}

fn shown_pointer(pointer: &str) -> &str {
    if pointer.is_empty() { "the root" } else { pointer }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HttpAppConfig {
        HttpAppConfig {
            url: "http://127.0.0.1:9/chat".into(),
            method: "post".into(),
            body: None,
            headers: [("Authorization".to_owned(), "Bearer ${APP_TOKEN}".to_owned())].into(),
            reply_pointer: "/reply".into(),
            session_pointer: Some("/session".into()),
            stateful: false,
        }
    }

    fn env() -> Env {
        Env::empty().with("APP_TOKEN", "tok-secret-1234")
    }

    #[test]
    fn the_body_holds_the_conversation_and_the_session() {
        let custom = HttpAppConfig {
            body: Some(
                r#"{"system": {{ system | tojson }}, "last": {{ last_user_message | tojson }}, "n": {{ messages | length }}, "s": {{ session_id | tojson }}}"#
                    .into(),
            ),
            ..config()
        };
        let app = HttpApp::new("bot", &custom, &env()).expect("valid");
        let mut reply = Message::assistant("hello \"you\"");
        reply.provider_state = Some(Box::new(json!({ SESSION_STATE_KEY: "s-1" })));
        let (url, body) = app
            .render(&[Message::system("sys"), Message::user("hi"), reply, Message::user("more")])
            .expect("renders");
        assert_eq!(url.as_str(), "http://127.0.0.1:9/chat");
        let body: Value = serde_json::from_str(&body.expect("a body")).expect("json");
        assert_eq!(body, json!({"system": "sys", "last": "more", "n": 3, "s": "s-1"}));

        let app = HttpApp::new("bot", &config(), &env()).expect("valid");
        let (_, body) = app.render(&[Message::user("hi")]).expect("renders");
        let body: Value = serde_json::from_str(&body.expect("a body")).expect("json");
        assert_eq!(
            body,
            json!({"messages": [{"role": "user", "content": "hi"}], "session_id": null})
        );
    }

    #[test]
    fn header_variables_are_expanded_sensitive_and_redacted() {
        let app = HttpApp::new("bot", &config(), &env()).expect("valid");
        let auth = &app.headers["authorization"];
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().expect("ascii"), "Bearer tok-secret-1234");
        assert_eq!(
            app.transport.redactor().redact("echo: Bearer tok-secret-1234"),
            "echo: Bearer ***"
        );
        assert!(!format!("{app:?} {:?}", app.headers).contains("tok-secret"));
        let e = HttpApp::new("bot", &config(), &Env::empty()).expect_err("no variable");
        assert_eq!(
            e.to_string(),
            "APP_TOKEN is not set (named in the headers of bot in agar.toml)"
        );
    }

    #[test]
    fn bad_configurations_are_refused_up_front() {
        let cases = [
            (HttpAppConfig { method: "P OST".into(), ..config() }, "not an HTTP method"),
            (HttpAppConfig { reply_pointer: "reply".into(), ..config() }, "not a JSON pointer"),
            (HttpAppConfig { body: Some("{{ nope }}".into()), ..config() }, "body: undefined"),
            (HttpAppConfig { body: Some("{% if %}".into()), ..config() }, "body: syntax error"),
            (
                HttpAppConfig { url: "ftp://x/{{ session_id }}".into(), ..config() },
                "not an http(s) URL",
            ),
        ];
        for (config, expected) in cases {
            let e = HttpApp::new("bot", &config, &env()).expect_err(expected).to_string();
            assert!(e.starts_with("http target bot: ") && e.contains(expected), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn a_stateful_app_says_so() {
        let app = HttpApp::new("bot", &HttpAppConfig { stateful: true, ..config() }, &env())
            .expect("valid");
        assert!(app.capabilities().stateful && !app.capabilities().prefill);
        let get = HttpApp::new("bot", &HttpAppConfig { method: "GET".into(), ..config() }, &env())
            .expect("valid");
        assert_eq!(get.render(&[Message::user("hi")]).expect("renders").1, None);
    }
}
