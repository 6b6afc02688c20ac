//! Shards: `--shard I/N` runs only shard I (1-based) of N of a run's plan.
//!
//! **Assignment.** Round-robin over the plan's audit order: the audit at
//! position `p` (0-based) of `plan.json`'s `audits` belongs to shard
//! `p % N + 1`. The plan's order is deterministic (scenario files in sorted
//! path order, each scenario's repeats in turn), so every machine computes
//! the same shares from the same plan, the shares are disjoint, their union
//! is the plan, and their sizes differ by at most one.
//!
//! **`--shard auto`** reads the scheduler's variables, in this order
//! ([`Shard::from_env`]):
//! 1. `AGAR_SHARD=I/N` (CI matrices, anything else);
//! 2. a Slurm job array: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN`,
//!    `SLURM_ARRAY_TASK_COUNT` (and `SLURM_ARRAY_TASK_STEP` when set), so
//!    `--array=0-2` and `--array=1-3` both give shards 1 to 3;
//! 3. a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` (0-based), with the
//!    count from `AGAR_SHARD_COUNT` (set it to the Job's `completions`).

use agar_models::Env;
use agar_store::{PlannedAudit, RunPlan};

/// Most shards a run can have.
pub const MAX_SHARDS: u32 = 10_000;

/// Why a shard could not be told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("--shard {0:?}: expected I/N with 1 <= I <= N <= {MAX_SHARDS} (e.g. 2/3), or auto")]
    Malformed(String),
    #[error("{variable}={value:?}: {reason}")]
    BadVariable { variable: &'static str, value: String, reason: String },
    #[error("{0}")]
    Incomplete(String),
    #[error(
        "--shard auto: no shard in the environment; set AGAR_SHARD=I/N, run in a Slurm job array \
         (sbatch --array=1-N), or in a Kubernetes Indexed Job with AGAR_SHARD_COUNT=N"
    )]
    NotFound,
}

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// `I/N`, 1-based.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let malformed = || ShardError::Malformed(text.to_string());
        let (i, n) = text.trim().split_once('/').ok_or_else(malformed)?;
        let index: u32 = i.trim().parse().map_err(|_| malformed())?;
        let count: u32 = n.trim().parse().map_err(|_| malformed())?;
        Shard::new(index, count).ok_or_else(malformed)
    }

    /// Shard `index` of `count`, when `1 <= index <= count <= MAX_SHARDS`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index >= 1 && index <= count && count <= MAX_SHARDS).then_some(Shard { index, count })
    }

    /// The shard the scheduler gives this process (see the module's docs
    /// for the variables and their order).
    pub fn from_env(env: &Env) -> Result<Shard, ShardError> {
        if let Some(value) = env.get("AGAR_SHARD") {
            return Shard::parse(value).map_err(|_| ShardError::BadVariable {
                variable: "AGAR_SHARD",
                value: value.to_string(),
                reason: "expected I/N, e.g. 2/3".into(),
            });
        }
        if env.get("SLURM_ARRAY_TASK_ID").is_some() {
            return slurm(env);
        }
        if env.get("JOB_COMPLETION_INDEX").is_some() {
            return kubernetes(env);
        }
        Err(ShardError::NotFound)
    }

    /// Whether the audit at `position` (0-based) of the plan is this shard's.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count as usize == (self.index - 1) as usize
    }

    /// This shard's audits of `plan`, in the plan's order.
    pub fn share<'a>(&self, plan: &'a RunPlan) -> Vec<&'a PlannedAudit> {
        plan.audits.iter().enumerate().filter(|(p, _)| self.takes(*p)).map(|(_, a)| a).collect()
    }
}

/// A whole number from a variable, or why not.
fn number(env: &Env, variable: &'static str) -> Result<Option<u32>, ShardError> {
    let Some(value) = env.get(variable) else { return Ok(None) };
    value.trim().parse().map(Some).map_err(|_| ShardError::BadVariable {
        variable,
        value: value.to_string(),
        reason: "not a whole number".into(),
    })
}

