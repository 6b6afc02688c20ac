//! The provider table: every provider agar knows, one [`Provider`] entry
//! each, in [`PROVIDERS`]. Resolving a reference (`openai/MODEL`), checking
//! `provider = "..."` in `agar.toml`, the key variable of an entry, the
//! variables that mean "a provider is configured", what `agar models`
//! lists and probes, the capabilities a provider reports and the requests
//! it refuses: all read this table, never a provider's name.
//!
//! Adding a provider is one entry here plus its module (which builds the
//! model from a [`Build`]).

use std::sync::Arc;

use agar_core::{ChatModel, ChatRequest, ModelError};

use crate::config::ModelEntry;
use crate::env::Env;
use crate::http_app::HttpAppConfig;
use crate::resolve::{ResolveError, ResolveSettings};
use crate::secret::ApiKey;

/// Every provider, in the order `agar models` and messages list them.
pub static PROVIDERS: &[&Provider] = &[
    &crate::openai::PROVIDER,
    &crate::anthropic::PROVIDER,
    &crate::local::PROVIDER,
    &crate::http_app::PROVIDER,
];

/// One provider: its name, configuration and capabilities, and how to build one of its models.
#[derive(Debug)]
pub struct Provider {
    /// The prefix of its references (`openai` in `openai/MODEL`) and its
    /// `provider = "..."` in `agar.toml`.
    pub name: &'static str,
    /// What it reaches, for `agar models` ("any OpenAI-compatible server").
    pub summary: &'static str,
    /// Whether `NAME/MODEL` resolves on its own; `false` for a provider
    /// configured only as a `[models.NAME]` entry (an HTTP application).
    pub plain_reference: bool,
    /// The variable naming its API root.
    pub base_url_var: Option<&'static str>,
    /// The API root when neither the entry nor the variable names one.
    pub default_base_url: Option<&'static str>,
    /// How the default root is shown ("the OpenAI API").
    pub default_shown: &'static str,
    /// The variable holding its key (an entry's `api_key_env` names another).
    pub api_key_var: Option<&'static str>,
    /// Other variables it reads, for documentation and `agar models`.
    pub other_vars: &'static [&'static str],
    /// What its models can do.
    pub features: Features,
    /// Keys of a `[models.NAME]` table only this provider reads, taken out
    /// of the table before the common keys are read; `None` when it reads
    /// only the common ones.
    pub own_keys: Option<OwnKeys>,
    /// Builds one of its models.
    pub build: fn(&Build<'_>) -> Result<Built, ResolveError>,
}

/// Takes a provider's own keys out of a `[models.NAME]` table.
pub type OwnKeys = fn(&mut toml::Table) -> Result<HttpAppConfig, String>;

/// What a provider's models can do. Requests asking for what they cannot
/// are refused before anything is sent ([`Features::refuse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    /// Continue an assistant turn from given text ([`ChatRequest::prefill`]).
    pub prefill: bool,
    /// Take tools ([`ChatRequest::tools`]).
    pub tools: bool,
    /// Think or reason with a budget or effort ([`agar_core::Sampling::reasoning`]).
    pub thinking: bool,
    /// Return next-token log-probabilities ([`ChatRequest::logprobs`]).
    pub logprobs: bool,
    /// Honour [`ChatRequest::grounding`] (citations bound to the transcript
    /// by constrained decoding); the others are asked in the prompt only.
    pub grounding: bool,
    /// Run in this process (no key, one call at a time, a demonstration-grade model).
    pub in_process: bool,
    /// Answer `GET /models` (probed by `agar models --check`).
    pub probe: bool,
}

impl Features {
    /// No feature: a provider that takes plain conversations only.
    pub const NONE: Features = Features {
        prefill: false,
        tools: false,
        thinking: false,
        logprobs: false,
        grounding: false,
        in_process: false,
        probe: false,
    };

    /// The capabilities a model of these features reports (`stateful` is
    /// per model: an HTTP application says).
    pub fn capabilities(&self, stateful: bool) -> agar_core::Capabilities {
        agar_core::Capabilities { prefill: self.prefill, stateful }
    }

    /// The refusal of a request asking for a feature `who` lacks, made
    /// before any request is sent.
    pub fn refuse(&self, who: &str, request: &ChatRequest) -> Result<(), ModelError> {
        let lacks = |what: &str| Err(ModelError::Unsupported(format!("the {who} {what}")));
        if !self.tools && !request.tools.is_empty() {
            return lacks("cannot be offered tools (an application brings its own)");
        }
        if !self.prefill && request.prefill.is_some() {
            return lacks("does not support prefill");
        }
        if !self.logprobs && request.logprobs.is_some() {
            return lacks("does not return log-probabilities (sample answers instead)");
        }
        Ok(())
    }

