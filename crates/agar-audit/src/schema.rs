//! Checking and normalising the JSON Schemas of target tools, and their names.

use serde_json::{Map, Value};

const TYPES: [&str; 7] = ["string", "number", "integer", "boolean", "array", "object", "null"];

/// Whether `name` can name a tool: 1-64 of `[a-zA-Z0-9_-]`.
pub fn check_tool_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("invalid tool name {name:?}: use 1 to 64 letters, digits, '_' or '-'"))
    }
}

/// Validates a tool's parameter schema and returns it normalised: the root is
/// an object schema with `properties`; type names are lower-case; `required`
/// names only existing properties. Errors name the JSON path of the problem.
pub fn normalise_parameters(schema: &Value) -> Result<Value, String> {
    let mut schema = match schema {
        Value::Null => Value::Object(Map::new()),
        Value::Object(_) => schema.clone(),
        other => return Err(format!("parameters must be a JSON Schema object, not {other}")),
    };
    let root = schema.as_object_mut().ok_or("parameters must be an object")?;
    match root.get("type") {
        None => {
            root.insert("type".into(), Value::String("object".into()));
        }
        Some(Value::String(t)) if t.eq_ignore_ascii_case("object") => {}
        Some(other) => {
            return Err(format!("the parameters' root type must be \"object\", not {other}"));
        }
    }
    root.entry("properties").or_insert_with(|| Value::Object(Map::new()));
    normalise(&mut schema, "parameters")?;
    Ok(schema)
}

fn normalise(schema: &mut Value, path: &str) -> Result<(), String> {
    let obj = match schema {
        Value::Object(o) => o,
        Value::Bool(_) => return Ok(()),
        other => return Err(format!("{path}: a schema must be an object, not {other}")),
    };
    if let Some(t) = obj.get_mut("type") {
        match t {
            Value::String(s) => *s = check_type(s, path)?,
            Value::Array(items) => {
                for item in items.iter_mut() {
                    match item {
                        Value::String(s) => *s = check_type(s, path)?,
                        other => return Err(format!("{path}.type: {other} is not a type name")),
                    }
                }
            }
            other => return Err(format!("{path}.type: {other} is not a type name")),
        }
    }
    if let Some(props) = obj.get_mut("properties") {
        let props =
            props.as_object_mut().ok_or_else(|| format!("{path}.properties must be an object"))?;
        for (name, sub) in props.iter_mut() {
            normalise(sub, &format!("{path}.properties.{name}"))?;
        }
    }
    if let Some(req) = obj.get("required") {
        let names = req
            .as_array()
            .filter(|a| a.iter().all(Value::is_string))
            .ok_or_else(|| format!("{path}.required must be a list of property names"))?;
        let props = obj.get("properties").and_then(Value::as_object);
        for n in names {
            let n = n.as_str().unwrap_or_default();
            if !props.is_some_and(|p| p.contains_key(n)) {
                return Err(format!("{path}.required names {n:?}, which is not a property"));
            }
        }
    }
    if let Some(items) = obj.get_mut("items") {
        normalise(items, &format!("{path}.items"))?;
    }
    Ok(())
}

fn check_type(t: &str, path: &str) -> Result<String, String> {
    let lower = t.to_ascii_lowercase();
    if TYPES.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!("{path}.type: unknown type {t:?} (use one of {})", TYPES.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    }

    #[test]
    fn rejects_broken_schemas_with_the_path() {
        let e = normalise_parameters(&json!({"type": "array"})).unwrap_err();
        assert!(e.contains("root type"), "{e}");
        let e = normalise_parameters(&json!({"properties": {"a": {"type": "text"}}})).unwrap_err();
        assert!(e.contains("parameters.properties.a.type") && e.contains("\"text\""), "{e}");
        let e = normalise_parameters(&json!({"properties": {}, "required": ["x"]})).unwrap_err();
        assert!(e.contains("\"x\""), "{e}");
        assert!(normalise_parameters(&json!("object")).is_err());
    }

    #[test]
    fn tool_names() {
        assert!(check_tool_name("read_file").is_ok());
        assert!(check_tool_name("get-weather2").is_ok());
        assert!(check_tool_name("").is_err());
        assert!(check_tool_name("read file").is_err());
        assert!(check_tool_name(&"x".repeat(65)).is_err());
    }
}
