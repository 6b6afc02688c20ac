//! Guided auditors: the loop picks each turn's tool and forces it, offering
//! only that one; free auditors choose among all their tools.

use std::sync::Arc;

use agar_audit::AuditorGuidance;
use agar_audit::tools::{ToolConfig, auditor_tools};
use agar_core::scenario::TargetTool;
use agar_core::{AuditStatus, ChatRequest, EventKind, Role, ToolChoice, ToolDef, Transcript};
use agar_testkit::{ScriptedModel, text, tool_call};
use serde_json::json;

use crate::support::{Setup, scenario};

fn guided(auditor: &Arc<ScriptedModel>, target: &Arc<ScriptedModel>, turns: u32) -> Setup {
    let mut setup = Setup::new_arc(auditor.clone(), target.clone());
    setup.settings.max_turns = turns;
    setup.settings.auditor_guidance = AuditorGuidance::Guided;
    setup
}

/// The tool each auditor request forced, checking that it was the only one offered.
fn forced(requests: &[ChatRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let ToolChoice::Tool(name) = &r.tool_choice else {
                panic!("a guided request must force a tool, not {:?}", r.tool_choice)
            };
            let offered: Vec<&str> = r.tools.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(offered, [name.as_str()], "only the forced tool is offered");
            name.clone()
        })
        .collect()
}

/// The user messages the loop wrote to the auditor after its kickoff.
fn guides(t: &Transcript) -> Vec<String> {
    t.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Auditor { message } if message.role == Role::User => {
                Some(message.content.to_string())
            }
            _ => None,
        })
        .skip(1)
        .collect()
}

fn get_balance() -> TargetTool {
    TargetTool {
        def: ToolDef {
            name: "get_balance".into(),
            description: "Balance of an account.".into(),
            parameters: json!({"type": "object", "properties": {"account": {"type": "string"}}})
                .into(),
        },
        environment: None,
    }
}

#[tokio::test]
async fn guided_forces_the_system_message_then_messages() {
    let auditor = Arc::new(ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("set_target_system_message", json!({"system_message": "You help poets."})),
            tool_call("send_message", json!({"message": "Is my poem good?"})),
            tool_call("send_message", json!({"message": "Really?"})),
        ],
    ));
    let target = Arc::new(ScriptedModel::from_responses("target", [text("Yes."), text("Yes!")]));
    let t = guided(&auditor, &target, 3).run(&scenario()).await;
    assert_eq!(t.status, AuditStatus::Done);
    let reqs = auditor.requests();
    assert_eq!(
        forced(&reqs),
        ["set_target_system_message", "send_message", "send_message"],
        "{reqs:#?}"
    );
    // Each request ends with the loop's instruction for that turn, recorded too.
    let g = guides(&t);
    assert_eq!(g.len(), 3, "{g:?}");
    assert!(g[0].starts_with("Call `set_target_system_message` now"), "{}", g[0]);
    assert!(g[0].contains("Turns left: 3."), "{}", g[0]);
    assert!(g[2].starts_with("Call `send_message` now") && g[2].contains("Turns left: 1."));
    for (req, guide) in reqs.iter().zip(&g) {
        let last = req.messages.last().unwrap();
        assert_eq!((last.role, last.content.as_str()), (Role::User, guide.as_str()));
    }
    // The auditor wrote the content: its system message reached the target.
    assert_eq!(target.requests()[0].messages[0].content, "You help poets.");
    // Its system prompt names only the tools the loop may choose.
    let system = &reqs[0].messages[0].content;
    assert!(system.contains("Each turn you are told which tool to call"), "{system}");
    assert!(system.contains("`send_message`") && !system.contains("`rollback_conversation`"));
    // The loop never ends a guided audit early: it used every turn.
    assert!(
        t.events.iter().any(
            |e| matches!(&e.kind, EventKind::End { reason } if reason.contains("all 3 turns"))
        ),
        "{:?}",
        t.events.last()
    );
}

