//! The transcript page (`/runs/{run}/audits/{audit}`): the branch tree, the
//! chosen branch's messages (tool calls, tool results with who wrote them,
//! the simulated world's state, prefill marked), the auditor's own
//! conversation behind a toggle, and every verdict (newest first) with its
//! summary, highlights, per-dimension justifications and citations, each a
//! link to the quoted text; the latest verdict's scores carry the reviewer
//! label forms; persona-monitor projections under the target messages they
//! measured ([`monitor`]).

mod auditor;
mod branches;
mod conversation;
mod monitor;

use std::collections::BTreeMap;

use agar_core::{
    AuditState, Citation, DimensionScore, Message, Origin, Role, TargetNode, Transcript, Verdict,
    VerdictState, VerdictStatus,
};
use agar_store::{Agreement, Label};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};

use self::branches::Branches;
use crate::app::AppState;
use crate::dims::{DimInfo, Dims};
use crate::error::WebError;
use crate::ids::{AuditId, RunId};
use crate::runs::{fmt_time, fmt_tokens};
use crate::table::{encode, score_class};

/// The page's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TranscriptQuery {
    branch: Option<String>,
}

#[derive(Debug, Serialize)]
struct BranchNode {
    branch: u32,
    href: String,
    /// `start`, `rollback` or `restart`: how the branch began.
    kind: &'static str,
    first: String,
    leaf: String,
    /// The message it continues from (absent for a branch started afresh).
    forked_after: Option<String>,
    from_branch: Option<u32>,
    messages: usize,
    selected: bool,
    children: Vec<BranchNode>,
}

