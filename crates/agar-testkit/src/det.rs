//! Small deterministic hashing and mixing, so fake replies and faults are
//! reproducible across runs and platforms (no `std` `RandomState`, no `rand`).

/// FNV-1a, 64 bits: a stable hash of a string.
pub(crate) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The SplitMix64 finaliser: spreads the bits of `x` over the whole word.
pub(crate) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform value in `[0, 1)` from 64 random bits (the top 53 are used).
pub(crate) fn unit_f64(bits: u64) -> f64 {
    // 2^53 fits exactly in an f64, so the quotient is exact and below 1.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable() {
        // Pinned so a change of algorithm (and of every derived score) is noticed.
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(mix64(1), mix64(2));
    }

    #[test]
    fn unit_values_stay_below_one() {
        assert!(unit_f64(u64::MAX) < 1.0);
        assert_eq!(unit_f64(0), 0.0);
    }
}
