//! `agar check`: validate scenario and dimension files.

use agar_scenario::{Severity, check_paths};

use crate::cli::CheckArgs;
use crate::exit::Failure;

pub(crate) fn run(args: &CheckArgs) -> crate::Outcome {
    for p in &args.paths {
        if !p.exists() {
            return Err(Failure::Input(format!("{}: no such file or directory", p.display())));
        }
    }
    let paths = crate::scenarios::select(&args.paths, &args.filter, true)?;
    let diagnostics = check_paths(&paths);
    let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.len() - errors;
    for d in &diagnostics {
        println!("{d}");
    }
    let files = agar_scenario::collect_files(&paths).map(|f| f.len()).unwrap_or(0);
    eprintln!("checked {files} files: {errors} errors, {warnings} warnings");
    if errors > 0 { Err(Failure::InputReported) } else { Ok(()) }
}
