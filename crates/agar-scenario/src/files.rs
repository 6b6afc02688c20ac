//! The only IO of the crate: turning the paths a user gave into a sorted
//! list of Markdown files, and reading one file as UTF-8 text, within
//! [`Limits`].

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// The default of [`Limits::max_file_bytes`]: 1 MiB. A scenario file is sent
/// on every model call of its audits, so a larger one is almost surely a
/// mistake (a log or a data file named `.md`).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Limits on what is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Files larger than this are refused with an error naming the limit.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_file_bytes: DEFAULT_MAX_FILE_BYTES }
    }
}

/// Expands `paths` into the files to read, in a deterministic order.
///
/// - A file named explicitly is taken whatever its name (even `README.md`),
///   if it is a regular file (a device or fifo is an error).
/// - A directory is walked recursively; it contributes its `*.md` files
///   except `README.md` and `understanding.md` (any case; the latter is the
///   notes `agar generate` keeps beside the scenarios it writes), in path order. Hidden files and
///   directories (name starting with `.`) are skipped. A symbolic link is
///   followed only when it points inside the directory given (once: a link
///   cycle is not walked twice); a link pointing outside it is skipped with
///   a warning naming it, and a link that cannot be resolved (a loop, a
///   dangling link) is an error.
/// - Paths keep the order they were given in; a file reached twice is listed once.
///
/// Every path that does not exist or cannot be read is an error naming it.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let (files, diagnostics) = collect(paths);
    if diagnostics.iter().any(Diagnostic::is_error) { Err(diagnostics) } else { Ok(files) }
}

/// Like [`collect_files`], but returns the files it could find alongside the
/// diagnostics (errors and warnings), so that callers can report everything at once.
pub(crate) fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut walk = Walk::default();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                walk.root = fs::canonicalize(path).ok();
                walk.dir(path);
            }
            Ok(meta) if meta.is_file() => walk.push(path.clone()),
            Ok(meta) => walk.errors.push(Diagnostic::error(
                path,
                1,
                format!(
                    "{}, not a regular file; scenario and dimension files must be files",
                    kind(&meta)
                ),
            )),
            Err(e) => walk.errors.push(io_error(path, &e)),
        }
    }
    (walk.files, walk.errors)
}

use agar_core::file_kind::special_file_kind as kind;

#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    errors: Vec<Diagnostic>,
    seen_files: HashSet<PathBuf>,
    /// Canonical paths of the directories walked, against link cycles.
    seen_dirs: HashSet<PathBuf>,
    /// The canonical directory being walked: links may not leave it.
    root: Option<PathBuf>,
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
            if name.starts_with('.') || !self.link_stays_inside(&path) {
                continue;
            }
            // `metadata` follows symbolic links: a link inside the folder
            // counts as what it points to.
            match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.dir(&path),
                Ok(meta) if meta.is_file() && is_markdown(&name) => self.push(path),
                Ok(_) => {}
                Err(e) => self.errors.push(io_error(&path, &e)),
            }
        }
    }

    /// False (with a warning, or an error for a link that cannot be
    /// resolved) for a symbolic link that leads outside the walked folder.
    fn link_stays_inside(&mut self, path: &Path) -> bool {
        let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        let Some(root) = &self.root else { return true };
        if !is_link {
            return true;
        }
        match fs::canonicalize(path) {
            Ok(target) if target.starts_with(root) => true,
            Ok(target) => {
                self.errors.push(Diagnostic::warning(
                    path,
                    1,
                    format!(
                        "symbolic link to {} points outside {}; not followed",
                        target.display(),
                        root.display()
                    ),
                ));
                false
            }
            Err(e) => {
                self.errors.push(io_error(path, &e));
                false
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

/// Reads `path` as UTF-8 text, refusing one over `limits`; a read failure
/// is a diagnostic at line 1.
pub fn read_text(path: &Path, limits: &Limits) -> Result<String, Diagnostic> {
    let max = limits.max_file_bytes;
    let too_big = |size: String| {
        Diagnostic::error(
            path,
            1,
            format!(
                "file is {size} bytes, over the limit of {max} (each scenario file is sent on \
                 every model call; raise the limit with --max-scenario-bytes or \
                 AGAR_MAX_SCENARIO_BYTES)"
            ),
        )
    };
    let file = fs::File::open(path).map_err(|e| io_error(path, &e))?;
    let meta = file.metadata().map_err(|e| io_error(path, &e))?;
    if !meta.is_file() {
        return Err(Diagnostic::error(path, 1, format!("{}, not a regular file", kind(&meta))));
    }
    if meta.len() > max {
        return Err(too_big(meta.len().to_string()));
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(|e| io_error(path, &e))?;
    if bytes.len() as u64 > max {
        return Err(too_big(format!("over {max}")));
    }
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
