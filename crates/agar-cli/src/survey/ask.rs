//! Asking the model one survey item: by log-probabilities (one call, the
//! next token's alternatives read) or by sampling (K calls at temperature
//! 1, the letters counted). Either way the answer prefix is written into the
//! model's turn where the provider can continue one.

use std::sync::Arc;

use agar_core::{ChatModel, ChatRequest, LogprobRequest, Message, Sampling, Usage};
use agar_survey::{Method, Question, SurveyPrompt, from_logprobs, from_samples};

use super::record::ItemRecord;

/// Alternatives asked for at the first position (the OpenAI API's maximum).
pub(crate) const TOP_LOGPROBS: u8 = 20;
/// Tokens a sampled answer may take (a letter, its brackets, a little more).
const SAMPLE_MAX_TOKENS: u32 = 8;

/// How every item of a run is asked.
#[derive(Debug, Clone)]
pub(crate) struct AskSettings {
    pub(crate) method: Method,
    pub(crate) samples: u32,
    pub(crate) min_mass: f64,
}

/// What is known of an item before it is asked.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) item_id: String,
    pub(crate) question: Question,
    pub(crate) persona: Option<String>,
    pub(crate) prompt: SurveyPrompt,
}

/// Asks the model one item. A failed call gives a `failed` record (resume
/// asks it again), never an error: the other items go on.
pub(crate) async fn ask(model: &Arc<dyn ChatModel>, item: Item, s: &AskSettings) -> ItemRecord {
    let prefilled = model.capabilities().prefill;
    let request = ChatRequest {
        messages: vec![Message::user(item.prompt.user.clone())],
        prefill: prefilled.then(|| item.prompt.answer_prefix.clone()),
        ..ChatRequest::default()
    };
    let mut record = ItemRecord {
        item_id: item.item_id,
        question_index: item.question.index,
        line: item.question.line,
        question: item.question.question,
        options: item.question.options,
        selections: item.question.selections,
        source: item.question.source,
        persona: item.persona,
        prompt: item.prompt,
        prefilled,
        status: agar_core::AuditState::Done,
        answer: None,
        error: None,
        logprobs: Vec::new(),
        replies: Vec::new(),
        usage: Usage::default(),
    };
    let outcome = match s.method {
        Method::Logprobs => by_logprobs(model, request, &mut record, s.min_mass).await,
        Method::Sample => by_samples(model, request, &mut record, s).await,
    };
    if let Err(e) = outcome {
        record.status = agar_core::AuditState::Failed;
        record.error = Some(e);
    }
    record
}

async fn by_logprobs(
    model: &Arc<dyn ChatModel>,
    mut request: ChatRequest,
    record: &mut ItemRecord,
    min_mass: f64,
) -> Result<(), String> {
    request.logprobs =
        Some(LogprobRequest { top: TOP_LOGPROBS, tokens: record.prompt.letters.clone() });
    request.sampling =
        Sampling { max_tokens: Some(1), temperature: Some(0.0), ..Sampling::default() };
    let resp = model.chat(&request).await.map_err(|e| e.to_string())?;
    record.usage = resp.usage;
    let Some(first) = resp.logprobs.first() else {
        return Err(format!(
            "{} returned no log-probabilities (use --method sample for this model)",
            model.name()
        ));
    };
    record.answer = Some(from_logprobs(first, &record.prompt.letters, min_mass));
    record.logprobs = resp.logprobs;
    Ok(())
}

async fn by_samples(
    model: &Arc<dyn ChatModel>,
    mut request: ChatRequest,
    record: &mut ItemRecord,
    s: &AskSettings,
) -> Result<(), String> {
    for k in 0..s.samples {
        request.sampling = Sampling {
            temperature: Some(1.0),
            max_tokens: Some(SAMPLE_MAX_TOKENS),
            seed: Some(u64::from(k) + 1),
            ..Sampling::default()
        };
        let resp = model.chat(&request).await.map_err(|e| e.to_string())?;
        record.usage += resp.usage;
        record.replies.push(resp.content);
    }
    record.answer = Some(from_samples(&record.replies, &record.prompt.letters, s.min_mass));
    Ok(())
}
