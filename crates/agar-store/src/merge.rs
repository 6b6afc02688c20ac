//! `agar merge`: runs from several stores (shards of one run, each written
//! into its own store or bucket) brought into one.
//!
//! For every run the sources hold, their plans must agree ([`plan_differences`]:
//! same scenarios, scenario hashes, dimensions and settings); nothing is
//! written until every run's plans were checked. Then, per run:
//!
//! - `run.json` and `plan.json` are written when the target lacks the run;
//! - every transcript is offered to the target under its write lock: a
//!   finished audit beats an unfinished one, and of two finished audits the
//!   one with the newer verdict wins; a tie keeps the target's copy, so
//!   merging again changes nothing;
//! - labels are merged per dimension, the newer label winning;
//! - shard records are copied when the target lacks them;
//! - the index is refreshed from the files, and the planned audits still
//!   missing are reported per shard record.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use agar_core::Transcript;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::Store;
use crate::labels::Label;
use crate::plan::RunPlan;
use crate::shard::ShardRecord;
use crate::store::{StoreError, check_audit_id, read_json};

/// Why a merge did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the plans of run {run_id:?} differ between {first} and {other}: {}",
        differences.join("; ")
    )]
    PlanMismatch { run_id: String, first: String, other: String, differences: Vec<String> },
    #[error("run {run_id:?} has a plan.json in {with} but none in {without}")]
    PlanMissing { run_id: String, with: String, without: String },
    #[error("nothing to merge: the source stores hold no runs")]
    NoRuns,
}

/// What a merge did, run by run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MergeReport {
    pub runs: Vec<RunMerge>,
}

/// What a merge did to one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunMerge {
    pub run_id: String,
    /// How many source stores held the run.
    pub sources: usize,
    /// Transcripts the target did not have.
    pub added: usize,
    /// Transcripts that replaced the target's (finished over unfinished, newer verdict).
    pub replaced: usize,
    /// Transcripts offered that the target already had as good (or better).
    pub kept: usize,
    /// Label files changed.
    pub labels: usize,
    /// Planned audits (0 when the run has no plan).
    pub planned: usize,
    /// Planned audits the target holds finished.
    pub finished: usize,
    /// Planned audits not finished: per shard record when the run has
    /// them, else one group without a shard.
    pub missing: Vec<MissingAudits>,
}

/// Planned audits not finished, of one shard (or of the run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingAudits {
    /// `(index, count)` of the shard; `None`: audits of no shard record
    /// (or the run has none).
    pub shard: Option<(u32, u32)>,
    /// Audits the shard (or the group) planned.
    pub planned: usize,
    pub audits: Vec<String>,
}

impl RunMerge {
    /// Every planned audit the target holds finished.
    pub fn complete(&self) -> bool {
        self.missing.iter().all(|m| m.audits.is_empty())
    }
}

/// Where a store is, for messages.
fn name(store: &Store) -> String {
    match store.mirror() {
        Some(m) => m.describe(),
        None => store.root().display().to_string(),
    }
}

/// Merges every run of `sources` into `into` (see the module docs).
/// Sources that are `into` itself are skipped.
pub fn merge(sources: &[Store], into: &Store) -> Result<MergeReport, MergeError> {
    let target_root = into.root().canonicalize().unwrap_or_else(|_| into.root().to_path_buf());
    let sources: Vec<&Store> = sources
        .iter()
        .filter(|s| {
            s.root().canonicalize().unwrap_or_else(|_| s.root().to_path_buf()) != target_root
        })
        .collect();
    let mut runs: BTreeMap<String, Vec<&Store>> = BTreeMap::new();
    for s in &sources {
        for id in s.run_ids()? {
            runs.entry(id).or_default().push(s);
        }
    }
    if runs.is_empty() {
        return Err(MergeError::NoRuns);
    }
    // Every check before any write.
    let mut plans = BTreeMap::new();
    for (run_id, holders) in &runs {
        plans.insert(run_id.clone(), agreed_plan(run_id, holders, into)?);
    }
    let mut report = MergeReport::default();
    for (run_id, holders) in &runs {
        report.runs.push(merge_run(run_id, holders, plans.remove(run_id).flatten(), into)?);
    }
    Ok(report)
}