#[derive(Debug, Serialize)]
struct CallView {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Serialize)]
struct WorldView {
    state: String,
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct MsgView {
    id: String,
    role: &'static str,
    /// Who wrote it, for the reader.
    who: String,
    branch: u32,
    /// Inherited from the branch this one forked from.
    shared: bool,
    /// The first message written on the chosen branch.
    starts_branch: bool,
    /// Other branches that continue from right after this message.
    forks: Vec<(u32, String)>,
    /// The auditor's prefill, when the content begins with it.
    prefill: Option<String>,
    /// The content after the prefill (the whole content without one).
    text: String,
    /// A prefill the content does not begin with (shown apart).
    prefill_apart: Option<String>,
    reasoning: Option<String>,
    calls: Vec<CallView>,
    /// For a tool result: the call it answers and its tool's name.
    answers: Option<String>,
    origin: Option<&'static str>,
    world: Option<WorldView>,
    cited: bool,
    /// Persona-monitor projections of this target message.
    monitors: Vec<monitor::ProjView>,
}

#[derive(Debug, Serialize)]
struct AuditorItem {
    kind: &'static str,
    title: String,
    text: String,
    calls: Vec<CallView>,
}

#[derive(Debug, Serialize)]
struct ToolView {
    name: String,
    description: String,
    parameters: String,
    environment: Option<String>,
    removed: bool,
}

#[derive(Debug, Serialize)]
struct CiteView {
    id: String,
    message: String,
    quote: String,
    /// Link to the message on its branch; absent when no such message exists.
    href: Option<String>,
    /// `verified`, `unverified` or `unchecked`.
    check: &'static str,
    approximate: bool,
    cited_as: Option<String>,
    in_prefill: bool,
    note: Option<String>,
    /// Where the quote sits in the message's text (UTF-16 units).
    start: Option<usize>,
    end: Option<usize>,
}

#[derive(Debug, Serialize)]
struct LabelView {
    agreement: &'static str,
    note: String,
    reviewer: Option<String>,
    at: String,
}

#[derive(Debug, Serialize)]
struct DimView {
    info: DimInfo,
    anchor: String,
    score: u8,
    class: &'static str,
    justification: String,
    citations: Vec<CiteView>,
    samples: Option<String>,
    label: Option<LabelView>,
}

/// One judge sample of a several-sample verdict.
#[derive(Debug, Serialize)]
struct SampleView {
    number: usize,
    status: VerdictState,
    detail: Option<String>,
    summary: String,
    /// (display name, score, CSS classes), in display order.
    scores: Vec<(String, u8, &'static str)>,
    unverified: usize,
}

#[derive(Debug, Serialize)]
struct VerdictView {
    number: usize,
    latest: bool,
    judge_model: String,
    created: String,
    status: VerdictState,
    status_detail: Option<String>,
    raw: Option<String>,
    summary: String,
    highlights: Vec<CiteView>,
    dims: Vec<DimView>,
    unverified: usize,
    samples: usize,
    sample_views: Vec<SampleView>,
    prompt_hash: String,
    tokens: String,
}

#[derive(Debug, Serialize)]
struct ScenarioView {
    id: String,
    title: Option<String>,
    path: String,
    tags: Vec<String>,
    instructions: String,
    repeat: u32,
}

#[derive(Debug, Serialize)]
struct TranscriptPage {
    title: String,
    run_id: String,
    run_href: String,
    audit_id: String,
    action: String,
    scenario: ScenarioView,
    status: AuditState,
    status_detail: Option<String>,
    models: Vec<(String, String)>,
    /// The demonstration banner, when a role ran on a local model.
    banner: Option<&'static str>,
    started: String,
    finished: Option<String>,
    tokens: String,
    cost: Option<String>,
    end_reason: Option<String>,
    branches: Vec<BranchNode>,
    branch_count: usize,
    branch: u32,
    messages: Vec<MsgView>,
    tools: Vec<ToolView>,
    auditor: Vec<AuditorItem>,
    verdicts: Vec<VerdictView>,
    /// The run's persona-monitor files (legend and notes).
    monitors: monitor::Monitors,
    csrf: String,
}

#[derive(Debug, Serialize)]
struct PendingPage {
    title: String,
    run_id: String,
    run_href: String,
    audit_id: String,
    status: AuditState,
    poll: String,
    stamp: String,
}

/// `GET /runs/{run}/audits/{audit}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    path: Result<Path<(RunId, AuditId)>, PathRejection>,
    query: Result<Query<TranscriptQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let (Path((run, audit)), Query(query)) = (path?, query?);
    let html = state.blocking(move |s| render(s, &run, &audit, &query)).await?;
    Ok(Html(html))
}

pub(crate) fn render(
    state: &AppState,
    run_id: &RunId,
    audit_id: &AuditId,
    query: &TranscriptQuery,
) -> Result<String, WebError> {
    let store = state.store();
    let what = format!("audit {audit_id:?} in run {run_id:?}");
    let t = match store.read_transcript(run_id, audit_id) {
        Ok(t) => t,
        Err(e) => {
            let err = WebError::from_store(&what, e);
            if matches!(err, WebError::NotFound(_))
                && let Some(page) = pending(state, run_id, audit_id)?
            {
                return Ok(page);
            }
            return Err(err);
        }
    };
    let labels = store.labels(run_id, audit_id).unwrap_or_else(|e| {
        tracing::warn!("labels of {run_id}/{audit_id}: {e}");
        BTreeMap::new()
    });
    let dims = Dims::load(store, &[run_id]);
    let mut page = build(&t, query, &dims, &labels, state.csrf_token())?;
    page.monitors = monitor::Monitors::load(store, run_id, audit_id);
    page.monitors.attach(&mut page.messages);
    crate::templates::render("transcript.html", &page)
}

/// The page of a planned audit that has not finished yet, if it is one.
fn pending(state: &AppState, run_id: &str, audit_id: &str) -> Result<Option<String>, WebError> {
    let store = state.store();
    let Ok(view) = store.view(run_id) else { return Ok(None) };
    let Some(a) = view.audits.iter().find(|a| a.audit_id == audit_id) else { return Ok(None) };
    let page = PendingPage {
        title: format!("{audit_id} ({})", a.status),
        run_id: run_id.to_string(),
        run_href: format!("/runs/{}", encode(run_id)),
        audit_id: audit_id.to_string(),
        status: a.status,
        poll: format!("/api/runs/{}/stamp", encode(run_id)),
        stamp: crate::live::run_stamp_of(store, run_id),
    };
    crate::templates::render("pending.html", &page).map(Some)
}

fn pretty_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string()),
        Err(_) => text.to_string(),
    }
}

