//! The shared engine: SmolLM2 pulled into the cache once, loaded once per test binary.

use std::sync::{Arc, OnceLock};

use agar_local::fetch::{self, Progress};
use agar_local::{Engine, LocalSettings};

/// The SmolLM2 engine, pulled into the cache if it is not there yet. These
/// tests are ignored by `cargo test` and run on purpose by `.ci/run` (which
/// pulls the model first), so a model that cannot be had is a failure.
pub(crate) fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let path = fetch::pull(&fetch::SMOLLM2, &settings(), Progress::Quiet)
                .unwrap_or_else(|e| panic!("cannot fetch SmolLM2 (agar models pull smollm2): {e}"));
            Engine::load(&path).unwrap()
        })
        .clone()
}

pub(crate) fn settings() -> LocalSettings {
    LocalSettings::from_vars(|k| std::env::var(k).ok()).unwrap()
}
