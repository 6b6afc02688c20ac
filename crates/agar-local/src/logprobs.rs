//! Next-token log-probabilities from the logits: the white-box reading
//! behind `ChatRequest::logprobs` and [`Engine::next_token_logprobs`]
//! (survey audits read a model's distribution over option letters from it).
//!
//! They are taken from the raw logits at the first generated position (the
//! position right after the prompt, the answer prefix included), before any
//! temperature, top-p or constraint applies, as a log-softmax over the whole
//! vocabulary in f64.
//!
//! [`Engine::next_token_logprobs`]: crate::Engine::next_token_logprobs

use agar_core::{ChatRequest, TokenLogprob, TokenLogprobs};

use crate::tokenizer::Tokenizer;

/// Which log-probabilities to report at the first generated position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogprobSpec {
    /// How many of the likeliest tokens to report.
    pub top: usize,
    /// Tokens to report whatever their rank.
    pub ids: Vec<u32>,
}

/// The first generated position's log-probabilities (natural log).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NextLogprobs {
    /// The likeliest tokens, likeliest first.
    pub top: Vec<(u32, f64)>,
    /// [`LogprobSpec::ids`], in the order asked (an id outside the
    /// vocabulary gets negative infinity).
    pub chosen: Vec<(u32, f64)>,
}

/// What a chat request's `logprobs` asks of the engine: the named tokens
/// that are one token each (others are left out, as documented).
pub(crate) fn spec_for(request: &ChatRequest, tok: &Tokenizer) -> Option<LogprobSpec> {
    let r = request.logprobs.as_ref()?;
    let ids = r
        .tokens
        .iter()
        .filter_map(|t| match tok.encode(t, false).as_slice() {
            [id] => Some(*id),
            _ => None,
        })
        .collect();
    Some(LogprobSpec { top: usize::from(r.top), ids })
}

/// The engine's reading as the answer's first position. The token the
/// answer went on to produce is not named (`token` stays empty).
pub(crate) fn to_response(next: &NextLogprobs, tok: &Tokenizer) -> Vec<TokenLogprobs> {
    let named = |(id, logprob): &(u32, f64)| TokenLogprob {
        token: String::from_utf8_lossy(tok.bytes(*id)).into_owned(),
        logprob: *logprob,
    };
    vec![TokenLogprobs {
        token: String::new(),
        logprob: 0.0,
        top: next.top.iter().map(named).collect(),
        chosen: next.chosen.iter().map(named).collect(),
    }]
}

/// The log-softmax of `logits` at what `spec` asks for.
pub(crate) fn next_logprobs(logits: &[f32], spec: &LogprobSpec) -> NextLogprobs {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_sum = logits.iter().map(|l| f64::from(*l - max).exp()).sum::<f64>().ln();
    let lp = |id: u32| {
        logits.get(id as usize).map_or(f64::NEG_INFINITY, |l| f64::from(*l - max) - log_sum)
    };
    let mut order: Vec<u32> = (0..logits.len() as u32).collect();
    let top = spec.top.min(order.len());
    if top > 0 {
        let likelier = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]);
        order.select_nth_unstable_by(top - 1, likelier);
        order.truncate(top);
        order.sort_by(likelier);
    } else {
        order.clear();
    }
    NextLogprobs {
        top: order.into_iter().map(|id| (id, lp(id))).collect(),
        chosen: spec.ids.iter().map(|id| (*id, lp(*id))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_at_the_top_and_chosen_ids() {
        // Logits ln(1), ln(2), ln(3), ln(4): probabilities 0.1, 0.2, 0.3, 0.4.
        let logits: Vec<f32> = [1.0f32, 2.0, 3.0, 4.0].iter().map(|x| x.ln()).collect();
        let spec = LogprobSpec { top: 2, ids: vec![0, 9] };
        let r = next_logprobs(&logits, &spec);
        let top: Vec<u32> = r.top.iter().map(|(id, _)| *id).collect();
        assert_eq!(top, [3, 2]);
        assert!((r.top[0].1.exp() - 0.4).abs() < 1e-6);
        assert!((r.top[1].1.exp() - 0.3).abs() < 1e-6);
        assert!((r.chosen[0].1.exp() - 0.1).abs() < 1e-6);
        assert_eq!(r.chosen[1], (9, f64::NEG_INFINITY));
        let none = next_logprobs(&logits, &LogprobSpec::default());
        assert!(none.top.is_empty() && none.chosen.is_empty());
    }
}
