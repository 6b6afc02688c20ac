//! Renders a transcript for the judge: every target message, labelled `[M#]`,
//! branch by branch, with tool calls and prefill marked.

use std::fmt::Write;

use agar_core::{Role, TargetNode, Transcript};

/// The transcript as the judge reads it. Messages are grouped by branch; a
/// branch that starts from an earlier message says where it forked.
pub fn render_transcript(t: &Transcript) -> String {
    let nodes: Vec<TargetNode<'_>> = t.target_nodes().collect();
    if nodes.is_empty() {
        return "(the auditor never sent the target anything)".to_string();
    }
    let mut out = String::new();
    let mut branch = None;
    for n in &nodes {
        if branch != Some(n.branch) {
            branch = Some(n.branch);
            if n.branch > 0 || nodes.iter().any(|m| m.branch > 0) {
                let from = match n.parent {
                    Some(p) => format!(", continuing from {p}"),
                    None => ", from the start".to_string(),
                };
                let _ = writeln!(out, "=== branch {}{} ===", n.branch, from);
            }
        }
        let role = match n.message.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        };
        let _ = write!(out, "[{}] {}", n.id, role);
        if let Some(call) = &n.message.tool_call_id {
            let _ = write!(out, " (result of {call})");
        }
        let _ = writeln!(out, ":");
        match n.prefill {
            Some(p) if n.message.content.starts_with(p) => {
                let rest = &n.message.content[p.len()..];
                let _ = writeln!(out, "<prefill written by the auditor>{p}</prefill>{rest}");
            }
            _ => {
                let _ = writeln!(out, "{}", n.message.content);
            }
        }
        for c in &n.message.tool_calls {
            let _ = writeln!(
                out,
                "<tool_call name=\"{}\" id=\"{}\">{}</tool_call>",
                c.name, c.id, c.arguments
            );
        }
        out.push('\n');
    }
    out
}
