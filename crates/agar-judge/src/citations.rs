//! Checking the judge's quotes against the transcript.
//!
//! A quote and a message are compared after [`normalise`]: lower case, quote
//! marks and apostrophes dropped (so `don’t`, `don't` and `dont` agree), every
//! other run of punctuation and whitespace made one space. A quote may skip
//! text with an ellipsis (`...`, `…`, `[...]`): each part must then be found
//! in the same message.
//!
//! A part is found when it occurs word for word in the normalised message, or
//! approximately: some window of the message is within [`max_edits`]
//! character edits of it (about one edit per ten characters; parts shorter
//! than ten characters must match exactly). The window search is Sellers'
//! dynamic programme, O(part length x message length), run only on messages
//! that pass a trigram count filter (a window within `k` edits shares at
//! least `n - 2 - 3k` of the part's `n - 2` trigrams with the message), so a
//! fabricated quote costs little.
//!
//! Lookup order: the cited message (exact, then approximate); then every other
//! message in transcript order (exact first, then approximate), and a quote
//! found there is re-pointed to it with the judge's label kept in `cited_as`.

use std::collections::HashSet;
use std::sync::OnceLock;

use agar_core::verdict::is_quote_mark;
use agar_core::{Citation, Grounding, TargetNode, Transcript};

/// Quotes longer than this (normalised characters) are only matched exactly,
/// which bounds the cost of the approximate search.
const FUZZY_MAX_CHARS: usize = 4000;

/// Lower case; apostrophes and quote marks dropped; every other character
/// that is not a letter or digit is a separator; separators collapse to one
/// space; no leading or trailing space.
pub fn normalise(s: &str) -> String {
    normalise_with(s, true)
}

/// [`normalise`], with or without the shortcut for ASCII characters (the
/// same result; the tests compare the two).
fn normalise_with(s: &str, ascii_shortcut: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        // ASCII, most of any transcript, without the Unicode tables.
        if ascii_shortcut && c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                if gap && !out.is_empty() {
                    out.push(' ');
                }
                gap = false;
                out.push(c.to_ascii_lowercase());
            } else if !matches!(c, '\'' | '"' | '`') {
                gap = true;
            }
            continue;
        }
        if is_quote_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// The edits tolerated for a normalised quote of `len` characters: one per
/// ten characters, rounded down (so under ten characters, none).
pub fn max_edits(len: usize) -> usize {
    len / 10
}

/// One message, prepared for lookups.
#[derive(Debug)]
struct Searchable {
    id: String,
    /// The content and tool-call arguments, as written.
    raw: String,
    /// `raw` normalised, padded with a space at each end (for whole-word
    /// lookups); built on first use: the message a citation names is
    /// searched first, and most quotes are found there.
    padded: OnceLock<String>,
    /// What the approximate search needs, built on its first use: most
    /// quotes are found word for word, and most messages are never searched
    /// approximately.
    fuzzy: OnceLock<Fuzzy>,
    /// The normalised prefill (padded, and as characters), if the auditor
    /// prefilled this reply.
    prefill: Option<(String, Vec<char>)>,
}

/// A message's normalised text as characters, and its trigrams.
#[derive(Debug)]
struct Fuzzy {
    text: Vec<char>,
    trigrams: HashSet<[char; 3]>,
}

impl Searchable {
    fn padded(&self) -> &str {
        self.padded.get_or_init(|| format!(" {} ", normalise(&self.raw)))
    }

    fn fuzzy(&self) -> &Fuzzy {
        self.fuzzy.get_or_init(|| {
            let padded = self.padded();
            let text: Vec<char> = padded[1..padded.len() - 1].chars().collect();
            Fuzzy { trigrams: text.windows(3).map(|w| [w[0], w[1], w[2]]).collect(), text }
        })
    }
}

