//! Deterministic example values from a JSON Schema: the arguments the fake
//! server invents when a request forces a tool call and nothing is scripted.
//!
//! Every choice that could vary (an integer in a range, a boolean) is taken from
//! a hash of the value's path in the document (`scores.honesty.score`), so two
//! properties with the same shape get different values, and the same schema
//! always gets the same arguments.

use std::sync::{Mutex, PoisonError};

use serde_json::{Map, Value, json};

use crate::det::{fnv1a, mix64};

/// How deep `$ref`s and nesting are followed before giving up with `null`.
const MAX_DEPTH: usize = 32;

/// The span used for a bound that the schema leaves open.
const DEFAULT_SPAN: i64 = 10;

/// Example arguments for a tool whose parameters are `schema`.
///
/// Objects get every property (nested ones too), strings a short text naming
/// the property, integers and numbers a value within `minimum`/`maximum`
/// (exclusive bounds respected), booleans either value, arrays one item (or
/// `minItems`), `enum` its first value and `const` its value; `anyOf`/`oneOf`
/// take their first non-null branch and local `$ref`s (`#/$defs/...`) are
/// followed.
///
/// Generating costs more than answering a request (every path is formatted
/// and hashed), and a client offers the same tools again and again (a judge,
/// its verdict tool with every judgment), so the arguments of the last
/// [`KEPT_SCHEMAS`] schemas are kept and cloned.
pub fn args_from_schema(schema: &Value) -> Value {
    static KEPT: Mutex<Vec<(Value, Value)>> = Mutex::new(Vec::new());
    let kept = || KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, args)) = kept().iter().find(|(s, _)| s == schema) {
        return args.clone();
    }
    let args = generate_args(schema);
    let mut kept = kept();
    if kept.len() == KEPT_SCHEMAS {
        kept.remove(0);
    }
    kept.push((schema.clone(), args.clone()));
    args
}

/// How many schemas [`args_from_schema`] keeps the arguments of.
pub const KEPT_SCHEMAS: usize = 16;

fn generate_args(schema: &Value) -> Value {
    const SHAPING_KEYS: [&str; 9] =
        ["type", "properties", "items", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"];
    let shapes_something =
        schema.as_object().is_some_and(|o| SHAPING_KEYS.iter().any(|k| o.contains_key(*k)));
    if shapes_something {
        generate(schema, schema, "", 0)
    } else {
        // An absent or empty parameter schema: tools take an object.
        Value::Object(Map::new())
    }
}

/// Fills every `quote` string of generated arguments (and the `message` next
/// to it) with words found in `prompt`: the first line of text after its
/// first `[M#]` label, as the judge's prompt renders a transcript. So the
/// derived answer of a judge quotes its transcript, as a real judge does;
/// a prompt with no label leaves the arguments as they are.
pub fn quote_prompt(args: &mut Value, prompt: &str) {
    let mut lines = prompt.lines();
    let Some(label) = lines.by_ref().find_map(|l| {
        let rest = l.trim_start().strip_prefix("[M")?;
        let (digits, _) = rest.split_once(']')?;
        digits.chars().all(|c| c.is_ascii_digit()).then(|| format!("M{digits}"))
    }) else {
        return;
    };
    let Some(words) = lines.map(str::trim).find(|l| !l.is_empty() && !l.starts_with('[')) else {
        return;
    };
    let quote: String = words.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
    fill_quotes(args, &label, &quote);
}

fn fill_quotes(value: &mut Value, label: &str, quote: &str) {
    match value {
        Value::Object(map) => {
            if map.get("quote").is_some_and(Value::is_string) {
                map.insert("quote".into(), Value::String(quote.to_string()));
                if map.get("message").is_some_and(Value::is_string) {
                    map.insert("message".into(), Value::String(label.to_string()));
                }
            }
            map.values_mut().for_each(|v| fill_quotes(v, label, quote));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill_quotes(v, label, quote)),
        _ => {}
    }
}

fn generate(root: &Value, schema: &Value, path: &str, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let Some(obj) = schema.as_object() else {
        // `true` accepts anything; `false` accepts nothing.
        return if schema.as_bool() == Some(true) { example_string(path) } else { Value::Null };
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        return match reference.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => generate(root, target, path, depth + 1),
            None => Value::Null,
        };
    }
    if let Some(value) = obj.get("const") {
        return value.clone();
    }
    if let Some(first) = obj.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = obj.get(key).and_then(Value::as_array) {
            let branch = branches.iter().find(|b| !is_null_type(b)).or(branches.first());
            if let Some(branch) = branch {
                return generate(root, branch, path, depth + 1);
            }
        }
    }
    match schema_type(obj) {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    let sub_path =
                        if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                    out.insert(name.clone(), generate(root, sub, &sub_path, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(1).max(1);
            let max = obj.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX);
            let count = min.min(max).min(16);
            let items = (0..count)
                .map(|i| {
                    let item_path = format!("{path}[{i}]");
                    match obj.get("prefixItems").and_then(|p| p.get(i as usize)) {
                        Some(prefix) => generate(root, prefix, &item_path, depth + 1),
                        None => match obj.get("items") {
                            Some(Value::Array(tuple)) => tuple
                                .get(i as usize)
                                .map_or(Value::Null, |s| generate(root, s, &item_path, depth + 1)),
                            Some(items) => generate(root, items, &item_path, depth + 1),
                            None => example_string(&item_path),
                        },
                    }
                })
                .collect();
            Value::Array(items)
        }
        "integer" => json!(example_integer(obj, path)),
        "number" => json!(example_number(obj, path)),
        "boolean" => Value::Bool(path_hash(path) & 1 == 0),
        "null" => Value::Null,
        _ => constrained_string(obj, path),
    }
}

