//! `agar models`: the model references that resolve here, and where each
//! one's key comes from (the variable's name and whether it is set, never
//! its value), with their real status: a key that is needed and missing
//! says so, and `--check` asks each OpenAI-compatible server whether it
//! answers (and its context window, where it says).

use agar_models::{Config, Env, ResolveSettings, resolve_with};
use clap::{Args, Subcommand};
use serde::Serialize;

#[derive(Debug, Args)]
pub(crate) struct ModelsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<ModelsCommand>,
    /// Print the list as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,
    /// Also ask each OpenAI-compatible endpoint whether it answers (GET
    /// /models), and its context window where it says
    #[arg(long)]
    pub(crate) check: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelsCommand {
    /// List the models that resolve (the default)
    List,
    /// Download an embedded model (smollm2 or qwen2.5-coder-1.5b) into the cache now
    Pull(crate::pull::PullArgs),
}

/// One line of the listing.
#[derive(Debug, Serialize)]
struct Listed {
    /// A reference or a pattern such as `openai/MODEL`.
    reference: String,
    /// What it is: provider and model, or a note.
    resolves_to: String,
    /// Where requests go.
    endpoint: String,
    /// The variable holding the key, with `(set)` or `(not set)`; `-` for none.
    key: String,
    /// USD per million input / output tokens, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<String>,
    /// `ok`, or why it does not resolve.
    status: String,
    /// Where it is defined: the agar.toml path, `built in`, or a role variable.
    source: String,
    /// With `--check`: whether the endpoint answered, and what it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    reachable: Option<String>,
    /// What the provider's models can do (tools, prefill, thinking, logprobs, grounding).
    #[serde(skip_serializing_if = "Option::is_none")]
    features: Option<String>,
}

pub(crate) async fn run(args: &ModelsArgs) -> crate::Outcome {
    match args.command {
        None | Some(ModelsCommand::List) => list(args.json, args.check).await,
        Some(ModelsCommand::Pull(ref pull)) => crate::pull::run(pull),
    }
}

async fn list(json: bool, check: bool) -> crate::Outcome {
    let env = Env::from_process();
    let config = Config::load_default(&env)?;
    let mut rows = configured(&env, &config, check).await;
    let settings = ResolveSettings::default();
    for provider in agar_models::PROVIDERS.iter().filter(|p| p.plain_reference) {
        if !provider.features.in_process {
            rows.push(built_in(provider, &env, &settings, check).await);
        }
    }
    rows.extend(local_rows(&env)?);
    rows.extend(role_defaults(&env, &config));
    let priced = priced_only(&config, &rows);
    rows.extend(priced);
    if json { print_json(&config, &rows) } else { print_text(&config, &rows) }
}

/// `VAR (set)` or `VAR (not set)`: the variable's name, never its value.
fn key_state(env: &Env, var: &str) -> String {
    format!("{var} ({})", if env.get(var).is_some() { "set" } else { "not set" })
}

/// USD per million input / output tokens, when agar.toml prices `reference`.
fn price(config: &Config, reference: &str) -> Option<String> {
    config.price(reference).map(|p| format!("${} / ${}", p.input, p.output))
}

/// The agar.toml path, or `-` without one.
fn config_source(config: &Config) -> String {
    config.path.as_ref().map_or("-".to_string(), |p| p.display().to_string())
}

/// The models agar.toml defines, each checked as it resolves (and, with
/// `check`, asked whether it answers).
async fn configured(env: &Env, config: &Config, check: bool) -> Vec<Listed> {
    let settings = ResolveSettings::default();
    let source = config_source(config);
    let mut rows = Vec::new();
    for (name, entry) in &config.models {
        let status = match resolve_with(name, env, &settings, config) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        let provider = agar_models::providers::find(&entry.provider);
        let reachable = match provider.filter(|p| check && p.features.probe) {
            Some(provider) => {
                let base = provider.base_url(entry.base_url.as_deref(), env);
                let var = entry.key_variable().unwrap_or_default();
                let key = env.get(&var).map(agar_models::ApiKey::new);
                Some(reachability(&base, key.as_ref(), Some(&entry.model)).await)
            }
            None => None,
        };
        rows.push(Listed {
            reference: name.clone(),
            resolves_to: entry.shown_reference(),
            endpoint: entry.shown_endpoint(env),
            features: provider.map(|p| p.features.names().join(", ")),
            key: entry.key_variable().map_or("-".into(), |v| key_state(env, &v)),
            price: price(config, name),
            status,
            source: format!("{source}:{}", entry.line),
            reachable,
        });
    }
    rows
}

/// The embedded models, each cached or not, and `local:/path/to/model.gguf`.
fn local_rows(env: &Env) -> Result<Vec<Listed>, crate::exit::Failure> {
    let local = agar_models::local::local_settings(env)?;
    let mut rows = Vec::new();
    for m in agar_local::fetch::EMBEDDED {
        let status = match agar_local::fetch::cached_path(m, &local) {
            Ok(p) if agar_local::fetch::is_cached(m, &local) => {
                format!("ok, cached at {}", p.display())
            }
            Ok(_) => format!("fetched on first use (or now: agar models pull {})", m.name),
            Err(e) => e.to_string(),
        };
        rows.push(Listed {
            reference: format!("local/{}", m.name),
            resolves_to: m.description.into(),
            endpoint: "in-process".into(),
            key: "- (no key needed)".into(),
            price: None,
            status,
            source: "built in".into(),
            reachable: None,
            features: None,
        });
    }
    rows.push(Listed {
        reference: "local:/path/to/model.gguf".into(),
        resolves_to: "any llama- or qwen2-architecture GGUF on disk".into(),
        endpoint: "in-process".into(),
        key: "- (no key needed)".into(),
        price: None,
        status: "ok".into(),
        source: "built in".into(),
        reachable: None,
        features: None,
    });
    Ok(rows)
}

