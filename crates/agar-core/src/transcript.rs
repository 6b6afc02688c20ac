//! The transcript of one audit: an append-only log of events over every branch
//! of the target's conversation, plus the verdicts stored beside it.
//!
//! The target's conversation is a tree: each [`EventKind::Target`] message names
//! its parent. A rollback starts a new branch from an earlier message; nothing is
//! ever removed, so the reviewer and the judge see every branch.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::message::Message;
use crate::model::Usage;
use crate::scenario::TargetTool;
use crate::state::AuditState;
use crate::verdict::Verdict;

/// The roles a model plays in an audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Auditor,
    Target,
    Environment,
    Judge,
    Realism,
}

impl RoleName {
    pub const ALL: [RoleName; 5] = [
        RoleName::Auditor,
        RoleName::Target,
        RoleName::Environment,
        RoleName::Judge,
        RoleName::Realism,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            RoleName::Auditor => "auditor",
            RoleName::Target => "target",
            RoleName::Environment => "environment",
            RoleName::Judge => "judge",
            RoleName::Realism => "realism",
        }
    }
}

impl std::fmt::Display for RoleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an audit stands.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuditStatus {
    #[default]
    Pending,
    Running,
    /// The audit ran to its end (judged unless `--no-judge`).
    Done,
    /// The audit did not really test the target (the auditor never reached it,
    /// looped, or broke the protocol); it is not judged as if the target behaved well.
    Invalid {
        reason: String,
    },
    /// The audit could not finish (a provider failed past its retries, a budget, a bug).
    Failed {
        cause: String,
    },
}

impl AuditStatus {
    /// The state without its reason or cause.
    pub fn state(&self) -> AuditState {
        match self {
            AuditStatus::Pending => AuditState::Pending,
            AuditStatus::Running => AuditState::Running,
            AuditStatus::Done => AuditState::Done,
            AuditStatus::Invalid { .. } => AuditState::Invalid,
            AuditStatus::Failed { .. } => AuditState::Failed,
        }
    }

    pub fn label(&self) -> &'static str {
        self.state().as_str()
    }

    /// The reason an audit is invalid, or the cause it failed.
    pub fn detail(&self) -> Option<&str> {
        match self {
            AuditStatus::Invalid { reason } => Some(reason),
            AuditStatus::Failed { cause } => Some(cause),
            _ => None,
        }
    }

    /// Whether the audit has reached a final state (it will not be run again).
    pub fn is_finished(&self) -> bool {
        self.state().is_finished()
    }
}

/// The record of one model call, whatever the role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCall {
    pub role: RoleName,
    pub model: String,
    pub usage: Usage,
    pub latency_ms: u64,
    /// How many HTTP attempts the middleware made (1 = no retry).
    pub attempts: u32,
    /// Milliseconds spent waiting between those attempts (backoff and
    /// `Retry-After`); absent when there was no wait.
    #[serde(default, skip_serializing_if = "crate::model::is_zero")]
    pub retry_wait_ms: u64,
    /// What each retried attempt failed with ([`crate::ModelError::label`]), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<String>,
    /// Set when the call failed past its retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The [`crate::ModelError::label`] of `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
}

/// One entry of the transcript's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A message of the target's conversation (system, user, assistant or tool).
    Target {
        /// Short id the auditor and the judge use: `M1`, `M2`, ...
        id: String,
        /// The message it follows; `None` for the first of a branch from the root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
        /// The branch it was written on (0 for the first).
        branch: u32,
        #[serde(flatten)]
        message: Message,
        /// For an assistant message: the part of `content` the auditor wrote as prefill.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefill: Option<String>,
        /// For a tool result: who wrote it (the simulated environment or the auditor).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
    },
    /// A message of the auditor's own conversation (its instructions, its turns,
    /// the results of its tools).
    Auditor {
        #[serde(flatten)]
        message: Message,
    },
    /// A tool was made available to the target (or replaced).
    ToolCreated { tool: TargetTool },
    /// A tool was taken away from the target.
    ToolRemoved { name: String },
    /// The target's conversation went back to `to`; later messages are
    /// written on `branch`.
    Rollback { to: String, branch: u32 },
    /// The target's conversation started afresh on `branch` (from the fixed
    /// system prompt, if the scenario has one).
    Restart { branch: u32, kept_tools: bool },
    /// The auditor's instructions to the simulated environment.
    EnvironmentBriefing { text: String },
    /// The simulated environment's world state after answering the tool call
    /// recorded as `message` (a tool result); on a rollback, the state of the
    /// path's last such message applies again.
    WorldState {
        message: String,
        state: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The realism filter's judgement of an auditor action.
    Realism {
        /// The auditor tool that was checked.
        tool: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        score: Option<f64>,
        #[serde(default)]
        feedback: String,
        /// Whether the action went ahead.
        accepted: bool,
        /// Set when the realism model failed (the action then goes ahead).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A model call's usage and timing.
    ModelCall(ModelCall),
    /// The audit ended, and why.
    End { reason: String },
    /// Something the audit cannot vouch for, shown with the transcript and
    /// in the run's summary (e.g. a target offered tools that never called one).
    Warning { message: String },
}

/// Who wrote a tool result the target received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The simulated environment agent.
    Environment,
    /// The auditor, with `send_tool_call_result`.
    Auditor,
}

