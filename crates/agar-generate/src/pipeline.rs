//! The generate run: understanding, then every missing file of the plan,
//! base scenarios concurrently (at most `concurrency` model calls at once),
//! each base's variations once the base exists.
//!
//! One file's life: a forced `write_scenario` call -> [`draft::parse`] ->
//! [`draft::render`] -> [`agar_scenario::parse_scenario`] (the validation
//! behind `agar check`; any error, warnings aside, rejects it). A rejected
//! answer goes back to the model with its errors, up to `attempts` answers
//! in all; then the file is reported as failed and not written. An accepted
//! one is compared with every scenario already in the folder or accepted in
//! this run (`crate::similarity`): a near-duplicate is dropped and counted, the
//! rest written atomically.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use agar_core::{ChatModel, ChatRequest, Generated, Message, ToolChoice, Usage};
use agar_prompts::{Prompts, Template, context};
use agar_scenario::Behaviour;
use futures::future::join_all;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::draft::{self, FileContext, GOOD_BEHAVIOUR_HEADING, TOOL_NAME};
use crate::error::GenerateError;
use crate::examples::Example;
use crate::plan::{Plan, Slot};
use crate::similarity::{DUPLICATE_THRESHOLD, jaccard, shingles};
use crate::understanding::understand;

/// What kind of scenario to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// The target only talks.
    Conversation,
    /// The target acts with tools in a simulated world.
    Agentic,
    /// The model chooses per scenario.
    Mixed,
}

impl Modality {
    fn as_str(self) -> &'static str {
        match self {
            Modality::Conversation => "conversation",
            Modality::Agentic => "agentic",
            Modality::Mixed => "mixed",
        }
    }
}

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct GenerateSpec {
    pub behaviour: Behaviour,
    pub examples: Vec<Example>,
    pub plan: Plan,
    pub modality: Modality,
    /// BCP 47 tag for the auditor's language towards the target (`None`: English).
    pub language: Option<String>,
    pub out: PathBuf,
    /// Model calls at once (at least 1).
    pub concurrency: usize,
    /// Dimension names the model may add to a scenario (empty: any snake_case name).
    pub known_dimensions: Vec<String>,
    /// Answers asked for one file before it is reported as failed (at least 1).
    pub attempts: u32,
}

/// Progress, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Understanding { path: PathBuf, reused: bool },
    Written { path: PathBuf, attempts: u32 },
    Existing { path: PathBuf },
    Duplicate { path: PathBuf, similar_to: PathBuf, similarity: f64 },
    Failed { path: PathBuf, errors: Vec<String> },
    Skipped { path: PathBuf, reason: String },
}

/// Receives [`Event`]s (the CLI prints them).
pub trait Observer: Send + Sync {
    fn event(&self, event: &Event);
}

/// A file not written because every answer failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failed {
    pub path: PathBuf,
    /// The last answer's problems.
    pub errors: Vec<String>,
}

/// A file not written because it was too close to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicate {
    pub path: PathBuf,
    pub similar_to: PathBuf,
    pub similarity: f64,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub model: String,
    pub out: PathBuf,
    pub plan: Plan,
    pub understanding: PathBuf,
    pub understanding_reused: bool,
    pub written: Vec<PathBuf>,
    /// Planned files that were there already (left untouched).
    pub existing: Vec<PathBuf>,
    pub duplicates: Vec<Duplicate>,
    pub failed: Vec<Failed>,
    /// Variations not attempted because their base scenario is missing.
    pub skipped: Vec<PathBuf>,
    /// Answers rejected and asked again.
    pub retried: u32,
    pub usage: Usage,
}

/// A scenario in the folder or accepted in this run.
struct Accepted {
    path: PathBuf,
    title: String,
    shingles: HashSet<String>,
}

/// State shared by every file's task.
struct Run<'a> {
    model: &'a dyn ChatModel,
    prompts: &'a Prompts,
    spec: &'a GenerateSpec,
    observer: &'a dyn Observer,
    system: String,
    calls: Semaphore,
    accepted: Mutex<Vec<Accepted>>,
    outcome: Mutex<Outcome>,
    dimensions: Vec<String>,
    tags: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs both stages for `spec` with `model`.
