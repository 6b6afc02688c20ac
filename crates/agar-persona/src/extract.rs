//! Extraction: every extraction question answered under each instruction
//! of each pair, both answers judged, pairs kept where the trait answer
//! scores at least [`KEEP_AT`] and the opposite one below it (both at least
//! [`COHERENT_AT`] coherent), and per layer the vector
//! `mean(kept trait answers) - mean(kept opposite answers)` of the hidden
//! state averaged over each answer's tokens (not normalised).

use std::collections::BTreeMap;

use agar_core::{ChatModel, ChatRequest, Message, Sampling};
use agar_local::{LocalModel, ModelIdentity, TeacherForce, VectorFile, VectorKind, VectorMeta};
use serde::{Deserialize, Serialize};

use crate::judge::Scores;
use crate::{LoadedTrait, PersonaError};

/// A trait answer must score at least this (and an opposite one less).
pub const KEEP_AT: u8 = 50;
/// Both answers of a kept pair must be at least this coherent.
pub const COHERENT_AT: u8 = 50;

/// Which instruction of a pair an answer was written under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The instruction that elicits the trait.
    Trait,
    /// The one that suppresses it.
    Opposite,
    /// A sweep's answer: a neutral instruction, the vector steering.
    Steered,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Side::Trait => "trait",
            Side::Opposite => "opposite",
            Side::Steered => "steered",
        }
    }
}

/// One answer to write: a question under one instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// `qQQ-pP-SIDE`, the transcript's audit id.
    pub id: String,
    pub question_index: usize,
    pub pair_index: usize,
    pub side: Side,
    pub system: String,
    pub question: String,
}

/// An answered and judged sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    pub sample: Sample,
    pub answer: String,
    /// `Err` when the judge's reply could not be read.
    pub scores: Result<Scores, String>,
}

/// The samples of `--limit` questions (all when `None`): each question
/// under each instruction of each pair.
pub fn plan(t: &LoadedTrait, limit: Option<usize>) -> Vec<Sample> {
    let f = &t.file;
    let questions = f.extraction_questions.iter().take(limit.unwrap_or(usize::MAX));
    let mut out = Vec::new();
    for (qi, question) in questions.enumerate() {
        for (pi, pair) in f.instructions.iter().enumerate() {
            for (side, system) in [(Side::Trait, &pair.elicit), (Side::Opposite, &pair.opposite)] {
                out.push(Sample {
                    id: format!("q{qi:02}-p{pi}-{}", side.label()),
                    question_index: qi,
                    pair_index: pi,
                    side,
                    system: system.clone(),
                    question: question.clone(),
                });
            }
        }
    }
    out
}

/// The chat request of a sample (also how its tokens are rebuilt).
pub fn chat_request(system: &str, question: &str, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system(system), Message::user(question)],
        sampling: Sampling {
            temperature: Some(0.0),
            max_tokens: Some(max_tokens),
            ..Sampling::default()
        },
        ..ChatRequest::default()
    }
}

/// Writes a sample's answer and has it judged.
pub async fn answer_and_judge(
    target: &LocalModel,
    judge: &dyn ChatModel,
    t: &LoadedTrait,
    sample: &Sample,
    max_tokens: u32,
) -> Result<Judged, PersonaError> {
    let reply = target
        .chat(&chat_request(&sample.system, &sample.question, max_tokens))
        .await
        .map_err(|e| PersonaError::Run(format!("the target failed on {}: {e}", sample.id)))?;
    let answer = reply.content.trim().to_string();
    let scores = crate::judge::score(judge, &t.file, &sample.question, &answer).await;
    Ok(Judged { sample: sample.clone(), answer, scores })
}

/// Why a pair was dropped, or that it was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairOutcome {
    pub question_index: usize,
    pub pair_index: usize,
    pub kept: bool,
    /// Empty when kept.
    pub reason: String,
}

