//! How `--count N` and `--diversity D` become files: `N x D` base scenarios
//! (rounded up, at least 1, at most N), each with `1/D` variations (rounded
//! to the nearest whole number, at least 1) **counting the base scenario
//! itself** as its variation 0. So `--count 10 --diversity 0.5` is 5 bases
//! with one variation each (10 files), `--diversity 1` is N bases with no
//! variation, and `--diversity 0.2` is 2 bases with 4 variations each (5 files per base).
//! Rounding can make the total differ slightly from N (`--count 10
//! --diversity 0.3`: 3 x 3 = 9); the plan says so before anything runs.
//!
//! File names: `NAME-bBB-vVV.md` (numbers zero-padded to two digits or
//! more), the same on every run, so a second run sees what exists.

use serde::Serialize;

/// The grid of files a run aims for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub bases: u32,
    /// Files per base, the base itself included.
    pub per_base: u32,
}

/// One planned file: base `base` (1-based), `variation` 0 for the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Slot {
    pub base: u32,
    pub variation: u32,
}

impl Plan {
    /// The plan for `count` files at `diversity` (0 < D <= 1).
    pub fn new(count: u32, diversity: f64) -> Result<Plan, String> {
        if count == 0 {
            return Err("--count must be at least 1".into());
        }
        if !(diversity > 0.0 && diversity <= 1.0) {
            return Err(format!("--diversity must be in (0, 1], not {diversity}"));
        }
        let bases = ((f64::from(count) * diversity).ceil() as u32).clamp(1, count);
        let per_base = ((1.0 / diversity).round() as u32).max(1);
        Ok(Plan { bases, per_base })
    }

    pub fn total(&self) -> u32 {
        self.bases * self.per_base
    }

    /// Every slot, base by base.
    pub fn slots(&self) -> Vec<Slot> {
        (1..=self.bases)
            .flat_map(|base| (0..self.per_base).map(move |variation| Slot { base, variation }))
            .collect()
    }

    /// The file name of `slot` for behaviour `name`.
    pub fn file_name(&self, name: &str, slot: Slot) -> String {
        let width = digits(self.bases.max(self.per_base)).max(2);
        format!("{name}-b{:0width$}-v{:0width$}.md", slot.base, slot.variation)
    }
}

fn digits(n: u32) -> usize {
    n.to_string().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_diversity_make_the_grid() {
        let p = Plan::new(10, 0.5).unwrap();
        assert_eq!((p.bases, p.per_base, p.total()), (5, 2, 10));
        let p = Plan::new(10, 1.0).unwrap();
        assert_eq!((p.bases, p.per_base), (10, 1));
        let p = Plan::new(10, 0.2).unwrap();
        assert_eq!((p.bases, p.per_base), (2, 5));
        let p = Plan::new(10, 0.3).unwrap();
        assert_eq!((p.bases, p.per_base, p.total()), (3, 3, 9));
        let p = Plan::new(1, 0.1).unwrap();
        assert_eq!((p.bases, p.per_base), (1, 10));
        assert!(Plan::new(0, 0.5).is_err());
        assert!(Plan::new(3, 0.0).is_err());
        assert!(Plan::new(3, 1.5).is_err());
        assert!(Plan::new(3, f64::NAN).is_err());
    }

    #[test]
    fn file_names_are_padded_and_stable() {
        let p = Plan::new(4, 0.5).unwrap();
        assert_eq!(p.slots().len(), 4);
        assert_eq!(p.file_name("flattery", Slot { base: 2, variation: 1 }), "flattery-b02-v01.md");
        let big = Plan::new(200, 1.0).unwrap();
        assert_eq!(big.file_name("x", Slot { base: 7, variation: 0 }), "x-b007-v000.md");
    }
}
