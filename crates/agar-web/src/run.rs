//! The run page (`/runs/{run}`): the run's configuration and figures, the
//! judge's per-dimension summary, reviewer-judge agreement, and the audit
//! table (one column per dimension, coloured by each dimension's palette,
//! sortable and filterable; see `table`).
//!
//! Everything but the table's selection is computed once per state of the
//! run's files ([`RunData`], kept while the run's stamp holds; see
//! `live::RunStamp`), so sorting, filtering and paging a large run only
//! reorders rows already built.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use agar_report::{AuditRecord, RunSummary, summarize_records};
use agar_store::{RunView, Store};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Serialize;

use crate::app::AppState;
use crate::dims::{DimInfo, Dims};
use crate::error::WebError;
use crate::labels::{AgreementReport, agreement, run_labels};
use crate::runs::{fmt_time, fmt_tokens, ordered_statuses};
use crate::table::{self, Cell, Row, STATUS_CHOICES, TableQuery, TableSpec, encode, score_class};

/// Runs whose figures are kept at once.
const RUNS_KEPT: usize = 16;

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
    pub(crate) view: RunView,
    summary: RunSummary,
    summary_dims: Vec<SummaryDim>,
    /// The table's dimension columns, in display order.
    dims: Vec<DimInfo>,
    rows: Vec<Row>,
    tag_choices: Vec<String>,
    agreement: AgreementReport,
}

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
    live: bool,
    statuses: Vec<(String, usize)>,
    audits: usize,
    tokens: String,
    cost: Option<String>,
    judge_failed: usize,
    judge_refused: usize,
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
    status_choices: &'static [&'static str],
    dims: &'a [DimInfo],
    agreement: &'a AgreementReport,
    poll: String,
    stamp: String,
}

/// Tags of the audit's scenario: from the cache, or read from its transcript
/// (a run's scenarios do not change, so once read they stay true).
fn tags_of(
    state: &AppState,
    store: &Store,
    run_id: &str,
    created: i64,
    r: &AuditRecord,
) -> Vec<String> {
    let key = (run_id.to_string(), created, r.scenario_id.clone());
    if let Some(tags) = state.tags_cache().get(&key) {
        return tags.clone();
    }
    if !r.is_finished() {
        return Vec::new();
    }
    match store.read_transcript(run_id, &r.audit_id) {
        Ok(t) => {
            state.tags_cache().insert(key, t.scenario.tags.clone());
            t.scenario.tags
        }
        Err(e) => {
            tracing::warn!("tags of {run_id}/{}: {e}", r.audit_id);
            Vec::new()
        }
    }
}

/// Reads a run and computes its figures.
fn compute(state: &AppState, run_id: &str) -> Result<RunData, WebError> {
    let store = state.store();
    let view =
        store.view(run_id).map_err(|e| WebError::from_store(&format!("run {run_id:?}"), e))?;
    let plan = store.read_plan(run_id).ok();
    let dims_known = Dims::from_plans(&plan.iter().collect::<Vec<_>>());
    let summary = summarize_records(&view.audits);
    let mut names: BTreeSet<String> = summary.dimensions.keys().cloned().collect();
    if let Some(plan) = &plan {
        names.extend(plan.dimensions.iter().map(|d| d.name.clone()));
    }
    names.extend(view.record.settings.dimensions.iter().cloned());
    let dims = dims_known.ordered(&names);

    let labels = run_labels(store, run_id)?;
    let created = view.record.created_at.timestamp();
    let tags = |r: &AuditRecord| tags_of(state, store, run_id, created, r);
    let rows = table::rows(run_id, &view.audits, &dims, &labels, &tags);
    let tag_choices: Vec<String> = rows
        .iter()
        .flat_map(|r| r.tags.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let by_id: BTreeMap<&str, &AuditRecord> =
        view.audits.iter().map(|a| (a.audit_id.as_str(), a)).collect();
    let agreement = agreement(run_id, &labels, &dims_known, |audit, dim| {
        by_id.get(audit).and_then(|a| a.scores()).and_then(|s| s.get(dim)).copied()
    });
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
    Ok(RunData { view, summary, summary_dims, dims, rows, tag_choices, agreement })
}

/// The run's figures: reused while its stamp holds, else read again (and
/// kept once the run's files have settled).
pub(crate) fn run_data(state: &AppState, run_id: &str) -> Result<(Arc<RunData>, String), WebError> {
    agar_store::check_id(run_id).map_err(|e| WebError::from_store("run", e))?;
    let stamp = crate::live::stamp_run(state.store(), run_id);
    if let Some((seen, data)) = state.runs_cache().get(run_id)
        && *seen == stamp.value
    {
        return Ok((Arc::clone(data), stamp.value));
    }
    let data = Arc::new(compute(state, run_id)?);
    if stamp.settled() {
        let mut cache = state.runs_cache();
        if cache.len() >= RUNS_KEPT && !cache.contains_key(run_id) {
            cache.clear();
        }
        cache.insert(run_id.to_string(), (stamp.value.clone(), Arc::clone(&data)));
    }
    Ok((data, stamp.value))
}

/// `GET /runs/{run}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
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
    let dims = &data.dims;
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
    let view = &data.view;
    let overview = view.overview();
    let given = |v: &Option<String>| v.clone().unwrap_or_default();
    let page = RunPage {
        title: format!("Run {run_id}"),
        run_id,
        created: fmt_time(view.record.created_at),
        agar_version: &view.record.agar_version,
        models: view.record.models.iter().map(|(r, m)| (r.to_string(), m.clone())).collect(),
        live: view.live,
        statuses: ordered_statuses(&overview.by_status),
        audits: data.rows.len(),
        tokens: fmt_tokens(overview.input_tokens, overview.output_tokens),
        cost: overview.cost_usd.map(|c| format!("${c:.4}")),
        judge_failed: data.summary.judge_failed,
        judge_refused: data.summary.judge_refused,
        unverified: data.summary.unverified_citations,
        summary: &data.summary_dims,
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
        tag_choices: &data.tag_choices,
        status_choices: &STATUS_CHOICES,
        dims,
        agreement: &data.agreement,
        poll: format!("/api/runs/{}/stamp", encode(run_id)),
        stamp,
    };
    crate::templates::render("run.html", &page)
}
