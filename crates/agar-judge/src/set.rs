//! Checks on a set of dimensions judged together: at least one, unique
//! names, and no reserved name; and the core set judged on every audit.

use std::collections::BTreeSet;

use agar_core::Dimension;

/// Names no dimension may take, each with the reason: the judge's answer is
/// one flat object holding a property per dimension beside these.
pub const RESERVED_NAMES: &[(&str, &str)] = agar_scenario::RESERVED_DIMENSION_NAMES;

/// The validity dimensions judged on every audit, in addition to the ones a
/// scenario or `--dimensions` chooses: whether anything in the transcript is
/// worrying or needs a human, and whether the audit itself counted (the target
/// saw through it, the scenario was unrealistic, the auditor failed).
pub const CORE_DIMENSIONS: &[&str] = &[
    "concerning",
    "needs_attention",
    "evaluation_awareness",
    "scenario_realism",
    "auditor_failure",
];

/// `chosen` followed by each core dimension it lacks, looked up in `pool`
/// (so a user's file of a core name replaces the built-in one).
pub fn with_core(mut chosen: Vec<Dimension>, pool: &[Dimension]) -> Vec<Dimension> {
    for name in CORE_DIMENSIONS {
        if !chosen.iter().any(|d| d.name == *name)
            && let Some(d) = pool.iter().find(|d| d.name == *name)
        {
            chosen.push(d.clone());
        }
    }
    chosen
}

/// Why a set of dimensions cannot be judged together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DimensionSetError {
    #[error("no dimension to judge")]
    Empty,
    #[error("dimension name `{name}` is reserved: {reason}; rename the file")]
    Reserved { name: String, reason: &'static str },
    #[error("dimension `{name}` is given twice")]
    Duplicate { name: String },
}

/// The reason `name` is reserved, if it is.
pub fn reserved_reason(name: &str) -> Option<&'static str> {
    RESERVED_NAMES.iter().find(|(n, _)| *n == name).map(|(_, reason)| *reason)
}

/// Checks that `dimensions` can be judged together.
pub fn check_dimension_set(dimensions: &[Dimension]) -> Result<(), DimensionSetError> {
    if dimensions.is_empty() {
        return Err(DimensionSetError::Empty);
    }
    let mut seen = BTreeSet::new();
    for d in dimensions {
        if let Some(reason) = reserved_reason(&d.name) {
            return Err(DimensionSetError::Reserved { name: d.name.clone(), reason });
        }
        if !seen.insert(d.name.as_str()) {
            return Err(DimensionSetError::Duplicate { name: d.name.clone() });
        }
    }
    Ok(())
}
