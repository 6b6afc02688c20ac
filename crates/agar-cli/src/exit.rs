//! How a command fails, and the exit code each failure gets.

use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad usage or input (exit 1). The message is one clear line, or lines
    /// of diagnostics already printed.
    Input(String),
    /// Diagnostics were printed already (exit 1).
    InputReported,
    /// The run itself failed (exit 2).
    Run(String),
    /// A --fail-if condition held (exit 3); the conditions were printed.
    Gate,
}

impl Failure {
    pub(crate) fn report(self) -> ExitCode {
        match self {
            Failure::Input(msg) => {
                eprintln!("error: {}", crate::term::clean(&msg));
                ExitCode::from(1)
            }
            Failure::InputReported => ExitCode::from(1),
            Failure::Run(msg) => {
                eprintln!("error: {}", crate::term::clean(&msg));
                ExitCode::from(2)
            }
            Failure::Gate => ExitCode::from(3),
        }
    }
}

/// The pipeline's errors at the border: input problems exit 1 (diagnostics
/// printed one per line, as `agar check` prints them), failures of the run 2.
impl From<agar_run::RunError> for Failure {
    fn from(e: agar_run::RunError) -> Failure {
        match e {
            agar_run::RunError::Input(message) => Failure::Input(message),
            agar_run::RunError::Diagnostics(lines) => {
                for line in &lines {
                    eprintln!("{line}");
                }
                Failure::InputReported
            }
            agar_run::RunError::Failed(message) => Failure::Run(message),
        }
    }
}

/// A command line clap refused: its message, and exit 1 as for any usage
/// error (clap's own code is 2, which agar keeps for failed runs). `--help`
/// and `--version` print on stdout and exit 0.
pub(crate) fn usage(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
