//! Small statistics shared by reports: the Wilson score interval for a proportion.

/// z for a two-sided 95% interval (the 97.5th percentile of the standard normal).
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval for `successes` out of `trials` at normal
/// quantile `z` (use [`Z_95`] for 95%): `(low, high)`, both within 0..=1.
/// `None` when there are no trials.
///
/// Unlike the normal-approximation interval it stays inside 0..=1 and is not
/// empty at 0 or `trials` successes, which matters for the small suites
/// audits produce.
pub fn wilson_interval(successes: usize, trials: usize, z: f64) -> Option<(f64, f64)> {
    if trials == 0 {
        return None;
    }
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let margin = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - margin).max(0.0), (centre + margin).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn wilson_matches_hand_computed_values() {
        // 7 of 10, z = 1.96: centre 0.89208 / 1.38416 = 0.64449, margin
        // 1.96 * sqrt(0.021 + 0.009604) / 1.38416 = 0.24772.
        let (lo, hi) = wilson_interval(7, 10, Z_95).unwrap();
        assert!(close(lo, 0.3968) && close(hi, 0.8922), "{lo} {hi}");
        // 0 of 10: the lower bound is 0, the upper 2 * 0.19208 / 1.38416.
        let (lo, hi) = wilson_interval(0, 10, Z_95).unwrap();
        assert!(close(lo, 0.0) && close(hi, 0.2775), "{lo} {hi}");
        // 10 of 10 mirrors it.
        let (lo, hi) = wilson_interval(10, 10, Z_95).unwrap();
        assert!(close(lo, 0.7225) && close(hi, 1.0) && hi <= 1.0, "{lo} {hi}");
        // 1 of 2: centre 0.5, margin 1.96 * sqrt(0.125 + 0.240100) / 2.92082 = 0.40546.
        let (lo, hi) = wilson_interval(1, 2, Z_95).unwrap();
        assert!(close(lo, 0.0945) && close(hi, 0.9055), "{lo} {hi}");
        assert_eq!(wilson_interval(0, 0, Z_95), None);
    }
}
