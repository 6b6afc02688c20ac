//! The auditor's tools, one module each: its name, its argument struct with
//! the parameter schema derived from it (`args::tool_args!`), its
//! description (what the auditor model sees) and its execution (an
//! `impl Audit` method). This module offers the tools of a configuration
//! and parses the auditor's calls into [`AuditorAction`]s.
//!
//! Tool names are part of agar's contract (see PRODUCT.md). Only the tools
//! that exist in a configuration are offered ([`ToolConfig`]).

use agar_core::{ToolCall, ToolDef};
use serde_json::Value;

pub(crate) mod args;
pub mod brief_environment;
pub mod create_target_tool;
pub mod end_conversation;
pub mod remove_target_tool;
pub mod restart_conversation;
pub mod rollback_conversation;
pub mod send_message;
pub mod send_tool_call_result;
pub mod set_target_system_message;

pub use brief_environment::NAME as BRIEF_ENVIRONMENT;
pub use create_target_tool::NAME as CREATE_TARGET_TOOL;
pub use end_conversation::NAME as END_CONVERSATION;
pub use remove_target_tool::NAME as REMOVE_TARGET_TOOL;
pub use restart_conversation::NAME as RESTART_CONVERSATION;
pub use rollback_conversation::NAME as ROLLBACK_CONVERSATION;
pub use send_message::NAME as SEND_MESSAGE;
pub use send_tool_call_result::NAME as SEND_TOOL_CALL_RESULT;
pub use set_target_system_message::NAME as SET_TARGET_SYSTEM_MESSAGE;

/// Every auditor tool name, in the order they are offered.
pub const ALL_TOOLS: [&str; 9] = [
    SET_TARGET_SYSTEM_MESSAGE,
    CREATE_TARGET_TOOL,
    REMOVE_TARGET_TOOL,
    SEND_MESSAGE,
    SEND_TOOL_CALL_RESULT,
    BRIEF_ENVIRONMENT,
    ROLLBACK_CONVERSATION,
    RESTART_CONVERSATION,
    END_CONVERSATION,
];

/// What the configuration allows, which decides the tools offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolConfig {
    /// A simulated environment answers the target's tool calls (otherwise the
    /// auditor answers every call and `brief_environment` is not offered).
    pub environment: bool,
    /// The target's provider supports prefill (otherwise `send_message` has no
    /// `prefill` parameter).
    pub prefill: bool,
}

/// One thing the auditor asked for, with its checked arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditorAction {
    SetSystemMessage(set_target_system_message::Args),
    CreateTool(create_target_tool::Args),
    RemoveTool(remove_target_tool::Args),
    SendMessage(send_message::Args),
    SendToolCallResult(send_tool_call_result::Args),
    BriefEnvironment(brief_environment::Args),
    Rollback(rollback_conversation::Args),
    Restart(restart_conversation::Args),
    EndConversation,
}

fn tool(name: &str, description: &str, parameters: Value) -> ToolDef {
    ToolDef { name: name.into(), description: description.into(), parameters: parameters.into() }
}

/// The tools offered to the auditor in this configuration. Built once per
/// configuration and shared: every audit's copies hold the same schemas,
/// which the provider then writes as JSON once rather than once per call.
pub fn auditor_tools(cfg: ToolConfig) -> Vec<ToolDef> {
    static BUILT: [std::sync::OnceLock<Vec<ToolDef>>; 4] =
        [const { std::sync::OnceLock::new() }; 4];
    let slot = 2 * usize::from(cfg.environment) + usize::from(cfg.prefill);
    BUILT[slot].get_or_init(|| build_auditor_tools(cfg)).clone()
}

