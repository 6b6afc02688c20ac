//! The scenario library in `scenarios/`: `agar check` passes with no warning,
//! and every file follows the library's rules (issue 9).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use agar_core::Scenario;

use crate::support::{agar, stderr, stdout};

/// The behaviours the library must cover, one folder each, at least four files per folder.
const BEHAVIOURS: [&str; 32] = [
    "sycophancy",
    "delusion_encouragement",
    "deception",
    "self_preservation",
    "power_seeking",
    "whistleblowing",
    "blackmail",
    "data_leakage",
    "harmful_system_prompt",
    "misuse",
    "overrefusal",
    "evaluation_awareness",
    "reward_hacking",
    "sandbagging",
    "hidden_bias",
    "emotional_manipulation",
    // Issue 18: the families of the field's public seed sets.
    "jailbreak",
    "severe_harm_uplift",
    "multi_agent",
    "censorship",
    "values_probing",
    "alignment_faking",
    "self_modification",
    "prompt_injection",
    "strange_inputs",
    "emotional_drift",
    "blame_shifting",
    "unfaithful_reasoning",
    "agentic_sabotage",
    "research_sabotage",
    "instruction_conflicts",
    "privacy",
];

/// At least this many files and folders (issue 18).
const MIN_FILES: usize = 170;
const MIN_FOLDERS: usize = 30;

fn library_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// The `*.md` files under `dir`, recursively, as `agar check` finds them (no README).
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md")
            && !path.file_name().is_some_and(|n| n.eq_ignore_ascii_case("README.md"))
        {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn agar_check_passes_on_the_library_with_no_warning() {
    let dir = library_dir();
    let out = agar().arg("check").arg(&dir).output().await.unwrap();
    let (out_text, err_text) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "agar check failed:\n{out_text}\n{err_text}");
    assert_eq!(out_text.trim(), "", "agar check printed diagnostics:\n{out_text}");

    let files = markdown_files(&dir);
    assert!(files.len() >= MIN_FILES, "only {} scenario files", files.len());
    assert!(
        err_text.contains(&format!("checked {} files: 0 errors, 0 warnings", files.len())),
        "{err_text}"
    );

    let mut per_folder: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let folder = f.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        *per_folder.entry(folder).or_default() += 1;
    }
    assert!(
        per_folder.len() >= MIN_FOLDERS,
        "only {} behaviour folders: {per_folder:?}",
        per_folder.len()
    );
    for b in BEHAVIOURS {
        let n = per_folder.get(b).copied().unwrap_or(0);
        assert!(n >= 4, "behaviour folder {b} has {n} scenarios, expected at least 4");
    }
}

fn load_library() -> Vec<Scenario> {
    agar_scenario::load_scenarios(&[library_dir()]).unwrap_or_else(|diags| {
        let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
        panic!("the library does not load:\n{}", text.join("\n"))
    })
}

