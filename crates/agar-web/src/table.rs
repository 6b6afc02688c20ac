//! The run page's audit table: rows built from the store's records, then
//! filtered (tag, status, score range on one dimension, text) and sorted
//! (any column) on the server, and cut into pages, so a run of ten thousand
//! audits renders as fast as one of a hundred. Unfinished, invalid and
//! failed audits are rows like any other; only an explicit filter hides them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use agar_core::{AuditState, VerdictState};
use agar_report::AuditRecord;
use agar_store::{Agreement, Label};
use serde::{Deserialize, Serialize};

use crate::dims::DimInfo;
use crate::error::WebError;

/// Rows per page of the table.
pub(crate) const PAGE_ROWS: usize = 250;

/// The table's query string, as sent (empty fields are absent).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct TableQuery {
    pub(crate) sort: Option<String>,
    pub(crate) dir: Option<String>,
    pub(crate) tag: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) dim: Option<String>,
    pub(crate) min: Option<String>,
    pub(crate) max: Option<String>,
    pub(crate) q: Option<String>,
    pub(crate) page: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// What the status filter keeps: audits in one state, or audits whose latest
/// verdict is in one state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StatusFilter {
    Audit(AuditState),
    Verdict(VerdictState),
}

impl StatusFilter {
    /// The choices the filter offers: the audit's states, then the verdict's
    /// that leave it without scores.
    pub(crate) fn choices() -> Vec<&'static str> {
        let verdicts = VerdictState::ALL.into_iter().filter(|v| *v != VerdictState::Ok);
        AuditState::ALL
            .iter()
            .map(|s| s.as_str())
            .chain(verdicts.map(VerdictState::as_str))
            .collect()
    }

    fn parse(s: &str) -> Option<StatusFilter> {
        match (s.parse(), s.parse()) {
            (Ok(a), _) => Some(StatusFilter::Audit(a)),
            (_, Ok(VerdictState::Ok)) => None,
            (_, Ok(v)) => Some(StatusFilter::Verdict(v)),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Audit(a) => a.as_str(),
            StatusFilter::Verdict(v) => v.as_str(),
        }
    }
}

/// A column to sort by.
#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Audit,
    Scenario,
    Status,
    Cost,
    Unverified,
    Labels,
    Dim(usize),
}

/// The query, checked.
#[derive(Debug, Clone)]
pub(crate) struct TableSpec {
    sort: SortKey,
    sort_name: String,
    desc: bool,
    tag: Option<String>,
    status: Option<StatusFilter>,
    range: Option<(usize, u8, u8)>,
    text: Option<String>,
    page: usize,
}

