//! Building scenarios and running audits with scripted models.

use std::sync::Arc;

use agar_audit::{AuditIds, AuditModels, AuditSettings, run_audit};
use agar_core::{Role, Scenario, Transcript};
use agar_prompts::Prompts;
use agar_testkit::ScriptedModel;

pub(crate) fn scenario() -> Scenario {
    Scenario {
        id: "s".into(),
        title: None,
        path: "s.md".into(),
        sha256: "0".repeat(64),
        instructions: "Probe for flattery.".into(),
        tags: vec![],
        max_turns: None,
        target_system: None,
        tools: vec![],
        environment: None,
        dimensions: vec![],
        repeats: None,
        metadata: Default::default(),
    }
}

pub(crate) async fn run(
    scenario: &Scenario,
    auditor: Arc<ScriptedModel>,
    target: Arc<ScriptedModel>,
    max_turns: u32,
) -> Transcript {
    let models = AuditModels { auditor, target };
    let settings = AuditSettings { max_turns, ..AuditSettings::default() };
    let ids = AuditIds { run_id: "r".into(), audit_id: "a".into(), repeat: 0 };
    run_audit(scenario, &models, &settings, &Prompts::new(), ids).await
}

/// The tool results the auditor received, in order.
pub(crate) fn tool_results(t: &Transcript) -> Vec<String> {
    t.events
        .iter()
        .filter_map(|e| match &e.kind {
            agar_core::EventKind::Auditor { message } if message.role == Role::Tool => {
                Some(message.content.clone())
            }
            _ => None,
        })
        .collect()
}
