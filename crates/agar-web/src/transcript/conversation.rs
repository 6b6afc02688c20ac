//! The chosen branch's conversation on the transcript page: each message
//! with who wrote it, the auditor's prefill, tool calls and the call a tool
//! result answers, the simulated world's state after it, the branches forking
//! after it, and whether a verdict cites it.

use std::collections::{BTreeMap, BTreeSet};

use agar_core::{EventKind, Message, Origin, Role, TargetNode, Transcript};

use super::branches::Branches;
use super::{MsgView, WorldView, calls, origin_name, role_name};

/// The messages from the root to the leaf of `branch`.
pub(super) fn messages(
    t: &Transcript,
    nodes: &[TargetNode<'_>],
    branches: &Branches,
    branch: u32,
    branch_href: &dyn Fn(u32) -> String,
) -> Vec<MsgView> {
    let mut worlds = worlds(t);
    let tool_names: BTreeMap<&str, &str> = nodes
        .iter()
        .flat_map(|n| n.message.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str())))
        .collect();
    let forks = branches.forks(branch, branch_href);
    let cited = cited(t);
    let path = t.path_to(&branches.leaf(branch));
    let forked = branches.is_forked(branch);
    let mut started = false;
    path.iter()
        .map(|n| {
            let m = n.message;
            let starts_branch = !started && n.branch == branch && forked;
            if n.branch == branch {
                started = true;
            }
            let (prefill, text, prefill_apart) = split_prefill(m, n.prefill);
            let answers = m.tool_call_id.as_ref().map(|id| match tool_names.get(id.as_str()) {
                Some(name) => format!("{name} ({id})"),
                None => id.clone(),
            });
            MsgView {
                id: n.id.to_string(),
                role: role_name(m.role),
                who: who(m.role, n.origin).to_string(),
                branch: n.branch,
                shared: n.branch != branch,
                starts_branch,
                forks: forks.get(n.id).cloned().unwrap_or_default(),
                prefill,
                text,
                prefill_apart,
                reasoning: m.reasoning.clone().filter(|r| !r.trim().is_empty()),
                calls: calls(m),
                answers,
                origin: n.origin.map(origin_name),
                world: worlds.remove(n.id),
                cited: cited.contains(n.id),
                monitors: Vec::new(),
            }
        })
        .collect()
}

/// The simulated world's state after each tool result, by message id.
fn worlds(t: &Transcript) -> BTreeMap<&str, WorldView> {
    t.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::WorldState { message, state, note } => Some((
                message.as_str(),
                WorldView {
                    state: serde_json::to_string_pretty(state).unwrap_or_default(),
                    note: note.clone(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// The messages any verdict cites, in a highlight or a score.
fn cited(t: &Transcript) -> BTreeSet<&str> {
    let mut cited: BTreeSet<&str> = BTreeSet::new();
    for v in &t.verdicts {
        cited.extend(v.highlights.iter().map(|c| c.message.as_str()));
        for s in v.scores.values() {
            cited.extend(s.citations.iter().map(|c| c.message.as_str()));
        }
    }
    cited
}

/// (the prefill, the text after it, a prefill the content does not begin with).
fn split_prefill(m: &Message, prefill: Option<&str>) -> (Option<String>, String, Option<String>) {
    match prefill.filter(|p| !p.is_empty()) {
        Some(p) if m.content.starts_with(p) => {
            (Some(p.to_string()), m.content[p.len()..].to_string(), None)
        }
        Some(p) => (None, m.content.to_string(), Some(p.to_string())),
        None => (None, m.content.to_string(), None),
    }
}

/// Who wrote a message, for the reader.
fn who(role: Role, origin: Option<Origin>) -> &'static str {
    match (role, origin) {
        (Role::System, _) => "system prompt (written by the auditor)",
        (Role::User, _) => "user (played by the auditor)",
        (Role::Assistant, _) => "target",
        (Role::Tool, Some(Origin::Environment)) => "tool result (simulated environment)",
        (Role::Tool, Some(Origin::Auditor)) => "tool result (written by the auditor)",
        (Role::Tool, None) => "tool result",
    }
}
