//! JSON written once, not once per request. An audit sends the same
//! values in every call: the auditor's nine tool schemas and its 11 KB
//! system prompt in each of its turns, the target's tools, the judge's 35 KB
//! verdict tool and 40 KB of rubrics in every judgment of a run. They are
//! shared values (`ToolDef::parameters` is an `Arc<Value>`, a message's
//! content an `Arc<str>`), so their JSON is kept by the value's address. A
//! dead value's address can be reused by a new one: each entry holds a weak
//! reference and counts only while it still points at a live value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use agar_core::Text;
use serde_json::Value;
use serde_json::value::RawValue;

/// Entries kept before dead ones are swept (the sweep then waits for twice
/// the live count).
const SWEEP_AT: usize = 256;

/// Texts shorter than this are escaped per request: looking them up would
/// cost about as much, and most of a conversation is short turns.
pub(crate) const CACHED_TEXT_BYTES: usize = 4096;

/// The JSON of values a provider has sent, by address.
#[derive(Debug)]
pub(crate) struct AddressCache<T: ?Sized, J>(Mutex<Entries<T, J>>);

#[derive(Debug)]
struct Entries<T: ?Sized, J> {
    by_address: HashMap<usize, (Weak<T>, J)>,
    sweep_at: usize,
}

impl<T: ?Sized, J> Default for AddressCache<T, J> {
    fn default() -> Self {
        Self(Mutex::new(Entries { by_address: HashMap::new(), sweep_at: SWEEP_AT }))
    }
}

impl<T: ?Sized, J: Clone> AddressCache<T, J> {
    /// The JSON of `value`, written by `write` on its first use.
    fn get_or_write(
        &self,
        value: &Arc<T>,
        write: impl FnOnce(&T) -> Result<J, serde_json::Error>,
    ) -> Result<J, serde_json::Error> {
        let address = Arc::as_ptr(value).cast::<u8>() as usize;
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((weak, json)) = entries.by_address.get(&address)
            && weak.upgrade().is_some_and(|live| Arc::ptr_eq(&live, value))
        {
            return Ok(json.clone());
        }
        let json = write(value)?;
        if entries.by_address.len() >= entries.sweep_at {
            entries.by_address.retain(|_, (weak, _)| weak.strong_count() > 0);
            entries.sweep_at = (2 * entries.by_address.len()).max(SWEEP_AT);
        }
        entries.by_address.insert(address, (Arc::downgrade(value), json.clone()));
        Ok(json)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).by_address.len()
    }
}

/// Tool schemas as compact JSON.
pub(crate) type SchemaCache = AddressCache<Value, Arc<[u8]>>;

impl SchemaCache {
    /// `schema` as compact JSON, written on its first use.
    pub(crate) fn json(&self, schema: &Arc<Value>) -> Result<Arc<[u8]>, serde_json::Error> {
        self.get_or_write(schema, |s| Ok(serde_json::to_vec(s)?.into()))
    }
}

/// Long message texts as JSON strings (quoted and escaped).
pub(crate) type TextCache = AddressCache<str, Arc<RawValue>>;

impl TextCache {
    /// `text` as a JSON string, written on its first use; `None` for a text
    /// under [`CACHED_TEXT_BYTES`], or one that only the request holds (a
    /// prompt rendered for this call alone will not be sent again).
    pub(crate) fn escaped(&self, text: &Text) -> Option<Arc<RawValue>> {
        if text.len() < CACHED_TEXT_BYTES || Arc::strong_count(text.as_arc()) < 2 {
            return None;
        }
        self.get_or_write(text.as_arc(), |t| {
            Ok(Arc::from(RawValue::from_string(serde_json::to_string(t)?)?))
        })
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_schema_is_written_once_and_a_new_one_at_a_reused_address_is_not_confused_with_it() {
        let cache = SchemaCache::default();
        let a = Arc::new(json!({"type": "object", "properties": {"x": {"type": "string"}}}));
        let first = cache.json(&a).expect("writes");
        assert_eq!(&*first, br#"{"properties":{"x":{"type":"string"}},"type":"object"}"#);
        assert!(Arc::ptr_eq(&first, &cache.json(&a.clone()).expect("writes")), "kept");
        drop(a);
        // Whatever address the next schema gets, its own JSON comes back.
        for n in 0..1000 {
            let b = Arc::new(json!({ "n": n }));
            assert_eq!(&*cache.json(&b).expect("writes"), format!(r#"{{"n":{n}}}"#).as_bytes());
        }
        assert!(cache.len() <= 2 * SWEEP_AT, "dead entries are swept: {}", cache.len());
    }

    #[test]
    fn a_long_text_is_escaped_once_and_a_short_one_not_kept() {
        let cache = TextCache::default();
        let long = Text::from(format!("\"quoted\"\n{}", "x".repeat(CACHED_TEXT_BYTES)));
        let _also_in_a_history = long.clone();
        let first = cache.escaped(&long).expect("long enough");
        assert_eq!(first.get(), serde_json::to_string(long.as_str()).unwrap());
        let again = cache.escaped(&long.clone()).expect("long enough");
        assert!(Arc::ptr_eq(&first, &again), "written once");
        let equal_but_another = Text::from(long.as_str());
        let _held = equal_but_another.clone();
        assert!(!Arc::ptr_eq(&first, &cache.escaped(&equal_but_another).unwrap()), "by address");
        assert!(cache.escaped(&Text::from("short")).is_none());
        assert_eq!(cache.len(), 2);
        let held_once = Text::from("y".repeat(CACHED_TEXT_BYTES));
        assert!(cache.escaped(&held_once).is_none(), "only the request holds it");
        let _history = held_once.clone();
        assert!(cache.escaped(&held_once).is_some());
    }
}
