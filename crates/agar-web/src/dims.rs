//! How each dimension is shown: display name, description, palette and
//! order, from the [`Catalogue`] every agar output shares. A run's
//! `plan.json` (the definitions it was judged with) wins, then the judge's
//! built-in library by name; an unknown dimension is shown under its own name
//! with the default `good-low` palette.

use agar_core::Palette;
use agar_report::Catalogue;
use agar_store::{RunPlan, Store};
use serde::Serialize;

/// One dimension, as pages show it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DimInfo {
    pub(crate) name: String,
    pub(crate) display: String,
    pub(crate) description: String,
    /// `good-low`, `good-high` or `neutral`: the CSS class of its score cells.
    pub(crate) palette: &'static str,
}

pub(crate) fn palette_class(p: Palette) -> &'static str {
    match p {
        Palette::GoodLow => "good-low",
        Palette::GoodHigh => "good-high",
        Palette::Neutral => "neutral",
    }
}

/// What is known of dimensions for pages about `runs`.
#[derive(Debug, Default)]
pub(crate) struct Dims {
    catalogue: Catalogue,
}

impl Dims {
    /// Definitions from the plans of `runs` (earlier runs win), then the library.
    pub(crate) fn load(store: &Store, runs: &[&str]) -> Dims {
        let plans: Vec<RunPlan> = runs.iter().filter_map(|r| store.read_plan(r).ok()).collect();
        Dims::from_plans(&plans.iter().collect::<Vec<_>>())
    }

    /// Definitions from `plans` (earlier plans win), then the library.
    pub(crate) fn from_plans(plans: &[&RunPlan]) -> Dims {
        let defined: Vec<&[agar_core::Dimension]> =
            plans.iter().map(|p| p.dimensions.as_slice()).collect();
        Dims { catalogue: Catalogue::new(&defined, agar_judge::library()) }
    }

    /// The dimension `name`, known or not.
    pub(crate) fn get(&self, name: &str) -> DimInfo {
        let known = self.catalogue.get(name);
        let palette = known.map_or(Palette::GoodLow, |d| d.palette);
        DimInfo {
            name: name.to_string(),
            display: known.and_then(|d| d.display_name.clone()).unwrap_or_else(|| name.to_string()),
            description: known.map(|d| d.description.clone()).unwrap_or_default(),
            palette: palette_class(palette),
        }
    }

    pub(crate) fn palette(&self, name: &str) -> Palette {
        self.catalogue.palette(name)
    }

    /// `names`, in display order ([`Catalogue::ordered`]).
    pub(crate) fn ordered<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> Vec<DimInfo> {
        let names = names.into_iter().map(String::as_str);
        self.catalogue.ordered(names).into_iter().map(|n| self.get(n)).collect()
    }
}
