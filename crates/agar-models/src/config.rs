//! `agar.toml`: named models and prices.
//!
//! ```toml
//! [models.fast]                    # `--target fast`
//! provider = "openai"              # a provider of `crate::providers::PROVIDERS`
//! model = "gpt-4.1-mini"
//! base_url = "http://127.0.0.1:8000/v1"   # optional; default: the provider's variable
//! api_key_env = "MY_GATEWAY_KEY"   # optional; the variable holding the key
//! max_concurrency = 8              # optional; calls in flight at once
//! requests_per_minute = 500        # optional; calls are spaced to stay under it
//! input_price = 0.4                # optional; USD per million input tokens
//! output_price = 1.6               # optional; USD per million output tokens
//! context_window = 8192            # optional; tokens (openai: caps are clipped to fit)
//! max_tokens_field = "max_tokens"  # optional; or "max_completion_tokens" (default: per endpoint)
//! tool_choice_required = false     # optional; for servers failing on tool_choice "required"
//! temperature = 0.7                # optional sampling: temperature, top_p, max_tokens,
//! reasoning = "high"               #   reasoning (low|medium|high or a token budget)
//!
//! [roles.judge]                    # sampling per role (auditor, target, judge,
//! max_tokens = 2048                #   environment, realism); wins over [models.NAME]
//!
//! [models.support-bot]             # an HTTP application as a target
//! provider = "http"                # see `crate::http_app::HttpAppConfig`
//! url = "http://127.0.0.1:8080/chat"
//! reply_pointer = "/reply"
//!
//! [prices."openai/gpt-4.1"]        # prices for a plain model reference
//! input_price = 2.0
//! output_price = 8.0
//! ```
//!
//! Found by [`find_config`]: `AGAR_CONFIG` if set, else `./agar.toml`, else
//! `agar/agar.toml` in the user's config directory. Errors name the file and
//! line. [`resolve_with`] resolves a reference, a `[models.NAME]` entry
//! first; [`Config::price`] looks a reference's price up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agar_core::{Capabilities, ChatModel, ChatRequest, ChatResponse, ModelError, Price};
use serde::Deserialize;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use crate::env::Env;
use crate::http_app::HttpAppConfig;
use crate::openai::{ServerOptions, TokenLimitField};
use crate::providers::{Build, Built};
use crate::resolve::{ResolveError, ResolveSettings, resolve};
use crate::sampling::{RawSampling, SamplingOverrides};

/// The file name searched for.
pub const CONFIG_FILE: &str = "agar.toml";
/// The variable naming a config file explicitly.
pub const CONFIG_VAR: &str = "AGAR_CONFIG";

/// Why `agar.toml` could not be used; the message starts with `path:line:`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Invalid { path: PathBuf, line: usize, message: String },
}

/// One `[models.NAME]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    /// For `provider = "http"`: the application's endpoint and how to talk to it.
    pub http: Option<HttpAppConfig>,
    pub provider: String,
    pub model: String,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub max_concurrency: Option<usize>,
    pub requests_per_minute: Option<u32>,
    pub price: Option<Price>,
    /// Server settings of an `openai` entry (length-cap field, context window...).
    pub server: ServerOptions,
    /// Sampling for every role this model plays (`[roles.NAME]` wins).
    pub sampling: SamplingOverrides,
    /// The line of its table in the file.
    pub line: usize,
}

impl ModelEntry {
    /// The plain reference this entry stands for, e.g. `openai/gpt-4.1-mini`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }

    /// The reference fit to show: an application's URL (its model) with
    /// its credentials masked.
    pub fn shown_reference(&self) -> String {
        if self.model.contains("://") {
            format!("{}/{}", self.provider, crate::secret::redact_url(&self.model))
        } else {
            self.reference()
        }
    }

    /// Where its requests go, fit to show (credentials masked): its
    /// `base_url`, an application's URL, else the provider's endpoint.
    pub fn shown_endpoint(&self, env: &Env) -> String {
        let own = self.base_url.as_deref().or(self.http.as_ref().map(|h| h.url.as_str()));
        match (own, crate::providers::find(&self.provider)) {
            (Some(url), _) => crate::secret::redact_url(url),
            (None, Some(provider)) => provider.shown_endpoint(env),
            (None, None) => "-".into(),
        }
    }

