//! create_target_tool, remove_target_tool, send_tool_call_result, and
//! scenario-registered tools.

use agar_core::scenario::TargetTool;
use agar_core::{AuditStatus, EventKind, Origin, Role, ToolDef};
use agar_testkit::{ScriptedModel, text, tool_call};
use serde_json::json;

use crate::support::{Setup, scenario, tool_results};

fn create(name: &str, params: serde_json::Value) -> agar_core::ChatResponse {
    tool_call("create_target_tool", json!({"name": name, "description": "d", "parameters": params}))
}

#[tokio::test]
async fn create_and_remove_tools_with_their_errors() {
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            create("read file", json!({})),
            create(
                "read_file",
                json!({"type": "object", "properties": {"path": {"type": "Text"}}}),
            ),
            create(
                "read_file",
                json!({"properties": {"path": {"type": "STRING"}}, "required": ["path"]}),
            ),
            tool_call(
                "create_target_tool",
                json!({"name": "read_file", "description": "Read a file.", "parameters": {"properties": {"path": {"type": "string"}}}, "environment": "a small repo"}),
            ),
            create("send_message", json!({})),
            tool_call("remove_target_tool", json!({"name": "nope"})),
            create("list_dir", json!({})),
            tool_call("remove_target_tool", json!({"name": "list_dir"})),
            tool_call("send_message", json!({"message": "hi"})),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target = std::sync::Arc::new(ScriptedModel::from_responses("target", [text("hello")]));
    let setup = Setup::new_arc(std::sync::Arc::new(auditor), target.clone());
    let t = setup.run(&scenario()).await;
    assert_eq!(t.status, AuditStatus::Done);
    let r = tool_results(&t);
    assert!(r[0].contains("invalid tool name"), "{}", r[0]);
    assert!(r[1].contains("parameters.properties.path.type") && r[1].contains("Text"), "{}", r[1]);
    assert!(r[2].contains("tool read_file created"), "{}", r[2]);
    assert!(r[3].contains("tool read_file replaced"), "{}", r[3]);
    assert!(r[4].contains("one of your own tools"), "{}", r[4]);
    assert!(r[5].contains("no tool named \"nope\""), "{}", r[5]);
    assert!(r[7].contains("list_dir removed") && r[7].contains("read_file"), "{}", r[7]);
    // The target got the final definition only, normalised, without the hidden description.
    let tools = &target.requests()[0].tools;
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].description, "Read a file.");
    assert_eq!(tools[0].parameters["type"], "object");
    assert!(!tools[0].parameters.to_string().contains("small repo"));
    // Both versions are in the transcript, the hidden description included.
    let created: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToolCreated { tool } => Some(tool.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 3);
    assert_eq!(created[1].environment.as_deref(), Some("a small repo"));
    assert_eq!(created[0].def.parameters["properties"]["path"]["type"], "string");
}

#[tokio::test]
async fn the_auditor_answers_tool_calls_without_an_environment() {
    let mut s = scenario();
    s.tools.push(TargetTool {
        def: ToolDef {
            name: "get_balance".into(),
            description: "Balance of an account.".into(),
            parameters: json!({"type": "object", "properties": {"account": {"type": "string"}}})
                .into(),
        },
        environment: None,
    });
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("send_tool_call_result", json!({"tool_call_id": "call_1", "result": "x"})),
            tool_call("send_message", json!({"message": "What is my balance?"})),
            tool_call("send_message", json!({"message": "Hello?"})),
            tool_call("send_tool_call_result", json!({"tool_call_id": "call_9", "result": "x"})),
            tool_call(
                "send_tool_call_result",
                json!({"tool_call_id": "call_1", "result": "{\"balance\": 1200}"}),
            ),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target = std::sync::Arc::new(ScriptedModel::from_responses(
        "target",
        [tool_call("get_balance", json!({"account": "main"})), text("You have 1200.")],
    ));
    let setup = Setup::new_arc(std::sync::Arc::new(auditor), target.clone());
    let t = setup.run(&s).await;
    assert_eq!(t.status, AuditStatus::Done);
    let r = tool_results(&t);
    assert!(r[0].contains("no pending tool call"), "{}", r[0]);
    assert!(r[1].contains("<target_tool_call id=\"call_1\" name=\"get_balance\">"), "{}", r[1]);
    assert!(r[1].contains("answer each with send_tool_call_result"), "{}", r[1]);
    assert!(r[2].contains("waiting for the results"), "{}", r[2]);
    assert!(r[3].contains("call_9") && r[3].contains("pending: call_1 (get_balance)"), "{}", r[3]);
    assert!(r[4].contains("You have 1200."), "{}", r[4]);
    // The scenario's tool was offered from the first call.
    assert_eq!(target.requests()[0].tools[0].name, "get_balance");
    // The tool result is recorded as the auditor's.
    let result = t.target_nodes().find(|n| n.message.role == Role::Tool).unwrap();
    assert_eq!(result.origin, Some(Origin::Auditor));
    assert_eq!(result.message.tool_call_id.as_deref(), Some("call_1"));
}

#[tokio::test]
async fn a_tool_using_target_is_stopped_at_the_step_limit() {
    let mut s = scenario();
    s.tools.push(TargetTool {
        def: ToolDef {
            name: "ping".into(),
            description: "Ping.".into(),
            parameters: json!({"type": "object", "properties": {}}).into(),
        },
        environment: None,
    });
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("send_message", json!({"message": "go"})),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target =
        std::sync::Arc::new(ScriptedModel::from_fn("target", |_| Ok(tool_call("ping", json!({})))));
    let env = ScriptedModel::from_fn("env", |_| {
        Ok(tool_call("respond", json!({"output": "pong", "world_state": {"pings": 1}})))
    });
    let mut setup = Setup::new_arc(std::sync::Arc::new(auditor), target.clone()).environment(env);
    setup.settings.max_target_steps = 3;
    let t = setup.run(&s).await;
    assert_eq!(target.calls(), 3);
    assert!(tool_results(&t)[0].contains("limit of 3 steps"), "{:?}", tool_results(&t));
}
