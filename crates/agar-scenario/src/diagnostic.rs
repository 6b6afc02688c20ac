//! [`Diagnostic`]: one problem in one file, at one line, and the collector the parsers fill.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Whether a problem stops the file from being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file cannot be used as it is.
    Error,
    /// The file is used, but something in it is probably not what the author meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a scenario or dimension file.
///
/// Displays as `path:line: error: message`, the form editors and CI log
/// viewers link to. `line` is 1-based and counts lines of the whole file
/// (front matter included); a problem with the file as a whole (unreadable,
/// missing, bad file name) points at line 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line in the file.
    pub line: usize,
    pub severity: Severity,
    /// Lower-case, no final period, one line (line breaks quoted from the
    /// file are shown escaped).
    pub message: String,
}

impl Diagnostic {
    /// An error at `line` of `path`.
    pub fn error(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        let message = one_line(message.into());
        Self { path: path.into(), line, severity: Severity::Error, message }
    }

    /// A warning at `line` of `path`.
    pub fn warning(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        let message = one_line(message.into());
        Self { path: path.into(), line, severity: Severity::Warning, message }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.path.display(), self.line, self.severity, self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Sorts diagnostics by path, then line; problems on the same line keep the
/// order in which they were found.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)));
}

/// A diagnostic is one line: values quoted from the file (a block-scalar
/// `id`, say) may hold line breaks, which are shown escaped.
fn one_line(message: String) -> String {
    if !message.contains(['\n', '\r']) {
        return message;
    }
    message.replace('\r', "\\r").replace('\n', "\\n")
}

/// Collects the diagnostics of one file while it is parsed.
#[derive(Debug)]
pub(crate) struct Sink {
    path: PathBuf,
    items: Vec<Diagnostic>,
}

impl Sink {
    pub(crate) fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf(), items: Vec::new() }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn error(&mut self, line: usize, message: impl Into<String>) {
        self.items.push(Diagnostic::error(&self.path, line.max(1), message));
    }

    pub(crate) fn warning(&mut self, line: usize, message: impl Into<String>) {
        self.items.push(Diagnostic::warning(&self.path, line.max(1), message));
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    pub(crate) fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// The diagnostics in line order.
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        sort(&mut self.items);
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_path_line_severity_message() {
        let d = Diagnostic::error("a/b.md", 3, "bad thing");
        assert_eq!(d.to_string(), "a/b.md:3: error: bad thing");
        let w = Diagnostic::warning("a/b.md", 4, "odd thing");
        assert_eq!(w.to_string(), "a/b.md:4: warning: odd thing");
    }

    #[test]
    fn sink_never_reports_line_zero() {
        let mut sink = Sink::new(Path::new("x.md"));
        sink.error(0, "whole file");
        assert_eq!(sink.finish()[0].line, 1);
    }

    #[test]
    fn a_value_with_line_breaks_is_quoted_on_one_line() {
        let mut sink = Sink::new(Path::new("s.md"));
        sink.error(2, "scenario id `name:\n` from `id` contains whitespace");
        assert_eq!(sink.items[0].message, "scenario id `name:\\n` from `id` contains whitespace");
        assert!(!sink.items[0].to_string().contains('\n'));
    }
}