    /// The variable the key is read from: `api_key_env`, else the provider's.
    pub fn key_variable(&self) -> Option<String> {
        let provider = crate::providers::find(&self.provider);
        self.api_key_env.clone().or_else(|| provider?.api_key_var.map(str::to_owned))
    }
}

/// A loaded `agar.toml` (empty when there is none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Where it was read from.
    pub path: Option<PathBuf>,
    pub models: BTreeMap<String, ModelEntry>,
    /// Prices of plain references.
    pub prices: BTreeMap<String, Price>,
    /// `[roles.NAME]`: sampling per role.
    pub roles: BTreeMap<String, SamplingOverrides>,
    /// `[prompts] dir`: a directory of template overrides, resolved against
    /// the file's directory.
    pub prompts_dir: Option<PathBuf>,
}

/// The `[prompts]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrompts {
    dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Tables rather than [`RawModel`]s: an `http` entry's own keys are taken
    /// out ([`HttpAppConfig::take_from`]) before the rest is read.
    #[serde(default)]
    models: BTreeMap<String, toml::Spanned<toml::Table>>,
    #[serde(default)]
    prices: BTreeMap<String, toml::Spanned<RawPrice>>,
    #[serde(default)]
    roles: BTreeMap<String, toml::Spanned<RawSampling>>,
    prompts: Option<RawPrompts>,
}

/// The same shape without spans: its errors point at the offending value
/// (spanned tables report the whole table).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainConfig {
    #[serde(default)]
    #[expect(dead_code, reason = "parsed only for its errors")]
    models: BTreeMap<String, PlainModel>,
    #[serde(default)]
    #[expect(dead_code, reason = "parsed only for its errors")]
    prices: BTreeMap<String, RawPrice>,
    #[serde(default)]
    #[expect(dead_code, reason = "parsed only for its errors")]
    roles: BTreeMap<String, RawSampling>,
    #[serde(default)]
    #[expect(dead_code, reason = "parsed only for its errors")]
    prompts: Option<RawPrompts>,
}

