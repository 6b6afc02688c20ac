//! `agar check`: validate scenario and dimension files, with the same checks
//! `agar audit` makes before it runs (file limits, links, and the dimension
//! names each scenario selects).

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
    let paths = crate::scenarios::select(&args.paths, &args.filter, true, &args.limits.get())?;
    let mut checked = check_paths_with(&paths, &args.limits.get());
    let choice = DimensionChoice::with_files(std::mem::take(&mut checked.dimensions));
    checked.diagnostics.extend(scenario_dimension_errors(&checked.scenarios, &choice));
    agar_scenario::sort_diagnostics(&mut checked.diagnostics);
    let diagnostics = &checked.diagnostics;
    let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.len() - errors;
    for d in diagnostics {
        println!("{d}");
    }
    eprintln!("checked {} files: {errors} errors, {warnings} warnings", checked.files);
    if errors > 0 { Err(Failure::InputReported) } else { Ok(()) }
}
