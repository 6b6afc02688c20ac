//! The runs page (`/`): every run of the store, newest first, with its
//! models, audits by status, tokens and cost, and the form that opens the
//! comparison of two runs.

use agar_core::AuditState;
use agar_store::RunOverview;
use axum::extract::State;
use axum::response::Html;
use serde::Serialize;

use crate::app::AppState;
use crate::error::WebError;
use crate::table::encode;

#[derive(Debug, Serialize)]
struct RunLine {
    run_id: String,
    href: String,
    created: String,
    models: Vec<(String, String)>,
    audits: usize,
    statuses: Vec<(String, usize)>,
    tokens: String,
    cost: Option<String>,
    live: bool,
}

#[derive(Debug, Serialize)]
struct RunsPage {
    title: String,
    store: String,
    runs: Vec<RunLine>,
    /// Run ids oldest first, for the comparison form.
    ids: Vec<String>,
    compare_a: Option<String>,
    compare_b: Option<String>,
    poll: String,
    stamp: String,
}

/// Counts by status, in the order a reviewer reads them ([`AuditState::ALL`]).
pub(crate) fn ordered_statuses(
    by_status: &std::collections::BTreeMap<String, usize>,
) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = AuditState::ALL
        .iter()
        .filter_map(|s| by_status.get(s.as_str()).map(|n| (s.to_string(), *n)))
        .collect();
    for (k, v) in by_status {
        if k.parse::<AuditState>().is_err() {
            out.push((k.clone(), *v));
        }
    }
    out
}

pub(crate) fn fmt_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn fmt_tokens(input: u64, output: u64) -> String {
    format!("{input} in / {output} out")
}

fn line(o: RunOverview) -> RunLine {
    RunLine {
        href: format!("/runs/{}", encode(&o.run_id)),
        created: fmt_time(o.created_at),
        models: o.models.iter().map(|(r, m)| (r.to_string(), m.clone())).collect(),
        audits: o.audits,
        statuses: ordered_statuses(&o.by_status),
        tokens: fmt_tokens(o.input_tokens, o.output_tokens),
        cost: o.cost_usd.map(|c| format!("${c:.4}")),
        live: o.live,
        run_id: o.run_id,
    }
}

/// One run's line: reused while the run's stamp holds (from the run page's
/// figures when they are current), else read from the store.
fn overview(state: &AppState, run_id: &str) -> Result<RunOverview, WebError> {
    let stamp = crate::live::stamp_run(state.store(), run_id);
    if let Some((seen, o)) = state.overviews_cache().get(run_id)
        && *seen == stamp.value
    {
        return Ok(o.clone());
    }
    let cached = state
        .runs_cache()
        .get(run_id)
        .filter(|c| c.stamp == stamp.value)
        .map(|c| c.data.audits.view.overview());
    let o = match cached {
        Some(o) => o,
        None => state
            .store()
            .view(run_id)
            .map_err(|e| WebError::from_store(&format!("run {run_id:?}"), e))?
            .overview(),
    };
    if stamp.settled() {
        state.overviews_cache().insert(run_id.to_string(), (stamp.value, o.clone()));
    }
    Ok(o)
}

/// `GET /`.
pub(crate) async fn page(State(state): State<AppState>) -> Result<Html<String>, WebError> {
    let html = state
        .blocking(|s| {
            let store = s.store();
            let stamp = crate::live::store_stamp_of(store)?;
            let ids =
                store.run_ids().map_err(|e| WebError::Internal(format!("listing runs: {e}")))?;
            let mut overviews = Vec::with_capacity(ids.len());
            for id in &ids {
                match overview(s, id) {
                    Ok(o) => overviews.push(o),
                    // A run deleted meanwhile, or unreadable: left out, logged.
                    Err(e) => tracing::warn!("run {id}: {e}"),
                }
            }
            overviews.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.run_id.cmp(&b.run_id)));
            let ids: Vec<String> = overviews.iter().map(|o| o.run_id.clone()).collect();
            let n = ids.len();
            let mut runs: Vec<RunLine> = overviews.into_iter().map(line).collect();
            runs.reverse();
            let page = RunsPage {
                title: "Runs".into(),
                store: store.root().display().to_string(),
                compare_a: (n >= 2).then(|| ids[n - 2].clone()),
                compare_b: ids.last().cloned(),
                ids,
                runs,
                poll: "/api/stamp".into(),
                stamp,
            };
            crate::templates::render("runs.html", &page)
        })
        .await?;
    Ok(Html(html))
}