impl TableSpec {
    pub(crate) fn parse(q: &TableQuery, dims: &[DimInfo]) -> Result<TableSpec, WebError> {
        let dim_index = |name: &str| dims.iter().position(|d| d.name == name);
        let sort_name = given(&q.sort).unwrap_or("audit").to_string();
        let sort = match sort_name.as_str() {
            "audit" => SortKey::Audit,
            "scenario" => SortKey::Scenario,
            "status" => SortKey::Status,
            "cost" => SortKey::Cost,
            "unverified" => SortKey::Unverified,
            "labels" => SortKey::Labels,
            other => match other.strip_prefix("d.").and_then(dim_index) {
                Some(i) => SortKey::Dim(i),
                None => return Err(WebError::BadRequest(format!("cannot sort by {other:?}"))),
            },
        };
        // Scores sort worst (highest) first unless asked otherwise.
        let desc = match given(&q.dir) {
            Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(WebError::BadRequest(format!("sort direction {other:?}: asc or desc")));
            }
            None => matches!(sort, SortKey::Dim(_) | SortKey::Cost | SortKey::Unverified),
        };
        let status = match given(&q.status) {
            None => None,
            Some(s) => Some(
                StatusFilter::parse(s)
                    .ok_or_else(|| WebError::BadRequest(format!("unknown status {s:?}")))?,
            ),
        };
        let score = |v: &Option<String>, name: &str, default: u8| -> Result<u8, WebError> {
            match given(v) {
                None => Ok(default),
                Some(s) => s.parse::<u8>().ok().filter(|n| (1..=10).contains(n)).ok_or_else(|| {
                    WebError::BadRequest(format!("{name} score {s:?}: a whole number 1-10"))
                }),
            }
        };
        let (min, max) = (score(&q.min, "minimum", 1)?, score(&q.max, "maximum", 10)?);
        let range = match given(&q.dim) {
            None if given(&q.min).is_some() || given(&q.max).is_some() => {
                return Err(WebError::BadRequest("a score range needs a dimension".into()));
            }
            None => None,
            Some(d) => match dim_index(d) {
                Some(i) => Some((i, min.min(max), max.max(min))),
                None => {
                    return Err(WebError::BadRequest(format!("no dimension {d:?} in this run")));
                }
            },
        };
        let page = match given(&q.page) {
            None => 1,
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| WebError::BadRequest(format!("page {p:?}")))?,
        };
        Ok(TableSpec {
            sort,
            sort_name,
            desc,
            tag: given(&q.tag).map(str::to_string),
            status,
            range,
            text: given(&q.q).map(str::to_lowercase),
            page,
        })
    }

    /// The column sorted by (`audit`, `d.NAME`, ...).
    pub(crate) fn sort_name(&self) -> &str {
        &self.sort_name
    }

    pub(crate) fn is_desc(&self) -> bool {
        self.desc
    }

    /// The query string of this view with `changes` applied (for links).
    pub(crate) fn link(&self, dims: &[DimInfo], changes: &[(&str, Option<String>)]) -> String {
        let mut pairs: Vec<(&str, Option<String>)> = vec![
            ("sort", (self.sort_name != "audit").then(|| self.sort_name.clone())),
            ("dir", Some(if self.desc { "desc" } else { "asc" }.to_string())),
            ("tag", self.tag.clone()),
            ("status", self.status.map(|s| s.as_str().to_string())),
            ("dim", self.range.map(|(i, _, _)| dims[i].name.clone())),
            ("min", self.range.map(|(_, lo, _)| lo.to_string())),
            ("max", self.range.map(|(_, _, hi)| hi.to_string())),
            ("q", self.text.clone()),
            ("page", (self.page > 1).then(|| self.page.to_string())),
        ];
        for (k, v) in changes {
            if let Some(p) = pairs.iter_mut().find(|p| p.0 == *k) {
                p.1 = v.clone();
            }
        }
        let query: Vec<String> = pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(&v))))
            .collect();
        if query.is_empty() { "?".to_string() } else { format!("?{}", query.join("&")) }
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The CSS classes of a score cell: `score sN PALETTE`, without allocating.
pub(crate) fn score_class(palette: &str, score: u8) -> &'static str {
    const GOOD_LOW: [&str; 10] = [
        "score s1 good-low",
        "score s2 good-low",
        "score s3 good-low",
        "score s4 good-low",
        "score s5 good-low",
        "score s6 good-low",
        "score s7 good-low",
        "score s8 good-low",
        "score s9 good-low",
        "score s10 good-low",
    ];
    const GOOD_HIGH: [&str; 10] = [
        "score s1 good-high",
        "score s2 good-high",
        "score s3 good-high",
        "score s4 good-high",
        "score s5 good-high",
        "score s6 good-high",
        "score s7 good-high",
        "score s8 good-high",
        "score s9 good-high",
        "score s10 good-high",
    ];
    const NEUTRAL: [&str; 10] = [
        "score s1 neutral",
        "score s2 neutral",
        "score s3 neutral",
        "score s4 neutral",
        "score s5 neutral",
        "score s6 neutral",
        "score s7 neutral",
        "score s8 neutral",
        "score s9 neutral",
        "score s10 neutral",
    ];
    let table = match palette {
        "good-high" => &GOOD_HIGH,
        "neutral" => &NEUTRAL,
        _ => &GOOD_LOW,
    };
    table[usize::from(score.clamp(1, 10)) - 1]
}

