//! Mirrors: a store whose files are also kept in an object store (an S3
//! bucket, see [`crate::location`]).
//!
//! The local directory stays the store agar reads and locks (the *staging*
//! directory); every write that matters to another machine is also put to
//! the mirror under the same relative key (`RUN/plan.json`, `RUN/AUDIT.json`):
//!
//! | file                          | put                                   |
//! |-------------------------------|---------------------------------------|
//! | `run.json`                    | create-only (the first shard's stays) |
//! | `plan.json`                   | create-only; a different plan is an error |
//! | a finished transcript         | create-only (the first writer's stays) |
//! | a verdict update (`agar judge`) | overwrite                           |
//! | labels, shard records         | overwrite                             |
//!
//! Unfinished transcripts are never put: one could replace another shard's
//! finished copy, and an unfinished audit is run again anyway. Reading a run
//! that the staging directory does not hold yet (`agar resume` on another
//! machine) first downloads it from the mirror.
//!
//! [`ObjectMirror`] runs object_store's async client on a runtime of its
//! own, so the store's synchronous methods can call it from anywhere,
//! inside an async task or not.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};

use crate::Store;
use crate::plan::RunPlan;
use crate::store::StoreError;

/// How a file is put to the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutKind {
    /// Replaces what the mirror holds.
    Overwrite,
    /// Only when the mirror holds nothing under the key (a conditional put).
    CreateOnly,
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    Written,
    /// A create-only put found an object there: its bytes, unchanged.
    AlreadyThere(Vec<u8>),
}

/// A place the store's files are also kept (see the module docs). Keys are
/// `/`-separated paths relative to the store's root.
pub trait Mirror: Send + Sync + fmt::Debug {
    /// Puts `bytes` under `key`.
    fn put(&self, key: &str, bytes: Vec<u8>, kind: PutKind) -> Result<Put, StoreError>;
    /// The bytes under `key`.
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    /// Every key under `prefix` (`""`: all), relative to the store's root.
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Where the mirror is, for messages (`s3://bucket/prefix`).
    fn describe(&self) -> String;
}

/// A [`Mirror`] over any object_store backend (S3; in memory for tests).
pub struct ObjectMirror {
    store: Arc<dyn ObjectStore>,
    /// The key prefix of the store's root inside the backend (may be empty).
    prefix: String,
    description: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for ObjectMirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectMirror").field("at", &self.description).finish()
    }
}

