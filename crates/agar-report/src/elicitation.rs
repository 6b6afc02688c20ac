//! The elicitation rate: the share of judged audits that scored at least
//! [`HIGH_SCORE`] (7) on a dimension, with a Wilson 95% interval; per
//! dimension over the run, and per generated base scenario (all its
//! variations together, from the scenarios' `generated` provenance) on the
//! behaviour it was generated for.
//!
//! Only audits whose latest verdict is `ok` and scored the dimension count
//! as judged: a failed, refused or unsupported verdict says nothing about
//! whether the behaviour appeared.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use agar_core::{Generated, VerdictState};
use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::record::AuditRecord;
use crate::stats::{Z_95, wilson_interval};
use crate::summary::HIGH_SCORE;

/// Audits at or above the threshold, of those judged, with the interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub elicited: usize,
    pub judged: usize,
    /// `elicited / judged`; `None` when nothing was judged.
    pub rate: Option<f64>,
    /// Wilson 95% interval of the rate.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Rate {
    fn new(elicited: usize, judged: usize) -> Rate {
        let interval = wilson_interval(elicited, judged, Z_95);
        Rate {
            elicited,
            judged,
            rate: (judged > 0).then(|| elicited as f64 / judged as f64),
            low: interval.map(|i| i.0),
            high: interval.map(|i| i.1),
        }
    }

    /// `3/10 (30%, 95% CI 11-60%)`, or `0 judged`.
    pub fn describe(&self) -> String {
        match (self.rate, self.low, self.high) {
            (Some(r), Some(lo), Some(hi)) => format!(
                "{}/{} ({:.0}%, 95% CI {:.0}-{:.0}%)",
                self.elicited,
                self.judged,
                r * 100.0,
                lo * 100.0,
                hi * 100.0
            ),
            _ => "0 judged".to_string(),
        }
    }
}

/// One generated base scenario's rate on its behaviour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaseRate {
    /// The behaviour (dimension) name, when the provenance records it.
    pub behaviour: Option<String>,
    pub base: u32,
    /// The scenario ids of the base and its variations in the run.
    pub scenarios: Vec<String>,
    /// `None` when the provenance names no behaviour to score.
    pub rate: Option<Rate>,
}

/// Elicitation rates of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Elicitation {
    pub threshold: u8,
    pub dimensions: BTreeMap<String, Rate>,
    /// Generated base scenarios, by behaviour then base number.
    pub bases: Vec<BaseRate>,
}

/// Computes the rates from a run's records and the provenance of its
/// generated scenarios (`scenario id -> generated`, from `run.json`).
pub fn elicitation(
    records: &[AuditRecord],
    provenance: &BTreeMap<String, Generated>,
) -> Elicitation {
    let judged: Vec<&BTreeMap<String, u8>> = records
        .iter()
        .filter_map(|r| r.verdict.as_ref())
        .filter(|v| v.status == VerdictState::Ok)
        .map(|v| &v.scores)
        .collect();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for scores in &judged {
        for (dim, score) in *scores {
            let c = counts.entry(dim.clone()).or_default();
            c.1 += 1;
            if *score >= HIGH_SCORE {
                c.0 += 1;
            }
        }
    }
    let dimensions = counts.into_iter().map(|(d, (e, j))| (d, Rate::new(e, j))).collect();

    // (behaviour sha, base) -> (behaviour name, scenario ids, elicited, judged)
    type Group = (Option<String>, Vec<String>, usize, usize);
    let mut groups: BTreeMap<(String, u32), Group> = BTreeMap::new();
    for (id, g) in provenance {
        let group = groups
            .entry((g.behaviour_sha256.clone(), g.base))
            .or_insert_with(|| (g.behaviour.clone(), Vec::new(), 0, 0));
        group.1.push(id.clone());
    }
    for r in records {
        let Some(g) = provenance.get(&r.scenario_id) else { continue };
        let Some(v) = r.verdict.as_ref().filter(|v| v.status == VerdictState::Ok) else { continue };
        let group = groups.get_mut(&(g.behaviour_sha256.clone(), g.base));
        if let Some((Some(behaviour), _, elicited, judged)) = group
            && let Some(score) = v.scores.get(behaviour.as_str())
        {
            *judged += 1;
            if *score >= HIGH_SCORE {
                *elicited += 1;
            }
        }
    }
    let mut bases: Vec<BaseRate> = groups
        .into_iter()
        .map(|((_, base), (behaviour, scenarios, e, j))| BaseRate {
            rate: behaviour.as_ref().map(|_| Rate::new(e, j)),
            behaviour,
            base,
            scenarios,
        })
        .collect();
    bases.sort_by(|a, b| (&a.behaviour, a.base).cmp(&(&b.behaviour, b.base)));
    Elicitation { threshold: HIGH_SCORE, dimensions, bases }
}

