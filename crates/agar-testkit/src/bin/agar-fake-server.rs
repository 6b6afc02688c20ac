//! `agar-fake-server`: the testkit's fake OpenAI-compatible server as a process,
//! for benchmarks and the README demo.
//!
//! Prints `listening on http://127.0.0.1:PORT/v1` as its first stdout line;
//! on SIGINT or SIGTERM prints `cpu_ms=N calls=M` to stderr and exits.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use agar_testkit::{FakeConfig, FakeServer, FaultPlan, Quirks, Script};
use anyhow::Context as _;
use clap::Parser;

/// A fake OpenAI-compatible chat server on 127.0.0.1, answering from a script.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// JSON script: {"by_turn": {MODEL: [REPLY...]}, "queue": {...},
    /// "faults": {...}, "fault_plan": {...}}.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// A model name to list in GET /v1/models (repeatable).
    #[arg(long = "model", value_name = "NAME")]
    models: Vec<String>,
    /// Behave like a real server: `none` or `llama-cpp-python-0.3.36` (see
    /// agar_testkit::quirks).
    #[arg(long, default_value = "none", value_name = "PROFILE")]
    quirks: String,
    /// Context window in tokens (overrides the profile's).
    #[arg(long, value_name = "TOKENS")]
    context_window: Option<u64>,
    #[command(flatten)]
    faults: FaultArgs,
}

/// Random faults; each flag overrides the script's `fault_plan` field.
#[derive(Debug, clap::Args)]
struct FaultArgs {
    /// Probability of an HTTP 500 per call.
    #[arg(long, value_name = "P")]
    fault_server_error: Option<f64>,
    /// Probability of an HTTP 429 per call.
    #[arg(long, value_name = "P")]
    fault_rate_limited: Option<f64>,
    /// Retry-After header value sent with 429s (default "0").
    #[arg(long, value_name = "VALUE")]
    fault_retry_after: Option<String>,
    /// Probability that a call never gets an answer.
    #[arg(long, value_name = "P")]
    fault_hang: Option<f64>,
    /// Probability of a tool call with invalid JSON arguments.
    #[arg(long, value_name = "P")]
    fault_malformed_tool_args: Option<f64>,
    /// Probability of a body cut halfway.
    #[arg(long, value_name = "P")]
    fault_truncated: Option<f64>,
    /// Seed of the fault draws.
    #[arg(long, value_name = "N")]
    fault_seed: Option<u64>,
}

impl FaultArgs {
    /// The plan: the script's, with every given flag applied on top; `None`
    /// when neither says anything.
    fn apply(self, base: Option<FaultPlan>) -> Option<FaultPlan> {
        let any_flag = self.fault_server_error.is_some()
            || self.fault_rate_limited.is_some()
            || self.fault_retry_after.is_some()
            || self.fault_hang.is_some()
            || self.fault_malformed_tool_args.is_some()
            || self.fault_truncated.is_some()
            || self.fault_seed.is_some();
        if !any_flag {
            return base;
        }
        let mut plan = base.unwrap_or_default();
        let set = |field: &mut f64, flag: Option<f64>| {
            if let Some(p) = flag {
                *field = p;
            }
        };
        set(&mut plan.server_error, self.fault_server_error);
        set(&mut plan.rate_limited, self.fault_rate_limited);
        set(&mut plan.hang, self.fault_hang);
        set(&mut plan.malformed_tool_args, self.fault_malformed_tool_args);
        set(&mut plan.truncated, self.fault_truncated);
        if let Some(after) = self.fault_retry_after {
            plan.retry_after = Some(after);
        }
        if let Some(seed) = self.fault_seed {
            plan.seed = seed;
        }
        Some(plan)
    }
}

/// The same allocator as `agar` (see agar-cli's main.rs): the benchmark runs
/// this server beside `agar` on the same cores, so its CPU per call bounds
/// how close `agar` can come to the latency bound.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut script = match &args.script {
        Some(path) => Script::load(path)?,
        None => Script::default(),
    };
    let fault_plan = args.faults.apply(script.fault_plan.take());
    let mut quirks = Quirks::named(&args.quirks).with_context(|| {
        format!("unknown quirks profile `{}` (one of {})", args.quirks, Quirks::NAMES.join(", "))
    })?;
    if args.context_window.is_some() {
        quirks.context_window = args.context_window;
    }
    let config = FakeConfig {
        port: args.port,
        latency: Duration::from_millis(args.latency_ms),
        script,
        fault_plan,
        models: args.models,
        quirks,
        forget_requests: true,
        ..FakeConfig::default()
    };
    let server = FakeServer::try_start_with(config).await?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", server.base_url()).context("writing to stdout")?;
    stdout.flush().context("flushing stdout")?;
    drop(stdout);

    let signal = wait_for_signal().await?;
    let calls = server.total_calls();
    let cpu_ms = agar_testkit::process_cpu_time()
        .map_or_else(|| "unknown".to_string(), |d| d.as_millis().to_string());
    eprintln!("agar-fake-server: {signal}, stopping");
    eprintln!("cpu_ms={cpu_ms} calls={calls}");
    server.shutdown().await;
    Ok(())
}

/// Waits for SIGINT or SIGTERM and names the one that came.
async fn wait_for_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}