impl Drop for ObjectMirror {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside an async context.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn mirror_err(what: impl fmt::Display) -> StoreError {
    StoreError::Mirror(what.to_string())
}

impl ObjectMirror {
    /// A mirror of the store's root at `prefix` inside `store`.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        description: impl Into<String>,
    ) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("agar-store-mirror")
            .enable_all()
            .build()
            .map_err(mirror_err)?;
        Ok(Self {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            description: description.into(),
            runtime: Some(runtime),
        })
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Runs `fut` on the mirror's runtime and waits for it; callable from
    /// inside another runtime's task as from plain code.
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let rt = self.runtime.as_ref().ok_or_else(|| mirror_err("the mirror is shut down"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().map_err(|_| mirror_err("the mirror's request was dropped"))
    }

    fn get_bytes(&self, path: ObjectPath) -> Result<Vec<u8>, StoreError> {
        let store = self.store.clone();
        let at = format!("{}: getting {path}", self.description);
        self.block(async move {
            let got = store.get(&path).await?;
            got.bytes().await.map(|b| b.to_vec())
        })?
        .map_err(|e| mirror_err(format!("{at}: {e}")))
    }
}

impl Mirror for ObjectMirror {
    fn put(&self, key: &str, bytes: Vec<u8>, kind: PutKind) -> Result<Put, StoreError> {
        let path = self.path(key);
        let store = self.store.clone();
        let mode = match kind {
            PutKind::Overwrite => PutMode::Overwrite,
            PutKind::CreateOnly => PutMode::Create,
        };
        let target = path.clone();
        let put = self.block(async move {
            store.put_opts(&target, bytes.into(), PutOptions::from(mode)).await
        })?;
        match put {
            Ok(_) => Ok(Put::Written),
            Err(object_store::Error::AlreadyExists { .. }) => {
                Ok(Put::AlreadyThere(self.get_bytes(path)?))
            }
            Err(e) => Err(mirror_err(format!("putting {}/{key}: {e}", self.description))),
        }
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.get_bytes(self.path(key))
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let store = self.store.clone();
        let under = (!prefix.is_empty() || !self.prefix.is_empty())
            .then(|| self.path(prefix.trim_matches('/')));
        let listed = self.block(async move {
            store
                .list(under.as_ref())
                .map_ok(|m| m.location.to_string())
                .try_collect::<Vec<_>>()
                .await
        })?;
        let keys = listed.map_err(|e| mirror_err(format!("listing {}: {e}", self.description)))?;
        let strip =
            if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        let mut out: Vec<String> =
            keys.into_iter().filter_map(|k| k.strip_prefix(&strip).map(str::to_string)).collect();
        out.sort();
        Ok(out)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// Whether every part of a mirror key is a name the store could have
/// written (no `..`, nothing hidden but the store's own files are skipped).
fn safe_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

impl Store {
    /// Puts the file at `path` (inside this store) to the mirror, if the
    /// store has one. A create-only put that finds an object returns its bytes.
    pub(crate) fn mirror_file(&self, path: &Path, kind: PutKind) -> Result<Put, StoreError> {
        let Some(mirror) = self.mirror() else { return Ok(Put::Written) };
        let key = self.mirror_key(path)?;
        let bytes = crate::read::read_regular(path, crate::read::MAX_FILE_BYTES)
            .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
        mirror.put(&key, bytes, kind)
    }

    /// [`Store::mirror_file`] for a file whose first copy stays: an object
    /// already there is kept, with a warning when it differs.
    pub(crate) fn mirror_first_stays(&self, path: &Path) -> Result<(), StoreError> {
        if let Put::AlreadyThere(theirs) = self.mirror_file(path, PutKind::CreateOnly)? {
            let ours = crate::read::read_regular(path, crate::read::MAX_FILE_BYTES).ok();
            if ours.as_deref() != Some(theirs.as_slice()) {
                tracing::warn!(
                    "{}: the mirror already holds another copy (create-only); it keeps its own",
                    path.display()
                );
            }
        }
        Ok(())
    }

    /// Puts a new run's plan create-only: a plan already there (another
    /// shard's) must agree with this one (see [`crate::merge::plan_differences`]).
    pub(crate) fn mirror_plan(&self, path: &Path, plan: &RunPlan) -> Result<(), StoreError> {
        let Put::AlreadyThere(theirs) = self.mirror_file(path, PutKind::CreateOnly)? else {
            return Ok(());
        };
        let where_ = self.mirror().map(|m| m.describe()).unwrap_or_default();
        let theirs: RunPlan = serde_json::from_slice(&theirs).map_err(|e| {
            mirror_err(format!("{where_}/{}/plan.json: not a valid plan: {e}", plan.run_id))
        })?;
        let differences = crate::merge::plan_differences(&theirs, plan);
        if differences.is_empty() {
            return Ok(());
        }
        Err(mirror_err(format!(
            "{where_} already holds run {:?} with another plan ({}); use another --run name",
            plan.run_id,
            differences.join("; ")
        )))
    }

    fn mirror_key(&self, path: &Path) -> Result<String, StoreError> {
        let rel = path.strip_prefix(self.root()).map_err(|_| {
            mirror_err(format!("{} is outside the store {}", path.display(), self.root().display()))
        })?;
        let parts: Vec<String> =
            rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        Ok(parts.join("/"))
    }

    /// Downloads every file of run `run_id` the mirror holds into this
    /// store's directory, replacing local copies. Returns how many; 0 when
    /// the store has no mirror or the mirror no such run.
    pub fn pull_run(&self, run_id: &str) -> Result<usize, StoreError> {
        crate::check_id(run_id)?;
        self.pull(&format!("{run_id}/"))
    }

    /// Downloads every file the mirror holds (every run) into this store's
    /// directory. Returns how many.
    pub fn pull_all(&self) -> Result<usize, StoreError> {
        self.pull("")
    }

    fn pull(&self, prefix: &str) -> Result<usize, StoreError> {
        let Some(mirror) = self.mirror() else { return Ok(0) };
        let mut pulled = 0;
        for key in mirror.list(prefix)? {
            if !safe_key(&key) {
                tracing::warn!("{}/{key}: not a name agar writes; skipped", mirror.describe());
                continue;
            }
            let bytes = mirror.get(&key)?;
            let path = key.split('/').fold(self.root().to_path_buf(), |p, part| p.join(part));
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
            }
            let _lock = crate::lock::lock_file(&path)?;
            crate::atomic::write_atomic(&path, &bytes)
                .map_err(|source| StoreError::Io { path: path.clone(), source })?;
            pulled += 1;
        }
        Ok(pulled)
    }
}
