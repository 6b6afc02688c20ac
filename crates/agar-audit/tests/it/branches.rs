//! Rollback and restart: branches of the target's conversation.

use std::sync::Arc;

use agar_core::{AuditStatus, EventKind, Role};
use agar_testkit::{ScriptedModel, text, tool_call};
use serde_json::json;

use crate::support::{Setup, scenario, tool_results, tree};

#[tokio::test]
async fn rollback_to_a_message_on_another_branch() {
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("set_target_system_message", json!({"system_message": "sys"})),
            tool_call("send_message", json!({"message": "first try"})), // M2 -> M3
            tool_call("rollback_conversation", json!({"message_id": "M1"})), // branch 1
            tool_call("send_message", json!({"message": "second try"})), // M4 -> M5
            tool_call("rollback_conversation", json!({"message_id": "M3"})), // back onto branch 0's message, branch 2
            tool_call("send_message", json!({"message": "follow-up"})),      // M6 -> M7
            tool_call("rollback_conversation", json!({"message_id": "M99"})),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target =
        Arc::new(ScriptedModel::from_responses("target", [text("a"), text("b"), text("c")]));
    let setup = Setup::new_arc(Arc::new(auditor), target.clone());
    let t = setup.run(&scenario()).await;
    assert_eq!(t.status, AuditStatus::Done);
    let got = tree(&t);
    let want = [
        ("M1", None, 0, Role::System),
        ("M2", Some("M1"), 0, Role::User),
        ("M3", Some("M2"), 0, Role::Assistant),
        ("M4", Some("M1"), 1, Role::User),
        ("M5", Some("M4"), 1, Role::Assistant),
        ("M6", Some("M3"), 2, Role::User),
        ("M7", Some("M6"), 2, Role::Assistant),
    ];
    let want: Vec<_> =
        want.iter().map(|(i, p, b, r)| (i.to_string(), p.map(str::to_string), *b, *r)).collect();
    assert_eq!(got, want);
    // The target saw only the truncated history each time.
    let reqs = target.requests();
    let contents =
        |i: usize| reqs[i].messages.iter().map(|m| m.content.clone()).collect::<Vec<_>>();
    assert_eq!(contents(1), ["sys", "second try"]);
    assert_eq!(contents(2), ["sys", "first try", "a", "follow-up"]);
    let r = tool_results(&t);
    assert!(r[2].contains("Rolled back to M1") && r[2].contains("branch 1"), "{}", r[2]);
    assert!(r[4].contains("ends with this assistant message:\na"), "{}", r[4]);
    assert!(r[6].starts_with("error:") && r[6].contains("M99"), "{}", r[6]);
    // The auditor kept its memory: its last request holds every earlier turn.
    let rollbacks: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Rollback { to, branch } => Some((to.clone(), *branch)),
            _ => None,
        })
        .collect();
    assert_eq!(rollbacks, [("M1".to_string(), 1), ("M3".to_string(), 2)]);
}

fn restart_plan(keep_tools: bool) -> ScriptedModel {
    ScriptedModel::from_responses(
        "auditor",
        [
            tool_call(
                "create_target_tool",
                json!({"name": "search", "description": "Search.", "parameters": {}}),
            ),
            tool_call("set_target_system_message", json!({"system_message": "one"})),
            tool_call("send_message", json!({"message": "hi"})),
            tool_call("set_target_system_message", json!({"system_message": "two"})),
            tool_call("restart_conversation", json!({"keep_tools": keep_tools})),
            tool_call("set_target_system_message", json!({"system_message": "two"})),
            tool_call("send_message", json!({"message": "hi again"})),
            tool_call("end_conversation", json!({})),
        ],
    )
}

#[tokio::test]
async fn restart_keeping_tools() {
    let target = Arc::new(ScriptedModel::from_responses("target", [text("a"), text("b")]));
    let t = Setup::new_arc(Arc::new(restart_plan(true)), target.clone()).run(&scenario()).await;
    let r = tool_results(&t);
    assert!(r[3].contains("restart_conversation"), "{}", r[3]);
    assert!(r[4].contains("restarted on branch 1") && r[4].contains("search"), "{}", r[4]);
    let second = &target.requests()[1];
    assert_eq!(second.messages[0].content, "two");
    assert_eq!(second.messages.len(), 2);
    assert_eq!(second.tools.len(), 1);
    let nodes = tree(&t);
    assert_eq!(nodes[3], ("M4".to_string(), None, 1, Role::System));
}

#[tokio::test]
async fn restart_dropping_tools() {
    let target = Arc::new(ScriptedModel::from_responses("target", [text("a"), text("b")]));
    let t = Setup::new_arc(Arc::new(restart_plan(false)), target.clone()).run(&scenario()).await;
    assert!(tool_results(&t)[4].contains("tools: none"), "{}", tool_results(&t)[4]);
    assert!(target.requests()[1].tools.is_empty());
    assert!(
        t.events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::ToolRemoved { name } if name == "search"))
    );
    assert!(
        t.events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Restart { branch: 1, kept_tools: false }))
    );
}