/// Every key a `[models.NAME]` table may hold, whatever its provider (those
/// of an `http` entry included, see [`HttpAppConfig`]), typed: for the
/// pre-pass, so that a wrong key or type is reported at its own line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "parsed only for its errors")]
struct PlainModel {
    provider: String,
    model: Option<String>,
    base_url: Option<String>,
    api_key_env: Option<String>,
    max_concurrency: Option<i64>,
    requests_per_minute: Option<i64>,
    input_price: Option<f64>,
    output_price: Option<f64>,
    url: Option<String>,
    method: Option<String>,
    body: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    reply_pointer: Option<String>,
    session_pointer: Option<String>,
    stateful: Option<bool>,
    context_window: Option<i64>,
    max_tokens_field: Option<String>,
    tool_choice_required: Option<bool>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<i64>,
    reasoning: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    provider: String,
    model: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    max_concurrency: Option<i64>,
    requests_per_minute: Option<i64>,
    input_price: Option<f64>,
    output_price: Option<f64>,
    context_window: Option<i64>,
    max_tokens_field: Option<String>,
    tool_choice_required: Option<bool>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<i64>,
    reasoning: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    input_price: f64,
    output_price: f64,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Parses the text of an `agar.toml`; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |line: usize, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let parse_error = |e: toml::de::Error| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            invalid(line, e.message().trim().to_string())
        };
        toml::from_str::<PlainConfig>(text).map_err(parse_error)?;
        let raw: RawConfig = toml::from_str(text).map_err(parse_error)?;
        let prompts_dir = raw.prompts.map(|p| match path.parent() {
            Some(base) if p.dir.is_relative() => base.join(&p.dir),
            _ => p.dir,
        });
        let mut config =
            Config { path: Some(path.to_path_buf()), prompts_dir, ..Config::default() };
        for (name, spanned) in raw.models {
            let line = line_of(text, spanned.span().start);
            let mut table = spanned.into_inner();
            let provider = table.get("provider").and_then(toml::Value::as_str);
            let own_keys = provider.and_then(crate::providers::find).and_then(|p| p.own_keys);
            let http = if let Some(take) = own_keys {
                let http =
                    take(&mut table).map_err(|e| invalid(line, format!("[models.{name}]: {e}")))?;
                // An application has no model name; its URL stands for one.
                table.entry("model").or_insert_with(|| toml::Value::String(http.url.clone()));
                Some(http)
            } else {
                None
            };
            let m: RawModel = table
                .try_into()
                .map_err(|e| invalid(line, format!("[models.{name}]: {}", e.message().trim())))?;
            if name.trim().is_empty() || name.contains('/') || name.chars().any(char::is_whitespace)
            {
                return Err(invalid(
                    line,
                    format!(
                        "model name `{name}`: a name has no '/' or spaces (it is used as --target NAME)"
                    ),
                ));
            }
            if crate::providers::find(&m.provider).is_none() {
                return Err(invalid(
                    line,
                    format!(
                        "[models.{name}]: unknown provider `{}` ({})",
                        m.provider,
                        crate::providers::names_listed(false, "")
                    ),
                ));
            }
            if m.model.trim().is_empty() {
                return Err(invalid(line, format!("[models.{name}]: `model` is empty")));
            }
            let positive = |v: Option<i64>, key: &str| -> Result<Option<i64>, ConfigError> {
                match v {
                    Some(n) if n < 1 => {
                        Err(invalid(line, format!("[models.{name}]: `{key}` must be at least 1")))
                    }
                    other => Ok(other),
                }
            };
            let max_concurrency = positive(m.max_concurrency, "max_concurrency")?;
            let rpm = positive(m.requests_per_minute, "requests_per_minute")?;
            let price = match (m.input_price, m.output_price) {
                (None, None) => None,
                (i, o) => Some(
                    price(i.unwrap_or(0.0), o.unwrap_or(0.0))
                        .map_err(|e| invalid(line, format!("[models.{name}]: {e}")))?,
                ),
            };
            let sampling = RawSampling {
                temperature: m.temperature,
                top_p: m.top_p,
                max_tokens: m.max_tokens,
                reasoning: m.reasoning,
            }
            .check()
            .map_err(|e| invalid(line, format!("[models.{name}]: {e}")))?;
            let server =
                server_options(m.context_window, m.max_tokens_field, m.tool_choice_required)
                    .map_err(|e| invalid(line, format!("[models.{name}]: {e}")))?;
            let entry = ModelEntry {
                server: ServerOptions {
                    default_max_tokens: sampling.max_tokens.unwrap_or(server.default_max_tokens),
                    ..server
                },
                sampling,
                http,
                provider: m.provider,
                model: m.model.trim().to_string(),
                base_url: m.base_url.filter(|u| !u.trim().is_empty()),
                api_key_env: m.api_key_env.filter(|v| !v.trim().is_empty()),
                max_concurrency: max_concurrency.map(|n| n as usize),
                requests_per_minute: rpm.map(|n| n.min(i64::from(u32::MAX)) as u32),
                price,
                line,
            };
            config.models.insert(name, entry);
        }
        for (reference, spanned) in raw.prices {
            let line = line_of(text, spanned.span().start);
            let p = spanned.into_inner();
            let p = price(p.input_price, p.output_price)
                .map_err(|e| invalid(line, format!("[prices.\"{reference}\"]: {e}")))?;
            config.prices.insert(reference, p);
        }
        for (role, spanned) in raw.roles {
            let line = line_of(text, spanned.span().start);
            if !crate::sampling::ROLES.iter().any(|r| r.as_str() == role) {
                let known: Vec<&str> = crate::sampling::ROLES.iter().map(|r| r.as_str()).collect();
                let known = known.join(", ");
                return Err(invalid(
                    line,
                    format!("[roles.{role}]: unknown role (one of {known})"),
                ));
            }
            let overrides = spanned
                .into_inner()
                .check()
                .map_err(|e| invalid(line, format!("[roles.{role}]: {e}")))?;
            config.roles.insert(role, overrides);
        }
        Ok(config)
    }

    /// The sampling `agar.toml` sets for `role` played by `model` (a name or
    /// reference): `[models.NAME]` overlaid with `[roles.ROLE]`.
    pub fn sampling_for(&self, role: &str, model: &str) -> SamplingOverrides {
        let mut merged =
            self.models.get(model.trim()).map(|e| e.sampling.clone()).unwrap_or_default();
        if let Some(r) = self.roles.get(role) {
            merged = SamplingOverrides {
                temperature: r.temperature.or(merged.temperature),
                top_p: r.top_p.or(merged.top_p),
                max_tokens: r.max_tokens.or(merged.max_tokens),
                reasoning: r.reasoning.clone().or(merged.reasoning),
            };
        }
        merged
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.to_path_buf(), message: e.to_string() })?;
        Config::parse(&text, path)
    }

    /// The config [`find_config`] finds for this process, or an empty one.
    pub fn load_default(env: &Env) -> Result<Config, ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_default();
        match find_config(env, &cwd, dirs::config_dir().as_deref())? {
            Some(path) => Config::load(&path),
            None => Ok(Config::default()),
        }
    }

    /// The price of a model reference: its `[models.NAME]` prices, else
    /// `[prices."REF"]`, else (for a name) the prices of the reference it stands for.
    pub fn price(&self, reference: &str) -> Option<Price> {
        let reference = reference.trim();
        if let Some(entry) = self.models.get(reference) {
            return entry.price.or_else(|| self.prices.get(&entry.reference()).copied());
        }
        self.prices.get(reference).copied()
    }
}

