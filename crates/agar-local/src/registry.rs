//! [`LocalModels`]: the engines loaded in this process, one per GGUF file,
//! shared by every model reference (and role) that names the same file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::chat::LocalModel;
use crate::engine::Engine;
use crate::error::LocalError;
use crate::fetch::{self, Progress};
use crate::settings::LocalSettings;

/// Loaded engines by canonical file path. Clones share the same map.
#[derive(Debug, Clone, Default)]
pub struct LocalModels {
    engines: Arc<Mutex<HashMap<PathBuf, Arc<Engine>>>>,
}

impl LocalModels {
    pub fn new() -> Self {
        Self::default()
    }

    /// The engine for `path`, loading it on first use.
    pub fn engine(&self, path: &Path) -> Result<Arc<Engine>, LocalError> {
        let key = path
            .canonicalize()
            .map_err(|e| LocalError::Io { path: path.to_owned(), reason: e.to_string() })?;
        // Held while loading, so two resolves of one file load it once.
        let mut map = self.engines.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = map.get(&key) {
            return Ok(e.clone());
        }
        let engine = Engine::load(&key)?;
        map.insert(key, engine.clone());
        Ok(engine)
    }

    /// `local/NAME`: the embedded model `name`, downloaded on first use.
    pub fn open_named(
        &self,
        reference: &str,
        name: &str,
        settings: &LocalSettings,
    ) -> Result<LocalModel, LocalError> {
        let model = fetch::find(name)?;
        let path = if fetch::is_cached(model, settings) {
            fetch::cached_path(model, settings)?
        } else {
            tracing::info!("{} is not in the cache yet; fetching it once", model.name);
            fetch::pull(model, settings, Progress::Auto)?
        };
        LocalModel::new(reference, self.engine(&path)?, settings.clone())
    }

    /// A local model by reference: `local/NAME` or `local:/path/to/model.gguf`
    /// (anything after a `?` is left to the caller, e.g. `?steer=`).
    pub fn open_reference(
        &self,
        reference: &str,
        settings: &LocalSettings,
    ) -> Result<LocalModel, LocalError> {
        let base = reference.split_once('?').map_or(reference, |(b, _)| b).trim();
        if let Some(path) = base.strip_prefix("local:") {
            return self.open_path(reference, Path::new(path.trim()), settings);
        }
        match base.strip_prefix("local/") {
            Some(name) => self.open_named(reference, name.trim(), settings),
            None => Err(LocalError::InvalidSetting(format!(
                "`{reference}` is not a local model (local/NAME or local:/path/to/model.gguf): white-box commands need one"
            ))),
        }
    }

    /// `local:/path/to/model.gguf`: any supported GGUF on disk.
    pub fn open_path(
        &self,
        reference: &str,
        path: &Path,
        settings: &LocalSettings,
    ) -> Result<LocalModel, LocalError> {
        if !path.is_file() {
            return Err(LocalError::Io { path: path.to_owned(), reason: "no such file".into() });
        }
        LocalModel::new(reference, self.engine(path)?, settings.clone())
    }
}
