//! Scenario files: [`Document`] -> [`RawScenario`] (every key typed, with its
//! line) -> [`Scenario`] (ids, tool names, variables checked; valid by construction).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use agar_core::scenario::TargetTool;
use agar_core::{Scenario, ToolDef, tool_schema};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Sink};
use crate::document::{self, Document};
use crate::fields::{self, Spanned};
use crate::language::{DEFAULT_LANGUAGE, normalise_language};
use crate::yaml::{Node, Value};

/// The front matter keys a scenario file defines. All but `tags` mark a file
/// as a scenario for [`crate::check_paths`].
pub(crate) const SCENARIO_KEYS: &[&str] = &[
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
    "language",
    "generated",
    "first_message",
];

/// Parses one scenario file. `text` is the file's content; `path` is used
/// for the default id (the file stem) and in diagnostics. The scenario is
/// `Some` exactly when no diagnostic is an error.
pub fn parse_scenario(path: &Path, text: &str) -> (Option<Scenario>, Vec<Diagnostic>) {
    let mut sink = Sink::new(path);
    let scenario =
        document::split(text, &mut sink).and_then(|doc| from_document(&doc, text, &mut sink).0);
    let has_errors = sink.has_errors();
    (scenario.filter(|_| !has_errors), sink.finish())
}

/// Stage 2 and 3 on an already split file. Also returns the line naming the
/// id (the `id` key, or 1 when it comes from the file name), for
/// duplicate-id diagnostics.
pub(crate) fn from_document(
    doc: &Document,
    text: &str,
    sink: &mut Sink,
) -> (Option<Scenario>, usize) {
    let raw = RawScenario::read(doc, sink);
    let id_line = raw.id.as_ref().map_or(1, |id| id.line);
    (raw.resolve(doc, text, sink), id_line)
}

/// A scenario's front matter as written: types checked, meaning not yet.
#[derive(Debug)]
struct RawScenario {
    id: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    tags: Vec<String>,
    max_turns: Option<Spanned<u32>>,
    target_system: Option<Spanned<String>>,
    tools: Vec<RawTool>,
    environment: Option<Spanned<String>>,
    dimensions: Vec<Spanned<String>>,
    repeats: Option<Spanned<u32>>,
    /// `None` when `variables` is not a mapping: placeholders cannot be checked.
    variables: Option<Vec<(Spanned<String>, minijinja::Value)>>,
    language: Option<Spanned<String>>,
    generated: Option<agar_core::Generated>,
    metadata: BTreeMap<String, serde_json::Value>,
}

/// One item of `tools` as written.
#[derive(Debug, Default)]
struct RawTool {
    /// The line of the item (its `-`).
    line: usize,
    name: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    parameters: Option<Spanned<serde_json::Value>>,
    environment: Option<Spanned<String>>,
}

impl RawScenario {
    fn read(doc: &Document, sink: &mut Sink) -> Self {
        let mut raw = Self {
            id: None,
            title: None,
            tags: Vec::new(),
            max_turns: None,
            target_system: None,
            tools: Vec::new(),
            environment: None,
            dimensions: Vec::new(),
            repeats: None,
            variables: None,
            language: None,
            generated: None,
            metadata: BTreeMap::new(),
        };
        let Some(front) = &doc.front else { return raw };
        for entry in &front.entries {
            match entry.key.as_str() {
                "id" => raw.id = fields::entry_text(entry, sink),
                "title" => raw.title = fields::entry_text(entry, sink),
                "tags" => raw.tags = fields::entry_tags(entry, sink),
                "max_turns" => raw.max_turns = fields::entry_positive(entry, sink),
                "target_system" => raw.target_system = fields::entry_text(entry, sink),
                "tools" => raw.tools = read_tools(&entry.value, sink),
                "environment" => raw.environment = fields::entry_text(entry, sink),
                "dimensions" => raw.dimensions = fields::entry_list(entry, sink, split_dimensions),
                "repeats" => raw.repeats = fields::entry_positive(entry, sink),
                "variables" => raw.variables = read_variables(&entry.value, sink),
                "language" => raw.language = fields::entry_text(entry, sink),
                "generated" => raw.generated = read_generated(entry, sink),
                // An example of the user's first message, shown to a guided
                // (small) auditor; kept in the scenario's metadata.
                "first_message" => {
                    if let Some(t) = fields::entry_text(entry, sink) {
                        raw.metadata.insert(entry.key.clone(), serde_json::Value::String(t.value));
                    }
                }
                _ => {
                    fields::warn_unknown(entry, true, sink);
                    match entry.value.to_json() {
                        Ok(value) => {
                            raw.metadata.insert(entry.key.clone(), value);
                        }
                        Err((line, message)) => sink.error(line, message),
                    }
                }
            }
        }
        raw
    }

