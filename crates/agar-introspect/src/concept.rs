//! Concept vectors: at each chosen layer, the hidden state at the last token
//! of the concept prompt ("Tell me about {word}.", chat-templated, the
//! assistant's turn opened) for the concept, minus the mean of the same for
//! every baseline word. Not normalised: a strength multiplies the raw
//! difference, and the norms are recorded so strengths can be compared
//! with the residual stream's own scale.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::prompt::concept_prompt;
use crate::subject::{Subject, SubjectError};

/// One run's concept vectors, bound to the model they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptVectors {
    /// The sha256 of the model file the states were read from.
    pub model_sha256: String,
    /// The layers, in the order of each concept's vectors.
    pub layers: Vec<usize>,
    pub width: usize,
    /// Baseline words averaged.
    pub baselines: usize,
    /// Per concept, one vector per layer.
    pub vectors: BTreeMap<String, Vec<Vec<f32>>>,
    /// Per layer, the mean norm of the baseline words' hidden states (the
    /// residual stream's scale there).
    pub baseline_norms: Vec<f32>,
}

impl ConceptVectors {
    /// The vector of `concept` at `layer`, if computed.
    pub fn get(&self, concept: &str, layer: usize) -> Option<&[f32]> {
        let i = self.layers.iter().position(|l| *l == layer)?;
        self.vectors.get(concept).and_then(|v| v.get(i)).map(Vec::as_slice)
    }

    /// The Euclidean norm of `concept`'s vector at `layer`.
    pub fn norm(&self, concept: &str, layer: usize) -> Option<f32> {
        self.get(concept, layer).map(norm)
    }
}

/// The Euclidean norm of `v`.
pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// The element-wise mean of `vectors` (all of one width); empty for none.
pub fn mean(vectors: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = vectors.first() else { return Vec::new() };
    let mut sum = vec![0f64; first.len()];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += f64::from(*x);
        }
    }
    let n = vectors.len() as f64;
    sum.into_iter().map(|s| (s / n) as f32).collect()
}

/// Reads the states and computes every concept's vector at `layers`.
/// `tick` is called after each word (concept or baseline) is read.
pub async fn concept_vectors(
    subject: &dyn Subject,
    concepts: &[String],
    baselines: &[String],
    layers: &[usize],
    tick: &(dyn Fn() + Sync),
) -> Result<ConceptVectors, SubjectError> {
    for &l in layers {
        if l >= subject.layers() {
            return Err(SubjectError::Shape(format!(
                "layer {l} is out of range ({} has {} layers)",
                subject.name(),
                subject.layers()
            )));
        }
    }
    let mut base: Vec<Vec<Vec<f32>>> = vec![Vec::new(); layers.len()];
    for word in baselines {
        let states = read(subject, word, layers).await?;
        for (per_layer, s) in base.iter_mut().zip(states) {
            per_layer.push(s);
        }
        tick();
    }
    let means: Vec<Vec<f32>> = base.iter().map(|b| mean(b)).collect();
    let baseline_norms = base
        .iter()
        .map(|b| b.iter().map(|v| norm(v)).sum::<f32>() / b.len().max(1) as f32)
        .collect();
    let mut vectors = BTreeMap::new();
    for word in concepts {
        let states = read(subject, word, layers).await?;
        let diff = states
            .iter()
            .zip(&means)
            .map(|(s, m)| s.iter().zip(m).map(|(a, b)| a - b).collect())
            .collect();
        vectors.insert(word.clone(), diff);
        tick();
    }
    Ok(ConceptVectors {
        model_sha256: subject.model_sha256().to_string(),
        layers: layers.to_vec(),
        width: subject.width(),
        baselines: baselines.len(),
        vectors,
        baseline_norms,
    })
}

async fn read(
    subject: &dyn Subject,
    word: &str,
    layers: &[usize],
) -> Result<Vec<Vec<f32>>, SubjectError> {
    let states = subject.last_token_states(&concept_prompt(word), layers).await?;
    if states.len() != layers.len() || states.iter().any(|s| s.len() != subject.width()) {
        return Err(SubjectError::Shape(format!(
            "{} returned {} states for {} layers (width {})",
            subject.name(),
            states.len(),
            layers.len(),
            subject.width()
        )));
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_norm_by_hand() {
        let m = mean(&[vec![1.0, 2.0], vec![3.0, 6.0]]);
        assert_eq!(m, [2.0, 4.0]);
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
        assert!(mean(&[]).is_empty());
    }
}
