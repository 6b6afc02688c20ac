//! Property tests: arbitrary transcripts (every event kind, hostile strings,
//! arbitrary JSON in world states and provider state) serialise to JSON and
//! read back equal, and a second serialisation is byte-identical.

use std::collections::BTreeMap;

use agar_core::{
    AuditStatus, Event, EventKind, Message, ModelCall, Origin, Role, RoleName, ScenarioInfo,
    TargetTool, ToolCall, ToolDef, Transcript, Usage,
};
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::Value;

/// Any string, weighted towards the characters JSON escapes.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => "[\"\\\\\n\r\t\u{0}-\u{1f}\u{2028}\u{7f}a-z]{0,12}",
        1 => Just(String::new()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 1970 to about 2100, with nanoseconds.
    (0i64..4_102_444_800, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
}

fn usage() -> impl Strategy<Value = Usage> {
    (any::<u32>(), any::<u32>(), 0u64..3, 0u64..1000).prop_map(|(i, o, r, w)| Usage {
        input_tokens: u64::from(i),
        output_tokens: u64::from(o),
        cache_read_tokens: r,
        cache_write_tokens: w,
    })
}

fn role_name() -> impl Strategy<Value = RoleName> {
    prop::sample::select(RoleName::ALL.to_vec())
}

fn tool_call() -> impl Strategy<Value = ToolCall> {
    (text(), text(), text()).prop_map(|(id, name, arguments)| ToolCall { id, name, arguments })
}

fn message() -> impl Strategy<Value = Message> {
    (
        prop::sample::select(vec![Role::System, Role::User, Role::Assistant, Role::Tool]),
        text(),
        prop::collection::vec(tool_call(), 0..3),
        prop::option::of(text()),
        prop::option::of(text()),
        // `null` would read back as `None`: a provider state is never JSON null.
        prop::option::of(json_value().prop_filter("not null", |v| !v.is_null())),
    )
        .prop_map(|(role, content, tool_calls, tool_call_id, reasoning, provider_state)| {
            Message {
                role,
                content: content.into(),
                tool_calls,
                tool_call_id,
                reasoning,
                provider_state: provider_state.map(Box::new),
            }
        })
}

fn model_call() -> impl Strategy<Value = ModelCall> {
    (
        role_name(),
        text(),
        usage(),
        any::<u64>(),
        0u32..7,
        prop_oneof![Just(0u64), any::<u64>()],
        prop::collection::vec(text(), 0..3),
        prop::option::of((text(), text())),
    )
        .prop_map(
            |(role, model, usage, latency_ms, attempts, retry_wait_ms, retried, error)| {
                let (error, error_kind) = error.unzip();
                ModelCall {
                    role,
                    model,
                    usage,
                    latency_ms,
                    attempts,
                    retry_wait_ms,
                    retried,
                    error,
                    error_kind,
                }
            },
        )
}

fn event_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        (
            text(),
            prop::option::of(text()),
            any::<u32>(),
            message(),
            prop::option::of(text()),
            prop::option::of(prop::sample::select(vec![Origin::Environment, Origin::Auditor])),
        )
            .prop_map(|(id, parent, branch, message, prefill, origin)| EventKind::Target {
                id,
                parent,
                branch,
                message,
                prefill,
                origin
            }),
        message().prop_map(|message| EventKind::Auditor { message }),
        (text(), text(), json_value(), prop::option::of(text())).prop_map(
            |(name, description, parameters, environment)| EventKind::ToolCreated {
                tool: TargetTool {
                    def: ToolDef {
                        name,
                        description: description.into(),
                        parameters: parameters.into()
                    },
                    environment
                },
            }
        ),
        text().prop_map(|name| EventKind::ToolRemoved { name }),
        (text(), any::<u32>()).prop_map(|(to, branch)| EventKind::Rollback { to, branch }),
        (any::<u32>(), any::<bool>())
            .prop_map(|(branch, kept_tools)| EventKind::Restart { branch, kept_tools }),
        text().prop_map(|text| EventKind::EnvironmentBriefing { text }),
        (text(), json_value(), prop::option::of(text()))
            .prop_map(|(message, state, note)| EventKind::WorldState { message, state, note }),
        (
            text(),
            // Scores as models write them (up to 3 decimals). Arbitrary f64s do not
            // always survive: serde_json without its `float_roundtrip` feature may
            // read a 17-digit float back 1 ULP off (found by this test).
            prop::option::of((-1_000_000i64..1_000_000).prop_map(|k| k as f64 / 1000.0)),
            text(),
            any::<bool>(),
            prop::option::of(text())
        )
            .prop_map(|(tool, score, feedback, accepted, error)| EventKind::Realism {
                tool,
                score,
                feedback,
                accepted,
                error
            }),
        model_call().prop_map(EventKind::ModelCall),
        text().prop_map(|reason| EventKind::End { reason }),
    ]
}

fn status() -> impl Strategy<Value = AuditStatus> {
    prop_oneof![
        Just(AuditStatus::Pending),
        Just(AuditStatus::Running),
        Just(AuditStatus::Done),
        text().prop_map(|reason| AuditStatus::Invalid { reason }),
        text().prop_map(|cause| AuditStatus::Failed { cause }),
    ]
}

fn transcript() -> impl Strategy<Value = Transcript> {
    let scenario = (
        text(),
        prop::option::of(text()),
        text(),
        text(),
        prop::collection::vec(text(), 0..3),
        text(),
        any::<u32>(),
    )
        .prop_map(|(id, title, path, sha256, tags, instructions, repeat)| ScenarioInfo {
            id,
            title,
            path,
            sha256,
            tags,
            language: "es".into(),
            instructions,
            repeat,
            generated: None,
        });
    let header = (any::<u32>(), text(), text(), text(), scenario);
    let body = (
        prop::collection::btree_map(role_name(), text(), 0..5),
        time(),
        prop::option::of(time()),
        status(),
        prop::collection::vec(
            (time(), event_kind()).prop_map(|(at, kind)| Event { at, kind }),
            0..12,
        ),
        prop::collection::btree_map(role_name(), usage(), 0..5),
    );
    (header, body).prop_map(
        |(
            (schema_version, run_id, audit_id, agar_version, scenario),
            (models, started_at, finished_at, status, events, usage),
        )| Transcript {
            schema_version,
            run_id,
            audit_id,
            agar_version,
            scenario,
            models,
            started_at,
            finished_at,
            status,
            events,
            usage,
            verdicts: Vec::new(),
            cost: None,
            prompt_hashes: Default::default(),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn transcripts_round_trip_through_json(t in transcript()) {
        let json = serde_json::to_string(&t).unwrap();
        let back: Transcript = serde_json::from_str(&json)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        prop_assert_eq!(&back, &t);
        // Pretty output (the store's format) reads back the same too.
        let pretty = serde_json::to_string_pretty(&t).unwrap();
        let back: Transcript = serde_json::from_str(&pretty).unwrap();
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn model_calls_round_trip_through_json(call in model_call()) {
        let json = serde_json::to_value(&call).unwrap();
        prop_assert_eq!(&json["role"], &Value::String(call.role.as_str().to_string()));
        let back: ModelCall = serde_json::from_value(json).unwrap();
        prop_assert_eq!(back, call);
    }

    #[test]
    fn usage_maps_keep_every_role(usage in prop::collection::btree_map(role_name(), usage(), 0..5)) {
        let json = serde_json::to_string(&usage).unwrap();
        let back: BTreeMap<RoleName, Usage> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, usage);
    }
}