fn calls(m: &Message) -> Vec<CallView> {
    m.tool_calls
        .iter()
        .map(|c| CallView {
            id: c.id.clone(),
            name: c.name.clone(),
            arguments: pretty_json(&c.arguments),
        })
        .collect()
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn origin_name(o: Origin) -> &'static str {
    match o {
        Origin::Environment => "environment",
        Origin::Auditor => "auditor",
    }
}

/// The view model of a transcript page.
fn build(
    t: &Transcript,
    query: &TranscriptQuery,
    dims: &Dims,
    labels: &BTreeMap<String, Label>,
    csrf: &str,
) -> Result<TranscriptPage, WebError> {
    let base = format!("/runs/{}/audits/{}", encode(&t.run_id), encode(&t.audit_id));
    let nodes: Vec<TargetNode<'_>> = t.target_nodes().collect();
    let branches = Branches::of(t);
    let branch = branches.chosen(query, &nodes)?;
    let branch_href = |b: u32| format!("{base}?branch={b}");
    let messages = conversation::messages(t, &nodes, &branches, branch, &branch_href);
    let verdicts = verdict_views(t, &nodes, &base, dims, labels);
    let side = auditor::auditor_side(t);
    let usage = t.total_usage();
    Ok(TranscriptPage {
        title: format!("{} / {}", t.run_id, t.audit_id),
        run_href: format!("/runs/{}", encode(&t.run_id)),
        run_id: t.run_id.clone(),
        audit_id: t.audit_id.clone(),
        action: format!("{base}/labels"),
        scenario: ScenarioView {
            id: t.scenario.id.clone(),
            title: t.scenario.title.clone(),
            path: t.scenario.path.clone(),
            tags: t.scenario.tags.clone(),
            instructions: t.scenario.instructions.clone(),
            repeat: t.scenario.repeat,
        },
        status: t.status.state(),
        status_detail: t.status.detail().map(str::to_string),
        models: t.models.iter().map(|(r, m)| (r.to_string(), m.clone())).collect(),
        banner: t
            .models
            .values()
            .any(|m| agar_core::is_demonstration_model(m))
            .then_some(agar_core::DEMONSTRATION_BANNER),
        started: fmt_time(t.started_at),
        finished: t.finished_at.map(fmt_time),
        tokens: fmt_tokens(usage.input_tokens, usage.output_tokens),
        cost: t.cost.as_ref().map(|c| format!("${:.4}", c.total_usd)),
        end_reason: side.end_reason,
        branch_count: branches.count(),
        branches: branches.tree(branch, &branch_href),
        branch,
        messages,
        tools: side.tools,
        auditor: side.items,
        verdicts,
        monitors: monitor::Monitors::default(),
        csrf: csrf.to_string(),
    })
}