    fn resolve(self, doc: &Document, text: &str, sink: &mut Sink) -> Option<Scenario> {
        let id = resolve_id(self.id, sink);
        let tools = resolve_tools(self.tools, sink);
        let dimensions = resolve_dimensions(self.dimensions, sink);
        let language = match self.language {
            None => DEFAULT_LANGUAGE.to_string(),
            Some(tag) => normalise_language(&tag.value).unwrap_or_else(|problem| {
                sink.error(tag.line, format!("invalid `language`: {problem}"));
                String::new()
            }),
        };
        let instructions = render_body(doc, self.variables.as_deref(), sink);
        if instructions.as_deref().is_some_and(str::is_empty) {
            sink.error(doc.body_line.min(doc.last_line), "scenario has no instructions");
        }
        if sink.has_errors() {
            return None;
        }
        Some(Scenario {
            id: id?,
            title: self.title.map(|t| t.value),
            path: sink.path().to_path_buf(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
            instructions: instructions?,
            tags: self.tags,
            max_turns: self.max_turns.map(|n| n.value),
            target_system: self.target_system.map(|t| t.value),
            tools,
            environment: self.environment.map(|e| e.value),
            dimensions,
            repeats: self.repeats.map(|n| n.value),
            language,
            generated: self.generated,
            metadata: self.metadata,
        })
    }
}

/// `generated`: the provenance `agar generate` writes, a mapping with
/// `model`, `behaviour_sha256`, `base`, `variation` and `created_at`.
fn read_generated(entry: &crate::yaml::Entry, sink: &mut Sink) -> Option<agar_core::Generated> {
    let json = match entry.value.to_json() {
        Ok(json) => json,
        Err((line, message)) => {
            sink.error(line, message);
            return None;
        }
    };
    match serde_json::from_value::<agar_core::Generated>(json) {
        Ok(generated) => Some(generated),
        Err(e) => {
            sink.error(
                entry.line,
                format!(
                    "`generated` must be a mapping with model, behaviour_sha256, base, variation and created_at: {e}"
                ),
            );
            None
        }
    }
}

/// The `id` key, or the file stem; non-empty, without whitespace or slashes.
fn resolve_id(id: Option<Spanned<String>>, sink: &mut Sink) -> Option<String> {
    let (id, line, origin) = match id {
        Some(id) => (id.value, id.line, "`id`"),
        None => {
            let stem = sink
                .path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem, 1, "the file name (set `id` to choose another)")
        }
    };
    let problem = if id.is_empty() {
        Some("is empty")
    } else if id.chars().any(char::is_whitespace) {
        Some("contains whitespace")
    } else if id.contains(['/', '\\']) {
        Some("contains a slash")
    } else {
        None
    };
    match problem {
        Some(problem) => {
            sink.error(line, format!("scenario id `{id}` from {origin} {problem}"));
            None
        }
        None => Some(id),
    }
}

/// A single `dimensions` string: one `tags:a,b` selector, or comma-separated names.
fn split_dimensions(s: &str) -> Vec<String> {
    if s.trim_start().starts_with("tags:") {
        vec![s.trim().to_string()]
    } else {
        fields::split_commas(s)
    }
}

