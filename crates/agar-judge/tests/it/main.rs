//! The judge against scripted models: valid, malformed, refused and failed
//! answers; citation checks; several samples; the rendered prompt; the
//! built-in dimension library.

mod citations;
mod library;
mod prompt;
mod samples;
mod scoring;
mod support;
mod unsupported;
