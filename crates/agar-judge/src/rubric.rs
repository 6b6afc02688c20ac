//! What a judge request holds that depends only on the dimensions and the
//! prompt templates, not on the transcript: the system prompt (the rules
//! and every dimension's rubric) and the `submit_verdict` tool. A run judges
//! hundreds of transcripts on one dimension set, and these two parts are
//! about nine tenths of each request (40 KB of rubrics and 35 KB of schema
//! for the built-in library), so they are built once per set and shared
//! ([`RubricCache`], held by [`crate::JudgeSettings`]).

use std::sync::{Arc, Mutex};

use agar_core::{Dimension, ToolDef};
use agar_prompts::{PromptError, Prompts, Serde, Template, Value, context};

use sha2::{Digest as _, Sha256};

use crate::answer::verdict_tool;

/// How many dimension sets a cache keeps (a run uses one, or a few when the
/// judge's context window makes it judge in groups).
const KEPT: usize = 8;

/// The transcript-independent parts of judging on one dimension set.
#[derive(Debug)]
pub struct Rubric {
    dimensions: Vec<Dimension>,
    /// sha256 of the system template the prompt was rendered with.
    template_hash: String,
    /// The rules and every dimension's rubric.
    pub system: Arc<str>,
    /// The `submit_verdict` tool for these dimensions.
    pub tool: ToolDef,
    /// sha256 fed the system prompt and a 0 byte: what every judgment's
    /// prompt hash starts with (see `scoring::prompt_with`), so the 40 KB
    /// are hashed once per rubric, not once per judgment.
    pub(crate) system_hashed: Sha256,
}

impl Rubric {
    /// Renders the system prompt and builds the verdict tool for `dimensions`.
    pub fn new(dimensions: &[Dimension], prompts: &Prompts) -> Result<Self, PromptError> {
        let dims: Vec<Value> = dimensions.iter().map(|d| Value::from(Serde(d))).collect();
        let system = prompts.render(Template::JudgeSystem, context! { dimensions => dims })?;
        let mut system_hashed = Sha256::new();
        system_hashed.update(system.as_bytes());
        system_hashed.update([0]);
        Ok(Self {
            system_hashed,
            dimensions: dimensions.to_vec(),
            template_hash: prompts.template_hash(Template::JudgeSystem),
            system: system.into(),
            tool: verdict_tool(dimensions),
        })
    }

    fn fits(&self, dimensions: &[Dimension], template_hash: &str) -> bool {
        self.template_hash == template_hash && self.dimensions == dimensions
    }
}

/// Rubrics already built, shared by clones (every judgment of a run).
#[derive(Debug, Clone, Default)]
pub struct RubricCache(Arc<Mutex<Vec<Arc<Rubric>>>>);

impl RubricCache {
    /// The rubric for `dimensions` under `prompts`, built on first use.
    pub fn get(
        &self,
        dimensions: &[Dimension],
        prompts: &Prompts,
    ) -> Result<Arc<Rubric>, PromptError> {
        let template_hash = prompts.template_hash(Template::JudgeSystem);
        let found = |kept: &[Arc<Rubric>]| {
            kept.iter().find(|r| r.fits(dimensions, &template_hash)).cloned()
        };
        if let Some(r) = found(&self.lock()) {
            return Ok(r);
        }
        // Built outside the lock: two judgments may both build the same
        // rubric at the start; the second copy is dropped.
        let built = Arc::new(Rubric::new(dimensions, prompts)?);
        let mut kept = self.lock();
        if let Some(r) = found(&kept) {
            return Ok(r);
        }
        if kept.len() == KEPT {
            kept.remove(0);
        }
        kept.push(built.clone());
        Ok(built)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Rubric>>> {
        // The list is valid whatever a panicking holder was doing.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rubric_per_dimension_set_and_template() {
        let cache = RubricCache::default();
        let prompts = Prompts::default();
        let all = crate::default_dimensions();
        let a = cache.get(&all, &prompts).expect("renders");
        let b = cache.clone().get(&all, &prompts).expect("renders");
        assert!(Arc::ptr_eq(&a, &b), "a clone of the cache shares what it built");
        assert!(Arc::ptr_eq(&a.tool.parameters, &b.tool.parameters));
        let fewer = cache.get(&all[..3], &prompts).expect("renders");
        assert!(!Arc::ptr_eq(&a, &fewer));
        assert_eq!(*fewer.tool.parameters, *verdict_tool(&all[..3]).parameters);
        assert!(a.system.len() > fewer.system.len());
        let overridden = Prompts::with_overrides(vec![(
            Template::JudgeSystem,
            "Rubrics: {{ dimensions | length }}".into(),
        )])
        .expect("a valid template");
        let other = cache.get(&all, &overridden).expect("renders");
        assert_eq!(&*other.system, format!("Rubrics: {}", all.len()));
    }
}