/// The pairs' outcomes, in question then pair order. A pair with a side
/// missing or unjudged is dropped.
pub fn select(judged: &[Judged]) -> Vec<PairOutcome> {
    let mut pairs: BTreeMap<(usize, usize), [Option<&Judged>; 2]> = BTreeMap::new();
    for j in judged {
        let slot = pairs.entry((j.sample.question_index, j.sample.pair_index)).or_default();
        slot[usize::from(j.sample.side == Side::Opposite)] = Some(j);
    }
    pairs
        .into_iter()
        .map(|((q, p), [tr, op])| {
            let reason = match (tr.map(|j| &j.scores), op.map(|j| &j.scores)) {
                (None, _) | (_, None) => "a side was not answered".to_string(),
                (Some(Err(e)), _) | (_, Some(Err(e))) => format!("the judge failed: {e}"),
                (Some(Ok(a)), Some(Ok(b))) => {
                    let mut why = Vec::new();
                    if a.trait_score < KEEP_AT {
                        why.push(format!("trait answer scored {} < {KEEP_AT}", a.trait_score));
                    }
                    if b.trait_score >= KEEP_AT {
                        why.push(format!("opposite answer scored {} >= {KEEP_AT}", b.trait_score));
                    }
                    if a.coherence.min(b.coherence) < COHERENT_AT {
                        why.push(format!(
                            "coherence {} / {} < {COHERENT_AT}",
                            a.coherence, b.coherence
                        ));
                    }
                    why.join("; ")
                }
            };
            PairOutcome { question_index: q, pair_index: p, kept: reason.is_empty(), reason }
        })
        .collect()
}

/// The token sequence of an answer in context, and where the answer starts.
pub fn answer_tokens(
    target: &LocalModel,
    system: &str,
    question: &str,
    answer: &str,
) -> Result<(Vec<u32>, usize), PersonaError> {
    let prompt = target
        .prompt_tokens(&chat_request(system, question, 1))
        .map_err(|e| PersonaError::Run(e.to_string()))?;
    let start = prompt.len();
    let mut tokens = prompt;
    tokens.extend(target.engine().tokenizer().encode(answer, false));
    Ok((tokens, start))
}

/// Per layer, the mean hidden state over an answer's tokens (every layer
/// of the model), under the model's own steering (`?steer=`); `None` for
/// an empty answer.
pub async fn answer_means(
    target: &LocalModel,
    tokens: Vec<u32>,
    start: usize,
) -> Result<Option<Vec<Vec<f32>>>, PersonaError> {
    let engine = target.engine();
    if start >= tokens.len() {
        return Ok(None);
    }
    let layers: Vec<usize> = (0..engine.info().config.layers).collect();
    let end = tokens.len();
    let h = engine
        .teacher_force(TeacherForce {
            tokens,
            layers: layers.clone(),
            steer: target.steering().to_vec(),
            ..TeacherForce::default()
        })
        .await
        .map_err(|e| PersonaError::Run(e.to_string()))?;
    Ok(layers.iter().map(|l| h.mean(*l, start..end)).collect())
}

