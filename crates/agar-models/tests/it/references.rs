//! Model references: what resolves, and the errors for what does not.

use std::sync::Arc;

use agar_models::{Env, ResolveError, ResolveSettings, resolve};

fn err(reference: &str, env: &Env) -> ResolveError {
    resolve(reference, env, &ResolveSettings::default()).expect_err(reference)
}

#[test]
fn unknown_providers_list_the_known_prefixes() {
    for reference in ["foo/bar", "gpt-4", ""] {
        let e = err(reference, &Env::empty());
        assert!(matches!(e, ResolveError::UnknownProvider { .. }), "{e}");
        let message = e.to_string();
        for prefix in ["openai/", "anthropic/", "local/"] {
            assert!(message.contains(prefix), "{message}");
        }
    }
}

#[test]
fn local_references_name_an_embedded_model_or_a_gguf_file() {
    assert_eq!(
        err("local/gpt5", &Env::empty()).to_string(),
        "local/gpt5: no local model named `gpt5`; the embedded models are: smollm2, qwen2.5-coder-1.5b"
    );
    assert_eq!(
        err("local:/no/such/model.gguf", &Env::empty()).to_string(),
        "local:/no/such/model.gguf: cannot read /no/such/model.gguf: no such file"
    );
    assert!(matches!(err("local:", &Env::empty()), ResolveError::MissingModel { .. }));
    let dir = std::env::temp_dir().join(format!("agar-not-a-gguf-{}", std::process::id()));
    std::fs::write(&dir, b"plain text").unwrap();
    let e = err(&format!("local:{}", dir.display()), &Env::empty()).to_string();
    std::fs::remove_file(&dir).unwrap();
    assert!(e.contains("is not a usable GGUF model"), "{e}");
    let bad = Env::empty().with("AGAR_LOCAL_THREADS", "0");
    assert_eq!(
        err("local/gpt5", &bad).to_string(),
        "local/gpt5: AGAR_LOCAL_THREADS must be a positive whole number, not `0`"
    );
}

#[test]
fn the_anthropic_api_needs_a_key_and_a_valid_thinking_budget() {
    let e = err("anthropic/claude-sonnet-4", &Env::empty());
    assert_eq!(
        e.to_string(),
        "ANTHROPIC_API_KEY is not set (needed for anthropic/claude-sonnet-4)"
    );
    let env = Env::empty()
        .with("ANTHROPIC_API_KEY", "sk-ant-test")
        .with("AGAR_ANTHROPIC_THINKING_BUDGET", "a lot");
    assert!(matches!(err("anthropic/claude-sonnet-4", &env), ResolveError::InvalidSetting { .. }));
    let proxy = Env::empty().with("ANTHROPIC_BASE_URL", "http://127.0.0.1:9");
    let m = resolve("anthropic/claude-sonnet-4", &proxy, &ResolveSettings::default())
        .expect("a proxy needs no key");
    assert!(m.capabilities().prefill);
}

#[test]
fn the_openai_api_needs_a_key() {
    let e = err("openai/gpt-4o", &Env::empty());
    assert_eq!(e.to_string(), "OPENAI_API_KEY is not set (needed for openai/gpt-4o)");
    let blank = Env::empty().with("OPENAI_API_KEY", " \n");
    assert!(matches!(err("openai/gpt-4o", &blank), ResolveError::MissingKey { .. }));
}

#[test]
fn a_reference_needs_a_model_name() {
    assert!(matches!(err("openai/", &Env::empty()), ResolveError::MissingModel { .. }));
}

#[test]
fn messages_are_one_lower_case_line_without_a_final_period() {
    let env = Env::empty().with("OPENAI_BASE_URL", "ftp://nowhere");
    for e in [err("x/y", &env), err("local/m", &env), err("openai/m", &env), err("openai/", &env)] {
        let m = e.to_string();
        assert!(!m.contains('\n') && !m.ends_with('.'), "{m}");
        assert!(!m.starts_with(|c: char| c.is_uppercase()), "{m}");
    }
}

#[test]
fn the_same_reference_shares_its_meter() {
    let env = Env::empty().with("OPENAI_API_KEY", "sk-test-0123456789abcdef");
    let settings = ResolveSettings::default();
    resolve(" openai/gpt-4o ", &env, &settings).expect("resolves");
    resolve("openai/gpt-4o", &env, &settings).expect("resolves");
    resolve("openai/openrouter/model", &env, &settings).expect("slashes in model names");

    let a = settings.shared.meter("openai/gpt-4o").expect("metered");
    let b = settings.clone().shared.meter("openai/gpt-4o").expect("clones share");
    assert!(Arc::ptr_eq(&a, &b));
    let names: Vec<String> = settings.shared.snapshots().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["openai/gpt-4o", "openai/openrouter/model"]);
}
