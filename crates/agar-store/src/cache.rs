//! The response cache (`--cache`): model answers kept under
//! `STORE/.cache/responses/`, one small JSON file per answer, so that a
//! re-run or a resumed audit gets the same answers without paying for them.
//!
//! [`CachedModel`] wraps any [`ChatModel`] for one role of one audit. The key
//! of an answer is a sha256 over: the role, the model reference, the audit
//! id, the full request (every message of the branch's path, tools, tool
//! choice, sampling, prefill) and the request's **occurrence**: how many
//! identical requests this role of this audit made before it. Two sibling
//! branches that send the very same request (a rollback, then the same
//! message again) are the first and second occurrence, so they never share
//! an answer, while a re-run of the same audit replays them in order.
//!
//! Only successful answers are stored; errors always reach the caller and
//! are never cached. A cached answer reports zero usage: it cost nothing.
//! Files are written atomically, so several processes can share the cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use agar_core::{Capabilities, ChatModel, ChatRequest, ChatResponse, ModelError, Usage};
use sha2::{Digest, Sha256};

use crate::atomic::write_atomic;

/// Where a store keeps cached answers.
pub const CACHE_DIR: &str = ".cache/responses";

/// A directory of cached answers.
#[derive(Debug, Clone)]
pub struct ResponseCache {
    dir: PathBuf,
}

impl ResponseCache {
    /// The cache of the store at `store_root`.
    pub fn new(store_root: &Path) -> Self {
        Self { dir: store_root.join(CACHE_DIR) }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    /// The answer stored under `key`, if any (an unreadable entry counts as absent).
    pub fn get(&self, key: &str) -> Option<ChatResponse> {
        let bytes = crate::read::read_regular(&self.path(key), crate::read::MAX_FILE_BYTES).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores an answer under `key`.
    pub fn put(&self, key: &str, response: &ChatResponse) -> std::io::Result<()> {
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let bytes = serde_json::to_vec(response).map_err(std::io::Error::other)?;
        write_atomic(&path, &bytes)
    }

    /// How many answers are stored.
    pub fn len(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|dirs| {
                dirs.flatten()
                    .filter_map(|d| std::fs::read_dir(d.path()).ok())
                    .map(|files| files.flatten().count())
                    .sum()
            })
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`ChatModel`] answering from the cache when it can, for one role of one audit.
#[derive(Debug)]
pub struct CachedModel {
    inner: Arc<dyn ChatModel>,
    cache: ResponseCache,
    role: String,
    audit_id: String,
    /// Request hash -> how many times this role of this audit has sent it.
    /// Locked only to count, never across an `.await`.
    seen: Mutex<HashMap<[u8; 32], u32>>,
}

impl CachedModel {
    pub fn new(
        inner: Arc<dyn ChatModel>,
        cache: ResponseCache,
        role: &str,
        audit_id: &str,
    ) -> Self {
        Self {
            inner,
            cache,
            role: role.to_string(),
            audit_id: audit_id.to_string(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The cache key of a request's next occurrence.
    fn key(&self, request: &ChatRequest) -> Result<String, ModelError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| ModelError::Config(format!("cannot encode the request: {e}")))?;
        let request_hash: [u8; 32] = Sha256::digest(&body).into();
        let occurrence = {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            let n = seen.entry(request_hash).or_insert(0);
            let current = *n;
            *n += 1;
            current
        };
        let mut h = Sha256::new();
        for part in [
            "agar-cache-v1",
            &self.role,
            self.inner.name(),
            &self.audit_id,
            &occurrence.to_string(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(&body);
        Ok(hex::encode(h.finalize()))
    }
}

#[async_trait::async_trait]
impl ChatModel for CachedModel {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let key = self.key(request)?;
        let cache = self.cache.clone();
        let k = key.clone();
        let hit = tokio::task::spawn_blocking(move || cache.get(&k)).await.ok().flatten();
        if let Some(mut response) = hit {
            tracing::debug!(role = %self.role, audit = %self.audit_id, "answered from the cache");
            response.usage = Usage::default();
            response.attempts = 0;
            return Ok(response);
        }
        let response = self.inner.chat(request).await?;
        let cache = self.cache.clone();
        let stored = response.clone();
        let written = tokio::task::spawn_blocking(move || cache.put(&key, &stored)).await;
        if !matches!(written, Ok(Ok(()))) {
            tracing::warn!("could not store a model answer in the cache");
        }
        Ok(response)
    }
}
