//! The run page (`/runs/{run}`): the run's configuration and figures, the
//! judge's per-dimension summary, reviewer-judge agreement, and the audit
//! table (one column per dimension, coloured by each dimension's palette,
//! sortable and filterable; see `table`).
//!
//! Everything but the table's selection is computed once per state of the
//! run's files ([`RunData`], kept while the run's stamp holds; see
//! `live::RunStamp`), so sorting, filtering and paging a large run only
//! reorders rows already built. When only the run's labels changed, the
//! figures of its audits are kept and only the labels are read again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use agar_report::{AuditRecord, RunSummary, summarize_records};
use agar_store::{RunPlan, RunView, Store};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Serialize;

use crate::app::AppState;
use crate::dims::{DimInfo, Dims};
use crate::error::WebError;
use crate::ids::RunId;
use crate::labels::{AgreementReport, agreement, run_labels};
use crate::runs::{fmt_time, fmt_tokens, ordered_statuses};
use crate::table::{self, Cell, Row, StatusFilter, TableQuery, TableSpec, encode, score_class};

/// Runs whose figures are kept at once.
const RUNS_KEPT: usize = 16;

/// A file's size, modification time and inode (see [`file_stamp`]).
pub(crate) type FileStamp = (u64, SystemTime, u64);

#[derive(Debug, Clone, Serialize)]
struct SummaryDim {
    info: DimInfo,
    count: usize,
    mean: String,
    /// CSS classes of the mean, rounded, coloured like a score.
    mean_class: &'static str,
    p90: String,
    max: u8,
    high: usize,
    worst: Vec<(String, String)>,
    /// Judge-sample agreement, when verdicts combined several samples.
    samples: Option<String>,
}

/// A run's figures: everything the page shows but the table's selection.
#[derive(Debug)]
pub(crate) struct RunData {
    /// What the run's audits say (shared while only labels change).
    pub(crate) audits: Arc<AuditsData>,
    /// Every audit's row, with its labels.
    rows: Vec<Row>,
    /// The labels the rows and `agreement` show: audit id -> dimension -> label.
    labels: RunLabels,
    agreement: AgreementReport,
}

/// The figures of a run's audits, labels aside.
#[derive(Debug)]
pub(crate) struct AuditsData {
    pub(crate) view: RunView,
    summary: RunSummary,
    summary_dims: Vec<SummaryDim>,
    /// What is known of dimensions (the run's plan, then the library).
    dims_known: Dims,
    /// The table's dimension columns, in display order.
    dims: Vec<DimInfo>,
    tag_choices: Vec<String>,
}

type RunLabels = BTreeMap<String, BTreeMap<String, agar_store::Label>>;

/// A sortable column head.
#[derive(Debug, Serialize)]
struct Head {
    key: String,
    label: String,
    title: String,
    palette: String,
    href: String,
    /// `asc` or `desc` when the table is sorted by it.
    sorted: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Filters {
    tag: String,
    status: String,
    dim: String,
    min: String,
    max: String,
    q: String,
}

/// A row of the page, with its score cells.
#[derive(Debug, Serialize)]
struct PageRow<'a> {
    #[serde(flatten)]
    row: &'a Row,
    cells: Vec<Cell>,
}

#[derive(Debug, Serialize)]
struct RunPage<'a> {
    title: String,
    run_id: &'a str,
    created: String,
    agar_version: &'a str,
    models: Vec<(String, String)>,
    /// The demonstration banner, when a role ran on a local model.
    banner: Option<&'static str>,
    live: bool,
    statuses: Vec<(String, usize)>,
    audits: usize,
    tokens: String,
    cost: Option<String>,
    judge_failed: usize,
    judge_refused: usize,
    judge_unsupported: usize,
    unverified: usize,
    summary: &'a [SummaryDim],
    heads: BTreeMap<&'static str, Head>,
    columns: Vec<Head>,
    rows: Vec<PageRow<'a>>,
    matched: usize,
    page: usize,
    pages: usize,
    first_row: usize,
    last_row: usize,
    prev: Option<String>,
    next: Option<String>,
    filters: Filters,
    sort: &'a str,
    dir: &'static str,
    tag_choices: &'a [String],
    status_choices: Vec<&'static str>,
    dims: &'a [DimInfo],
    agreement: &'a AgreementReport,
    poll: String,
    stamp: String,
}