/// The schema's type: the first non-null one named, else guessed from its keys.
fn schema_type(obj: &Map<String, Value>) -> &str {
    match obj.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or_else(|| types.iter().find_map(Value::as_str))
            .unwrap_or("string"),
        _ if obj.contains_key("properties") => "object",
        _ if obj.contains_key("items") || obj.contains_key("prefixItems") => "array",
        _ => "string",
    }
}

fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn path_hash(path: &str) -> u64 {
    mix64(fnv1a(path))
}

/// The property's name: the last segment of its path.
fn leaf_name(path: &str) -> &str {
    let name = path.rsplit('.').next().unwrap_or(path);
    if name.is_empty() { "value" } else { name }
}

fn example_string(path: &str) -> Value {
    Value::String(format!("fake {}", leaf_name(path)))
}

fn constrained_string(obj: &Map<String, Value>, path: &str) -> Value {
    let name = leaf_name(path);
    let mut s = match obj.get("format").and_then(Value::as_str) {
        Some("date-time") => "2024-01-01T00:00:00Z".to_string(),
        Some("date") => "2024-01-01".to_string(),
        Some("time") => "00:00:00Z".to_string(),
        Some("email") => "fake@example.invalid".to_string(),
        Some("uri" | "url") => format!("https://example.invalid/{name}"),
        Some("uuid") => "00000000-0000-4000-8000-000000000000".to_string(),
        _ => format!("fake {name}"),
    };
    if let Some(min) = obj.get("minLength").and_then(Value::as_u64) {
        while (s.chars().count() as u64) < min {
            s.push('x');
        }
    }
    if let Some(max) = obj.get("maxLength").and_then(Value::as_u64) {
        s = s.chars().take(usize::try_from(max).unwrap_or(usize::MAX)).collect();
    }
    Value::String(s)
}

/// A numeric bound and whether it is exclusive.
type Bound = Option<(f64, bool)>;

/// The lower and upper bounds a schema sets.
fn bounds(obj: &Map<String, Value>) -> (Bound, Bound) {
    let num = |k: &str| obj.get(k).and_then(Value::as_f64);
    // Draft 4 writes `exclusiveMinimum: true` beside `minimum`; later drafts
    // write `exclusiveMinimum: <number>` alone.
    let flag = |k: &str| obj.get(k).and_then(Value::as_bool).unwrap_or(false);
    let lo = match (num("minimum"), num("exclusiveMinimum")) {
        (Some(m), Some(x)) => Some(if x >= m { (x, true) } else { (m, false) }),
        (Some(m), None) => Some((m, flag("exclusiveMinimum"))),
        (None, Some(x)) => Some((x, true)),
        (None, None) => None,
    };
    let hi = match (num("maximum"), num("exclusiveMaximum")) {
        (Some(m), Some(x)) => Some(if x <= m { (x, true) } else { (m, false) }),
        (Some(m), None) => Some((m, flag("exclusiveMaximum"))),
        (None, Some(x)) => Some((x, true)),
        (None, None) => None,
    };
    (lo, hi)
}

fn example_integer(obj: &Map<String, Value>, path: &str) -> i64 {
    let (lo, hi) = bounds(obj);
    // The smallest integer above (or at) the lower bound, the largest below
    // (or at) the upper one. Float-to-int casts saturate.
    let lo = lo.map(
        |(v, excl)| {
            if excl { (v.floor() as i64).saturating_add(1) } else { v.ceil() as i64 }
        },
    );
    let hi = hi.map(
        |(v, excl)| {
            if excl { (v.ceil() as i64).saturating_sub(1) } else { v.floor() as i64 }
        },
    );
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo.saturating_add(DEFAULT_SPAN)),
        (None, Some(hi)) => (hi.saturating_sub(DEFAULT_SPAN), hi),
        (None, None) => (0, DEFAULT_SPAN),
    };
    if hi <= lo {
        return lo;
    }
    let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
    let offset = u128::from(path_hash(path)) % span;
    (i128::from(lo) + offset as i128) as i64
}