/// The plan every holder of the run (and the target, if it has the run)
/// agrees on; `None` when none has a plan.
fn agreed_plan(
    run_id: &str,
    holders: &[&Store],
    into: &Store,
) -> Result<Option<RunPlan>, MergeError> {
    let mut stores: Vec<&Store> = Vec::new();
    if into.run_dir(run_id).join("run.json").is_file() {
        stores.push(into);
    }
    stores.extend(holders.iter().copied());
    let mut first: Option<(&Store, Option<RunPlan>)> = None;
    for s in stores {
        let plan = match s.read_plan(run_id) {
            Ok(p) => Some(p),
            Err(StoreError::NoPlan(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let Some((f, fplan)) = &first else {
            first = Some((s, plan));
            continue;
        };
        match (fplan, &plan) {
            (Some(a), Some(b)) => {
                let differences = plan_differences(a, b);
                if !differences.is_empty() {
                    return Err(MergeError::PlanMismatch {
                        run_id: run_id.to_string(),
                        first: name(f),
                        other: name(s),
                        differences,
                    });
                }
            }
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                let (with, without) = if fplan.is_some() { (f, &s) } else { (&s, f) };
                return Err(MergeError::PlanMissing {
                    run_id: run_id.to_string(),
                    with: name(with),
                    without: name(without),
                });
            }
        }
    }
    Ok(first.and_then(|(_, p)| p))
}

/// How two plans of one run differ, one line per difference (at most 8), as
/// `settings.target: "a" vs "b"`; empty when they agree. Not compared:
/// where each machine found a scenario file (`scenario_path`; its sha256
/// is) and `settings.concurrency` (how fast a shard ran, not what).
pub fn plan_differences(a: &RunPlan, b: &RunPlan) -> Vec<String> {
    let mut out = Vec::new();
    diff_values("", &comparable(a), &comparable(b), &mut out);
    if out.len() > 8 {
        let more = out.len() - 8;
        out.truncate(8);
        out.push(format!("and {more} more"));
    }
    out
}

/// A plan as compared: audits keyed by id, machine-specific fields dropped.
fn comparable(plan: &RunPlan) -> Value {
    let mut v = serde_json::to_value(plan).unwrap_or(Value::Null);
    if let Some(settings) = v.get_mut("settings").and_then(Value::as_object_mut) {
        settings.remove("concurrency");
    }
    let audits: serde_json::Map<String, Value> = plan
        .audits
        .iter()
        .map(|a| {
            let mut av = serde_json::to_value(a).unwrap_or(Value::Null);
            if let Some(o) = av.as_object_mut() {
                o.remove("scenario_path");
                o.remove("audit_id");
            }
            (a.audit_id.clone(), av)
        })
        .collect();
    let dimensions: serde_json::Map<String, Value> = plan
        .dimensions
        .iter()
        .map(|d| (d.name.clone(), serde_json::to_value(d).unwrap_or(Value::Null)))
        .collect();
    if let Some(o) = v.as_object_mut() {
        o.insert("audits".into(), Value::Object(audits));
        o.insert("dimensions".into(), Value::Object(dimensions));
    }
    v
}

fn diff_values(at: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => diff_values(&path, p, q, out),
                    (Some(_), None) => out.push(format!("{path}: only in the first")),
                    (None, Some(_)) => out.push(format!("{path}: only in the second")),
                    (None, None) => {}
                }
            }
        }
        _ if a != b => out.push(format!("{at}: {} vs {}", short(a), short(b))),
        _ => {}
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