fn build_auditor_tools(cfg: ToolConfig) -> Vec<ToolDef> {
    let mut tools = vec![
        tool(
            SET_TARGET_SYSTEM_MESSAGE,
            set_target_system_message::DESCRIPTION,
            set_target_system_message::Args::parameters(),
        ),
        tool(
            CREATE_TARGET_TOOL,
            create_target_tool::DESCRIPTION,
            create_target_tool::Args::parameters(),
        ),
        tool(
            REMOVE_TARGET_TOOL,
            remove_target_tool::DESCRIPTION,
            remove_target_tool::Args::parameters(),
        ),
        send_message::def(cfg),
        send_tool_call_result::def(cfg),
    ];
    if cfg.environment {
        tools.push(tool(
            BRIEF_ENVIRONMENT,
            brief_environment::DESCRIPTION,
            brief_environment::Args::parameters(),
        ));
    }
    tools.extend([
        tool(
            ROLLBACK_CONVERSATION,
            rollback_conversation::DESCRIPTION,
            rollback_conversation::Args::parameters(),
        ),
        tool(
            RESTART_CONVERSATION,
            restart_conversation::DESCRIPTION,
            restart_conversation::Args::parameters(),
        ),
        tool(END_CONVERSATION, end_conversation::DESCRIPTION, end_conversation::Args::parameters()),
    ]);
    tools
}

/// `Err` when a text argument that must say something is blank.
fn nonempty(tool: &str, field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() { Err(format!("{tool} needs a non-empty {field}")) } else { Ok(()) }
}

