//! One benchmark configuration, run for real: the fake server and `agar
//! audit` as separate processes, measured from outside.
//!
//! Steps: start `agar-fake-server --latency-ms L --script SHAPE` and read its
//! URL; write an `agar.toml` naming the four role models on it (with a
//! concurrency limit above the audit concurrency, so agar's per-model limiter
//! is not what is measured) and the scenario; run `agar audit` with
//! `--concurrency C --json`, sampling its `VmHWM` every 10 ms; after it exits,
//! take its CPU from this process's reaped-children time, stop the server
//! with SIGTERM and read its `cpu_ms=N calls=M` line; read the transcripts for
//! the first model call's start.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use agar_core::{EventKind, Transcript};
use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::procfs;
use crate::shape;

/// Where the two executables are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub agar: PathBuf,
    pub fake_server: PathBuf,
    /// A command to run `agar` under (a profiler: `perf record -g --`), or empty.
    /// Its figures then include the wrapper's own costs.
    pub wrapper: Vec<String>,
}

impl Binaries {
    /// `agar` and `agar-fake-server` beside this executable (the same
    /// `target/release` directory), when both are there.
    pub fn beside_current_exe() -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating the bench executable")?;
        let dir = exe.parent().context("the bench executable has no directory")?;
        let bins = Binaries {
            agar: dir.join("agar"),
            fake_server: dir.join("agar-fake-server"),
            wrapper: Vec::new(),
        };
        for b in [&bins.agar, &bins.fake_server] {
            if !b.is_file() {
                bail!(
                    "{} not found; build it first: cargo build --release -p agar-cli -p agar-testkit --bins",
                    b.display()
                );
            }
        }
        Ok(bins)
    }
}

/// One configuration of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Config {
    pub latency_ms: u64,
    pub concurrency: usize,
    pub audits: usize,
}

/// What one configuration measured.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub config: Config,
    /// Wall time of `agar audit`, spawn to exit.
    pub wall_s: f64,
    /// User + system CPU of the `agar` process.
    pub agar_cpu_ms: u64,
    /// Chat requests the fake server answered.
    pub calls: u64,
    /// `agar_cpu_ms / calls`.
    pub cpu_per_call_ms: f64,
    pub audits_per_min: f64,
    /// `concurrency * 60 / (calls_per_audit * latency)`; `None` at 0 ms.
    pub latency_bound_per_min: Option<f64>,
    /// Measured calls per audit (`calls / audits`).
    pub calls_per_audit: f64,
    /// `VmHWM` of the `agar` process, in kB.
    pub peak_rss_kb: u64,
    /// Spawn to the start of the earliest model call in any transcript.
    pub first_call_ms: Option<f64>,
    /// The fake server's own CPU over its whole life, and its call count.
    pub server_cpu_ms: Option<u64>,
    /// Audits by final status, from the run's `--json` summary.
    pub by_status: serde_json::Value,
    /// The machine's 1-minute load average when `agar` started and ended.
    pub load_average: (Option<f64>, Option<f64>),
    /// CPU cores' worth of time other processes (not `agar`, not the fake
    /// server) used during the run, on average: busy time of the machine
    /// less theirs, over the wall time.
    pub others_cores: Option<f64>,
}

/// Starts the fake server; its URL and the process.
fn start_server(
    bins: &Binaries,
    latency_ms: u64,
    script: &Path,
) -> anyhow::Result<(String, Child)> {
    let mut child = Command::new(&bins.fake_server)
        .args(["--latency-ms", &latency_ms.to_string(), "--script"])
        .arg(script)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bins.fake_server.display()))?;
    let stdout = child.stdout.take().context("the fake server's stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).context("reading the fake server's URL")?;
    let url = line.trim().strip_prefix("listening on ").map(str::to_string);
    match url {
        Some(url) => Ok((url, child)),
        None => {
            let _ = child.kill();
            bail!("the fake server did not print its URL (got {line:?})")
        }
    }
}

/// Stops the fake server with SIGTERM; its `cpu_ms=N calls=M` figures.
fn stop_server(mut child: Child) -> anyhow::Result<(Option<u64>, u64)> {
    let status =
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().context("kill")?;
    if !status.success() {
        bail!("could not signal the fake server");
    }
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut err).context("reading the fake server's stderr")?;
    }
    child.wait().context("waiting for the fake server")?;
    let line = err.lines().find(|l| l.starts_with("cpu_ms=")).context("no cpu_ms line")?;
    let field = |name: &str| {
        line.split_whitespace().find_map(|w| w.strip_prefix(name)).and_then(|v| v.parse().ok())
    };
    Ok((field("cpu_ms="), field("calls=").context("no calls= figure")?))
}

/// `agar.toml` for the four roles on the fake server at `url`.
fn agar_toml(url: &str, limit: usize) -> String {
    let mut out = String::new();
    for role in [shape::AUDITOR, shape::TARGET, shape::ENVIRONMENT, shape::JUDGE] {
        out.push_str(&format!(
            "[models.bench-{role}]\nprovider = \"openai\"\nmodel = \"{role}\"\n\
             base_url = \"{url}\"\nmax_concurrency = {limit}\n\n"
        ));
    }
    out
}

