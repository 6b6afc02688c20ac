//! How each dimension is shown: display name, description, palette and
//! order. A run's `plan.json` (the definitions it was judged with) wins, then
//! the judge's built-in library by name; an unknown dimension is shown under
//! its own name with the default `good-low` palette.

use std::collections::BTreeMap;

use agar_core::Palette;
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
    #[serde(skip)]
    pub(crate) palette_kind: Palette,
    #[serde(skip)]
    order: (i64, usize),
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
    known: BTreeMap<String, DimInfo>,
}

impl Dims {
    /// Definitions from the plans of `runs` (earlier runs win), then the library.
    pub(crate) fn load(store: &Store, runs: &[&str]) -> Dims {
        let plans: Vec<RunPlan> = runs.iter().filter_map(|r| store.read_plan(r).ok()).collect();
        Dims::from_plans(&plans.iter().collect::<Vec<_>>())
    }

    /// Definitions from `plans` (earlier plans win), then the library.
    pub(crate) fn from_plans(plans: &[&RunPlan]) -> Dims {
        let mut known = BTreeMap::new();
        let mut add = |d: &agar_core::Dimension, rank: usize| {
            known.entry(d.name.clone()).or_insert_with(|| DimInfo {
                name: d.name.clone(),
                display: d.display_name.clone().unwrap_or_else(|| d.name.clone()),
                description: d.description.clone(),
                palette: palette_class(d.palette),
                palette_kind: d.palette,
                order: (d.display_order.unwrap_or(i64::MAX), rank),
            });
        };
        for plan in plans {
            for (i, d) in plan.dimensions.iter().enumerate() {
                add(d, i);
            }
        }
        for (i, d) in agar_judge::library().iter().enumerate() {
            add(d, 10_000 + i);
        }
        Dims { known }
    }

    /// The dimension `name`, known or not.
    pub(crate) fn get(&self, name: &str) -> DimInfo {
        self.known.get(name).cloned().unwrap_or_else(|| DimInfo {
            name: name.to_string(),
            display: name.to_string(),
            description: String::new(),
            palette: palette_class(Palette::GoodLow),
            palette_kind: Palette::GoodLow,
            order: (i64::MAX, usize::MAX),
        })
    }

    pub(crate) fn palette(&self, name: &str) -> Palette {
        self.known.get(name).map_or(Palette::GoodLow, |d| d.palette_kind)
    }

    /// `names`, in display order (`display_order`, then definition order, then name).
    pub(crate) fn ordered<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> Vec<DimInfo> {
        let mut out: Vec<DimInfo> = names.into_iter().map(|n| self.get(n)).collect();
        out.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
        out.dedup_by(|a, b| a.name == b.name);
        out
    }
}
