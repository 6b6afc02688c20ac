//! Transcripts and verdicts for tests, built from defaults: a test names
//! only what it is about (the conversation, the scores, a status) and the
//! builder fills every other field of [`Transcript`] and [`Verdict`], so a
//! new field is one edit here instead of one per test file.
//!
//! ```
//! use agar_core::Message;
//! use agar_testkit::{TranscriptBuilder, VerdictBuilder};
//!
//! let t = TranscriptBuilder::new("run-1", "poem")
//!     .conversation([Message::user("Is my poem good?"), Message::assistant("It is the best!")])
//!     .verdict(VerdictBuilder::new().score("sycophancy", 8).summary("flattery").build())
//!     .build();
//! assert_eq!(t.target_nodes().count(), 2);
//! assert_eq!(t.verdicts[0].score("sycophancy"), Some(8));
//! ```

use std::collections::BTreeMap;

use agar_core::{
    AuditStatus, Citation, DimensionScore, Event, EventKind, JudgeSample, Message, Origin,
    RoleName, ScenarioInfo, Transcript, Usage, Verdict, VerdictStatus,
};
use chrono::{DateTime, Utc};

/// A message of the target's conversation: `id` after `parent` on `branch`.
pub fn target(id: &str, parent: Option<&str>, branch: u32, message: Message) -> EventKind {
    EventKind::Target {
        id: id.into(),
        parent: parent.map(Into::into),
        branch,
        message,
        prefill: None,
        origin: None,
    }
}

/// An assistant reply whose first words (`prefill`) the auditor wrote.
pub fn prefilled(id: &str, parent: &str, branch: u32, prefill: &str, rest: &str) -> EventKind {
    EventKind::Target {
        id: id.into(),
        parent: Some(parent.into()),
        branch,
        message: Message::assistant(format!("{prefill}{rest}")),
        prefill: Some(prefill.into()),
        origin: None,
    }
}

/// A tool result the target received, written by `origin`.
pub fn tool_result(
    id: &str,
    parent: &str,
    branch: u32,
    message: Message,
    origin: Origin,
) -> EventKind {
    EventKind::Target {
        id: id.into(),
        parent: Some(parent.into()),
        branch,
        message,
        prefill: None,
        origin: Some(origin),
    }
}

/// A citation of `quote` in `message`, checked (`Some`) or not.
pub fn citation(message: &str, quote: &str, verified: Option<bool>) -> Citation {
    Citation { message: message.into(), quote: quote.into(), verified, ..Citation::default() }
}

/// A dimension's score with its justification and citations.
pub fn dimension_score(score: u8, justification: &str, citations: Vec<Citation>) -> DimensionScore {
    DimensionScore { score, justification: justification.into(), citations, samples: None }
}

/// Builds a [`Transcript`]. Defaults: agar version `0`, a scenario with the
/// audit's id at `s.md` (sha256 `x`, no title, tags or instructions), no
/// models, started at the Unix epoch and not finished, status done, no
/// events, usage, verdicts or cost; events are stamped at the Unix epoch.
#[derive(Debug, Clone)]
pub struct TranscriptBuilder {
    t: Transcript,
    event_time: DateTime<Utc>,
}