/// Tags of the run's scenarios, by scenario id: from the cache, else read
/// from one finished transcript of each scenario (a run's scenarios do not
/// change, so once read they stay true). A scenario with no readable
/// finished transcript has no tags yet.
fn scenario_tags(
    state: &AppState,
    store: &Store,
    run_id: &str,
    created: i64,
    audits: &[AuditRecord],
) -> HashMap<String, Vec<String>> {
    let key = (run_id.to_string(), created);
    let mut tags = state.tags_cache().get(&key).cloned().unwrap_or_default();
    let mut found = Vec::new();
    for r in audits {
        if !r.is_finished() || tags.contains_key(&r.scenario_id) {
            continue;
        }
        match store.read_transcript(run_id, &r.audit_id) {
            Ok(t) => {
                tags.insert(r.scenario_id.clone(), t.scenario.tags.clone());
                found.push((r.scenario_id.clone(), t.scenario.tags));
            }
            Err(e) => tracing::warn!("tags of {run_id}/{}: {e}", r.audit_id),
        }
    }
    if !found.is_empty() {
        state.tags_cache().entry(key).or_default().extend(found);
    }
    tags
}

/// The run's plan, parsed once per state of its `plan.json` (it is large:
/// every planned audit) and shared; plans of up to [`RUNS_KEPT`] runs are kept.
fn read_plan(state: &AppState, run_id: &str) -> Option<Arc<RunPlan>> {
    let path = state.store().run_dir(run_id).join(agar_store::plan::PLAN_FILE);
    let stamp = file_stamp(&path)?;
    if let Some((seen, plan)) = state.plans_cache().get(run_id)
        && *seen == stamp
    {
        return Some(Arc::clone(plan));
    }
    let plan = Arc::new(state.store().read_plan(run_id).ok()?);
    // Kept only if the file did not change while it was read.
    if file_stamp(&path) == Some(stamp) {
        let mut cache = state.plans_cache();
        if cache.len() >= RUNS_KEPT && !cache.contains_key(run_id) {
            cache.clear();
        }
        cache.insert(run_id.to_string(), (stamp, Arc::clone(&plan)));
    }
    Some(plan)
}

/// What identifies a version of a file: a rewrite (always a rename into
/// place: a new inode, a new modification time) changes it.
fn file_stamp(path: &std::path::Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), meta.modified().ok()?, inode))
}

/// Reads a run and computes its figures.
fn compute(state: &AppState, run_id: &str) -> Result<RunData, WebError> {
    let store = state.store();
    let view =
        store.view(run_id).map_err(|e| WebError::from_store(&format!("run {run_id:?}"), e))?;
    let plan = read_plan(state, run_id);
    let dims_known = Dims::from_plans(&plan.iter().map(|p| &**p).collect::<Vec<_>>());
    let summary = summarize_records(&view.audits);
    let mut names: BTreeSet<String> = summary.dimensions.keys().cloned().collect();
    if let Some(plan) = &plan {
        names.extend(plan.dimensions.iter().map(|d| d.name.clone()));
    }
    names.extend(view.record.settings.dimensions.iter().cloned());
    let dims = dims_known.ordered(&names);

    let labels = run_labels(store, run_id)?;
    let created = view.record.created_at.timestamp();
    let tags = scenario_tags(state, store, run_id, created, &view.audits);
    let rows = table::rows(run_id, &view.audits, &dims, &labels, &tags);
    let tag_choices: Vec<String> = rows
        .iter()
        .flat_map(|r| r.tags.iter().map(String::as_str))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_string)
        .collect();

    let audit_href = |id: &str| format!("/runs/{}/audits/{}", encode(run_id), encode(id));
    let summary_dims = dims
        .iter()
        .filter_map(|d| {
            let st = summary.dimensions.get(&d.name)?;
            Some(SummaryDim {
                info: d.clone(),
                count: st.count,
                mean: format!("{:.2}", st.mean),
                mean_class: score_class(d.palette, st.mean.round() as u8),
                p90: format!("{:.0}", st.p90),
                max: st.max,
                high: st.high,
                worst: st
                    .worst_audits
                    .iter()
                    .take(3)
                    .map(|id| (id.clone(), audit_href(id)))
                    .collect(),
                samples: st.agreement.as_ref().map(|a| {
                    format!(
                        "{:.0}% within 1 (mean deviation {:.2})",
                        a.within_one * 100.0,
                        a.mean_abs_dev
                    )
                }),
            })
        })
        .collect();
    let audits =
        Arc::new(AuditsData { view, summary, summary_dims, dims_known, dims, tag_choices });
    let agreement = agreement_of(run_id, &audits, &labels);
    Ok(RunData { audits, rows, labels, agreement })
}

