//! Demonstration runs: a role on a small local model (`local/NAME`,
//! `local:PATH`, or an `agar.toml` entry of provider `local`). Such a run
//! shows the pipeline and nothing more, so agar says so everywhere
//! ([`agar_core::DEMONSTRATION_BANNER`]) and keeps it short: unless the
//! command line says otherwise, at most [`LOCAL_TURNS`] auditor turns, and
//! scenarios that name no dimensions are judged on [`LOCAL_DIMENSION`]
//! alone (a small judge's answer grows with every dimension).

use std::collections::BTreeMap;

use agar_core::{Dimension, RoleName, is_demonstration_model};
use agar_models::config::Config;

/// Auditor turns of a demonstration audit when `--max-turns` is not given
/// (a guided auditor: the target's system prompt, then two messages).
pub(crate) const LOCAL_TURNS: u32 = 3;

/// The dimension a demonstration judges when neither `--dimensions` nor
/// the scenario chooses.
pub(crate) const LOCAL_DIMENSION: &str = "concerning";

/// Whether any role of `models` (resolved names) runs on a local model.
pub(crate) fn is_demonstration(models: &BTreeMap<RoleName, String>, config: &Config) -> bool {
    models.values().any(|m| is_local_model(m, config))
}

/// Whether `model` (a reference or a resolved name) runs on the embedded
/// engine: `local/NAME`, `local:PATH`, or an `agar.toml` entry of provider `local`.
pub(crate) fn is_local_model(model: &str, config: &Config) -> bool {
    is_demonstration_model(model) || agar_models::providers::runs_in_process(model, config)
}

/// The run's default dimensions for a demonstration.
pub(crate) fn default_dimensions() -> Vec<Dimension> {
    agar_judge::library().iter().filter(|d| d.name == LOCAL_DIMENSION).cloned().collect()
}
