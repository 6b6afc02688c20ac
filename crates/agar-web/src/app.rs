//! [`AppState`] and [`app`]: the router, defined once, with its security
//! layer: a Content-Security-Policy that allows no inline script or style,
//! `nosniff`, no framing, the access rule of [`crate::access`] (a Host
//! allow-list or an access token, against DNS rebinding), and the static
//! assets compiled in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use agar_store::{RunOverview, RunPlan, Store};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::access::Access;
use crate::error::WebError;
use crate::run::{CachedRun, FileStamp};

/// Scenario tags by (run id, run creation time), then scenario id.
pub(crate) type TagsCache = HashMap<(String, i64), HashMap<String, Vec<String>>>;

/// The Content-Security-Policy of every response: scripts and styles only
/// from the viewer itself, never inline; no plugins, no `<base>`, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

const SCRIPT: &str = include_str!("../assets/agar.js");
const STYLE: &str = include_str!("../assets/agar.css");

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    /// The per-process token every form must carry (see `csrf`).
    pub(crate) csrf: String,
    /// Who is let in (see [`crate::access`]).
    pub(crate) access: Access,
    /// Scenario tags by (run id, run creation time), then scenario id: a
    /// run's scenarios do not change, so a tag list once read stays true.
    pub(crate) tags: Mutex<TagsCache>,
    /// Each run's parsed plan with the stamp of the `plan.json` it came from.
    pub(crate) plans: Mutex<HashMap<String, (FileStamp, Arc<RunPlan>)>>,
    /// Each run's figures with the stamp they were read under (see
    /// `run::run_data`): reused while the run's directories do not change.
    pub(crate) runs: Mutex<HashMap<String, CachedRun>>,
    /// Each run's line on the runs page, kept the same way.
    pub(crate) overviews: Mutex<HashMap<String, (String, RunOverview)>>,
}

impl AppState {
    /// State over `store`, accepting any Host header.
    pub fn new(store: Store) -> AppState {
        crate::templates::env();
        AppState {
            inner: Arc::new(Inner {
                store,
                csrf: crate::csrf::new_token(),
                access: Access::Open,
                tags: Mutex::new(HashMap::new()),
                plans: Mutex::new(HashMap::new()),
                runs: Mutex::new(HashMap::new()),
                overviews: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// State that serves only requests naming one of `hosts` (`host:port`) in
    /// their `Host` header. `agar view` sets this when bound to loopback.
    pub fn with_allowed_hosts(store: Store, hosts: Vec<String>) -> AppState {
        AppState::with_access(store, Access::Hosts(hosts))
    }

    /// State that lets requests in by `access` (see [`crate::access`]).
    pub fn with_access(store: Store, access: Access) -> AppState {
        let mut state = AppState::new(store);
        if let Some(inner) = Arc::get_mut(&mut state.inner) {
            inner.access = access;
        }
        state
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The token forms must carry.
    pub fn csrf_token(&self) -> &str {
        &self.inner.csrf
    }

    /// Runs blocking store work (file and index reads) off the async threads.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AppState) -> Result<T, WebError> + Send + 'static,
    ) -> Result<T, WebError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state)).await?
    }

    pub(crate) fn runs_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedRun>> {
        self.inner.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn overviews_cache(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (String, RunOverview)>> {
        self.inner.overviews.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn tags_cache(&self) -> std::sync::MutexGuard<'_, TagsCache> {
        self.inner.tags.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn plans_cache(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (FileStamp, Arc<RunPlan>)>> {
        self.inner.plans.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The whole viewer.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(crate::runs::page))
        .route("/runs/{run}", get(crate::run::page))
        .route("/runs/{run}/audits/{audit}", get(crate::transcript::page))
        .route("/runs/{run}/audits/{audit}/labels", post(crate::labels::post))
        .route("/compare", get(crate::compare::page))
        .route("/api/stamp", get(crate::live::store_stamp))
        .route("/api/runs/{run}/stamp", get(crate::live::run_stamp))
        .route("/assets/{name}", get(asset))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn not_found() -> WebError {
    WebError::NotFound("no such page".into())
}

/// The static assets, compiled in.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "agar.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "agar.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return WebError::NotFound("no such asset".into()).into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// The security layer around every route: the Host check, then the
/// headers on whatever the route answered (error pages included).
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = match crate::access::check(&state, &req) {
        Some(refusal) => refusal,
        None => next.run(req).await,
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CONTENT_TYPE)
        .or_insert_with(|| HeaderValue::from_static("text/html; charset=utf-8"));
    response
}
