//! Library errors become a [`Failure`] here, at the border, with `?`: each
//! error type says once whether it is the user's input (exit 1) or the run
//! itself (exit 2), and its message keeps every cause in its chain (a cause
//! its own message already quotes is not repeated).

use std::error::Error;

use agar_store::StoreError;

use crate::exit::Failure;

/// `e`'s message followed by each cause it does not already quote.
pub(crate) fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

impl Failure {
    /// An input error (exit 1) from an error whose type is not always one.
    pub(crate) fn input(e: impl Error) -> Failure {
        Failure::Input(chain(&e))
    }

    /// A failed run (exit 2) from an error whose type is not always one.
    pub(crate) fn run(e: impl Error) -> Failure {
        Failure::Run(chain(&e))
    }
}

/// Implements `From<$ty> for Failure` as an input error or a failed run.
macro_rules! border {
    (input: $($ty:ty),+ $(,)?) => {
        $(impl From<$ty> for Failure {
            fn from(e: $ty) -> Failure {
                Failure::input(e)
            }
        })+
    };
    (run: $($ty:ty),+ $(,)?) => {
        $(impl From<$ty> for Failure {
            fn from(e: $ty) -> Failure {
                Failure::run(e)
            }
        })+
    };
}

// What the user wrote or set up: flags, conditions, agar.toml, model
// references, the environment, files named on the command line.
border!(input:
    agar_report::GateError,
    agar_models::ConfigError,
    agar_models::ResolveError,
    agar_survey::prompt::TranslationsError,
    agar_judge::set::DimensionSetError,
);

// agar's own work: writing JSON it built, rendering its built-in templates.
border!(run: serde_json::Error, agar_prompts::PromptError);

impl From<StoreError> for Failure {
    /// Naming a run or id that cannot be used is the user's input; a store
    /// that cannot be read or written is a failed run.
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::NoSuchRun(_)
            | StoreError::BadId(_)
            | StoreError::ReservedId(_)
            | StoreError::RunExists(_)
            | StoreError::RunBusy(_)
            | StoreError::NoPlan(_) => Failure::input(e),
            // Io, Json, Index and whatever a backend adds: the store failed.
            other => Failure::run(other),
        }
    }
}

impl From<agar_local::LocalError> for Failure {
    /// An unknown model name or a bad setting is the user's input; a model
    /// that cannot be downloaded, read or run is a failed run.
    fn from(e: agar_local::LocalError) -> Failure {
        use agar_local::LocalError;
        match e {
            LocalError::InvalidSetting(_) | LocalError::UnknownModel { .. } => Failure::input(e),
            other => Failure::run(other),
        }
    }
}

impl From<agar_generate::GenerateError> for Failure {
    /// The understanding stage failing is the model's doing (a failed run);
    /// everything else is about the behaviour, examples or settings given.
    fn from(e: agar_generate::GenerateError) -> Failure {
        match e {
            agar_generate::GenerateError::Understanding(_) => Failure::run(e),
            other => Failure::input(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a cause, whose message quotes it or not.
    #[derive(Debug)]
    struct Wrapping {
        quotes: bool,
        cause: std::io::Error,
    }

    impl std::fmt::Display for Wrapping {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if self.quotes { write!(f, "quoting: {}", self.cause) } else { f.write_str("outer") }
        }
    }

    impl Error for Wrapping {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.cause)
        }
    }

    #[test]
    fn the_chain_is_kept_and_not_repeated() {
        let io = || std::io::Error::other("disk gone");
        assert_eq!(chain(&Wrapping { quotes: false, cause: io() }), "outer: disk gone");
        assert_eq!(chain(&Wrapping { quotes: true, cause: io() }), "quoting: disk gone");
    }

    #[test]
    fn store_errors_keep_their_exit_category() {
        let busy = Failure::from(StoreError::RunBusy("r".into()));
        assert!(matches!(busy, Failure::Input(_)));
        let io = StoreError::Io { path: "x".into(), source: std::io::Error::other("no") };
        assert!(matches!(Failure::from(io), Failure::Run(_)));
    }
}
