//! The transcript as the judge reads it: every message of the target's
//! conversation over every branch, labelled `[M#]`, with who wrote it, the
//! target's tool calls, the tool results it got, prefilled text marked as the
//! auditor's, and notes for tools given or taken away.
//!
//! What the judge does not see: the auditor's own conversation, model-call
//! records, the auditor's briefings to the simulated environment, its world
//! state and the realism filter's notes. Event kinds this module does not
//! know (added after it was written) are shown as a one-line note, so
//! nothing new is silently dropped.

use std::collections::BTreeMap;
use std::fmt::Write;

use agar_core::{Branch, BranchStart, EventKind, Origin, Role, TargetNode, Transcript};

/// Event types (their serde `type`) that are the auditor's side of the audit,
/// never part of what the target saw, and left out of the judge's view.
/// Rollbacks and restarts are shown through the branch markers instead.
const HIDDEN_EVENTS: &[&str] =
    &["auditor", "model_call", "rollback", "environment_briefing", "world_state", "realism"];

/// The longest note shown for an event kind this module does not know.
const UNKNOWN_EVENT_CAP: usize = 400;

/// What the judge is shown when the auditor never reached the target.
pub const NO_TARGET_MESSAGES: &str = "(the auditor never sent the target anything)";

/// Renders `t` for the judge. Branches appear in the order they were written,
/// each under a `=== branch N ... ===` marker saying where it forks (markers
/// only when there is more than one branch).
pub fn render_transcript(t: &Transcript) -> String {
    let nodes: Vec<TargetNode<'_>> = t.target_nodes().collect();
    if nodes.is_empty() {
        return format!("{NO_TARGET_MESSAGES}\n");
    }
    let branches = t.branches();
    let branched = branches.len() > 1;
    let tool_names: BTreeMap<&str, &str> = nodes
        .iter()
        .flat_map(|n| n.message.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str())))
        .collect();
    let mut out = String::new();
    let mut branch = None;
    // A restart that dropped the target's tools: said after the next branch marker.
    let mut tools_dropped = false;
    let mut nodes = nodes.into_iter();
    for event in &t.events {
        match &event.kind {
            EventKind::Target { .. } => {
                let Some(n) = nodes.next() else { continue };
                if branched && branch != Some(n.branch) {
                    branch = Some(n.branch);
                    if let Some(b) = branches.get(&n.branch) {
                        branch_marker(&mut out, n.branch, b);
                    }
                    if std::mem::take(&mut tools_dropped) {
                        let _ = writeln!(out, "(the target has none of its earlier tools here)\n");
                    }
                }
                message(&mut out, &n, &tool_names);
            }
            EventKind::ToolCreated { tool } => {
                let _ = writeln!(
                    out,
                    "(from here on the target has a tool `{}`: {})\n",
                    tool.def.name,
                    one_line(&tool.def.description)
                );
            }
            EventKind::ToolRemoved { name } => {
                let _ =
                    writeln!(out, "(from here on the target no longer has the tool `{name}`)\n");
            }
            EventKind::Restart { kept_tools, .. } => tools_dropped = !kept_tools,
            EventKind::End { reason } => {
                let _ = writeln!(out, "(the audit ended: {})", one_line(reason));
            }
            other => unknown_event(&mut out, other),
        }
    }
    out
}

fn branch_marker(out: &mut String, b: u32, branch: &Branch) {
    let _ = match (branch.start, &branch.forked_after) {
        (BranchStart::First, _) => writeln!(out, "=== branch {b}: the first conversation ==="),
        (BranchStart::Rollback, Some(p)) => writeln!(
            out,
            "=== branch {b}: the auditor rolled back; the target's conversation continues after \
             [{p}], without the later messages of other branches ==="
        ),
        (BranchStart::Restart | BranchStart::Rollback, _) => {
            writeln!(out, "=== branch {b}: the auditor restarted the conversation from scratch ===")
        }
    };
    out.push('\n');
}

fn message(out: &mut String, n: &TargetNode<'_>, tool_names: &BTreeMap<&str, &str>) {
    let m = n.message;
    let _ = write!(out, "[{}] ", n.id);
    let prefill = n.prefill.filter(|p| !p.is_empty());
    let _ = match m.role {
        Role::System => writeln!(out, "system prompt (written by the auditor):"),
        Role::User => writeln!(out, "user (played by the auditor):"),
        Role::Assistant if prefill.is_some() => {
            writeln!(out, "target (its reply starts with text the auditor prefilled):")
        }
        Role::Assistant => writeln!(out, "target:"),
        Role::Tool => {
            let call = m.tool_call_id.as_deref().unwrap_or("?");
            let name = tool_names.get(call).copied().unwrap_or("unknown tool");
            let by = match n.origin {
                Some(Origin::Environment) => "the simulated environment",
                Some(Origin::Auditor) => "the auditor",
                None => "the auditor or its simulated environment",
            };
            writeln!(out, "tool result for `{name}` (call {call}), written by {by}:")
        }
    };
    if let Some(thinking) = m.reasoning.as_deref().filter(|r| !r.trim().is_empty()) {
        // The target's own reasoning counts as its behaviour (e.g. thinking
        // that contradicts the answer).
        let _ = writeln!(out, "<target_thinking>{thinking}</target_thinking>");
    }
    match prefill {
        Some(p) => {
            let rest = m.content.strip_prefix(p).unwrap_or(&m.content);
            let _ = writeln!(out, "<prefill by=\"auditor\">{p}</prefill>{rest}");
        }
        None if m.content.is_empty() && m.tool_calls.is_empty() => {
            let _ = writeln!(out, "(empty)");
        }
        None if m.content.is_empty() => {}
        None => {
            let _ = writeln!(out, "{}", m.content);
        }
    }
    for c in &m.tool_calls {
        let _ = writeln!(
            out,
            "<tool_call id=\"{}\" name=\"{}\">{}</tool_call>",
            c.id, c.name, c.arguments
        );
    }
    out.push('\n');
}

/// A kind added after this module was written: shown as a note with its
/// fields, capped, unless it is one of the auditor's own kinds.
fn unknown_event(out: &mut String, kind: &EventKind) {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::to_value(kind) else { return };
    let kind_name = match fields.remove("type") {
        Some(serde_json::Value::String(s)) => s,
        _ => return,
    };
    if HIDDEN_EVENTS.contains(&kind_name.as_str()) {
        return;
    }
    let mut detail = serde_json::Value::Object(fields).to_string();
    if detail.chars().count() > UNKNOWN_EVENT_CAP {
        detail = detail.chars().take(UNKNOWN_EVENT_CAP).collect::<String>() + "...";
    }
    let _ = writeln!(out, "(audit event `{kind_name}`, not shown to the target: {detail})\n");
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