/// The earliest start of a model call over the run's transcripts.
fn first_call_start(run_dir: &Path) -> Option<SystemTime> {
    let mut first: Option<SystemTime> = None;
    for entry in std::fs::read_dir(run_dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json")
            || name.starts_with('.')
            || name == "run.json"
            || name == "plan.json"
        {
            continue;
        }
        let Ok(bytes) = std::fs::read(entry.path()) else { continue };
        let Ok(t) = serde_json::from_slice::<Transcript>(&bytes) else { continue };
        let starts = t.events.iter().filter_map(|e| match &e.kind {
            EventKind::ModelCall(c) => {
                let end = SystemTime::from(e.at);
                end.checked_sub(Duration::from_millis(c.latency_ms))
            }
            _ => None,
        });
        for s in starts {
            first = Some(first.map_or(s, |f| f.min(s)));
        }
    }
    first
}

/// Runs one configuration in a fresh directory under `work`.
pub fn run(bins: &Binaries, config: Config, work: &Path) -> anyhow::Result<Measurement> {
    let dir = tempfile::tempdir_in(work).context("creating a work directory")?;
    let script = dir.path().join("script.json");
    std::fs::write(&script, serde_json::to_vec(&shape::script())?).context("writing the script")?;
    let scenario = dir.path().join("scenarios");
    std::fs::create_dir(&scenario).context("creating the scenario directory")?;
    for (name, text) in shape::scenario_files(config.audits) {
        std::fs::write(scenario.join(name), text).context("writing the scenario")?;
    }
    let (url, server) = start_server(bins, config.latency_ms, &script)?;
    let config_file = dir.path().join("agar.toml");
    std::fs::write(&config_file, agar_toml(&url, config.concurrency.max(1) * 2))?;
    let store = dir.path().join("store");

    let load_before = procfs::load_average();
    let busy_before = procfs::machine_busy();
    let cpu_before = procfs::reaped_children_cpu().context("reading /proc/self/stat")?;
    let spawned_at = SystemTime::now();
    let started = Instant::now();
    let mut agar = match bins.wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&bins.agar);
            c
        }
        None => Command::new(&bins.agar),
    };
    let mut agar = agar
        .args(["-q", "audit"])
        .arg(&scenario)
        .args(["--auditor", "bench-auditor", "--target", "bench-target"])
        .args(["--environment", "bench-environment", "--judge", "bench-judge"])
        .args(["--concurrency", &config.concurrency.to_string(), "--run", "bench", "--json"])
        .arg("--store")
        .arg(&store)
        .env("AGAR_CONFIG", &config_file)
        .env("OPENAI_API_KEY", "bench-not-a-real-key")
        .env_remove("OPENAI_BASE_URL")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bins.agar.display()))?;
    let pid = agar.id();
    let mut stdout = agar.stdout.take().context("agar's stdout")?;
    let mut stderr = agar.stderr.take().context("agar's stderr")?;
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut peak_rss_kb = 0;
    let status = loop {
        if let Some(kb) = procfs::peak_rss_kb(pid) {
            peak_rss_kb = peak_rss_kb.max(kb);
        }
        if let Some(status) = agar.try_wait().context("waiting for agar")? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = started.elapsed();
    let cpu_after = procfs::reaped_children_cpu().context("reading /proc/self/stat")?;
    let busy_after = procfs::machine_busy();
    let load_after = procfs::load_average();
    let summary_text = out_reader.join().unwrap_or_default();
    let log = err_reader.join().unwrap_or_default();
    let (server_cpu_ms, calls) = stop_server(server)?;
    if !matches!(status.code(), Some(0 | 2)) {
        bail!("agar exited with {status}: {}", log.lines().last().unwrap_or(""));
    }
    let summary: serde_json::Value = serde_json::from_str(&summary_text)
        .with_context(|| format!("agar's --json summary: {summary_text:?}; log: {log}"))?;
    let summary = summary.get("summary").unwrap_or(&summary);

    let agar_cpu_ms = u64::try_from(cpu_after.saturating_sub(cpu_before).as_millis())?;
    // The server's CPU covers its whole life, a little more than the run.
    let others_cores = match (busy_before, busy_after, server_cpu_ms) {
        (Some(before), Some(after), Some(server)) => {
            let busy = after.saturating_sub(before).as_millis() as f64;
            let others = (busy - agar_cpu_ms as f64 - server as f64).max(0.0);
            Some(others / 1000.0 / wall.as_secs_f64())
        }
        _ => None,
    };
    let wall_s = wall.as_secs_f64();
    let calls_per_audit = calls as f64 / config.audits.max(1) as f64;
    let first_call_ms = first_call_start(&store.join("bench"))
        .and_then(|t| t.duration_since(spawned_at).ok().map(|d| d.as_secs_f64() * 1000.0));
    Ok(Measurement {
        config,
        wall_s,
        agar_cpu_ms,
        calls,
        cpu_per_call_ms: agar_cpu_ms as f64 / calls.max(1) as f64,
        audits_per_min: config.audits as f64 * 60.0 / wall_s,
        latency_bound_per_min: (config.latency_ms > 0).then(|| {
            config.concurrency as f64 * 60.0 / (calls_per_audit * config.latency_ms as f64 / 1000.0)
        }),
        calls_per_audit,
        peak_rss_kb,
        first_call_ms,
        server_cpu_ms,
        by_status: summary["by_status"].clone(),
        load_average: (load_before, load_after),
        others_cores,
    })
}