/// A Slurm array task: `(ID - MIN) / STEP + 1` of `COUNT`.
fn slurm(env: &Env) -> Result<Shard, ShardError> {
    let id = number(env, "SLURM_ARRAY_TASK_ID")?.unwrap_or_default();
    let (Some(min), Some(count)) =
        (number(env, "SLURM_ARRAY_TASK_MIN")?, number(env, "SLURM_ARRAY_TASK_COUNT")?)
    else {
        return Err(ShardError::Incomplete(
            "SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_MIN and \
             SLURM_ARRAY_TASK_COUNT (Slurm sets all three for a job array)"
                .into(),
        ));
    };
    let step = number(env, "SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
    let offset = id.checked_sub(min).filter(|o| o % step == 0);
    offset.and_then(|o| Shard::new(o / step + 1, count)).ok_or_else(|| {
        ShardError::Incomplete(format!(
            "Slurm array task {id} (min {min}, step {step}, count {count}) is not one of \
             {count} evenly spaced tasks; submit a contiguous array such as --array=1-{count}"
        ))
    })
}

/// A Kubernetes Indexed Job: `JOB_COMPLETION_INDEX + 1` of `AGAR_SHARD_COUNT`.
fn kubernetes(env: &Env) -> Result<Shard, ShardError> {
    let index = number(env, "JOB_COMPLETION_INDEX")?.unwrap_or_default();
    let Some(count) = number(env, "AGAR_SHARD_COUNT")? else {
        return Err(ShardError::Incomplete(
            "JOB_COMPLETION_INDEX is set but AGAR_SHARD_COUNT is not: set it to the Indexed \
             Job's completions"
                .into(),
        ));
    };
    Shard::new(index + 1, count).ok_or_else(|| ShardError::BadVariable {
        variable: "JOB_COMPLETION_INDEX",
        value: index.to_string(),
        reason: format!("not below AGAR_SHARD_COUNT={count}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        vars.iter().fold(Env::empty(), |e, (k, v)| e.with(*k, *v))
    }

    fn shard(i: u32, n: u32) -> Shard {
        Shard { index: i, count: n }
    }

    #[test]
    fn parses_i_of_n_and_refuses_the_rest() {
        assert_eq!(Shard::parse("2/3"), Ok(shard(2, 3)));
        assert_eq!(Shard::parse(" 1 / 1 "), Ok(shard(1, 1)));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/20000", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(shard(2, 3).to_string(), "2/3");
    }

    #[test]
    fn agar_shard_comes_first() {
        let e = env(&[("AGAR_SHARD", "2/4"), ("SLURM_ARRAY_TASK_ID", "0")]);
        assert_eq!(Shard::from_env(&e), Ok(shard(2, 4)));
        let bad = env(&[("AGAR_SHARD", "5/4")]);
        assert!(matches!(Shard::from_env(&bad), Err(ShardError::BadVariable { .. })));
    }

    #[test]
    fn slurm_arrays_from_zero_or_one_give_the_same_shards() {
        for (min, ids) in [(0, [0, 1, 2]), (1, [1, 2, 3])] {
            for (k, id) in ids.iter().enumerate() {
                let e = env(&[
                    ("SLURM_ARRAY_TASK_ID", &id.to_string()),
                    ("SLURM_ARRAY_TASK_MIN", &min.to_string()),
                    ("SLURM_ARRAY_TASK_MAX", &ids[2].to_string()),
                    ("SLURM_ARRAY_TASK_COUNT", "3"),
                ]);
                assert_eq!(Shard::from_env(&e), Ok(shard(k as u32 + 1, 3)), "min {min} id {id}");
            }
        }
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(Shard::from_env(&stepped), Ok(shard(3, 3)));
        let sparse = env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert!(matches!(Shard::from_env(&sparse), Err(ShardError::Incomplete(_))));
        let lone = env(&[("SLURM_ARRAY_TASK_ID", "1")]);
        assert!(matches!(Shard::from_env(&lone), Err(ShardError::Incomplete(_))));
    }

    #[test]
    fn kubernetes_indexes_are_zero_based_with_the_count_from_agar_shard_count() {
        let e = env(&[("JOB_COMPLETION_INDEX", "0"), ("AGAR_SHARD_COUNT", "3")]);
        assert_eq!(Shard::from_env(&e), Ok(shard(1, 3)));
        let e = env(&[("JOB_COMPLETION_INDEX", "2"), ("AGAR_SHARD_COUNT", "3")]);
        assert_eq!(Shard::from_env(&e), Ok(shard(3, 3)));
        let over = env(&[("JOB_COMPLETION_INDEX", "3"), ("AGAR_SHARD_COUNT", "3")]);
        assert!(matches!(Shard::from_env(&over), Err(ShardError::BadVariable { .. })));
        let no_count = env(&[("JOB_COMPLETION_INDEX", "0")]);
        assert!(matches!(Shard::from_env(&no_count), Err(ShardError::Incomplete(_))));
    }

    #[test]
    fn no_scheduler_is_a_clear_error() {
        let e = Shard::from_env(&Env::empty());
        assert_eq!(e, Err(ShardError::NotFound));
        assert!(e.unwrap_err().to_string().contains("AGAR_SHARD=I/N"));
    }

    #[test]
    fn shares_are_round_robin_disjoint_and_cover_the_plan() {
        let positions = 0..10usize;
        let shards: Vec<Shard> = (1..=3).map(|i| shard(i, 3)).collect();
        for p in positions {
            let owners: Vec<u32> = shards.iter().filter(|s| s.takes(p)).map(|s| s.index).collect();
            assert_eq!(owners, vec![(p % 3) as u32 + 1], "position {p}");
        }
    }
}
