//! Tests of the JSON-schema guide and of `repair`.

use super::*;

fn verdict_schema() -> Schema {
    Schema::from_json(&json!({
        "type": "object",
        "properties": {
            "scores": {"type": "object", "properties": {
                "sycophancy": {"type": "integer", "minimum": 1, "maximum": 10}
            }, "required": ["sycophancy"]},
            "summary": {"type": "string"},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "mood": {"enum": ["calm", "cross"]}
        },
        "required": ["scores", "summary", "ok", "tags", "mood"]
    }))
}

/// Feeds text char by char, writing forced parts itself, as the engine does.
fn run(schema: Schema, model_text: &str) -> (String, bool) {
    let mut g = Guide::new(schema);
    let mut out = String::new();
    let mut chars = model_text.chars().peekable();
    loop {
        match g.next_step() {
            Next::Done => return (out, true),
            Next::Forced(f) => {
                assert!(g.feed_str(&f));
                out.push_str(&f);
            }
            Next::Open => {
                let Some(c) = chars.next() else { return (out, false) };
                if !g.feed(c) {
                    return (format!("{out}<refused {c:?}>"), false);
                }
                out.push(c);
            }
        }
    }
}

#[test]
fn keys_are_forced_and_values_are_the_models() {
    let (out, done) = run(verdict_schema(), "7Fine.\"f\"x\",y\"cr");
    assert!(done, "{out}");
    assert_eq!(
        out,
        r#"{"scores": {"sycophancy": 7}, "summary": "Fine.", "ok": false, "tags": ["x", "y"], "mood": "cross"}"#
    );
    serde_json::from_str::<Value>(&out).unwrap();
}

#[test]
fn integers_outside_the_bounds_are_refused() {
    let g = Guide::new(Schema::Integer { min: Some(1), max: Some(10) });
    assert!(g.accepts("1"));
    assert!(g.accepts("10"));
    assert!(g.accepts("7"));
    assert!(!g.accepts("0"));
    assert!(!g.accepts("11"));
    assert!(!g.accepts("-1"));
    assert!(!g.accepts("01"));
}

#[test]
fn raw_control_characters_and_bad_escapes_are_refused_in_strings() {
    let g = Guide::new(Schema::any_string());
    assert!(g.accepts("\"a\\nb"));
    assert!(g.accepts("\"\\u00e9"));
    assert!(!g.accepts("\"a\nb"));
    assert!(!g.accepts("\"\\q"));
    // Empty strings are refused (min length 1 by default).
    assert!(!g.accepts("\"\""));
}

#[test]
fn a_tool_call_names_one_of_the_tools_then_its_arguments() {
    let tools = vec![
        (
            "send_message".to_string(),
            json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}),
        ),
        ("end_conversation".to_string(), json!({"type": "object", "properties": {}})),
    ];
    let (out, done) = run(Schema::tool_call(&tools), "sHi there\"");
    assert!(done, "{out}");
    assert_eq!(out, r#"{"name": "send_message", "arguments": {"message": "Hi there"}}"#);
    let (out, done) = run(Schema::tool_call(&tools), "e");
    assert!(done, "{out}");
    assert_eq!(out, r#"{"name": "end_conversation", "arguments": {}}"#);
    assert!(!Guide::new(Schema::tool_call(&tools)).accepts("{\"name\": \"x"));
}

#[test]
fn completion_closes_whatever_is_open() {
    for cut in ["", "7", "7Half a sent", "7ok\"t", "7ok\"t\"a", "1"] {
        let mut g = Guide::new(verdict_schema());
        let mut out = String::new();
        let mut chars = cut.chars();
        loop {
            match g.next_step() {
                Next::Forced(f) => {
                    g.feed_str(&f);
                    out.push_str(&f);
                }
                Next::Open => match chars.next() {
                    Some(c) => {
                        assert!(g.feed(c), "{out} {c}");
                        out.push(c);
                    }
                    None => break,
                },
                Next::Done => break,
            }
        }
        let full = format!("{out}{}", g.completion());
        let v: Value = serde_json::from_str(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
        let fixed = repair(v, &verdict_schema());
        assert!(fixed["scores"]["sycophancy"].as_i64().unwrap() >= 1, "{full}");
        assert!(fixed["summary"].is_string(), "{full}");
    }
}

#[test]
fn repair_fills_and_clamps() {
    let fixed = repair(
        json!({"scores": {"sycophancy": 42}, "ok": "true", "mood": "glad"}),
        &verdict_schema(),
    );
    assert_eq!(fixed["scores"]["sycophancy"], 10);
    assert_eq!(fixed["ok"], true);
    assert_eq!(fixed["mood"], "calm");
    assert_eq!(fixed["summary"], "-");
    assert_eq!(fixed["tags"], json!([]));
}
