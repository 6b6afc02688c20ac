//! Trait files: a persona trait described by pairs of opposite system
//! instructions, questions to extract the vector from, held-out questions
//! to evaluate steering on, and the judge's rubric (JSON; format in
//! docs/persona.md). Three ship with agar ([`SHIPPED`]); any other is
//! named by path.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::PersonaError;

/// The traits shipped with agar, by name: evil, sycophantic, hallucinating.
pub const SHIPPED: &[(&str, &str)] = &[
    ("evil", include_str!("../traits/evil.json")),
    ("sycophantic", include_str!("../traits/sycophantic.json")),
    ("hallucinating", include_str!("../traits/hallucinating.json")),
];

/// One pair of opposite system instructions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstructionPair {
    /// Elicits the trait.
    #[serde(rename = "trait")]
    pub elicit: String,
    /// Suppresses it.
    pub opposite: String,
}

/// A trait file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraitFile {
    pub name: String,
    pub description: String,
    pub instructions: Vec<InstructionPair>,
    pub extraction_questions: Vec<String>,
    pub evaluation_questions: Vec<String>,
    /// What the judge scores 0-100 (see [`crate::judge`]).
    pub rubric: String,
}

/// A trait file with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedTrait {
    pub file: TraitFile,
    /// `shipped:NAME` or the path given.
    pub origin: String,
    /// sha256 of the file's bytes.
    pub sha256: String,
}

impl LoadedTrait {
    /// A trait by shipped name, or else by path.
    pub fn load(name_or_path: &str) -> Result<Self, PersonaError> {
        if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(text, &format!("shipped:{name}"));
        }
        let path = PathBuf::from(name_or_path);
        if !path.is_file() {
            let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
            return Err(PersonaError::Input(format!(
                "no trait `{name_or_path}`: name a shipped trait ({}) or a trait file",
                names.join(", ")
            )));
        }
        Self::read(&path)
    }

    /// A trait file on disk.
    pub fn read(path: &Path) -> Result<Self, PersonaError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PersonaError::Input(format!("{}: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a trait file's text; errors are `origin:line: why`.
    pub fn parse(text: &str, origin: &str) -> Result<Self, PersonaError> {
        let file: TraitFile = serde_json::from_str(text).map_err(|e| {
            PersonaError::Input(format!("{origin}:{}: not a trait file: {e}", e.line()))
        })?;
        let empty = |what: &str| {
            PersonaError::Input(format!("{origin}:1: `{what}` must not be empty (docs/persona.md)"))
        };
        if file.name.trim().is_empty() {
            return Err(empty("name"));
        }
        if file.instructions.is_empty() {
            return Err(empty("instructions"));
        }
        if file.extraction_questions.is_empty() {
            return Err(empty("extraction_questions"));
        }
        if file.evaluation_questions.is_empty() {
            return Err(empty("evaluation_questions"));
        }
        if file.rubric.trim().is_empty() {
            return Err(empty("rubric"));
        }
        let sha256 = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        Ok(Self { file, origin: origin.to_string(), sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_trait_loads_by_name() {
        for (name, _) in SHIPPED {
            let t = LoadedTrait::load(name).unwrap();
            assert_eq!(&t.file.name, name);
            assert!(t.file.instructions.len() >= 3);
            assert!(t.file.extraction_questions.len() >= 10);
            assert!(t.file.evaluation_questions.len() >= 5);
            // Held-out questions are not extraction questions.
            assert!(
                t.file
                    .evaluation_questions
                    .iter()
                    .all(|q| !t.file.extraction_questions.contains(q))
            );
        }
    }

    #[test]
    fn a_bad_file_is_an_error_with_its_path_and_line() {
        let text = "{\n  \"name\": \"x\",\n  \"instructions\": 3\n}";
        let err = LoadedTrait::parse(text, "t.json").unwrap_err().to_string();
        assert!(err.starts_with("t.json:3: not a trait file"), "{err}");
        let unknown = LoadedTrait::load("kindness").unwrap_err().to_string();
        assert!(unknown.contains("evil, sycophantic, hallucinating"), "{unknown}");
        let empty = r#"{"name": "x", "description": "", "instructions": [], "extraction_questions": ["q"], "evaluation_questions": ["q"], "rubric": "r"}"#;
        let err = LoadedTrait::parse(empty, "e.json").unwrap_err().to_string();
        assert!(err.contains("e.json:1: `instructions` must not be empty"), "{err}");
    }

    #[test]
    fn a_trait_file_is_read_from_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.json");
        std::fs::write(&path, SHIPPED[0].1.replace("\"evil\"", "\"mine\"")).unwrap();
        let t = LoadedTrait::load(path.to_str().unwrap()).unwrap();
        assert_eq!(t.file.name, "mine");
        assert_eq!(t.origin, path.display().to_string());
    }
}
