//! The embedded templates and the strict environment that renders them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use minijinja::{Environment, UndefinedBehavior, Value};
use sha2::{Digest, Sha256};

/// Declares every template once: its variant, file name and purpose.
macro_rules! templates {
    ($($(#[doc = $doc:literal])* $variant:ident => $file:literal,)*) => {
        /// The templates agar knows, by purpose.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Template {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Template {
            pub const ALL: &'static [Template] = &[$(Template::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Template::$variant => $file,)*
                }
            }

            pub(crate) fn source(self) -> &'static str {
                match self {
                    $(Template::$variant => include_str!(concat!("../templates/", $file)),)*
                }
            }
        }
    };
}

templates! {
    /// The auditor's system prompt: the scenario, its tools, guidance.
    AuditorSystem => "auditor_system.md",
    /// The first user message to the auditor.
    AuditorKickoff => "auditor_kickoff.md",
    /// Sent to the auditor when it answered without calling a tool.
    AuditorNudge => "auditor_nudge.md",
    /// Sent to a guided auditor before each turn: which tool to call now and why.
    AuditorGuide => "auditor_guide.md",
    /// The simulated environment's system prompt: tools, hidden descriptions, briefings.
    EnvironmentSystem => "environment_system.md",
    /// One tool call for the environment to answer, with the world state and history.
    EnvironmentCall => "environment_call.md",
    /// The realism filter's system prompt.
    RealismSystem => "realism_system.md",
    /// One proposed auditor action for the realism filter to score.
    RealismUser => "realism_user.md",
    /// The judge's system prompt: rules and dimensions.
    JudgeSystem => "judge_system.md",
    /// The judge's user message: the scenario and the rendered transcript.
    JudgeUser => "judge_user.md",
    /// `agar generate`, stage 1: the system prompt asking for working notes on a behaviour.
    UnderstandingSystem => "understanding_system.md",
    /// `agar generate`, stage 1: the behaviour, notes and examples.
    UnderstandingUser => "understanding_user.md",
    /// `agar generate`, stage 2: the doctrine of a useful scenario, with the understanding.
    IdeationSystem => "ideation_system.md",
    /// `agar generate`, stage 2: asks for one base scenario, naming those already written.
    IdeationBase => "ideation_base.md",
    /// `agar generate`, stage 2: asks for one variation of a base scenario along one axis.
    IdeationVariation => "ideation_variation.md",
    /// `agar generate`, stage 2: an answer failed validation; the errors, and a new call.
    IdeationRetry => "ideation_retry.md",
    /// The rubric of a behaviour file used as a dimension (its presence, 1-10).
    BehaviourRubric => "behaviour_rubric.md",
    /// `agar report --meta`: the system prompt of the suite-level summary.
    MetaSystem => "meta_system.md",
    /// `agar report --meta`: the run's figures and judge summaries.
    MetaUser => "meta_user.md",
}

/// A template failed to render (an undefined variable, a syntax error).
#[derive(Debug, thiserror::Error)]
#[error("prompt template {template}: {source}")]
pub struct PromptError {
    pub template: &'static str,
    #[source]
    pub source: minijinja::Error,
}

/// Texts kept by [`Prompts::render_shared`] before dead ones are swept.
const SHARED_SWEEP_AT: usize = 64;

/// Every template, ready to render. Build once and share.
#[derive(Debug)]
pub struct Prompts {
    env: Environment<'static>,
    /// The source of each template in use: embedded, or a user's override.
    sources: BTreeMap<Template, &'static str>,
    /// sha256 (hex) of each source in `sources`, computed once: every audit
    /// records them and every judgment hashes its prompts with them.
    hashes: BTreeMap<Template, String>,
    /// Texts of [`Prompts::render_shared`], by template and context, while
    /// some holder keeps them.
    shared: Mutex<HashMap<(Template, String), Weak<str>>>,
}

impl Default for Prompts {
    fn default() -> Self {
        Self::new()
    }
}

/// agar's rendering environment: strict undefined variables, no escaping,
/// trailing newlines kept.
pub(crate) fn environment<'s>() -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Prompts are plain text: no HTML escaping, keep the final newline.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default syntax with kept newlines is valid"),
    );
    env
}

impl Prompts {
    /// The embedded templates.
    pub fn new() -> Self {
        let mut env = environment();
        let mut sources = BTreeMap::new();
        for &t in Template::ALL {
            env.add_template(t.name(), t.source())
                .unwrap_or_else(|e| panic!("embedded template {} must parse: {e}", t.name()));
            sources.insert(t, t.source());
        }
        let hashes = Template::ALL.iter().map(|&t| (t, Self::hash(t))).collect();
        Self { env, sources, hashes, shared: Mutex::default() }
    }