/// What the transcript records of the scenario it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub path: String,
    pub sha256: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The language the audit was asked to be conducted in (BCP 47); absent
    /// in the file when it is `en`, the default.
    #[serde(default = "crate::scenario::default_language", skip_serializing_if = "is_english")]
    pub language: String,
    /// The instruction the auditor was given.
    pub instructions: String,
    /// Which repeat of the scenario this audit is (0-based).
    #[serde(default)]
    pub repeat: u32,
    /// The scenario's provenance, when `agar generate` wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<crate::scenario::Generated>,
}

/// Whether `tag` is `en`, the language left out of transcripts.
fn is_english(tag: &str) -> bool {
    tag == "en"
}

/// One audit, complete: written to `RUN_ID/AUDIT_ID.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub schema_version: u32,
    pub run_id: String,
    pub audit_id: String,
    pub agar_version: String,
    pub scenario: ScenarioInfo,
    /// The model reference of each role.
    pub models: BTreeMap<RoleName, String>,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: AuditStatus,
    pub events: Vec<Event>,
    /// Tokens used per role, summed over the audit.
    #[serde(default)]
    pub usage: BTreeMap<RoleName, Usage>,
    /// The judge's verdicts, oldest first; re-judging appends.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    /// What the audit cost, from the prices known when it was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::cost::Cost>,
    /// sha256 (hex) of every prompt template the audit ran with, by file
    /// name (an override's hash when `--prompts` replaced it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompt_hashes: BTreeMap<String, String>,
}

/// A message of the target's conversation, as seen through the tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetNode<'a> {
    pub id: &'a str,
    pub parent: Option<&'a str>,
    pub branch: u32,
    pub message: &'a Message,
    pub prefill: Option<&'a str>,
    pub origin: Option<Origin>,
}

