//! The tidy test: rules about the source tree that no compiler checks.
//!
//! Every Rust source file opens with a `//!` line saying what it is; no file is
//! over 800 lines and no function over 150 (split along a seam instead); every
//! crate is named in docs/ARCHITECTURE.md and crates/README.md; no test debris
//! (a store written by a test run) is committed, and git ignores a store
//! wherever it is written; unsafe code is only where a crate's manifest says
//! (and no `SAFETY:` comment outlives it). Each rule is a plain function
//! over a file's text, tested on its own below, so the test fails for the right
//! reason and its message names the file and line to fix.

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 150;

/// Functions over the limit when this test was written, each with the
/// length it may not exceed: a ratchet. They are to be split along their
/// seams (issue 16); a listed function that grows fails the test, and one
/// that shrinks under the limit must leave this list.
const LONG_FUNCTIONS_TO_SPLIT: &[(&str, &str, usize)] =
    &[("crates/agar-local/src/engine.rs", "generate", 188)];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every `.rs` file under `dir`, skipping build output.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Whether the first non-blank line is a `//!` module doc.
fn opens_with_module_doc(text: &str) -> bool {
    text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.trim_start().starts_with("//!"))
}

/// `(line, name, length)` of every function longer than `max` lines.
///
/// A function runs from its `fn` line to the brace that closes its body;
/// braces inside string and character literals and after `//` are ignored.
/// This is a line scanner, not a parser: good enough for rustfmt-formatted code.
fn long_functions(text: &str, max: usize) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        let mut depth = 0i64;
        let mut opened = false;
        for (offset, body_line) in lines[start..].iter().enumerate() {
            let code = code_of(body_line);
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if !opened && code.trim_end().ends_with(';') {
                break; // a declaration without a body
            }
            if opened && depth <= 0 {
                let len = offset + 1;
                if len > max {
                    found.push((start + 1, name.to_owned(), len));
                }
                break;
            }
        }
    }
    found
}

/// The function name declared on `line`, if it declares one.
fn fn_name(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace().peekable();
    while let Some(word) = words.next() {
        match word {
            "pub" | "const" | "async" | "unsafe" | "extern" | "default" => continue,
            w if w.starts_with("pub(") => continue,
            w if w.starts_with('"') => continue, // extern "C"
            "fn" => {
                let name = words.next()?;
                let end =
                    name.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(name.len());
                return (end > 0).then(|| &name[..end]);
            }
            _ => return None,
        }
    }
    None
}

/// `line` without string and character literals and without a `//` comment.
fn code_of(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            '\'' => {
                // A character literal ('{', '\n') or a lifetime ('a): skip the
                // literal only when a closing quote follows closely.
                let rest: String = chars.clone().take(4).collect();
                if let Some(close) =
                    rest.char_indices().skip(1).find(|&(_, r)| r == '\'').map(|(i, _)| i)
                {
                    for _ in 0..=close {
                        chars.next();
                    }
                    out.push_str("''");
                } else {
                    out.push(c);
                }
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// What is wrong with the source file `name` holding `text`: no `//!` opening,
/// over [`MAX_FILE_LINES`], or a function over [`MAX_FN_LINES`] that `listed`
/// does not allow (the listed functions found are added to `seen`).
fn file_problems(
    name: &str,
    text: &str,
    listed: &[(&str, &str, usize)],
    seen: &mut Vec<(String, String)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if !opens_with_module_doc(text) {
        problems
            .push(format!("{name}:1: the file does not open with a `//!` line saying what it is"));
    }
    let lines = text.lines().count();
    if lines > MAX_FILE_LINES {
        problems.push(format!(
            "{name}: {lines} lines (at most {MAX_FILE_LINES}): split it along a seam"
        ));
    }
    for (line, function, len) in long_functions(text, MAX_FN_LINES) {
        let ceiling = listed.iter().find(|(f, n, _)| *f == name && *n == function);
        if ceiling.is_some() {
            seen.push((name.to_owned(), function.clone()));
        }
        match ceiling {
            Some((_, _, ceiling)) if len <= *ceiling => {}
            Some((_, _, ceiling)) => problems.push(format!(
                "{name}:{line}: fn {function} grew to {len} lines (listed at {ceiling}; split it)"
            )),
            None => problems.push(format!(
                "{name}:{line}: fn {function} is {len} lines (at most {MAX_FN_LINES})"
            )),
        }
    }
    problems
}

#[test]
fn every_source_file_opens_with_a_module_doc_and_stays_short() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("fuzz"), &mut files);
    assert!(files.len() > 100, "found only {} source files under {}", files.len(), root.display());
    let mut problems = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = relative(path, &root);
        problems.extend(file_problems(&name, &text, LONG_FUNCTIONS_TO_SPLIT, &mut seen));
    }
    for (file, function, _) in LONG_FUNCTIONS_TO_SPLIT {
        if !seen.iter().any(|(f, n)| f == file && n == function) {
            problems.push(format!(
                "{file}: fn {function} is no longer over {MAX_FN_LINES} lines: remove it from LONG_FUNCTIONS_TO_SPLIT"
            ));
        }
    }
    assert!(problems.is_empty(), "tidy:\n{}", problems.join("\n"));
}