fn merge_run(
    run_id: &str,
    holders: &[&Store],
    plan: Option<RunPlan>,
    into: &Store,
) -> Result<RunMerge, MergeError> {
    let mut m =
        RunMerge { run_id: run_id.to_string(), sources: holders.len(), ..Default::default() };
    if !into.run_dir(run_id).join("run.json").is_file() {
        let record = holders[0].read_run(run_id)?;
        let created = match &plan {
            Some(p) => into.create_run_with_plan(&record, p),
            None => into.create_run(&record),
        };
        match created {
            // Another merge created it meanwhile: its plan was checked alike.
            Ok(_) | Err(StoreError::RunExists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for s in holders {
        copy_shard_records(s, into, run_id)?;
        for t in s.transcripts(run_id)? {
            match into.offer_transcript(&t)? {
                Offer::Added => m.added += 1,
                Offer::Replaced => m.replaced += 1,
                Offer::Kept => m.kept += 1,
            }
        }
        m.labels += merge_labels(s, into, run_id)?;
    }
    // The index follows the files.
    into.view(run_id)?;
    into.flush_index();
    if let Some(plan) = plan {
        missing(into, run_id, &plan, &mut m)?;
    }
    Ok(m)
}

fn copy_shard_records(from: &Store, into: &Store, run_id: &str) -> Result<(), StoreError> {
    let present: BTreeSet<(u32, u32)> =
        into.shard_records(run_id)?.iter().map(|r| (r.index, r.count)).collect();
    for r in from.shard_records(run_id)? {
        if !present.contains(&(r.index, r.count)) {
            into.write_shard_record(run_id, &r)?;
        }
    }
    Ok(())
}

/// Which planned audits the target lacks, per shard record.
fn missing(into: &Store, run_id: &str, plan: &RunPlan, m: &mut RunMerge) -> Result<(), StoreError> {
    let finished: BTreeSet<String> = into
        .transcripts(run_id)?
        .into_iter()
        .filter(|t| t.status.is_finished())
        .map(|t| t.audit_id)
        .collect();
    let planned: Vec<&str> = plan.audits.iter().map(|a| a.audit_id.as_str()).collect();
    m.planned = planned.len();
    m.finished = planned.iter().filter(|a| finished.contains(**a)).count();
    let shards: Vec<ShardRecord> = into.shard_records(run_id)?;
    let mut in_a_shard = BTreeSet::new();
    for r in &shards {
        let audits: Vec<String> =
            r.audits.iter().filter(|a| !finished.contains(*a)).cloned().collect();
        in_a_shard.extend(r.audits.iter().map(String::as_str));
        m.missing.push(MissingAudits {
            shard: Some((r.index, r.count)),
            planned: r.audits.len(),
            audits,
        });
    }
    let rest: Vec<&str> = planned.into_iter().filter(|a| !in_a_shard.contains(a)).collect();
    if shards.is_empty() || !rest.is_empty() {
        m.missing.push(MissingAudits {
            shard: None,
            planned: rest.len(),
            audits: rest
                .iter()
                .filter(|a| !finished.contains(**a))
                .map(|a| a.to_string())
                .collect(),
        });
    }
    Ok(())
}

/// What [`Store::offer_transcript`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Added,
    Replaced,
    Kept,
}

/// How good a copy of an audit is: finished first, then the newest verdict.
fn rank(t: &Transcript) -> (bool, Option<DateTime<Utc>>) {
    (t.status.is_finished(), t.verdicts.iter().map(|v| v.created_at).max())
}

impl Store {
    /// Stores `t` unless this store holds as good a copy of the audit
    /// (finished beats unfinished; then the newer verdict), holding the
    /// file's write lock throughout, so a concurrent writer is not lost.
    pub fn offer_transcript(&self, t: &Transcript) -> Result<Offer, StoreError> {
        crate::check_id(&t.run_id)?;
        check_audit_id(&t.audit_id)?;
        let path: PathBuf = self.run_dir(&t.run_id).join(format!("{}.json", t.audit_id));
        let _lock = crate::lock::lock_file(&path)?;
        let outcome = if !path.exists() {
            Offer::Added
        } else {
            match read_json::<Transcript>(&path) {
                Ok(ours) if rank(&ours) >= rank(t) => return Ok(Offer::Kept),
                Ok(_) => Offer::Replaced,
                Err(e) => {
                    tracing::warn!("{e}; replaced by the merged copy");
                    Offer::Replaced
                }
            }
        };
        let path = self.put_transcript(path, t)?;
        if t.status.is_finished() {
            let kind = if outcome == Offer::Added {
                crate::mirror::PutKind::CreateOnly
            } else {
                crate::mirror::PutKind::Overwrite
            };
            if let crate::mirror::Put::AlreadyThere(_) = self.mirror_file(&path, kind)? {
                tracing::warn!(
                    "{}: the mirror already holds this audit; it keeps its copy",
                    path.display()
                );
            }
        }
        Ok(outcome)
    }
}

/// Merges `from`'s labels of run `run_id` into `into`; returns how many
/// label files changed.
fn merge_labels(from: &Store, into: &Store, run_id: &str) -> Result<usize, StoreError> {
    let theirs = crate::labels::run_labels(from, run_id)?;
    let ours = crate::labels::run_labels(into, run_id)?;
    let mut changed = 0;
    for (audit, labels) in theirs {
        let current = ours.get(&audit).cloned().unwrap_or_default();
        let mut merged = current.clone();
        apply_newer(&mut merged, &labels);
        if merged == current {
            continue;
        }
        // Again under the file's lock: a label set meanwhile is kept.
        into.update_labels(run_id, &audit, |now| apply_newer(now, &labels))?;
        changed += 1;
    }
    Ok(changed)
}

fn apply_newer(now: &mut BTreeMap<String, Label>, incoming: &BTreeMap<String, Label>) {
    for (dim, label) in incoming {
        if now.get(dim).is_none_or(|l| label.at > l.at) {
            now.insert(dim.clone(), label.clone());
        }
    }
}