/// The server settings of a `[models.NAME]` table, checked.
fn server_options(
    context_window: Option<i64>,
    field: Option<String>,
    tool_choice_required: Option<bool>,
) -> Result<ServerOptions, String> {
    let context_window = match context_window {
        Some(n) if !(1..=i64::from(u32::MAX)).contains(&n) => {
            return Err(format!("`context_window` must be a positive number of tokens (got {n})"));
        }
        n => n.map(|n| n as u32),
    };
    let token_limit_field = match field.as_deref().map(str::trim) {
        None => None,
        Some(name) => Some(TokenLimitField::parse(name).ok_or_else(|| {
            format!("`max_tokens_field` must be max_tokens or max_completion_tokens (got `{name}`)")
        })?),
    };
    Ok(ServerOptions {
        token_limit_field,
        context_window,
        tool_choice_required: tool_choice_required.unwrap_or(true),
        ..ServerOptions::default()
    })
}

fn price(input: f64, output: f64) -> Result<Price, String> {
    if !(input.is_finite() && output.is_finite() && input >= 0.0 && output >= 0.0) {
        return Err("prices must be numbers of USD per million tokens, 0 or more".into());
    }
    Ok(Price { input, output })
}

/// Where the config is: `AGAR_CONFIG` (which must exist), else
/// `cwd/agar.toml`, else `config_dir/agar/agar.toml`; `None` when none exists.
pub fn find_config(
    env: &Env,
    cwd: &Path,
    config_dir: Option<&Path>,
) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(explicit) = env.get(CONFIG_VAR) {
        let path = PathBuf::from(explicit);
        if !path.is_file() {
            return Err(ConfigError::Read {
                path,
                message: format!("no such file (named by {CONFIG_VAR})"),
            });
        }
        return Ok(Some(path));
    }
    let local = cwd.join(CONFIG_FILE);
    if local.is_file() {
        return Ok(Some(local));
    }
    Ok(config_dir.map(|d| d.join("agar").join(CONFIG_FILE)).filter(|p| p.is_file()))
}

