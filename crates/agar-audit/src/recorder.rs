//! Builds a transcript event by event, and keeps the target's current branch.

use std::collections::BTreeMap;
use std::time::Duration;

use agar_core::{
    AuditStatus, ChatResponse, Event, EventKind, Message, ModelCall, ModelError, RoleName,
    ScenarioInfo, Transcript, Usage,
};
use chrono::Utc;

/// The transcript under construction plus the target's current path.
#[derive(Debug)]
pub struct Recorder {
    transcript: Transcript,
    /// The target's conversation on the current branch, root first: (id, message).
    path: Vec<(String, Message)>,
    branch: u32,
    next_id: u32,
}

impl Recorder {
    pub fn new(
        run_id: &str,
        audit_id: &str,
        scenario: ScenarioInfo,
        models: BTreeMap<RoleName, String>,
    ) -> Self {
        Self {
            transcript: Transcript {
                schema_version: agar_core::SCHEMA_VERSION,
                run_id: run_id.to_string(),
                audit_id: audit_id.to_string(),
                agar_version: env!("CARGO_PKG_VERSION").to_string(),
                scenario,
                models,
                started_at: Utc::now(),
                finished_at: None,
                status: AuditStatus::Running,
                events: Vec::new(),
                usage: BTreeMap::new(),
                verdicts: Vec::new(),
            },
            path: Vec::new(),
            branch: 0,
            next_id: 1,
        }
    }

    fn push(&mut self, kind: EventKind) {
        self.transcript.events.push(Event { at: Utc::now(), kind });
    }

    /// Appends a message to the target's current branch; returns its id (`M#`).
    pub fn target_message(&mut self, message: Message, prefill: Option<String>) -> String {
        let id = format!("M{}", self.next_id);
        self.next_id += 1;
        let parent = self.path.last().map(|(id, _)| id.clone());
        self.push(EventKind::Target {
            id: id.clone(),
            parent,
            branch: self.branch,
            message: message.clone(),
            prefill,
        });
        self.path.push((id.clone(), message));
        id
    }

    /// The target's conversation on the current branch, root first.
    pub fn target_messages(&self) -> Vec<Message> {
        self.path.iter().map(|(_, m)| m.clone()).collect()
    }

    /// Whether the current branch starts with a system message.
    pub fn has_system_message(&self) -> bool {
        self.path.first().is_some_and(|(_, m)| m.role == agar_core::Role::System)
    }

    /// Whether the target has answered on the current branch.
    pub fn target_replied_on_branch(&self) -> bool {
        self.path.iter().any(|(_, m)| m.role == agar_core::Role::Assistant)
    }

    /// A message of the auditor's own conversation.
    pub fn auditor_message(&mut self, message: Message) {
        self.push(EventKind::Auditor { message });
    }

    /// Records a successful model call and adds its usage to the role's total.
    pub fn call_ok(&mut self, role: RoleName, model: &str, resp: &ChatResponse, took: Duration) {
        *self.transcript.usage.entry(role).or_default() += resp.usage;
        self.push(EventKind::ModelCall(ModelCall {
            role,
            model: model.to_string(),
            usage: resp.usage,
            latency_ms: took.as_millis() as u64,
            attempts: resp.attempts,
            error: None,
        }));
    }

    /// Records a model call that failed past its retries.
    pub fn call_failed(&mut self, role: RoleName, model: &str, err: &ModelError, took: Duration) {
        self.push(EventKind::ModelCall(ModelCall {
            role,
            model: model.to_string(),
            usage: Usage::default(),
            latency_ms: took.as_millis() as u64,
            attempts: 0,
            error: Some(err.to_string()),
        }));
    }

    pub fn end(&mut self, reason: impl Into<String>) {
        self.push(EventKind::End { reason: reason.into() });
    }

    /// Sets the final status and the end time, and hands the transcript over.
    pub fn finish(mut self, status: AuditStatus) -> Transcript {
        self.transcript.status = status;
        self.transcript.finished_at = Some(Utc::now());
        self.transcript
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }
}
