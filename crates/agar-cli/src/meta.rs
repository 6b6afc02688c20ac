//! Suite-level reporting: the elicitation rate of a run (per dimension and
//! per generated base scenario, from `run.json`'s provenance), and
//! `agar report RUN --meta`: a judge model's summary of what kinds of
//! scenario elicited the behaviour and what did not, kept as `RUN/meta.md`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use agar_core::{ChatRequest, Message};
use agar_prompts::{Prompts, Template, context};
use agar_report::{Elicitation, HIGH_SCORE};
use agar_store::{RunView, Store};

use crate::exit::Failure;

/// The file beside the run that holds the suite-level summary.
pub(crate) const META_FILE: &str = "meta.md";

/// How many characters of each judge summary the meta prompt quotes.
const SUMMARY_CHARS: usize = 600;

/// The run's elicitation rates.
pub(crate) fn elicitation_of(view: &RunView) -> Elicitation {
    let provenance = view
        .record
        .scenarios
        .iter()
        .filter_map(|s| s.generated.clone().map(|g| (s.id.clone(), g)))
        .collect();
    agar_report::elicitation(&view.audits, &provenance)
}

/// `RUN/meta.md`, when it was written.
pub(crate) fn read_meta(store: &Store, run: &str) -> Option<String> {
    std::fs::read_to_string(store.run_dir(run).join(META_FILE)).ok()
}

/// Asks `judge` (or the local fallback) for the suite-level summary and
/// writes it to `RUN/meta.md`.
pub(crate) async fn write_meta(
    store: &Store,
    run: &str,
    view: &RunView,
    judge: Option<&str>,
) -> Result<PathBuf, Failure> {
    let (model, _) = crate::generate::resolve_single(
        judge,
        "--meta needs a model: pass --judge MODEL or set AGAR_JUDGE",
    )?;
    let prompts = Prompts::new();
    let elicitation = elicitation_of(view);
    let rates: Vec<_> = elicitation
        .dimensions
        .iter()
        .map(|(name, r)| context! { name => name, elicited => r.elicited, judged => r.judged })
        .collect();
    let audits: Vec<_> = view
        .audits
        .iter()
        .map(|a| {
            let scores = a.verdict.as_ref().map_or_else(
                || "none".to_string(),
                |v| {
                    let s: Vec<String> = v.scores.iter().map(|(d, s)| format!("{d} {s}")).collect();
                    format!("{} ({})", s.join(", "), v.status)
                },
            );
            let summary = a.verdict.as_ref().map(|v| v.summary.chars().take(SUMMARY_CHARS).collect::<String>());
            context! { scenario_id => a.scenario_id.as_str(), title => a.title.as_deref(), status => a.status.as_str(), scores => scores, summary => summary }
        })
        .collect();
    let models: BTreeMap<String, String> =
        view.record.models.iter().map(|(r, m)| (r.to_string(), m.clone())).collect();
    let user = prompts.render(
        Template::MetaUser,
        context! {
            run_id => run,
            target => models.get("target").cloned().unwrap_or_default(),
            audits => view.audits.len(),
            threshold => HIGH_SCORE,
            rates => rates,
            audit_list => audits,
        },
    )?;
    let system = prompts.render(Template::MetaSystem, context! {})?;
    let request = ChatRequest {
        messages: vec![Message::system(system), Message::user(user)],
        ..ChatRequest::default()
    };
    let answer = model
        .chat(&request)
        .await
        .map_err(|e| Failure::Run(format!("the --meta model failed: {e}")))?;
    let text = answer.content.trim();
    if text.is_empty() {
        return Err(Failure::Run(format!(
            "the --meta model {} answered with no text",
            model.name()
        )));
    }
    let path = store.run_dir(run).join(META_FILE);
    let file = format!(
        "# Suite summary of run {run}\n\nWritten by `{}` on {} from {} audits.\n\n{text}\n",
        model.name(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        view.audits.len()
    );
    let tmp = path.with_file_name(".meta.md.tmp");
    std::fs::write(&tmp, &file)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?;
    Ok(path)
}
