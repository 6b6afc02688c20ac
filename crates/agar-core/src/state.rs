//! The bare states of an audit and of a verdict, without the detail their
//! full forms ([`crate::AuditStatus`], [`crate::VerdictStatus`]) carry: what
//! indexes, summaries, reports, filters and gates compare. Their serde names
//! are the labels every stored file and every output already uses (`done`,
//! `judge_failed`...).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where an audit stands, without the reason or cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditState {
    Done,
    Invalid,
    Failed,
    Running,
    Pending,
}

impl AuditState {
    /// Every state, in the order listings show them (finished ones first).
    pub const ALL: [AuditState; 5] = [
        AuditState::Done,
        AuditState::Invalid,
        AuditState::Failed,
        AuditState::Running,
        AuditState::Pending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditState::Done => "done",
            AuditState::Invalid => "invalid",
            AuditState::Failed => "failed",
            AuditState::Running => "running",
            AuditState::Pending => "pending",
        }
    }

    /// Whether the audit has reached a final state (it will not be run again).
    pub fn is_finished(self) -> bool {
        matches!(self, AuditState::Done | AuditState::Invalid | AuditState::Failed)
    }
}

/// Whether the judge produced a usable verdict, without the detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictState {
    Ok,
    JudgeFailed,
    Refused,
    Unsupported,
}

impl VerdictState {
    pub const ALL: [VerdictState; 4] = [
        VerdictState::Ok,
        VerdictState::JudgeFailed,
        VerdictState::Refused,
        VerdictState::Unsupported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerdictState::Ok => "ok",
            VerdictState::JudgeFailed => "judge_failed",
            VerdictState::Refused => "refused",
            VerdictState::Unsupported => "unsupported",
        }
    }
}

/// A state name that is not one of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} state {name:?}")]
pub struct UnknownState {
    pub kind: &'static str,
    pub name: String,
}

macro_rules! text_forms {
    ($ty:ident, $kind:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<Self, UnknownState> {
                $ty::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownState { kind: $kind, name: s.to_string() })
            }
        }
    };
}

text_forms!(AuditState, "audit");
text_forms!(VerdictState, "verdict");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_serde_and_parse_agree() {
        for s in AuditState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
            assert_eq!(s.as_str().parse::<AuditState>().unwrap(), s);
        }
        for s in VerdictState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
            assert_eq!(s.as_str().parse::<VerdictState>().unwrap(), s);
        }
        assert!("finished".parse::<AuditState>().is_err());
    }
}
