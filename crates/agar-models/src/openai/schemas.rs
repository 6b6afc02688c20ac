//! Tool schemas written once as JSON, not once per request. An audit offers
//! the same schemas in every call (the auditor's nine tools in each of its
//! turns, the target's tools, the judge's 35 KB verdict tool in every
//! judgment of a run), and they are shared values (`ToolDef::parameters`
//! is an `Arc`), so their JSON is kept by the schema's address. A dead
//! schema's address can be reused by a new one: each entry holds a weak
//! reference and counts only while it still points at a live schema.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use serde_json::Value;

/// Entries kept before dead ones are swept (the sweep then waits for twice
/// the live count).
const SWEEP_AT: usize = 256;

/// The compact JSON of the schemas a provider has sent, by address.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache(Mutex<Entries>);

#[derive(Debug, Default)]
struct Entries {
    by_address: HashMap<usize, (Weak<Value>, Arc<[u8]>)>,
    sweep_at: usize,
}

impl SchemaCache {
    /// `schema` as compact JSON, written on its first use.
    pub(crate) fn json(&self, schema: &Arc<Value>) -> Result<Arc<[u8]>, serde_json::Error> {
        let address = Arc::as_ptr(schema) as usize;
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((weak, json)) = entries.by_address.get(&address)
            && weak.upgrade().is_some_and(|live| Arc::ptr_eq(&live, schema))
        {
            return Ok(json.clone());
        }
        let json: Arc<[u8]> = serde_json::to_vec(&**schema)?.into();
        let sweep_at = entries.sweep_at.max(SWEEP_AT);
        if entries.by_address.len() >= sweep_at {
            entries.by_address.retain(|_, (weak, _)| weak.strong_count() > 0);
            entries.sweep_at = (2 * entries.by_address.len()).max(SWEEP_AT);
        }
        entries.by_address.insert(address, (Arc::downgrade(schema), json.clone()));
        Ok(json)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).by_address.len()
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
}
