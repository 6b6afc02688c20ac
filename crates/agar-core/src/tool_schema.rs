//! The one rule for target tools' names and parameter schemas, shared by
//! scenario files (`agar-scenario`) and the tools an auditor creates during
//! an audit (`agar-audit`): a name is what model APIs accept, and a schema is
//! an object schema whose every level names known types and whose
//! `required` lists only existing properties.

use std::fmt;

use serde_json::{Map, Value};

/// The JSON Schema type names.
pub const TYPES: [&str; 7] = ["string", "number", "integer", "boolean", "array", "object", "null"];

/// The longest tool name model APIs accept.
pub const MAX_TOOL_NAME: usize = 64;

/// Whether `name` can name a tool: `^[a-zA-Z0-9_-]{1,64}$`.
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// [`is_valid_tool_name`], with the message that explains the rule.
pub fn check_tool_name(name: &str) -> Result<(), String> {
    if is_valid_tool_name(name) {
        Ok(())
    } else {
        Err(format!(
            "invalid tool name `{name}`: use 1 to {MAX_TOOL_NAME} ascii letters, digits, `_` or `-`"
        ))
    }
}

/// What is wrong with a parameter schema, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The JSON path of the problem: `parameters` for the root,
    /// `parameters.properties.path.type` below it.
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

