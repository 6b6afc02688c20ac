//! Deterministic hashing and mixing, so fake replies and faults are reproducible across
//! runs and platforms: agar-core's [`agar_core::det`], on strings.

pub(crate) use agar_core::det::{mix64, unit_f64};

/// FNV-1a, 64 bits: a stable hash of a string.
pub(crate) fn fnv1a(s: &str) -> u64 {
    agar_core::det::fnv1a(s.as_bytes())
}
