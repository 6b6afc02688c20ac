//! The branch structure of a transcript's target conversation, worked out
//! once ([`Transcript::branches`]) for the judge's rendering and the viewer's
//! branch tree: where each branch begins, what it continues from, how it
//! began, and its last message.

use std::collections::BTreeMap;

use crate::transcript::{EventKind, Transcript};

/// How a branch began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchStart {
    /// The first conversation (branch 0).
    First,
    /// The auditor rolled back: the branch continues after an earlier message.
    Rollback,
    /// The auditor restarted the conversation from scratch.
    Restart,
}

impl BranchStart {
    /// `start`, `rollback` or `restart`.
    pub fn as_str(self) -> &'static str {
        match self {
            BranchStart::First => "start",
            BranchStart::Rollback => "rollback",
            BranchStart::Restart => "restart",
        }
    }
}

/// One branch of the target's conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// The id of its first message.
    pub first: String,
    /// The message its first message continues from (absent for a branch
    /// started afresh).
    pub forked_after: Option<String>,
    /// The branch that message is on.
    pub from: Option<u32>,
    /// The id of its last message.
    pub leaf: String,
    /// How many messages it holds.
    pub messages: usize,
    pub start: BranchStart,
}

impl Transcript {
    /// Every branch with at least one message, by number. A branch's start
    /// is what the rollback or restart event recorded; without one (older
    /// transcripts), branch 0 is the first, a branch forking after a message
    /// a rollback, and any other a restart.
    pub fn branches(&self) -> BTreeMap<u32, Branch> {
        let mut recorded: BTreeMap<u32, BranchStart> = BTreeMap::new();
        for e in &self.events {
            match &e.kind {
                EventKind::Rollback { branch, .. } => {
                    recorded.insert(*branch, BranchStart::Rollback);
                }
                EventKind::Restart { branch, .. } => {
                    recorded.insert(*branch, BranchStart::Restart);
                }
                _ => {}
            }
        }
        let branch_of: BTreeMap<&str, u32> =
            self.target_nodes().map(|n| (n.id, n.branch)).collect();
        let mut out: BTreeMap<u32, Branch> = BTreeMap::new();
        for n in self.target_nodes() {
            let b = out.entry(n.branch).or_insert_with(|| Branch {
                first: n.id.to_string(),
                forked_after: n.parent.map(str::to_string),
                from: n.parent.and_then(|p| branch_of.get(p).copied()),
                leaf: String::new(),
                messages: 0,
                start: recorded.get(&n.branch).copied().unwrap_or(match (n.branch, n.parent) {
                    (0, _) => BranchStart::First,
                    (_, Some(_)) => BranchStart::Rollback,
                    (_, None) => BranchStart::Restart,
                }),
            });
            b.leaf = n.id.to_string();
            b.messages += 1;
        }
        out
    }
}