impl SchemaError {
    /// Whether the problem is at the root of the schema.
    pub fn at_root(&self) -> bool {
        self.path == ROOT
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

impl std::error::Error for SchemaError {}

const ROOT: &str = "parameters";

fn problem(path: &str, problem: impl Into<String>) -> SchemaError {
    SchemaError { path: path.to_string(), problem: problem.into() }
}

/// Validates a tool's parameter schema and returns it normalised. `null`
/// stands for no arguments. The root must be an object schema (`type:
/// object` is filled in when left out, and `properties: {}`); at every level
/// `type` names JSON Schema types (written in any case, returned in lower
/// case), `properties` is a mapping of schemas, `items` a schema (or a list
/// of them) and `required` a list naming only existing properties.
pub fn normalise_parameters(schema: &Value) -> Result<Value, SchemaError> {
    let mut schema = match schema {
        Value::Null => Value::Object(Map::new()),
        Value::Object(_) => schema.clone(),
        other => {
            return Err(problem(
                ROOT,
                format!("must be a JSON Schema object (a mapping), not `{other}`"),
            ));
        }
    };
    if let Value::Object(root) = &mut schema {
        match root.get("type") {
            None => {
                root.insert("type".into(), Value::String("object".into()));
            }
            Some(Value::String(t)) if t.eq_ignore_ascii_case("object") => {}
            Some(Value::String(other)) => {
                return Err(problem(
                    ROOT,
                    format!("must have `type: object`, found `type: {other}`"),
                ));
            }
            Some(other) => {
                return Err(problem(
                    ROOT,
                    format!("must have `type: object`, found `type: {other}`"),
                ));
            }
        }
        match root.get("properties") {
            None => {
                root.insert("properties".into(), Value::Object(Map::new()));
            }
            Some(Value::Object(_)) => {}
            Some(_) => return Err(problem(ROOT, "must have `properties` as a mapping")),
        }
    }
    normalise(&mut schema, ROOT)?;
    Ok(schema)
}

fn normalise(schema: &mut Value, path: &str) -> Result<(), SchemaError> {
    let obj = match schema {
        Value::Object(o) => o,
        Value::Bool(_) => return Ok(()),
        other => return Err(problem(path, format!("a schema must be an object, not {other}"))),
    };
    if let Some(t) = obj.get_mut("type") {
        let type_path = format!("{path}.type");
        match t {
            Value::String(s) => *s = check_type(s, &type_path)?,
            Value::Array(items) => {
                for item in items.iter_mut() {
                    match item {
                        Value::String(s) => *s = check_type(s, &type_path)?,
                        other => {
                            return Err(problem(&type_path, format!("{other} is not a type name")));
                        }
                    }
                }
            }
            other => return Err(problem(&type_path, format!("{other} is not a type name"))),
        }
    }
    if let Some(props) = obj.get_mut("properties") {
        let props_path = format!("{path}.properties");
        let props =
            props.as_object_mut().ok_or_else(|| problem(&props_path, "must be a mapping"))?;
        for (name, sub) in props.iter_mut() {
            normalise(sub, &format!("{props_path}.{name}"))?;
        }
    }
    if let Some(req) = obj.get("required") {
        let req_path = format!("{path}.required");
        let names = req
            .as_array()
            .filter(|a| a.iter().all(Value::is_string))
            .ok_or_else(|| problem(&req_path, "must be a list of property names"))?;
        let props = obj.get("properties").and_then(Value::as_object);
        for n in names.iter().filter_map(Value::as_str) {
            if !props.is_some_and(|p| p.contains_key(n)) {
                return Err(problem(&req_path, format!("names {n:?}, which is not a property")));
            }
        }
    }
    match obj.get_mut("items") {
        Some(Value::Array(list)) => {
            for (i, item) in list.iter_mut().enumerate() {
                normalise(item, &format!("{path}.items.{i}"))?;
            }
        }
        Some(items) => normalise(items, &format!("{path}.items"))?,
        None => {}
    }
    Ok(())
}

fn check_type(t: &str, path: &str) -> Result<String, SchemaError> {
    let lower = t.to_ascii_lowercase();
    if TYPES.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(problem(path, format!("unknown type {t:?} (use one of {})", TYPES.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_names() {
        for ok in ["read_file", "get-weather2", "a-B_9", &"x".repeat(64)] {
            assert!(check_tool_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "read file", "é", &"x".repeat(65)] {
            let e = check_tool_name(bad).unwrap_err();
            assert!(e.contains("invalid tool name"), "{e}");
        }
    }

    #[test]
    fn normalises_type_names_and_fills_the_root() {
        let s = normalise_parameters(&json!({
            "properties": {"path": {"type": "STRING"}, "n": {"type": ["Integer", "null"]},
                           "tags": {"type": "Array", "items": {"type": "String"}}},
            "required": ["path"]
        }))
        .unwrap();
        assert_eq!(s["type"], "object");
        assert_eq!(s["properties"]["path"]["type"], "string");
        assert_eq!(s["properties"]["n"]["type"], json!(["integer", "null"]));
        assert_eq!(s["properties"]["tags"]["items"]["type"], "string");
        assert_eq!(
            normalise_parameters(&Value::Null).unwrap(),
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            normalise_parameters(&json!({})).unwrap(),
            json!({"type": "object", "properties": {}})
        );
    }

    #[test]
    fn rejects_broken_schemas_with_the_path() {
        let e = normalise_parameters(&json!({"type": "array"})).unwrap_err();
        assert!(e.at_root(), "{e}");
        assert_eq!(e.problem, "must have `type: object`, found `type: array`");
        let e = normalise_parameters(&json!({"properties": {"a": {"type": "text"}}})).unwrap_err();
        assert_eq!(e.path, "parameters.properties.a.type");
        assert!(e.problem.contains("\"text\""), "{e}");
        let e = normalise_parameters(&json!({"properties": {}, "required": ["x"]})).unwrap_err();
        assert!(e.to_string().contains("\"x\""), "{e}");
        let e = normalise_parameters(&json!({"properties": [1]})).unwrap_err();
        assert!(e.at_root() && e.problem.contains("`properties` as a mapping"), "{e}");
        let e = normalise_parameters(&json!({"properties": {"l": {"items": [{"type": "x"}]}}}))
            .unwrap_err();
        assert_eq!(e.path, "parameters.properties.l.items.0.type");
        assert!(normalise_parameters(&json!("object")).unwrap_err().at_root());
        assert!(normalise_parameters(&json!([1])).is_err());
    }
}
