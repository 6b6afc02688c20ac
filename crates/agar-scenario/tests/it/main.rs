//! Integration tests of agar-scenario: one binary, one module per area.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unwrap")]

mod dimension;
mod files;
mod load;
mod prop;
mod scenario;

use std::path::{Path, PathBuf};

use agar_scenario::Diagnostic;

/// Diagnostics as `line: severity: message`, the path left out.
fn render(diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics.iter().map(|d| format!("{}: {}: {}", d.line, d.severity, d.message)).collect()
}

/// Writes `files` (relative path, content) under a fresh temporary directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        write(dir.path(), path, content.as_bytes());
    }
    dir
}

fn write(root: &Path, relative: &str, content: &[u8]) -> PathBuf {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    path
}

/// `path` relative to `root`, with `/` separators, for stable assertions.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap();
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
