//! Choosing the dimensions to judge: `--dimensions` and a scenario's
//! `dimensions` key, over the built-in set or a directory of dimension files.

use std::path::PathBuf;

use agar_core::Dimension;

use crate::exit::Failure;

/// Resolves `--dimensions`: a directory (or file) of dimension files, `tags:a,b`,
/// or names `a,b` from the built-in set; `None` gives the built-in set.
pub(crate) fn from_flag(spec: Option<&str>) -> Result<Vec<Dimension>, Failure> {
    let library = agar_judge::default_dimensions();
    let Some(spec) = spec.map(str::trim) else {
        return Ok(library);
    };
    let path = PathBuf::from(spec);
    if path.exists() {
        return agar_scenario::load_dimensions(&[path]).map_err(|diags| {
            for d in &diags {
                eprintln!("{d}");
            }
            Failure::InputReported
        });
    }
    select(&[spec.to_string()], &library).map_err(Failure::Input)
}

/// Picks dimensions from `library` by selectors: names, or `tags:a,b`.
pub(crate) fn select(
    selectors: &[String],
    library: &[Dimension],
) -> Result<Vec<Dimension>, String> {
    let mut chosen: Vec<Dimension> = Vec::new();
    for sel in selectors {
        if let Some(tags) = sel.strip_prefix("tags:") {
            let tags: Vec<&str> =
                tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
            let found: Vec<&Dimension> = library
                .iter()
                .filter(|d| d.tags.iter().any(|t| tags.contains(&t.as_str())))
                .collect();
            if found.is_empty() {
                return Err(format!("no dimension has the tags {}", tags.join(", ")));
            }
            chosen.extend(found.into_iter().cloned());
        } else {
            for name in sel.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let d = library.iter().find(|d| d.name == name).ok_or_else(|| {
                    let known: Vec<&str> = library.iter().map(|d| d.name.as_str()).collect();
                    format!("unknown dimension {name:?}; known: {}", known.join(", "))
                })?;
                chosen.push(d.clone());
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    chosen.retain(|d| seen.insert(d.name.clone()));
    Ok(chosen)
}
