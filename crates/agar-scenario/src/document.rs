//! First stage of every file: text -> [`Document`], the front matter as a
//! tree of YAML entries with file lines, and the Markdown body.

use crate::diagnostic::Sink;
use crate::yaml::{self, Entry, Value};

/// A file split into its front matter and body, BOM and CRLF removed.
#[derive(Debug)]
pub(crate) struct Document {
    /// `None` when the file has no front matter.
    pub(crate) front: Option<FrontMatter>,
    /// Everything after the front matter (the whole text without one).
    pub(crate) body: String,
    /// The file line the body starts on.
    pub(crate) body_line: usize,
    /// The number of lines in the file (at least 1).
    pub(crate) last_line: usize,
}

/// The `key: value` pairs between the `---` lines.
#[derive(Debug)]
pub(crate) struct FrontMatter {
    pub(crate) entries: Vec<Entry>,
    /// False when the YAML could not be read; `entries` is then empty and
    /// later stages must not draw conclusions from missing keys.
    pub(crate) valid: bool,
}

impl Document {
    /// The front matter entry named `key`, if any.
    pub(crate) fn entry(&self, key: &str) -> Option<&Entry> {
        self.front.as_ref()?.entries.iter().find(|e| e.key == key)
    }

    pub(crate) fn front_is_valid(&self) -> bool {
        self.front.as_ref().is_none_or(|f| f.valid)
    }
}

/// Whether `line` is a front matter fence (`---`, trailing blanks allowed).
fn is_fence(line: &str) -> bool {
    line.trim_end() == "---"
}

/// Splits `text` into front matter and body and reads the front matter's
/// YAML. Returns `None` when the file's structure cannot be recovered
/// (front matter never closed); the reason is in `sink`.
pub(crate) fn split(text: &str, sink: &mut Sink) -> Option<Document> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n");
    let last_line = text.lines().count().max(1);

    let mut lines = text.split_inclusive('\n');
    let Some(first) = lines.next().filter(|l| is_fence(l)) else {
        return Some(Document { front: None, body: text, body_line: 1, last_line });
    };

    // Line 1 is the opening fence; find the closing one.
    let mut offset = first.len();
    let mut yaml_end = None;
    for (i, line) in lines.enumerate() {
        let line_no = i + 2;
        if is_fence(line) || line.trim_end() == "..." {
            yaml_end = Some((offset, line_no, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((yaml_end, close_line, body_start)) = yaml_end else {
        sink.error(1, "unterminated front matter: the opening `---` line is never closed by another `---` line");
        return None;
    };

    let src = &text[first.len()..yaml_end];
    let errors_before = sink.error_count();
    let node = yaml::parse(src, 2, close_line, sink);
    // A YAML syntax error leaves no tree at all: nothing can be said about the keys.
    let mut valid = node.is_some() || sink.error_count() == errors_before;
    let entries = match node {
        Some(node) => match node.value {
            Value::Map(entries) => entries,
            Value::Null => Vec::new(),
            _ => {
                sink.error(
                    node.line,
                    format!(
                        "front matter must be a mapping of keys to values, found {}",
                        node.describe()
                    ),
                );
                valid = false;
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    Some(Document {
        front: Some(FrontMatter { entries, valid }),
        body: text[body_start..].to_string(),
        body_line: close_line + 1,
        last_line,
    })
}

#[cfg(test)]
mod tests {

    use std::path::Path;

    use super::*;

    fn split_ok(text: &str) -> Document {
        let mut sink = Sink::new(Path::new("t.md"));
        let doc = split(text, &mut sink).unwrap();
        assert_eq!(sink.finish(), []);
        doc
    }

    #[test]
    fn no_front_matter_means_the_whole_text_is_the_body() {
        let doc = split_ok("# Seed\n\nDo things.\n");
        assert!(doc.front.is_none());
        assert_eq!(doc.body, "# Seed\n\nDo things.\n");
        assert_eq!(doc.body_line, 1);
    }

    #[test]
    fn front_matter_and_body_are_separated() {
        let doc = split_ok("---\nid: x\ntags: [a]\n---\nbody\n");
        let front = doc.front.as_ref().unwrap();
        assert_eq!(front.entries.len(), 2);
        assert_eq!(front.entries[1].line, 3);
        assert_eq!(doc.body, "body\n");
        assert_eq!(doc.body_line, 5);
    }

    #[test]
    fn bom_and_crlf_are_tolerated() {
        let doc = split_ok("\u{feff}---\r\nid: x\r\n---\r\nbody\r\n");
        assert_eq!(doc.entry("id").unwrap().line, 2);
        assert_eq!(doc.body, "body\n");
    }

    #[test]
    fn empty_front_matter_is_an_empty_mapping() {
        let doc = split_ok("---\n---\nbody");
        assert!(doc.front.unwrap().entries.is_empty());
    }

    #[test]
    fn unterminated_front_matter_is_an_error_at_line_1() {
        let mut sink = Sink::new(Path::new("t.md"));
        assert!(split("---\nid: x\nbody\n", &mut sink).is_none());
        let diags = sink.finish();
        assert_eq!(diags[0].line, 1);
        assert!(diags[0].message.contains("unterminated front matter"));
    }

    #[test]
    fn a_list_is_not_front_matter() {
        let mut sink = Sink::new(Path::new("t.md"));
        let doc = split("---\n- a\n---\nbody\n", &mut sink).unwrap();
        assert!(!doc.front_is_valid());
        assert_eq!(sink.finish()[0].line, 2);
    }
}
