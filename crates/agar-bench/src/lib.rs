//! agar's benchmark harness (the `bench` binary): audits of a fixed shape
//! against the fake server running as a separate process, measured from
//! outside, per latency and concurrency. See docs/performance.md for how to
//! run it and the figures.
//!
//! - [`shape`]: the audit every configuration runs, as a fake-server script.
//! - [`run`]: one configuration, end to end, to a [`run::Measurement`].
//! - [`procfs`]: the /proc readings (peak RSS, reaped children's CPU).
//! - [`table`]: the Markdown table, each figure against its target.
//!
//! Data flow: bench -> `agar-fake-server` (child) and `agar audit` (child,
//! talking to it over 127.0.0.1) -> /proc and the run's transcripts -> table.

pub mod procfs;
pub mod run;
pub mod shape;
pub mod table;
