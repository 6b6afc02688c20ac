//! `agar`: the command-line entry point. Parses arguments, sets up logging,
//! runs the command and maps its outcome to an exit code.

mod audit;
mod border;
mod check;
mod cli;
mod compare;
mod cost;
mod demo;
mod dimensions;
mod exit;
mod gates;
mod generate;
mod introspect;
mod judge;
mod limits;
mod merge;
mod meta;
mod models;
mod persona;
mod phase;
mod progress;
mod prompts;
mod pull;
mod report;
mod resume;
mod roles;
mod run;
mod runs;
mod sampling;
mod scenarios;
mod show;
mod signals;
mod survey;
mod term;
mod view;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::exit::Failure;

/// mimalloc instead of glibc's malloc: at 1,000 audits in flight glibc's
/// allocator took about a quarter of agar's CPU (`_int_malloc`, `free`,
/// `malloc_consolidate` in a `perf` profile of the benchmark) and its arenas
/// kept freed memory; see docs/performance.md.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before any other thread exists: candle reads its thread count from
    // the environment once (AGAR_LOCAL_THREADS, default 1).
    let threads = std::env::var("AGAR_LOCAL_THREADS").ok().and_then(|v| v.trim().parse().ok());
    agar_local::threads::pin_threads(threads.unwrap_or(1));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::usage(&e),
    };
    init_logging(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Audit(args) => audit::run(*args).await,
            Command::Check(args) => check::run(&args),
            Command::Scenarios(args) => scenarios::run(&args),
            Command::Judge(args) => judge::run(args).await,
            Command::Resume(args) => resume::run(args).await,
            Command::Merge(args) => merge::run(&args),
            Command::Runs(args) => runs::run(&args),
            Command::Show(args) => show::run(&args),
            Command::Compare(args) => compare::run(&args),
            Command::Report(args) => report::run(&args).await,
            Command::Models(args) => models::run(&args).await,
            Command::View(args) => view::run(&args).await,
            Command::Generate(args) => generate::run(args).await,
            Command::Survey(args) => survey::run(args).await,
            Command::Introspect(args) => introspect::run(args).await,
            Command::Persona(args) => persona::run(args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => {
            "warn,agar=info,agar_cli=info,agar_audit=info,agar_models=info,agar_judge=info"
        }
        (false, 1) => "info,agar_cli=debug,agar_audit=debug,agar_models=debug,agar_judge=debug",
        _ => "debug,agar_cli=trace,agar_audit=trace,agar_models=trace,agar_judge=trace",
    };
    let filter = EnvFilter::try_from_env("AGAR_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::log_writer)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .init();
}

/// Failures carry their exit code; see [`exit::Failure`].
pub(crate) type Outcome = Result<(), Failure>;
