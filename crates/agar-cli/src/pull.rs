//! `agar models pull NAME`: fetch an embedded model into the cache now
//! (otherwise it is fetched on first use).

use agar_local::fetch::{self, Progress};
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// The embedded model: smollm2 or qwen2.5-coder-1.5b (as in local/smollm2)
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
}

pub(crate) fn run(args: &PullArgs) -> crate::Outcome {
    let env = agar_models::Env::from_process();
    let settings = agar_models::local::local_settings(&env)?;
    let name = args.name.trim().trim_start_matches("local/");
    let model = fetch::find(name)?;
    let path = fetch::pull(model, &settings, Progress::Auto)?;
    println!("{}", path.display());
    Ok(())
}