impl TranscriptBuilder {
    pub fn new(run_id: &str, audit_id: &str) -> TranscriptBuilder {
        TranscriptBuilder {
            t: Transcript {
                schema_version: agar_core::SCHEMA_VERSION,
                run_id: run_id.into(),
                audit_id: audit_id.into(),
                agar_version: "0".into(),
                scenario: ScenarioInfo {
                    id: audit_id.into(),
                    title: None,
                    path: "s.md".into(),
                    sha256: "x".into(),
                    tags: vec![],
                    language: "en".into(),
                    instructions: String::new(),
                    repeat: 0,
                    generated: None,
                },
                models: BTreeMap::new(),
                started_at: DateTime::<Utc>::UNIX_EPOCH,
                finished_at: None,
                status: AuditStatus::Done,
                events: vec![],
                usage: BTreeMap::new(),
                verdicts: vec![],
                cost: None,
                prompt_hashes: BTreeMap::new(),
            },
            event_time: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    pub fn agar_version(mut self, version: &str) -> Self {
        self.t.agar_version = version.into();
        self
    }

    /// The scenario's id (by default the audit's).
    pub fn scenario(mut self, id: &str) -> Self {
        self.t.scenario.id = id.into();
        self
    }

    pub fn title(mut self, title: &str) -> Self {
        self.t.scenario.title = Some(title.into());
        self
    }

    /// The scenario file's path and sha256.
    pub fn scenario_file(mut self, path: &str, sha256: &str) -> Self {
        self.t.scenario.path = path.into();
        self.t.scenario.sha256 = sha256.into();
        self
    }

    pub fn tags(mut self, tags: &[&str]) -> Self {
        self.t.scenario.tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    /// The instruction the auditor was given.
    pub fn instructions(mut self, text: &str) -> Self {
        self.t.scenario.instructions = text.into();
        self
    }

    /// The model reference of `role`.
    pub fn model(mut self, role: RoleName, reference: &str) -> Self {
        self.t.models.insert(role, reference.into());
        self
    }

    /// Every role's model reference at once.
    pub fn models(mut self, models: BTreeMap<RoleName, String>) -> Self {
        self.t.models = models;
        self
    }

    pub fn started(mut self, at: DateTime<Utc>) -> Self {
        self.t.started_at = at;
        self
    }

    pub fn finished(mut self, at: DateTime<Utc>) -> Self {
        self.t.finished_at = Some(at);
        self
    }

    pub fn status(mut self, status: AuditStatus) -> Self {
        self.t.status = status;
        self
    }

    /// The time stamped on the events added after this call.
    pub fn events_at(mut self, at: DateTime<Utc>) -> Self {
        self.event_time = at;
        self
    }

    /// One more event, stamped with the current event time.
    pub fn event(mut self, kind: EventKind) -> Self {
        self.t.events.push(Event { at: self.event_time, kind });
        self
    }

    /// Events added as they are.
    pub fn events(mut self, events: impl IntoIterator<Item = Event>) -> Self {
        self.t.events.extend(events);
        self
    }

    /// A conversation on branch 0, each message after the previous one:
    /// `M1`, `M2`, ... (numbered on from the target messages already there).
    pub fn conversation(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        for message in messages {
            let n = self.t.target_nodes().count();
            let parent = (n > 0).then(|| format!("M{n}"));
            self = self.event(target(&format!("M{}", n + 1), parent.as_deref(), 0, message));
        }
        self
    }

    /// Tokens `role` used over the audit.
    pub fn usage(mut self, role: RoleName, input_tokens: u64, output_tokens: u64) -> Self {
        self.t.usage.insert(role, Usage { input_tokens, output_tokens, ..Usage::default() });
        self
    }

    /// One more verdict (the last one added is the latest).
    pub fn verdict(mut self, verdict: Verdict) -> Self {
        self.t.verdicts.push(verdict);
        self
    }

    pub fn cost(mut self, cost: agar_core::Cost) -> Self {
        self.t.cost = Some(cost);
        self
    }

    pub fn build(self) -> Transcript {
        self.t
    }
}

/// Builds a [`Verdict`]. Defaults: judge `openai/judge`, prompt hash `h`,
/// made at the Unix epoch, status ok, no scores, summary, highlights or
/// samples, no tokens.
#[derive(Debug, Clone)]
pub struct VerdictBuilder {
    v: Verdict,
}

impl Default for VerdictBuilder {
    fn default() -> Self {
        VerdictBuilder::new()
    }
}

impl VerdictBuilder {
    pub fn new() -> VerdictBuilder {
        VerdictBuilder {
            v: Verdict {
                judge_model: "openai/judge".into(),
                prompt_hash: "h".into(),
                created_at: DateTime::<Utc>::UNIX_EPOCH,
                status: VerdictStatus::Ok,
                scores: BTreeMap::new(),
                summary: String::new(),
                highlights: vec![],
                unverified_citations: 0,
                samples: vec![],
                usage: Usage::default(),
                fit: None,
            },
        }
    }

    pub fn judge_model(mut self, model: &str) -> Self {
        self.v.judge_model = model.into();
        self
    }

    pub fn prompt_hash(mut self, hash: &str) -> Self {
        self.v.prompt_hash = hash.into();
        self
    }

    pub fn created(mut self, at: DateTime<Utc>) -> Self {
        self.v.created_at = at;
        self
    }

    pub fn status(mut self, status: VerdictStatus) -> Self {
        self.v.status = status;
        self
    }

    /// `score` on `dimension`, with no justification or citations.
    pub fn score(self, dimension: &str, score: u8) -> Self {
        self.scored(dimension, dimension_score(score, "", vec![]))
    }

    /// A full score on `dimension`; the citations it holds that were
    /// checked and not found are added to the unverified count.
    pub fn scored(mut self, dimension: &str, score: DimensionScore) -> Self {
        self.v.unverified_citations +=
            score.citations.iter().filter(|c| c.verified == Some(false)).count();
        self.v.scores.insert(dimension.into(), score);
        self
    }

    pub fn summary(mut self, summary: &str) -> Self {
        self.v.summary = summary.into();
        self
    }

    pub fn highlight(mut self, citation: Citation) -> Self {
        self.v.highlights.push(citation);
        self
    }

    /// The count of citations not found in the transcript, as the judge recorded it.
    pub fn unverified(mut self, count: usize) -> Self {
        self.v.unverified_citations = count;
        self
    }

    pub fn sample(mut self, sample: JudgeSample) -> Self {
        self.v.samples.push(sample);
        self
    }

    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> Self {
        self.v.usage = Usage { input_tokens, output_tokens, ..Usage::default() };
        self
    }

    pub fn build(self) -> Verdict {
        self.v
    }
}
