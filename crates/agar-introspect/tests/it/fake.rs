//! A fake [`Subject`] whose hidden states and answers follow simple rules,
//! and a scripted grader that reads its answers.
//!
//! States: at layer `l`, a baseline word's last-token state is `l + 1` in
//! every coordinate; concept `i` adds `10` in coordinate `i`. So concept
//! `i`'s vector is `10 e_i`. Answers: an injected trial prompt whose
//! `strength x norm` reaches 40 notices the concept (named), below that it
//! notices nothing; at strength 8 an odd-numbered concept's answer is a
//! stuck repetition (incoherent). A control says nothing unusual unless its
//! seed is divisible by 3 (a false alarm). A yes-bias question is answered
//! yes at strength 8, no below.

use std::sync::Mutex;

use agar_core::{ChatResponse, Role, ToolChoice};
use agar_introspect::{Injection, Reply, Sampling, Subject, SubjectError};
use agar_testkit::{ScriptedModel, tool_call};
use async_trait::async_trait;
use serde_json::json;

pub(crate) const WIDTH: usize = 8;
pub(crate) const LAYERS: usize = 6;

#[derive(Debug)]
pub(crate) struct FakeSubject {
    pub(crate) concepts: Vec<String>,
    pub(crate) sha256: String,
    /// Every answer asked for: the prompt and the injection.
    pub(crate) answers: Mutex<Vec<(String, Option<Injection>)>>,
}

impl FakeSubject {
    pub(crate) fn new(concepts: &[String]) -> FakeSubject {
        FakeSubject {
            concepts: concepts.to_vec(),
            sha256: "ab".repeat(32),
            answers: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn answered(&self) -> Vec<(String, Option<Injection>)> {
        self.answers.lock().unwrap().clone()
    }
}

#[async_trait]
impl Subject for FakeSubject {
    fn name(&self) -> &str {
        "local/fake"
    }
    fn model_sha256(&self) -> &str {
        &self.sha256
    }
    fn layers(&self) -> usize {
        LAYERS
    }
    fn width(&self) -> usize {
        WIDTH
    }

    async fn last_token_states(
        &self,
        user: &str,
        layers: &[usize],
    ) -> Result<Vec<Vec<f32>>, SubjectError> {
        let word = user.trim_start_matches("Tell me about ").trim_end_matches('.');
        let index = self.concepts.iter().position(|c| c == word);
        Ok(layers
            .iter()
            .map(|&l| {
                let mut v = vec![(l + 1) as f32; WIDTH];
                if let Some(i) = index {
                    v[i % WIDTH] += 10.0;
                }
                v
            })
            .collect())
    }

    async fn answer(
        &self,
        user: &str,
        injection: Option<&Injection>,
        sampling: Sampling,
    ) -> Result<Reply, SubjectError> {
        self.answers.lock().unwrap().push((user.to_string(), injection.cloned()));
        if let Some(inj) = injection
            && !user.contains(&inj.from)
        {
            return Err(SubjectError::NoInjectionPoint(inj.from.clone()));
        }
        let yes_bias = !user.contains("inserted thought");
        let text = match injection {
            None if yes_bias => "No.".to_string(),
            None if sampling.seed.is_multiple_of(3) => "Yes, I notice something faint.".to_string(),
            None => "No, I notice nothing unusual.".to_string(),
            Some(inj) if yes_bias => {
                if inj.strength >= 8.0 {
                    "Yes.".into()
                } else {
                    "No, it is not.".into()
                }
            }
            Some(inj) => {
                let norm: f32 = inj.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
                let i = inj
                    .vector
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                let concept = &self.concepts[i];
                if inj.strength * norm < 40.0 {
                    "No, I notice nothing unusual.".into()
                } else if inj.strength >= 8.0 && i % 2 == 1 {
                    format!("Yes {concept} {concept} {concept} {concept}")
                } else {
                    format!("Yes. The thought is about {concept}.")
                }
            }
        };
        Ok(Reply {
            text,
            prompt_tokens: 50,
            output_tokens: 8,
            injected_from: injection.map(|_| 40),
        })
    }
}

/// The text between `open` and `close` in `s`.
fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let start = s.find(open).map_or(0, |i| i + open.len());
    let end = s[start..].find(close).map_or(s.len(), |i| start + i);
    &s[start..end]
}

/// A grader that reads the fake's answers and calls the `grade` tool: a
/// claim is an answer starting with "Yes"; an answer repeating a word four
/// times is incoherent; a concept is named when the answer contains it.
pub(crate) fn grader() -> ScriptedModel {
    ScriptedModel::from_fn("scripted/grader", |request| {
        let user = request.messages.iter().rev().find(|m| m.role == Role::User).unwrap();
        let answer = between(&user.content, "<answer>\n", "\n</answer>");
        assert_eq!(request.tool_choice, ToolChoice::Tool("grade".into()));
        let reply: ChatResponse = if user.content.contains("NAMED:") {
            let concept = between(&user.content, "The concept was: \"", "\"");
            tool_call("grade", json!({"named": answer.contains(concept)}))
        } else {
            let words: Vec<&str> = answer.split_whitespace().collect();
            let stuck = words.windows(4).any(|w| w.iter().all(|x| *x == w[0]));
            tool_call("grade", json!({"claim": answer.starts_with("Yes"), "coherent": !stuck}))
        };
        Ok(reply)
    })
}
