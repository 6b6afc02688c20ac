//! Slices of a scenario library: the `--tags` and `--id` filters shared by
//! `agar audit` and `agar check`, and `agar scenarios`, which lists a library
//! as a table, as JSON, or as the Markdown index kept in `scenarios/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agar_core::Scenario;
use clap::Args;
use serde::Serialize;

use crate::exit::Failure;

/// `--tags` and `--id`: which scenarios of the given paths to take.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct FilterArgs {
    /// Only scenarios having any of these tags (comma-separated, repeatable)
    #[arg(long, value_delimiter = ',', value_name = "TAG,...")]
    pub(crate) tags: Vec<String>,
    /// Only scenarios whose id matches this glob (`*` any text, `?` one
    /// character; repeatable: any glob may match)
    #[arg(long = "id", value_name = "GLOB")]
    pub(crate) ids: Vec<String>,
}

impl FilterArgs {
    fn is_empty(&self) -> bool {
        self.tags.iter().all(|t| t.trim().is_empty()) && self.ids.is_empty()
    }

    /// Whether `s` is in the slice: it has one of the tags (when `--tags` is
    /// given) and its id matches one of the globs (when `--id` is given).
    pub(crate) fn matches(&self, s: &Scenario) -> bool {
        let tags: Vec<&str> =
            self.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()).collect();
        let tag_ok = tags.is_empty() || s.tags.iter().any(|t| tags.contains(&t.as_str()));
        let id_ok = self.ids.is_empty() || self.ids.iter().any(|g| glob_match(g, &s.id));
        tag_ok && id_ok
    }

    /// How the filter reads in messages: `--tags a,b --id 'x*'`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.tags.is_empty() {
            parts.push(format!("--tags {}", self.tags.join(",")));
        }
        for g in &self.ids {
            parts.push(format!("--id '{g}'"));
        }
        parts.join(" ")
    }
}

/// Whether `text` matches `glob`: `*` stands for any text (also empty), `?`
/// for one character, everything else for itself.
pub(crate) fn glob_match(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    // Classic wildcard matching with one backtrack point for the last `*`.
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|c| *c == '*')
}

/// The files under `paths` that belong to the slice `filter` describes.
/// Without a filter, `paths` as given. With one, each scenario file is
/// parsed: a file that parses is kept when it matches; a file that does not
/// parse is kept, so its errors are reported rather than silently skipped.
/// Dimension files are kept when `keep_dimensions` (for `agar check`).
pub(crate) fn select(
    paths: &[PathBuf],
    filter: &FilterArgs,
    keep_dimensions: bool,
    limits: &agar_scenario::Limits,
) -> Result<Vec<PathBuf>, Failure> {
    if filter.is_empty() {
        return Ok(paths.to_vec());
    }
    let files = agar_scenario::collect_files(paths).map_err(|diags| {
        for d in &diags {
            eprintln!("{d}");
        }
        Failure::InputReported
    })?;
    let mut kept = Vec::new();
    for path in files {
        // A file that cannot be read (too large, not regular) is kept, so the
        // loader reports it rather than the filter hiding it.
        let Ok(text) = agar_scenario::read_text(&path, limits) else {
            kept.push(path);
            continue;
        };
        if agar_scenario::file_kind(&path, &text) == agar_scenario::FileKind::Dimension {
            if keep_dimensions {
                kept.push(path);
            }
            continue;
        }
        match agar_scenario::parse_scenario(&path, &text).0 {
            Some(s) if !filter.matches(&s) => {}
            _ => kept.push(path),
        }
    }
    if kept.is_empty() {
        return Err(Failure::Input(format!(
            "no scenario in the given paths matches {}",
            filter.describe()
        )));
    }
    Ok(kept)
}

pub(crate) const SCENARIOS_HELP: &str = "Examples:
  agar scenarios
  agar scenarios scenarios/ --tags agentic,finance
  agar scenarios scenarios/ --id '*_injection' --json
  agar scenarios scenarios/ --markdown > scenarios/README.md

The table shows each scenario's id, title, tags, language and dimensions.
--json prints the same as a JSON array (with each file's path); --markdown
prints the library index, one section per folder, as kept in
scenarios/README.md (a test fails when that file is out of date). Files with
errors are reported as by `agar check` and the command exits 1.";

#[derive(Debug, Args)]
pub(crate) struct ScenariosArgs {
    /// Scenario files or directories
    #[arg(value_name = "PATH", default_value = "scenarios")]
    pub(crate) paths: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
    /// Print the list as JSON on stdout
    #[arg(long, conflicts_with = "markdown")]
    pub(crate) json: bool,
    /// Print the Markdown index of the library, one section per folder
    #[arg(long)]
    pub(crate) markdown: bool,
}

/// One scenario as `agar scenarios` lists it.
#[derive(Debug, Serialize)]
struct Entry<'a> {
    id: &'a str,
    title: Option<&'a str>,
    path: String,
    tags: &'a [String],
    language: &'a str,
    dimensions: &'a [String],
}