#[test]
fn every_crate_is_on_the_maps() {
    let root = workspace_root();
    let architecture = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let readme = std::fs::read_to_string(root.join("crates/README.md")).unwrap();
    let mut crates: Vec<String> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    assert!(crates.len() >= 13, "{crates:?}");
    let mut missing = Vec::new();
    for name in &crates {
        if !architecture.lines().any(|l| l.trim() == format!("### {name}")) {
            missing.push(format!("docs/ARCHITECTURE.md has no `### {name}` heading"));
        }
        if !readme.contains(&format!("`{name}`")) {
            missing.push(format!("crates/README.md does not name `{name}`"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn no_test_debris_is_committed() {
    let root = workspace_root();
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["ls-files", "crates"])
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        other => panic!("`git ls-files` is needed to check for committed test debris: {other:?}"),
    };
    let debris: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|p| {
            let parts: Vec<&str> = p.split('/').collect();
            // A store, or a file a test wrote into a crate's own folder (a
            // report written to the working directory): only the manifest
            // and the usual build files live beside `src/`.
            parts.iter().any(|part| *part == "transcripts" || *part == ".index")
                || (parts.len() == 3
                    && !matches!(parts[2], "Cargo.toml" | "README.md" | "build.rs"))
        })
        .map(str::to_owned)
        .collect();
    assert!(
        debris.is_empty(),
        "a test run's store is committed; remove it:\n{}",
        debris.join("\n")
    );
}

#[test]
fn the_rules_catch_what_they_are_about() {
    assert!(opens_with_module_doc("\n//! What this is.\nfn main() {}\n"));
    assert!(!opens_with_module_doc("use std::fs;\n//! late\n"));
    assert!(!opens_with_module_doc("/// an item doc, not a module doc\nfn f() {}\n"));

    let body: String = (0..160).map(|i| format!("    let x{i} = \"{{\";\n")).collect();
    let long =
        format!("pub(crate) async fn big(a: u8) -> u8 {{\n{body}    a\n}}\n\nfn small() {{}}\n");
    assert_eq!(long_functions(&long, MAX_FN_LINES), vec![(1, "big".to_owned(), 163)]);
    assert!(long_functions(&long, 200).is_empty());
    let decl = "trait T {\n    fn f(&self);\n    fn g(&self) {\n        let c = '}';\n    }\n}\n";
    assert!(long_functions(decl, 1).iter().all(|(_, name, len)| name == "g" && *len == 3));
    assert_eq!(fn_name("    pub(crate) fn hello<T>(x: T) {"), Some("hello"));
    assert_eq!(fn_name("    let f = 3;"), None);
}

#[test]
fn the_file_check_fails_on_a_file_without_a_module_doc_or_over_a_limit() {
    let mut seen = Vec::new();
    let fine = "//! A small module.\n\nfn f() {}\n";
    assert!(file_problems("crates/x/src/fine.rs", fine, &[], &mut seen).is_empty());
    let undocumented = "use std::fs;\n\nfn f() {}\n";
    assert_eq!(
        file_problems("crates/x/src/a.rs", undocumented, &[], &mut seen),
        ["crates/x/src/a.rs:1: the file does not open with a `//!` line saying what it is"]
    );
    let long_file = format!("//! Long.\n{}", "const X: u8 = 0;\n".repeat(MAX_FILE_LINES));
    assert_eq!(
        file_problems("crates/x/src/b.rs", &long_file, &[], &mut seen),
        ["crates/x/src/b.rs: 801 lines (at most 800): split it along a seam"]
    );
    let body = "    let x = 0;\n".repeat(MAX_FN_LINES + 10);
    let long_fn = format!("//! One long function.\n\nfn big() {{\n{body}}}\n");
    assert_eq!(
        file_problems("c.rs", &long_fn, &[], &mut seen),
        ["c.rs:3: fn big is 162 lines (at most 150)"]
    );
    assert!(seen.is_empty());
    // Listed with a ceiling it stays under, it passes (and is seen); grown
    // past its ceiling, it fails.
    assert!(file_problems("c.rs", &long_fn, &[("c.rs", "big", 170)], &mut seen).is_empty());
    assert_eq!(seen, [("c.rs".to_owned(), "big".to_owned())]);
    assert_eq!(
        file_problems("c.rs", &long_fn, &[("c.rs", "big", 155)], &mut seen),
        ["c.rs:3: fn big grew to 162 lines (listed at 155; split it)"]
    );
}

/// A comment justifying an unsafe block (written in two pieces, so that this
/// file does not hold it).
const SAFETY_COMMENT: &str = concat!("// ", "SAFETY:");

/// What is stale about unsafe code in one crate, from its manifest and its
/// source files (path, text): a crate whose manifest relaxes the workspace's
/// `unsafe_code = "forbid"` must name in it every file that opts in to unsafe
/// code; in a crate where it stays forbidden, a `SAFETY:` comment is stale.
fn unsafe_problems(manifest_path: &str, manifest: &str, files: &[(String, String)]) -> Vec<String> {
    let relaxed = manifest.lines().any(|l| {
        let l = l.trim();
        l.starts_with("unsafe_code") && !l.contains("\"forbid\"")
    });
    let mut problems = Vec::new();
    for (path, text) in files {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        let opts_in = text.contains("expect(unsafe_code") || text.contains("allow(unsafe_code");
        if relaxed && opts_in && !manifest.contains(file_name) {
            problems.push(format!(
                "{path}: allows unsafe code, but {manifest_path}'s comment on its `unsafe_code` lint does not name {file_name}"
            ));
        }
        if !relaxed && let Some(line) = text.lines().position(|l| l.contains(SAFETY_COMMENT)) {
            problems.push(format!(
                "{path}:{}: a SAFETY comment where unsafe code is forbidden is stale",
                line + 1
            ));
        }
    }
    problems
}

#[test]
fn unsafe_code_is_only_where_the_manifests_say() {
    let root = workspace_root();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let manifest_path = entry.path().join("Cargo.toml");
        let Ok(manifest) = std::fs::read_to_string(&manifest_path) else { continue };
        let mut paths = Vec::new();
        rust_files(&entry.path(), &mut paths);
        let files: Vec<(String, String)> = paths
            .iter()
            .map(|p| (relative(p, &root), std::fs::read_to_string(p).unwrap()))
            .collect();
        problems.extend(unsafe_problems(&relative(&manifest_path, &root), &manifest, &files));
    }
    assert!(problems.is_empty(), "tidy:\n{}", problems.join("\n"));
}

#[test]
fn the_unsafe_check_catches_stale_comments() {
    let relaxed = "# unsafe only in threads.rs\n[lints.rust]\nunsafe_code = \"deny\"\n";
    let forbidden = "[lints]\nworkspace = true\n";
    let opts_in = |path: &str| {
        (path.to_owned(), "#![expect(unsafe_code, reason = \"x\")]\nfn f() {}\n".to_owned())
    };
    assert!(unsafe_problems("Cargo.toml", relaxed, &[opts_in("src/threads.rs")]).is_empty());
    assert_eq!(
        unsafe_problems("Cargo.toml", relaxed, &[opts_in("src/kernels.rs")]),
        [
            "src/kernels.rs: allows unsafe code, but Cargo.toml's comment on its `unsafe_code` lint does not name kernels.rs"
        ]
    );
    let stale =
        ("src/a.rs".to_owned(), format!("//! A.\n{SAFETY_COMMENT} was sound\nfn f() {{}}\n"));
    assert_eq!(
        unsafe_problems("Cargo.toml", forbidden, std::slice::from_ref(&stale)),
        ["src/a.rs:2: a SAFETY comment where unsafe code is forbidden is stale"]
    );
    assert!(unsafe_problems("Cargo.toml", relaxed, &[stale]).is_empty());
}

/// A store written anywhere (its runs, its index, its response cache,
/// locks and running markers) is ignored by git; the default store's
/// `.gitkeep` is not.
#[test]
fn git_ignores_a_store_wherever_it_is_written() {
    let root = workspace_root();
    let ignored = |path: &str| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(["check-ignore", "-q", "--no-index", path])
            .status()
            .unwrap_or_else(|e| panic!("`git check-ignore` is needed: {e}"));
        match status.code() {
            Some(0) => true,
            Some(1) => false,
            other => panic!("git check-ignore {path}: {other:?}"),
        }
    };
    for path in [
        "transcripts/run-1/poem.json",
        "crates/agar-cli/transcripts/run-1/poem.json",
        "crates/agar-cli/transcripts/.index/db",
        "crates/agar-web/tests/transcripts/run-1/a.json",
        "out/store/.index/conf",
        "out/store/.cache/responses/ab.json",
        "out/store/.locks/run-1",
        "out/store/.running/run-1/a",
        "out/store/run-1/.running.log",
        "out/store/.lock",
    ] {
        assert!(ignored(path), "{path} is not ignored by .gitignore");
    }
    assert!(!ignored("transcripts/.gitkeep"));
    assert!(!ignored("crates/agar-store/src/index.rs"));
}