/// The role defaults set in the environment (`AGAR_TARGET`, ...), each checked as it resolves.
fn role_defaults(env: &Env, config: &Config) -> Vec<Listed> {
    let settings = ResolveSettings::default();
    let mut rows = Vec::new();
    for (var, role) in
        [("AGAR_TARGET", "target"), ("AGAR_AUDITOR", "auditor"), ("AGAR_JUDGE", "judge")]
    {
        if let Some(reference) = env.get(var) {
            let status = match resolve_with(reference, env, &settings, config) {
                Ok(_) => "ok".to_string(),
                Err(e) => e.to_string(),
            };
            rows.push(Listed {
                reference: reference.to_string(),
                resolves_to: format!("the default {role}"),
                endpoint: "-".into(),
                key: "-".into(),
                price: price(config, reference),
                status,
                source: var.to_string(),
                reachable: None,
                features: None,
            });
        }
    }
    rows
}

/// The plain references agar.toml prices that no row lists yet.
fn priced_only(config: &Config, rows: &[Listed]) -> Vec<Listed> {
    let source = config_source(config);
    config
        .prices
        .keys()
        .filter(|reference| !rows.iter().any(|r| &r.reference == *reference))
        .map(|reference| Listed {
            reference: reference.clone(),
            resolves_to: "a plain reference with a price".into(),
            endpoint: "-".into(),
            key: "-".into(),
            price: price(config, reference),
            status: "ok".into(),
            source: source.clone(),
            reachable: None,
            features: None,
        })
        .collect()
}

/// The listing as JSON on stdout.
fn print_json(config: &Config, rows: &[Listed]) -> crate::Outcome {
    let out = serde_json::json!({
        "config": config.path.as_ref().map(|p| p.display().to_string()),
        "models": rows,
    });
    let text = serde_json::to_string_pretty(&out)?;
    println!("{text}");
    Ok(())
}

/// The listing for a reader, with terminal control characters taken out.
fn print_text(config: &Config, rows: &[Listed]) -> crate::Outcome {
    match &config.path {
        Some(p) => println!("config: {}", p.display()),
        None => println!(
            "config: none (looked for $AGAR_CONFIG, ./agar.toml, then agar/agar.toml in the user config directory)"
        ),
    }
    for r in rows {
        println!("{}  ->  {}", r.reference, r.resolves_to);
        println!("    endpoint: {}", crate::term::clean(&r.endpoint));
        println!("    key: {}", r.key);
        if let Some(p) = &r.price {
            println!("    price per million tokens (input / output): {p}");
        }
        println!("    status: {}", crate::term::clean(&r.status));
        if let Some(reachable) = &r.reachable {
            println!("    reachable: {}", crate::term::clean(reachable));
        }
        if let Some(features) = r.features.as_ref().filter(|f| !f.is_empty()) {
            println!("    features: {features}");
        }
        println!("    from: {}", r.source);
    }
    Ok(())
}

/// The row of a provider's plain references (`openai/MODEL`): its endpoint,
/// its key variable, and whether such a reference resolves here.
async fn built_in(
    provider: &agar_models::Provider,
    env: &Env,
    settings: &ResolveSettings,
    check: bool,
) -> Listed {
    let reference = format!("{}/MODEL", provider.name);
    let key_set = provider.api_key_var.and_then(|v| env.get(v)).is_some();
    let status = match agar_models::resolve(&reference, env, settings) {
        Ok(_) if !key_set && provider.api_key_var.is_some() => {
            "ok (no key is sent: fine for a local server)".to_string()
        }
        Ok(_) => "ok".to_string(),
        Err(e) => match provider.base_url_var {
            Some(var) => format!("{e}; set {var} for a server that needs no key"),
            None => e.to_string(),
        },
    };
    let reachable = if check && provider.features.probe {
        let key = provider.api_key_var.and_then(|v| env.get(v)).map(agar_models::ApiKey::new);
        Some(reachability(&provider.base_url(None, env), key.as_ref(), None).await)
    } else {
        None
    };
    Listed {
        reference,
        resolves_to: provider.summary.into(),
        endpoint: provider.shown_endpoint(env),
        key: provider.api_key_var.map_or("-".into(), |var| key_state(env, var)),
        price: None,
        status,
        source: "built in".into(),
        reachable,
        features: Some(provider.features.names().join(", ")),
    }
}

/// One line saying whether the OpenAI-compatible server at `base` answers,
/// with the models it lists and the context window where it says.
async fn reachability(
    base: &str,
    key: Option<&agar_models::ApiKey>,
    model: Option<&str>,
) -> String {
    match agar_models::probe_openai(base, key, model).await {
        Ok(info) => {
            let window = info
                .context_window
                .map_or(String::new(), |w| format!(", context window {w} tokens"));
            format!("yes ({} models listed{window})", info.models.len())
        }
        Err(e) => format!("no: {e}"),
    }
}
