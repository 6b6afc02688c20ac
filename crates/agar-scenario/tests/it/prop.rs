//! Property tests: hostile text never panics the scenario or dimension parser,
//! every diagnostic points inside the file, and generated valid scenarios and
//! dimensions come back with the fields they were written with.

use std::path::Path;

use agar_scenario::{Diagnostic, Severity, parse_dimension, parse_scenario};
use proptest::prelude::*;

/// The last line a diagnostic may point at: the file's line count (at least 1,
/// for an empty file or a problem with the file as a whole).
fn last_line(text: &str) -> usize {
    text.lines().count().max(1)
}

fn lines_are_inside(text: &str, diagnostics: &[Diagnostic]) -> Result<(), TestCaseError> {
    let last = last_line(text);
    for d in diagnostics {
        prop_assert!(
            (1..=last).contains(&d.line),
            "diagnostic at line {} of a {last}-line file: {d}\n--- text ---\n{text:?}",
            d.line
        );
        prop_assert!(!d.message.is_empty(), "empty message in {d}");
        prop_assert!(!d.message.contains('\n'), "multi-line message: {:?}", d.message);
    }
    Ok(())
}

/// Pieces of front matter, valid and not: keys agar knows with values of
/// every YAML shape, broken YAML, tabs, anchors, templates and fences.
fn front_matter_line() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "id",
        "title",
        "tags",
        "max_turns",
        "target_system",
        "tools",
        "environment",
        "dimensions",
        "repeats",
        "variables",
        "description",
        "display_name",
        "display_order",
        "palette",
        "unknown",
        "  name",
        "  - name",
        "    parameters",
        "- ",
    ]);
    let values = prop::sample::select(vec![
        "",
        " x",
        " 0",
        " -3",
        " 99999999999999999999",
        " 1.5",
        " true",
        " null",
        " ~",
        " [a, b",
        " [a, b]",
        " {a: 1}",
        " {a: [",
        " \"unterminated",
        " 'q''uote'",
        " |",
        " >-",
        " &anchor x",
        " *anchor",
        " !!binary aGVsbG8=",
        " tags:a,b",
        " good-high",
        " {{ name }}",
        "\t tab",
        " 🦀 émoji",
        ": :",
    ]);
    prop_oneof![
        4 => (keys, values).prop_map(|(k, v)| format!("{k}:{v}")),
        1 => "[ -~\t]{0,30}",
        1 => Just("---".to_string()),
        1 => Just(String::new()),
    ]
}

/// A whole file: optional BOM, front matter built from [`front_matter_line`]
/// (possibly never closed), then a body with templates and fences.
fn hostile_file() -> impl Strategy<Value = String> {
    let body_line = prop_oneof![
        "[ -~]{0,40}",
        Just("{{ undefined }}".to_string()),
        Just("{% if x %}".to_string()),
        Just("{% raw %}{{ kept }}{% endraw %}".to_string()),
        Just("---".to_string()),
        "\\PC{0,20}",
    ];
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(front_matter_line(), 0..12),
        any::<bool>(),
        prop::collection::vec(body_line, 0..6),
        prop::sample::select(vec!["\n", "\r\n"]),
    )
        .prop_map(|(bom, fenced, front, closed, body, eol)| {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            if fenced {
                text.push_str("---");
                text.push_str(eol);
                for line in &front {
                    text.push_str(line);
                    text.push_str(eol);
                }
                if closed {
                    text.push_str("---");
                    text.push_str(eol);
                }
            }
            for line in &body {
                text.push_str(line);
                text.push_str(eol);
            }
            text
        })
}

/// A file that is arbitrary text or a hostile Markdown-with-front-matter file.
fn any_file() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), hostile_file()]
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,9}"
}

/// A body the parser must keep as written (no template syntax, no fence, no
/// leading or trailing blanks).
fn plain_body() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::collection::vec("[A-Za-z0-9.,!?]{1,10}", 1..8), 1..5)
        .prop_map(|lines| lines.iter().map(|words| words.join(" ")).collect::<Vec<_>>().join("\n"))
}

