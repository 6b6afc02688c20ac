//! Argument structs that carry their own JSON Schema: [`tool_args!`]
//! declares a tool's argument struct and derives the `parameters` schema the
//! auditor sees from the same field list, so the two cannot disagree.

use serde_json::{Map, Value};

/// The JSON Schema type of a field's Rust type; `Option<T>` is `T`'s type,
/// and such a field is not required.
pub(crate) trait JsonType {
    const TYPE: &'static str;
    const REQUIRED: bool = true;
}

impl JsonType for String {
    const TYPE: &'static str = "string";
}

impl JsonType for bool {
    const TYPE: &'static str = "boolean";
}

impl JsonType for Map<String, Value> {
    const TYPE: &'static str = "object";
}

impl<T: JsonType> JsonType for Option<T> {
    const TYPE: &'static str = T::TYPE;
    const REQUIRED: bool = false;
}

/// One property of a derived schema: its type, then the field's extra
/// keywords (`description`, `default`).
pub(crate) fn property<T: JsonType>(extra: Value) -> Value {
    let mut p = Map::new();
    p.insert("type".into(), T::TYPE.into());
    if let Value::Object(extra) = extra {
        p.extend(extra);
    }
    Value::Object(p)
}

/// The root object schema of a tool's parameters from its fields (name,
/// property, required); `required` only when some field is.
pub(crate) fn object(fields: Vec<(&str, Value, bool)>) -> Value {
    let required: Vec<&str> =
        fields.iter().filter(|(_, _, required)| *required).map(|(name, _, _)| *name).collect();
    let properties: Map<String, Value> =
        fields.into_iter().map(|(name, p, _)| (name.to_string(), p)).collect();
    let mut root = Map::new();
    root.insert("type".into(), "object".into());
    root.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        root.insert("required".into(), required.into());
    }
    root.insert("additionalProperties".into(), false.into());
    Value::Object(root)
}

/// Declares a tool's argument struct (deserialised strictly: unknown fields
/// are refused) and its `parameters()` schema from one field list. Each field
/// is `name: Type` with an optional `=> { json keywords }` for its
/// description or default; its JSON type comes from [`JsonType`].
macro_rules! tool_args {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $field:ident : $ty:ty $(=> $extra:tt)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $( pub $field: $ty, )*
        }

        impl $name {
            /// The JSON Schema of these arguments, as the auditor sees it.
            pub fn parameters() -> serde_json::Value {
                let fields: Vec<(&str, serde_json::Value, bool)> = vec![$(
                    (
                        stringify!($field),
                        $crate::tools::args::property::<$ty>(tool_args!(@extra $($extra)?)),
                        <$ty as $crate::tools::args::JsonType>::REQUIRED,
                    )
                ),*];
                $crate::tools::args::object(fields)
            }
        }
    };
    (@extra) => { serde_json::Value::Null };
    (@extra $extra:tt) => { serde_json::json!($extra) };
}

pub(crate) use tool_args;
