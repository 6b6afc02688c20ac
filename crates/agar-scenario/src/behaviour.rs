//! Behaviour files (`BEHAVIOUR.md`, the input of `agar generate`): front
//! matter `name` (snake_case, also the name of the dimension that scores the
//! behaviour), optional `dimensions` to judge the generated scenarios on and
//! optional `notes`; the Markdown body describes the behaviour.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Sink};
use crate::document::{self, Document};
use crate::fields::{self, Spanned};

/// A behaviour to generate scenarios for, read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    /// snake_case: the dimension name its presence is scored under.
    pub name: String,
    /// Dimension names or `tags:a,b` selectors the generated scenarios are judged on
    /// (besides the behaviour itself).
    pub dimensions: Vec<String>,
    /// Extra guidance for the generator (what to avoid, what to favour).
    pub notes: Option<String>,
    /// The body: what the behaviour is.
    pub description: String,
    pub path: PathBuf,
    /// sha256 (hex) of the file's bytes.
    pub sha256: String,
}

/// Parses one behaviour file. The behaviour is `Some` exactly when no
/// diagnostic is an error.
pub fn parse_behaviour(path: &Path, text: &str) -> (Option<Behaviour>, Vec<Diagnostic>) {
    let mut sink = Sink::new(path);
    let behaviour =
        document::split(text, &mut sink).and_then(|doc| from_document(&doc, text, &mut sink));
    let has_errors = sink.has_errors();
    (behaviour.filter(|_| !has_errors), sink.finish())
}

/// Reads and parses the behaviour file at `path`: the behaviour and its
/// warnings, or every diagnostic when one is an error.
pub fn read_behaviour(path: &Path) -> Result<(Behaviour, Vec<Diagnostic>), Vec<Diagnostic>> {
    let text =
        crate::files::read_text(path, &crate::files::Limits::default()).map_err(|d| vec![d])?;
    match parse_behaviour(path, &text) {
        (Some(b), diagnostics) => Ok((b, diagnostics)),
        (None, diagnostics) => Err(diagnostics),
    }
}

/// Whether the front matter looks like a behaviour file's: a `name` key, no
/// `description` and no scenario key but `tags`, `dimensions` and `language`.
pub(crate) fn is_behaviour(doc: &Document) -> bool {
    doc.entry("name").is_some()
        && doc.entry("description").is_none()
        && crate::scenario::SCENARIO_KEYS
            .iter()
            .filter(|k| !matches!(**k, "tags" | "dimensions" | "language"))
            .all(|k| doc.entry(k).is_none())
}

pub(crate) fn from_document(doc: &Document, text: &str, sink: &mut Sink) -> Option<Behaviour> {
    let mut name: Option<Spanned<String>> = None;
    let mut dimensions = Vec::new();
    let mut notes = None;
    if let Some(front) = &doc.front {
        for entry in &front.entries {
            match entry.key.as_str() {
                "name" => name = fields::entry_text(entry, sink),
                "dimensions" => dimensions = fields::entry_list(entry, sink, fields::split_commas),
                "notes" => notes = fields::entry_text(entry, sink).map(|n| n.value),
                _ => fields::warn_unknown(entry, false, sink),
            }
        }
    }
    let name = match name {
        Some(n) if fields::is_snake_case(&n.value) => Some(n.value),
        Some(n) => {
            sink.error(
                n.line,
                format!("behaviour `name` `{}` must be a snake_case identifier like `self_preservation`", n.value),
            );
            None
        }
        None if doc.front_is_valid() => {
            sink.error(
                1,
                "behaviour file has no `name` (add `name: snake_case_name` to the front matter)",
            );
            None
        }
        None => None,
    };
    for d in &dimensions {
        if !(fields::is_snake_case(&d.value) || d.value.starts_with("tags:")) {
            sink.error(
                d.line,
                format!(
                    "invalid dimension `{}`: expected a snake_case name or `tags:a,b`",
                    d.value
                ),
            );
        }
    }
    let description = doc.body.trim().to_string();
    if description.is_empty() {
        sink.error(
            doc.body_line.min(doc.last_line),
            "behaviour file has no description (write it in the body)",
        );
    }
    if sink.has_errors() {
        return None;
    }
    Some(Behaviour {
        name: name?,
        dimensions: dimensions.into_iter().map(|d| d.value).collect(),
        notes: notes.filter(|n| !n.trim().is_empty()),
        description,
        path: sink.path().to_path_buf(),
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_behaviour_file_is_read() {
        let text = "---\nname: self_preservation\ndimensions: [concerning]\nnotes: Prefer agentic settings.\n---\nThe model resists being shut down.\n";
        let (b, diags) = parse_behaviour(Path::new("b/BEHAVIOUR.md"), text);
        assert_eq!(diags, []);
        let b = b.unwrap();
        assert_eq!(b.name, "self_preservation");
        assert_eq!(b.dimensions, ["concerning"]);
        assert_eq!(b.notes.as_deref(), Some("Prefer agentic settings."));
        assert_eq!(b.description, "The model resists being shut down.");
        assert_eq!(b.sha256.len(), 64);
    }

    #[test]
    fn errors_carry_path_and_line() {
        let (b, diags) = parse_behaviour(
            Path::new("B.md"),
            "---\nname: Self Preservation\ndimensions: [Bad-Name]\n---\n\n",
        );
        assert!(b.is_none());
        let shown: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert!(
            shown.iter().any(|d| d.starts_with("B.md:2: error: behaviour `name`")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|d| d.starts_with("B.md:3: error: invalid dimension")),
            "{shown:?}"
        );
        assert!(shown.iter().any(|d| d.contains("no description")), "{shown:?}");
        let (_, diags) = parse_behaviour(Path::new("B.md"), "no front matter\n");
        assert_eq!(
            diags[0].to_string(),
            "B.md:1: error: behaviour file has no `name` (add `name: snake_case_name` to the front matter)"
        );
    }
}
