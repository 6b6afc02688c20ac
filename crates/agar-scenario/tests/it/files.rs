//! `collect_files`: directory walking order, skipped files, missing paths.

use agar_scenario::collect_files;

use crate::{relative, tree};

#[test]
fn directories_are_walked_in_sorted_order() {
    let dir = tree(&[
        ("b.md", "b"),
        ("a/z.md", "z"),
        ("a/b/c.md", "c"),
        ("a-c.md", "x"),
        ("README.md", "readme"),
        ("a/readme.md", "readme"),
        (".hidden/h.md", "h"),
        ("a/.h.md", "h"),
        ("notes.txt", "t"),
        ("UPPER.MD", "u"),
    ]);
    let files = collect_files(&[dir.path().to_path_buf()]).unwrap();
    let names: Vec<String> = files.iter().map(|f| relative(dir.path(), f)).collect();
    assert_eq!(names, ["UPPER.MD", "a/b/c.md", "a/z.md", "a-c.md", "b.md"]);
}

#[test]
fn explicit_files_keep_their_order_and_are_listed_once() {
    let dir = tree(&[("x/README.md", "r"), ("x/one.md", "1"), ("x/two.md", "2")]);
    let root = dir.path();
    let files =
        collect_files(&[root.join("x/two.md"), root.join("x/README.md"), root.join("x")]).unwrap();
    let names: Vec<String> = files.iter().map(|f| relative(root, f)).collect();
    assert_eq!(names, ["x/two.md", "x/README.md", "x/one.md"]);
}

#[test]
fn missing_paths_are_errors_naming_them() {
    let dir = tree(&[("a.md", "a")]);
    let missing = dir.path().join("nope.md");
    let other = dir.path().join("gone");
    let errors =
        collect_files(&[missing.clone(), dir.path().join("a.md"), other.clone()]).unwrap_err();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].path, missing);
    assert_eq!(errors[1].path, other);
    assert_eq!(
        errors[0].to_string(),
        format!("{}:1: error: no such file or directory", missing.display())
    );
}

#[test]
fn an_empty_directory_gives_no_files() {
    let dir = tree(&[]);
    assert!(collect_files(&[dir.path().to_path_buf()]).unwrap().is_empty());
}

#[cfg(unix)]
#[test]
fn a_symlink_cycle_is_walked_once() {
    let dir = tree(&[("a/one.md", "1")]);
    std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("a/loop")).unwrap();
    let files = collect_files(&[dir.path().to_path_buf()]).unwrap();
    let names: Vec<String> = files.iter().map(|f| relative(dir.path(), f)).collect();
    assert_eq!(names, ["a/one.md"]);
}
