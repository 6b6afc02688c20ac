//! Typed run and audit ids for the handlers: a path segment becomes a
//! [`RunId`] or an [`AuditId`] only when the store accepts it as one
//! ([`agar_store::check_id`], [`agar_store::check_audit_id`]), so no handler
//! hands an unchecked string to the store. A segment that is not a valid id
//! is rejected by the extractor, as "not found".

use std::fmt;
use std::ops::Deref;

use agar_store::StoreError;
use serde::Deserialize;

/// A run id that names no path outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct RunId(String);

/// An audit id that names no path outside the run, nor one of its own files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct AuditId(String);

impl TryFrom<String> for RunId {
    type Error = StoreError;

    fn try_from(s: String) -> Result<RunId, StoreError> {
        agar_store::check_id(&s)?;
        Ok(RunId(s))
    }
}

impl TryFrom<String> for AuditId {
    type Error = StoreError;

    fn try_from(s: String) -> Result<AuditId, StoreError> {
        agar_store::check_audit_id(&s)?;
        Ok(AuditId(s))
    }
}

macro_rules! as_str {
    ($ty:ident) => {
        impl Deref for $ty {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

as_str!(RunId);
as_str!(AuditId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_the_store_accepts_become_typed_ids() {
        assert_eq!(&*RunId::try_from("nightly-1".to_string()).unwrap(), "nightly-1");
        for bad in ["..", "../x", "a/b", "", ".hidden"] {
            assert!(RunId::try_from(bad.to_string()).is_err(), "{bad}");
            assert!(AuditId::try_from(bad.to_string()).is_err(), "{bad}");
        }
        assert!(AuditId::try_from("plan".to_string()).is_err(), "the run's own file name");
        assert!(RunId::try_from("plan".to_string()).is_ok());
    }
}