/// What a citation of message `n` may quote: its content and its tool calls.
fn quotable(n: &TargetNode<'_>) -> String {
    let mut raw = n.message.content.to_string();
    for c in &n.message.tool_calls {
        raw.push('\n');
        raw.push_str(&c.name);
        raw.push('\n');
        raw.push_str(&c.arguments);
    }
    raw
}

/// The messages a judge of `t` may cite, label and text, for a
/// [`ChatRequest::grounding`](agar_core::ChatRequest::grounding), with free
/// strings capped at `max_text_chars`.
pub fn grounding(t: &Transcript, max_text_chars: u32) -> Grounding {
    Grounding {
        sources: t.target_nodes().map(|n| (n.id.to_string(), quotable(&n))).collect(),
        max_text_chars: Some(max_text_chars),
    }
}

/// Checks citations against one transcript's target messages (every role:
/// the judge may quote the user or a tool result as context).
#[derive(Debug)]
pub struct CitationChecker {
    messages: Vec<Searchable>,
}

/// Where a quote was found.
struct Found {
    index: usize,
    approximate: bool,
}

impl CitationChecker {
    pub fn new(t: &Transcript) -> Self {
        let messages = t
            .target_nodes()
            .map(|n| {
                let prefill = n.prefill.map(normalise).filter(|p| !p.is_empty()).map(|p| {
                    let chars = p.chars().collect();
                    (format!(" {p} "), chars)
                });
                Searchable {
                    id: n.id.to_string(),
                    raw: quotable(&n),
                    padded: OnceLock::new(),
                    fuzzy: OnceLock::new(),
                    prefill,
                }
            })
            .collect();
        Self { messages }
    }

    /// Checks one citation as the judge wrote it: `message` a label such as
    /// `M4` (also `[M4]` or `m4`), `quote` the words it quotes.
    pub fn check(&self, message: &str, quote: &str) -> Citation {
        let label = clean_label(message);
        let mut citation = Citation {
            message: label.clone(),
            quote: quote.to_string(),
            verified: Some(false),
            ..Citation::default()
        };
        let parts = quote_parts(quote);
        if parts.is_empty() {
            return citation;
        }
        let cited = self.messages.iter().position(|m| m.id == label);
        let found = cited
            .and_then(|i| self.find_in(i, &parts, false).or_else(|| self.find_in(i, &parts, true)))
            .or_else(|| {
                let others = || (0..self.messages.len()).filter(|i| Some(*i) != cited);
                others()
                    .find_map(|i| self.find_in(i, &parts, false))
                    .or_else(|| others().find_map(|i| self.find_in(i, &parts, true)))
            });
        if let Some(f) = found {
            let m = &self.messages[f.index];
            citation.verified = Some(true);
            citation.approximate = f.approximate;
            if Some(f.index) != cited {
                citation.cited_as = Some(label);
                citation.message = m.id.clone();
            }
            citation.in_prefill = m.prefill.as_ref().is_some_and(|(text, chars)| {
                parts.iter().all(|p| contains(text, chars, None, p, true))
            });
        }
        citation
    }

    /// Whether every part is in message `i`, exactly or (with `fuzzy`) approximately.
    fn find_in(&self, i: usize, parts: &[Part], fuzzy: bool) -> Option<Found> {
        let m = &self.messages[i];
        let padded = m.padded();
        let all = parts.iter().all(|p| {
            padded.contains(p.padded.as_str())
                || fuzzy && {
                    let f = m.fuzzy();
                    contains(padded, &f.text, Some(&f.trigrams), p, true)
                }
        });
        // An approximate search that an exact one would have found is still exact.
        let approximate = fuzzy && !parts.iter().all(|p| padded.contains(p.padded.as_str()));
        all.then_some(Found { index: i, approximate })
    }
}

/// One part of a quote (quotes split at ellipses), normalised; `padded` has
/// a space at each end so that an exact lookup matches whole words only.
struct Part {
    padded: String,
    chars: Vec<char>,
}

