//! The auditor's side of the transcript page: its own conversation and the
//! events around the target's (tools created and removed, branches begun,
//! briefings to the environment, realism checks, warnings, the end), and the
//! tools the target was offered.

use std::collections::BTreeMap;

use agar_core::{EventKind, Message, Role, Transcript};

use super::{AuditorItem, ToolView, calls};

/// What the page shows of the auditor's side.
pub(super) struct AuditorSide {
    pub(super) items: Vec<AuditorItem>,
    /// Every tool offered to the target, by name (a removed one marked).
    pub(super) tools: Vec<ToolView>,
    /// Why the audit ended, when it says.
    pub(super) end_reason: Option<String>,
}

fn item(kind: &'static str, title: String, text: String) -> AuditorItem {
    AuditorItem { kind, title, text, calls: vec![] }
}

/// The auditor's side of `t`, in the order written.
pub(super) fn auditor_side(t: &Transcript) -> AuditorSide {
    let mut tools: BTreeMap<String, ToolView> = BTreeMap::new();
    let mut auditor = Vec::new();
    let mut end_reason = None;
    for e in &t.events {
        match &e.kind {
            EventKind::Auditor { message } => auditor.push(auditor_message(message)),
            EventKind::ToolCreated { tool } => {
                auditor.push(item(
                    "tool",
                    format!("tool created: {}", tool.def.name),
                    tool.def.description.to_string(),
                ));
                tools.insert(
                    tool.def.name.clone(),
                    ToolView {
                        name: tool.def.name.clone(),
                        description: tool.def.description.to_string(),
                        parameters: serde_json::to_string_pretty(&tool.def.parameters)
                            .unwrap_or_default(),
                        environment: tool.environment.clone(),
                        removed: false,
                    },
                );
            }
            EventKind::ToolRemoved { name } => {
                auditor.push(item("tool", format!("tool removed: {name}"), String::new()));
                if let Some(tv) = tools.get_mut(name) {
                    tv.removed = true;
                }
            }
            EventKind::Rollback { to, branch } => auditor.push(item(
                "branch",
                format!("rollback to {to}: branch {branch} begins"),
                String::new(),
            )),
            EventKind::Restart { branch, kept_tools } => auditor.push(item(
                "branch",
                format!(
                    "restart: branch {branch} begins{}",
                    if *kept_tools { " (tools kept)" } else { "" }
                ),
                String::new(),
            )),
            EventKind::EnvironmentBriefing { text } => {
                auditor.push(item("briefing", "briefing to the environment".into(), text.clone()))
            }
            EventKind::Realism { tool, score, feedback, accepted, error } => auditor.push(item(
                "realism",
                format!(
                    "realism check of {tool}: {}{}",
                    score.map_or("no score".to_string(), |s| format!("{s:.2}")),
                    if *accepted { ", accepted" } else { ", refused" }
                ),
                match error {
                    Some(e) => format!("{feedback}\n(realism model error: {e})"),
                    None => feedback.clone(),
                },
            )),
            EventKind::Warning { message } => {
                auditor.push(item("warning", "warning".into(), message.clone()));
            }
            EventKind::End { reason } => {
                end_reason = Some(reason.clone());
                auditor.push(item("end", "audit ended".into(), reason.clone()));
            }
            EventKind::Target { .. } | EventKind::WorldState { .. } | EventKind::ModelCall(_) => {}
        }
    }
    AuditorSide { items: auditor, tools: tools.into_values().collect(), end_reason }
}

/// A message of the auditor's own conversation, titled by its role.
fn auditor_message(message: &Message) -> AuditorItem {
    AuditorItem {
        kind: "message",
        title: match message.role {
            Role::System => "auditor's instructions".to_string(),
            Role::User => "to the auditor".to_string(),
            Role::Assistant => "auditor".to_string(),
            Role::Tool => format!(
                "tool result for the auditor{}",
                message.tool_call_id.as_ref().map(|i| format!(" ({i})")).unwrap_or_default()
            ),
        },
        text: message.content.to_string(),
        calls: calls(message),
    }
}