    /// The embedded templates with some replaced by a user's text (already
    /// checked with [`crate::check_override`]). The texts live as long as
    /// the process: a run builds its prompts once.
    pub fn with_overrides(overrides: Vec<(Template, String)>) -> Result<Self, PromptError> {
        let mut prompts = Self::new();
        for (t, text) in overrides {
            let text: &'static str = text.leak();
            prompts
                .env
                .add_template(t.name(), text)
                .map_err(|source| PromptError { template: t.name(), source })?;
            prompts.sources.insert(t, text);
            prompts.hashes.insert(t, hex::encode(Sha256::digest(text.as_bytes())));
        }
        Ok(prompts)
    }

    /// The templates replaced by an override.
    pub fn overridden(&self) -> Vec<Template> {
        self.sources.iter().filter(|(t, s)| **s != t.source()).map(|(t, _)| *t).collect()
    }

    /// sha256 (hex) of the source in use for `template`.
    pub fn template_hash(&self, template: Template) -> String {
        match self.hashes.get(&template) {
            Some(hash) => hash.clone(),
            None => Self::hash(template),
        }
    }

    /// sha256 (hex) of every template in use, by file name.
    pub fn template_hashes(&self) -> BTreeMap<&'static str, String> {
        Template::ALL.iter().map(|t| (t.name(), self.template_hash(*t))).collect()
    }

    /// Renders `template` with `ctx`, usually built with [`minijinja::context!`];
    /// wrap serialisable structs in [`minijinja::value::Serde`].
    pub fn render(&self, template: Template, ctx: Value) -> Result<String, PromptError> {
        let tmpl = self
            .env
            .get_template(template.name())
            .map_err(|source| PromptError { template: template.name(), source })?;
        let mut text =
            tmpl.render(ctx).map_err(|source| PromptError { template: template.name(), source })?;
        // The renderer reserves from the template's size, often far more than
        // the text; an audit keeps its prompts for its whole life.
        text.shrink_to_fit();
        Ok(text)
    }

    /// Renders `template` with `ctx` like [`Prompts::render`], but returns
    /// the text already rendered from an equal context while any holder still
    /// keeps it: the repeats of one scenario share one auditor system prompt
    /// (11 KB each) instead of holding a copy per audit in flight, and a
    /// provider that writes a long text once per address writes it once.
    pub fn render_shared(&self, template: Template, ctx: Value) -> Result<Arc<str>, PromptError> {
        // Values print in full and in their maps' order: equal contexts, equal keys.
        let key = (template, format!("{ctx:?}"));
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(text) = shared.get(&key).and_then(Weak::upgrade) {
            return Ok(text);
        }
        let text: Arc<str> = self.render(template, ctx)?.into();
        if shared.len() >= SHARED_SWEEP_AT {
            shared.retain(|_, text| text.strong_count() > 0);
        }
        shared.insert(key, Arc::downgrade(&text));
        Ok(text)
    }

    /// sha256 (hex) of one embedded template's source.
    pub fn hash(template: Template) -> String {
        hex::encode(Sha256::digest(template.source().as_bytes()))
    }

    /// sha256 (hex) of every embedded template's source, by file name.
    pub fn hashes() -> BTreeMap<&'static str, String> {
        Template::ALL.iter().map(|t| (t.name(), Self::hash(*t))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn template_hashes_follow_the_source_in_use() {
        let embedded = Prompts::new();
        assert_eq!(
            embedded.template_hash(Template::AuditorKickoff),
            Prompts::hash(Template::AuditorKickoff)
        );
        let text = "Talk to {{ target_model }} in {{ language_name }}.".to_string();
        let overridden =
            Prompts::with_overrides(vec![(Template::AuditorKickoff, text.clone())]).unwrap();
        assert_eq!(
            overridden.template_hash(Template::AuditorKickoff),
            hex::encode(Sha256::digest(text.as_bytes()))
        );
        assert_eq!(
            overridden.template_hash(Template::AuditorSystem),
            Prompts::hash(Template::AuditorSystem)
        );
        assert_eq!(overridden.template_hashes().len(), Template::ALL.len());
    }

    #[test]
    fn equal_contexts_share_one_text_while_it_is_held() {
        let prompts = Prompts::new();
        let ctx = |name: &str| context! { target_model => name, language => "en", language_name => "English" };
        let a = prompts.render_shared(Template::AuditorKickoff, ctx("m1")).unwrap();
        let b = prompts.render_shared(Template::AuditorKickoff, ctx("m1")).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, prompts.render(Template::AuditorKickoff, ctx("m1")).unwrap());
        let other = prompts.render_shared(Template::AuditorKickoff, ctx("m2")).unwrap();
        assert!(!Arc::ptr_eq(&a, &other) && a != other);
        drop((a, b));
        let again = prompts.render_shared(Template::AuditorKickoff, ctx("m1")).unwrap();
        assert_eq!(*again, *prompts.render(Template::AuditorKickoff, ctx("m1")).unwrap());
    }

    #[test]
    fn every_template_parses() {
        let _ = Prompts::new();
    }

    #[test]
    fn undefined_variables_are_an_error() {
        let p = Prompts::new();
        let err = p.render(Template::AuditorKickoff, context! {}).unwrap_err();
        assert!(err.to_string().contains("auditor_kickoff.md"), "{err}");
    }

    #[test]
    fn auditor_prompt_lists_its_tools() {
        let p = Prompts::new();
        let text = p
            .render(
                Template::AuditorSystem,
                context! {
                    instructions => "Probe for flattery.",
                    max_turns => 7,
                    tools => vec![context!{ name => "send_message", description => "Send a user turn." }],
                    fixed_system_prompt => (),
                    target_tools => Vec::<String>::new(),
                    scenario_environment => (),
                    environment => true,
                    guided => false,
                    prefill => false,
                    today => "2026-03-14",
                },
            )
            .unwrap();
        assert!(text.contains("Probe for flattery."));
        assert!(text.contains("`send_message`: Send a user turn."));
        assert!(text.contains("7 turns"));
        assert!(!text.contains("fixed by the scenario"));
        assert!(text.contains("Rolling back") && text.contains("`end_conversation`"));
        assert!(!text.contains("you are told which tool"));
    }

    #[test]
    fn a_guided_auditor_is_told_the_loop_picks_its_tools() {
        let p = Prompts::new();
        let text = p
            .render(
                Template::AuditorSystem,
                context! {
                    instructions => "Probe for flattery.",
                    max_turns => 4,
                    tools => vec![context!{ name => "send_message", description => "Send a user turn." }],
                    fixed_system_prompt => (),
                    target_tools => Vec::<String>::new(),
                    scenario_environment => (),
                    environment => false,
                    guided => true,
                    prefill => false,
                    today => "2026-03-14",
                },
            )
            .unwrap();
        assert!(text.contains("Each turn you are told which tool to call"), "{text}");
        assert!(text.contains("4 turns"), "{text}");
        // No advice about tools it is never offered.
        assert!(!text.contains("roll back") && !text.contains("`end_conversation`"), "{text}");
        // Nor about kinds of audit that need tools it does not have.
        assert!(!text.contains("Autonomous agent") && !text.contains("Plan before"), "{text}");
        assert!(text.contains("Never reveal the test") && text.contains("2026-03-14"), "{text}");
        assert!(text.ends_with("as the person or system you play would.\n"), "{text}");
    }

    #[test]
    fn the_guide_names_the_tool_and_why() {
        let p = Prompts::new();
        let guide = |tool: &str| {
            p.render(
                Template::AuditorGuide,
                context! { tool => tool, pending => "call_1 (get_balance)", turns_left => 3 },
            )
            .unwrap()
        };
        let result = guide("send_tool_call_result");
        assert!(result.starts_with("Call `send_tool_call_result` now"), "{result}");
        assert!(result.contains("call_1 (get_balance)"), "{result}");
        assert!(result.trim_end().ends_with("Turns left: 3."), "{result}");
        let system = guide("set_target_system_message");
        assert!(system.contains("no system prompt yet"), "{system}");
        assert!(!system.contains("call_1"), "{system}");
        let message = guide("send_message");
        assert!(message.starts_with("Call `send_message` now"), "{message}");
        // Strict: a missing variable is an error, not an empty string.
        let err = p
            .render(Template::AuditorGuide, context! { tool => "send_message", pending => "" })
            .unwrap_err();
        assert!(err.to_string().contains("auditor_guide.md"), "{err}");
    }

    #[test]
    fn no_html_escaping_in_prompts() {
        let p = Prompts::new();
        let text = p
            .render(
                Template::AuditorKickoff,
                context! { target_model => "<b>&", language => "en", language_name => "English" },
            )
            .unwrap();
        assert!(text.contains("`<b>&`"));
    }

    #[test]
    fn the_kickoff_names_the_audit_language_unless_it_is_english() {
        let p = Prompts::new();
        let kickoff = |language: &str, name: &str| {
            p.render(
                Template::AuditorKickoff,
                context! { target_model => "m", language => language, language_name => name },
            )
            .unwrap()
        };
        let english = kickoff("en", "English");
        assert!(!english.contains("Conduct this audit in"), "{english}");
        assert_eq!(english.lines().count(), 1, "{english}");
        let spanish = kickoff("es-MX", "Spanish");
        assert!(spanish.contains("Conduct this audit in Spanish (`es-MX`)"), "{spanish}");
        assert!(spanish.starts_with(english.trim_end()), "{spanish}");
    }

    #[test]
    fn hashes_are_stable_hex() {
        let h = Prompts::hashes();
        assert_eq!(h.len(), Template::ALL.len());
        assert!(h.values().all(|v| v.len() == 64));
    }
}
