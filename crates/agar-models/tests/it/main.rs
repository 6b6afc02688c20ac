//! agar-models' integration tests, one binary:
//!
//! - [`resilience`]: the middleware on paused tokio time, against a scripted
//!   in-process model ([`support::Scripted`]); no sockets.
//! - [`http`]: the OpenAI provider, resolved as the binary would, against the
//!   fake OpenAI-compatible server on 127.0.0.1 in real time.
//! - [`references`]: model references that do and do not resolve.

mod http;
mod references;
mod resilience;
mod support;