fn example_number(obj: &Map<String, Value>, path: &str) -> f64 {
    let (lo, hi) = bounds(obj);
    let span = DEFAULT_SPAN as f64;
    let (lo, hi) = match (lo.map(|b| b.0), hi.map(|b| b.0)) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo + span),
        (None, Some(hi)) => (hi - span, hi),
        (None, None) => (0.0, span),
    };
    if hi <= lo {
        return lo;
    }
    // A fraction strictly inside (0, 1), so exclusive bounds hold too.
    let frac = ((path_hash(path) % 999) + 1) as f64 / 1000.0;
    lo + frac * (hi - lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_get_every_property_within_bounds() {
        let schema = json!({
            "type": "object",
            "properties": {
                "scores": {
                    "type": "object",
                    "properties": {
                        "honesty": {"type": "object", "properties": {
                            "score": {"type": "integer", "minimum": 1, "maximum": 10},
                            "justification": {"type": "string"}
                        }},
                        "sycophancy": {"type": "object", "properties": {
                            "score": {"type": "integer", "minimum": 1, "maximum": 10},
                            "justification": {"type": "string"}
                        }}
                    }
                },
                "summary": {"type": "string"},
                "verdict": {"type": "string", "enum": ["pass", "fail"]},
                "confidence": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "flags": {"type": "array", "items": {"type": "boolean"}},
                "note": {"type": ["string", "null"], "maxLength": 4}
            },
            "required": ["scores"]
        });
        let args = args_from_schema(&schema);
        for dim in ["honesty", "sycophancy"] {
            let score = args["scores"][dim]["score"].as_i64().expect("integer score");
            assert!((1..=10).contains(&score), "{dim}: {score}");
            assert_eq!(args["scores"][dim]["justification"], json!("fake justification"));
        }
        assert_eq!(args["summary"], json!("fake summary"));
        assert_eq!(args["verdict"], json!("pass"));
        let c = args["confidence"].as_f64().expect("number");
        assert!(c > 0.0 && c <= 1.0, "{c}");
        assert_eq!(args["flags"].as_array().map(Vec::len), Some(1));
        assert_eq!(args["note"], json!("fake"));
        // Reproducible.
        assert_eq!(args, args_from_schema(&schema));
    }

    #[test]
    fn integer_values_vary_with_the_path_and_respect_exclusive_bounds() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..40 {
            let schema = json!({"type": "object", "properties": {
                format!("dim{i}"): {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 5}
            }});
            let v = args_from_schema(&schema)[format!("dim{i}")].as_i64().expect("integer");
            assert!((1..=4).contains(&v), "{v}");
            seen.insert(v);
        }
        assert!(seen.len() >= 3, "{seen:?}");
        let draft4 = json!({"type": "integer", "minimum": 2, "exclusiveMinimum": true,
                            "maximum": 3});
        assert_eq!(args_from_schema(&draft4), json!(3));
    }

    #[test]
    fn refs_and_unions_are_followed() {
        let schema = json!({
            "type": "object",
            "properties": {
                "item": {"$ref": "#/$defs/Item"},
                "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 5, "maximum": 5}]}
            },
            "$defs": {"Item": {"type": "object", "properties": {"id": {"const": "x"}}}}
        });
        assert_eq!(args_from_schema(&schema), json!({"item": {"id": "x"}, "maybe": 5}));
    }

    #[test]
    fn an_empty_schema_gives_an_empty_object() {
        assert_eq!(args_from_schema(&json!({})), json!({}));
        assert_eq!(args_from_schema(&Value::Null), json!({}));
        assert_eq!(args_from_schema(&json!({"type": "object"})), json!({}));
    }

    #[test]
    fn kept_arguments_are_the_generated_ones_for_every_schema_kept_or_not() {
        let schema = |n: usize| {
            json!({"type": "object", "properties": {
                format!("p{n}"): {"type": "integer", "minimum": 0, "maximum": 1000},
                "flag": {"type": "boolean"},
            }})
        };
        // More schemas than are kept, twice over, interleaved: a hit and a
        // miss both give what generating gives.
        for round in 0..2 {
            for n in 0..KEPT_SCHEMAS + 3 {
                let s = schema(n);
                assert_eq!(args_from_schema(&s), generate_args(&s), "round {round}, schema {n}");
                assert_eq!(args_from_schema(&s), generate_args(&s), "again");
            }
        }
        assert!(args_from_schema(&schema(1))["p1"].is_i64());
    }
}
