//! `agar runs`: every run in the store, oldest first: date, models, audits
//! by status, cost. Works while runs are in progress in other processes.

use agar_core::RoleName;
use clap::Args;

use crate::show::open_store;

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    #[command(flatten)]
    pub(crate) store: crate::cli::StoreArg,
    /// Print the list as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(args: &RunsArgs) -> crate::Outcome {
    let store = open_store(&args.store)?;
    let runs = store.runs()?;
    if args.json {
        let text = serde_json::to_string_pretty(&runs)?;
        println!("{text}");
        return Ok(());
    }
    if runs.is_empty() {
        println!("no runs in {}", store.root().display());
        return Ok(());
    }
    let rows: Vec<[String; 5]> = runs
        .iter()
        .map(|r| {
            let model = |role| r.models.get(&role).map(String::as_str).unwrap_or("-");
            let mut models =
                format!("{} (auditor {}", model(RoleName::Target), model(RoleName::Auditor));
            if r.models.contains_key(&RoleName::Judge) {
                models.push_str(&format!(", judge {}", model(RoleName::Judge)));
            }
            models.push(')');
            let mut status = format!("{}: {}", r.audits, agar_report::status_counts(&r.by_status));
            if r.live {
                status.push_str(" [live]");
            }
            [
                r.run_id.clone(),
                r.created_at.format("%Y-%m-%d %H:%M").to_string(),
                models,
                status,
                r.cost_usd.map_or("-".into(), |c| format!("${c:.4}")),
            ]
        })
        .collect();
    let head = ["run", "date", "target", "audits", "cost"];
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(head[i].len()))
        .collect();
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == 4 {
                s.push_str(&format!("{c:>w$}", w = widths[i]));
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string()
    };
    println!("{}", line(head));
    for r in &rows {
        println!("{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    Ok(())
}