/// The trait vector from the kept pairs' answers: every layer of the model.
pub async fn vectors(
    target: &LocalModel,
    t: &LoadedTrait,
    judged: &[Judged],
    outcomes: &[PairOutcome],
    judge_name: &str,
) -> Result<VectorFile, PersonaError> {
    let engine = target.engine();
    let cfg = &engine.info().config;
    let kept: Vec<(usize, usize)> =
        outcomes.iter().filter(|o| o.kept).map(|o| (o.question_index, o.pair_index)).collect();
    let mut sums =
        [vec![vec![0.0f64; cfg.width]; cfg.layers], vec![vec![0.0f64; cfg.width]; cfg.layers]];
    let mut counts = [0u64; 2];
    for j in judged {
        if !kept.contains(&(j.sample.question_index, j.sample.pair_index)) {
            continue;
        }
        let (tokens, start) =
            answer_tokens(target, &j.sample.system, &j.sample.question, &j.answer)?;
        let Some(means) = answer_means(target, tokens, start).await? else { continue };
        let side = usize::from(j.sample.side == Side::Opposite);
        counts[side] += 1;
        for (acc, m) in sums[side].iter_mut().zip(&means) {
            for (a, x) in acc.iter_mut().zip(m) {
                *a += f64::from(*x);
            }
        }
    }
    if counts[0] == 0 || counts[1] == 0 {
        return Err(PersonaError::NothingKept(format!(
            "no pair was kept ({} judged answers): the vector cannot be computed; see the run's transcripts for the scores",
            judged.len()
        )));
    }
    let layers = (0..cfg.layers)
        .map(|l| {
            let v = (0..cfg.width)
                .map(|i| {
                    (sums[0][l][i] / counts[0] as f64 - sums[1][l][i] / counts[1] as f64) as f32
                })
                .collect();
            (l, v)
        })
        .collect();
    let dropped = outcomes.iter().filter(|o| !o.kept).count() as u64;
    Ok(VectorFile {
        meta: VectorMeta {
            kind: VectorKind::Trait,
            name: t.file.name.clone(),
            model: ModelIdentity::of(engine).map_err(|e| PersonaError::Run(e.to_string()))?,
            counts: BTreeMap::from([
                ("kept_pairs".into(), kept.len() as u64),
                ("dropped_pairs".into(), dropped),
                ("trait_answers".into(), counts[0]),
                ("opposite_answers".into(), counts[1]),
            ]),
            judge: Some(judge_name.to_string()),
            extra: BTreeMap::from([
                ("trait_file".into(), t.origin.clone()),
                ("trait_sha256".into(), t.sha256.clone()),
                ("method".into(), "mean over answer tokens, trait minus opposite".into()),
            ]),
        },
        layers,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn judged(q: usize, p: usize, side: Side, scores: Result<(u8, u8), &str>) -> Judged {
        Judged {
            sample: Sample {
                id: String::new(),
                question_index: q,
                pair_index: p,
                side,
                system: String::new(),
                question: String::new(),
            },
            answer: "a".into(),
            scores: scores
                .map(|(t, c)| Scores { trait_score: t, coherence: c })
                .map_err(str::to_string),
        }
    }

    #[test]
    fn the_plan_has_every_question_under_both_instructions_of_every_pair() {
        let t = LoadedTrait::load("evil").unwrap();
        let all = plan(&t, None);
        assert_eq!(all.len(), 10 * 3 * 2);
        let two = plan(&t, Some(2));
        assert_eq!(two.len(), 2 * 3 * 2);
        assert_eq!(two[0].id, "q00-p0-trait");
        assert_eq!(two[1].id, "q00-p0-opposite");
        assert_eq!(two[1].system, t.file.instructions[0].opposite);
    }

    #[test]
    fn pairs_are_kept_only_when_both_sides_pass() {
        use Side::{Opposite, Trait};
        let all = [
            judged(0, 0, Trait, Ok((50, 90))),
            judged(0, 0, Opposite, Ok((49, 90))),
            judged(0, 1, Trait, Ok((49, 90))),
            judged(0, 1, Opposite, Ok((10, 90))),
            judged(1, 0, Trait, Ok((90, 90))),
            judged(1, 0, Opposite, Ok((60, 90))),
            judged(1, 1, Trait, Ok((90, 49))),
            judged(1, 1, Opposite, Ok((0, 90))),
            judged(2, 0, Trait, Err("unreadable")),
            judged(2, 0, Opposite, Ok((0, 90))),
            judged(2, 1, Trait, Ok((90, 90))),
        ];
        let out = select(&all);
        let kept: Vec<bool> = out.iter().map(|o| o.kept).collect();
        assert_eq!(kept, [true, false, false, false, false, false]);
        assert!(out[1].reason.contains("trait answer scored 49"));
        assert!(out[2].reason.contains("opposite answer scored 60"));
        assert!(out[3].reason.contains("coherence 49 / 90"));
        assert!(out[4].reason.contains("the judge failed: unreadable"));
        assert_eq!(out[5].reason, "a side was not answered");
    }
}
