//! Statistics shared by reports, surveys and probes, each tested against
//! hand-computed values: the Wilson score interval for a proportion, the
//! Jensen-Shannon distance between two discrete distributions (log base 2, so
//! it lies in [0, 1]) and seeded percentile bootstrap intervals of a mean and
//! of a difference of means.

use agar_core::det::below;

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

/// The Jensen-Shannon divergence of `p` and `q` in bits (log base 2):
/// `JSD = (KL(p||m) + KL(q||m)) / 2` with `m = (p + q) / 2`, in [0, 1].
/// Both are normalised first; `None` when the lengths differ, a value is
/// negative or not finite, or either sums to 0.
pub fn jensen_shannon_divergence(p: &[f64], q: &[f64]) -> Option<f64> {
    if p.len() != q.len() || p.is_empty() {
        return None;
    }
    let p = normalised(p)?;
    let q = normalised(q)?;
    let kl = |a: &[f64], m: &[f64]| -> f64 {
        a.iter().zip(m).filter(|(x, _)| **x > 0.0).map(|(x, y)| x * (x / y).log2()).sum()
    };
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    let d = (kl(&p, &m) + kl(&q, &m)) / 2.0;
    Some(d.clamp(0.0, 1.0))
}

/// The Jensen-Shannon distance: the square root of
/// [`jensen_shannon_divergence`] (log base 2), a metric in [0, 1].
pub fn jensen_shannon_distance(p: &[f64], q: &[f64]) -> Option<f64> {
    jensen_shannon_divergence(p, q).map(f64::sqrt)
}

fn normalised(xs: &[f64]) -> Option<Vec<f64>> {
    if xs.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return None;
    }
    let sum: f64 = xs.iter().sum();
    (sum > 0.0).then(|| xs.iter().map(|x| x / sum).collect())
}

/// A two-sided percentile bootstrap interval of the mean of `xs`:
/// `resamples` resamples with replacement drawn by a SplitMix64 generator
/// seeded with `seed` (the same input always gives the same interval).
/// `None` for an empty sample.
pub fn bootstrap_mean_interval(
    xs: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let mut rng = seed;
    let means = (0..resamples.max(1)).map(|_| resampled_mean(xs, &mut rng)).collect();
    Some(percentiles(means, confidence))
}

/// A two-sided percentile bootstrap interval of `mean(ys) - mean(xs)`, the
/// two samples resampled independently (as [`bootstrap_mean_interval`]).
/// `None` when either is empty.
pub fn bootstrap_difference_interval(
    xs: &[f64],
    ys: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    if xs.is_empty() || ys.is_empty() {
        return None;
    }
    let mut rng = seed;
    let deltas = (0..resamples.max(1))
        .map(|_| {
            let a = resampled_mean(xs, &mut rng);
            resampled_mean(ys, &mut rng) - a
        })
        .collect();
    Some(percentiles(deltas, confidence))
}

/// The mean of one resample of `xs` (not empty) with replacement.
fn resampled_mean(xs: &[f64], state: &mut u64) -> f64 {
    let n = xs.len();
    (0..n).map(|_| xs[below(state, n)]).sum::<f64>() / n as f64
}

/// The two-sided `confidence` percentile interval of `values` (not empty).
fn percentiles(mut values: Vec<f64>, confidence: f64) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    let last = values.len() - 1;
    let at = |q: f64| values[((q * last as f64).round() as usize).min(last)];
    (at(tail), at(1.0 - tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn jsd_matches_hand_computed_values() {
        // Identical: 0. Disjoint: 1 bit, the maximum.
        close(jensen_shannon_distance(&[0.3, 0.7], &[0.3, 0.7]).unwrap(), 0.0);
        close(jensen_shannon_distance(&[1.0, 0.0], &[0.0, 1.0]).unwrap(), 1.0);
        // p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4);
        // KL(p||m) = log2(4/3); KL(q||m) = 1/2 log2(2/3) + 1/2 log2(2);
        // JSD = 1/2 (log2 4/3 + 1/2 log2 2/3 + 1/2) = 0.311278124459...
        let jsd = 0.5 * ((4.0f64 / 3.0).log2() + 0.5 * (2.0f64 / 3.0).log2() + 0.5);
        close(jensen_shannon_divergence(&[1.0, 0.0], &[0.5, 0.5]).unwrap(), jsd);
        close(jsd, 0.311_278_124_459_132_8);
        close(jensen_shannon_distance(&[1.0, 0.0], &[0.5, 0.5]).unwrap(), jsd.sqrt());
        // Symmetric, and unnormalised input is normalised: (2, 2) is (1/2, 1/2).
        close(
            jensen_shannon_distance(&[2.0, 2.0], &[1.0, 0.0]).unwrap(),
            jensen_shannon_distance(&[1.0, 0.0], &[0.5, 0.5]).unwrap(),
        );
    }

    #[test]
    fn jsd_refuses_what_is_not_a_distribution() {
        assert_eq!(jensen_shannon_distance(&[1.0], &[0.5, 0.5]), None);
        assert_eq!(jensen_shannon_distance(&[0.0, 0.0], &[0.5, 0.5]), None);
        assert_eq!(jensen_shannon_distance(&[-0.1, 1.1], &[0.5, 0.5]), None);
        assert_eq!(jensen_shannon_distance(&[f64::NAN, 1.0], &[0.5, 0.5]), None);
        assert_eq!(jensen_shannon_distance(&[], &[]), None);
    }

    #[test]
    fn bootstrap_interval_brackets_the_mean_and_is_reproducible() {
        let xs = [0.2, 0.4, 0.6, 0.8, 1.0];
        let (lo, hi) = bootstrap_mean_interval(&xs, 2000, 0.95, 7).unwrap();
        assert!(lo < 0.6 && 0.6 < hi, "({lo}, {hi})");
        assert!(lo >= 0.2 && hi <= 1.0);
        assert_eq!(bootstrap_mean_interval(&xs, 2000, 0.95, 7), Some((lo, hi)));
        // A constant sample has a point interval; an empty one none.
        assert_eq!(bootstrap_mean_interval(&[0.5; 4], 100, 0.95, 1), Some((0.5, 0.5)));
        assert_eq!(bootstrap_mean_interval(&[], 100, 0.95, 1), None);
    }

    #[test]
    fn difference_interval_reads_second_minus_first() {
        let a = [0.5, 0.55, 0.6, 0.5, 0.45];
        let b = [0.8, 0.85, 0.9, 0.8, 0.75];
        let (lo, hi) = bootstrap_difference_interval(&a, &b, 2000, 0.95, 3).unwrap();
        assert!(0.0 < lo && lo < 0.3 && 0.3 < hi, "({lo}, {hi})");
        let (lo, hi) = bootstrap_difference_interval(&b, &a, 2000, 0.95, 3).unwrap();
        assert!(hi < 0.0, "({lo}, {hi})");
        assert_eq!(bootstrap_difference_interval(&a, &[], 100, 0.95, 1), None);
    }
}

#[cfg(test)]
mod wilson_tests {
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
