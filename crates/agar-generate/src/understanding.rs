//! Stage 1: the model's working notes on the behaviour, kept in
//! `OUT/understanding.md`:
//!
//! ```text
//! ---
//! behaviour: NAME
//! inputs_sha256: HEX
//! model: MODEL
//! created_at: RFC 3339
//! ---
//!
//! the notes (Markdown)
//! ```
//!
//! `inputs_sha256` covers the behaviour file, every example (name and
//! bytes) and the two understanding templates. While it matches, the file is
//! reused as it is (a reviewer may edit the notes); when it does not, the
//! notes are written again.

use std::path::{Path, PathBuf};

use agar_core::{ChatModel, ChatRequest, Message, Usage};
use agar_prompts::{Prompts, Template, context};
use agar_scenario::Behaviour;
use sha2::{Digest, Sha256};

use crate::error::GenerateError;
use crate::examples::Example;

/// The file name of the notes in the output folder.
pub const FILE_NAME: &str = "understanding.md";

/// The notes, and whether they were read back rather than written now.
#[derive(Debug, Clone, PartialEq)]
pub struct Understanding {
    pub text: String,
    pub path: PathBuf,
    pub reused: bool,
    pub usage: Usage,
}

/// sha256 (hex) over everything the notes are written from.
pub fn inputs_sha256(behaviour: &Behaviour, examples: &[Example]) -> String {
    let mut h = Sha256::new();
    h.update(b"behaviour\0");
    h.update(behaviour.sha256.as_bytes());
    for e in examples {
        h.update(b"\0example\0");
        h.update(e.name.as_bytes());
        h.update(b"\0");
        h.update(e.sha256.as_bytes());
    }
    for t in [Template::UnderstandingSystem, Template::UnderstandingUser] {
        h.update(b"\0template\0");
        h.update(Prompts::hash(t).as_bytes());
    }
    hex::encode(h.finalize())
}

/// The notes for `behaviour`: read back from `out/understanding.md` when its
/// inputs match, else asked of `model` and written there.
pub async fn understand(
    model: &dyn ChatModel,
    prompts: &Prompts,
    behaviour: &Behaviour,
    examples: &[Example],
    out: &Path,
) -> Result<Understanding, GenerateError> {
    let path = out.join(FILE_NAME);
    let hash = inputs_sha256(behaviour, examples);
    if let Some(text) = read_if_current(&path, &hash)? {
        return Ok(Understanding { text, path, reused: true, usage: Usage::default() });
    }
    let system = prompts
        .render(Template::UnderstandingSystem, context! { has_examples => !examples.is_empty() })?;
    let user = prompts.render(
        Template::UnderstandingUser,
        context! {
            name => behaviour.name.as_str(),
            description => behaviour.description.as_str(),
            notes => behaviour.notes.as_deref(),
            examples => agar_prompts::Value::from(agar_prompts::Serde(examples)),
        },
    )?;
    let request = ChatRequest {
        messages: vec![Message::system(system), Message::user(user)],
        ..ChatRequest::default()
    };
    let response =
        model.chat(&request).await.map_err(|e| GenerateError::Understanding(e.to_string()))?;
    let text = response.content.trim().to_string();
    if text.is_empty() {
        return Err(GenerateError::Understanding(format!(
            "{} answered with no text",
            model.name()
        )));
    }
    let file = format!(
        "---\nbehaviour: {}\ninputs_sha256: {hash}\nmodel: {}\ncreated_at: {}\n---\n\n{text}\n",
        behaviour.name,
        serde_json::Value::from(model.name()),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    crate::pipeline::write_atomic(&path, &file)?;
    Ok(Understanding { text, path, reused: false, usage: response.usage })
}

/// The notes in `path` when its `inputs_sha256` is `hash`.
fn read_if_current(path: &Path, hash: &str) -> Result<Option<String>, GenerateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(GenerateError::io(path, &e)),
    };
    let Some(rest) = text.strip_prefix("---\n") else { return Ok(None) };
    let Some((front, body)) = rest.split_once("\n---\n") else { return Ok(None) };
    let current =
        front.lines().filter_map(|l| l.strip_prefix("inputs_sha256:")).any(|v| v.trim() == hash);
    if !current {
        tracing::info!(path = %path.display(), "the behaviour or the examples changed: writing the understanding again");
        return Ok(None);
    }
    let body = body.trim();
    Ok((!body.is_empty()).then(|| body.to_string()))
}