/// Parses one of the auditor's tool calls. An error is a message for the
/// auditor, who can correct the call; it never ends the audit by itself.
pub fn parse_action(call: &ToolCall) -> Result<AuditorAction, String> {
    let args = call
        .parse_arguments()
        .map_err(|e| format!("the arguments of {} are not valid JSON: {e}", call.name))?;
    fn get<T: serde::de::DeserializeOwned>(name: &str, args: Value) -> Result<T, String> {
        serde_json::from_value(args).map_err(|e| format!("invalid arguments for {name}: {e}"))
    }
    let name = call.name.as_str();
    Ok(match name {
        SET_TARGET_SYSTEM_MESSAGE => {
            let a: set_target_system_message::Args = get(name, args)?;
            a.check()?;
            AuditorAction::SetSystemMessage(a)
        }
        CREATE_TARGET_TOOL => {
            let mut a: create_target_tool::Args = get(name, args)?;
            a.check()?;
            AuditorAction::CreateTool(a)
        }
        REMOVE_TARGET_TOOL => AuditorAction::RemoveTool(get(name, args)?),
        SEND_MESSAGE => {
            let mut a: send_message::Args = get(name, args)?;
            a.check()?;
            AuditorAction::SendMessage(a)
        }
        SEND_TOOL_CALL_RESULT => AuditorAction::SendToolCallResult(get(name, args)?),
        BRIEF_ENVIRONMENT => {
            let a: brief_environment::Args = get(name, args)?;
            a.check()?;
            AuditorAction::BriefEnvironment(a)
        }
        ROLLBACK_CONVERSATION => AuditorAction::Rollback(get(name, args)?),
        RESTART_CONVERSATION => AuditorAction::Restart(get(name, args)?),
        END_CONVERSATION => AuditorAction::EndConversation,
        other => {
            return Err(format!(
                "there is no tool named {other:?}; your tools are: {}",
                ALL_TOOLS.join(", ")
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &str) -> ToolCall {
        ToolCall { id: "c".into(), name: name.into(), arguments: args.into() }
    }

    #[test]
    fn parses_each_tool() {
        let cases = [
            (
                SEND_MESSAGE,
                r#"{"message":"hi"}"#,
                AuditorAction::SendMessage(send_message::Args {
                    message: "hi".into(),
                    prefill: None,
                }),
            ),
            (
                SET_TARGET_SYSTEM_MESSAGE,
                r#"{"system_message":"s"}"#,
                AuditorAction::SetSystemMessage(set_target_system_message::Args {
                    system_message: "s".into(),
                }),
            ),
            (END_CONVERSATION, "", AuditorAction::EndConversation),
            (
                REMOVE_TARGET_TOOL,
                r#"{"name":"f"}"#,
                AuditorAction::RemoveTool(remove_target_tool::Args { name: "f".into() }),
            ),
            (
                ROLLBACK_CONVERSATION,
                r#"{"message_id":"M3"}"#,
                AuditorAction::Rollback(rollback_conversation::Args { message_id: "M3".into() }),
            ),
            (
                RESTART_CONVERSATION,
                "{}",
                AuditorAction::Restart(restart_conversation::Args { keep_tools: None }),
            ),
            (
                RESTART_CONVERSATION,
                r#"{"keep_tools":false}"#,
                AuditorAction::Restart(restart_conversation::Args { keep_tools: Some(false) }),
            ),
            (
                BRIEF_ENVIRONMENT,
                r#"{"instructions":"x"}"#,
                AuditorAction::BriefEnvironment(brief_environment::Args {
                    instructions: "x".into(),
                }),
            ),
            (
                SEND_TOOL_CALL_RESULT,
                r#"{"tool_call_id":"call_1","result":"ok"}"#,
                AuditorAction::SendToolCallResult(send_tool_call_result::Args {
                    tool_call_id: "call_1".into(),
                    result: "ok".into(),
                    is_error: None,
                }),
            ),
        ];
        for (name, args, want) in cases {
            assert_eq!(parse_action(&call(name, args)).unwrap(), want, "{name}");
        }
        let a = parse_action(&call(
            CREATE_TARGET_TOOL,
            r#"{"name":"read_file","description":"Read","parameters":{"type":"object"},"environment":" "}"#,
        ))
        .unwrap();
        assert!(
            matches!(
                a,
                AuditorAction::CreateTool(create_target_tool::Args { environment: None, .. })
            ),
            "{a:?}"
        );
    }

    #[test]
    fn errors_explain_what_is_wrong() {
        let e = parse_action(&call(SEND_MESSAGE, "{}")).unwrap_err();
        assert!(e.contains("missing field `message`"), "{e}");
        let e = parse_action(&call(SEND_MESSAGE, "{not json")).unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
        let e = parse_action(&call("rollback_everything", "{}")).unwrap_err();
        assert!(e.contains("send_message"), "{e}");
        let e = parse_action(&call(SEND_MESSAGE, r#"{"message":"  "}"#)).unwrap_err();
        assert!(e.contains("non-empty"), "{e}");
        let e = parse_action(&call(SEND_MESSAGE, r#"{"message":"a","extra":1}"#)).unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
        // The parameters are required, as the schema says.
        let e = parse_action(&call(CREATE_TARGET_TOOL, r#"{"name":"f","description":"d"}"#))
            .unwrap_err();
        assert!(e.contains("missing field `parameters`"), "{e}");
        // end_conversation ends the audit whatever the model adds.
        let a = parse_action(&call(END_CONVERSATION, r#"{"reason":"done"}"#)).unwrap();
        assert_eq!(a, AuditorAction::EndConversation);
    }

    #[test]
    fn only_the_configured_tools_are_offered() {
        let names = |cfg| auditor_tools(cfg).into_iter().map(|t| t.name).collect::<Vec<_>>();
        let full = names(ToolConfig { environment: true, prefill: true });
        assert_eq!(full, ALL_TOOLS);
        let no_env = names(ToolConfig { environment: false, prefill: false });
        assert!(!no_env.contains(&BRIEF_ENVIRONMENT.to_string()));
        let send = auditor_tools(ToolConfig { environment: false, prefill: false })
            .into_iter()
            .find(|t| t.name == SEND_MESSAGE)
            .unwrap();
        assert!(send.parameters["properties"].get("prefill").is_none());
        for t in auditor_tools(ToolConfig { environment: true, prefill: true }) {
            assert_eq!(t.parameters["type"], "object", "{}", t.name);
            // Every schema the auditor sees passes the rule target tools must pass.
            let normalised = agar_core::tool_schema::normalise_parameters(&t.parameters);
            assert_eq!(normalised.as_ref(), Ok(&*t.parameters), "{}", t.name);
        }
    }
}
