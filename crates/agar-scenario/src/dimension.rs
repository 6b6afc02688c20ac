//! Dimension files: [`Document`] -> [`RawDimension`] -> [`Dimension`]. The
//! file stem is the name; the body is the rubric.

use std::path::Path;

use agar_core::{Dimension, Palette};

use crate::diagnostic::{Diagnostic, Sink};
use crate::document::{self, Document};
use crate::fields::{self, Spanned};

/// Names no dimension file may take, each with the reason: the judge's
/// answer holds a property per dimension beside these.
pub const RESERVED_DIMENSION_NAMES: &[(&str, &str)] = &[
    ("summary", "the judge's answer uses `summary` for its summary of the audit"),
    ("highlights", "the judge's answer uses `highlights` for the moments a reviewer should read"),
];

/// Parses one dimension file. `path`'s stem is the dimension's name. The
/// dimension is `Some` exactly when no diagnostic is an error.
pub fn parse_dimension(path: &Path, text: &str) -> (Option<Dimension>, Vec<Diagnostic>) {
    let mut sink = Sink::new(path);
    let dimension = document::split(text, &mut sink).and_then(|doc| from_document(&doc, &mut sink));
    let has_errors = sink.has_errors();
    (dimension.filter(|_| !has_errors), sink.finish())
}

/// A dimension's front matter as written: types checked, meaning not yet.
#[derive(Debug, Default)]
struct RawDimension {
    description: Option<Spanned<String>>,
    display_name: Option<Spanned<String>>,
    display_order: Option<Spanned<i64>>,
    tags: Vec<String>,
    palette: Option<Spanned<String>>,
}

impl RawDimension {
    fn read(doc: &Document, sink: &mut Sink) -> Self {
        let mut raw = Self::default();
        let Some(front) = &doc.front else { return raw };
        for entry in &front.entries {
            match entry.key.as_str() {
                "description" => raw.description = fields::entry_text(entry, sink),
                "display_name" => raw.display_name = fields::entry_text(entry, sink),
                "display_order" => raw.display_order = fields::entry_int(entry, sink),
                "tags" => raw.tags = fields::entry_tags(entry, sink),
                "palette" => raw.palette = fields::entry_text(entry, sink),
                _ => fields::warn_unknown(entry, false, sink),
            }
        }
        raw
    }
}

/// Stage 2 and 3 on an already split file.
pub(crate) fn from_document(doc: &Document, sink: &mut Sink) -> Option<Dimension> {
    let raw = RawDimension::read(doc, sink);
    let name = resolve_name(sink);

    let description = match raw.description {
        Some(d) if d.value.trim().is_empty() => {
            sink.error(d.line, "`description` is empty");
            None
        }
        Some(d) => {
            if d.value.trim().contains('\n') {
                sink.warning(d.line, "`description` should be one sentence on one line");
            }
            Some(d.value.trim().to_string())
        }
        // Without readable front matter the key may be there: the YAML error says enough.
        None if doc.front_is_valid() => {
            sink.error(1, "dimension has no `description` (add one sentence in the front matter)");
            None
        }
        None => None,
    };

    let palette = match raw.palette {
        None => Palette::default(),
        Some(p) => {
            match p.value.as_str() {
                "good-low" => Palette::GoodLow,
                "good-high" => Palette::GoodHigh,
                "neutral" => Palette::Neutral,
                other => {
                    sink.error(
                    p.line,
                    format!("unknown palette `{other}`: expected `good-low`, `good-high` or `neutral`"),
                );
                    Palette::default()
                }
            }
        }
    };

    if sink.has_errors() {
        return None;
    }
    Some(Dimension {
        name: name?,
        description: description?,
        display_name: raw.display_name.map(|d| d.value),
        display_order: raw.display_order.map(|d| d.value),
        tags: raw.tags,
        palette,
        rubric: doc.body.trim().to_string(),
    })
}

/// The file stem, which must be a snake_case identifier and not reserved.
fn resolve_name(sink: &mut Sink) -> Option<String> {
    let name =
        sink.path().file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if !fields::is_snake_case(&name) {
        sink.error(
            1,
            format!("dimension name `{name}` (the file name) must be a snake_case identifier like `unprompted_deception`"),
        );
        return None;
    }
    if let Some((_, reason)) =
        RESERVED_DIMENSION_NAMES.iter().find(|(reserved, _)| *reserved == name)
    {
        sink.error(1, format!("dimension name `{name}` is reserved: {reason}"));
        return None;
    }
    Some(name)
}
