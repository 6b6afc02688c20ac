//! The compare page (`/compare?a=RUN&b=RUN`): two runs side by side per
//! dimension: each run's mean and count, the difference of means (B minus
//! A) with the bootstrap interval computed by [`agar_report::compare`] (the
//! same figures as `agar compare`), and whether it is a significant
//! regression or improvement given the dimension's palette.

use agar_report::{Change, CompareOptions, compare};
use agar_store::RunView;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::dims::{DimInfo, Dims};
use crate::error::WebError;
use crate::table::encode;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
}

#[derive(Debug, Serialize)]
struct Side {
    n: usize,
    mean: String,
    class: String,
}

/// The interval drawn as a small SVG: coordinates computed here.
#[derive(Debug, Serialize)]
struct Bar {
    lo_x: String,
    hi_x: String,
    mid_x: String,
    zero_x: String,
}

#[derive(Debug, Serialize)]
struct Line {
    info: DimInfo,
    a: Option<Side>,
    b: Option<Side>,
    delta: String,
    interval: String,
    change: &'static str,
    /// CSS class of the change.
    change_class: &'static str,
    bar: Option<Bar>,
}

#[derive(Debug, Serialize)]
struct RunSide {
    id: String,
    href: String,
    audits: usize,
    finished: usize,
    models: Vec<(String, String)>,
    live: bool,
}

#[derive(Debug, Serialize)]
struct ComparePage {
    title: String,
    ids: Vec<String>,
    a: Option<RunSide>,
    b: Option<RunSide>,
    lines: Vec<Line>,
    confidence: String,
    resamples: usize,
    regressions: Vec<String>,
    scale: String,
}

/// Width of the interval plot, in SVG units.
const PLOT_WIDTH: f64 = 200.0;

fn side(view: &RunView) -> RunSide {
    RunSide {
        id: view.record.run_id.clone(),
        href: format!("/runs/{}", encode(&view.record.run_id)),
        audits: view.audits.len(),
        finished: view.finished().count(),
        models: view.record.models.iter().map(|(r, m)| (r.to_string(), m.clone())).collect(),
        live: view.live,
    }
}

/// `GET /compare`.
pub(crate) async fn page(
    State(state): State<AppState>,
    query: Result<Query<CompareQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let Query(q) = query?;
    let html = state.blocking(move |s| render(s, &q)).await?;
    Ok(Html(html))
}

fn render(state: &AppState, q: &CompareQuery) -> Result<String, WebError> {
    let store = state.store();
    let ids = store.run_ids().map_err(|e| WebError::Internal(format!("listing runs: {e}")))?;
    let pick = |v: &Option<String>| {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
    };
    let (Some(a_id), Some(b_id)) = (pick(&q.a), pick(&q.b)) else {
        let page = ComparePage {
            title: "Compare runs".into(),
            ids,
            a: None,
            b: None,
            lines: vec![],
            confidence: String::new(),
            resamples: 0,
            regressions: vec![],
            scale: String::new(),
        };
        return crate::templates::render("compare.html", &page);
    };
    let (a_data, _) = crate::run::run_data(state, &a_id)?;
    let (b_data, _) = crate::run::run_data(state, &b_id)?;
    let (a, b) = (&a_data.audits.view, &b_data.audits.view);
    let dims = Dims::load(store, &[&b_id, &a_id]);
    let cmp =
        compare(&a_id, &a.audits, &b_id, &b.audits, |d| dims.palette(d), CompareOptions::default());
    let names: Vec<String> = cmp.dimensions.keys().cloned().collect();
    let scale = cmp
        .dimensions
        .values()
        .flat_map(|d| [d.ci_low, d.ci_high, d.delta_mean])
        .flatten()
        .fold(1.0_f64, |m, v| m.max(v.abs()))
        .ceil();
    let x = |v: f64| format!("{:.1}", PLOT_WIDTH / 2.0 + v / scale * (PLOT_WIDTH / 2.0 - 4.0));
    let lines = dims
        .ordered(&names)
        .into_iter()
        .filter_map(|info| {
            let d = cmp.dimensions.get(&info.name)?;
            let side = |s: &Option<agar_report::DimensionStats>| {
                s.as_ref().map(|s| Side {
                    n: s.count,
                    mean: agar_report::DimensionDelta::mean_text(Some(s)),
                    class: format!(
                        "score s{} {}",
                        (s.mean.round() as u8).clamp(1, 10),
                        info.palette
                    ),
                })
            };
            let (change_class, change) = match d.change {
                Change::Regression => ("regression", "regression"),
                Change::Improvement => ("improvement", "improvement"),
                Change::Changed => ("changed", "changed"),
                Change::NoSignificantChange => ("same", "no significant change"),
                Change::Missing => ("missing", "missing in one run"),
                Change::TooFewAudits => ("missing", "too few audits for an interval"),
            };
            let bar = match (d.ci_low, d.ci_high, d.delta_mean) {
                (Some(lo), Some(hi), Some(mid)) => {
                    Some(Bar { lo_x: x(lo), hi_x: x(hi), mid_x: x(mid), zero_x: x(0.0) })
                }
                _ => None,
            };
            Some(Line {
                a: side(&d.a),
                b: side(&d.b),
                delta: d.delta_text(),
                interval: d.interval_text(),
                change,
                change_class,
                bar,
                info,
            })
        })
        .collect();
    let page = ComparePage {
        title: format!("Compare {a_id} and {b_id}"),
        ids,
        a: Some(side(a)),
        b: Some(side(b)),
        lines,
        confidence: format!("{:.0}%", cmp.confidence * 100.0),
        resamples: cmp.resamples,
        regressions: cmp.regressions().into_iter().map(str::to_string).collect(),
        scale: format!("{scale:.0}"),
    };
    crate::templates::render("compare.html", &page)
}