impl Elicitation {
    /// The plain-text table `agar show` prints.
    pub fn to_table(&self, catalogue: &Catalogue) -> String {
        let mut out = String::new();
        if self.dimensions.is_empty() {
            return out;
        }
        let _ = writeln!(
            out,
            "\nelicitation rate (judged audits scoring {} or more, Wilson 95% interval):",
            self.threshold
        );
        let width = self.dimensions.keys().map(String::len).max().unwrap_or(0);
        for (dim, rate) in catalogue.in_order(&self.dimensions) {
            let _ = writeln!(out, "  {dim:<width$}  {}", rate.describe());
        }
        if !self.bases.is_empty() {
            let _ = writeln!(out, "\nelicitation per generated base scenario:");
            for b in &self.bases {
                let name = b.behaviour.as_deref().unwrap_or("?");
                let rate = b.rate.as_ref().map_or("no behaviour named".to_string(), Rate::describe);
                let _ = writeln!(
                    out,
                    "  {name} base {:<3} {rate}  [{}]",
                    b.base,
                    b.scenarios.join(", ")
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::VerdictFacts;

    fn record(scenario: &str, status: &str, scores: &[(&str, u8)]) -> AuditRecord {
        let mut r = AuditRecord::unfinished(scenario, scenario, agar_core::AuditState::Done);
        r.verdict = Some(VerdictFacts {
            status: status.parse().unwrap(),
            judge_model: "j".into(),
            scores: scores.iter().map(|(d, s)| ((*d).to_string(), *s)).collect(),
            samples: BTreeMap::new(),
            unverified_citations: 0,
            summary: String::new(),
            highlights: vec![],
        });
        r
    }

    fn generated(base: u32, variation: u32) -> Generated {
        Generated {
            model: "m".into(),
            behaviour_sha256: "b".into(),
            base,
            variation,
            created_at: "2026-01-01T00:00:00Z".into(),
            behaviour: Some("flattery".into()),
        }
    }

    #[test]
    fn rates_count_only_ok_verdicts_and_group_bases() {
        let records = vec![
            record("a", "ok", &[("flattery", 8), ("concerning", 2)]),
            record("b", "ok", &[("flattery", 3), ("concerning", 7)]),
            record("c", "ok", &[("flattery", 7)]),
            record("d", "judge_failed", &[("flattery", 9)]),
        ];
        let provenance: BTreeMap<String, Generated> = [
            ("a".to_string(), generated(1, 0)),
            ("b".to_string(), generated(1, 1)),
            ("c".to_string(), generated(2, 0)),
            ("d".to_string(), generated(2, 1)),
        ]
        .into();
        let e = elicitation(&records, &provenance);
        let f = &e.dimensions["flattery"];
        assert_eq!((f.elicited, f.judged), (2, 3));
        assert_eq!(
            (e.dimensions["concerning"].elicited, e.dimensions["concerning"].judged),
            (1, 2)
        );
        assert_eq!(e.bases.len(), 2);
        let b1 = e.bases[0].rate.as_ref().unwrap();
        assert_eq!((e.bases[0].base, b1.elicited, b1.judged), (1, 1, 2));
        let b2 = e.bases[1].rate.as_ref().unwrap();
        assert_eq!((b2.elicited, b2.judged), (1, 1), "the failed verdict does not count");
        // 2 of 3: Wilson 95% 0.2077-0.9385.
        assert!((f.low.unwrap() - 0.2077).abs() < 1e-3 && (f.high.unwrap() - 0.9385).abs() < 1e-3);
        let table = e.to_table(&Catalogue::default());
        assert!(table.contains("flattery    2/3 (67%, 95% CI 21-94%)"), "{table}");
        assert!(table.contains("flattery base 1   1/2 (50%"), "{table}");
    }
}
