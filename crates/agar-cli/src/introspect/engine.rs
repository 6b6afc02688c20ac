//! agar-local's engine as an introspection [`Subject`]: prompts rendered
//! with the model's own chat template, hidden states read by teacher
//! forcing, answers generated with the concept vector added from the token
//! holding the injection point on.

use std::path::Path;

use agar_core::{ChatRequest, Message};
use agar_introspect::{Injection, Reply, Sampling, Subject, SubjectError, injection_position};
use agar_local::{GenerateRequest, Hooks, LocalModel, LocalModels, Steering, TeacherForce};
use agar_models::Env;
use async_trait::async_trait;

use crate::exit::Failure;

/// A loaded local model, with the facts the experiment records.
#[derive(Debug)]
pub(crate) struct EngineSubject {
    model: LocalModel,
    reference: String,
    sha256: String,
    layers: usize,
    width: usize,
}

/// What `--model` names: a local model, or an input error saying why not.
pub(crate) fn target(reference: &str) -> Result<Target, Failure> {
    let reference = reference.trim();
    if let Some(path) = reference.strip_prefix("local:") {
        return Ok(Target::Path(path.trim().to_string()));
    }
    if let Some(name) = reference.strip_prefix("local/") {
        return Ok(Target::Named(name.trim().to_string()));
    }
    Err(Failure::Input(format!(
        "--model {reference:?}: introspection reads and adds to a model's hidden states, so the \
         model must be local (local/NAME or local:/path/model.gguf); the judge may be any model"
    )))
}

/// Opens `reference` (`local/NAME`, fetched into the cache on first use, or
/// `local:/path/model.gguf`) and hashes its file.
pub(crate) async fn open(reference: &str) -> Result<EngineSubject, Failure> {
    let target = target(reference)?;
    let reference = reference.trim().to_string();
    let settings = agar_models::local::local_settings(&Env::from_process())
        .map_err(|e| Failure::Input(e.to_string()))?;
    let r = reference.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let models = LocalModels::new();
        let model = match &target {
            Target::Named(name) => models.open_named(&r, name, &settings),
            Target::Path(path) => models.open_path(&r, Path::new(path), &settings),
        }?;
        let sha256 = String::new();
        Ok::<_, agar_local::LocalError>((model, sha256))
    })
    .await
    .map_err(|e| Failure::Run(format!("loading {reference}: {e}")))?;
    let (model, sha256) = opened.map_err(|e| Failure::Input(format!("{reference}: {e}")))?;
    let config = &model.engine().info().config;
    let (layers, width) = (config.layers, config.width);
    Ok(EngineSubject { model, reference, sha256, layers, width })
}

/// A local model reference, parsed.
#[derive(Debug)]
pub(crate) enum Target {
    Named(String),
    Path(String),
}

impl EngineSubject {
    /// `user` as one user message, chat-templated with the assistant's turn opened.
    fn tokens(&self, user: &str) -> Result<Vec<u32>, SubjectError> {
        let request = ChatRequest { messages: vec![Message::user(user)], ..ChatRequest::default() };
        self.model.prompt_tokens(&request).map_err(model_error)
    }
}

fn model_error(e: agar_local::LocalError) -> SubjectError {
    SubjectError::Model(e.to_string())
}

#[async_trait]
impl Subject for EngineSubject {
    fn name(&self) -> &str {
        &self.reference
    }
    fn model_sha256(&self) -> &str {
        &self.sha256
    }
    fn layers(&self) -> usize {
        self.layers
    }
    fn width(&self) -> usize {
        self.width
    }

    async fn last_token_states(
        &self,
        user: &str,
        layers: &[usize],
    ) -> Result<Vec<Vec<f32>>, SubjectError> {
        let tokens = self.tokens(user)?;
        let last = tokens.len().saturating_sub(1);
        let force = TeacherForce { tokens, layers: layers.to_vec(), ..TeacherForce::default() };
        let states = self.model.engine().teacher_force(force).await.map_err(model_error)?;
        layers
            .iter()
            .map(|&l| {
                states.layer(l).and_then(|s| s.get(last)).cloned().ok_or_else(|| {
                    SubjectError::Shape(format!("no hidden state at layer {l}, position {last}"))
                })
            })
            .collect()
    }

    async fn answer(
        &self,
        user: &str,
        injection: Option<&Injection>,
        sampling: Sampling,
    ) -> Result<Reply, SubjectError> {
        let tokens = self.tokens(user)?;
        let tokenizer = self.model.engine().tokenizer();
        let mut steer = Vec::new();
        let mut injected_from = None;
        if let Some(inj) = injection {
            let at = injection_position(tokens.iter().map(|&id| tokenizer.bytes(id)), &inj.from)
                .ok_or_else(|| SubjectError::NoInjectionPoint(inj.from.clone()))?;
            injected_from = Some(at);
            steer.push(Steering::new(inj.layer, inj.vector.clone(), inj.strength).starting_at(at));
        }
        let prompt_tokens = tokens.len();
        let request = GenerateRequest {
            temperature: sampling.temperature,
            seed: sampling.seed,
            hooks: Hooks { capture: Vec::new(), steer },
            ..GenerateRequest::greedy(tokens, sampling.max_tokens as usize)
        };
        let g = self.model.engine().generate(request).await.map_err(model_error)?;
        Ok(Reply { text: g.text, prompt_tokens, output_tokens: g.output_tokens, injected_from })
    }
}