/// Resolves a model reference: a `[models.NAME]` entry of `config` first
/// (named NAME, with its endpoint, key variable, concurrency and rate), else
/// a plain reference through [`resolve`].
pub fn resolve_with(
    reference: &str,
    env: &Env,
    settings: &ResolveSettings,
    config: &Config,
) -> Result<Arc<dyn ChatModel>, ResolveError> {
    let name = reference.trim();
    let Some(entry) = config.models.get(name) else {
        return resolve(name, env, settings);
    };
    let mut settings = settings.clone();
    if let Some(n) = entry.max_concurrency {
        settings.max_concurrency = n;
    }
    let provider = crate::providers::find(&entry.provider)
        .ok_or_else(|| ResolveError::UnknownProvider { reference: entry.reference() })?;
    let build = Build {
        provider,
        reference: name,
        model: &entry.model,
        entry: Some(entry),
        env,
        settings: &settings,
    };
    let inner = match (provider.build)(&build)? {
        // Wrapped with settings of its own (a local model): known by the
        // entry's name, its meter kept under its reference.
        Built::Wrapped(model) => {
            return Ok(Arc::new(Renamed { name: name.to_string(), inner: model }));
        }
        Built::Bare(inner) if inner.name() == name => inner,
        Built::Bare(inner) => Arc::new(Renamed { name: name.to_string(), inner }),
    };
    let provider: Arc<dyn ChatModel> = match entry.requests_per_minute {
        Some(rpm) => Arc::new(Paced::new(inner, rpm)),
        None => inner,
    };
    Ok(settings.wrap(provider))
}

/// A model under another name: a `[models.NAME]` entry is known as NAME in
/// transcripts, meters and prices.
#[derive(Debug)]
struct Renamed {
    name: String,
    inner: Arc<dyn ChatModel>,
}

#[async_trait::async_trait]
impl ChatModel for Renamed {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.inner.chat(request).await
    }
}

/// Spaces calls so that no more than `requests_per_minute` start in any
/// minute: each call waits for its slot, `60 s / rpm` after the previous one's.
#[derive(Debug)]
pub struct Paced {
    inner: Arc<dyn ChatModel>,
    interval: Duration,
    /// When the next call may start. Held only to reserve a slot (no call
    /// runs under it); the wait happens after it is released.
    next: AsyncMutex<Option<Instant>>,
}

impl Paced {
    pub fn new(inner: Arc<dyn ChatModel>, requests_per_minute: u32) -> Self {
        let interval = Duration::from_secs(60) / requests_per_minute.max(1);
        Self { inner, interval, next: AsyncMutex::new(None) }
    }
}

