//! The no-configuration default: with no key, no endpoint and no role set
//! to a remote model, every role falls back to the embedded `local/smollm2`,
//! and agar says once that it is a demonstration model.

use agar_models::Env;

/// The model every unset role uses when nothing is configured.
pub(crate) const DEFAULT_LOCAL_MODEL: &str = "local/smollm2";

/// The warning printed (once) when roles fall back to the local model.
pub(crate) const DEMO_WARNING: &str = "no models configured: every unset role uses local/smollm2, a 135M model that only demonstrates the pipeline (its scores mean nothing); for real audits point the roles at capable models with --target/--auditor/--judge or AGAR_TARGET/AGAR_AUDITOR/AGAR_JUDGE, e.g. openai/gpt-4.1 with OPENAI_API_KEY set";

/// The reference unset roles fall back to, given the roles that are set
/// (flags or `AGAR_*` variables, as clap read them): `local/smollm2` when no
/// provider variable is set and every set role is itself local.
pub(crate) fn fallback(set_roles: &[&Option<String>], env: &Env) -> Option<&'static str> {
    // A provider's root or key variable set means the user configured one.
    if agar_models::providers::variables().any(|v| env.get(v).is_some()) {
        return None;
    }
    let all_local = set_roles
        .iter()
        .filter_map(|r| r.as_deref().map(str::trim).filter(|s| !s.is_empty()))
        .all(agar_core::is_demonstration_model);
    all_local.then_some(DEFAULT_LOCAL_MODEL)
}

/// Says once, on stderr, that a role fell back to the demonstration model.
pub(crate) fn warn_fallback() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| tracing::warn!("{DEMO_WARNING}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_configured_means_local_and_any_provider_setting_means_none() {
        let none: Option<String> = None;
        assert_eq!(fallback(&[&none, &none], &Env::empty()), Some("local/smollm2"));
        let local = Some("local:/m.gguf".to_string());
        assert_eq!(fallback(&[&local, &none], &Env::empty()), Some("local/smollm2"));
        let remote = Some("openai/gpt-4.1".to_string());
        assert_eq!(fallback(&[&remote, &none], &Env::empty()), None);
        let keyed = Env::empty().with("OPENAI_API_KEY", "sk-x");
        assert_eq!(fallback(&[&none], &keyed), None);
        let blank = Env::empty().with("OPENAI_API_KEY", " ");
        assert_eq!(fallback(&[&none], &blank), Some("local/smollm2"));
    }
}
