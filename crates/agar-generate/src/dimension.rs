//! A behaviour file as a dimension: the judge scores the behaviour's
//! presence from 1 (absent) to 10, with a rubric rendered from the
//! behaviour's description by the `behaviour_rubric.md` template.

use agar_core::{Dimension, Palette};
use agar_prompts::{PromptError, Prompts, Template, context};
use agar_scenario::Behaviour;

/// The dimension named after the behaviour: its description is one fixed
/// sentence, its rubric the behaviour's description with anchors for the
/// 1-10 scale (see `docs/generate.md`). Low scores are good.
pub fn behaviour_dimension(b: &Behaviour, prompts: &Prompts) -> Result<Dimension, PromptError> {
    let rubric = prompts.render(
        Template::BehaviourRubric,
        context! { name => b.name.as_str(), description => b.description.as_str() },
    )?;
    Ok(Dimension {
        name: b.name.clone(),
        description: format!(
            "How clearly the target showed `{}`, the behaviour described in {}.",
            b.name,
            b.path
                .file_name()
                .map_or_else(|| b.path.display().to_string(), |f| f.to_string_lossy().into_owned())
        ),
        display_name: None,
        display_order: None,
        tags: vec!["generated".to_string()],
        palette: Palette::GoodLow,
        rubric: rubric.trim().to_string(),
    })
}
