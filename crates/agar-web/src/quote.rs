//! Where a citation's quote sits in its message, so the page can highlight
//! it. The judge's checker (agar-judge) decides whether a quote is verified;
//! this only finds the span to mark, with the same leniency for the common
//! cases: exact text first, then text compared lower-cased with quote marks
//! dropped and runs of punctuation and whitespace taken as one space, with
//! `...` (or `…`) allowed to skip text. Offsets are in UTF-16 code units,
//! as the browser counts them.

/// `(start, end)` of `quote` in `text`, in UTF-16 code units; `None` when it
/// cannot be found (approximate quotes): the page then marks the whole message.
pub(crate) fn locate(text: &str, quote: &str) -> Option<(usize, usize)> {
    let quote = quote.trim();
    if quote.is_empty() {
        return None;
    }
    let bytes = match text.find(quote) {
        Some(start) => (start, start + quote.len()),
        None => lenient(text, quote)?,
    };
    Some((utf16_len(&text[..bytes.0]), utf16_len(&text[..bytes.1])))
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Quote marks and apostrophes, which the comparison ignores.
fn ignored(c: char) -> bool {
    matches!(
        c,
        '\'' | '"' | '`' | '\u{00B4}' | '\u{00AB}' | '\u{00BB}' | '\u{02BC}' | '\u{2018}'
            ..='\u{201F}' | '\u{2032}'..='\u{2037}'
    )
}

/// `text` normalised, with the byte range in `text` of each normalised byte.
struct Normalised {
    text: String,
    /// For each byte of `text`: (start, end) bytes of the original character.
    origin: Vec<(usize, usize)>,
}

fn normalise(text: &str) -> Normalised {
    let mut out = Normalised { text: String::with_capacity(text.len()), origin: Vec::new() };
    let mut gap: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        let span = (i, i + c.len_utf8());
        if ignored(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if let Some(g) = gap.take()
                && !out.text.is_empty()
            {
                out.text.push(' ');
                out.origin.push(g);
            }
            for lower in c.to_lowercase() {
                out.text.push(lower);
                out.origin.extend(std::iter::repeat_n(span, lower.len_utf8()));
            }
        } else if gap.is_none() {
            gap = Some(span);
        }
    }
    out
}

/// The byte span of `quote` in `text` under the lenient comparison.
fn lenient(text: &str, quote: &str) -> Option<(usize, usize)> {
    let norm = normalise(text);
    let parts: Vec<String> = quote
        .split("[...]")
        .flat_map(|p| p.split("..."))
        .flat_map(|p| p.split('…'))
        .map(|p| normalise(p).text)
        .filter(|p| !p.is_empty())
        .collect();
    let mut from = 0;
    let mut span: Option<(usize, usize)> = None;
    for part in &parts {
        let at = find_words(&norm.text, part, from)?;
        let end = at + part.len();
        let (first, last) = (norm.origin[at], norm.origin[end - 1]);
        span = Some((span.map_or(first.0, |s| s.0), last.1));
        from = end;
    }
    span
}

/// The first occurrence of `part` in `text` at or after `from` that starts
/// and ends on word boundaries.
fn find_words(text: &str, part: &str, from: usize) -> Option<usize> {
    let rest = text.get(from..)?;
    rest.match_indices(part).map(|(i, _)| from + i).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + part.len()..].chars().next();
        before.is_none_or(|c| c == ' ') && after.is_none_or(|c| c == ' ')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(text: &str, quote: &str) -> Option<String> {
        let (s, e) = locate(text, quote)?;
        let units: Vec<u16> = text.encode_utf16().collect();
        Some(String::from_utf16_lossy(&units[s..e]))
    }

    #[test]
    fn exact_quotes_are_found_where_they_are() {
        assert_eq!(marked("I will hide the logs.", "hide the logs"), Some("hide the logs".into()));
        assert_eq!(locate("abc", "zzz"), None);
        assert_eq!(locate("abc", "  "), None);
    }

    #[test]
    fn offsets_count_utf16_units() {
        // "é" is one UTF-16 unit, "😀" two.
        assert_eq!(locate("é😀 secret", "secret"), Some((4, 10)));
    }

    #[test]
    fn case_punctuation_and_quote_marks_are_forgiven() {
        assert_eq!(
            marked("Well -- I DON’T think, really, that you should.", "i dont think really"),
            Some("I DON’T think, really".into())
        );
    }

    #[test]
    fn an_ellipsis_skips_text_in_order() {
        assert_eq!(
            marked(
                "First I agree. Then a lot of filler. Finally I delete it.",
                "I agree ... I delete it"
            ),
            Some("I agree. Then a lot of filler. Finally I delete it".into())
        );
        assert_eq!(locate("b then a", "a ... b"), None);
        // Parts match whole words only.
        assert_eq!(marked("taxi agreed; I agree.", "i agree ... agree"), None);
        assert_eq!(marked("taxi agreed; I agree!", "I AGREE"), Some("I agree".into()));
    }
}
