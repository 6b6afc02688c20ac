//! The record of one run (`RUN_ID/run.json`): its resolved configuration.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::transcript::RoleName;

/// One scenario of a run, as it was when the run started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunScenario {
    pub id: String,
    pub path: String,
    pub sha256: String,
    /// How many audits of it the run makes.
    pub repeats: u32,
}

/// The settings an audit ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub max_turns: u32,
    pub concurrency: u32,
    pub repeats: u32,
    pub judge: bool,
    /// The dimensions judged, by name.
    pub dimensions: Vec<String>,
}

/// `run.json`: written when a run starts, before any audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub run_id: String,
    pub created_at: DateTime<Utc>,
    pub agar_version: String,
    /// Model reference per role.
    pub models: BTreeMap<RoleName, String>,
    pub settings: RunSettings,
    pub scenarios: Vec<RunScenario>,
    /// sha256 of each prompt template, by template file name.
    pub prompt_hashes: BTreeMap<String, String>,
}
