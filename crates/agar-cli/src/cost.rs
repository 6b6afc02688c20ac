//! Prices from `agar.toml` applied to the run: each transcript's cost, and
//! the live spend from the models' meters (for `--max-cost` and the bar).

use std::sync::Arc;

use agar_core::{Cost, Transcript};
use agar_models::{Config, Env};

use crate::exit::Failure;

/// The loaded configuration, shared by everything that prices calls.
#[derive(Debug, Clone)]
pub(crate) struct Pricing {
    pub(crate) config: Arc<Config>,
}

impl Pricing {
    /// Loads `agar.toml` (see `agar_models::config`); a bad file is an input error.
    pub(crate) fn load(env: &Env) -> Result<Pricing, Failure> {
        let config = Config::load_default(env)?;
        if let Some(path) = &config.path {
            tracing::debug!(path = %path.display(), "using agar.toml");
        }
        Ok(Pricing { config: Arc::new(config) })
    }

    /// The cost of a transcript, when some model it used has a price.
    pub(crate) fn transcript_cost(&self, t: &Transcript) -> Option<Cost> {
        let priced = t.models.values().chain(t.verdicts.iter().map(|v| &v.judge_model));
        let mut priced = priced;
        if !priced.any(|m| self.config.price(m).is_some()) {
            return None;
        }
        Some(Cost::of_transcript(t, |m| self.config.price(m)))
    }

    /// Tokens and USD over every model resolved in this process so far
    /// (`None` for the cost when no model has a price).
    pub(crate) fn live(&self, shared: &agar_models::SharedModels) -> (u64, Option<f64>) {
        let mut tokens = 0;
        let mut cost: Option<f64> = None;
        for (name, snap) in shared.snapshots() {
            let usage = snap.usage();
            tokens += usage.total();
            if let Some(p) = self.config.price(&name) {
                *cost.get_or_insert(0.0) += p.of(usage);
            }
        }
        (tokens, cost)
    }
}
