//! Integration tests of agar-report: every renderer's output for runs built
//! with agar-testkit's transcript builders, as snapshots.

#![expect(clippy::unwrap_used, reason = "tests")]

mod render;
