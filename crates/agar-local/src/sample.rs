//! Choosing the next token: greedy at temperature 0, otherwise seeded
//! sampling from the softmax with optional nucleus (top-p) cut, and a
//! rejection loop so that a constraint can veto candidates.

/// A small, fast, seedable generator (SplitMix64): the same seed gives the
/// same stream on every machine.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How to pick among the logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SamplerConfig {
    /// `0` (or below) means greedy.
    pub(crate) temperature: f32,
    pub(crate) top_p: f32,
}

/// Picks a token from `logits` that `accept` allows; `None` when it allows none.
///
/// Greedy: the highest logit that is accepted. Sampling: draw from the
/// tempered (and top-p cut) distribution, drop a refused draw and draw again,
/// which samples exactly from the distribution restricted to accepted tokens.
pub(crate) fn pick(
    logits: &[f32],
    cfg: SamplerConfig,
    rng: &mut Rng,
    mut accept: impl FnMut(u32) -> bool,
) -> Option<u32> {
    if logits.is_empty() {
        return None;
    }
    if cfg.temperature <= 0.0 {
        return greedy(logits, &mut accept);
    }
    sampled(logits, cfg, rng, &mut accept).or_else(|| greedy(logits, &mut accept))
}

/// The highest-logit token `accept` allows.
fn greedy(logits: &[f32], accept: &mut impl FnMut(u32) -> bool) -> Option<u32> {
    {
        // Fast path: the best token is usually accepted.
        let best = argmax(logits);
        if accept(best) {
            return Some(best);
        }
        // Try the best 64 in order before sorting everything.
        let mut order: Vec<u32> = (0..logits.len() as u32).collect();
        let by_logit = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]);
        let head = order.len().min(64);
        if head < order.len() {
            order.select_nth_unstable_by(head - 1, by_logit);
        }
        order[..head].sort_unstable_by(by_logit);
        if let Some(id) = order[..head].iter().copied().find(|id| accept(*id)) {
            return Some(id);
        }
        let mut rest = order.split_off(head);
        rest.sort_unstable_by(by_logit);
        rest.into_iter().find(|id| accept(*id))
    }
}

/// A draw from the tempered, top-p cut distribution restricted to accepted tokens.
fn sampled(
    logits: &[f32],
    cfg: SamplerConfig,
    rng: &mut Rng,
    accept: &mut impl FnMut(u32) -> bool,
) -> Option<u32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let inv_t = 1.0 / f64::from(cfg.temperature);
    let mut probs: Vec<(u32, f64)> = logits
        .iter()
        .enumerate()
        .map(|(i, l)| (i as u32, (f64::from(*l - max) * inv_t).exp()))
        .filter(|(_, p)| *p > 1e-12)
        .collect();
    if cfg.top_p >= 1.0 {
        return draw(&mut probs, rng, accept);
    }
    probs.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = probs.iter().map(|p| p.1).sum();
    if cfg.top_p > 0.0 && cfg.top_p < 1.0 {
        let mut kept = 0.0;
        let mut n = 0;
        for (_, p) in &probs {
            kept += p / total;
            n += 1;
            if kept >= f64::from(cfg.top_p) {
                break;
            }
        }
        // The nucleus alone may be all refused; keep the tail for the fallback.
        let (nucleus, tail) = probs.split_at(n);
        let mut nucleus = nucleus.to_vec();
        if let Some(id) = draw(&mut nucleus, rng, accept) {
            return Some(id);
        }
        let mut tail = tail.to_vec();
        return draw(&mut tail, rng, accept);
    }
    draw(&mut probs, rng, accept)
}

/// Draws from `probs` (unnormalised), zeroing refused draws.
fn draw(
    probs: &mut [(u32, f64)],
    rng: &mut Rng,
    accept: &mut impl FnMut(u32) -> bool,
) -> Option<u32> {
    for _ in 0..32 {
        let total: f64 = probs.iter().map(|p| p.1).sum();
        if total <= 0.0 {
            return None;
        }
        let mut r = rng.unit() * total;
        let mut chosen = None;
        for (i, (id, p)) in probs.iter().enumerate() {
            if *p <= 0.0 {
                continue;
            }
            r -= p;
            chosen = Some((i, *id));
            if r <= 0.0 {
                break;
            }
        }
        let (i, id) = chosen?;
        if accept(id) {
            return Some(id);
        }
        probs[i].1 = 0.0;
    }
    // Many refusals in a row: take the most likely accepted token.
    probs.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
    probs.iter().filter(|p| p.1 > 0.0).map(|p| p.0).find(|id| accept(*id))
}

pub(crate) fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, l) in logits.iter().enumerate() {
        if *l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_best_accepted_token() {
        let logits = [0.1, 3.0, 2.0, -1.0];
        let cfg = SamplerConfig { temperature: 0.0, top_p: 1.0 };
        let mut rng = Rng::new(1);
        assert_eq!(pick(&logits, cfg, &mut rng, |_| true), Some(1));
        assert_eq!(pick(&logits, cfg, &mut rng, |id| id != 1), Some(2));
        assert_eq!(pick(&logits, cfg, &mut rng, |_| false), None);
    }

    #[test]
    fn sampling_is_reproducible_and_respects_the_filter() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32).collect();
        let cfg = SamplerConfig { temperature: 1.0, top_p: 0.9 };
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..20)
                .map(|_| pick(&logits, cfg, &mut rng, |id| id % 2 == 0).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert!(run(7).iter().all(|id| id % 2 == 0));
        assert_ne!(run(7), run(8));
    }
}
