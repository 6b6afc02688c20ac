//! Several independent judgments of one transcript combined into one verdict.
//!
//! Only usable (`ok`) samples are combined. Per dimension:
//!
//! - the **final score** is the median of the samples' scores, rounded half
//!   up (so 3 and 4 give 4): the score a majority of samples is at or above;
//! - `samples` keeps every score with their mean, median, min, max and
//!   population standard deviation;
//! - the justification and citations shown are those of the first sample
//!   whose score equals the final score (else the nearest one).
//!
//! The summary and highlights are those of the sample closest to the final
//! scores overall (the smallest sum of absolute differences, first on ties).
//! With no usable sample, the verdict is `refused` when every sample refused,
//! else `unsupported` when some sample answered but did not support itself
//! (with every such sample's reasons), else `judge_failed` with the first
//! failure's error and raw answer. An `unsupported` sample is not usable.

use std::collections::BTreeMap;

use agar_core::{Citation, DimensionScore, JudgeSample, SampleStats, Usage, VerdictStatus};

/// The parts of a verdict that depend on its samples.
#[derive(Debug)]
pub(crate) struct Combined {
    pub(crate) status: VerdictStatus,
    pub(crate) scores: BTreeMap<String, DimensionScore>,
    pub(crate) summary: String,
    pub(crate) highlights: Vec<Citation>,
    pub(crate) unverified_citations: usize,
    /// Every sample when there were several; empty for one.
    pub(crate) samples: Vec<JudgeSample>,
    pub(crate) usage: Usage,
}

/// Combines `samples` (at least one).
pub(crate) fn combine(mut samples: Vec<JudgeSample>) -> Combined {
    let mut usage = Usage::default();
    for s in &samples {
        usage += s.usage;
    }
    if samples.len() == 1
        && let Some(one) = samples.pop()
    {
        return Combined {
            status: one.status,
            scores: one.scores,
            summary: one.summary,
            highlights: one.highlights,
            unverified_citations: one.unverified_citations,
            samples: Vec::new(),
            usage,
        };
    }
    let ok: Vec<&JudgeSample> = samples.iter().filter(|s| s.status == VerdictStatus::Ok).collect();
    if ok.is_empty() {
        let status = failed_status(&samples);
        return Combined {
            status,
            scores: BTreeMap::new(),
            summary: String::new(),
            highlights: Vec::new(),
            unverified_citations: 0,
            samples,
            usage,
        };
    }
    let names: Vec<String> = {
        let mut names: Vec<String> = ok.iter().flat_map(|s| s.scores.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    };
    let mut scores = BTreeMap::new();
    for name in names {
        let values: Vec<u8> =
            ok.iter().filter_map(|s| s.scores.get(&name)).map(|d| d.score).collect();
        let stats = stats(&values);
        let final_score = median_half_up(&values);
        let shown = ok
            .iter()
            .filter_map(|s| s.scores.get(&name))
            .min_by_key(|d| d.score.abs_diff(final_score))
            .cloned();
        let (justification, citations) =
            shown.map(|d| (d.justification, d.citations)).unwrap_or_default();
        scores.insert(
            name,
            DimensionScore { score: final_score, justification, citations, samples: Some(stats) },
        );
    }
    let closest = ok
        .iter()
        .min_by_key(|s| {
            scores
                .iter()
                .map(|(n, d)| s.scores.get(n).map_or(10, |x| u32::from(x.score.abs_diff(d.score))))
                .sum::<u32>()
        })
        .copied();
    let (summary, highlights) =
        closest.map(|s| (s.summary.clone(), s.highlights.clone())).unwrap_or_default();
    let unverified_citations = count_unverified(&scores, &highlights);
    Combined {
        status: VerdictStatus::Ok,
        scores,
        summary,
        highlights,
        unverified_citations,
        samples,
        usage,
    }
}

fn failed_status(samples: &[JudgeSample]) -> VerdictStatus {
    let n = samples.len();
    if let Some(VerdictStatus::Refused { reason }) = samples.first().map(|s| &s.status)
        && samples.iter().all(|s| matches!(s.status, VerdictStatus::Refused { .. }))
    {
        return VerdictStatus::Refused { reason: reason.clone() };
    }
    let unsupported: Vec<String> = samples
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.status {
            VerdictStatus::Unsupported { reasons } => {
                Some(format!("sample {}: {}", i + 1, reasons.join("; ")))
            }
            _ => None,
        })
        .collect();
    if !unsupported.is_empty() {
        return VerdictStatus::Unsupported { reasons: unsupported };
    }
    match samples.iter().find_map(|s| match &s.status {
        VerdictStatus::JudgeFailed { error, raw } => Some((error, raw)),
        _ => None,
    }) {
        Some((error, raw)) => VerdictStatus::JudgeFailed {
            error: format!("no usable sample of {n}; the first failure: {error}"),
            raw: raw.clone(),
        },
        None => VerdictStatus::JudgeFailed {
            error: format!("no usable sample of {n}"),
            raw: String::new(),
        },
    }
}

/// Citations (in scores and highlights) whose quote was not found.
pub(crate) fn count_unverified(
    scores: &BTreeMap<String, DimensionScore>,
    highlights: &[Citation],
) -> usize {
    scores
        .values()
        .flat_map(|d| d.citations.iter())
        .chain(highlights)
        .filter(|c| c.verified == Some(false))
        .count()
}

/// The median of `values` (not empty), rounded half up.
pub fn median_half_up(values: &[u8]) -> u8 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n == 0 {
        return 1;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        let (a, b) = (u16::from(sorted[n / 2 - 1]), u16::from(sorted[n / 2]));
        (a + b).div_ceil(2) as u8
    }
}

fn stats(values: &[u8]) -> SampleStats {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
    let variance = values.iter().map(|v| (f64::from(*v) - mean).powi(2)).sum::<f64>() / n;
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let len = sorted.len();
    let median = match len {
        0 => 0.0,
        _ if len % 2 == 1 => f64::from(sorted[len / 2]),
        _ => (f64::from(sorted[len / 2 - 1]) + f64::from(sorted[len / 2])) / 2.0,
    };
    SampleStats {
        scores: values.to_vec(),
        mean,
        median,
        min: sorted.first().copied().unwrap_or(0),
        max: sorted.last().copied().unwrap_or(0),
        stdev: variance.sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_rounds_half_up() {
        assert_eq!(median_half_up(&[3, 4]), 4);
        assert_eq!(median_half_up(&[2, 9, 5]), 5);
        assert_eq!(median_half_up(&[1, 2, 6, 8]), 4);
        assert_eq!(median_half_up(&[7]), 7);
    }

    #[test]
    fn stats_of_scores() {
        let s = stats(&[2, 4, 4, 6]);
        assert_eq!((s.min, s.max, s.median, s.mean), (2, 6, 4.0, 4.0));
        assert!((s.stdev - 2f64.sqrt()).abs() < 1e-9);
    }
}
