//! The run page (`/runs/{run}`): the run's configuration and figures, the
//! judge's per-dimension summary, reviewer-judge agreement, and the audit
//! table (one column per dimension, coloured by each dimension's palette,
//! sortable and filterable; see `table`).

use std::collections::{BTreeMap, BTreeSet};

use agar_report::{AuditRecord, summarize_records};
use agar_store::Store;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Serialize;

use crate::app::AppState;
use crate::dims::{DimInfo, Dims};
use crate::error::WebError;
use crate::labels::{AgreementReport, agreement, run_labels};
use crate::runs::{fmt_time, fmt_tokens, ordered_statuses};
use crate::table::{self, Row, STATUS_CHOICES, TableQuery, TableSpec, encode};

#[derive(Debug, Serialize)]
struct SummaryDim {
    info: DimInfo,
    count: usize,
    mean: String,
    /// CSS classes of the mean, rounded, coloured like a score.
    mean_class: String,
    p90: String,
    max: u8,
    high: usize,
    worst: Vec<(String, String)>,
    /// Judge-sample agreement, when verdicts combined several samples.
    samples: Option<String>,
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

#[derive(Debug, Serialize)]
struct RunPage {
    title: String,
    run_id: String,
    created: String,
    agar_version: String,
    models: Vec<(String, String)>,
    live: bool,
    from_index: bool,
    statuses: Vec<(String, usize)>,
    audits: usize,
    tokens: String,
    cost: Option<String>,
    judge_failed: usize,
    judge_refused: usize,
    unverified: usize,
    summary: Vec<SummaryDim>,
    heads: BTreeMap<&'static str, Head>,
    columns: Vec<Head>,
    rows: Vec<Row>,
    matched: usize,
    page: usize,
    pages: usize,
    first_row: usize,
    last_row: usize,
    prev: Option<String>,
    next: Option<String>,
    filters: Filters,
    sort: String,
    dir: &'static str,
    tag_choices: Vec<String>,
    status_choices: Vec<&'static str>,
    dims: Vec<DimInfo>,
    agreement: AgreementReport,
    poll: String,
    stamp: String,
}

/// Tags of the audit's scenario: from the cache, or read from its transcript
/// (a run's scenarios do not change, so once read they stay true).
fn tags_of(state: &AppState, store: &Store, run_id: &str, created: i64, r: &AuditRecord) -> Vec<String> {
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

/// `GET /runs/{run}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    Path(run): Path<String>,
    Query(query): Query<TableQuery>,
) -> Result<Html<String>, WebError> {
    let html = state.blocking(move |s| render(s, &run, &query)).await?;
    Ok(Html(html))
}

pub(crate) fn render(state: &AppState, run_id: &str, query: &TableQuery) -> Result<String, WebError> {
    let store = state.store();
    let stamp = crate::live::run_stamp_of(store, run_id);
    let view = store.view(run_id).map_err(|e| WebError::from_store(&format!("run {run_id:?}"), e))?;
    let dims_known = Dims::load(store, &[run_id]);
    let summary = summarize_records(&view.audits);
    let mut names: BTreeSet<String> = summary.dimensions.keys().cloned().collect();
    if let Ok(plan) = store.read_plan(run_id) {
        names.extend(plan.dimensions.iter().map(|d| d.name.clone()));
    }
    names.extend(view.record.settings.dimensions.iter().cloned());
    let dims = dims_known.ordered(&names);
    let spec = TableSpec::parse(query, &dims)?;

    let labels = run_labels(store, run_id)?;
    let created = view.record.created_at.timestamp();
    let tags = |r: &AuditRecord| tags_of(state, store, run_id, created, r);
    let all_rows = table::rows(run_id, &view.audits, &dims, &labels, &tags);
    let mut tag_choices: Vec<String> =
        all_rows.iter().flat_map(|r| r.tags.iter().cloned()).collect::<BTreeSet<_>>().into_iter().collect();
    tag_choices.sort();
    let total = all_rows.len();
    let sel = table::select(all_rows, &spec);

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
                mean_class: format!("score s{} {}", (st.mean.round() as u8).clamp(1, 10), d.palette),
                p90: format!("{:.0}", st.p90),
                max: st.max,
                high: st.high,
                worst: st.worst_audits.iter().take(3).map(|id| (id.clone(), audit_href(id))).collect(),
                samples: st.agreement.as_ref().map(|a| {
                    format!("{:.0}% within 1 (mean deviation {:.2})", a.within_one * 100.0, a.mean_abs_dev)
                }),
            })
        })
        .collect();

    let head = |key: &str, label: &str, title: &str, palette: &str| {
        let sorted_here = spec.sort_name() == key;
        let current_desc = spec.is_desc();
        let dir = if sorted_here {
            if current_desc { "asc" } else { "desc" }
        } else if key.starts_with("d.") || matches!(key, "cost" | "unverified") {
            "desc"
        } else {
            "asc"
        };
        Head {
            key: key.to_string(),
            label: label.to_string(),
            title: title.to_string(),
            palette: palette.to_string(),
            href: spec.link(&dims, &[("sort", Some(key.to_string())), ("dir", Some(dir.into())), ("page", None)]),
            sorted: sorted_here.then_some(if current_desc { "desc" } else { "asc" }),
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
    let page_link = |p: usize| spec.link(&dims, &[("page", (p > 1).then(|| p.to_string()))]);
    let overview = view.overview();
    let page = RunPage {
        title: format!("Run {run_id}"),
        run_id: run_id.to_string(),
        created: fmt_time(view.record.created_at),
        agar_version: view.record.agar_version.clone(),
        models: view.record.models.iter().map(|(r, m)| (r.to_string(), m.clone())).collect(),
        live: view.live,
        from_index: view.from_index,
        statuses: ordered_statuses(&overview.by_status),
        audits: total,
        tokens: fmt_tokens(overview.input_tokens, overview.output_tokens),
        cost: overview.cost_usd.map(|c| format!("${c:.4}")),
        judge_failed: summary.judge_failed,
        judge_refused: summary.judge_refused,
        unverified: summary.unverified_citations,
        summary: summary_dims,
        heads,
        columns,
        matched: sel.matched,
        page: sel.page,
        pages: sel.pages,
        first_row,
        last_row,
        prev: (sel.page > 1).then(|| page_link(sel.page - 1)),
        next: (sel.page < sel.pages).then(|| page_link(sel.page + 1)),
        rows: sel.rows,
        filters: Filters {
            tag: query.tag.clone().unwrap_or_default(),
            status: query.status.clone().unwrap_or_default(),
            dim: query.dim.clone().unwrap_or_default(),
            min: query.min.clone().unwrap_or_default(),
            max: query.max.clone().unwrap_or_default(),
            q: query.q.clone().unwrap_or_default(),
        },
        sort: spec.sort_name().to_string(),
        dir: if spec.is_desc() { "desc" } else { "asc" },
        tag_choices,
        status_choices: STATUS_CHOICES.to_vec(),
        dims,
        agreement,
        poll: format!("/api/runs/{}/stamp", encode(run_id)),
        stamp,
    };
    crate::templates::render("run.html", &page)
}