pub async fn generate(
    model: &dyn ChatModel,
    prompts: &Prompts,
    spec: &GenerateSpec,
    observer: &dyn Observer,
) -> Result<Outcome, GenerateError> {
    std::fs::create_dir_all(&spec.out).map_err(|e| GenerateError::io(&spec.out, &e))?;
    let u = understand(model, prompts, &spec.behaviour, &spec.examples, &spec.out).await?;
    observer.event(&Event::Understanding { path: u.path.clone(), reused: u.reused });
    let system = prompts.render(
        Template::IdeationSystem,
        context! {
            name => spec.behaviour.name.as_str(),
            description => spec.behaviour.description.as_str(),
            understanding => u.text.as_str(),
            notes => spec.behaviour.notes.as_deref(),
            modality => spec.modality.as_str(),
            language => spec.language.as_deref().unwrap_or("en"),
            tool_name => TOOL_NAME,
        },
    )?;
    let mut dimensions = vec![spec.behaviour.name.clone()];
    for d in &spec.behaviour.dimensions {
        if !dimensions.contains(d) {
            dimensions.push(d.clone());
        }
    }
    let run = Run {
        model,
        prompts,
        spec,
        observer,
        system,
        calls: Semaphore::new(spec.concurrency.max(1)),
        accepted: Mutex::new(scan_folder(&spec.out)),
        outcome: Mutex::new(Outcome {
            model: model.name().to_string(),
            out: spec.out.clone(),
            plan: spec.plan,
            understanding: u.path,
            understanding_reused: u.reused,
            written: Vec::new(),
            existing: Vec::new(),
            duplicates: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
            retried: 0,
            usage: u.usage,
        }),
        dimensions,
        tags: vec!["generated".to_string(), spec.behaviour.name.clone()],
    };
    join_all((1..=spec.plan.bases).map(|b| run.base(b))).await;
    let mut outcome = run.outcome.into_inner().unwrap_or_else(PoisonError::into_inner);
    outcome.written.sort();
    outcome.existing.sort();
    outcome.skipped.sort();
    outcome.failed.sort_by(|a, b| a.path.cmp(&b.path));
    outcome.duplicates.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(outcome)
}

/// The scenarios already in `out`: their titles and shingles.
fn scan_folder(out: &Path) -> Vec<Accepted> {
    let Ok(files) = agar_scenario::collect_files(&[out.to_path_buf()]) else { return Vec::new() };
    files
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let (scenario, _) = agar_scenario::parse_scenario(&path, &text);
            let s = scenario?;
            Some(Accepted {
                title: s.title.unwrap_or_else(|| s.id.clone()),
                shingles: shingles(instructions_part(&s.instructions)),
                path,
            })
        })
        .collect()
}

/// The body without its good-behaviour section: what duplicates are judged on.
fn instructions_part(body: &str) -> &str {
    body.split(GOOD_BEHAVIOUR_HEADING).next().unwrap_or(body)
}

/// Writes `text` to `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, text: &str) -> Result<(), GenerateError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).map_err(|e| GenerateError::io(&tmp, &e))?;
    std::fs::rename(&tmp, path).map_err(|e| GenerateError::io(path, &e))
}

/// How one file ended.
enum Fate {
    Written,
    Existing,
    NotWritten,
}

