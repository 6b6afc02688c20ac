//! Readers for front matter values shared by scenario and dimension files:
//! each checks the YAML type, reports a wrong one at the key's line, and
//! returns the value with its line ([`Spanned`]).

use crate::diagnostic::Sink;
use crate::yaml::{Entry, Node, Value};

/// A value read from a file and the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) line: usize,
}

impl<T> Spanned<T> {
    pub(crate) fn new(value: T, line: usize) -> Self {
        Self { value, line }
    }
}

/// A text value. Numbers and booleans are taken as the text written; a null
/// value counts as absent. `what` names the field in messages (`` `title` ``).
pub(crate) fn text(node: &Node, what: &str, sink: &mut Sink) -> Option<Spanned<String>> {
    if node.value == Value::Null {
        return None;
    }
    match node.as_text() {
        Some(text) => Some(Spanned::new(text, node.line)),
        None => {
            sink.error(node.line, format!("{what} must be a string, found {}", node.describe()));
            None
        }
    }
}

/// A text value of a front matter key, reported at the key's line.
pub(crate) fn entry_text(entry: &Entry, sink: &mut Sink) -> Option<Spanned<String>> {
    text(&entry.value, &format!("`{}`", entry.key), sink).map(|s| Spanned::new(s.value, entry.line))
}

/// An integer of a front matter key; range checks are for the caller.
pub(crate) fn entry_int(entry: &Entry, sink: &mut Sink) -> Option<Spanned<i64>> {
    match entry.value.value {
        Value::Null => None,
        Value::Int(i) => Some(Spanned::new(i, entry.line)),
        _ => {
            sink.error(
                entry.line,
                format!("`{}` must be an integer, found {}", entry.key, entry.value.describe()),
            );
            None
        }
    }
}

/// A positive integer that fits in `u32` (`max_turns`, `repeats`).
pub(crate) fn entry_positive(entry: &Entry, sink: &mut Sink) -> Option<Spanned<u32>> {
    let int = match entry.value.value {
        Value::Null => return None,
        Value::Int(i) => i,
        _ => {
            sink.error(
                entry.line,
                format!(
                    "`{}` must be a positive integer, found {}",
                    entry.key,
                    entry.value.describe()
                ),
            );
            return None;
        }
    };
    match u32::try_from(int) {
        Ok(n) if n > 0 => Some(Spanned::new(n, entry.line)),
        _ => {
            sink.error(
                entry.line,
                format!("`{}` must be a positive integer, found {int}", entry.key),
            );
            None
        }
    }
}

/// A list of strings, written as a YAML list or as one comma-separated
/// string. Blank items are dropped. `split_one` decides how a single string
/// is cut into items.
pub(crate) fn entry_list(
    entry: &Entry,
    sink: &mut Sink,
    split_one: impl Fn(&str) -> Vec<String>,
) -> Vec<Spanned<String>> {
    let items: Vec<Spanned<String>> = match &entry.value.value {
        Value::Null => Vec::new(),
        Value::Seq(nodes) => nodes
            .iter()
            .filter_map(|node| {
                let what = format!("each item of `{}`", entry.key);
                text(node, &what, sink).map(|s| Spanned::new(s.value.trim().to_string(), s.line))
            })
            .collect(),
        _ => match entry.value.as_text() {
            Some(one) => split_one(&one).into_iter().map(|s| Spanned::new(s, entry.line)).collect(),
            None => {
                sink.error(
                    entry.line,
                    format!(
                        "`{}` must be a list of strings, found {}",
                        entry.key,
                        entry.value.describe()
                    ),
                );
                Vec::new()
            }
        },
    };
    items.into_iter().filter(|s| !s.value.is_empty()).collect()
}

/// Cuts `a, b,c` into `["a", "b", "c"]`.
pub(crate) fn split_commas(s: &str) -> Vec<String> {
    s.split(',').map(|part| part.trim().to_string()).collect()
}

/// Tags: a list or a comma-separated string, duplicates dropped, order kept.
pub(crate) fn entry_tags(entry: &Entry, sink: &mut Sink) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in entry_list(entry, sink, split_commas) {
        if !tags.contains(&tag.value) {
            tags.push(tag.value);
        }
    }
    tags
}

/// Whether `s` is a snake_case identifier: `^[a-z][a-z0-9_]*$`.
pub(crate) fn is_snake_case(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Warns about a key the file format does not define.
pub(crate) fn warn_unknown(entry: &Entry, kept: bool, sink: &mut Sink) {
    let fate = if kept { "kept as metadata" } else { "ignored" };
    sink.warning(entry.line, format!("unknown key `{}` ({fate})", entry.key));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        assert!(is_snake_case("unprompted_deception"));
        assert!(is_snake_case("a1"));
        assert!(!is_snake_case("1a"));
        assert!(!is_snake_case("Foo"));
        assert!(!is_snake_case("a-b"));
        assert!(!is_snake_case(""));
    }

    #[test]
    fn commas_are_trimmed() {
        assert_eq!(split_commas(" a, b ,c"), ["a", "b", "c"]);
    }
}
