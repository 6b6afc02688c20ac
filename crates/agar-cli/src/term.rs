//! The terminal is not the model's: text that came from a model or a
//! provider (answers, error bodies, verdict summaries, failure causes) may
//! hold escape sequences that move the cursor, rewrite earlier lines, set
//! the window title or the clipboard. [`clean`] shows every control
//! character (C0 and C1, DEL, ESC) as a visible `\u{..}` escape, except
//! newline and tab, and is applied to everything the CLI prints from such
//! sources; the log writer applies [`clean_log`], which also keeps the
//! colour codes the logger itself writes.

use std::borrow::Cow;

fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{7f}'
}

/// `text` with every control character but `\n` and `\t` written as `\u{XX}`.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push(&mut out, c);
    }
    Cow::Owned(out)
}

fn push(out: &mut String, c: char) {
    if is_control(c) {
        out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
    } else {
        out.push(c);
    }
}

/// [`clean`], but a colour sequence (`ESC [ digits/; m`, SGR, which only
/// changes colours) is kept: the logger writes those around levels and
/// field names. Every other sequence is escaped.
pub(crate) fn clean_log(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(len) = sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        push(&mut out, c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of an SGR sequence at the start of `s`, if there is one.
fn sgr_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\u{1b}[")?;
    let params = body.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert!(matches!(clean("plain text\n\ttab"), Cow::Borrowed(_)));
        assert_eq!(clean("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(clean("x\u{1b}]52;c;ZXZpbA==\u{7}y"), "x\\u{1b}]52;c;ZXZpbA==\\u{7}y");
        assert_eq!(clean("over\rwrite\u{8}"), "over\\u{d}write\\u{8}");
        assert_eq!(clean("c1\u{9b}31m del\u{7f}"), "c1\\u{9b}31m del\\u{7f}");
        assert_eq!(clean("ünïcode ✓"), "ünïcode ✓");
    }

    #[test]
    fn logs_keep_their_colours_only() {
        let line = "\u{1b}[32m INFO\u{1b}[0m audit failed: \u{1b}[1A\u{1b}[2K gone";
        assert_eq!(
            clean_log(line),
            "\u{1b}[32m INFO\u{1b}[0m audit failed: \\u{1b}[1A\\u{1b}[2K gone"
        );
        assert_eq!(clean_log("\u{1b}]0;title\u{7}"), "\\u{1b}]0;title\\u{7}");
    }
}
