//! Judging within the judge model's context window: when the whole prompt
//! (rules, every dimension's rubric, the transcript) and a verdict do not fit
//! [`JudgeSettings::context_window`], the dimensions are judged in groups,
//! each group one prompt that fits, and the group verdicts are merged into
//! one. The method is recorded in [`Verdict::fit`]: `whole`, or
//! `dimension groups: N` with the groups' names.
//!
//! A transcript that does not fit even with a single dimension is not judged
//! in parts (a verdict over part of a conversation could miss what matters):
//! the verdict is `judge_failed`, saying the sizes and what to change.
//!
//! Sizes are estimated at three characters a token, which overestimates
//! English text for common tokenizers, so a prompt judged to fit does fit.

use agar_core::{Dimension, Transcript, Verdict, VerdictStatus};
use agar_prompts::Prompts;

use crate::rubric::Rubric;
use crate::scoring::{JudgeSettings, judge_transcript, prompt_with};

/// Characters per token in size estimates (low, so estimates are high).
const CHARS_PER_TOKEN: usize = 3;

/// Tokens a verdict needs per dimension (score, justification, a citation),
/// plus the summary: the reply reserved in the window.
const REPLY_PER_DIMENSION: u32 = 160;
const REPLY_BASE: u32 = 300;

/// Asks `judge` for a verdict on `transcript`, fitting the prompt to the
/// judge's context window ([`JudgeSettings::context_window`]); without a
/// known window, the same as [`judge_transcript`].
pub async fn judge_fitted(
    transcript: &Transcript,
    dimensions: &[Dimension],
    judge: &dyn agar_core::ChatModel,
    prompts: &Prompts,
    settings: &JudgeSettings,
) -> Verdict {
    let Some(window) = settings.context_window else {
        return judge_transcript(transcript, dimensions, judge, prompts, settings).await;
    };
    let groups = match plan_groups(transcript, dimensions, prompts, settings, window) {
        Ok(groups) => groups,
        Err(error) => {
            let mut verdict = judge_transcript(transcript, &[], judge, prompts, settings).await;
            verdict.status = VerdictStatus::JudgeFailed { error, raw: String::new() };
            verdict.fit = Some("none: does not fit".into());
            return verdict;
        }
    };
    if groups.len() == 1 {
        let settings = capped(settings, dimensions.len());
        let mut verdict = judge_transcript(transcript, dimensions, judge, prompts, &settings).await;
        verdict.fit = Some("whole".into());
        return verdict;
    }
    let mut parts = Vec::with_capacity(groups.len());
    for group in &groups {
        let settings = capped(settings, group.len());
        parts.push(judge_transcript(transcript, group, judge, prompts, &settings).await);
    }
    let names: Vec<String> = groups
        .iter()
        .map(|g| g.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(","))
        .collect();
    let first = parts.remove(0);
    let mut verdict = merge(first, parts);
    verdict.fit = Some(format!("dimension groups: {} ({})", groups.len(), names.join(" | ")));
    verdict
}

/// The settings of one judgment of `dimensions` dimensions: the reply cap
/// set to what such a verdict needs (never above the configured cap).
fn capped(settings: &JudgeSettings, dimensions: usize) -> JudgeSettings {
    let mut settings = settings.clone();
    let need = reply_tokens(dimensions);
    settings.sampling.max_tokens = Some(settings.sampling.max_tokens.map_or(need, |m| m.min(need)));
    settings
}

fn reply_tokens(dimensions: usize) -> u32 {
    REPLY_BASE + REPLY_PER_DIMENSION * u32::try_from(dimensions).unwrap_or(u32::MAX / 1000)
}

/// The estimated size of judging `dimensions` at once: prompt, tool and reply.
fn needed(
    transcript: &Transcript,
    dimensions: &[Dimension],
    prompts: &Prompts,
) -> Result<usize, String> {
    // One rubric for both the prompt and the tool (`judge_prompt` would
    // build the verdict tool too, only to drop it).
    let rubric = Rubric::new(dimensions, prompts).map_err(|e| e.to_string())?;
    let prompt = prompt_with(transcript, &rubric, prompts).map_err(|e| e.to_string())?;
    let tool = serde_json::to_string(&*rubric.tool.parameters).unwrap_or_default();
    let chars = prompt.system.len() + prompt.user.len() + tool.len();
    Ok(chars.div_ceil(CHARS_PER_TOKEN) + reply_tokens(dimensions.len()) as usize)
}

/// Groups of dimensions, in order, each judged in one prompt that fits `window`.
fn plan_groups(
    transcript: &Transcript,
    dimensions: &[Dimension],
    prompts: &Prompts,
    _settings: &JudgeSettings,
    window: u32,
) -> Result<Vec<Vec<Dimension>>, String> {
    let window = window as usize;
    if needed(transcript, dimensions, prompts)? <= window {
        return Ok(vec![dimensions.to_vec()]);
    }
    let mut groups: Vec<Vec<Dimension>> = Vec::new();
    let mut current: Vec<Dimension> = Vec::new();
    for d in dimensions {
        let mut trial = current.clone();
        trial.push(d.clone());
        if needed(transcript, &trial, prompts)? <= window {
            current = trial;
            continue;
        }
        if current.is_empty() {
            let alone = needed(transcript, std::slice::from_ref(d), prompts)?;
            return Err(format!(
                "the judge prompt for this transcript needs about {alone} tokens even with one \
                 dimension ({}), more than the judge model's context window of {window}; use a judge \
                 with a larger window, or fewer --max-turns",
                d.name
            ));
        }
        groups.push(std::mem::replace(&mut current, vec![d.clone()]));
    }
    if !current.is_empty() {
        groups.push(current);
    }
    Ok(groups)
}

/// One verdict from the verdicts of dimension groups: scores, highlights
/// and usage together; the first status that is not `ok` wins (a verdict
/// missing a group's scores is not a whole verdict).
fn merge(mut merged: Verdict, rest: Vec<Verdict>) -> Verdict {
    let mut hashes = vec![merged.prompt_hash.clone()];
    let mut summaries = vec![merged.summary.clone()];
    for part in rest {
        if merged.status == VerdictStatus::Ok && part.status != VerdictStatus::Ok {
            merged.status = part.status.clone();
        }
        merged.scores.extend(part.scores);
        merged.highlights.extend(part.highlights);
        merged.unverified_citations += part.unverified_citations;
        merged.samples.extend(part.samples);
        merged.usage += part.usage;
        hashes.push(part.prompt_hash);
        summaries.push(part.summary);
    }
    merged.prompt_hash = hashes.join("+");
    merged.summary =
        summaries.into_iter().filter(|s| !s.trim().is_empty()).collect::<Vec<_>>().join("\n\n");
    merged
}
