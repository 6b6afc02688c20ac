//! The transcript page's branch tree: where each branch of the target's
//! conversation begins and what it continues from, which branch the query
//! chose, and the links from a message to the other branches forking after it.

use std::collections::BTreeMap;

use agar_core::{Branch, TargetNode, Transcript};

use super::{BranchNode, TranscriptQuery};
use crate::error::WebError;

/// Every branch of a transcript, by number, as [`Transcript::branches`]
/// works it out (the judge's rendering reads the same structure).
pub(super) struct Branches {
    all: BTreeMap<u32, Branch>,
}

impl Branches {
    pub(super) fn of(t: &Transcript) -> Branches {
        Branches { all: t.branches() }
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
                Ok(n) if self.all.contains_key(&n) || (self.all.is_empty() && n == 0) => Ok(n),
                _ => Err(WebError::NotFound(format!("no branch {b:?} in this audit"))),
            },
        }
    }

    /// How many branches there are.
    pub(super) fn count(&self) -> usize {
        self.all.len()
    }

    /// The last message of `branch`, empty when it has none.
    pub(super) fn leaf(&self, branch: u32) -> String {
        self.all.get(&branch).map(|b| b.leaf.clone()).unwrap_or_default()
    }

    /// Whether `branch` continues from a message of another branch (a rollback).
    pub(super) fn is_forked(&self, branch: u32) -> bool {
        self.all.get(&branch).is_some_and(|i| i.forked_after.is_some())
    }

    /// The tree of branches from the roots down, with `selected` marked.
    pub(super) fn tree(&self, selected: u32, href: &dyn Fn(u32) -> String) -> Vec<BranchNode> {
        self.all
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
        let i = &self.all[&b];
        let children = if depth > 64 {
            Vec::new()
        } else {
            self.all
                .iter()
                .filter(|(c, ci)| ci.from == Some(b) && **c != b)
                .map(|(c, _)| self.node(*c, selected, href, depth + 1))
                .collect()
        };
        BranchNode {
            branch: b,
            href: href(b),
            kind: i.start.as_str(),
            first: i.first.clone(),
            leaf: i.leaf.clone(),
            forked_after: i.forked_after.clone(),
            from_branch: i.from,
            messages: i.messages,
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
        for (b, i) in &self.all {
            if let Some(after) = &i.forked_after
                && *b != selected
            {
                forks.entry(after.as_str()).or_default().push((*b, href(*b)));
            }
        }
        forks
    }
}