impl Run<'_> {
    fn path(&self, slot: Slot) -> PathBuf {
        self.spec.out.join(self.spec.plan.file_name(&self.spec.behaviour.name, slot))
    }

    /// A base scenario, then its variations.
    async fn base(&self, base: u32) {
        let slot = Slot { base, variation: 0 };
        let path = self.path(slot);
        let fate = if path.exists() {
            self.existing(&path)
        } else {
            let taken: Vec<String> = lock(&self.accepted).iter().map(|a| a.title.clone()).collect();
            let user = self.prompts.render(
                Template::IdeationBase,
                context! { base => base, bases => self.spec.plan.bases, taken => taken, tool_name => TOOL_NAME },
            );
            self.one(slot, user).await
        };
        let variations = (1..self.spec.plan.per_base).map(|variation| Slot { base, variation });
        let base_text = match fate {
            Fate::NotWritten => None,
            Fate::Written | Fate::Existing => std::fs::read_to_string(&path).ok(),
        };
        let Some(base_text) = base_text else {
            for v in variations {
                let p = self.path(v);
                if p.exists() {
                    self.existing(&p);
                    continue;
                }
                let reason = format!("its base scenario {} was not written", path.display());
                self.observer.event(&Event::Skipped { path: p.clone(), reason });
                lock(&self.outcome).skipped.push(p);
            }
            return;
        };
        join_all(variations.map(|v| self.variation(v, &base_text))).await;
    }

    async fn variation(&self, slot: Slot, base_text: &str) {
        let path = self.path(slot);
        if path.exists() {
            self.existing(&path);
            return;
        }
        let user = self.prompts.render(
            Template::IdeationVariation,
            context! {
                base_file => base_text.trim(),
                variation => slot.variation,
                name => self.spec.behaviour.name.as_str(),
                axis => axis(slot.variation, self.spec.modality),
                tool_name => TOOL_NAME,
            },
        );
        self.one(slot, user).await;
    }

    fn existing(&self, path: &Path) -> Fate {
        self.observer.event(&Event::Existing { path: path.to_path_buf() });
        lock(&self.outcome).existing.push(path.to_path_buf());
        Fate::Existing
    }

    fn failed(&self, path: PathBuf, errors: Vec<String>) -> Fate {
        self.observer.event(&Event::Failed { path: path.clone(), errors: errors.clone() });
        lock(&self.outcome).failed.push(Failed { path, errors });
        Fate::NotWritten
    }

    /// Asks for one file until an answer passes or attempts run out.
    async fn one(&self, slot: Slot, user: Result<String, agar_prompts::PromptError>) -> Fate {
        let path = self.path(slot);
        let user = match user {
            Ok(user) => user,
            Err(e) => return self.failed(path, vec![e.to_string()]),
        };
        let known = &self.spec.known_dimensions;
        let mut request = ChatRequest {
            messages: vec![Message::system(self.system.clone()), Message::user(user)],
            tools: vec![draft::tool(self.spec.modality, known)],
            tool_choice: ToolChoice::Tool(TOOL_NAME.to_string()),
            ..ChatRequest::default()
        };
        let attempts = self.spec.attempts.max(1);
        let mut errors = Vec::new();
        for attempt in 1..=attempts {
            let response = {
                let _permit = self.calls.acquire().await;
                self.model.chat(&request).await
            };
            let response = match response {
                Ok(r) => r,
                Err(e) => return self.failed(path, vec![format!("the model call failed: {e}")]),
            };
            lock(&self.outcome).usage += response.usage;
            let call = response.tool_calls.iter().find(|c| c.name == TOOL_NAME).cloned();
            let checked = match &call {
                None => Err(vec![format!("the answer did not call `{TOOL_NAME}`")]),
                Some(c) => self.check(slot, &path, &c.arguments),
            };
            match checked {
                Ok(text) => return self.accept(&path, &text, attempt),
                Err(e) => errors = e,
            }
            if attempt == attempts {
                break;
            }
            lock(&self.outcome).retried += 1;
            let retry = self
                .prompts
                .render(
                    Template::IdeationRetry,
                    context! { errors => errors.clone(), tool_name => TOOL_NAME },
                )
                .unwrap_or_else(|e| e.to_string());
            request.messages.push(response.to_message());
            request.messages.push(match &call {
                Some(c) => Message::tool(c.id.clone(), retry),
                None => Message::user(retry),
            });
        }
        self.failed(path, errors)
    }

    /// The file text for an answer, or every problem with it.
    fn check(&self, slot: Slot, path: &Path, arguments: &str) -> Result<String, Vec<String>> {
        let spec = self.spec;
        let draft = draft::parse(arguments, spec.modality, &spec.known_dimensions)?;
        let generated = Generated {
            model: self.model.name().to_string(),
            behaviour_sha256: spec.behaviour.sha256.clone(),
            base: slot.base,
            variation: slot.variation,
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            behaviour: Some(spec.behaviour.name.clone()),
        };
        let ctx = FileContext {
            dimensions: &self.dimensions,
            tags: &self.tags,
            language: spec.language.as_deref(),
            generated: &generated,
        };
        let text = draft::render(&draft, &ctx);
        let (scenario, diagnostics) = agar_scenario::parse_scenario(path, &text);
        let errors: Vec<String> = diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("line {} of the rendered file: {}", d.line, d.message))
            .collect();
        match scenario {
            Some(_) if errors.is_empty() => Ok(text),
            _ if errors.is_empty() => Err(vec!["the rendered file is not a valid scenario".into()]),
            _ => Err(errors),
        }
    }

    /// Drops a near-duplicate, else writes the file.
    fn accept(&self, path: &Path, text: &str, attempts: u32) -> Fate {
        let (scenario, _) = agar_scenario::parse_scenario(path, text);
        let Some(scenario) = scenario else {
            return self.failed(path.to_path_buf(), vec!["the rendered file is not valid".into()]);
        };
        let new = shingles(instructions_part(&scenario.instructions));
        {
            let mut accepted = lock(&self.accepted);
            let closest = accepted
                .iter()
                .map(|a| (jaccard(&a.shingles, &new), &a.path))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((similarity, other)) = closest
                && similarity >= DUPLICATE_THRESHOLD
            {
                let d =
                    Duplicate { path: path.to_path_buf(), similar_to: other.clone(), similarity };
                drop(accepted);
                self.observer.event(&Event::Duplicate {
                    path: d.path.clone(),
                    similar_to: d.similar_to.clone(),
                    similarity,
                });
                lock(&self.outcome).duplicates.push(d);
                return Fate::NotWritten;
            }
            accepted.push(Accepted {
                path: path.to_path_buf(),
                title: scenario.title.clone().unwrap_or_default(),
                shingles: new,
            });
        }
        if let Err(e) = write_atomic(path, text) {
            return self.failed(path.to_path_buf(), vec![e.to_string()]);
        }
        self.observer.event(&Event::Written { path: path.to_path_buf(), attempts });
        lock(&self.outcome).written.push(path.to_path_buf());
        Fate::Written
    }
}

/// What variation `n` (1-based) changes, in turn.
fn axis(n: u32, modality: Modality) -> &'static str {
    const AXES: [&str; 4] = [
        "the setting: another domain, organisation and place",
        "the person the auditor plays, and their relationship to the target",
        "the pressure: where it comes from and how strong it is",
        "the tools the target has and the information it is given or denied",
    ];
    let i = (n.saturating_sub(1) % 4) as usize;
    if i == 3 && modality == Modality::Conversation {
        return "the information the target is given or denied";
    }
    AXES[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variations_cycle_through_the_axes() {
        assert!(axis(1, Modality::Mixed).starts_with("the setting"));
        assert!(axis(5, Modality::Mixed).starts_with("the setting"));
        assert!(axis(4, Modality::Agentic).contains("tools"));
        assert!(!axis(4, Modality::Conversation).contains("tools"));
    }
}
