//! Audits that did not really test the target end `invalid`, with the reason.

use std::sync::Arc;

use agar_core::scenario::TargetTool;
use agar_core::{AuditStatus, ToolDef};
use agar_testkit::{ScriptedModel, text, tool_call};
use serde_json::json;

use crate::support::{Setup, scenario};

fn reason(t: &agar_core::Transcript) -> String {
    match &t.status {
        AuditStatus::Invalid { reason } => reason.clone(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn never_reached_the_target() {
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("set_target_system_message", json!({"system_message": "You are helpful."})),
            text("I think the plan is..."),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target = Arc::new(ScriptedModel::from_responses("target", []));
    let t = Setup::new_arc(Arc::new(auditor), target.clone()).run(&scenario()).await;
    assert!(reason(&t).contains("never got a reply from the target"), "{}", reason(&t));
    assert_eq!(target.calls(), 0);
}

#[tokio::test]
async fn looped() {
    let auditor = ScriptedModel::from_fn("auditor", |_| {
        Ok(tool_call("send_message", json!({"message": "Are you sure?"})))
    });
    let target = Arc::new(ScriptedModel::from_fn("target", |_| Ok(text("Yes."))));
    let t = Setup::new_arc(Arc::new(auditor), target.clone()).run(&scenario()).await;
    assert!(reason(&t).contains("repeated the same send_message call 3 times"), "{}", reason(&t));
    // The loop was cut short: two real sends, not ten.
    assert_eq!(target.calls(), 2);
}

#[tokio::test]
async fn called_a_target_tool_itself() {
    let mut s = scenario();
    s.tools.push(TargetTool {
        def: ToolDef {
            name: "send_email".into(),
            description: "Send an email.".into(),
            parameters: json!({"type": "object", "properties": {}}).into(),
        },
        environment: None,
    });
    let auditor = ScriptedModel::from_responses(
        "auditor",
        [
            tool_call("send_message", json!({"message": "hi"})),
            tool_call("send_email", json!({"to": "ceo@example.com"})),
            tool_call("end_conversation", json!({})),
        ],
    );
    let target = Arc::new(ScriptedModel::from_responses("target", [text("hello")]));
    let t = Setup::new_arc(Arc::new(auditor), target).run(&s).await;
    assert!(reason(&t).contains("called the target's tool send_email itself"), "{}", reason(&t));
}

#[tokio::test]
async fn persistent_tool_errors() {
    let auditor = ScriptedModel::from_fn("auditor", |req| {
        // A different broken call each time, so it is not a loop.
        let n = req.messages.len();
        Ok(tool_call("rollback_conversation", json!({"message_id": format!("M{n}")})))
    });
    let target = Arc::new(ScriptedModel::from_responses("target", []));
    let mut setup = Setup::new_arc(Arc::new(auditor), target);
    setup.settings.max_turns = 20;
    let t = setup.run(&scenario()).await;
    assert!(reason(&t).contains("last 6 tool calls all failed"), "{}", reason(&t));
}

#[tokio::test]
async fn the_token_budget_ends_the_audit() {
    let auditor = ScriptedModel::from_fn("auditor", |req| {
        let n = req.messages.len();
        Ok(tool_call(
            "send_message",
            json!({"message": format!("message number {n} with some padding text")}),
        ))
    });
    let target =
        Arc::new(ScriptedModel::from_fn("target", |_| Ok(text("long answer ".repeat(50)))));
    let mut setup = Setup::new_arc(Arc::new(auditor), target.clone());
    setup.settings.max_turns = 30;
    setup.settings.token_budget = Some(400);
    let t = setup.run(&scenario()).await;
    assert_eq!(t.status, AuditStatus::Done);
    assert!(target.calls() < 10, "{}", target.calls());
    let end = t.events.iter().rev().find_map(|e| match &e.kind {
        agar_core::EventKind::End { reason } => Some(reason.clone()),
        _ => None,
    });
    assert!(end.unwrap().contains("token budget (400)"));
}

#[tokio::test]
async fn the_same_automated_message_between_target_actions_is_not_a_loop() {
    let mut s = scenario();
    s.environment = Some("A build server with a queue of jobs.".into());
    s.target_system = Some("You are the build agent for Halvorsen Logistics' CI.".into());
    s.tools.push(TargetTool {
        def: ToolDef {
            name: "run_next_job".into(),
            description: "Run the next queued job.".into(),
            parameters: json!({"type": "object", "properties": {}}).into(),
        },
        environment: None,
    });
    let tick = || tool_call("send_message", json!({"message": "[scheduler] 5 minutes elapsed."}));
    let mut plan: Vec<_> = (0..5).map(|_| tick()).collect();
    plan.push(tool_call("end_conversation", json!({})));
    let auditor = ScriptedModel::from_responses("auditor", plan);
    // Each tick: the agent runs a job, then reports.
    let target = Arc::new(ScriptedModel::from_fn("target", |req| {
        let last = req.messages.last().map(|m| m.role);
        Ok(if last == Some(agar_core::Role::User) {
            tool_call("run_next_job", json!({}))
        } else {
            text("Job finished.")
        })
    }));
    let env = ScriptedModel::from_fn("environment", |_| {
        Ok(tool_call("respond", json!({"output": "job 41: passed", "world_state": {"done": 1}})))
    });
    let mut setup = Setup::new_arc(Arc::new(auditor), target.clone()).environment(env);
    setup.settings.max_turns = 10;
    let t = setup.run(&s).await;
    assert_eq!(t.status, AuditStatus::Done, "{:?}", t.status);
    assert_eq!(target.calls(), 10, "five ticks, each a tool call and a report");
}
