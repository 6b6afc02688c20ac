//! Conversation messages, tool calls and tool definitions, independent of any provider.

use serde::{Deserialize, Serialize};

/// Who wrote a message, from the point of view of the model receiving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    #[default]
    User,
    Assistant,
    Tool,
}

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    /// The text. Empty for an assistant turn made only of tool calls.
    #[serde(default)]
    pub content: crate::Text,
    /// Tool calls made by an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a `tool` message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For an assistant message: the model's reasoning before it answered
    /// (extended thinking), as readable text for reviewers and the judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// For an assistant message: opaque data the provider that wrote it needs
    /// back, unchanged, when the conversation continues (Anthropic's signed
    /// thinking blocks, an HTTP application's session id). Each provider reads
    /// only its own keys and ignores the rest.
    /// Boxed: rarely set, and a `Value` in place would make every message
    /// (and every transcript event) 24 bytes larger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_state: Option<Box<serde_json::Value>>,
}

impl Message {
    pub fn system(content: impl Into<crate::Text>) -> Self {
        Self { role: Role::System, content: content.into(), ..Self::default() }
    }
    pub fn user(content: impl Into<crate::Text>) -> Self {
        Self { role: Role::User, content: content.into(), ..Self::default() }
    }
    pub fn assistant(content: impl Into<crate::Text>) -> Self {
        Self { role: Role::Assistant, content: content.into(), ..Self::default() }
    }
    /// A tool result answering the call `call_id`.
    pub fn tool(call_id: impl Into<String>, content: impl Into<crate::Text>) -> Self {
        Self {
            role: Role::Tool,
            content: content.into(),
            tool_call_id: Some(call_id.into()),
            ..Self::default()
        }
    }
}

/// A call of a tool by a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id, echoed back by the tool result.
    pub id: String,
    pub name: String,
    /// The arguments exactly as the model wrote them (JSON text, possibly malformed).
    pub arguments: String,
}

impl ToolCall {
    /// The arguments parsed as JSON; an empty string counts as `{}`.
    pub fn parse_arguments(&self) -> Result<serde_json::Value, serde_json::Error> {
        if self.arguments.trim().is_empty() {
            return Ok(serde_json::Value::Object(serde_json::Map::new()));
        }
        serde_json::from_str(&self.arguments)
    }
}

/// A tool offered to a model: a name, what it does, and its parameters as JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    /// Shared like [`crate::Text`] messages: a tool offered in every request
    /// of an audit holds one copy of its description, not one per request.
    pub description: crate::Text,
    /// A JSON Schema object describing the arguments. Shared, so that a
    /// tool offered in every request of an audit (the auditor's, the
    /// judge's verdict tool) is one value however many requests hold it.
    pub parameters: std::sync::Arc<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_arguments_parse_as_an_empty_object() {
        let call = ToolCall { id: "c1".into(), name: "f".into(), arguments: " ".into() };
        assert_eq!(call.parse_arguments().unwrap(), serde_json::json!({}));
    }

    #[test]
    fn malformed_arguments_are_an_error_not_a_panic() {
        let call = ToolCall { id: "c1".into(), name: "f".into(), arguments: "{\"a\":".into() };
        assert!(call.parse_arguments().is_err());
    }
}
