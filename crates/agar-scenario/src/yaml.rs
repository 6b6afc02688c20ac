//! The YAML border: front matter text becomes a small tree of [`Node`]s that
//! carry the line of the file they came from. saphyr types stop here.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

use crate::diagnostic::Sink;

/// A YAML value and the file line where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// 1-based line in the file (not in the front matter).
    pub(crate) line: usize,
    pub(crate) value: Value,
    /// The source text of a plain non-string scalar (`007`, `1.10`, `yes`),
    /// so that a string field given such a scalar keeps what the author wrote.
    raw: String,
}

/// The shapes a YAML value can take once tags and styles are resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping, in file order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    /// The line of the key.
    pub(crate) line: usize,
    pub(crate) value: Node,
}

impl Node {
    /// What kind of value this is, for messages: "found a list".
    pub(crate) fn describe(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The value as text, if it is a scalar other than null. Numbers and
    /// booleans give the text the author wrote.
    pub(crate) fn as_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => Some(self.raw.clone()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// The value as JSON; a number JSON cannot hold (`.nan`, `.inf`) is an
    /// error at its line.
    pub(crate) fn to_json(&self) -> Result<serde_json::Value, (usize, String)> {
        Ok(match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .ok_or_else(|| (self.line, format!("`{}` is not a finite number", self.raw)))?,
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect::<Result<_, _>>()?)
            }
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for entry in entries {
                    map.insert(entry.key.clone(), entry.value.to_json()?);
                }
                serde_json::Value::Object(map)
            }
        })
    }
}

/// Parses the front matter `src`, whose first line is line `first_line` of
/// the file. Problems are reported at file lines no later than `last_line`.
/// `Ok(None)` means the front matter holds no document at all (only blank
/// lines or comments).
pub(crate) fn parse(
    src: &str,
    first_line: usize,
    last_line: usize,
    sink: &mut Sink,
) -> Option<Node> {
    let to_file_line =
        |yaml_line: usize| (yaml_line + first_line).saturating_sub(1).clamp(1, last_line.max(1));
    let docs = match MarkedYamlOwned::load_from_str(src) {
        Ok(docs) => docs,
        Err(e) => {
            sink.error(to_file_line(e.marker().line()), format!("invalid yaml: {}", e.info()));
            return None;
        }
    };
    let chars: Vec<char> = src.chars().collect();
    let mut converter = Converter { chars: &chars, to_file_line: &to_file_line, sink };
    docs.into_iter().next().map(|doc| converter.convert(doc))
}

struct Converter<'a, F: Fn(usize) -> usize> {
    chars: &'a [char],
    to_file_line: &'a F,
    sink: &'a mut Sink,
}

impl<F: Fn(usize) -> usize> Converter<'_, F> {
    fn convert(&mut self, node: MarkedYamlOwned) -> Node {
        let line = (self.to_file_line)(node.span.start.line());
        let (start, end) = (node.span.start.index(), node.span.end.index());
        let chars = self.chars;
        let raw =
            || chars.get(start..end).map(|c| c.iter().collect::<String>()).unwrap_or_default();
        let (value, raw) = match node.data {
            YamlDataOwned::Value(ScalarOwned::Null) => (Value::Null, String::new()),
            YamlDataOwned::Value(ScalarOwned::Boolean(b)) => (Value::Bool(b), raw()),
            YamlDataOwned::Value(ScalarOwned::Integer(i)) => (Value::Int(i), raw()),
            YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) => (Value::Float(f.0), raw()),
            YamlDataOwned::Value(ScalarOwned::String(s))
            | YamlDataOwned::Representation(s, _, _) => (Value::Str(s), String::new()),
            YamlDataOwned::Sequence(items) => {
                (Value::Seq(items.into_iter().map(|n| self.convert(n)).collect()), String::new())
            }
            YamlDataOwned::Mapping(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let key = self.convert(key);
                    let value = self.convert(value);
                    match key.as_text() {
                        Some(text) => entries.push(Entry { key: text, line: key.line, value }),
                        None => self.sink.error(
                            key.line,
                            format!(
                                "a mapping key must be a plain string, found {}",
                                key.describe()
                            ),
                        ),
                    }
                }
                (Value::Map(entries), String::new())
            }
            // Application tags (`!foo`) carry no meaning in agar files: keep the value.
            YamlDataOwned::Tagged(_, inner) => return self.convert(*inner),
            YamlDataOwned::Alias(_) => {
                self.sink.error(line, "yaml aliases are not supported here");
                (Value::Null, String::new())
            }
            YamlDataOwned::BadValue => {
                self.sink.error(line, "invalid yaml value");
                (Value::Null, String::new())
            }
        };
        Node { line, value, raw }
    }
}

#[cfg(test)]
mod tests {

    use std::path::Path;

    use super::*;

    fn parse_ok(src: &str) -> Node {
        let mut sink = Sink::new(Path::new("t.md"));
        let node = parse(src, 2, 100, &mut sink).unwrap();
        assert!(sink.finish().is_empty());
        node
    }

    #[test]
    fn lines_are_offset_to_the_file() {
        let node = parse_ok("a: 1\nb:\n  - x\n  - y\n");
        let Value::Map(entries) = node.value else { panic!("not a map") };
        assert_eq!(entries[0].line, 2);
        assert_eq!(entries[1].line, 3);
        let Value::Seq(items) = &entries[1].value.value else { panic!("not a seq") };
        assert_eq!(items[1].line, 5);
    }

    #[test]
    fn plain_scalars_keep_their_source_text() {
        let node = parse_ok("a: 007\nb: 1.10\nc: true\n");
        let Value::Map(entries) = node.value else { panic!("not a map") };
        let texts: Vec<_> = entries.iter().map(|e| e.value.as_text().unwrap()).collect();
        assert_eq!(texts, ["007", "1.10", "true"]);
        assert_eq!(entries[0].value.value, Value::Int(7));
    }

    #[test]
    fn syntax_errors_point_at_the_file_line() {
        let mut sink = Sink::new(Path::new("t.md"));
        assert!(parse("a: 1\nb: [1, 2\n", 2, 100, &mut sink).is_none());
        let diags = sink.finish();
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.starts_with("invalid yaml"), "{}", diags[0].message);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let mut sink = Sink::new(Path::new("t.md"));
        assert!(parse("a: 1\nb: 2\na: 3\n", 2, 100, &mut sink).is_none());
        assert_eq!(sink.finish()[0].line, 4);
    }
}
