//! Integration tests of agar-core: one binary, one module per area.

#![expect(clippy::unwrap_used, reason = "tests")]

mod transcript_prop;
