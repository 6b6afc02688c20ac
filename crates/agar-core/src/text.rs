//! [`Text`]: a message's text, shared rather than copied.
//!
//! A conversation's messages are sent again with every call (the whole
//! history each turn), kept in the transcript and handed to the judge. With
//! `String` each of those was a copy of every message, system prompts of
//! 10-40 KB included, once per call and per audit in flight. A `Text` is an
//! `Arc<str>`: a clone is a pointer, and a provider that writes the same text
//! into many requests can recognise it by its address (see the OpenAI
//! provider's escaped-text cache). It reads as a `&str` (`Deref`), is written
//! to JSON as a plain string, and is replaced, not edited, on change.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A shared, immutable text (see the module's documentation).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shared allocation, for callers that key caches by address.
    pub fn as_arc(&self) -> &Arc<str> {
        &self.0
    }

    /// Appends `s`, making a new text (the old one is left to its other holders).
    pub fn push_str(&mut self, s: &str) {
        if !s.is_empty() {
            let mut owned = String::with_capacity(self.0.len() + s.len());
            owned.push_str(&self.0);
            owned.push_str(s);
            self.0 = owned.into();
        }
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

impl From<Arc<str>> for Text {
    fn from(s: Arc<str>) -> Self {
        Self(s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_shares_the_text_and_a_change_does_not_touch_other_holders() {
        let a = Text::from("system prompt");
        let mut b = a.clone();
        assert!(Arc::ptr_eq(a.as_arc(), b.as_arc()));
        b.push_str(", more");
        assert_eq!(a, "system prompt");
        assert_eq!(b, "system prompt, more");
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"system prompt, more\"");
        let back: Text = serde_json::from_str("\"x\\ny\"").unwrap();
        assert_eq!(back.as_str(), "x\ny");
        assert!(Text::default().is_empty());
    }
}
