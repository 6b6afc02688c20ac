//! The only IO of the crate: turning the paths a user gave into a sorted
//! list of Markdown files, and reading one file as UTF-8 text.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// Expands `paths` into the files to read, in a deterministic order.
///
/// - A file named explicitly is taken whatever its name (even `README.md`).
/// - A directory is walked recursively; it contributes its `*.md` files
///   except `README.md` and `understanding.md` (any case; the latter is the
///   notes `agar generate` keeps beside the scenarios it writes), in path order. Hidden files and
///   directories (name starting with `.`) are skipped. Symbolic links to
///   directories are followed once (a link cycle is not walked twice).
/// - Paths keep the order they were given in; a file reached twice is listed once.
///
/// Every path that does not exist or cannot be read is an error naming it.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let (files, errors) = collect(paths);
    if errors.is_empty() { Ok(files) } else { Err(errors) }
}

/// Like [`collect_files`], but returns the files it could find alongside the
/// errors, so that callers can report everything at once.
pub(crate) fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut walk = Walk::default();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk.dir(path),
            Ok(_) => walk.push(path.clone()),
            Err(e) => walk.errors.push(io_error(path, &e)),
        }
    }
    (walk.files, walk.errors)
}

#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    errors: Vec<Diagnostic>,
    seen_files: HashSet<PathBuf>,
    /// Canonical paths of the directories walked, against link cycles.
    seen_dirs: HashSet<PathBuf>,
}

impl Walk {
    fn push(&mut self, file: PathBuf) {
        if self.seen_files.insert(file.clone()) {
            self.files.push(file);
        }
    }

    fn dir(&mut self, dir: &Path) {
        if let Ok(canonical) = fs::canonicalize(dir)
            && !self.seen_dirs.insert(canonical)
        {
            return;
        }
        let entries = match fs::read_dir(dir).and_then(|rd| rd.collect::<io::Result<Vec<_>>>()) {
            Ok(entries) => entries,
            Err(e) => {
                self.errors.push(io_error(dir, &e));
                return;
            }
        };
        let mut entries: Vec<(String, PathBuf)> = entries
            .into_iter()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect();
        entries.sort();
        for (name, path) in entries {
            if name.starts_with('.') {
                continue;
            }
            // `metadata` follows symbolic links: a link counts as what it points to.
            match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.dir(&path),
                Ok(meta) if meta.is_file() && is_markdown(&name) => self.push(path),
                Ok(_) => {}
                Err(e) => self.errors.push(io_error(&path, &e)),
            }
        }
    }
}

/// `*.md` (any case), but not `README.md` nor `agar generate`'s `understanding.md`.
fn is_markdown(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".md") && lower != "readme.md" && lower != "understanding.md"
}

fn io_error(path: &Path, error: &io::Error) -> Diagnostic {
    let message = match error.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        _ => format!("cannot read: {}", lower_first(&error.to_string())),
    };
    Diagnostic::error(path, 1, message)
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads `path` as UTF-8 text; a read failure is a diagnostic at line 1.
pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let bytes = fs::read(path).map_err(|e| io_error(path, &e))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
        Diagnostic::error(
            path,
            1,
            format!("file is not valid utf-8 text (first bad byte on line {line})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_names() {
        assert!(is_markdown("a.md"));
        assert!(is_markdown("B.MD"));
        assert!(!is_markdown("README.md"));
        assert!(!is_markdown("readme.md"));
        assert!(!is_markdown("Understanding.md"));
        assert!(!is_markdown("a.txt"));
    }

    #[test]
    fn io_messages_are_lower_case() {
        assert_eq!(lower_first("Permission denied"), "permission denied");
    }
}
