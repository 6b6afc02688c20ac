//! Prices from `agar.toml` applied to the run: [`agar_run::Pricing`], shared
//! by the commands that call models.

pub(crate) use agar_run::Pricing;
