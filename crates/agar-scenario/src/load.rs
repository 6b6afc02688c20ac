//! Many files at once: loading scenario or dimension sets (with checks that
//! span files, such as duplicate ids) and `agar check`'s mixed validation.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use agar_core::{Dimension, Scenario};

use crate::diagnostic::{self, Diagnostic, Sink};
use crate::document::{self, Document};
use crate::files::{self, Limits};
use crate::{dimension, scenario};

/// Which format a file is checked against by [`check_paths`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Scenario,
    Dimension,
    /// A behaviour description for `agar generate`.
    Behaviour,
}

/// Decides whether `text`, read from `path`, is a dimension or a scenario
/// file, by the rule in the crate documentation.
pub fn file_kind(path: &Path, text: &str) -> FileKind {
    let mut scratch = Sink::new(path);
    document::split(text, &mut scratch).map_or(FileKind::Scenario, |doc| kind_of(path, &doc))
}

fn kind_of(path: &Path, doc: &Document) -> FileKind {
    if crate::behaviour::is_behaviour(doc) {
        return FileKind::Behaviour;
    }
    if doc.entry("description").is_none() {
        return FileKind::Scenario;
    }
    let under_dimensions = path
        .parent()
        .is_some_and(|dir| dir.components().any(|c| c == Component::Normal("dimensions".as_ref())));
    let has_scenario_key =
        scenario::SCENARIO_KEYS.iter().any(|key| *key != "tags" && doc.entry(key).is_some());
    if under_dimensions || !has_scenario_key { FileKind::Dimension } else { FileKind::Scenario }
}

/// Loads every scenario file under `paths` (see [`crate::collect_files`]);
/// behaviour files among them are left out.
/// On any error, returns all diagnostics (warnings included) sorted by path
/// and line; ids must be unique across the files.
pub fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<Diagnostic>> {
    load_scenarios_with(paths, &Limits::default()).map(|(scenarios, _)| scenarios)
}

/// [`load_scenarios`] within `limits`; with the scenarios come the
/// warnings (a link not followed, unknown keys), to print.
pub fn load_scenarios_with(
    paths: &[PathBuf],
    limits: &Limits,
) -> Result<(Vec<Scenario>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (found, mut diagnostics) = files::collect(paths);
    let mut ids = Unique::new("scenario id");
    let mut scenarios = Vec::new();
    for path in found {
        with_document(&path, limits, &mut diagnostics, |doc, text, sink| {
            // A behaviour file beside the scenarios generated from it is not one of them.
            if kind_of(&path, doc) == FileKind::Behaviour {
                return;
            }
            if let Some(s) = check_scenario(doc, text, sink, &mut ids) {
                scenarios.push(s);
            }
        });
    }
    diagnostic::sort(&mut diagnostics);
    finish(scenarios, diagnostics.clone()).map(|s| (s, diagnostics))
}

/// Loads every dimension file under `paths` (see [`crate::collect_files`]).
/// On any error, returns all diagnostics (warnings included) sorted by path
/// and line; names must be unique across the files.
pub fn load_dimensions(paths: &[PathBuf]) -> Result<Vec<Dimension>, Vec<Diagnostic>> {
    let (found, mut diagnostics) = files::collect(paths);
    let mut names = Unique::new("dimension name");
    let mut dimensions = Vec::new();
    for path in found {
        with_document(&path, &Limits::default(), &mut diagnostics, |doc, _, sink| {
            if let Some(d) = check_dimension(doc, sink, &mut names) {
                dimensions.push(d);
            }
        });
    }
    finish(dimensions, diagnostics)
}

/// Validates every file under `paths`, each as a scenario or a dimension
/// (see the crate documentation for the rule), and returns every
/// diagnostic, sorted by path then line. Ids and names must be unique
/// across the files of their kind.
pub fn check_paths(paths: &[PathBuf]) -> Vec<Diagnostic> {
    check_paths_with(paths, &Limits::default()).diagnostics
}

/// What [`check_paths_with`] found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Every diagnostic, sorted by path then line.
    pub diagnostics: Vec<Diagnostic>,
    /// The files found and read (whatever their diagnostics).
    pub files: usize,
    /// The scenario files that parsed, for checks that need more than one
    /// file (their `dimensions` against the dimension files given).
    pub scenarios: Vec<Scenario>,
    /// The dimension files that parsed.
    pub dimensions: Vec<Dimension>,
}

/// [`check_paths`] within `limits`, with the count of files and what parsed.
pub fn check_paths_with(paths: &[PathBuf], limits: &Limits) -> Checked {
    let (found, mut diagnostics) = files::collect(paths);
    let mut ids = Unique::new("scenario id");
    let mut names = Unique::new("dimension name");
    let mut checked = Checked { files: found.len(), ..Checked::default() };
    for path in found {
        with_document(&path, limits, &mut diagnostics, |doc, text, sink| {
            match kind_of(&path, doc) {
                FileKind::Scenario => {
                    checked.scenarios.extend(check_scenario(doc, text, sink, &mut ids));
                }
                FileKind::Dimension => {
                    checked.dimensions.extend(check_dimension(doc, sink, &mut names));
                }
                FileKind::Behaviour => {
                    crate::behaviour::from_document(doc, text, sink);
                }
            }
        });
    }
    diagnostic::sort(&mut diagnostics);
    checked.diagnostics = diagnostics;
    checked
}

/// Reads and splits `path`, hands the document to `f`, and moves the file's
/// diagnostics into `out`.
fn with_document(
    path: &Path,
    limits: &Limits,
    out: &mut Vec<Diagnostic>,
    f: impl FnOnce(&Document, &str, &mut Sink),
) {
    let text = match files::read_text(path, limits) {
        Ok(text) => text,
        Err(d) => {
            out.push(d);
            return;
        }
    };
    let mut sink = Sink::new(path);
    if let Some(doc) = document::split(&text, &mut sink) {
        f(&doc, &text, &mut sink);
    }
    out.extend(sink.finish());
}

fn check_scenario(
    doc: &Document,
    text: &str,
    sink: &mut Sink,
    ids: &mut Unique,
) -> Option<Scenario> {
    let (scenario, id_line) = scenario::from_document(doc, text, sink);
    let scenario = scenario?;
    ids.claim(&scenario.id, id_line, sink).then_some(scenario)
}

fn check_dimension(doc: &Document, sink: &mut Sink, names: &mut Unique) -> Option<Dimension> {
    let dimension = dimension::from_document(doc, sink)?;
    names.claim(&dimension.name, 1, sink).then_some(dimension)
}

fn finish<T>(items: Vec<T>, mut diagnostics: Vec<Diagnostic>) -> Result<Vec<T>, Vec<Diagnostic>> {
    if diagnostics.iter().any(Diagnostic::is_error) {
        diagnostic::sort(&mut diagnostics);
        Err(diagnostics)
    } else {
        Ok(items)
    }
}

/// Names that must be unique across files, with the file that took each first.
struct Unique {
    what: &'static str,
    owners: BTreeMap<String, PathBuf>,
}

impl Unique {
    fn new(what: &'static str) -> Self {
        Self { what, owners: BTreeMap::new() }
    }

    /// Takes `name` for the file of `sink`; false (and an error at `line`)
    /// when another file has it.
    fn claim(&mut self, name: &str, line: usize, sink: &mut Sink) -> bool {
        if let Some(first) = self.owners.get(name) {
            sink.error(
                line,
                format!("duplicate {} `{name}`: {} has it too", self.what, first.display()),
            );
            return false;
        }
        self.owners.insert(name.to_string(), sink.path().to_path_buf());
        true
    }
}