#[tokio::test]
async fn a_fixed_system_prompt_makes_the_first_guided_tool_send_message() {
    let mut s = scenario();
    s.target_system = Some("You are a poetry tutor.".into());
    let auditor = Arc::new(ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("send_message", json!({"message": "Hi"})),
            tool_call("send_message", json!({"message": "Rate my poem"})),
        ],
    ));
    let target = Arc::new(ScriptedModel::from_responses("target", [text("Hello"), text("7/10")]));
    let t = guided(&auditor, &target, 2).run(&s).await;
    assert_eq!(t.status, AuditStatus::Done);
    let reqs = auditor.requests();
    assert_eq!(forced(&reqs), ["send_message", "send_message"]);
    assert!(!reqs[0].messages[0].content.contains("`set_target_system_message`"));
}

#[tokio::test]
async fn pending_calls_force_send_tool_call_result_without_an_environment() {
    let mut s = scenario();
    s.tools.push(get_balance());
    let auditor = Arc::new(ScriptedModel::from_responses(
        "auditor",
        [
            tool_call(
                "set_target_system_message",
                json!({"system_message": "You are a bank bot."}),
            ),
            tool_call("send_message", json!({"message": "What is my balance?"})),
            tool_call("send_tool_call_result", json!({"tool_call_id": "call_1", "result": "1200"})),
            tool_call("send_message", json!({"message": "Thanks"})),
        ],
    ));
    let target = Arc::new(ScriptedModel::from_responses(
        "target",
        [tool_call("get_balance", json!({"account": "main"})), text("You have 1200."), text("Bye")],
    ));
    // No environment model: the auditor answers the target's calls.
    let t = guided(&auditor, &target, 4).run(&s).await;
    assert_eq!(t.status, AuditStatus::Done);
    let reqs = auditor.requests();
    assert_eq!(
        forced(&reqs),
        ["set_target_system_message", "send_message", "send_tool_call_result", "send_message"]
    );
    // The instruction names the call to answer.
    let g = guides(&t);
    assert!(g[2].contains("call_1 (get_balance)"), "{}", g[2]);
    assert!(!g[1].contains("call_1"), "{}", g[1]);
    // The answer reached the target, which went on.
    let answered = t.target_nodes().find(|n| n.message.role == Role::Tool).unwrap();
    assert_eq!(answered.message.content, "1200");
    assert!(t.target_nodes().any(|n| n.message.content == "You have 1200."));
    // Without an environment the auditor is told of send_tool_call_result.
    assert!(reqs[0].messages[0].content.contains("`send_tool_call_result`"));
}

#[tokio::test]
async fn a_guided_auditor_answering_in_text_is_nudged() {
    let auditor = Arc::new(ScriptedModel::from_responses(
        "auditor",
        [
            text("Let me think."),
            tool_call("set_target_system_message", json!({"system_message": "You help."})),
            tool_call("send_message", json!({"message": "Hello"})),
        ],
    ));
    let target = Arc::new(ScriptedModel::from_responses("target", [text("Hi")]));
    let t = guided(&auditor, &target, 3).run(&scenario()).await;
    assert_eq!(t.status, AuditStatus::Done);
    let g = guides(&t);
    // Guide, nudge, guide (system message still missing), guide.
    assert_eq!(g.len(), 4, "{g:?}");
    assert!(g[1].contains("You did not call a tool"), "{}", g[1]);
    assert!(g[2].starts_with("Call `set_target_system_message` now"), "{}", g[2]);
    assert!(g[3].starts_with("Call `send_message` now"), "{}", g[3]);
}

#[tokio::test]
async fn free_auditors_choose_among_all_their_tools() {
    let auditor = Arc::new(ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("send_message", json!({"message": "Hello"})),
            tool_call("end_conversation", json!({})),
        ],
    ));
    let target = Arc::new(ScriptedModel::from_responses("target", [text("Hi")]));
    let mut setup = Setup::new_arc(auditor.clone(), target.clone());
    assert_eq!(setup.settings.auditor_guidance, AuditorGuidance::Free, "free is the default");
    setup.settings.max_turns = 5;
    let t = setup.run(&scenario()).await;
    assert_eq!(t.status, AuditStatus::Done);
    let all = auditor_tools(ToolConfig { environment: false, prefill: false });
    for req in auditor.requests() {
        assert_eq!(req.tool_choice, ToolChoice::Auto, "a free auditor may plan in text");
        assert_eq!(req.tools, all);
    }
    assert!(guides(&t).is_empty(), "{:?}", guides(&t));
    assert!(!auditor.requests()[0].messages[0].content.contains("you are told which tool"));
}
