//! `agar models pull NAME`: fetch an embedded model into the cache now
//! (otherwise it is fetched on first use).

use agar_local::LocalError;
use agar_local::fetch::{self, Progress};
use clap::Args;

use crate::exit::Failure;

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// The embedded model: smollm2 or qwen2.5-coder-1.5b (as in local/smollm2)
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
}

pub(crate) fn run(args: &PullArgs) -> crate::Outcome {
    let env = agar_models::Env::from_process();
    let settings =
        agar_models::local::local_settings(&env).map_err(|e| Failure::Input(e.to_string()))?;
    let name = args.name.trim().trim_start_matches("local/");
    let model = fetch::find(name).map_err(|e| Failure::Input(e.to_string()))?;
    match fetch::pull(model, &settings, Progress::Auto) {
        Ok(path) => {
            println!("{}", path.display());
            Ok(())
        }
        Err(e @ (LocalError::InvalidSetting(_) | LocalError::UnknownModel { .. })) => {
            Err(Failure::Input(e.to_string()))
        }
        Err(e) => Err(Failure::Run(e.to_string())),
    }
}
