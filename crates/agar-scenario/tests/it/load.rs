//! `load_scenarios`, `load_dimensions` and `check_paths` over real files.

use agar_scenario::{FileKind, Severity, check_paths, file_kind, load_dimensions, load_scenarios};

use crate::{relative, tree, write};

#[test]
fn a_folder_of_scenarios_loads_in_order() {
    let dir = tree(&[
        ("b.md", "Second."),
        ("a.md", "---\nid: first\n---\nFirst.\n"),
        ("README.md", "not a scenario"),
    ]);
    let scenarios = load_scenarios(&[dir.path().to_path_buf()]).unwrap();
    let ids: Vec<&str> = scenarios.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["first", "b"]);
}

#[test]
fn three_broken_files_give_diagnostics_with_file_and_line() {
    let dir = tree(&[
        ("one.md", "---\nid: one\nmax_turns: many\n---\nbody\n"),
        ("two.md", "---\nid: two\n\nbody without a closing fence\n"),
        ("sub/three.md", "---\ntools:\n  - name: bad name\n    description: x\n---\nbody\n"),
        ("fine.md", "All good.\n"),
    ]);
    let errors = load_scenarios(&[dir.path().to_path_buf()]).unwrap_err();
    let found: Vec<(String, usize)> =
        errors.iter().map(|d| (relative(dir.path(), &d.path), d.line)).collect();
    assert_eq!(
        found,
        [("one.md".to_string(), 3), ("sub/three.md".to_string(), 3), ("two.md".to_string(), 1)]
    );
    assert!(errors.iter().all(|d| d.severity == Severity::Error));
    for d in &errors {
        let shown = d.to_string();
        assert!(shown.starts_with(&format!("{}:{}: error: ", d.path.display(), d.line)), "{shown}");
    }
}