/// Each item is a snake_case dimension name or a `tags:a,b` selector
/// (normalised to `tags:a,b` without blanks).
fn resolve_dimensions(items: Vec<Spanned<String>>, sink: &mut Sink) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let resolved = match item.value.strip_prefix("tags:") {
            Some(list) => {
                let tags: Vec<String> =
                    fields::split_commas(list).into_iter().filter(|t| !t.is_empty()).collect();
                (!tags.is_empty()).then(|| format!("tags:{}", tags.join(",")))
            }
            None => fields::is_snake_case(&item.value).then(|| item.value.clone()),
        };
        match resolved {
            Some(selector) if !out.contains(&selector) => out.push(selector),
            Some(_) => {}
            None => sink.error(
                item.line,
                format!(
                    "invalid dimension `{}`: expected a snake_case name or `tags:a,b`",
                    item.value
                ),
            ),
        }
    }
    out
}

fn read_tools(node: &Node, sink: &mut Sink) -> Vec<RawTool> {
    let items = match &node.value {
        Value::Null => return Vec::new(),
        Value::Seq(items) => items,
        _ => {
            sink.error(
                node.line,
                format!("`tools` must be a list of tools, found {}", node.describe()),
            );
            return Vec::new();
        }
    };
    let mut tools = Vec::new();
    for item in items {
        let Value::Map(entries) = &item.value else {
            sink.error(
                item.line,
                format!(
                    "each tool must be a mapping with `name` and `description`, found {}",
                    item.describe()
                ),
            );
            continue;
        };
        let mut tool = RawTool { line: item.line, ..RawTool::default() };
        for entry in entries {
            match entry.key.as_str() {
                "name" => tool.name = fields::entry_text(entry, sink),
                "description" => tool.description = fields::entry_text(entry, sink),
                "environment" => tool.environment = fields::entry_text(entry, sink),
                "parameters" => match entry.value.to_json() {
                    Ok(serde_json::Value::Null) => {}
                    Ok(value) => tool.parameters = Some(Spanned::new(value, entry.line)),
                    Err((line, message)) => sink.error(line, message),
                },
                _ => fields::warn_unknown(entry, false, sink),
            }
        }
        tools.push(tool);
    }
    tools
}

fn resolve_tools(raw: Vec<RawTool>, sink: &mut Sink) -> Vec<TargetTool> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut tools = Vec::new();
    for tool in raw {
        let Some(name) = tool.name else {
            sink.error(tool.line, "tool has no `name`");
            continue;
        };
        if let Err(e) = tool_schema::check_tool_name(&name.value) {
            sink.error(name.line, e);
        } else if let Some(first) = seen.get(&name.value) {
            sink.error(
                name.line,
                format!("duplicate tool name `{}` (first defined on line {first})", name.value),
            );
        } else {
            seen.insert(name.value.clone(), name.line);
        }
        let description = match tool.description {
            Some(d) => d.value,
            None => {
                sink.error(tool.line, format!("tool `{}` has no `description`", name.value));
                String::new()
            }
        };
        let parameters = match tool.parameters {
            None => serde_json::json!({"type": "object", "properties": {}}),
            Some(p) => match tool_schema::normalise_parameters(&p.value) {
                Ok(schema) => schema,
                Err(e) if e.at_root() => {
                    sink.error(
                        p.line,
                        format!("`parameters` of tool `{}` {}", name.value, e.problem),
                    );
                    continue;
                }
                Err(e) => {
                    sink.error(
                        p.line,
                        format!("`{}` of tool `{}`: {}", e.path, name.value, e.problem),
                    );
                    continue;
                }
            },
        };
        tools.push(TargetTool {
            def: ToolDef {
                name: name.value,
                description: description.into(),
                parameters: parameters.into(),
            },
            environment: tool.environment.map(|e| e.value),
        });
    }
    tools
}

/// The `variables` mapping; `None` when it is not a mapping. A value of the
/// wrong type is reported and stands in as `""`, so that its placeholders
/// are not reported a second time as undefined.
fn read_variables(
    node: &Node,
    sink: &mut Sink,
) -> Option<Vec<(Spanned<String>, minijinja::Value)>> {
    let entries = match &node.value {
        Value::Null => return Some(Vec::new()),
        Value::Map(entries) => entries,
        _ => {
            sink.error(
                node.line,
                format!(
                    "`variables` must be a mapping of names to values, found {}",
                    node.describe()
                ),
            );
            return None;
        }
    };
    let mut vars = Vec::new();
    for entry in entries {
        if !is_identifier(&entry.key) {
            sink.error(
                entry.line,
                format!(
                    "variable name `{}` must be an identifier (letters, digits, `_`)",
                    entry.key
                ),
            );
            continue;
        }
        let value = match &entry.value.value {
            Value::Str(s) => minijinja::Value::from(s.as_str()),
            Value::Int(i) => minijinja::Value::from(*i),
            Value::Float(f) => minijinja::Value::from(*f),
            Value::Bool(b) => minijinja::Value::from(*b),
            Value::Null | Value::Seq(_) | Value::Map(_) => {
                sink.error(
                    entry.line,
                    format!(
                        "variable `{}` must be a string, number or boolean, found {}",
                        entry.key,
                        entry.value.describe()
                    ),
                );
                minijinja::Value::from("")
            }
        };
        vars.push((Spanned::new(entry.key.clone(), entry.line), value));
    }
    Some(vars)
}

