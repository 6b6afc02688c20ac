//! Which trials a run asks. For every layer and strength (a cell), each
//! concept gives one injected trial and one control trial (the same prompt,
//! nothing injected), so controls match injected trials in number cell by
//! cell; each yes-bias question is asked once per cell with a concept
//! injected (concepts taken in turn). `--limit N` keeps the first N
//! concepts and questions. The same design always gives the same trials,
//! ids and seeds, which is how resume knows what is left.

use serde::{Deserialize, Serialize};

use crate::words::WordList;

/// The default layer, as a fraction of the model's depth.
pub const DEFAULT_LAYER_FRACTION: f64 = 2.0 / 3.0;
/// The default strengths.
pub const DEFAULT_STRENGTHS: [f32; 3] = [2.0, 4.0, 8.0];

/// Everything that decides a run's trials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// `--layers` as given: fractions of depth.
    pub layer_fractions: Vec<f64>,
    /// The layers they resolve to for this model (see [`layer_at`]).
    pub layers: Vec<usize>,
    pub strengths: Vec<f32>,
    pub concepts: WordList,
    pub baselines: WordList,
    pub no_questions: WordList,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    pub temperature: f32,
    pub max_tokens: u32,
    /// Mixed into every trial's seed.
    pub seed: u64,
}

/// What a trial tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialKind {
    /// The trial prompt with the concept injected.
    Injected,
    /// The trial prompt, nothing injected.
    Control,
    /// A question whose true answer is no, with the concept injected.
    YesBias,
}

impl TrialKind {
    pub fn label(self) -> &'static str {
        match self {
            TrialKind::Injected => "injected",
            TrialKind::Control => "control",
            TrialKind::YesBias => "yes-bias",
        }
    }

    /// Whether a vector is added on this kind of trial.
    pub fn injects(self) -> bool {
        self != TrialKind::Control
    }
}

/// One planned trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub id: String,
    pub kind: TrialKind,
    pub layer: usize,
    pub layer_fraction: f64,
    pub strength: f32,
    /// The concept injected (control: the concept of the injected trial it matches).
    pub concept: String,
    /// The yes-bias question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    pub seed: u64,
}

/// Why a design is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DesignError {
    #[error("--layers: {0} is not a fraction of depth in (0, 1]")]
    Fraction(f64),
    #[error("--strengths: {0} is not a finite number above 0")]
    Strength(f32),
    #[error("--{0} needs at least one value")]
    Empty(&'static str),
    #[error("--limit must be at least 1")]
    Limit,
}

/// The layer a fraction of depth names: the residual stream after the first
/// `round(fraction x layers)` blocks (at least one), i.e. 0-based layer
/// `round(fraction x layers) - 1` in agar-local's convention. 2/3 of
/// SmolLM2-135M's 30 layers is layer 19, after 20 blocks.
pub fn layer_at(fraction: f64, layers: usize) -> Result<usize, DesignError> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(DesignError::Fraction(fraction));
    }
    let blocks = (fraction * layers as f64).round() as usize;
    Ok(blocks.clamp(1, layers.max(1)) - 1)
}

/// Checks strengths and the limit.
pub fn check(
    strengths: &[f32],
    fractions: &[f64],
    limit: Option<usize>,
) -> Result<(), DesignError> {
    if fractions.is_empty() {
        return Err(DesignError::Empty("layers"));
    }
    if strengths.is_empty() {
        return Err(DesignError::Empty("strengths"));
    }
    if let Some(s) = strengths.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(DesignError::Strength(*s));
    }
    if let Some(f) = fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        return Err(DesignError::Fraction(*f));
    }
    if limit == Some(0) {
        return Err(DesignError::Limit);
    }
    Ok(())
}

impl Design {
    /// The concepts trials use (after `--limit`).
    pub fn trial_concepts(&self) -> &[String] {
        let n = self.limit.unwrap_or(usize::MAX).min(self.concepts.entries.len());
        &self.concepts.entries[..n]
    }

    fn trial_questions(&self) -> &[String] {
        let n = self.limit.unwrap_or(usize::MAX).min(self.no_questions.entries.len());
        &self.no_questions.entries[..n]
    }