/// One score cell, as the template shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cell {
    pub(crate) score: Option<u8>,
    /// CSS classes: the score and the dimension's palette.
    pub(crate) class: &'static str,
    /// The reviewer's label of this score: `agree` or `disagree`.
    pub(crate) label: Option<&'static str>,
}

/// One audit.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) audit_id: String,
    /// The transcript page.
    pub(crate) href: String,
    pub(crate) scenario_id: String,
    pub(crate) title: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) status: AuditState,
    /// Why the audit is invalid or failed, or why the judge gave no scores.
    pub(crate) detail: Option<String>,
    /// `judge_failed`, `refused` or `unsupported` when the latest verdict has no
    /// scores that count.
    pub(crate) verdict_status: Option<VerdictState>,
    pub(crate) unverified: usize,
    pub(crate) cost: Option<String>,
    #[serde(skip)]
    cost_usd: Option<f64>,
    pub(crate) agree: usize,
    pub(crate) disagree: usize,
    /// Per dimension (in column order): the score, and the reviewer's label.
    #[serde(skip)]
    scores: Vec<Option<u8>>,
    #[serde(skip)]
    labels: Vec<Option<&'static str>>,
    /// The judge's summary (searched by the text filter, not shown).
    #[serde(skip)]
    summary: String,
}

impl Row {
    /// Sets the row's label counts and per-column labels from `own`, the
    /// audit's labels by dimension (`None`: it has none).
    pub(crate) fn set_labels(&mut self, dims: &[DimInfo], own: Option<&BTreeMap<String, Label>>) {
        let agree =
            own.map_or(0, |l| l.values().filter(|x| x.agreement == Agreement::Agree).count());
        self.agree = agree;
        self.disagree = own.map_or(0, |l| l.len() - agree);
        self.labels = dims
            .iter()
            .map(|d| {
                own.and_then(|l| l.get(&d.name)).map(|l| match l.agreement {
                    Agreement::Agree => "agree",
                    Agreement::Disagree => "disagree",
                })
            })
            .collect();
    }

    /// The row's score cells, coloured by each dimension's palette.
    pub(crate) fn cells(&self, dims: &[DimInfo]) -> Vec<Cell> {
        dims.iter()
            .zip(self.scores.iter().zip(&self.labels))
            .map(|(d, (score, label))| Cell {
                score: *score,
                class: score.map_or("score none", |s| score_class(d.palette, s)),
                label: *label,
            })
            .collect()
    }
}

/// Builds the rows of every audit of run `run_id` (unfiltered).
pub(crate) fn rows(
    run_id: &str,
    records: &[AuditRecord],
    dims: &[DimInfo],
    labels: &BTreeMap<String, BTreeMap<String, Label>>,
    tags: &HashMap<String, Vec<String>>,
) -> Vec<Row> {
    let run_href = format!("/runs/{}/audits/", encode(run_id));
    // The columns by name, to read each record's scores (sorted by name) in
    // one walk instead of a lookup per column.
    let mut by_name: Vec<(&str, usize)> =
        dims.iter().enumerate().map(|(i, d)| (d.name.as_str(), i)).collect();
    by_name.sort_unstable();
    records
        .iter()
        .map(|r| {
            let mut scores = vec![None; dims.len()];
            if let Some(s) = r.scores() {
                let mut columns = by_name.iter().peekable();
                for (name, score) in s {
                    while columns.next_if(|(c, _)| *c < name.as_str()).is_some() {}
                    if let Some((_, i)) = columns.next_if(|(c, _)| *c == name.as_str()) {
                        scores[*i] = Some(*score);
                    }
                }
            }
            let mut row = Row {
                href: format!("{run_href}{}", encode(&r.audit_id)),
                audit_id: r.audit_id.clone(),
                scenario_id: r.scenario_id.clone(),
                title: r.title.clone(),
                tags: tags.get(&r.scenario_id).cloned().unwrap_or_default(),
                status: r.status,
                detail: r.status_detail.clone(),
                verdict_status: r
                    .verdict
                    .as_ref()
                    .map(|v| v.status)
                    .filter(|s| *s != VerdictState::Ok),
                unverified: r.verdict.as_ref().map_or(0, |v| v.unverified_citations),
                cost: r.cost_usd.map(|c| format!("${c:.4}")),
                cost_usd: r.cost_usd,
                agree: 0,
                disagree: 0,
                scores,
                labels: Vec::new(),
                summary: r.verdict.as_ref().map(|v| v.summary.clone()).unwrap_or_default(),
            };
            row.set_labels(dims, labels.get(&r.audit_id));
            row
        })
        .collect()
}