/// `prev`'s figures with the run's labels read again: for a run whose
/// audits did not change since `prev` was computed, only its labels.
fn relabel(state: &AppState, run_id: &str, prev: &RunData) -> Result<RunData, WebError> {
    let labels = run_labels(state.store(), run_id)?;
    let mut rows = prev.rows.clone();
    // Rows are in audit id order (the store's view is).
    for audit in prev.labels.keys().chain(labels.keys()) {
        if let Ok(i) = rows.binary_search_by(|r| r.audit_id.as_str().cmp(audit)) {
            rows[i].set_labels(&prev.audits.dims, labels.get(audit));
        }
    }
    let agreement = agreement_of(run_id, &prev.audits, &labels);
    Ok(RunData { audits: Arc::clone(&prev.audits), rows, labels, agreement })
}

/// Reviewer-judge agreement over the run's labels.
fn agreement_of(run_id: &str, audits: &AuditsData, labels: &RunLabels) -> AgreementReport {
    let records = &audits.view.audits;
    agreement(run_id, labels, &audits.dims_known, |audit, dim| {
        let i = records.binary_search_by(|a| a.audit_id.as_str().cmp(audit)).ok()?;
        records[i].scores().and_then(|s| s.get(dim)).copied()
    })
}

/// The run's figures: reused while its stamp holds, relabelled while only
/// its labels changed, else read again (and kept once the run's files have
/// settled).
pub(crate) fn run_data(state: &AppState, run_id: &str) -> Result<(Arc<RunData>, String), WebError> {
    agar_store::check_id(run_id).map_err(|e| WebError::from_store("run", e))?;
    let stamp = crate::live::stamp_run(state.store(), run_id);
    let cached = state.runs_cache().get(run_id).cloned();
    let data = match cached {
        Some(c) if c.stamp == stamp.value => return Ok((c.data, stamp.value)),
        Some(c) if c.audits_stamp == stamp.audits => Arc::new(relabel(state, run_id, &c.data)?),
        _ => Arc::new(compute(state, run_id)?),
    };
    if stamp.settled() {
        let mut cache = state.runs_cache();
        let replaced: Vec<_> = if cache.len() >= RUNS_KEPT && !cache.contains_key(run_id) {
            cache.drain().map(|(_, c)| c.data).collect()
        } else {
            cache.remove(run_id).map(|c| c.data).into_iter().collect()
        };
        let entry = CachedRun {
            stamp: stamp.value.clone(),
            audits_stamp: stamp.audits,
            data: Arc::clone(&data),
        };
        cache.insert(run_id.to_string(), entry);
        drop(cache);
        drop_later(replaced);
    }
    Ok((data, stamp.value))
}

/// A run's figures as kept between requests, with the stamps they were read under.
#[derive(Debug, Clone)]
pub(crate) struct CachedRun {
    /// The run's whole stamp (`live::RunStamp::value`).
    pub(crate) stamp: String,
    /// The part of it that does not move with labels (`live::RunStamp::audits`).
    pub(crate) audits_stamp: String,
    pub(crate) data: Arc<RunData>,
}

/// Drops figures no longer kept on a thread of their own: freeing a large
/// run's records and rows takes tens of milliseconds, which the request
/// that replaced them should not wait for.
fn drop_later(replaced: Vec<Arc<RunData>>) {
    if replaced.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new().name("agar-drop".into()).spawn(move || {
        drop(replaced);
    });
    if let Err(e) = spawned {
        // Dropped here with the closure, then.
        tracing::debug!("no thread to drop old figures on: {e}");
    }
}

/// `GET /runs/{run}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    path: Result<Path<RunId>, PathRejection>,
    query: Result<Query<TableQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let (Path(run), Query(query)) = (path?, query?);
    let html = state.blocking(move |s| render(s, &run, &query)).await?;
    Ok(Html(html))
}

