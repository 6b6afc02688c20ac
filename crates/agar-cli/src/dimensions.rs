//! Choosing the dimensions to judge, from `--dimensions` (repeatable) and a
//! scenario's `dimensions` key.
//!
//! Each `--dimensions` value is one of:
//! - a path (a dimension file or a directory of them): all its dimensions;
//!   a behaviour file (`agar generate`'s input) gives the dimension scoring
//!   that behaviour (see `agar_generate::behaviour_dimension`);
//! - `tags:a,b`: every dimension with any of these tags;
//! - names `a,b`.
//!
//! Names and tags are looked up in the **pool**: the files given as paths,
//! then the built-in library. A file given replaces the built-in dimension
//! of the same name; two files given with the same name are an error, as is a
//! reserved name. With no `--dimensions`, the run judges the whole library.
//! A scenario's `dimensions` key (names or `tags:a,b`) picks from the same pool.
//!
//! Precedence: `--dimensions` on the command line wins over a scenario's
//! `dimensions` key; the key applies only when the flag is absent. Whatever
//! is chosen, the core validity set ([`agar_judge::CORE_DIMENSIONS`]) is
//! judged too.

use std::path::Path;

use agar_core::Dimension;
use agar_judge::{check_dimension_set, library, reserved_reason, with_core};

use crate::exit::Failure;

/// The resolved `--dimensions`: what a run judges by default, and the pool
/// that names and tags are looked up in.
#[derive(Debug, Clone)]
pub(crate) struct DimensionChoice {
    /// The dimensions judged when a scenario does not choose.
    pub(crate) run: Vec<Dimension>,
    pool: Vec<Dimension>,
    /// `--dimensions` was given: it wins over a scenario's own choice.
    explicit: bool,
    /// Whether a scenario's own choice gets the core validity set added
    /// (always, except in a demonstration run, whose small judge answers
    /// for fewer dimensions and whose scores are not evidence anyway).
    pub(crate) core: bool,
}

impl DimensionChoice {
    /// The dimensions for a scenario: the run's when `--dimensions` was
    /// given or the scenario names none, else the scenario's own; the core
    /// set in every case.
    pub(crate) fn for_scenario(&self, selectors: &[String]) -> Result<Vec<Dimension>, String> {
        if self.explicit || selectors.is_empty() {
            return Ok(self.run.clone());
        }
        let chosen = self.pick(selectors)?;
        Ok(if self.core { self.with_core(chosen) } else { chosen })
    }

    /// `chosen` with the core set added.
    pub(crate) fn with_core(&self, chosen: Vec<Dimension>) -> Vec<Dimension> {
        with_core(chosen, &self.pool)
    }

    /// The dimensions `selectors` name, from the pool, without the core set.
    pub(crate) fn pick(&self, selectors: &[String]) -> Result<Vec<Dimension>, String> {
        let mut chosen = Vec::new();
        for sel in selectors {
            chosen.extend(select(sel, &self.pool)?);
        }
        Ok(dedup(chosen))
    }
}

impl DimensionChoice {
    /// Adds dimension files found among the scenario paths (a suite's own
    /// `dimensions/` folder, as `agar generate` writes) to the names
    /// scenarios may choose; a name already known keeps its definition.
    pub(crate) fn add_to_pool(&mut self, files: Vec<Dimension>) {
        for d in files {
            if !self.pool.iter().any(|p| p.name == d.name) {
                self.pool.push(d);
            }
        }
    }

    /// The whole library, with `files` (dimension files already loaded)
    /// added to the pool and replacing built-ins of the same name: what
    /// `agar check` validates scenarios against.
    pub(crate) fn with_files(files: Vec<Dimension>) -> DimensionChoice {
        let mut pool = files.clone();
        pool.extend(library().iter().filter(|l| !files.iter().any(|d| d.name == l.name)).cloned());
        DimensionChoice { run: library().to_vec(), pool, explicit: false, core: true }
    }
}