    /// Every trial, cell by cell, injected and control trials alternating.
    pub fn trials(&self) -> Vec<Trial> {
        let concepts = self.trial_concepts();
        let mut out = Vec::new();
        for (&layer, &fraction) in self.layers.iter().zip(&self.layer_fractions) {
            for &strength in &self.strengths {
                let cell = format!("l{layer}-s{strength}");
                let mut push = |kind: TrialKind, index: usize, concept: &str, q: Option<&str>| {
                    let id = format!("{cell}-{}-{index:03}-{}", kind_tag(kind), slug(concept));
                    let seed = mix(self.seed, &id);
                    out.push(Trial {
                        id,
                        kind,
                        layer,
                        layer_fraction: fraction,
                        strength,
                        concept: concept.to_string(),
                        question: q.map(str::to_string),
                        seed,
                    });
                };
                for (i, concept) in concepts.iter().enumerate() {
                    push(TrialKind::Injected, i, concept, None);
                    push(TrialKind::Control, i, concept, None);
                }
                for (i, q) in self.trial_questions().iter().enumerate() {
                    let concept = &concepts[i % concepts.len().max(1)];
                    push(TrialKind::YesBias, i, concept, Some(q));
                }
            }
        }
        out
    }
}

fn kind_tag(kind: TrialKind) -> &'static str {
    match kind {
        TrialKind::Injected => "inj",
        TrialKind::Control => "ctl",
        TrialKind::YesBias => "yes",
    }
}

/// A word as part of a file name: lower-case ASCII letters and digits, `-` between words.
fn slug(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() { "w".into() } else { out.chars().take(24).collect() }
}

/// A trial's seed: FNV-1a of its id, mixed with the run's seed.
fn mix(seed: u64, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::words::{ListKind, WordList};

    fn design(limit: Option<usize>) -> Design {
        Design {
            layer_fractions: vec![0.5, DEFAULT_LAYER_FRACTION],
            layers: vec![14, 19],
            strengths: vec![2.0, 8.0],
            concepts: WordList::shipped(ListKind::Concepts),
            baselines: WordList::shipped(ListKind::Baselines),
            no_questions: WordList::shipped(ListKind::NoQuestions),
            limit,
            temperature: 0.7,
            max_tokens: 48,
            seed: 0,
        }
    }

    #[test]
    fn fractions_name_layers_after_that_many_blocks() {
        assert_eq!(layer_at(DEFAULT_LAYER_FRACTION, 30), Ok(19));
        assert_eq!(layer_at(1.0, 30), Ok(29));
        assert_eq!(layer_at(0.01, 30), Ok(0));
        assert_eq!(layer_at(0.5, 24), Ok(11));
        assert_eq!(layer_at(0.0, 30), Err(DesignError::Fraction(0.0)));
        assert_eq!(layer_at(1.5, 30), Err(DesignError::Fraction(1.5)));
    }

    #[test]
    fn controls_match_injected_trials_in_every_cell() {
        let trials = design(Some(3)).trials();
        // 2 layers x 2 strengths x (3 injected + 3 controls + 3 yes-bias).
        assert_eq!(trials.len(), 2 * 2 * 9);
        for layer in [14, 19] {
            for strength in [2.0, 8.0] {
                let count = |k: TrialKind| {
                    trials
                        .iter()
                        .filter(|t| t.layer == layer && t.strength == strength && t.kind == k)
                        .count()
                };
                assert_eq!(count(TrialKind::Injected), 3);
                assert_eq!(count(TrialKind::Control), 3);
                assert_eq!(count(TrialKind::YesBias), 3);
            }
        }
        let mut ids: Vec<&str> = trials.iter().map(|t| t.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), trials.len(), "trial ids are unique");
        assert_eq!(trials[0].id, "l14-s2-inj-000-volcano");
        assert_eq!(trials[1].id, "l14-s2-ctl-000-volcano");
        assert_ne!(trials[0].seed, trials[1].seed, "a control samples its own answer");
    }

    #[test]
    fn the_same_design_gives_the_same_trials() {
        assert_eq!(design(None).trials(), design(None).trials());
        assert_eq!(design(None).trials().len(), 2 * 2 * (40 * 2 + 12));
    }

    #[test]
    fn bad_designs_are_refused() {
        assert_eq!(check(&[], &[0.5], None), Err(DesignError::Empty("strengths")));
        assert_eq!(check(&[1.0], &[], None), Err(DesignError::Empty("layers")));
        assert_eq!(check(&[-1.0], &[0.5], None), Err(DesignError::Strength(-1.0)));
        assert_eq!(check(&[1.0], &[2.0], None), Err(DesignError::Fraction(2.0)));
        assert_eq!(check(&[1.0], &[0.5], Some(0)), Err(DesignError::Limit));
        assert_eq!(check(&[1.0], &[0.5], Some(1)), Ok(()));
    }
}
