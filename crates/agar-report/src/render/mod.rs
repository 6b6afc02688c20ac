//! Renderers of a [`crate::Report`]: pure functions from the report to text.
//!
//! - [`markdown`]: a readable summary for pull requests and job logs.
//! - [`json`]: the report as JSON, for tools.
//! - [`junit`]: JUnit XML for CI test dashboards (one test case per audit).
//! - [`html`]: one self-contained page with inline CSS and SVG plots.

mod html;
mod junit;
mod markdown;

pub use html::html;
pub use junit::junit;
pub use markdown::markdown;

/// The report as pretty JSON.
pub fn json(report: &crate::Report) -> String {
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Escapes text for XML and HTML (text and attribute values), dropping the
/// control characters XML 1.0 forbids.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_forbidden_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>\u{0}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
