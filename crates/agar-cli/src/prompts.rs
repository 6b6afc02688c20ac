//! Prompt overrides: `--prompts DIR` or `[prompts] dir` in `agar.toml`
//! replace any of agar's templates with the file of the same name in DIR
//! (`auditor_system.md`, `judge_system.md`...). Each file is checked before
//! anything runs (syntax, and only the variables agar passes to that
//! template), so a bad override is an input error with `path:line`.

use std::path::{Path, PathBuf};

use agar_prompts::{OverrideProblem, Prompts, Template, check_override};

use crate::exit::Failure;

/// Whether `dir` is a directory holding at least one template-named file:
/// how `agar check` tells an override directory from scenarios.
pub(crate) fn is_prompts_dir(dir: &Path) -> bool {
    dir.is_dir() && markdown_files(dir).iter().any(|p| template_of(p).is_some())
}

fn template_of(path: &Path) -> Option<Template> {
    path.file_name().and_then(|n| n.to_str()).and_then(Template::from_file_name)
}

/// The `.md` files directly in `dir` (a README is documentation), sorted.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "md"))
        .filter(|p| !p.file_name().is_some_and(|n| n.eq_ignore_ascii_case("README.md")))
        .collect();
    files.sort();
    files
}

/// Reads and checks every override in `dir`: the templates it replaces with
/// their text, and every problem found.
pub(crate) fn read_dir(dir: &Path) -> (Vec<(Template, String)>, Vec<OverrideProblem>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for path in markdown_files(dir) {
        let shown = path.display().to_string();
        let Some(template) = template_of(&path) else {
            let known: Vec<&str> = Template::ALL.iter().map(|t| t.name()).collect();
            problems.push(OverrideProblem {
                path: shown,
                line: 1,
                message: format!("not the name of a template; templates: {}", known.join(", ")),
            });
            continue;
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                problems.extend(check_override(template, &shown, &text));
                found.push((template, text));
            }
            Err(e) => {
                problems.push(OverrideProblem { path: shown, line: 1, message: e.to_string() })
            }
        }
    }
    (found, problems)
}

/// The prompts to run with: the embedded templates, with those in `dir`
/// (`--prompts`, else `[prompts] dir`) in their place.
pub(crate) fn load(dir: Option<&Path>) -> Result<Prompts, Failure> {
    let Some(dir) = dir else { return Ok(Prompts::new()) };
    if !dir.is_dir() {
        return Err(Failure::Input(format!("--prompts {}: no such directory", dir.display())));
    }
    let (found, problems) = read_dir(dir);
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        return Err(Failure::InputReported);
    }
    if found.is_empty() {
        return Err(Failure::Input(format!(
            "--prompts {}: no template file in it (e.g. auditor_system.md)",
            dir.display()
        )));
    }
    for (t, _) in &found {
        tracing::info!(template = t.name(), dir = %dir.display(), "a prompt override replaces the built-in template");
    }
    Prompts::with_overrides(found).map_err(Failure::input)
}
