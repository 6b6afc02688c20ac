//! The model's distribution over a question's option letters, read from the
//! log-probabilities of its next token or from sampled answers.
//!
//! Either way the letters' probabilities are normalised to sum to 1. The
//! probability the letters had before normalising is the answer's `mass`; a
//! question whose letters get less than the run's minimum mass
//! ([`DEFAULT_MIN_MASS`] unless `--min-mass` says otherwise) is invalid:
//! the model was mostly saying something else, so its distribution over the
//! letters would say little about its opinion. Invalid questions are
//! counted and left out of every similarity.

use agar_core::TokenLogprobs;
use serde::{Deserialize, Serialize};

/// Below this probability on the option letters a question is invalid.
pub const DEFAULT_MIN_MASS: f64 = 0.5;

/// How a distribution was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The next token's log-probabilities, one call per question.
    Logprobs,
    /// K answers sampled at temperature 1, the letters counted.
    Sample,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Logprobs => "logprobs",
            Method::Sample => "sample",
        }
    }
}

/// The model's answer to one survey item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelAnswer {
    /// Probability per option letter, normalised to sum to 1 (all zeros when
    /// no letter had any probability).
    pub distribution: Vec<f64>,
    /// Probability (or share of samples) on the letters before normalising.
    pub mass: f64,
    /// Whether `mass` reached the run's minimum.
    pub valid: bool,
}

/// Which letter a token stands for: `A`, ` A`, `(A`, `A)` and `A.` all
/// count as `A`; anything longer or another letter does not.
pub fn letter_of_token(token: &str, letters: &[String]) -> Option<usize> {
    let t = token.trim();
    let t = t.strip_prefix('(').unwrap_or(t);
    let t = t.strip_suffix([')', '.', ':']).unwrap_or(t).trim();
    letters.iter().position(|l| l == t)
}

/// The distribution from the first answer position's log-probabilities:
/// every distinct token reported there (the likeliest ones, the ones asked
/// for by name, and the token produced) that stands for a letter adds its
/// probability to that letter.
pub fn from_logprobs(first: &TokenLogprobs, letters: &[String], min_mass: f64) -> ModelAnswer {
    let mut seen: Vec<&str> = Vec::new();
    let mut probs = vec![0.0; letters.len()];
    let produced = agar_core::TokenLogprob { token: first.token.clone(), logprob: first.logprob };
    for t in first.top.iter().chain(&first.chosen).chain(std::iter::once(&produced)) {
        if t.token.is_empty() || seen.contains(&t.token.as_str()) {
            continue;
        }
        seen.push(&t.token);
        if let Some(i) = letter_of_token(&t.token, letters)
            && t.logprob.is_finite()
        {
            probs[i] += t.logprob.exp();
        }
    }
    finish(probs, min_mass)
}

/// The letter an answer's text gives, if it opens with one: `B`, `(B)`,
/// `B) No`, `Answer: (B`; not `Because...` (a letter must stand alone).
pub fn letter_of_reply(text: &str, letters: &[String]) -> Option<usize> {
    let t = text.trim_start();
    let t = match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("answer:") => t[7..].trim_start(),
        _ => t,
    };
    let t = t.strip_prefix('(').unwrap_or(t);
    let mut chars = t.chars();
    let first = chars.next()?;
    if chars.next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    letters.iter().position(|l| l.chars().eq(std::iter::once(first)))
}

/// The distribution from sampled answers: the share of answers giving each
/// letter; the mass is the share that gave any letter.
pub fn from_samples(replies: &[String], letters: &[String], min_mass: f64) -> ModelAnswer {
    let mut probs = vec![0.0; letters.len()];
    if replies.is_empty() {
        return finish(probs, min_mass);
    }
    let share = 1.0 / replies.len() as f64;
    for r in replies {
        if let Some(i) = letter_of_reply(r, letters) {
            probs[i] += share;
        }
    }
    finish(probs, min_mass)
}

fn finish(probs: Vec<f64>, min_mass: f64) -> ModelAnswer {
    let mass: f64 = probs.iter().sum::<f64>().min(1.0);
    let distribution = if mass > 0.0 {
        let sum: f64 = probs.iter().sum();
        probs.iter().map(|p| p / sum).collect()
    } else {
        probs
    };
    ModelAnswer { distribution, mass, valid: mass > 0.0 && mass >= min_mass }
}

#[cfg(test)]
mod tests {
    use agar_core::TokenLogprob;

    use super::*;

    fn abc() -> Vec<String> {
        crate::prompt::letters(3)
    }

    #[test]
    fn letter_tokens_in_their_spellings() {
        let l = abc();
        for (token, want) in [("A", Some(0)), (" B", Some(1)), ("(C", Some(2)), ("B)", Some(1))] {
            assert_eq!(letter_of_token(token, &l), want, "{token}");
        }
        for token in ["D", "AB", "a", "", "Yes"] {
            assert_eq!(letter_of_token(token, &l), None, "{token}");
        }
    }

    #[test]
    fn logprobs_are_summed_per_letter_and_normalised() {
        let tp = |token: &str, p: f64| TokenLogprob { token: token.into(), logprob: p.ln() };
        let first = TokenLogprobs {
            token: "A".into(),
            logprob: 0.5f64.ln(),
            top: vec![tp("A", 0.5), tp(" A", 0.1), tp("B", 0.2), tp("The", 0.15)],
            chosen: vec![tp("C", 0.05), tp("A", 0.5)],
        };
        let a = from_logprobs(&first, &abc(), 0.5);
        assert!((a.mass - 0.85).abs() < 1e-12, "{}", a.mass);
        let want = [0.6 / 0.85, 0.2 / 0.85, 0.05 / 0.85];
        for (got, want) in a.distribution.iter().zip(want) {
            assert!((got - want).abs() < 1e-12);
        }
        assert!(a.valid);
        assert!(!from_logprobs(&first, &abc(), 0.9).valid);
    }

    #[test]
    fn samples_are_counted_and_unreadable_ones_lower_the_mass() {
        let replies: Vec<String> =
            ["A", "(B) Maybe", "Answer: A", "Because", "B.", "C"].map(String::from).to_vec();
        let a = from_samples(&replies, &abc(), 0.5);
        assert!((a.mass - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(a.distribution, vec![0.4, 0.4, 0.2]);
        let none = from_samples(&["no idea".into()], &abc(), 0.0);
        assert_eq!((none.mass, none.valid), (0.0, false));
    }
}
