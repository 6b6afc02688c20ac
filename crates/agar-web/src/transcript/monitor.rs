//! Persona-monitor projections on the transcript page: the files `agar
//! persona monitor` stores as `STORE/RUN/persona/monitor-NAME-LLAYER.json`,
//! read as untrusted input (regular files only, size-capped), named in a
//! legend at the top of the page, and shown as a badge under each target
//! message they measured. A file that cannot be read becomes a note naming
//! it; the page still renders.

use std::collections::BTreeMap;
use std::path::Path;

use agar_store::Store;
use serde::{Deserialize, Serialize};

use super::MsgView;

/// The directory agar-persona writes under a run (its `store::DIR`).
const DIR: &str = "persona";

/// The largest monitor file read: a projection is ~100 bytes, so this
/// holds over 100,000 messages.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// A read-only mirror of agar-persona's `MonitorReport` (same field names).
/// agar-persona depends on agar-local (the inference engine), which the
/// viewer must not pull in, so the viewer reads the JSON with its own type.
#[derive(Debug, Deserialize)]
struct MonitorFile {
    run_id: String,
    vector: String,
    layer: usize,
    reader: String,
    proxy: bool,
    messages: Vec<Projection>,
}

/// A mirror of agar-persona's `MessageProjection`.
#[derive(Debug, Deserialize)]
struct Projection {
    audit_id: String,
    message: String,
    before: f64,
    mean: Option<f64>,
    tokens: usize,
}

/// One monitor file in the page's legend.
#[derive(Debug, Serialize)]
pub(super) struct LegendView {
    file: String,
    vector: String,
    layer: usize,
    reader: String,
    proxy: bool,
    /// How many projections the file holds for this audit.
    measured: usize,
}

/// One projection under a message.
#[derive(Debug, Serialize)]
pub(super) struct ProjView {
    file: String,
    vector: String,
    layer: usize,
    /// At the last prompt token before the message, 3 decimals.
    before: String,
    /// Mean over the message's tokens, 3 decimals (`n/a` when empty).
    mean: String,
    tokens: usize,
    proxy: bool,
    reader: String,
}

/// Every monitor file of a run, as this audit's page shows them.
#[derive(Debug, Default, Serialize)]
pub(super) struct Monitors {
    pub(super) legend: Vec<LegendView>,
    /// One line per file that could not be used, naming it.
    pub(super) notes: Vec<String>,
    #[serde(skip)]
    by_message: BTreeMap<String, Vec<ProjView>>,
}

impl Monitors {
    /// Reads every `monitor-*.json` of `run_id`, keeping `audit_id`'s
    /// projections. Never fails: a missing directory is no monitors, a bad
    /// file is a note.
    pub(super) fn load(store: &Store, run_id: &str, audit_id: &str) -> Self {
        let mut out = Self::default();
        let dir = store.run_dir(run_id).join(DIR);
        // A real directory only: a link here could point anywhere.
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return out;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { return out };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("monitor-") && n.ends_with(".json"))
            .collect();
        names.sort();
        for name in names {
            match read(&dir.join(&name)) {
                Ok(f) if f.run_id != run_id => out.notes.push(format!(
                    "{name}: written for run {:?}, not this run; not shown",
                    f.run_id
                )),
                Ok(f) => out.add(name, f, audit_id),
                Err(e) => out.notes.push(format!("{name}: could not be read ({e}); not shown")),
            }
        }
        out
    }

    fn add(&mut self, file: String, f: MonitorFile, audit_id: &str) {
        let mine: Vec<&Projection> = f.messages.iter().filter(|p| p.audit_id == audit_id).collect();
        for p in &mine {
            self.by_message.entry(p.message.clone()).or_default().push(ProjView {
                file: file.clone(),
                vector: f.vector.clone(),
                layer: f.layer,
                before: format!("{:.3}", p.before),
                mean: p.mean.map_or_else(|| "n/a".to_string(), |m| format!("{m:.3}")),
                tokens: p.tokens,
                proxy: f.proxy,
                reader: f.reader.clone(),
            });
        }
        self.legend.push(LegendView {
            measured: mine.len(),
            file,
            vector: f.vector,
            layer: f.layer,
            reader: f.reader,
            proxy: f.proxy,
        });
    }

    /// Hands each target (assistant) message its projections.
    pub(super) fn attach(&mut self, messages: &mut [MsgView]) {
        for m in messages.iter_mut().filter(|m| m.role == "assistant") {
            m.monitors = self.by_message.remove(&m.id).unwrap_or_default();
        }
    }
}

/// One monitor file, parsed; the error says why not.
fn read(path: &Path) -> Result<MonitorFile, String> {
    let bytes = agar_store::read::read_regular(path, MAX_BYTES).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}
