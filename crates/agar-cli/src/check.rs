//! `agar check`: validate scenario and dimension files, with the same checks
//! `agar audit` makes before it runs (file limits, links, and the dimension
//! names each scenario selects), and prompt override directories (see
//! `crate::prompts`).

use agar_scenario::{Severity, check_paths_with};

use crate::cli::CheckArgs;
use crate::dimensions::{DimensionChoice, scenario_dimension_errors};
use crate::exit::Failure;

pub(crate) fn run(args: &CheckArgs) -> crate::Outcome {
    for p in &args.paths {
        if !p.exists() {
            return Err(Failure::Input(format!("{}: no such file or directory", p.display())));
        }
    }
    let (prompt_dirs, paths): (Vec<_>, Vec<_>) =
        args.paths.iter().cloned().partition(|p| crate::prompts::is_prompts_dir(p));
    let mut errors = 0;
    let mut files = 0;
    for dir in &prompt_dirs {
        let (found, problems) = crate::prompts::read_dir(dir);
        files += found.len();
        errors += problems.len();
        for p in &problems {
            println!("{p}");
        }
    }
    let mut warnings = 0;
    if !paths.is_empty() {
        let paths = crate::scenarios::select(&paths, &args.filter, true, &args.limits.get())?;
        let mut checked = check_paths_with(&paths, &args.limits.get());
        let choice = DimensionChoice::with_files(std::mem::take(&mut checked.dimensions));
        checked.diagnostics.extend(scenario_dimension_errors(&checked.scenarios, &choice));
        agar_scenario::sort_diagnostics(&mut checked.diagnostics);
        let diagnostics = &checked.diagnostics;
        let found = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        errors += found;
        warnings += diagnostics.len() - found;
        for d in diagnostics {
            println!("{d}");
        }
        files += checked.files;
    }
    eprintln!("checked {files} files: {errors} errors, {warnings} warnings");
    if errors > 0 { Err(Failure::InputReported) } else { Ok(()) }
}
