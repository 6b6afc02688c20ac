//! The judge against scripted models: valid, malformed and failed answers,
//! citation checks, and the no-reply cap.

#![expect(clippy::unwrap_used, reason = "tests")]

mod scoring;
