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
