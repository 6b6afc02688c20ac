//! Prompt overrides: `--prompts DIR` or `[prompts] dir` in `agar.toml`
//! replace any of agar's templates with the file of the same name in DIR
//! (`auditor_system.md`, `judge_system.md`...). Each file is checked before
//! anything runs (syntax, and only the variables agar passes to that
//! template), so a bad override is an input error with `path:line`.

use std::path::Path;

use agar_prompts::Prompts;

use crate::exit::Failure;

pub(crate) use agar_run::prompts::{is_prompts_dir, read_dir};

/// The prompts to run with: the embedded templates, with those in `dir`
/// (`--prompts`, else `[prompts] dir`) in their place
/// ([`agar_run::prompts::load`]).
pub(crate) fn load(dir: Option<&Path>) -> Result<Prompts, Failure> {
    Ok(agar_run::prompts::load(dir)?)
}
