//! `agar merge STORE... --into STORE`: the runs of several stores (the
//! shards of a run, each in its own store or all in one bucket) brought into
//! one, for `agar show`, `report` and `view`. The merge itself is
//! `agar_store::merge`; this is its command line, and [`open_store`], the
//! one function through which commands open a `--store` for writing.

use std::path::{Path, PathBuf};

use agar_store::{MergeError, MergeReport, RunMerge, Store};
use clap::Args;

use crate::exit::Failure;

pub(crate) const MERGE_HELP: &str = "Examples:
  # three shards, each written into its own store
  agar merge shard-1/ shard-2/ shard-3/ --into transcripts/

  # every shard wrote into one bucket: bring the run down for agar view
  agar merge s3://audits/nightly --into transcripts/

A STORE is a directory or s3://BUCKET/PREFIX (AWS_* environment variables,
see docs/storage.md). For every run the stores hold, their plans must agree
(same scenarios and hashes, dimensions and settings), else nothing is merged
and the difference is named (exit 1). Of two copies of an audit, a finished
one beats an unfinished one, and of two finished ones the newer verdict wins;
labels merge per dimension, the newer winning. Planned audits still missing
are listed per shard (finish them with agar resume RUN --shard I/N). Merging
again changes nothing.";

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// The stores to merge: directories or s3://BUCKET/PREFIX
    #[arg(required = true, value_name = "STORE")]
    pub(crate) stores: Vec<PathBuf>,
    /// The store to merge into (a directory, created if needed, or s3://BUCKET/PREFIX)
    #[arg(long, value_name = "STORE")]
    pub(crate) into: PathBuf,
    /// Print what was merged as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// Opens the `--store` of a command that writes (`agar audit`, `resume`,
/// `judge`): a directory, created if needed, or `s3://BUCKET/PREFIX`, a
/// local staging directory whose writes are also put to the bucket.
pub(crate) fn open_store(spec: &Path) -> Result<Store, Failure> {
    agar_store::open_store(spec).map_err(|e| Failure::Input(e.to_string()))
}

/// Scratch directories of downloaded buckets, removed when dropped.
struct Scratch(Vec<PathBuf>);

impl Scratch {
    fn fresh(&mut self) -> Result<PathBuf, Failure> {
        let dir = std::env::temp_dir().join(format!(
            "agar-merge-{}-{}-{}",
            std::process::id(),
            self.0.len(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::Run(format!("{}: {e}", dir.display())))?;
        self.0.push(dir.clone());
        Ok(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub(crate) fn run(args: &MergeArgs) -> crate::Outcome {
    let mut scratch = Scratch(Vec::new());
    let mut sources = Vec::new();
    for spec in &args.stores {
        let dir = scratch.fresh()?;
        let (store, pulled) = agar_store::location::snapshot(spec, &dir).map_err(|e| {
            Failure::Input(format!("cannot read the store {}: {e}", spec.display()))
        })?;
        if store.mirror().is_some() {
            eprintln!("{}: {pulled} files listed and downloaded", spec.display());
        }
        sources.push(store);
    }
    let into = open_store(&args.into)?;
    let report = agar_store::merge(&sources, &into).map_err(|e| match e {
        MergeError::Store(e) => Failure::Run(e.to_string()),
        refused => Failure::Input(refused.to_string()),
    })?;
    if args.json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Run(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", render(&report, &args.into.display().to_string()));
    }
    Ok(())
}

/// The text summary of a merge.
fn render(report: &MergeReport, into: &str) -> String {
    let mut out = String::new();
    for run in &report.runs {
        out.push_str(&format!(
            "run {} from {} store{} into {into}: {} added, {} replaced, {} already there{}\n",
            run.run_id,
            run.sources,
            if run.sources == 1 { "" } else { "s" },
            run.added,
            run.replaced,
            run.kept,
            if run.labels > 0 {
                format!(", {} label files merged", run.labels)
            } else {
                String::new()
            },
        ));
        if run.planned > 0 {
            out.push_str(&format!(
                "  {} of {} planned audits finished\n",
                run.finished, run.planned
            ));
        }
        out.push_str(&render_missing(run));
    }
    out
}

fn render_missing(run: &RunMerge) -> String {
    let mut out = String::new();
    for m in &run.missing {
        let who = match m.shard {
            Some((i, n)) => format!("shard {i}/{n}"),
            None if run.missing.len() > 1 => "in no shard record".to_string(),
            None => "the run".to_string(),
        };
        if m.audits.is_empty() {
            out.push_str(&format!("  {who}: all {} finished\n", m.planned));
            continue;
        }
        let shown: Vec<&str> = m.audits.iter().take(10).map(String::as_str).collect();
        let more = m.audits.len().saturating_sub(shown.len());
        let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
        let resume = match m.shard {
            Some((i, n)) => format!(" (agar resume {} --shard {i}/{n})", run.run_id),
            None => format!(" (agar resume {})", run.run_id),
        };
        out.push_str(&format!(
            "  {who}: {} of {} missing: {}{tail}{resume}\n",
            m.audits.len(),
            m.planned,
            shown.join(", ")
        ));
    }
    out
}