/// Whether `s` can be named in a template: `^[A-Za-z_][A-Za-z0-9_]*$`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The body with `variables` substituted, trimmed. `None` when the template
/// is broken (reported). Without a `variables` key, or when the front matter
/// or `variables` could not be read, the body is taken as it is.
fn render_body(
    doc: &Document,
    variables: Option<&[(Spanned<String>, minijinja::Value)]>,
    sink: &mut Sink,
) -> Option<String> {
    let Some(variables) = variables.filter(|_| doc.front_is_valid()) else {
        // Without `variables` the body is used exactly as written, so a Petri
        // seed with literal braces stays valid; say so when it looks like a template.
        let has_key =
            doc.front.as_ref().is_some_and(|f| f.entries.iter().any(|e| e.key == "variables"));
        let template_line = doc.body.lines().position(|l| l.contains("{{") || l.contains("{%"));
        if let (false, Some(offset)) = (has_key, template_line) {
            sink.warning(
                doc.body_line + offset,
                "the body contains `{{` or `{%` but the front matter defines no `variables`; \
                 it is used as written",
            );
        }
        return Some(doc.body.trim().to_string());
    };
    let file_line =
        |template_line: Option<usize>| doc.body_line + template_line.unwrap_or(1).saturating_sub(1);
    let describe = |e: &minijinja::Error| match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };

    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let template = match env.template_from_str(&doc.body) {
        Ok(template) => template,
        Err(e) => {
            sink.error(
                file_line(e.line()),
                format!("invalid template in the body: {}", describe(&e)),
            );
            return None;
        }
    };

    let provided: BTreeMap<String, minijinja::Value> =
        variables.iter().map(|(name, value)| (name.value.clone(), value.clone())).collect();
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    let used = template.undeclared_variables(false);
    for (name, _) in variables {
        if !used.contains(&name.value) {
            sink.warning(name.line, format!("variable `{}` is never used in the body", name.value));
        }
    }

    match template.render(minijinja::Value::from(provided.clone())) {
        Ok(rendered) => Some(rendered.trim().to_string()),
        Err(e) if e.kind() == ErrorKind::UndefinedError => {
            // Strict rendering stops at the first undefined name. To report
            // every one with its line, render once per missing name with
            // the other missing names stubbed out.
            let missing: Vec<&String> = used
                .iter()
                .filter(|name| !provided.contains_key(*name) && !globals.contains(name.as_str()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut reported = false;
            for name in &missing {
                let mut context = provided.clone();
                for other in missing.iter().filter(|other| *other != name) {
                    context.insert((*other).clone(), minijinja::Value::from(""));
                }
                if let Err(e) = template.render(minijinja::Value::from(context))
                    && e.kind() == ErrorKind::UndefinedError
                {
                    sink.error(
                        file_line(e.line()),
                        format!(
                            "undefined variable `{name}` in the body (define it under `variables`)"
                        ),
                    );
                    reported = true;
                }
            }
            if !reported {
                sink.error(
                    file_line(e.line()),
                    format!("template error in the body: {}", describe(&e)),
                );
            }
            None
        }
        Err(e) => {
            sink.error(
                file_line(e.line()),
                format!("template error in the body: {}", describe(&e)),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_strings() {
        assert_eq!(split_dimensions("a, b"), ["a", "b"]);
        assert_eq!(split_dimensions("tags:x, y"), ["tags:x, y"]);
    }
}
