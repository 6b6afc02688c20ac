//! agar-models' integration tests, one binary:
//!
//! - [`resilience`]: the middleware on paused tokio time, against a scripted
//!   in-process model ([`support::Scripted`]); no sockets.
//! - [`http`]: the OpenAI provider, resolved as the binary would, against the
//!   fake OpenAI-compatible server on 127.0.0.1 in real time.
//! - [`real_server`]: a real server already running (not in CI).
//! - [`references`]: model references that do and do not resolve.
//! - [`conformance`]: the checks every provider passes against its fake
//!   server (OpenAI, Anthropic, HTTP application).
//! - [`gateway`]: the conformance suite through a real gateway (LiteLLM),
//!   when `scripts/gateway-conformance.sh` started one.
//! - [`servers`]: the OpenAI provider against real servers' behaviours
//!   (the fake server's quirk profiles).
//! - [`anthropic`], [`http_app`]: what those providers do beyond the suite.

mod anthropic;
mod conformance;
mod gateway;
mod http;
mod http_app;
mod real_server;
mod references;
mod resilience;
mod servers;
mod support;