impl Transcript {
    /// The warnings recorded during the audit, oldest first.
    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.events.iter().filter_map(|e| match &e.kind {
            EventKind::Warning { message } => Some(message.as_str()),
            _ => None,
        })
    }

    /// A warning when the target was offered tools and never called one in
    /// the whole audit: a server that ignores tools (llama-cpp-python without
    /// `tool_choice`) or a model that cannot use them, either way an agentic
    /// scenario that did not test what it meant to.
    pub fn unused_tools_warning(&self) -> Option<String> {
        let offered: std::collections::BTreeSet<&str> = self
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ToolCreated { tool } => Some(tool.def.name.as_str()),
                _ => None,
            })
            .collect();
        let called = self
            .target_nodes()
            .any(|n| n.message.role == crate::Role::Assistant && !n.message.tool_calls.is_empty());
        (!offered.is_empty() && !called).then(|| {
            let names: Vec<&str> = offered.into_iter().collect();
            format!(
                "the target was offered tools ({}) and never called one: the scenario's agentic \
                 part was not exercised (a server that ignores tools, or a model that cannot use them)",
                names.join(", ")
            )
        })
    }

    /// Every target message over all branches, in the order written.
    pub fn target_nodes(&self) -> impl Iterator<Item = TargetNode<'_>> {
        self.events.iter().filter_map(|e| match &e.kind {
            EventKind::Target { id, parent, branch, message, prefill, origin } => {
                Some(TargetNode {
                    id,
                    parent: parent.as_deref(),
                    branch: *branch,
                    message,
                    prefill: prefill.as_deref(),
                    origin: *origin,
                })
            }
            _ => None,
        })
    }

    /// The conversation from the root to `leaf`, inclusive.
    pub fn path_to(&self, leaf: &str) -> Vec<TargetNode<'_>> {
        let by_id: BTreeMap<&str, TargetNode<'_>> =
            self.target_nodes().map(|n| (n.id, n)).collect();
        let mut path = Vec::new();
        let mut cur = by_id.get(leaf).copied();
        while let Some(node) = cur {
            path.push(node);
            cur = node.parent.and_then(|p| by_id.get(p).copied());
        }
        path.reverse();
        path
    }

    /// The branches that exist, each with its last message id.
    pub fn branch_leaves(&self) -> BTreeMap<u32, String> {
        self.branches().into_iter().map(|(b, branch)| (b, branch.leaf)).collect()
    }

    /// Whether the target ever answered (an assistant message exists).
    pub fn target_replied(&self) -> bool {
        self.target_nodes().any(|n| n.message.role == crate::Role::Assistant)
    }

    /// Usage summed over every role.
    pub fn total_usage(&self) -> Usage {
        let mut total = Usage::default();
        for u in self.usage.values() {
            total += *u;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    fn node(id: &str, parent: Option<&str>, branch: u32, msg: Message) -> Event {
        Event {
            at: DateTime::<Utc>::UNIX_EPOCH,
            kind: EventKind::Target {
                id: id.into(),
                parent: parent.map(Into::into),
                branch,
                message: msg,
                prefill: None,
                origin: None,
            },
        }
    }

    fn sample() -> Transcript {
        Transcript {
            schema_version: crate::SCHEMA_VERSION,
            run_id: "r".into(),
            audit_id: "a".into(),
            agar_version: "0".into(),
            scenario: ScenarioInfo {
                id: "s".into(),
                title: None,
                path: "s.md".into(),
                sha256: "x".into(),
                tags: vec![],
                language: "en".into(),
                instructions: "probe".into(),
                repeat: 0,
                generated: None,
            },
            models: BTreeMap::new(),
            started_at: DateTime::<Utc>::UNIX_EPOCH,
            finished_at: None,
            status: AuditStatus::Done,
            events: vec![
                node("M1", None, 0, Message::system("sys")),
                node("M2", Some("M1"), 0, Message::user("hi")),
                node("M3", Some("M2"), 0, Message::assistant("hello")),
                node("M4", Some("M1"), 1, Message::user("other")),
            ],
            usage: BTreeMap::new(),
            verdicts: vec![],
            cost: None,
            prompt_hashes: Default::default(),
        }
    }

    #[test]
    fn branches_say_where_each_begins_and_what_it_continues() {
        let mut t = sample();
        let b = t.branches();
        assert_eq!(b.len(), 2);
        assert_eq!((b[&0].first.as_str(), b[&0].leaf.as_str(), b[&0].messages), ("M1", "M3", 3));
        assert_eq!(b[&0].start, crate::BranchStart::First);
        assert_eq!(b[&1].forked_after.as_deref(), Some("M1"));
        assert_eq!((b[&1].from, b[&1].start), (Some(0), crate::BranchStart::Rollback));
        // A recorded restart wins over what the parents suggest.
        t.events.push(Event {
            at: DateTime::<Utc>::UNIX_EPOCH,
            kind: EventKind::Restart { branch: 1, kept_tools: true },
        });
        assert_eq!(t.branches()[&1].start, crate::BranchStart::Restart);
        assert_eq!(t.branch_leaves()[&1], "M4");
    }

    #[test]
    fn path_follows_parents_across_branches() {
        let t = sample();
        let ids: Vec<_> = t.path_to("M4").iter().map(|n| n.id).collect();
        assert_eq!(ids, ["M1", "M4"]);
        let ids: Vec<_> = t.path_to("M3").iter().map(|n| n.id).collect();
        assert_eq!(ids, ["M1", "M2", "M3"]);
        assert_eq!(t.branch_leaves().get(&1).map(String::as_str), Some("M4"));
    }

    #[test]
    fn transcript_round_trips_through_json() {
        let t = sample();
        let json = serde_json::to_string(&t).unwrap();
        let back: Transcript = serde_json::from_str(&json).unwrap();
        assert_eq!(t, back);
        assert!(json.contains("\"type\":\"target\""));
    }
}
