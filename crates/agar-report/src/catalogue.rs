//! The dimension catalogue: what is known of each dimension an output shows
//! (display name, description, palette), and the one order every output
//! shows dimensions in: `display_order`, then the order of definition (the
//! run's plan before the built-in library), then the name. The terminal
//! tables, the Markdown and HTML reports and the viewer all order through
//! [`Catalogue::ordered`].

use std::collections::BTreeMap;

use agar_core::{Dimension, Palette};
use serde::Serialize;

use crate::report::DimensionInfo;

/// Where a dimension stands in the display order.
type Rank = (i64, usize);

/// What is known of dimensions, from definitions (plans first, then the library).
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    known: BTreeMap<String, (DimensionInfo, Rank)>,
}

impl Catalogue {
    /// Definitions from `plans` (earlier plans win), then from `library`.
    pub fn new(plans: &[&[Dimension]], library: &[Dimension]) -> Catalogue {
        let mut known = BTreeMap::new();
        let mut add = |d: &Dimension, rank: usize| {
            known.entry(d.name.clone()).or_insert_with(|| {
                let info = DimensionInfo {
                    display_name: d.display_name.clone(),
                    description: d.description.clone(),
                    palette: d.palette,
                };
                (info, (d.display_order.unwrap_or(i64::MAX), rank))
            });
        };
        for plan in plans {
            for (i, d) in plan.iter().enumerate() {
                add(d, i);
            }
        }
        for (i, d) in library.iter().enumerate() {
            add(d, 10_000 + i);
        }
        Catalogue { known }
    }

    /// The dimension `name`, if it is known.
    pub fn get(&self, name: &str) -> Option<&DimensionInfo> {
        self.known.get(name).map(|(info, _)| info)
    }

    /// The palette of `name` (`good-low` when unknown).
    pub fn palette(&self, name: &str) -> Palette {
        self.get(name).map_or(Palette::GoodLow, |d| d.palette)
    }

    /// Every known dimension by name (what a [`crate::Report`] carries).
    pub fn infos(&self) -> BTreeMap<String, DimensionInfo> {
        self.known.iter().map(|(n, (info, _))| (n.clone(), info.clone())).collect()
    }

    /// `names` in display order, each once; unknown names last, by name.
    pub fn ordered<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let rank = |n: &str| self.known.get(n).map_or((i64::MAX, usize::MAX), |(_, r)| *r);
        let mut out: Vec<&str> = names.into_iter().collect();
        out.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
        out.dedup();
        out
    }

    /// The entries of `map` (keyed by dimension name) in display order.
    pub fn in_order<'m, V>(&self, map: &'m BTreeMap<String, V>) -> Vec<(&'m String, &'m V)> {
        let order = self.ordered(map.keys().map(String::as_str));
        order.into_iter().filter_map(|n| map.get_key_value(n)).collect()
    }
}

/// Dimensions known only by their infos: shown in name order.
impl From<BTreeMap<String, DimensionInfo>> for Catalogue {
    fn from(infos: BTreeMap<String, DimensionInfo>) -> Catalogue {
        let known = infos.into_iter().map(|(n, info)| (n, (info, (i64::MAX, 0)))).collect();
        Catalogue { known }
    }
}

/// Serialised as the map of every known dimension's info, by name.
impl Serialize for Catalogue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.known.iter().map(|(n, (info, _))| (n, info)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(name: &str, order: Option<i64>) -> Dimension {
        Dimension {
            name: name.into(),
            display_name: None,
            description: format!("{name} described"),
            rubric: String::new(),
            palette: Palette::GoodLow,
            tags: vec![],
            display_order: order,
        }
    }

    #[test]
    fn display_order_then_definition_then_name() {
        let plan = [dim("zeta", None), dim("alpha", None), dim("pinned", Some(1))];
        let library = [dim("beta", None), dim("alpha", Some(0))];
        let c = Catalogue::new(&[&plan], &library);
        // The plan's `alpha` wins over the library's (no display_order).
        assert_eq!(
            c.ordered(["unknown", "beta", "alpha", "zeta", "pinned", "zeta"]),
            ["pinned", "zeta", "alpha", "beta", "unknown"]
        );
        assert_eq!(c.get("alpha").unwrap().description, "alpha described");
        assert_eq!(c.infos().len(), 4);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["zeta"]["description"], "zeta described");
    }
}