    /// The features that are on, by name, for listings.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.tools, "tools"),
            (self.prefill, "prefill"),
            (self.thinking, "thinking"),
            (self.logprobs, "logprobs"),
            (self.grounding, "grounding"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// What a provider's `build` is given.
#[derive(Debug)]
pub struct Build<'a> {
    pub provider: &'static Provider,
    /// The full reference (`openai/gpt-4.1`) or the `[models.NAME]` name.
    pub reference: &'a str,
    /// The model named after the prefix, or an entry's `model`.
    pub model: &'a str,
    /// The `[models.NAME]` entry, when the model is one.
    pub entry: Option<&'a ModelEntry>,
    pub env: &'a Env,
    pub settings: &'a ResolveSettings,
}

impl Provider {
    /// The API root: `configured` (an entry's `base_url`), else the
    /// provider's variable, else its default (empty when it has none).
    pub fn base_url(&self, configured: Option<&str>, env: &Env) -> String {
        let var = self.base_url_var.and_then(|v| env.get(v));
        configured.or(var).or(self.default_base_url).unwrap_or_default().to_owned()
    }

    /// Where its requests go when no entry says, fit to show: in-process,
    /// the variable's URL (credentials masked), or the default.
    pub fn shown_endpoint(&self, env: &Env) -> String {
        if self.features.in_process {
            return "in-process".into();
        }
        match self.base_url_var.map(|v| (v, env.get(v))) {
            Some((var, Some(url))) => format!("{} ({var})", crate::secret::redact_url(url)),
            Some((var, None)) => format!("{} ({var} unset)", self.default_shown),
            None => self.default_shown.to_owned(),
        }
    }
}

impl Build<'_> {
    /// The API root: the entry's `base_url`, else the provider's variable,
    /// else its default (empty when it has none).
    pub fn base_url(&self) -> String {
        self.provider.base_url(self.entry.and_then(|e| e.base_url.as_deref()), self.env)
    }

    /// The key: from the entry's `api_key_env` (which must be set), else
    /// from the provider's variable when set.
    pub fn api_key(&self) -> Result<Option<ApiKey>, ResolveError> {
        match self.entry.and_then(|e| e.api_key_env.as_ref()) {
            Some(var) => match self.env.get(var) {
                Some(key) => Ok(Some(ApiKey::new(key))),
                None => Err(ResolveError::MissingKeyVariable {
                    variable: var.clone(),
                    reference: self.reference.to_owned(),
                }),
            },
            None => Ok(self.provider.api_key_var.and_then(|v| self.env.get(v)).map(ApiKey::new)),
        }
    }
}

/// A built model: bare (the caller adds the middleware, pacing and the
/// entry's name) or already wrapped with settings of its own (a local model).
#[derive(Debug)]
pub enum Built {
    Bare(Arc<dyn ChatModel>),
    Wrapped(Arc<dyn ChatModel>),
}

/// The provider called `name`.
pub fn find(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().copied().find(|p| p.name == name.trim())
}

/// The names of every provider, as a message lists them: `a, b, c or d`.
pub fn names_listed(plain_only: bool, suffix: &str) -> String {
    let names: Vec<String> = PROVIDERS
        .iter()
        .filter(|p| p.plain_reference || !plain_only)
        .map(|p| format!("{}{suffix}", p.name))
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// The variables any provider reads its root or key from: setting one of
/// them means a provider is configured.
pub fn variables() -> impl Iterator<Item = &'static str> {
    PROVIDERS.iter().flat_map(|p| p.base_url_var.into_iter().chain(p.api_key_var))
}

/// Whether `model` (a reference, or a name `config` defines) runs in this
/// process: `local:PATH`, or a provider whose models do.
pub fn runs_in_process(model: &str, config: &crate::Config) -> bool {
    let model = model.trim();
    let provider = match config.models.get(model) {
        Some(entry) => find(&entry.provider),
        None if model.starts_with(crate::local::PATH_PREFIX) => return true,
        None => model.split_once('/').and_then(|(prefix, _)| find(prefix)),
    };
    provider.is_some_and(|p| p.features.in_process)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_listed() {
        let mut names: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PROVIDERS.len());
        let plain = names_listed(true, "/");
        for p in PROVIDERS {
            assert_eq!(plain.contains(&format!("{}/", p.name)), p.plain_reference, "{plain}");
            assert!(names_listed(false, "").contains(p.name));
        }
        assert_eq!(plain.matches(" or ").count(), 1, "{plain}");
        assert!(variables().any(|v| v == "OPENAI_API_KEY"));
    }

    #[test]
    fn refusals_follow_the_features() {
        let none = Features::NONE;
        let ask = |f: fn(&mut ChatRequest)| {
            let mut r = ChatRequest::default();
            f(&mut r);
            none.refuse("x provider", &r).expect_err("refused").to_string()
        };
        assert_eq!(
            ask(|r| r.prefill = Some("Hi".into())),
            "the x provider does not support prefill"
        );
        assert!(ask(|r| r.logprobs = Some(Default::default())).contains("log-probabilities"));
        let all = Features { prefill: true, tools: true, logprobs: true, ..Features::default() };
        let mut r = ChatRequest { prefill: Some("Hi".into()), ..ChatRequest::default() };
        r.logprobs = Some(Default::default());
        assert!(all.refuse("x", &r).is_ok());
    }

    #[test]
    fn in_process_models_are_recognised() {
        let config = crate::Config::default();
        assert!(runs_in_process("local/smollm2", &config));
        assert!(runs_in_process("local:/m.gguf", &config));
        assert!(!runs_in_process("openai/local-llama", &config));
        assert!(!runs_in_process("localhost/x", &config));
    }
}