pub(crate) fn render(
    state: &AppState,
    run_id: &str,
    query: &TableQuery,
) -> Result<String, WebError> {
    let (data, stamp) = run_data(state, run_id)?;
    let audits = &data.audits;
    let dims = &audits.dims;
    let spec = TableSpec::parse(query, dims)?;
    let sel = table::select(&data.rows, &spec);

    let head = |key: &str, label: &str, title: &str, palette: &str| {
        let sorted_here = spec.sort_name() == key;
        let dir = if sorted_here {
            if spec.is_desc() { "asc" } else { "desc" }
        } else if key.starts_with("d.") || matches!(key, "cost" | "unverified" | "labels") {
            "desc"
        } else {
            "asc"
        };
        Head {
            key: key.to_string(),
            label: label.to_string(),
            title: title.to_string(),
            palette: palette.to_string(),
            href: spec.link(
                dims,
                &[("sort", Some(key.to_string())), ("dir", Some(dir.into())), ("page", None)],
            ),
            sorted: sorted_here.then_some(if spec.is_desc() { "desc" } else { "asc" }),
        }
    };
    let mut heads = BTreeMap::new();
    for (key, label, title) in [
        ("audit", "audit", "audit id"),
        ("scenario", "scenario", "scenario id and title"),
        ("status", "status", "audit status"),
        ("unverified", "unverified", "citations whose quote was not found"),
        ("labels", "labels", "reviewer labels: agree / disagree"),
        ("cost", "cost", "USD"),
    ] {
        heads.insert(key, head(key, label, title, ""));
    }
    let columns: Vec<Head> = dims
        .iter()
        .map(|d| head(&format!("d.{}", d.name), &d.display, &d.description, d.palette))
        .collect();

    let first_row = if sel.matched == 0 { 0 } else { (sel.page - 1) * table::PAGE_ROWS + 1 };
    let last_row = (first_row + sel.rows.len()).saturating_sub(1);
    let page_link = |p: usize| spec.link(dims, &[("page", (p > 1).then(|| p.to_string()))]);
    let view = &audits.view;
    let overview = view.overview();
    let given = |v: &Option<String>| v.clone().unwrap_or_default();
    let page = RunPage {
        title: format!("Run {run_id}"),
        run_id,
        created: fmt_time(view.record.created_at),
        agar_version: &view.record.agar_version,
        models: view.record.models.iter().map(|(r, m)| (r.to_string(), m.clone())).collect(),
        banner: view.record.is_demonstration().then_some(agar_core::DEMONSTRATION_BANNER),
        live: view.live,
        statuses: ordered_statuses(&overview.by_status),
        audits: data.rows.len(),
        tokens: fmt_tokens(overview.input_tokens, overview.output_tokens),
        cost: overview.cost_usd.map(|c| format!("${c:.4}")),
        judge_failed: audits.summary.judge_failed,
        judge_refused: audits.summary.judge_refused,
        judge_unsupported: audits.summary.judge_unsupported,
        unverified: audits.summary.unverified_citations,
        summary: &audits.summary_dims,
        heads,
        columns,
        rows: sel
            .rows
            .iter()
            .map(|i| PageRow { row: &data.rows[*i], cells: data.rows[*i].cells(dims) })
            .collect(),
        matched: sel.matched,
        page: sel.page,
        pages: sel.pages,
        first_row,
        last_row,
        prev: (sel.page > 1).then(|| page_link(sel.page - 1)),
        next: (sel.page < sel.pages).then(|| page_link(sel.page + 1)),
        filters: Filters {
            tag: given(&query.tag),
            status: given(&query.status),
            dim: given(&query.dim),
            min: given(&query.min),
            max: given(&query.max),
            q: given(&query.q),
        },
        sort: spec.sort_name(),
        dir: if spec.is_desc() { "desc" } else { "asc" },
        tag_choices: &audits.tag_choices,
        status_choices: StatusFilter::choices(),
        dims,
        agreement: &data.agreement,
        poll: format!("/api/runs/{}/stamp", encode(run_id)),
        stamp,
    };
    crate::templates::render("run.html", &page)
}

#[cfg(test)]
mod tests {
    use agar_store::{Agreement, Label};

    use super::*;
    use crate::test_fixture::{at, review_store};

    fn label(agreement: Agreement) -> Label {
        Label { agreement, note: "n".into(), reviewer: None, at: at(5) }
    }

    /// What the page shows of every row (its fields and cells) and the agreement figures.
    fn shown(data: &RunData) -> serde_json::Value {
        let rows: Vec<_> =
            data.rows.iter().map(|r| serde_json::json!([r, r.cells(&data.audits.dims)])).collect();
        serde_json::json!({ "rows": rows, "agreement": data.agreement })
    }

    #[test]
    fn relabelled_figures_equal_figures_read_afresh() {
        let (_dir, store) = review_store();
        store.set_label("nightly", "leak", "concerning", label(Agreement::Agree)).unwrap();
        store.set_label("nightly", "poem", "admirable", label(Agreement::Agree)).unwrap();
        let state = AppState::new(store.clone());
        let before = compute(&state, "nightly").unwrap();
        // An audit's label file deleted, a label changed, one added (on an
        // audit with none).
        let leak = store.run_dir("nightly").join("labels").join("leak.json");
        std::fs::remove_file(leak).unwrap();
        store.set_label("nightly", "poem", "admirable", label(Agreement::Disagree)).unwrap();
        store.set_label("nightly", "noreach", "concerning", label(Agreement::Agree)).unwrap();
        let relabelled = relabel(&state, "nightly", &before).unwrap();
        let fresh = compute(&state, "nightly").unwrap();
        assert_eq!(shown(&relabelled), shown(&fresh));
        assert_ne!(shown(&before), shown(&fresh), "the labels did change");
        assert!(Arc::ptr_eq(&relabelled.audits, &before.audits), "the audits' figures are shared");
        assert_eq!(relabelled.labels, fresh.labels);
    }
}
