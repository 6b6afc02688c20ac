//! [`Hooks`]: what a forward pass reads from, and adds to, the residual
//! stream.
//!
//! Conventions (shared by every white-box feature and by vector files):
//! - **Layer `L`** is the residual stream after transformer block `L`
//!   (0-based), i.e. the input of block `L + 1`; the last layer
//!   (`layers - 1`) is the stream just before the final norm. Steering at
//!   layer `L` adds there, and a capture at layer `L` reads there, after
//!   any steering of that layer.
//! - **Position `p`** is a 0-based index into the whole token sequence the
//!   model sees: the prompt's first token is position 0, the first
//!   generated token is at position `prompt.len()`. The hidden state at
//!   position `p` is the one computed from token `p` (whose logits predict
//!   token `p + 1`).

use std::hash::{Hash, Hasher};

use candle_core::{Device, Tensor};

use crate::error::LocalError;
use crate::model::LlamaConfig;

/// What to read from, and add to, the residual stream during a forward pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hooks {
    /// Layers whose hidden state (at the last position of each step) is captured.
    pub capture: Vec<usize>,
    /// Vectors added to the residual stream; several may share a layer
    /// (they add up).
    pub steer: Vec<Steering>,
}

/// A steering vector: `vector * scale` added to the residual stream after
/// block `layer`, at every position from `from_position` on (earlier
/// positions are left exactly as they were).
#[derive(Debug, Clone, PartialEq)]
pub struct Steering {
    pub layer: usize,
    pub vector: Vec<f32>,
    pub scale: f32,
    /// The first position steered (0: the whole sequence, prompt included).
    pub from_position: usize,
}

impl Steering {
    /// `vector * scale` at `layer`, from position 0.
    pub fn new(layer: usize, vector: Vec<f32>, scale: f32) -> Self {
        Self { layer, vector, scale, from_position: 0 }
    }

    /// The same steering, starting at `position`.
    pub fn starting_at(self, position: usize) -> Self {
        Self { from_position: position, ..self }
    }
}

impl Hooks {
    /// Checks layers and widths against the model.
    pub fn validate(&self, config: &LlamaConfig) -> Result<(), LocalError> {
        for &l in &self.capture {
            if l >= config.layers {
                return Err(LocalError::InvalidHook(format!(
                    "capture layer {l} is out of range (the model has {} layers)",
                    config.layers
                )));
            }
        }
        for s in &self.steer {
            if s.layer >= config.layers {
                return Err(LocalError::InvalidHook(format!(
                    "steering layer {} is out of range (the model has {} layers)",
                    s.layer, config.layers
                )));
            }
            if s.vector.len() != config.width {
                return Err(LocalError::InvalidHook(format!(
                    "steering vector has {} values; the model's width is {}",
                    s.vector.len(),
                    config.width
                )));
            }
            if !s.scale.is_finite() || s.vector.iter().any(|x| !x.is_finite()) {
                return Err(LocalError::InvalidHook(
                    "steering vector or scale is not finite".into(),
                ));
            }
        }
        Ok(())
    }

    /// A fingerprint of the steering (0 when there is none): KV caches are
    /// shared only between requests steered the same way.
    pub(crate) fn steering_key(&self) -> u64 {
        if self.steer.is_empty() {
            return 0;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for s in &self.steer {
            (s.layer, s.from_position, s.scale.to_bits()).hash(&mut h);
            for x in &s.vector {
                x.to_bits().hash(&mut h);
            }
        }
        h.finish() | 1
    }
}

/// The additions of `steer` to positions `start..start + t`, per layer
/// (`None` where nothing is added): tensors `(1, t, width)` holding
/// `scale * vector` in steered rows and exact zeros before `from_position`.
pub(crate) fn additions(
    steer: &[Steering],
    layers: usize,
    start: usize,
    t: usize,
    width: usize,
) -> candle_core::Result<Vec<Option<Tensor>>> {
    let mut rows: Vec<Option<Vec<f32>>> = vec![None; layers];
    for s in steer {
        if s.from_position >= start + t || s.layer >= layers {
            continue;
        }
        let first = s.from_position.saturating_sub(start);
        let buf = rows[s.layer].get_or_insert_with(|| vec![0.0; t * width]);
        for row in buf.chunks_exact_mut(width).skip(first) {
            for (o, v) in row.iter_mut().zip(&s.vector) {
                *o += v * s.scale;
            }
        }
    }
    rows.into_iter()
        .map(|r| r.map(|data| Tensor::from_vec(data, (1, t, width), &Device::Cpu)).transpose())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additions_start_at_the_position_and_add_up_per_layer() {
        let steer = [
            Steering::new(1, vec![1.0, 2.0], 2.0).starting_at(5),
            Steering::new(1, vec![1.0, 0.0], 1.0),
            Steering::new(0, vec![9.0, 9.0], 1.0).starting_at(7),
        ];
        // Positions 4, 5, 6 of a sequence.
        let a = additions(&steer, 3, 4, 3, 2).unwrap();
        assert!(a[0].is_none(), "starts after this chunk");
        assert!(a[2].is_none());
        let rows = a[1].as_ref().unwrap().squeeze(0).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(rows, [[1.0, 0.0], [3.0, 4.0], [3.0, 4.0]]);
    }

    #[test]
    fn the_steering_key_tells_steerings_apart() {
        let plain = Hooks::default();
        let one = Hooks { steer: vec![Steering::new(1, vec![1.0], 1.0)], ..Hooks::default() };
        let later = Hooks {
            steer: vec![Steering::new(1, vec![1.0], 1.0).starting_at(3)],
            ..Hooks::default()
        };
        assert_eq!(plain.steering_key(), 0);
        assert_ne!(one.steering_key(), 0);
        assert_ne!(one.steering_key(), later.steering_key());
        assert_eq!(one.steering_key(), one.clone().steering_key());
    }
}
