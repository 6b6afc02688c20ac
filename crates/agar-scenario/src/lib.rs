//! Scenario and dimension files -> validated [`agar_core::Scenario`] and
//! [`agar_core::Dimension`], with every problem reported as a [`Diagnostic`]
//! (`path:line: error: message`).
//!
//! Both formats are Markdown with optional YAML front matter between `---`
//! lines at the top, UTF-8 (a BOM and CRLF line ends are tolerated); see
//! `PRODUCT.md` for the keys. A file goes through three stages, and each
//! reports all the problems it finds rather than the first:
//!
//! 1. `document`: text -> front matter (a YAML tree whose nodes carry file
//!    lines, read by `yaml`, the crate's only YAML user) and body.
//! 2. raw form: every key checked for its type and kept with its line
//!    (`RawScenario`, `RawDimension`); unknown keys are warnings.
//! 3. resolved form: ids, tool names and schemas, dimension selectors and
//!    body variables (minijinja, undefined names are errors) are checked,
//!    giving an agar-core value that is valid by construction.
//!
//! Entry points: [`parse_scenario`] and [`parse_dimension`] for one text;
//! [`collect_files`] to expand directories; [`load_scenarios`],
//! [`load_dimensions`] and [`check_paths`] for many files, which also check
//! that ids and names are unique across files.
//!
//! # Which files are dimensions
//!
//! [`check_paths`] (behind `agar check`) sees both kinds mixed. A file is a
//! **dimension** file when its front matter has a `description` key and
//! either it lies under a directory named `dimensions` (at any depth), or
//! its front matter has none of the scenario keys (`id`, `title`,
//! `max_turns`, `target_system`, `tools`, `environment`, `dimensions`,
//! `repeats`, `variables`, `language`; `tags` belongs to both). Every other file is a
//! **scenario** file, so a Petri seed with no front matter is a scenario.
//! A file whose front matter has `name`, no `description` and no scenario key
//! but `tags`, `dimensions` and `language` is a **behaviour** file (the input
//! of `agar generate`, see [`parse_behaviour`]).
//!
//! # Templates
//!
//! When the front matter has a `variables` key, the body is a minijinja
//! template rendered with those values and strict undefined values (every
//! undefined name is an error at its line); write `{% raw %}...{% endraw %}`
//! around text that must keep literal `{{`. Without `variables`, the body is
//! used exactly as written (a Petri seed stays valid), with a warning if it
//! looks like a template.
//!
//! IO is limited to reading the given files and walking the given
//! directories (`files`); nothing here is async.

mod behaviour;
mod diagnostic;
mod dimension;
mod document;
mod fields;
mod files;
mod language;
mod load;
mod scenario;
mod yaml;

pub use behaviour::{Behaviour, parse_behaviour, read_behaviour};
pub use diagnostic::{Diagnostic, Severity, sort as sort_diagnostics};
pub use dimension::{RESERVED_DIMENSION_NAMES, parse_dimension};
pub use files::{DEFAULT_MAX_FILE_BYTES, Limits, collect_files, read_text};
pub use language::{DEFAULT_LANGUAGE, normalise_language};
pub use load::{
    Checked, FileKind, check_paths, check_paths_with, file_kind, load_dimensions, load_scenarios,
    load_scenarios_with,
};
pub use scenario::parse_scenario;