/// Resolves the `--dimensions` values.
pub(crate) fn from_flags(specs: &[String]) -> Result<DimensionChoice, Failure> {
    let specs: Vec<&str> = specs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    let (paths, selectors): (Vec<&str>, Vec<&str>) =
        specs.iter().partition(|s| !s.starts_with("tags:") && looks_like_path(s));
    // Behaviour files (`agar generate`'s input) stand for the dimension scoring the behaviour.
    let (behaviours, paths): (Vec<&str>, Vec<&str>) =
        paths.iter().partition(|p| crate::generate::is_behaviour_file(Path::new(p)));
    let from_behaviours = behaviours
        .iter()
        .map(|p| crate::generate::behaviour_dimension(Path::new(p)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut loaded = Vec::new();
    if !paths.is_empty() {
        let paths: Vec<_> = paths.iter().map(|p| Path::new(p).to_path_buf()).collect();
        for p in &paths {
            if !p.exists() {
                return Err(Failure::Input(format!(
                    "--dimensions {}: no such file or directory",
                    p.display()
                )));
            }
        }
        // Duplicate names across the files given are diagnostics here.
        loaded = agar_scenario::load_dimensions(&paths).map_err(|diags| {
            for d in &diags {
                eprintln!("{d}");
            }
            Failure::InputReported
        })?;
        if loaded.is_empty() {
            return Err(Failure::Input(format!(
                "--dimensions {}: no dimension files found",
                paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        for d in &loaded {
            if let Some(reason) = reserved_reason(&d.name) {
                return Err(Failure::Input(format!(
                    "dimension name `{}` is reserved: {reason}; rename the file",
                    d.name
                )));
            }
            if library().iter().any(|l| l.name == d.name) {
                tracing::info!(dimension = %d.name, "a dimension file replaces the built-in one");
            }
        }
    }
    loaded.extend(from_behaviours);
    let pool = DimensionChoice::with_files(loaded.clone()).pool;
    let run = if specs.is_empty() {
        library().to_vec()
    } else {
        let mut run = loaded;
        for sel in &selectors {
            run.extend(select(sel, &pool).map_err(Failure::Input)?);
        }
        with_core(dedup(run), &pool)
    };
    check_dimension_set(&run)?;
    Ok(DimensionChoice { run, pool, explicit: !specs.is_empty(), core: true })
}

/// A value names files when it exists on disk or is written like a path.
fn looks_like_path(s: &str) -> bool {
    Path::new(s).exists() || s.contains('/') || s.contains('\\') || s.ends_with(".md")
}

/// Picks dimensions from `pool` by one selector: `tags:a,b` or names `a,b`.
fn select(selector: &str, pool: &[Dimension]) -> Result<Vec<Dimension>, String> {
    if let Some(tags) = selector.trim().strip_prefix("tags:") {
        let tags: Vec<&str> = tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
        if tags.is_empty() {
            return Err("`tags:` needs at least one tag, e.g. tags:honesty,agentic".into());
        }
        let found: Vec<Dimension> = pool
            .iter()
            .filter(|d| d.tags.iter().any(|t| tags.contains(&t.as_str())))
            .cloned()
            .collect();
        if found.is_empty() {
            let mut known: Vec<&str> =
                pool.iter().flat_map(|d| d.tags.iter().map(String::as_str)).collect();
            known.sort_unstable();
            known.dedup();
            return Err(format!(
                "no dimension has the tag {}; known tags: {}",
                tags.join(" or "),
                known.join(", ")
            ));
        }
        return Ok(found);
    }
    let mut chosen = Vec::new();
    for name in selector.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let d = pool.iter().find(|d| d.name == name).ok_or_else(|| {
            let known: Vec<&str> = pool.iter().map(|d| d.name.as_str()).collect();
            let hint = agar_report::nearest(name, known.iter().copied())
                .map_or(String::new(), |n| format!("did you mean `{n}`? "));
            format!("unknown dimension `{name}`; {hint}known: {}", known.join(", "))
        })?;
        chosen.push(d.clone());
    }
    Ok(chosen)
}

/// The check `agar audit` and `agar check` share: every name and tag each
/// scenario's `dimensions` key selects exists in the pool (the dimension
/// files given, then the library). One `path:1` error per scenario.
pub(crate) fn scenario_dimension_errors(
    scenarios: &[agar_core::Scenario],
    choice: &DimensionChoice,
) -> Vec<agar_scenario::Diagnostic> {
    scenarios
        .iter()
        .filter_map(|s| {
            let e = choice.for_scenario(&s.dimensions).err()?;
            Some(agar_scenario::Diagnostic::error(&s.path, 1, format!("`dimensions`: {e}")))
        })
        .collect()
}

/// Keeps the first dimension of each name.
fn dedup(dimensions: Vec<Dimension>) -> Vec<Dimension> {
    let mut seen = std::collections::BTreeSet::new();
    dimensions.into_iter().filter(|d| seen.insert(d.name.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(d: &[Dimension]) -> Vec<&str> {
        d.iter().map(|d| d.name.as_str()).collect()
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn input_error(r: Result<DimensionChoice, Failure>) -> String {
        match r {
            Err(Failure::Input(msg)) => msg,
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn a_misspelt_name_gets_the_nearest_known_one() {
        let e = input_error(from_flags(&["sycophncy".into()]));
        assert!(
            e.starts_with("unknown dimension `sycophncy`; did you mean `sycophancy`? known:"),
            "{e}"
        );
        let e = input_error(from_flags(&["zzzzzzzz".into()]));
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn no_flag_is_the_whole_library() {
        let c = from_flags(&[]).unwrap();
        assert_eq!(c.run.len(), 45);
        assert_eq!(c.for_scenario(&[]).unwrap().len(), 45);
    }

    const CORE: [&str; 5] = [
        "concerning",
        "needs_attention",
        "evaluation_awareness",
        "scenario_realism",
        "auditor_failure",
    ];

    /// `first`, then the core dimensions it lacks.
    fn plus_core<'a>(first: &[&'a str]) -> Vec<&'a str> {
        let mut out = first.to_vec();
        out.extend(CORE.iter().filter(|c| !first.contains(c)));
        out
    }

    #[test]
    fn tags_and_names_select_from_the_library_plus_the_core_set() {
        let c = from_flags(&["tags:core".into()]).unwrap();
        assert_eq!(names(&c.run), plus_core(&["concerning", "disappointing", "needs_attention"]));
        let c = from_flags(&["sycophancy, deception".into(), "tags:positive".into()]).unwrap();
        assert_eq!(names(&c.run), plus_core(&["sycophancy", "deception", "admirable"]));
    }

    #[test]
    fn a_scenario_choice_adds_the_core_set_and_the_flag_wins_over_it() {
        // No flag: the scenario's own dimensions, plus the core set.
        let c = from_flags(&[]).unwrap();
        let s = c.for_scenario(&["sycophancy".into()]).unwrap();
        assert_eq!(names(&s), plus_core(&["sycophancy"]));
        // A flag: it wins over the scenario's key.
        let c = from_flags(&["deception".into()]).unwrap();
        let s = c.for_scenario(&["sycophancy".into()]).unwrap();
        assert_eq!(names(&s), plus_core(&["deception"]));
        // A scenario naming a core dimension gets it once.
        let c = from_flags(&[]).unwrap();
        let s = c.for_scenario(&["evaluation_awareness, blackmail".into()]).unwrap();
        assert_eq!(names(&s), plus_core(&["evaluation_awareness", "blackmail"]));
    }

    #[test]
    fn unknown_names_and_tags_are_one_clear_line() {
        let e = input_error(from_flags(&["sycophancy,flattery".into()]));
        assert!(e.starts_with("unknown dimension `flattery`; known: concerning,"), "{e}");
        let e = input_error(from_flags(&["tags:nope".into()]));
        assert!(e.contains("no dimension has the tag nope; known tags:"), "{e}");
        assert!(!e.contains('\n'));
        let e = input_error(from_flags(&["missing/dir".into()]));
        assert_eq!(e, "--dimensions missing/dir: no such file or directory");
    }

    #[test]
    fn a_directory_adds_to_the_pool_and_replaces_a_built_in_of_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "flattery.md",
            "---\ndescription: Flatters.\ntags: [mine]\n---\nrubric\n",
        );
        write(dir.path(), "sycophancy.md", "---\ndescription: My own sycophancy.\n---\nmine\n");
        let spec = dir.path().display().to_string();
        let c = from_flags(&[spec.clone(), "tags:core".into()]).unwrap();
        assert_eq!(
            names(&c.run),
            plus_core(&[
                "flattery",
                "sycophancy",
                "concerning",
                "disappointing",
                "needs_attention"
            ])
        );
        assert_eq!(c.run[1].description, "My own sycophancy.");
        let s = c.pick(&["sycophancy".into(), "tags:mine".into()]).unwrap();
        assert_eq!(s[0].description, "My own sycophancy.");
        assert_eq!(names(&s), ["sycophancy", "flattery"]);
    }

    #[test]
    fn reserved_names_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "summary.md", "---\ndescription: Sums up.\n---\n");
        // The file parser rejects it, with a `path:line` diagnostic printed.
        let r = from_flags(&[dir.path().display().to_string()]);
        assert!(matches!(r, Err(Failure::InputReported)), "{r:?}");
    }

    #[test]
    fn the_same_name_in_two_given_directories_is_an_error() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(a.path(), "flattery.md", "---\ndescription: A.\n---\n");
        write(b.path(), "flattery.md", "---\ndescription: B.\n---\n");
        let r = from_flags(&[a.path().display().to_string(), b.path().display().to_string()]);
        assert!(matches!(r, Err(Failure::InputReported)), "{r:?}");
    }
}
