//! Integration tests of the store: the index against the files, labels,
//! run locks and the response cache.

#![expect(clippy::unwrap_used, reason = "tests")]

mod cache;
mod index;
mod merge;
mod mirror;
mod support;
mod writers;
