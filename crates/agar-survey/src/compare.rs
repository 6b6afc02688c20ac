//! Two survey runs compared per country: the difference of similarities
//! (second run minus first) with a bootstrap interval, over the countries
//! either run has a figure for.

use std::collections::{BTreeMap, BTreeSet};

use agar_report::stats::bootstrap_difference_interval;
use serde::{Deserialize, Serialize};

use crate::metric::{IntervalOptions, seed};

/// One country in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryDelta {
    pub country: String,
    /// Similarity in the first run, when it has the country.
    pub a: Option<f64>,
    pub b: Option<f64>,
    pub questions_a: usize,
    pub questions_b: usize,
    /// `b - a`, when both have the country.
    pub delta: Option<f64>,
    /// The bootstrap interval of `delta`; `None` when either run rests on a
    /// single question for the country.
    pub interval: Option<(f64, f64)>,
}

impl CountryDelta {
    /// Whether the interval excludes 0.
    pub fn significant(&self) -> bool {
        self.interval.is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0)
    }
}

/// Per-country differences, largest gain first (countries one run lacks last).
pub fn compare(
    a: &BTreeMap<String, Vec<f64>>,
    b: &BTreeMap<String, Vec<f64>>,
    opts: IntervalOptions,
) -> Vec<CountryDelta> {
    let mean = |xs: &Vec<f64>| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out: Vec<CountryDelta> = names
        .into_iter()
        .map(|country| {
            let (xa, xb) = (a.get(country), b.get(country));
            let (ma, mb) = (xa.and_then(mean), xb.and_then(mean));
            // As for one run's figures, a single question gives no interval.
            let interval = match (xa, xb) {
                (Some(xa), Some(xb)) if xa.len() > 1 && xb.len() > 1 => {
                    bootstrap_difference_interval(
                        xa,
                        xb,
                        opts.resamples,
                        opts.confidence,
                        seed(opts, country),
                    )
                }
                _ => None,
            };
            CountryDelta {
                country: country.clone(),
                a: ma,
                b: mb,
                questions_a: xa.map_or(0, Vec::len),
                questions_b: xb.map_or(0, Vec::len),
                delta: ma.zip(mb).map(|(x, y)| y - x),
                interval,
            }
        })
        .collect();
    out.sort_by(|x, y| match (x.delta, y.delta) {
        (Some(p), Some(q)) => q.total_cmp(&p).then(x.country.cmp(&y.country)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => x.country.cmp(&y.country),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_question_gives_a_difference_but_no_interval() {
        let a = BTreeMap::from([("X".to_string(), vec![0.5]), ("Y".to_string(), vec![0.4, 0.6])]);
        let b = BTreeMap::from([("X".to_string(), vec![0.9]), ("Y".to_string(), vec![0.8, 0.9])]);
        let d = compare(&a, &b, IntervalOptions::default());
        let x = d.iter().find(|d| d.country == "X").unwrap();
        assert!((x.delta.unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(x.interval, None);
        assert!(!x.significant());
        let y = d.iter().find(|d| d.country == "Y").unwrap();
        assert!(y.interval.is_some() && (y.delta.unwrap() - 0.35).abs() < 1e-12);
    }
}
