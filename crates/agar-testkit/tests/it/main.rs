//! The testkit's one integration-test binary: the fake server over real HTTP
//! on 127.0.0.1 (all three protocols), the scripted model, and the
//! `agar-fake-server` process.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod binary;
mod derived;
mod faults;
mod protocols;
mod scripted_model;
mod scripts;
mod support;
