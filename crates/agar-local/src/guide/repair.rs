//! Repairing parsed tool arguments against their schema.

use serde_json::{Map, Value, json};

use super::{Schema, clamp};

/// Keeps `value` (parsed arguments) within `schema`: missing required keys
/// get defaults, integers are clamped (and numbers rounded, numeric strings
/// parsed), enum strings outside the list become the first choice.
pub fn repair(value: Value, schema: &Schema) -> Value {
    match schema {
        Schema::Object(props) => {
            let mut obj = match value {
                Value::Object(o) => o,
                _ => Map::new(),
            };
            for (k, s) in props {
                let v = obj.remove(k).map_or_else(|| s.default_value(), |v| repair(v, s));
                obj.insert(k.clone(), v);
            }
            Value::Object(obj)
        }
        Schema::Array { items, min, .. } => {
            let mut arr: Vec<Value> = match value {
                Value::Array(a) => a.into_iter().map(|v| repair(v, items)).collect(),
                _ => Vec::new(),
            };
            while arr.len() < *min {
                arr.push(items.default_value());
            }
            Value::Array(arr)
        }
        Schema::Integer { min, max } => {
            let n = match &value {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
                Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f.round() as i64),
                _ => None,
            };
            json!(clamp(n.unwrap_or_else(|| clamp(0, *min, *max)), *min, *max))
        }
        Schema::String { choices: Some(c), .. } => match value {
            Value::String(s) if c.contains(&s) => Value::String(s),
            _ => json!(c.first().cloned().unwrap_or_default()),
        },
        Schema::String { .. } => match value {
            Value::String(s) => Value::String(s),
            Value::Null => schema.default_value(),
            other => Value::String(other.to_string()),
        },
        Schema::Boolean => match value {
            Value::Bool(b) => Value::Bool(b),
            Value::String(s) => Value::Bool(s.eq_ignore_ascii_case("true")),
            _ => Value::Bool(false),
        },
        Schema::Number => match value {
            Value::Number(n) => Value::Number(n),
            Value::String(s) => s.trim().parse::<f64>().map_or(json!(0), |f| json!(f)),
            _ => json!(0),
        },
        Schema::Null => Value::Null,
        Schema::ToolCall(_) | Schema::Citation { .. } => value,
    }
}
