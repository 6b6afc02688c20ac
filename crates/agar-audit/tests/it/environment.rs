//! The simulated environment keeps a world state, and answers consistently.

use std::sync::Arc;

use agar_core::scenario::TargetTool;
use agar_core::{AuditStatus, ChatRequest, EventKind, Origin, Role, ToolDef};
use agar_testkit::{ScriptedModel, text, tool_call};
use serde_json::{Value, json};

use crate::support::{Setup, scenario, tool_results};

/// A tiny key-value store played by a scripted environment model. It knows
/// only what the prompt tells it: the world state and the call.
fn kv_environment(req: &ChatRequest) -> Result<agar_core::ChatResponse, agar_core::ModelError> {
    let user = &req.messages[1].content;
    let state_text = user.split("```json\n").nth(1).and_then(|s| s.split("\n```").next()).unwrap();
    let mut state: Value = serde_json::from_str(state_text).unwrap();
    let last_call = user.rsplit("<call name=\"").next().unwrap();
    let (name, rest) = last_call.split_once("\">").unwrap();
    let args: Value = serde_json::from_str(rest.split("</call>").next().unwrap()).unwrap();
    let key = args["key"].as_str().unwrap().to_string();
    let output = match name {
        "put" => {
            state["kv"][&key] = args["value"].clone();
            "OK".to_string()
        }
        "get" => state["kv"].get(&key).map(|v| v.to_string()).unwrap_or_else(|| "null".into()),
        other => format!("unknown tool {other}"),
    };
    Ok(tool_call("respond", json!({"output": output, "world_state": state})))
}

fn kv_scenario() -> agar_core::Scenario {
    let mut s = scenario();
    let params = json!({"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string"}}, "required": ["key"]});
    for (name, hidden) in [("put", "stores a value"), ("get", "reads a value back")] {
        s.tools.push(TargetTool {
            def: ToolDef {
                name: name.into(),
                description: format!("{name} a key").into(),
                parameters: params.clone().into(),
            },
            environment: Some(hidden.into()),
        });
    }
    s.environment = Some("A key-value store, empty at first.".into());
    s
}

#[tokio::test]
async fn a_value_written_is_read_back_and_the_world_state_agrees() {
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("brief_environment", json!({"instructions": "The store is slow today."})),
            tool_call(
                "send_message",
                json!({"message": "Save my code 4711 under 'door', then check it."}),
            ),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target = Arc::new(ScriptedModel::from_responses(
        "target",
        [
            tool_call("put", json!({"key": "door", "value": "4711"})),
            tool_call("get", json!({"key": "door"})),
            text("Saved: 4711."),
        ],
    ));
    let env = Arc::new(ScriptedModel::from_fn("env", kv_environment));
    let mut setup = Setup::new_arc(Arc::new(auditor), target.clone());
    setup.environment = Some(env.clone());
    let t = setup.run(&kv_scenario()).await;
    assert_eq!(t.status, AuditStatus::Done);

    // The read returned what the write stored.
    let results: Vec<_> = t.target_nodes().filter(|n| n.message.role == Role::Tool).collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[1].message.content, "\"4711\"");
    assert!(results.iter().all(|r| r.origin == Some(Origin::Environment)));
    // The recorded world state after the write holds the value, and after the read still does.
    let states: Vec<(String, Value)> = t
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::WorldState { message, state, .. } => Some((message.clone(), state.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(states.len(), 2);
    assert_eq!(states[0].0, results[0].id);
    assert_eq!(states[0].1["kv"]["door"], "4711");
    assert_eq!(states[1].1["kv"]["door"], "4711");

    // The environment was told the tools' hidden descriptions, the scenario's
    // environment and the briefing; the target saw none of them.
    let env_system = &env.requests()[0].messages[0].content;
    assert!(env_system.contains("stores a value") && env_system.contains("key-value store"));
    assert!(env_system.contains("The store is slow today."));
    let target_view = serde_json::to_string(&target.requests()).unwrap();
    assert!(!target_view.contains("stores a value") && !target_view.contains("slow today"));
    // The auditor saw every call and result.
    let r = tool_results(&t);
    assert!(
        r[1].contains("name=\"put\"")
            && r[1].contains("name=\"get\"")
            && r[1].contains("Saved: 4711."),
        "{}",
        r[1]
    );
}

#[tokio::test]
async fn rolling_back_before_a_write_restores_the_earlier_world_state() {
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("send_message", json!({"message": "store it"})), // M1 user, M2 call, M3 result, M4 text
            tool_call("rollback_conversation", json!({"message_id": "M1"})),
            tool_call("send_message", json!({"message": "what is stored?"})),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target = Arc::new(ScriptedModel::from_responses(
        "target",
        [
            tool_call("put", json!({"key": "k", "value": "v"})),
            text("done"),
            tool_call("get", json!({"key": "k"})),
            text("nothing"),
        ],
    ));
    let env = ScriptedModel::from_fn("env", kv_environment);
    let t = Setup::new_arc(Arc::new(auditor), target).environment(env).run(&kv_scenario()).await;
    let results: Vec<_> = t.target_nodes().filter(|n| n.message.role == Role::Tool).collect();
    assert_eq!(results[0].message.content, "OK");
    assert_eq!(results[1].message.content, "null", "the write happened on another branch");
}

#[tokio::test]
async fn a_call_of_an_unknown_tool_gets_an_error_result_without_the_environment() {
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("send_message", json!({"message": "go"})),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target = Arc::new(ScriptedModel::from_responses(
        "target",
        [tool_call("rm_rf", json!({})), text("sorry")],
    ));
    let env = Arc::new(ScriptedModel::from_responses("env", []));
    let mut setup = Setup::new_arc(Arc::new(auditor), target);
    setup.environment = Some(env.clone());
    let t = setup.run(&kv_scenario()).await;
    assert_eq!(env.calls(), 0);
    let result = t.target_nodes().find(|n| n.message.role == Role::Tool).unwrap();
    assert!(result.message.content.contains("no tool named \"rm_rf\""));
}

#[tokio::test]
async fn an_environment_that_never_answers_properly_becomes_an_explicit_tool_error() {
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("send_message", json!({"message": "go"})),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target = Arc::new(ScriptedModel::from_responses(
        "target",
        [tool_call("get", json!({"key": "a"})), text("ok")],
    ));
    let env = Arc::new(ScriptedModel::from_fn("env", |_| Ok(text("value: 3"))));
    let mut setup = Setup::new_arc(Arc::new(auditor), target);
    setup.environment = Some(env.clone());
    let t = setup.run(&kv_scenario()).await;
    assert_eq!(env.calls(), 3);
    let result = t.target_nodes().find(|n| n.message.role == Role::Tool).unwrap();
    // Never the environment's raw text: an explicit error, recorded as such.
    assert!(result.message.content.starts_with("Error: "), "{}", result.message.content);
    assert!(!result.message.content.contains("value: 3"));
    let note = t.events.iter().find_map(|e| match &e.kind {
        EventKind::WorldState { note, .. } => note.clone(),
        _ => None,
    });
    let note = note.unwrap();
    assert!(note.contains("environment failure") && note.contains("no valid answer"), "{note}");
}
