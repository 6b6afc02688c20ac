//! Limits on counts: every count a user gives has an allowed range, checked
//! before anything is allocated, so a typo (`--repeats 100000000`) is a clear
//! error rather than gigabytes of memory. Documented in docs/configuration.md.

use clap::builder::RangedI64ValueParser;

/// `--concurrency` (audit, resume, judge): audits or judgings at once.
pub(crate) const MAX_CONCURRENCY: u32 = 1_024;
/// `--repeats`, and a scenario's `repeats` key.
pub(crate) const MAX_REPEATS: u32 = 1_000;
/// `--max-turns`, and a scenario's `max_turns` key.
pub(crate) const MAX_TURNS: u32 = 1_000;
/// `--max-target-turns`.
pub(crate) const MAX_TARGET_TURNS: u32 = 10_000;
/// Audits one run may plan (scenarios times their repeats).
pub(crate) const MAX_PLANNED_AUDITS: u64 = 100_000;

fn range(max: u32) -> RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(max))
}

pub(crate) fn concurrency() -> RangedI64ValueParser<u32> {
    range(MAX_CONCURRENCY)
}

pub(crate) fn repeats() -> RangedI64ValueParser<u32> {
    range(MAX_REPEATS)
}

pub(crate) fn max_turns() -> RangedI64ValueParser<u32> {
    range(MAX_TURNS)
}

pub(crate) fn max_target_turns() -> RangedI64ValueParser<u32> {
    range(MAX_TARGET_TURNS)
}

/// Refuses a plan of more audits than [`MAX_PLANNED_AUDITS`] (or a
/// scenario's `repeats` over [`MAX_REPEATS`]) before any is allocated.
pub(crate) fn check_plan<'a>(
    repeats: impl IntoIterator<Item = (&'a std::path::Path, u32)>,
) -> Result<(), String> {
    let mut total: u64 = 0;
    for (path, n) in repeats {
        if n > MAX_REPEATS {
            return Err(format!(
                "{}: repeats {n} is out of range (allowed 1 to {MAX_REPEATS})",
                path.display()
            ));
        }
        total += u64::from(n);
    }
    if total > MAX_PLANNED_AUDITS {
        return Err(format!(
            "the run would plan {total} audits; at most {MAX_PLANNED_AUDITS} are allowed in one run \
             (split the scenarios over several runs)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn plans_over_the_cap_are_refused_before_allocation() {
        let p = Path::new("s.md");
        assert!(check_plan([(p, 1_000), (p, 1_000)]).is_ok());
        let e = check_plan([(p, 1_001)]).unwrap_err();
        assert!(e.contains("allowed 1 to 1000"), "{e}");
        let e = check_plan(std::iter::repeat_n((p, 1_000), 101)).unwrap_err();
        assert!(e.contains("101000 audits"), "{e}");
    }
}