fn quote_parts(quote: &str) -> Vec<Part> {
    quote
        .replace("[...]", "\u{2026}")
        .replace("...", "\u{2026}")
        .split('\u{2026}')
        .map(normalise)
        .filter(|p| !p.is_empty())
        .map(|text| Part { chars: text.chars().collect(), padded: format!(" {text} ") })
        .collect()
}

/// Whether `part` is in a message: `padded` is the message's normalised text
/// with a space at each end, `chars` the same without the padding.
fn contains(
    padded: &str,
    chars: &[char],
    trigrams: Option<&HashSet<[char; 3]>>,
    part: &Part,
    fuzzy: bool,
) -> bool {
    if padded.contains(part.padded.as_str()) {
        return true;
    }
    let k = max_edits(part.chars.len());
    if !fuzzy || k == 0 || part.chars.len() > FUZZY_MAX_CHARS {
        return false;
    }
    if let Some(trigrams) = trigrams {
        let n = part.chars.len();
        let needed = (n - 2).saturating_sub(3 * k);
        let shared =
            part.chars.windows(3).filter(|w| trigrams.contains(&[w[0], w[1], w[2]])).count();
        if shared < needed {
            return false;
        }
    }
    best_window_distance(&part.chars, chars, k).is_some()
}

/// The smallest edit distance between `pattern` and any window of `text`,
/// if it is at most `k` (Sellers: the window may start anywhere for free).
fn best_window_distance(pattern: &[char], text: &[char], k: usize) -> Option<usize> {
    let m = pattern.len();
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0; m + 1];
    let mut best = prev[m];
    for &tc in text {
        cur[0] = 0;
        for i in 1..=m {
            let substitute = prev[i - 1] + usize::from(pattern[i - 1] != tc);
            cur[i] = substitute.min(prev[i] + 1).min(cur[i - 1] + 1);
        }
        best = best.min(cur[m]);
        if best == 0 {
            break;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (best <= k).then_some(best)
}

/// `M4`, `[M4]`, ` m4 ` -> `M4`; anything else is kept trimmed.
fn clean_label(label: &str) -> String {
    let l = label.trim().trim_start_matches('[').trim_end_matches(']').trim();
    match l.strip_prefix(['m', 'M']) {
        Some(digits) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => {
            format!("M{digits}")
        }
        _ => l.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_drops_case_quotes_and_punctuation() {
        assert_eq!(normalise("  It’s “GREAT”,\n  truly -- great!  "), "its great truly great");
        assert_eq!(normalise("don't"), normalise("don\u{2019}t"));
        assert_eq!(normalise("..."), "");
    }

    #[test]
    fn the_ascii_shortcut_normalises_as_the_unicode_rule_does() {
        let every_ascii: String = (0u8..128).map(char::from).collect();
        for s in [
            every_ascii.as_str(),
            "Straße, ÉCOLE l'été — “Ça va?” ‘yes’ `code` x\u{2033}y İstanbul ﬁ 12½ ٣٤",
            "  A-b_c\td\r\ne\u{0}f\u{7f}G  ",
            "",
        ] {
            assert_eq!(normalise(s), normalise_with(s, false), "{s:?}");
        }
    }

    #[test]
    fn window_distance_finds_a_typo_inside_a_long_text() {
        let text: Vec<char> = "the quick brown fox jumps over the lazy dog".chars().collect();
        let pat: Vec<char> = "brown fxo jumps".chars().collect();
        assert_eq!(best_window_distance(&pat, &text, 2), Some(2));
        assert_eq!(best_window_distance(&pat, &text, 1), None);
    }

    #[test]
    fn labels_are_cleaned() {
        assert_eq!(clean_label("[m12]"), "M12");
        assert_eq!(clean_label(" M3 "), "M3");
        assert_eq!(clean_label("message"), "message");
    }

    #[test]
    fn edits_allowed_grow_with_length() {
        assert_eq!(max_edits(9), 0);
        assert_eq!(max_edits(10), 1);
        assert_eq!(max_edits(45), 4);
    }
}