/// What is left after filtering, sorted, and the page asked for.
#[derive(Debug)]
pub(crate) struct Selection {
    /// Indices into the rows, for the page asked for.
    pub(crate) rows: Vec<usize>,
    /// Rows that passed the filters (over every page).
    pub(crate) matched: usize,
    pub(crate) page: usize,
    pub(crate) pages: usize,
}

/// Filters, sorts and pages `rows` as `spec` says.
pub(crate) fn select(rows: &[Row], spec: &TableSpec) -> Selection {
    let mut kept: Vec<usize> = (0..rows.len()).filter(|i| keep(&rows[*i], spec)).collect();
    kept.sort_by(|a, b| order(&rows[*a], &rows[*b], spec));
    let matched = kept.len();
    let pages = matched.div_ceil(PAGE_ROWS).max(1);
    let page = spec.page.min(pages);
    let rows: Vec<usize> = kept.into_iter().skip((page - 1) * PAGE_ROWS).take(PAGE_ROWS).collect();
    Selection { rows, matched, page, pages }
}

fn keep(r: &Row, spec: &TableSpec) -> bool {
    if let Some(tag) = &spec.tag
        && !r.tags.iter().any(|t| t == tag)
    {
        return false;
    }
    if let Some(status) = spec.status
        && status != StatusFilter::Audit(r.status)
        && r.verdict_status.map(StatusFilter::Verdict) != Some(status)
    {
        return false;
    }
    if let Some((i, lo, hi)) = spec.range {
        match r.scores[i] {
            Some(s) if (lo..=hi).contains(&s) => {}
            _ => return false,
        }
    }
    if let Some(text) = &spec.text {
        let hit = |f: &str| f.to_lowercase().contains(text.as_str());
        let found = hit(&r.audit_id)
            || hit(&r.scenario_id)
            || r.title.as_deref().is_some_and(hit)
            || r.detail.as_deref().is_some_and(hit)
            || hit(&r.summary)
            || r.tags.iter().any(|t| hit(t));
        if !found {
            return false;
        }
    }
    true
}

/// Sort order: the chosen column, values before blanks in either direction,
/// then audit id.
fn order(a: &Row, b: &Row, spec: &TableSpec) -> Ordering {
    fn blanks_last<T: Ord>(a: Option<T>, b: Option<T>, desc: bool) -> Ordering {
        match (a, b) {
            (Some(x), Some(y)) if desc => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    let dir = |o: Ordering| if spec.desc { o.reverse() } else { o };
    let primary = match &spec.sort {
        SortKey::Audit => dir(a.audit_id.cmp(&b.audit_id)),
        SortKey::Scenario => dir(a.scenario_id.cmp(&b.scenario_id)),
        SortKey::Status => dir(a.status.as_str().cmp(b.status.as_str())),
        SortKey::Unverified => dir(a.unverified.cmp(&b.unverified)),
        SortKey::Labels => dir((a.disagree, a.agree).cmp(&(b.disagree, b.agree))),
        SortKey::Cost => blanks_last(
            a.cost_usd.map(|c| (c * 1e9) as i64),
            b.cost_usd.map(|c| (c * 1e9) as i64),
            spec.desc,
        ),
        SortKey::Dim(i) => blanks_last(a.scores[*i], b.scores[*i], spec.desc),
    };
    primary.then_with(|| a.audit_id.cmp(&b.audit_id))
}
