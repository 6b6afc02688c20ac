//! Builds a transcript event by event, and keeps the state of the target's
//! conversation: the current branch's path, the target's tools, the
//! simulated environment's world state.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use agar_core::scenario::TargetTool;
use agar_core::{
    AuditStatus, ChatResponse, Event, EventKind, Message, ModelCall, ModelError, Origin, Role,
    RoleName, ScenarioInfo, ToolCall, Transcript,
};
use chrono::Utc;
use serde_json::Value;

/// The fewest events the log grows by. It grows by a quarter of its length
/// beyond that, not by doubling as a `Vec` does: an event is 200 bytes, an
/// audit of 30 model calls logs about 90, and a doubled log (room for 128)
/// would hold a third more than it needs for the whole audit, for every audit
/// in flight. The extra copies cost well under a microsecond per event.
const EVENT_STEP: usize = 16;

/// The transcript under construction plus the live conversation state.
#[derive(Debug)]
pub struct Recorder {
    transcript: Transcript,
    /// The target's conversation on the current branch, root first: (id, message).
    path: Vec<(String, Message)>,
    /// The ids of `path` while its messages are lent to a model call.
    lent_ids: Vec<String>,
    /// The branch new messages are written on.
    branch: u32,
    /// The number the next new branch gets.
    next_branch: u32,
    next_id: u32,
    /// The target's tools now, in creation order.
    tools: Vec<TargetTool>,
    /// The environment's world state after each tool result it wrote, by message id.
    states: HashMap<String, Value>,
    /// The world state before any tool call.
    initial_state: Value,
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
                cost: None,
                prompt_hashes: Default::default(),
            },
            path: Vec::new(),
            lent_ids: Vec::new(),
            branch: 0,
            next_branch: 1,
            next_id: 1,
            tools: Vec::new(),
            states: HashMap::new(),
            initial_state: Value::Object(serde_json::Map::new()),
        }
    }

    /// Records the hash of every prompt template the audit runs with.
    pub fn set_prompt_hashes(&mut self, hashes: BTreeMap<String, String>) {
        self.transcript.prompt_hashes = hashes;
    }

    fn push(&mut self, kind: EventKind) {
        let events = &mut self.transcript.events;
        if events.len() == events.capacity() {
            events.reserve_exact((events.len() / 4).max(EVENT_STEP));
        }
        events.push(Event { at: Utc::now(), kind });
    }

    /// Appends a message to the target's current branch; returns its id (`M#`).
    pub fn target_message(
        &mut self,
        message: Message,
        prefill: Option<String>,
        origin: Option<Origin>,
    ) -> String {
        let id = format!("M{}", self.next_id);
        self.next_id += 1;
        let parent = self.path.last().map(|(id, _)| id.clone());
        self.push(EventKind::Target {
            id: id.clone(),
            parent,
            branch: self.branch,
            message: message.clone(),
            prefill,
            origin,
        });
        self.path.push((id.clone(), message));
        id
    }

    /// The target's conversation on the current branch, root first.
    pub fn target_messages(&self) -> Vec<Message> {
        self.path.iter().map(|(_, m)| m.clone()).collect()
    }

    /// The target's conversation on the current branch, moved out (not
    /// copied) for a model call; until [`Self::return_target_messages`] gives
    /// it back the branch looks empty.
    pub fn lend_target_messages(&mut self) -> Vec<Message> {
        let (ids, messages) = std::mem::take(&mut self.path).into_iter().unzip();
        self.lent_ids = ids;
        messages
    }

    /// Takes back what [`Self::lend_target_messages`] lent.
    pub fn return_target_messages(&mut self, messages: Vec<Message>) {
        debug_assert_eq!(self.lent_ids.len(), messages.len());
        self.path = std::mem::take(&mut self.lent_ids).into_iter().zip(messages).collect();
    }

    /// The ids and messages of the current branch, root first.
    pub fn path(&self) -> &[(String, Message)] {
        &self.path
    }

    pub fn branch(&self) -> u32 {
        self.branch
    }

    /// Whether the current branch has a message yet.
    pub fn conversation_started(&self) -> bool {
        !self.path.is_empty()
    }

    /// Whether the current branch has user or assistant messages (beyond a system prompt).
    pub fn conversation_has_turns(&self) -> bool {
        self.path.iter().any(|(_, m)| m.role != Role::System)
    }

    /// Whether a message with this id exists on any branch.
    pub fn message_exists(&self, id: &str) -> bool {
        self.transcript.target_nodes().any(|n| n.id == id)
    }

    /// Tool calls of the branch's last assistant message that have no result yet.
    pub fn pending_calls(&self) -> Vec<ToolCall> {
        let Some(pos) = self.path.iter().rposition(|(_, m)| m.role == Role::Assistant) else {
            return Vec::new();
        };
        let answered: Vec<&str> =
            self.path[pos + 1..].iter().filter_map(|(_, m)| m.tool_call_id.as_deref()).collect();
        self.path[pos]
            .1
            .tool_calls
            .iter()
            .filter(|c| !answered.contains(&c.id.as_str()))
            .cloned()
            .collect()
    }

    /// Goes back to `to` (any branch): later messages start a new branch from it.
    pub fn rollback(&mut self, to: &str) -> Result<u32, String> {
        if !self.message_exists(to) {
            return Err(format!("there is no message {to:?}; message ids look like M3"));
        }
        let path: Vec<(String, Message)> = self
            .transcript
            .path_to(to)
            .iter()
            .map(|n| (n.id.to_string(), n.message.clone()))
            .collect();
        self.path = path;
        self.branch = self.next_branch;
        self.next_branch += 1;
        self.push(EventKind::Rollback { to: to.to_string(), branch: self.branch });
        Ok(self.branch)
    }

    /// Starts afresh on a new branch. `keep_root` keeps the first message of the
    /// current path (a fixed system prompt) as the new branch's root.
    pub fn restart(&mut self, keep_tools: bool, keep_root: bool) -> u32 {
        let root = if keep_root { self.path.first().cloned() } else { None };
        self.path = root.into_iter().collect();
        self.branch = self.next_branch;
        self.next_branch += 1;
        self.push(EventKind::Restart { branch: self.branch, kept_tools: keep_tools });
        if !keep_tools {
            for t in std::mem::take(&mut self.tools) {
                self.push(EventKind::ToolRemoved { name: t.def.name });
            }
        }
        self.branch
    }

    /// The target's tools now.
    pub fn tools(&self) -> &[TargetTool] {
        &self.tools
    }

    /// Adds a tool, replacing one of the same name. Returns whether it replaced one.
    pub fn set_tool(&mut self, tool: TargetTool) -> bool {
        let replaced = match self.tools.iter_mut().find(|t| t.def.name == tool.def.name) {
            Some(slot) => {
                *slot = tool.clone();
                true
            }
            None => {
                self.tools.push(tool.clone());
                false
            }
        };
        self.push(EventKind::ToolCreated { tool });
        replaced
    }

    /// Removes a tool; false if there was none of that name.
    pub fn remove_tool(&mut self, name: &str) -> bool {
        let before = self.tools.len();
        self.tools.retain(|t| t.def.name != name);
        let removed = self.tools.len() < before;
        if removed {
            self.push(EventKind::ToolRemoved { name: name.to_string() });
        }
        removed
    }

    /// The world state that holds on the current branch: the state after its
    /// last environment-written tool result, or the initial state.
    pub fn world_state(&self) -> &Value {
        self.path
            .iter()
            .rev()
            .find_map(|(id, _)| self.states.get(id))
            .unwrap_or(&self.initial_state)
    }

    /// Records the world state after the tool result `message`.
    pub fn set_world_state(&mut self, message: &str, state: Value, note: Option<String>) {
        self.states.insert(message.to_string(), state.clone());
        self.push(EventKind::WorldState { message: message.to_string(), state, note });
    }

    pub fn environment_briefing(&mut self, text: String) {
        self.push(EventKind::EnvironmentBriefing { text });
    }

    pub fn realism(
        &mut self,
        tool: &str,
        score: Option<f64>,
        feedback: String,
        accepted: bool,
        error: Option<String>,
    ) {
        self.push(EventKind::Realism { tool: tool.to_string(), score, feedback, accepted, error });
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
            retry_wait_ms: resp.retry_wait_ms,
            retried: resp.retried.clone(),
            error: None,
            error_kind: None,
        }));
    }

    /// Records a model call that failed past its retries.
    pub fn call_failed(&mut self, role: RoleName, model: &str, err: &ModelError, took: Duration) {
        self.push(EventKind::ModelCall(ModelCall {
            role,
            model: model.to_string(),
            usage: Default::default(),
            latency_ms: took.as_millis() as u64,
            attempts: err.attempts(),
            retry_wait_ms: u64::try_from(err.retry_wait().as_millis()).unwrap_or(u64::MAX),
            retried: err.retried().to_vec(),
            error: Some(err.to_string()),
            error_kind: Some(err.label()),
        }));
    }

    /// Tokens used so far, all roles.
    pub fn tokens_used(&self) -> u64 {
        self.transcript.total_usage().total()
    }

    /// How many replies the target has written, over all branches.
    pub fn target_replies(&self) -> usize {
        self.transcript.target_nodes().filter(|n| n.message.role == Role::Assistant).count()
    }

    /// Records a warning (see [`agar_core::EventKind::Warning`]).
    pub fn warn(&mut self, message: impl Into<String>) {
        self.push(EventKind::Warning { message: message.into() });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_log_keeps_little_room_beyond_its_events() {
        let scenario = ScenarioInfo {
            id: "s".into(),
            title: None,
            path: "s.md".into(),
            sha256: String::new(),
            tags: Vec::new(),
            language: "en".into(),
            instructions: String::new(),
            repeat: 0,
            generated: None,
        };
        let mut r = Recorder::new("run", "s", scenario, BTreeMap::new());
        for n in 1..=300usize {
            r.push(EventKind::End { reason: String::new() });
            let capacity = r.transcript().events.capacity();
            assert!(capacity >= n);
            // A doubled log would have room for 128 at 65 events.
            assert!(capacity - n < (n / 4).max(EVENT_STEP), "{n} events, room for {capacity}");
        }
    }
}