#[test]
fn duplicate_ids_across_files_name_both_files() {
    let dir = tree(&[
        ("a.md", "---\nid: same\n---\nA.\n"),
        ("b.md", "---\ntitle: B\nid: same\n---\nB.\n"),
    ]);
    let errors = load_scenarios(&[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(errors.len(), 1);
    let first = dir.path().join("a.md");
    assert_eq!(errors[0].path, dir.path().join("b.md"));
    assert_eq!(errors[0].line, 3);
    assert_eq!(
        errors[0].message,
        format!("duplicate scenario id `same`: {} has it too", first.display())
    );
}

#[test]
fn duplicate_ids_from_file_stems_are_caught() {
    let dir = tree(&[("x/seed.md", "A."), ("y/seed.md", "B.")]);
    let errors = load_scenarios(&[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(relative(dir.path(), &errors[0].path), "y/seed.md");
    assert_eq!(errors[0].line, 1);
}

#[test]
fn not_utf8_is_a_diagnostic_at_line_1() {
    let dir = tree(&[]);
    let path = write(dir.path(), "bad.md", b"fine\n\xff\xfe\n");
    let errors = load_scenarios(std::slice::from_ref(&path)).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 1);
    assert_eq!(errors[0].message, "file is not valid utf-8 text (first bad byte on line 2)");
}

#[test]
fn missing_paths_and_broken_files_are_reported_together() {
    let dir = tree(&[("bad.md", "")]);
    let errors =
        load_scenarios(&[dir.path().join("missing"), dir.path().to_path_buf()]).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages, ["scenario has no instructions", "no such file or directory"]);
}

#[test]
fn dimensions_load_and_reject_duplicates() {
    let dir = tree(&[
        ("a/lying.md", "---\ndescription: Lies.\n---\n"),
        ("b/power.md", "---\ndescription: Seeks power.\ndisplay_order: 2\n---\n"),
    ]);
    let dims = load_dimensions(&[dir.path().to_path_buf()]).unwrap();
    let names: Vec<&str> = dims.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["lying", "power"]);

    write(dir.path(), "c/lying.md", b"---\ndescription: Lies again.\n---\n");
    let errors = load_dimensions(&[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(relative(dir.path(), &errors[0].path), "c/lying.md");
    assert!(
        errors[0].message.starts_with("duplicate dimension name `lying`: "),
        "{}",
        errors[0].message
    );
}

#[test]
fn check_tells_dimensions_from_scenarios() {
    let dir = tree(&[
        // Under `dimensions/` with a description: a dimension, even with a scenario key.
        ("dimensions/lying.md", "---\ndescription: Lies.\ntitle: x\n---\n"),
        // Elsewhere, a description and no scenario key: a dimension.
        ("other/power.md", "---\ndescription: Seeks power.\ntags: [a]\n---\n"),
        // A description next to a scenario key: a scenario with an unknown key.
        ("scenarios/s.md", "---\nid: s\ndescription: what this tests\n---\nBody.\n"),
        // Under `dimensions/` without a description: a scenario (a Petri seed).
        ("dimensions/seed.md", "Just a seed.\n"),
    ]);
    let root = dir.path();
    let kind = |p: &str| file_kind(&root.join(p), &std::fs::read_to_string(root.join(p)).unwrap());
    assert_eq!(kind("dimensions/lying.md"), FileKind::Dimension);
    assert_eq!(kind("other/power.md"), FileKind::Dimension);
    assert_eq!(kind("scenarios/s.md"), FileKind::Scenario);
    assert_eq!(kind("dimensions/seed.md"), FileKind::Scenario);

    let diagnostics = check_paths(&[root.to_path_buf()]);
    let shown: Vec<String> = diagnostics
        .iter()
        .map(|d| format!("{}:{}: {}", relative(root, &d.path), d.line, d.message))
        .collect();
    assert_eq!(
        shown,
        [
            "dimensions/lying.md:3: unknown key `title` (ignored)",
            "scenarios/s.md:3: unknown key `description` (kept as metadata)",
        ]
    );
}

#[test]
fn check_reports_every_problem_sorted_by_path_and_line() {
    let dir = tree(&[
        ("z.md", "---\nmax_turns: many\nrepeats: 0\n---\nx\n"),
        ("dimensions/bad.md", "---\ndescription: X.\npalette: red\n---\n"),
        ("a.md", "---\n---\n"),
    ]);
    let root = dir.path();
    let diagnostics = check_paths(&[root.join("z.md"), root.to_path_buf()]);
    let shown: Vec<String> =
        diagnostics.iter().map(|d| format!("{}:{}", relative(root, &d.path), d.line)).collect();
    assert_eq!(shown, ["a.md:2", "dimensions/bad.md:3", "z.md:2", "z.md:3"]);
}

#[test]
fn behaviour_files_and_understanding_notes_are_not_scenarios() {
    let dir = tree(&[
        (
            "BEHAVIOUR.md",
            "---\nname: flattery\ndimensions: [sycophancy]\n---\nPraise beyond merit.\n",
        ),
        ("understanding.md", "---\ninputs_sha256: x\n---\nNotes.\n"),
        ("s.md", "Probe.\n"),
        ("bad/BEHAVIOUR.md", "---\nname: Not Snake\n---\n"),
    ]);
    let kind = |p: &str| {
        file_kind(&dir.path().join(p), &std::fs::read_to_string(dir.path().join(p)).unwrap())
    };
    assert_eq!(kind("BEHAVIOUR.md"), FileKind::Behaviour);
    let diags = check_paths(&[dir.path().to_path_buf()]);
    let errors: Vec<(String, usize)> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (relative(dir.path(), &d.path), d.line))
        .collect();
    assert_eq!(errors, [("bad/BEHAVIOUR.md".to_string(), 2), ("bad/BEHAVIOUR.md".to_string(), 3)]);
    std::fs::remove_dir_all(dir.path().join("bad")).unwrap();
    let scenarios = load_scenarios(&[dir.path().to_path_buf()]).unwrap();
    let ids: Vec<&str> = scenarios.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s"]);
}