#[async_trait::async_trait]
impl ChatModel for Paced {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let start = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let start = next.map_or(now, |n| n.max(now));
            *next = Some(start + self.interval);
            start
        };
        tokio::time::sleep_until(start).await;
        self.inner.chat(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[models.fast]
provider = "openai"
model = "gpt-4.1-mini"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "GATEWAY_KEY"
max_concurrency = 2
requests_per_minute = 600
input_price = 0.4
output_price = 1.6

[prices."openai/gpt-4.1"]
input_price = 2.0
output_price = 8.0

[models.big]
provider = "openai"
model = "gpt-4.1"
"#;

    #[test]
    fn parses_models_and_prices() {
        let c = Config::parse(SAMPLE, Path::new("agar.toml")).unwrap();
        let fast = &c.models["fast"];
        assert_eq!(fast.reference(), "openai/gpt-4.1-mini");
        assert_eq!(fast.line, 2);
        assert_eq!(fast.max_concurrency, Some(2));
        assert_eq!(fast.key_variable().as_deref(), Some("GATEWAY_KEY"));
        assert_eq!(c.price("fast"), Some(Price { input: 0.4, output: 1.6 }));
        assert_eq!(c.price("openai/gpt-4.1"), Some(Price { input: 2.0, output: 8.0 }));
        assert_eq!(c.price("big"), c.price("openai/gpt-4.1"), "a name falls back to its reference");
        assert_eq!(c.price("openai/other"), None);
    }

    #[test]
    fn a_prompts_dir_is_resolved_against_the_file() {
        let c = Config::parse("[prompts]\ndir = \"my_prompts\"\n", Path::new("conf/agar.toml"))
            .unwrap();
        assert_eq!(c.prompts_dir, Some(Path::new("conf/my_prompts").to_path_buf()));
        let e = Config::parse("[prompts]\nfolder = 1\n", Path::new("agar.toml")).unwrap_err();
        assert!(e.to_string().starts_with("agar.toml:2:"), "{e}");
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let bad = "[models.x]\nprovider = \"openai\"\nmodel = \"m\"\ncolour = 3\n";
        let e = Config::parse(bad, Path::new("conf/agar.toml")).unwrap_err().to_string();
        assert!(e.starts_with("conf/agar.toml:4:"), "{e}");
        assert!(e.contains("colour"), "{e}");
        let bad = "[models.x]\nprovider = \"openai\"\nmodel = 3\n";
        let e = Config::parse(bad, Path::new("agar.toml")).unwrap_err().to_string();
        assert!(e.starts_with("agar.toml:3:"), "{e}");
        let bad = "\n\n[models.x]\nprovider = \"gemini\"\nmodel = \"m\"\n";
        let e = Config::parse(bad, Path::new("agar.toml")).unwrap_err().to_string();
        assert!(e.starts_with("agar.toml:3:") && e.contains("unknown provider `gemini`"), "{e}");
        let bad = "[models.x]\nprovider = \"openai\"\nmodel = \"m\"\ninput_price = -1\n";
        let e = Config::parse(bad, Path::new("agar.toml")).unwrap_err().to_string();
        assert!(e.contains("0 or more"), "{e}");
        let e = Config::parse("[models\n", Path::new("agar.toml")).unwrap_err().to_string();
        assert!(e.starts_with("agar.toml:1:"), "{e}");
    }

    #[test]
    fn the_current_directory_wins_over_the_config_dir() {
        let cwd = tempfile_dir("cwd");
        let conf = tempfile_dir("conf");
        std::fs::create_dir_all(conf.join("agar")).unwrap();
        std::fs::write(conf.join("agar/agar.toml"), "").unwrap();
        let found = find_config(&Env::empty(), &cwd, Some(&conf)).unwrap();
        assert_eq!(found, Some(conf.join("agar/agar.toml")));
        std::fs::write(cwd.join("agar.toml"), "").unwrap();
        assert_eq!(
            find_config(&Env::empty(), &cwd, Some(&conf)).unwrap(),
            Some(cwd.join("agar.toml"))
        );
        let env = Env::empty().with(CONFIG_VAR, "/no/such/agar.toml");
        assert!(find_config(&env, &cwd, None).unwrap_err().to_string().contains(CONFIG_VAR));
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "agar-config-test-{}-{name}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_named_entry_resolves_under_its_name_and_needs_its_key_variable() {
        let c = Config::parse(SAMPLE, Path::new("agar.toml")).unwrap();
        let settings = ResolveSettings::default();
        let e = resolve_with("fast", &Env::empty(), &settings, &c).unwrap_err();
        assert!(e.to_string().contains("GATEWAY_KEY"), "{e}");
        let env = Env::empty().with("GATEWAY_KEY", "k");
        let m = resolve_with("fast", &env, &settings, &c).unwrap();
        assert_eq!(m.name(), "fast");
        assert!(settings.shared.meter("fast").is_some());
        let plain = resolve_with(
            "openai/x",
            &env.clone().with(crate::openai::BASE_URL_VAR, "http://127.0.0.1:9/v1"),
            &settings,
            &c,
        )
        .unwrap();
        assert_eq!(plain.name(), "openai/x");
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_spaces_calls_by_the_rate() {
        #[derive(Debug)]
        struct Echo;
        #[async_trait::async_trait]
        impl ChatModel for Echo {
            fn name(&self) -> &str {
                "echo"
            }
            async fn chat(&self, _: &ChatRequest) -> Result<ChatResponse, ModelError> {
                Ok(ChatResponse::default())
            }
        }
        let paced = Arc::new(Paced::new(Arc::new(Echo), 120));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let p = paced.clone();
            tasks.push(tokio::spawn(async move {
                p.chat(&ChatRequest::default()).await.unwrap();
                Instant::now()
            }));
        }
        let mut ends = Vec::new();
        for t in tasks {
            ends.push(t.await.unwrap() - t0);
        }
        ends.sort();
        assert_eq!(ends, [0, 500, 1000, 1500].map(Duration::from_millis));
    }
}