/// Every verdict, newest first; citations link to their message on the
/// message's own branch.
fn verdict_views(
    t: &Transcript,
    nodes: &[TargetNode<'_>],
    base: &str,
    dims: &Dims,
    labels: &BTreeMap<String, Label>,
) -> Vec<VerdictView> {
    let contents: BTreeMap<&str, (&str, u32)> =
        nodes.iter().map(|n| (n.id, (n.message.content.as_str(), n.branch))).collect();
    let cite = |c: &Citation, id: String| {
        let target = contents.get(c.message.as_str());
        let span = target.and_then(|(text, _)| crate::quote::locate(text, &c.quote));
        CiteView {
            href: target
                .map(|(_, b)| format!("{base}?branch={b}&cite={id}#msg-{}", encode(&c.message))),
            id,
            message: c.message.clone(),
            quote: c.quote.clone(),
            check: match c.verified {
                Some(true) => "verified",
                Some(false) => "unverified",
                None => "unchecked",
            },
            approximate: c.approximate,
            cited_as: c.cited_as.clone(),
            in_prefill: c.in_prefill,
            note: c.note.clone(),
            start: span.map(|s| s.0),
            end: span.map(|s| s.1),
        }
    };
    let n_verdicts = t.verdicts.len();
    t.verdicts
        .iter()
        .enumerate()
        .rev()
        .map(|(i, v)| verdict_view(v, i + 1, i + 1 == n_verdicts, dims, labels, &cite))
        .collect()
}

fn verdict_view(
    v: &Verdict,
    number: usize,
    latest: bool,
    dims: &Dims,
    labels: &BTreeMap<String, Label>,
    cite: &dyn Fn(&Citation, String) -> CiteView,
) -> VerdictView {
    let raw = match &v.status {
        VerdictStatus::JudgeFailed { raw, .. } => Some(raw.clone()),
        _ => None,
    };
    let names: Vec<String> = v.scores.keys().cloned().collect();
    let dim_views = dims
        .ordered(&names)
        .into_iter()
        .enumerate()
        .filter_map(|(j, info)| {
            let s: &DimensionScore = v.scores.get(&info.name)?;
            let label = if latest { labels.get(&info.name) } else { None };
            Some(DimView {
                anchor: format!("dim-{}", info.name),
                score: s.score,
                class: score_class(info.palette, s.score),
                justification: s.justification.clone(),
                citations: s
                    .citations
                    .iter()
                    .enumerate()
                    .map(|(i, c)| cite(c, format!("v{number}-d{j}-{i}")))
                    .collect(),
                samples: s.samples.as_ref().map(|st| {
                    let scores: Vec<String> = st.scores.iter().map(u8::to_string).collect();
                    format!(
                        "samples {}: median {}, mean {:.2}, range {}-{}, sd {:.2}",
                        scores.join(", "),
                        st.median,
                        st.mean,
                        st.min,
                        st.max,
                        st.stdev
                    )
                }),
                label: label.map(|l| LabelView {
                    agreement: match l.agreement {
                        Agreement::Agree => "agree",
                        Agreement::Disagree => "disagree",
                    },
                    note: l.note.clone(),
                    reviewer: l.reviewer.clone(),
                    at: fmt_time(l.at),
                }),
                info,
            })
        })
        .collect();
    VerdictView {
        number,
        latest,
        judge_model: v.judge_model.clone(),
        created: fmt_time(v.created_at),
        status: v.status.state(),
        status_detail: verdict_detail(&v.status),
        raw,
        summary: v.summary.clone(),
        highlights: v
            .highlights
            .iter()
            .enumerate()
            .map(|(i, c)| cite(c, format!("v{number}-h-{i}")))
            .collect(),
        dims: dim_views,
        unverified: v.unverified_citations,
        samples: v.samples.len(),
        sample_views: v
            .samples
            .iter()
            .enumerate()
            .map(|(i, smp)| {
                let names: Vec<String> = smp.scores.keys().cloned().collect();
                SampleView {
                    number: i + 1,
                    status: smp.status.state(),
                    detail: verdict_detail(&smp.status),
                    summary: smp.summary.clone(),
                    scores: dims
                        .ordered(&names)
                        .into_iter()
                        .filter_map(|d| {
                            let score = smp.scores.get(&d.name)?.score;
                            Some((d.display, score, score_class(d.palette, score)))
                        })
                        .collect(),
                    unverified: smp.unverified_citations,
                }
            })
            .collect(),
        prompt_hash: v.prompt_hash.chars().take(12).collect(),
        tokens: fmt_tokens(v.usage.input_tokens, v.usage.output_tokens),
    }
}

/// What an `unsupported` verdict shows: why it is not counted.
/// What a verdict (or sample) without usable scores says about why.
fn verdict_detail(status: &VerdictStatus) -> Option<String> {
    match status {
        VerdictStatus::Ok => None,
        VerdictStatus::JudgeFailed { error, .. } => Some(error.clone()),
        VerdictStatus::Refused { reason } => Some(reason.clone()),
        VerdictStatus::Unsupported { reasons } => {
            Some(format!("not counted (the verdict is unsupported): {}", reasons.join("; ")))
        }
    }
}
