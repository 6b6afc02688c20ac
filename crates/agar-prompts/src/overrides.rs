//! Replacing embedded templates with a user's own (`--prompts DIR`): the
//! checks that make a bad override an input error with `path:line`, never a
//! failure in the middle of a run.
//!
//! An override may use only the variables agar passes to that template
//! (those the embedded template uses) and minijinja's globals.

use std::collections::BTreeSet;
use std::fmt;

use crate::templates::{Template, environment};

/// Names every template may use besides its variables: minijinja's globals.
const GLOBALS: [&str; 4] = ["range", "dict", "namespace", "debug"];

/// One problem in an override file, shown as `path:line: error: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideProblem {
    pub path: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for OverrideProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: error: {}", self.path, self.line, self.message)
    }
}

impl Template {
    /// The template whose file is called `file_name` (e.g. `auditor_system.md`).
    pub fn from_file_name(file_name: &str) -> Option<Template> {
        Template::ALL.iter().copied().find(|t| t.name() == file_name)
    }

    /// The variables agar passes to this template, sorted.
    pub fn variables(self) -> Vec<String> {
        let env = environment();
        let mut names: Vec<String> = env
            .template_from_str(self.source())
            .map(|t| t.undeclared_variables(false).into_iter().collect())
            .unwrap_or_default();
        names.retain(|n| !GLOBALS.contains(&n.as_str()));
        names.sort();
        names
    }
}

/// Checks `text` as a replacement for `template`; `path` names it in the
/// problems. Syntax errors and unknown variables are reported.
pub fn check_override(template: Template, path: &str, text: &str) -> Vec<OverrideProblem> {
    let env = environment();
    let tmpl = match env.template_from_str(text) {
        Ok(t) => t,
        Err(e) => {
            return vec![OverrideProblem {
                path: path.into(),
                line: e.line().unwrap_or(1),
                message: format!(
                    "the template does not parse: {}",
                    e.detail().unwrap_or("syntax error")
                ),
            }];
        }
    };
    let known: BTreeSet<String> = template.variables().into_iter().collect();
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !known.contains(v) && !GLOBALS.contains(&v.as_str()))
        .collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|v| OverrideProblem {
            path: path.into(),
            line: line_of(text, &v),
            message: format!(
                "unknown variable `{v}` in {}; it can use: {}",
                template.name(),
                if known.is_empty() {
                    "no variables".to_string()
                } else {
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                }
            ),
        })
        .collect()
}

/// The 1-based line of the first whole-word use of `name` inside a `{{ }}`
/// or `{% %}` block (falling back to any whole-word use, then line 1).
fn line_of(text: &str, name: &str) -> usize {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let finds = |line: &str| {
        line.match_indices(name).any(|(i, _)| {
            let before = line[..i].chars().next_back();
            let after = line[i + name.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    };
    let in_block = |line: &str| line.contains("{{") || line.contains("{%");
    text.lines()
        .position(|l| in_block(l) && finds(l))
        .or_else(|| text.lines().position(finds))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_variables_come_from_the_embedded_templates() {
        assert_eq!(Template::AuditorNudge.variables(), ["turns_left"]);
        assert!(Template::AuditorSystem.variables().contains(&"today".to_string()));
        assert!(Template::RealismSystem.variables().is_empty());
    }

    #[test]
    fn an_unknown_variable_is_reported_with_its_line() {
        let text = "You did not call a tool.\nTurns: {{ turns_left }}.\nHurry, {{ user_name }}!\n";
        let p = check_override(Template::AuditorNudge, "p/auditor_nudge.md", text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 3);
        assert!(
            p[0].to_string()
                .starts_with("p/auditor_nudge.md:3: error: unknown variable `user_name`"),
            "{}",
            p[0]
        );
        assert!(p[0].message.contains("`turns_left`"), "{}", p[0]);
    }

    #[test]
    fn a_syntax_error_is_reported_with_its_line() {
        let p = check_override(Template::AuditorNudge, "n.md", "ok\n{% if turns_left %}\nno end\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("does not parse"), "{}", p[0]);
        assert!(p[0].line >= 2, "{}", p[0]);
    }

    #[test]
    fn a_good_override_has_no_problem() {
        assert!(
            check_override(Template::AuditorNudge, "n.md", "Go on ({{ turns_left }}).").is_empty()
        );
        assert_eq!(Template::from_file_name("judge_user.md"), Some(Template::JudgeUser));
        assert_eq!(Template::from_file_name("nope.md"), None);
    }
}