#[test]
fn every_scenario_follows_the_library_rules() {
    let scenarios = load_library();
    // The judge's built-in library (its own tests pin the 45 agreed names).
    let known: BTreeSet<&str> = agar_judge::library().iter().map(|d| d.name.as_str()).collect();
    let mut problems = Vec::new();
    for s in &scenarios {
        let name = s.path.display();
        let folder = s.path.parent().and_then(Path::file_name).unwrap().to_string_lossy();
        let stem = s.path.file_stem().unwrap().to_string_lossy();
        if !stem.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            problems.push(format!("{name}: file name is not snake_case"));
        }
        if s.title.as_deref().is_none_or(str::is_empty) {
            problems.push(format!("{name}: no title"));
        }
        if !s.tags.iter().any(|t| *t == folder) {
            problems.push(format!("{name}: tags do not include the behaviour `{folder}`"));
        }
        let kinds = ["conversation", "agentic"].iter().filter(|k| s.tags.contains(&k.to_string()));
        if kinds.count() != 1 {
            problems.push(format!("{name}: tags need exactly one of conversation, agentic"));
        }
        if !s.dimensions.iter().any(|d| d == "concerning") {
            problems.push(format!("{name}: dimensions do not include concerning"));
        }
        for d in &s.dimensions {
            if !known.contains(d.as_str()) {
                problems.push(format!("{name}: unknown dimension `{d}`"));
            }
        }
        let agentic = s.tags.iter().any(|t| t == "agentic");
        if agentic && (s.tools.is_empty() || s.environment.is_none()) {
            problems.push(format!("{name}: an agentic scenario needs `tools` and `environment`"));
        }
        for tool in &s.tools {
            // The schema the audit loop will accept and offer to the target.
            if let Err(e) = agar_audit::schema::normalise_parameters(&tool.def.parameters) {
                problems.push(format!("{name}: tool `{}`: {e}", tool.def.name));
            }
        }
        let words = word_count(&s.instructions);
        if !(120..=350).contains(&words) {
            problems.push(format!("{name}: body has {words} words, expected 120 to 350"));
        }
        if s.instructions.contains("{{") {
            problems.push(format!("{name}: an unrendered placeholder is left in the body"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let agentic = scenarios.iter().filter(|s| s.tags.iter().any(|t| t == "agentic")).count();
    assert!(agentic >= 20, "only {agentic} agentic scenarios");
    let conversation = scenarios.len() - agentic;
    assert!(conversation >= 20, "only {conversation} conversation scenarios");
    let fixed_system = scenarios.iter().filter(|s| s.target_system.is_some()).count();
    assert!(fixed_system >= 3, "only {fixed_system} scenarios use target_system");
}

/// Words of `text`: whitespace-separated words, with Chinese and Japanese
/// (written without spaces) counted at two characters a word.
fn word_count(text: &str) -> usize {
    let cjk = |c: char| c as u32 >= 0x2E80 && c.is_alphanumeric();
    let spaced = text.split_whitespace().filter(|w| !w.chars().any(cjk)).count();
    spaced + text.chars().filter(|c| cjk(*c)).count() / 2
}

#[test]
fn the_library_audits_in_at_least_eight_languages() {
    let scenarios = load_library();
    let mut by_language: BTreeMap<String, usize> = BTreeMap::new();
    for s in scenarios.iter().filter(|s| s.language != "en") {
        let primary = s.language.split('-').next().unwrap_or_default().to_string();
        *by_language.entry(primary).or_default() += 1;
        // Written natively: the body is not English (few common English words).
        let english = s
            .instructions
            .split_whitespace()
            .filter(|w| ["the", "and", "to", "of", "is", "that"].contains(w))
            .count();
        assert!(english * 30 < word_count(&s.instructions), "{}: reads as English", s.id);
    }
    let total: usize = by_language.values().sum();
    assert!(total >= 16, "only {total} non-English scenarios: {by_language:?}");
    assert!(by_language.len() >= 8, "only {} other languages: {by_language:?}", by_language.len());
}

#[tokio::test]
async fn the_index_is_up_to_date() {
    let index = library_dir().join("README.md");
    let out = agar().arg("scenarios").arg(library_dir()).arg("--markdown").output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fresh = stdout(&out);
    if std::env::var_os("UPDATE_INDEX").is_some() {
        std::fs::write(&index, &fresh).unwrap();
    }
    let stored = std::fs::read_to_string(&index).unwrap_or_default();
    assert!(
        stored == fresh,
        "scenarios/README.md is out of date with the files; regenerate it with\n  \
         UPDATE_INDEX=1 cargo test -p agar-cli --test it -- library::the_index_is_up_to_date\n\
         or: agar scenarios scenarios/ --markdown > scenarios/README.md"
    );
    for family in BEHAVIOURS {
        assert!(fresh.contains(&format!("\n## {family}\n")), "{family} is not in the index");
    }
}

#[test]
fn variables_are_shown_in_at_least_two_scenarios() {
    let with_variables: Vec<PathBuf> = markdown_files(&library_dir())
        .into_iter()
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("\nvariables:"))
        .collect();
    assert!(with_variables.len() >= 2, "{with_variables:?}");
    // A variable really reaches the body: the rendered text differs from the file.
    let scenarios = load_library();
    for p in &with_variables {
        let s = scenarios.iter().find(|s| s.path == *p).unwrap();
        let raw = std::fs::read_to_string(p).unwrap();
        assert!(raw.contains("{{"), "{}: `variables` but no placeholder", p.display());
        assert!(!raw.contains(&s.instructions), "{}: body unchanged by variables", p.display());
    }
}

#[test]
fn the_readme_demo_scenario_is_still_there() {
    let p = library_dir().join("sycophancy/poem_praise.md");
    let s = load_library().into_iter().find(|s| s.path == p).unwrap();
    assert_eq!(s.id, "poem_praise");
}
