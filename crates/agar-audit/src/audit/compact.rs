//! Long audits: when the auditor's own conversation nears its model's
//! context window, its middle is replaced by one summary message: the
//! auditor's earlier notes, the target's conversation as it stands and the
//! target's tools. Only what is sent to the auditor shrinks; the transcript
//! keeps every message (the summary is recorded as one more).

use super::*;

/// How many of the auditor's latest messages are always kept as they are.
const KEEP_RECENT: usize = 8;

/// The rough token count of `messages` (four characters a token), for
/// providers that report no usage.
fn estimate(messages: &[Message]) -> u64 {
    let chars: usize = messages
        .iter()
        .map(|m| {
            m.content.len()
                + m.reasoning.as_ref().map_or(0, String::len)
                + m.tool_calls.iter().map(|c| c.name.len() + c.arguments.len()).sum::<usize>()
        })
        .sum();
    chars.div_ceil(4) as u64
}

fn clip(text: &str, max: usize) -> String {
    let mut s: String = text.chars().take(max).collect();
    if s.len() < text.len() {
        s.push_str(" [...]");
    }
    s
}

impl Audit<'_> {
    /// Compacts `msgs` (system prompt and kickoff first) when the last call
    /// used `used` input tokens, or the messages are estimated at more, and
    /// that reaches `compact_at` of the window. Returns whether it did.
    pub(super) fn compact_if_needed(&mut self, msgs: &mut Vec<Message>, used: u64) -> bool {
        let Some(window) = self.settings.auditor_context_window else { return false };
        let size = used.max(estimate(msgs));
        let limit = (window as f64 * self.settings.compact_at.clamp(0.1, 1.0)) as u64;
        if size < limit || msgs.len() <= 2 + KEEP_RECENT {
            return false;
        }
        // Keep the tail from an assistant message on, so every tool result
        // kept still follows the call it answers.
        let mut start = msgs.len() - KEEP_RECENT;
        while start < msgs.len() && msgs[start].role != Role::Assistant {
            start += 1;
        }
        if start <= 2 || start >= msgs.len() {
            return false;
        }
        self.compacted_notes.extend(
            msgs[2..start]
                .iter()
                .filter(|m| m.role == Role::Assistant && !m.content.trim().is_empty())
                .map(|m| format!("- {}", clip(m.content.trim(), 600))),
        );
        let notes = &self.compacted_notes;
        let path: Vec<String> = self
            .rec
            .path()
            .iter()
            .map(|(id, m)| format!("[{id}] {}: {}", role_name(m.role), clip(&m.content, 400)))
            .collect();
        let mut summary = format!(
            "(Your conversation so far was compacted to fit your context window: {} earlier \
             messages were replaced by this summary. The audit continues; nothing changed for \
             the target.)\n\n",
            start - 2
        );
        if !notes.is_empty() {
            summary.push_str(&format!("Your earlier notes:\n{}\n\n", notes.join("\n")));
        }
        summary.push_str(&format!(
            "The target's conversation on the current branch:\n{}\n\nThe target's tools: {}\n",
            if path.is_empty() { "(empty)".to_string() } else { path.join("\n") },
            self.tool_names()
        ));
        let summary = Message::user(summary);
        self.rec.auditor_message(summary.clone());
        let tail = msgs.split_off(start);
        msgs.truncate(2);
        msgs.push(summary);
        msgs.extend(tail);
        true
    }
}
