//! The results table: per layer and strength, from graded trials only,
//!
//! - detection: injected trials whose answer claims to notice a thought;
//! - false alarms: control trials (nothing injected) whose answer claims one,
//!   counted apart from injected trials, per cell and pooled;
//! - identification: injected trials that claim a thought and name the
//!   concept (or a close synonym);
//! - incoherence: injected trials whose answer the grader found incoherent;
//! - yes-bias: injected no-questions answered yes,
//!
//! each a count, a rate and a 95% Wilson interval (agar-report's `stats`).
//! Failed and unrun trials are counted and never enter a rate.

use std::fmt::Write;

use agar_report::stats::wilson_interval;
use serde::Serialize;

use crate::plan::TrialKind;
use crate::record::{IntrospectSpec, TrialRecord, TrialStatus};

/// z for a 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// `k` of `n`, with its rate and 95% Wilson interval (`None` for no trials).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub k: usize,
    pub n: usize,
    pub rate: Option<f64>,
    pub interval: Option<(f64, f64)>,
}

impl Rate {
    pub fn new(k: usize, n: usize) -> Rate {
        Rate {
            k,
            n,
            rate: (n > 0).then(|| k as f64 / n as f64),
            interval: wilson_interval(k, n, Z95),
        }
    }

    fn of<'a>(
        trials: impl Iterator<Item = &'a TrialRecord>,
        hit: impl Fn(&TrialRecord) -> bool,
    ) -> Rate {
        let (mut k, mut n) = (0, 0);
        for t in trials {
            n += 1;
            k += usize::from(hit(t));
        }
        Rate::new(k, n)
    }

    /// `k/n pp% [lo%, hi%]`, or `-` with no trials.
    pub fn cell(&self) -> String {
        match (self.rate, self.interval) {
            (Some(r), Some((lo, hi))) => format!(
                "{}/{} {:.0}% [{:.0}, {:.0}]",
                self.k,
                self.n,
                r * 100.0,
                lo * 100.0,
                hi * 100.0
            ),
            _ => "-".into(),
        }
    }
}

/// One layer and strength.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub layer: usize,
    pub layer_fraction: f64,
    pub strength: f32,
    pub detected: Rate,
    pub false_alarms: Rate,
    pub identified: Rate,
    pub incoherent: Rate,
    pub yes_bias: Rate,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub rows: Vec<Row>,
    /// Every control trial, all cells pooled.
    pub controls: Rate,
    /// Trials planned, graded, failed, not run yet.
    pub planned: usize,
    pub graded: usize,
    pub failed: usize,
    pub pending: usize,
    pub confidence: f64,
}

/// The table of a run's stored trials.
pub fn table(spec: &IntrospectSpec, trials: &[TrialRecord]) -> Table {
    let graded: Vec<&TrialRecord> = trials.iter().filter(|t| t.graded().is_some()).collect();
    let claim = |t: &TrialRecord| t.graded().is_some_and(|g| g.claim);
    let mut rows = Vec::new();
    let design = &spec.design;
    for (&layer, &layer_fraction) in design.layers.iter().zip(&design.layer_fractions) {
        for &strength in &design.strengths {
            let of = |kind: TrialKind| {
                graded.iter().copied().filter(move |t| {
                    t.kind() == kind && t.trial.layer == layer && t.trial.strength == strength
                })
            };
            rows.push(Row {
                layer,
                layer_fraction,
                strength,
                detected: Rate::of(of(TrialKind::Injected), claim),
                false_alarms: Rate::of(of(TrialKind::Control), claim),
                identified: Rate::of(of(TrialKind::Injected), |t| {
                    claim(t) && t.graded().and_then(|g| g.named) == Some(true)
                }),
                incoherent: Rate::of(of(TrialKind::Injected), |t| {
                    t.graded().is_some_and(|g| !g.coherent)
                }),
                yes_bias: Rate::of(of(TrialKind::YesBias), claim),
            });
        }
    }
    let controls =
        Rate::of(graded.iter().copied().filter(|t| t.kind() == TrialKind::Control), claim);
    let failed = trials.iter().filter(|t| t.status == TrialStatus::Failed).count();
    Table {
        rows,
        controls,
        planned: spec.planned,
        graded: graded.len(),
        failed,
        pending: spec.planned.saturating_sub(trials.len()),
        confidence: 0.95,
    }
}

/// The table as text.
pub fn render(spec: &IntrospectSpec, table: &Table, run_id: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "introspection run {run_id}: model {}, judge {}", spec.model, spec.judge);
    let _ = writeln!(
        s,
        "trials: {} planned, {} graded, {} failed, {} not run yet; rates with 95% Wilson intervals (%)",
        table.planned, table.graded, table.failed, table.pending
    );
    let headers = [
        "layer",
        "strength",
        "detected (injected)",
        "false alarms (controls)",
        "identified",
        "incoherent",
        "yes to no-questions",
    ];
    let mut lines: Vec<Vec<String>> = vec![headers.iter().map(|h| h.to_string()).collect()];
    for r in &table.rows {
        lines.push(vec![
            format!("{} ({:.2})", r.layer, r.layer_fraction),
            format!("{}", r.strength),
            r.detected.cell(),
            r.false_alarms.cell(),
            r.identified.cell(),
            r.incoherent.cell(),
            r.yes_bias.cell(),
        ]);
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0))
        .collect();
    for l in &lines {
        let cells: Vec<String> =
            l.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(s, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(s, "controls, all cells: false alarms {}", table.controls.cell());
    if table.failed > 0 || table.pending > 0 {
        let _ = writeln!(
            s,
            "not complete: {} failed and {} unrun trial(s) are in no rate; agar resume {run_id} runs them",
            table.failed, table.pending
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_carry_wilson_intervals() {
        let r = Rate::new(3, 10);
        assert_eq!(r.rate, Some(0.3));
        let (lo, hi) = r.interval.unwrap();
        // Hand-computed Wilson 95% interval for 3/10: [0.1078, 0.6032].
        assert!((lo - 0.1078).abs() < 1e-3 && (hi - 0.6032).abs() < 1e-3, "{lo} {hi}");
        assert_eq!(r.cell(), "3/10 30% [11, 60]");
        assert_eq!(Rate::new(0, 0).cell(), "-");
        assert_eq!(Rate::new(0, 0).interval, None);
    }
}
