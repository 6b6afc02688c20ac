//! Building scenarios and running audits with scripted models.

use std::sync::Arc;

use agar_audit::{AuditIds, AuditModels, AuditSettings, run_audit};
use agar_core::{EventKind, Role, Scenario, Transcript};
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
        language: "en".into(),
        generated: None,
        metadata: Default::default(),
    }
}

/// The models and settings of one test audit.
pub(crate) struct Setup {
    pub(crate) auditor: Arc<ScriptedModel>,
    pub(crate) target: Arc<ScriptedModel>,
    pub(crate) environment: Option<Arc<ScriptedModel>>,
    pub(crate) realism: Option<Arc<ScriptedModel>>,
    pub(crate) settings: AuditSettings,
}

impl Setup {
    pub(crate) fn new(auditor: ScriptedModel, target: ScriptedModel) -> Self {
        Self::new_arc(Arc::new(auditor), Arc::new(target))
    }

    /// Like [`Setup::new`], keeping handles on the models for assertions.
    pub(crate) fn new_arc(auditor: Arc<ScriptedModel>, target: Arc<ScriptedModel>) -> Self {
        Self {
            auditor,
            target,
            environment: None,
            realism: None,
            settings: AuditSettings {
                max_turns: 10,
                today: Some("2026-03-14".into()),
                ..AuditSettings::default()
            },
        }
    }

    pub(crate) fn environment(mut self, env: ScriptedModel) -> Self {
        self.environment = Some(Arc::new(env));
        self
    }

    pub(crate) fn realism(mut self, r: ScriptedModel) -> Self {
        self.realism = Some(Arc::new(r));
        self
    }

    pub(crate) async fn run(&self, scenario: &Scenario) -> Transcript {
        let models = AuditModels {
            auditor: self.auditor.clone(),
            target: self.target.clone(),
            environment: self.environment.clone().map(|e| e as Arc<dyn agar_core::ChatModel>),
            realism: self.realism.clone().map(|r| r as Arc<dyn agar_core::ChatModel>),
        };
        let ids = AuditIds { run_id: "r".into(), audit_id: "a".into(), repeat: 0 };
        run_audit(scenario, &models, &self.settings, &Prompts::new(), ids).await
    }
}

/// The tool results the auditor received, in order.
pub(crate) fn tool_results(t: &Transcript) -> Vec<String> {
    t.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Auditor { message } if message.role == Role::Tool => {
                Some(message.content.to_string())
            }
            _ => None,
        })
        .collect()
}

/// (id, parent, branch, role) of every target message.
pub(crate) fn tree(t: &Transcript) -> Vec<(String, Option<String>, u32, Role)> {
    t.target_nodes()
        .map(|n| (n.id.to_string(), n.parent.map(str::to_string), n.branch, n.message.role))
        .collect()
}
