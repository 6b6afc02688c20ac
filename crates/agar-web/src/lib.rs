//! agar's review web UI, served by `agar view`: the runs of a store, each
//! run's audit table, transcripts with the judge's evidence, reviewer labels
//! and run-to-run comparisons.
//!
//! Data flow: HTTP request -> [`app()`]'s router -> a page module reads the
//! store ([`agar_store::Store`], on a blocking thread) and computes figures
//! ([`agar_report`]) -> a view model (plain serialisable structs) -> a
//! minijinja template embedded in the binary, auto-escaped -> HTML with a
//! strict Content-Security-Policy. A run's figures are kept only while the
//! modification times of its directories and its lock state stay the same
//! (`live`), so a run written by another process shows up on the next
//! request, and pages poll a cheap stamp to reload by themselves.
//!
//! - [`mod@app`]: [`AppState`], the router ([`app()`]) and the security layer
//!   (headers, host check, static assets).
//! - [`access`]: who may use a viewer off loopback ([`Access`]: allowed
//!   host names or an access token).
//! - [`mod@serve`]: binding ([`bind`], [`ViewOptions`]) and serving until Ctrl-C.
//! - [`error`]: [`WebError`], the one error type: logs the cause, shows a
//!   plain page.
//! - `runs`, `run`, `transcript`, `compare`, `labels`, `live`: one module
//!   per page (or endpoint); `table` sorts and filters the audit table,
//!   `ids` types the run and audit ids of paths, `quote` locates a citation's quote in its message, `dims` says how each
//!   dimension is shown, `templates` holds the minijinja environment, `csrf`
//!   guards the one form.

pub mod access;
pub mod app;
mod compare;
mod csrf;
mod dims;
pub mod error;
mod ids;
mod labels;
mod live;
mod quote;
mod run;
mod runs;
pub mod serve;
mod table;
mod templates;
mod transcript;

/// The integration tests' stores, for unit tests that need a real run.
#[cfg(test)]
#[path = "../tests/it/fixture.rs"]
#[allow(dead_code, reason = "the integration tests use more of the fixtures")]
mod test_fixture;

pub use access::Access;
pub use app::{AppState, app};
pub use error::WebError;
pub use serve::{ViewOptions, bind, bind_warning, serve, serve_with};