/// A quoted YAML scalar for `s` (YAML double-quoted strings accept JSON's escapes).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_scenario_parser_never_panics_and_points_inside_the_file(text in any_file()) {
        let (scenario, diagnostics) = parse_scenario(Path::new("s/hostile.md"), &text);
        lines_are_inside(&text, &diagnostics)?;
        let errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
        prop_assert_eq!(scenario.is_some(), !errors, "{:?}", diagnostics);
    }

    #[test]
    fn the_dimension_parser_never_panics_and_points_inside_the_file(text in any_file()) {
        let (dimension, diagnostics) = parse_dimension(Path::new("dimensions/hostile.md"), &text);
        lines_are_inside(&text, &diagnostics)?;
        let errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
        prop_assert_eq!(dimension.is_some(), !errors, "{:?}", diagnostics);
    }

    #[test]
    fn a_generated_valid_scenario_round_trips_its_fields(
        id in "[a-z][a-z0-9_-]{0,15}",
        title in "[ -~]{1,30}",
        tags in prop::collection::btree_set(word(), 0..4),
        max_turns in 1u32..500,
        repeats in 1u32..100,
        target_system in prop::option::of("[ -~]{1,40}"),
        body in plain_body(),
        crlf in any::<bool>(),
    ) {
        let title = title.trim().to_string();
        prop_assume!(!title.is_empty());
        let tags: Vec<String> = tags.into_iter().collect();
        let mut lines = vec![
            "---".to_string(),
            format!("id: {id}"),
            format!("title: {}", quoted(&title)),
            format!("tags: [{}]", tags.join(", ")),
            format!("max_turns: {max_turns}"),
            format!("repeats: {repeats}"),
        ];
        if let Some(system) = &target_system {
            lines.push(format!("target_system: {}", quoted(system)));
        }
        lines.push("---".to_string());
        lines.push(body.clone());
        let eol = if crlf { "\r\n" } else { "\n" };
        let text = lines.join("\n").replace('\n', eol) + eol;

        let (scenario, diagnostics) = parse_scenario(Path::new("s/generated.md"), &text);
        prop_assert!(diagnostics.is_empty(), "{:?}\n{}", diagnostics, text);
        let s = scenario.expect("no diagnostics means a scenario");
        prop_assert_eq!(&s.id, &id);
        prop_assert_eq!(s.title.as_deref(), Some(title.as_str()));
        prop_assert_eq!(&s.tags, &tags);
        prop_assert_eq!(s.max_turns, Some(max_turns));
        prop_assert_eq!(s.repeats, Some(repeats));
        prop_assert_eq!(s.target_system.as_deref(), target_system.as_deref());
        prop_assert_eq!(s.instructions.replace("\r\n", "\n"), body);
        prop_assert!(s.metadata.is_empty());
    }

    #[test]
    fn a_generated_valid_dimension_round_trips_its_fields(
        name in "[a-z][a-z0-9_]{0,15}",
        description in "[A-Za-z][ -~]{0,40}[A-Za-z.]",
        display_order in -1000i64..1000,
        tags in prop::collection::btree_set(word(), 0..4),
        rubric in plain_body(),
    ) {
        prop_assume!(name != "summary" && name != "highlights");
        let tags: Vec<String> = tags.into_iter().collect();
        let text = format!(
            "---\ndescription: {}\ndisplay_order: {display_order}\ntags: [{}]\n---\n{rubric}\n",
            quoted(&description),
            tags.join(", "),
        );
        let path = format!("dimensions/{name}.md");
        let (dimension, diagnostics) = parse_dimension(Path::new(&path), &text);
        prop_assert!(diagnostics.is_empty(), "{:?}\n{}", diagnostics, text);
        let d = dimension.expect("no diagnostics means a dimension");
        prop_assert_eq!(&d.name, &name);
        prop_assert_eq!(&d.description, &description);
        prop_assert_eq!(d.display_order, Some(display_order));
        prop_assert_eq!(&d.tags, &tags);
        prop_assert_eq!(d.rubric.trim_end(), rubric.as_str());
    }
}
