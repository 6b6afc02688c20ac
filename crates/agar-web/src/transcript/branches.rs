//! The transcript page's branch tree: where each branch of the target's
//! conversation begins and what it continues from, which branch the query
//! chose, and the links from a message to the other branches forking after it.

use std::collections::BTreeMap;

use agar_core::{EventKind, TargetNode, Transcript};

use super::{BranchNode, TranscriptQuery};
use crate::error::WebError;

/// Where one branch begins.
struct Info {
    first: String,
    forked_after: Option<String>,
    from: Option<u32>,
    count: usize,
}

/// Every branch of a transcript, by number.
pub(super) struct Branches {
    /// How a branch began, when not at the start: `rollback` or `restart`.
    kinds: BTreeMap<u32, &'static str>,
    info: BTreeMap<u32, Info>,
    /// Each branch's last message.
    leaves: BTreeMap<u32, String>,
}

impl Branches {
    pub(super) fn of(t: &Transcript, nodes: &[TargetNode<'_>]) -> Branches {
        let by_id: BTreeMap<&str, &TargetNode<'_>> = nodes.iter().map(|n| (n.id, n)).collect();
        let mut kinds: BTreeMap<u32, &'static str> = BTreeMap::new();
        for e in &t.events {
            match &e.kind {
                EventKind::Rollback { branch, .. } => {
                    kinds.insert(*branch, "rollback");
                }
                EventKind::Restart { branch, .. } => {
                    kinds.insert(*branch, "restart");
                }
                _ => {}
            }
        }
        let mut info: BTreeMap<u32, Info> = BTreeMap::new();
        for n in nodes {
            let e = info.entry(n.branch).or_insert_with(|| Info {
                first: n.id.to_string(),
                forked_after: n.parent.map(str::to_string),
                from: n.parent.and_then(|p| by_id.get(p)).map(|p| p.branch),
                count: 0,
            });
            e.count += 1;
        }
        Branches { kinds, info, leaves: t.branch_leaves() }
    }

    /// The branch the query names (not found when there is no such branch),
    /// or the one the last message was written on.
    pub(super) fn chosen(
        &self,
        query: &TranscriptQuery,
        nodes: &[TargetNode<'_>],
    ) -> Result<u32, WebError> {
        let default_branch = nodes.last().map_or(0, |n| n.branch);
        match query.branch.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
            None => Ok(default_branch),
            Some(b) => match b.parse::<u32>() {
                Ok(n) if self.leaves.contains_key(&n) || (self.leaves.is_empty() && n == 0) => {
                    Ok(n)
                }
                _ => Err(WebError::NotFound(format!("no branch {b:?} in this audit"))),
            },
        }
    }

    /// How many branches there are.
    pub(super) fn count(&self) -> usize {
        self.info.len()
    }

    /// The last message of `branch`, empty when it has none.
    pub(super) fn leaf(&self, branch: u32) -> String {
        self.leaves.get(&branch).cloned().unwrap_or_default()
    }

    /// Whether `branch` continues from a message of another branch (a rollback).
    pub(super) fn is_forked(&self, branch: u32) -> bool {
        self.info.get(&branch).is_some_and(|i| i.forked_after.is_some())
    }

    /// The tree of branches from the roots down, with `selected` marked.
    pub(super) fn tree(&self, selected: u32, href: &dyn Fn(u32) -> String) -> Vec<BranchNode> {
        self.info
            .iter()
            .filter(|(b, i)| i.from.is_none() || i.from == Some(**b))
            .map(|(b, _)| self.node(*b, selected, href, 0))
            .collect()
    }

    fn node(
        &self,
        b: u32,
        selected: u32,
        href: &dyn Fn(u32) -> String,
        depth: usize,
    ) -> BranchNode {
        let i = &self.info[&b];
        let children = if depth > 64 {
            Vec::new()
        } else {
            self.info
                .iter()
                .filter(|(c, ci)| ci.from == Some(b) && **c != b)
                .map(|(c, _)| self.node(*c, selected, href, depth + 1))
                .collect()
        };
        BranchNode {
            branch: b,
            href: href(b),
            kind: self.kinds.get(&b).copied().unwrap_or("start"),
            first: i.first.clone(),
            leaf: self.leaves.get(&b).cloned().unwrap_or_default(),
            forked_after: i.forked_after.clone(),
            from_branch: i.from,
            messages: i.count,
            selected: b == selected,
            children,
        }
    }

    /// For each message, the branches other than `selected` that continue
    /// right after it, with their links.
    pub(super) fn forks(
        &self,
        selected: u32,
        href: &dyn Fn(u32) -> String,
    ) -> BTreeMap<&str, Vec<(u32, String)>> {
        let mut forks: BTreeMap<&str, Vec<(u32, String)>> = BTreeMap::new();
        for (b, i) in &self.info {
            if let Some(after) = &i.forked_after
                && *b != selected
            {
                forks.entry(after.as_str()).or_default().push((*b, href(*b)));
            }
        }
        forks
    }
}
