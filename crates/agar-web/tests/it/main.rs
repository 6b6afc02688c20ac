//! Integration tests of the viewer: the router driven with
//! `tower::ServiceExt::oneshot` (no socket) over stores written through
//! agar-store, and one end-to-end test in headless Chromium.

#![expect(clippy::unwrap_used, reason = "tests")]

mod browser;
mod fixture;
mod labels;
mod live;
mod monitor;
mod pages;
mod security;
mod support;
mod webdriver;
mod xss;
