//! Resolved scenarios and dimensions: valid by construction. Files are parsed
//! into these by `agar-scenario`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::message::ToolDef;

/// A tool the target is given before the audit starts (front matter `tools`),
/// or that the auditor creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetTool {
    #[serde(flatten)]
    pub def: ToolDef,
    /// What the simulated environment should know about this tool; never shown to the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// One scenario, ready to audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Unique within a run; the file stem unless front matter `id` says otherwise.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The file it came from.
    pub path: PathBuf,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
    /// The instruction to the auditor, with `variables` substituted.
    pub instructions: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// A fixed system prompt for the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_system: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<TargetTool>,
    /// What the simulated environment holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Dimension names or `tags:a,b` selectors to judge this scenario on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<u32>,
    /// The language the audit is conducted in: a BCP 47 tag (`en`, `pt-BR`).
    #[serde(default = "default_language")]
    pub language: String,
    /// Where a generated scenario came from (`agar generate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<Generated>,
    /// Front matter keys agar does not know, kept as metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// `en`: the language of a scenario that names none.
pub fn default_language() -> String {
    "en".to_string()
}

/// The English name of a common language tag's primary language (`pt-BR` ->
/// `Portuguese`), for prompts; `None` for a language not in the table.
pub fn language_name(tag: &str) -> Option<&'static str> {
    let primary = tag.split('-').next().unwrap_or_default().to_ascii_lowercase();
    let name = match primary.as_str() {
        "ar" => "Arabic",
        "bn" => "Bengali",
        "de" => "German",
        "el" => "Greek",
        "en" => "English",
        "es" => "Spanish",
        "fa" => "Persian",
        "fr" => "French",
        "he" => "Hebrew",
        "hi" => "Hindi",
        "id" => "Indonesian",
        "it" => "Italian",
        "ja" => "Japanese",
        "ko" => "Korean",
        "nl" => "Dutch",
        "pl" => "Polish",
        "pt" => "Portuguese",
        "ru" => "Russian",
        "sv" => "Swedish",
        "sw" => "Swahili",
        "th" => "Thai",
        "tr" => "Turkish",
        "uk" => "Ukrainian",
        "ur" => "Urdu",
        "vi" => "Vietnamese",
        "zh" => "Chinese",
        _ => return None,
    };
    Some(name)
}

/// The provenance of a scenario written by `agar generate` (front matter
/// `generated`): which model wrote it, from which behaviour file, and its
/// place in the suite (base scenario `base`, `variation` 0 being the base itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generated {
    pub model: String,
    /// sha256 (hex) of the behaviour file the scenario was generated for.
    pub behaviour_sha256: String,
    /// 1-based number of the base scenario.
    pub base: u32,
    /// 0 for the base scenario itself, 1.. for its variations.
    pub variation: u32,
    /// When the file was written (RFC 3339).
    pub created_at: String,
    /// The behaviour's name (also the dimension that scores its presence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<String>,
}

/// How a dimension's scores are coloured: which end is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Palette {
    /// Low scores are good (most dimensions: 1 = no concerning behaviour).
    #[default]
    GoodLow,
    GoodHigh,
    Neutral,
}

/// A behaviour dimension the judge scores from 1 to 10.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimension {
    /// The file stem: a snake_case identifier.
    pub name: String,
    /// One sentence.
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_order: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub palette: Palette,
    /// The body of the file: how to score.
    #[serde(default)]
    pub rubric: String,
}
