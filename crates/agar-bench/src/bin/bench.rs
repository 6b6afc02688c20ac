//! `bench`: runs the benchmark matrix and prints its table (and, with
//! `--json FILE`, every measurement as JSON).

use std::path::PathBuf;

use agar_bench::run::{self, Binaries, Config};
use agar_bench::table;
use anyhow::Context as _;
use clap::Parser;

/// Audits of a fixed shape (10 auditor turns, 9 target replies, 5 target tool
/// calls, 1 judge call) against agar-fake-server, per latency and concurrency.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// Injected latencies of the fake server, in ms.
    #[arg(long, value_delimiter = ',', default_values_t = [0u64, 200])]
    latency_ms: Vec<u64>,
    /// Audits in flight at once.
    #[arg(long, value_delimiter = ',', default_values_t = [10usize, 100, 1000])]
    concurrency: Vec<usize>,
    /// Audits per configuration (default: 2 x concurrency, at least 100).
    #[arg(long)]
    audits: Option<usize>,
    /// Where runs are written (a fresh directory per configuration, removed after).
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Also write every measurement as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Run agar under this command, for profiling (e.g. "perf record -g -o agar.perf --");
    /// the figures then include the wrapper's costs.
    #[arg(long, value_name = "CMD")]
    wrap: Option<String>,
    /// Write the benchmark's fake-server script to FILE and the scenarios
    /// (--audits audits, at most 1,000 per file) beside it as shape-1.md,
    /// shape-2.md, ..., then exit: for running by hand.
    #[arg(long, value_name = "FILE")]
    write_script: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.write_script {
        std::fs::write(path, serde_json::to_vec_pretty(&agar_bench::shape::script())?)
            .with_context(|| format!("writing {}", path.display()))?;
        for (name, text) in agar_bench::shape::scenario_files(args.audits.unwrap_or(100)) {
            let scenario = path.with_file_name(name);
            std::fs::write(&scenario, text)
                .with_context(|| format!("writing {}", scenario.display()))?;
        }
        return Ok(());
    }
    let mut bins = Binaries::beside_current_exe()?;
    if let Some(wrap) = &args.wrap {
        bins.wrapper = wrap.split_whitespace().map(str::to_string).collect();
    }
    std::fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("creating {}", args.work_dir.display()))?;

    // The one-audit baseline for RSS per in-flight audit.
    let baseline =
        run::run(&bins, Config { latency_ms: 0, concurrency: 1, audits: 1 }, &args.work_dir)?;
    eprintln!(
        "baseline: 1 audit, peak RSS {} kB, first call {:?} ms",
        baseline.peak_rss_kb, baseline.first_call_ms
    );
    let mut rows = Vec::new();
    for &latency_ms in &args.latency_ms {
        for &concurrency in &args.concurrency {
            let audits = args.audits.unwrap_or((2 * concurrency).max(100));
            let config = Config { latency_ms, concurrency, audits };
            eprintln!("running {config:?}");
            let m = run::run(&bins, config, &args.work_dir)?;
            eprintln!(
                "  {:.1} s, {} calls, {:.3} ms CPU/call, {:.0} audits/min, peak {} kB",
                m.wall_s, m.calls, m.cpu_per_call_ms, m.audits_per_min, m.peak_rss_kb
            );
            rows.push(m);
        }
    }
    println!("{}", table::markdown(&rows, baseline.peak_rss_kb));
    println!(
        "baseline (1 audit, 0 ms): peak RSS {:.1} MB, first call {} ms, {:.3} ms CPU/call",
        baseline.peak_rss_kb as f64 / 1024.0,
        baseline.first_call_ms.map_or("?".into(), |f| format!("{f:.0}")),
        baseline.cpu_per_call_ms
    );
    if let Some(path) = &args.json {
        let all = serde_json::json!({ "baseline": baseline, "rows": rows });
        std::fs::write(path, serde_json::to_vec_pretty(&all)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
