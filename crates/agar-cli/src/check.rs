//! `agar check`: validate scenario and dimension files, and prompt override
//! directories (see `crate::prompts`).

use agar_scenario::{Severity, check_paths};

use crate::cli::CheckArgs;
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
    let diagnostics = if paths.is_empty() { Vec::new() } else { check_paths(&paths) };
    errors += diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.iter().filter(|d| d.severity != Severity::Error).count();
    for d in &diagnostics {
        println!("{d}");
    }
    if !paths.is_empty() {
        files += agar_scenario::collect_files(&paths).map(|f| f.len()).unwrap_or(0);
    }
    eprintln!("checked {files} files: {errors} errors, {warnings} warnings");
    if errors > 0 { Err(Failure::InputReported) } else { Ok(()) }
}
