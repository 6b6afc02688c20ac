//! `--examples`: stored agar transcripts (`*.json`) or plain-text excerpts
//! (`*.txt`, `*.md`) in which the behaviour was seen, read into [`Example`]s
//! the understanding stage quotes.

use std::path::{Path, PathBuf};

use agar_core::{Role, Transcript};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::GenerateError;

/// An example longer than this (in characters) is cut, with a note saying so.
pub const EXAMPLE_MAX_CHARS: usize = 12_000;

/// One example, as the model will read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    /// The file name.
    pub name: String,
    pub text: String,
    /// sha256 (hex) of the file's bytes: part of the understanding's inputs.
    pub sha256: String,
}

/// Reads the examples at `path`: one file, or every `*.json`, `*.txt` and
/// `*.md` file directly in a directory (sorted by name; hidden files and
/// other extensions are skipped). A directory with none is an error, and so
/// is a `.json` file that is not an agar transcript.
pub fn load_examples(path: &Path) -> Result<Vec<Example>, GenerateError> {
    let meta = std::fs::metadata(path).map_err(|e| GenerateError::io(path, &e))?;
    let files: Vec<PathBuf> = if meta.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| GenerateError::io(path, &e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && kind(p).is_some())
            .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(GenerateError::Example {
                path: path.to_path_buf(),
                message:
                    "no examples found (expected *.json agar transcripts or *.txt / *.md excerpts)"
                        .into(),
            });
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    files.iter().map(|f| read_example(f)).collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Transcript,
    Text,
}

fn kind(path: &Path) -> Option<Kind> {
    match path.extension()?.to_string_lossy().to_ascii_lowercase().as_str() {
        "json" => Some(Kind::Transcript),
        "txt" | "md" => Some(Kind::Text),
        _ => None,
    }
}

fn read_example(path: &Path) -> Result<Example, GenerateError> {
    let bytes = std::fs::read(path).map_err(|e| GenerateError::io(path, &e))?;
    let fail = |message: String| GenerateError::Example { path: path.to_path_buf(), message };
    let raw = String::from_utf8(bytes.clone()).map_err(|_| fail("not valid utf-8 text".into()))?;
    let text = match kind(path) {
        Some(Kind::Transcript) => {
            let t: Transcript = serde_json::from_str(&raw)
                .map_err(|e| fail(format!("line {}: not an agar transcript: {e}", e.line())))?;
            render(&t)
        }
        _ => raw.trim().to_string(),
    };
    if text.trim().is_empty() {
        return Err(fail("the example is empty".into()));
    }
    Ok(Example {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        text: cut(&text, EXAMPLE_MAX_CHARS),
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

/// A transcript as plain text: the scenario, the target's conversation over
/// every branch, and the latest judge summary.
fn render(t: &Transcript) -> String {
    let mut out = format!(
        "Scenario given to the auditor:\n{}\n\nConversation:\n",
        t.scenario.instructions.trim()
    );
    for node in t.target_nodes() {
        let who = match node.message.role {
            Role::System => "system prompt",
            Role::User => "user",
            Role::Assistant => "target",
            Role::Tool => "tool result",
        };
        out.push_str(&format!("[{}] {who}: ", node.id));
        if let Some(prefill) = node.prefill {
            out.push_str(&format!("(prefilled by the auditor: {prefill}) "));
        }
        out.push_str(node.message.content.trim());
        for call in &node.message.tool_calls {
            out.push_str(&format!("\n  calls {}({})", call.name, call.arguments));
        }
        out.push('\n');
    }
    if let Some(v) = t.verdicts.last().filter(|v| !v.summary.trim().is_empty()) {
        out.push_str(&format!("\nThe judge's summary: {}\n", v.summary.trim()));
    }
    out
}

/// `text` cut to at most `max` characters, with a note when it was cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => format!("{}\n[... the rest of this example was cut]", &text[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_examples_are_cut_on_a_character_boundary() {
        assert_eq!(cut("abc", 3), "abc");
        assert!(cut("ééé", 2).starts_with("éé\n[..."));
    }

    #[test]
    fn text_and_bad_json_examples() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "User: hi\nModel: flattery\n").unwrap();
        std::fs::write(dir.path().join("notes.csv"), "skipped").unwrap();
        let ex = load_examples(dir.path()).unwrap();
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].name, "a.txt");
        std::fs::write(dir.path().join("b.json"), "{\"not\": \"a transcript\"}").unwrap();
        let err = load_examples(dir.path()).unwrap_err().to_string();
        assert!(err.contains("b.json") && err.contains("not an agar transcript"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        assert!(load_examples(empty.path()).unwrap_err().to_string().contains("no examples"));
    }
}
