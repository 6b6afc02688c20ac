//! Small deterministic hashing and random numbers, the same on every platform and
//! version (no `std` `RandomState`, no `rand`): bootstrap intervals that reproduce from
//! their seed, and the fake servers' reproducible replies and faults.

/// The SplitMix64 increment (the golden ratio in 64 bits).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// FNV-1a, 64 bits: a stable hash of `bytes` (used to derive a seed from a name).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// The next value of the SplitMix64 generator whose state is `state`.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(GOLDEN);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64's output for the state `x`: spreads the bits of `x` over the whole word.
pub fn mix64(x: u64) -> u64 {
    splitmix64(&mut { x })
}

/// Uniform in `0..n` (`n > 0`) from the SplitMix64 generator `state`, by Lemire's
/// multiply-shift.
pub fn below(state: &mut u64, n: usize) -> usize {
    ((u128::from(splitmix64(state)) * n as u128) >> 64) as usize
}

/// A uniform value in `[0, 1)` from 64 random bits (the top 53 are used).
pub fn unit_f64(bits: u64) -> f64 {
    // 2^53 fits exactly in an f64, so the quotient is exact and below 1.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_pinned() {
        // Pinned so that a change of algorithm (and of every seed, interval and fake
        // reply derived from it) is noticed.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        // The first output of SplitMix64 seeded with 0 (the reference implementation's).
        assert_eq!(mix64(0), 0xe220_a839_7b1d_cdaf);
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), mix64(0));
        assert_eq!(splitmix64(&mut state), mix64(GOLDEN));
        assert_ne!(mix64(1), mix64(2));
    }

    #[test]
    fn below_and_unit_stay_in_range() {
        let mut state = 1;
        assert!((0..10_000).all(|_| below(&mut state, 7) < 7));
        assert!(unit_f64(u64::MAX) < 1.0);
        assert_eq!(unit_f64(0), 0.0);
    }
}