pub(crate) fn run(args: &ScenariosArgs) -> crate::Outcome {
    for p in &args.paths {
        if !p.exists() {
            return Err(Failure::Input(format!("{}: no such file or directory", p.display())));
        }
    }
    let files = select(&args.paths, &args.filter, false, &agar_scenario::Limits::default())?;
    let mut scenarios = agar_scenario::load_scenarios(&files).map_err(|diags| {
        for d in &diags {
            eprintln!("{d}");
        }
        Failure::InputReported
    })?;
    let root = match args.paths.as_slice() {
        [one] if one.is_dir() => Some(one.as_path()),
        _ => None,
    };
    let rel = |s: &Scenario| relative(&s.path, root);
    scenarios.sort_by_key(|s| rel(s));
    if args.markdown {
        print!("{}", markdown_index(&scenarios, root));
        return Ok(());
    }
    let entries: Vec<Entry<'_>> = scenarios
        .iter()
        .map(|s| Entry {
            id: &s.id,
            title: s.title.as_deref(),
            path: rel(s),
            tags: &s.tags,
            language: &s.language,
            dimensions: &s.dimensions,
        })
        .collect();
    if args.json {
        let text = serde_json::to_string_pretty(&entries)?;
        println!("{text}");
        return Ok(());
    }
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                e.id.to_string(),
                e.title.unwrap_or("-").to_string(),
                e.tags.join(","),
                e.language.to_string(),
                e.dimensions.join(","),
            ]
        })
        .collect();
    print!("{}", table(["id", "title", "tags", "language", "dimensions"], &rows));
    eprintln!("{} scenarios", rows.len());
    Ok(())
}

/// `path` relative to `root` with `/` separators (as given when no root).
fn relative(path: &Path, root: Option<&Path>) -> String {
    let rel = root.and_then(|r| path.strip_prefix(r).ok()).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Left-aligned columns, two spaces apart, trailing blanks trimmed.
fn table<const N: usize>(head: [&str; N], rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(head[i].len()))
        .collect();
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(&format!("{c:<w$}  ", w = widths[i]));
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// The library index: a summary line, then one section per folder with a
/// table of its scenarios (linked relative to `root`), languages and tags.
pub(crate) fn markdown_index(scenarios: &[Scenario], root: Option<&Path>) -> String {
    let mut families: BTreeMap<String, Vec<&Scenario>> = BTreeMap::new();
    for s in scenarios {
        let rel = relative(&s.path, root);
        let family = rel.rsplit_once('/').map_or(".", |(dir, _)| dir).to_string();
        families.entry(family).or_default().push(s);
    }
    let mut languages: Vec<&str> = scenarios.iter().map(|s| s.language.as_str()).collect();
    languages.sort_unstable();
    languages.dedup();
    let agentic = scenarios.iter().filter(|s| s.tags.iter().any(|t| t == "agentic")).count();
    let mut out = String::from("# The scenario library\n\n");
    out.push_str(
        "Generated by `agar scenarios scenarios/ --markdown > scenarios/README.md`; do not edit \
         by hand (a test fails when this file is out of date). See \
         [docs/writing-scenarios.md](../docs/writing-scenarios.md) for the format.\n\n",
    );
    out.push_str(&format!(
        "{} scenarios ({agentic} agentic) in {} families, in {} languages: {}.\n\n",
        scenarios.len(),
        families.len(),
        languages.len(),
        languages.join(", ")
    ));
    out.push_str("| family | scenarios |\n|---|---:|\n");
    for (family, list) in &families {
        out.push_str(&format!("| [{family}](#{}) | {} |\n", anchor(family), list.len()));
    }
    for (family, list) in &families {
        out.push_str(&format!("\n## {family}\n\n| scenario | title | language | tags |\n"));
        out.push_str("|---|---|---|---|\n");
        for s in list {
            out.push_str(&format!(
                "| [{}]({}) | {} | {} | {} |\n",
                s.id,
                relative(&s.path, root),
                cell(s.title.as_deref().unwrap_or("")),
                s.language,
                cell(&s.tags.join(", "))
            ));
        }
    }
    out
}

/// GitHub's heading anchor for a folder name: lower case, `/` dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c.to_ascii_lowercase() })
        .collect()
}

/// Text safe in a Markdown table cell: no pipe, no line break.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("prompt_*", "prompt_injection_web"));
        assert!(glob_match("*_web", "prompt_injection_web"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("prompt_*", "xprompt_a"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("日本*", "日本語"));
    }

    #[test]
    fn a_filter_needs_a_tag_and_an_id_when_both_are_given() {
        let text = "---\ntags: [finance, agentic]\n---\nProbe the bank bot.\n";
        let scenario = agar_scenario::parse_scenario(Path::new("x/bank_bot.md"), text).0.unwrap();
        let f = |tags: &[&str], ids: &[&str]| FilterArgs {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ids: ids.iter().map(|t| t.to_string()).collect(),
        };
        assert!(f(&[], &[]).matches(&scenario));
        assert!(f(&["health", "finance"], &[]).matches(&scenario));
        assert!(!f(&["health"], &[]).matches(&scenario));
        assert!(f(&["finance"], &["bank*"]).matches(&scenario));
        assert!(!f(&["finance"], &["shop*"]).matches(&scenario));
        assert!(f(&[], &["shop*", "*bot"]).matches(&scenario));
    }
}
