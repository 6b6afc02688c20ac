//! Citations under constraint: a quote that can only be a span of the
//! message it cites.
//!
//! A `Schema::Citation` writes
//! `{"message": "<label>", "quote": "<span>"}` (and a `note` when the
//! schema has one). The label is one of the sources' labels; the quote is a
//! contiguous run of that source's text that starts at the start of a word
//! and ends at the end of one, with no character JSON must escape (no
//! quote mark, backslash or line break), so what the judge writes is found
//! word for word when agar checks it.
//!
//! [`grounded`] rewrites a tool's schema for a [`Grounding`]: every object
//! with string properties `message` and `quote` becomes a citation, a list
//! of citations holds one or two ([`MAX_CITATIONS`]), and free strings are
//! capped at `max_text_chars`.

use std::sync::Arc;

use agar_core::Grounding;
use agar_core::verdict::is_quote_mark;

use super::Schema;

/// Longest quote, in characters.
pub const MAX_QUOTE_CHARS: usize = 160;
/// Most citations in one list of a grounded answer (at least one is written).
pub const MAX_CITATIONS: usize = 2;

/// One message that may be quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub label: String,
    pub text: Vec<char>,
    /// Where words start in `text`.
    starts: Vec<u32>,
}

impl Source {
    pub fn new(label: &str, text: &str) -> Self {
        let text: Vec<char> = text.chars().collect();
        let starts = (0..text.len())
            .filter(|&i| {
                let before = text[..i].iter().rev().find(|c| !is_quote_mark(**c));
                text[i].is_alphanumeric() && !before.is_some_and(|c| c.is_alphanumeric())
            })
            .map(|i| i as u32)
            .collect();
        Self { label: label.to_string(), text, starts }
    }
}

/// Whether a quote of `text` may end before position `at`: what follows is no letter or
/// digit once quote marks are skipped, as the judge's citation check reads it (`I'm` is one
/// word there), or is a character a quote cannot hold.
fn ends_at(text: &[char], at: usize) -> bool {
    match text.get(at) {
        None => true,
        Some(&c) if !allowed(c) => true,
        Some(_) => {
            !text[at..].iter().find(|c| !is_quote_mark(**c)).is_some_and(|c| c.is_alphanumeric())
        }
    }
}

/// Where the word that goes on at `from` ends (`from` itself when a quote may end there).
fn word_end(text: &[char], from: usize) -> usize {
    (from..text.len()).find(|&i| ends_at(text, i)).unwrap_or(text.len())
}

/// The sources of a grounding that have a word to quote.
pub fn sources(grounding: &Grounding) -> Vec<Source> {
    grounding
        .sources
        .iter()
        .map(|(label, text)| Source::new(label, text))
        .filter(|s| !s.starts.is_empty())
        .collect()
}

/// `schema` with its citations bound to `grounding` and its free strings
/// capped (see the module docs).
pub fn grounded(schema: Schema, grounding: &Grounding) -> Schema {
    let sources = Arc::new(sources(grounding));
    let cap = grounding.max_text_chars.map(|c| c as usize);
    rewrite(schema, &sources, cap)
}

fn rewrite(schema: Schema, sources: &Arc<Vec<Source>>, cap: Option<usize>) -> Schema {
    let again = |s: &Arc<Schema>| Arc::new(rewrite(s.as_ref().clone(), sources, cap));
    match schema {
        Schema::Object(props) if is_citation(&props) && !sources.is_empty() => {
            let note = props.iter().find(|(k, _)| k == "note").map(|(_, s)| again(s));
            Schema::Citation { sources: sources.clone(), note }
        }
        Schema::Object(props) => {
            Schema::Object(props.iter().map(|(k, s)| (k.clone(), again(s))).collect())
        }
        Schema::Array { items, min, max } => {
            let items = again(&items);
            match items.as_ref() {
                // One or two quotes: never an empty list to hide behind, and
                // a short answer.
                Schema::Citation { .. } => {
                    Schema::Array { items, min: min.max(1), max: max.clamp(1, MAX_CITATIONS) }
                }
                _ => Schema::Array { items, min, max },
            }
        }
        Schema::String { choices: None, min_len, max_len } => Schema::String {
            choices: None,
            min_len,
            max_len: cap.map_or(max_len, |c| max_len.min(c.max(min_len))),
        },
        Schema::ToolCall(tools) => {
            Schema::ToolCall(Arc::new(tools.iter().map(|(n, s)| (n.clone(), again(s))).collect()))
        }
        other => other,
    }
}

fn is_citation(props: &[(String, Arc<Schema>)]) -> bool {
    let string = |key: &str| {
        props
            .iter()
            .any(|(k, s)| k == key && matches!(s.as_ref(), Schema::String { choices: None, .. }))
    };
    string("message")
        && string("quote")
        && props.iter().all(|(k, _)| ["message", "quote", "note"].contains(&k.as_str()))
}

/// A quote being written: the positions in the source where what was
/// written so far could start.
#[derive(Debug, Clone)]
pub struct Span {
    source: Arc<Vec<Source>>,
    index: usize,
    /// Candidate starts; `None` before the first character (every word start).
    starts: Option<Vec<u32>>,
    len: usize,
}

impl Span {
    pub fn new(sources: Arc<Vec<Source>>, label: &str) -> Option<Self> {
        let index = sources.iter().position(|s| s.label == label)?;
        Some(Self { source: sources, index, starts: None, len: 0 })
    }

    fn src(&self) -> &Source {
        &self.source[self.index]
    }

    fn candidates(&self) -> &[u32] {
        self.starts.as_deref().unwrap_or(&self.src().starts)
    }

    /// The character after the span at start `p`, if any.
    fn after(&self, p: u32) -> Option<char> {
        self.src().text.get(p as usize + self.len).copied()
    }

    /// Whether the quote may end here: something written, and a candidate
    /// ends at the end of a word.
    pub fn can_close(&self) -> bool {
        let text = &self.src().text;
        self.len > 0 && self.candidates().iter().any(|&p| ends_at(text, p as usize + self.len))
    }

    fn can_extend(&self) -> bool {
        self.len < MAX_QUOTE_CHARS
            && self.candidates().iter().any(|&p| self.after(p).is_some_and(allowed))
    }

    /// Only the closing quote mark can come next.
    pub fn must_close(&self) -> bool {
        self.can_close() && !self.can_extend()
    }

    /// Feeds one character of the quote (not the closing mark).
    pub fn feed(&mut self, c: char) -> bool {
        if !allowed(c) || self.len >= MAX_QUOTE_CHARS {
            return false;
        }
        let next: Vec<u32> =
            self.candidates().iter().copied().filter(|&p| self.after(p) == Some(c)).collect();
        if next.is_empty() {
            return false;
        }
        self.starts = Some(next);
        self.len += 1;
        true
    }

    /// Characters that finish the current word (for a completion).
    pub fn finish_word(&self) -> String {
        let Some(&p) = self.candidates().first() else { return String::new() };
        let text = &self.src().text;
        let start = p as usize + self.len;
        // Something must be quoted: a quote that has not begun takes at least a character.
        let end = word_end(text, if self.len == 0 { start + 1 } else { start });
        text[start..end].iter().collect()
    }

    /// Characters the longest of the words being quoted needs to end (for the budget: a
    /// hurried quote closes at the first word end).
    pub fn longest_finish(&self) -> usize {
        let text = &self.src().text;
        self.candidates()
            .iter()
            .map(|&p| {
                let start = (p as usize + self.len).min(text.len());
                word_end(text, start) - start
            })
            .max()
            .unwrap_or(0)
    }

    /// Characters of the longest word of the quoted message: what one more character of
    /// an unhurried quote (a space, say) can add to what it needs to end.
    pub fn longest_word_here(&self) -> usize {
        Self::longest_word(std::slice::from_ref(self.src()))
    }

    /// Characters of the longest word of any source: what a quote that ends at its first
    /// word end may need.
    pub fn longest_word(sources: &[Source]) -> usize {
        sources
            .iter()
            .flat_map(|s| s.starts.iter().map(|&p| word_end(&s.text, p as usize + 1) - p as usize))
            .max()
            .unwrap_or(0)
    }

    /// A valid quote of `label` to use when nothing was generated: its first word.
    pub fn first_word(sources: &[Source], label: &str) -> String {
        let Some(s) = sources.iter().find(|s| s.label == label) else { return String::new() };
        let Some(&p) = s.starts.first() else { return String::new() };
        s.text[p as usize..word_end(&s.text, p as usize + 1)].iter().collect()
    }
}

/// Characters a quote may hold: nothing JSON would have to escape.
fn allowed(c: char) -> bool {
    c != '"' && c != '\\' && (c as u32) >= 0x20
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::guide::{Guide, Next};
    use crate::sample::Rng;

    fn grounding() -> Grounding {
        Grounding {
            sources: vec![
                ("M1".into(), "You are a helpful assistant.".into()),
                ("M2".into(), "Is my poem \"The Sea\" good?\nBe honest.".into()),
                ("M3".into(), "It is the best poem ever written, truly!".into()),
                ("M4".into(), "...".into()),
            ],
            max_text_chars: Some(40),
        }
    }

    fn verdict() -> Schema {
        let citation = json!({"type": "object", "properties": {
            "message": {"type": "string"}, "quote": {"type": "string"}, "note": {"type": "string"}
        }, "required": ["message", "quote", "note"]});
        Schema::from_json(&json!({"type": "object", "properties": {
            "justification": {"type": "string"},
            "citations": {"type": "array", "items": citation}
        }, "required": ["justification", "citations"]}))
    }

    /// Generates under the guide with random choices among the characters
    /// it accepts, as a model that tries everything would (no backslash: the
    /// escapes of free strings are not what these tests are about).
    fn random_walk(schema: Schema, seed: u64) -> String {
        let mut g = Guide::new(schema);
        let mut rng = Rng::new(seed);
        let alphabet: Vec<char> =
            "abcdefghijklmnopqrstuvwxyzYIT M1234 ,.!?\":{}[]-\n".chars().collect();
        let mut out = String::new();
        for _ in 0..5000 {
            match g.next_step() {
                Next::Done => return out,
                Next::Forced(f) => {
                    assert!(g.feed_str(&f));
                    out.push_str(&f);
                }
                Next::Open => {
                    let ok: Vec<char> =
                        alphabet.iter().copied().filter(|c| g.accepts(&c.to_string())).collect();
                    let Some(&c) = ok.get((rng.next_u64() % ok.len().max(1) as u64) as usize)
                    else {
                        out.push_str(&g.completion());
                        return out;
                    };
                    assert!(g.feed(c));
                    out.push(c);
                }
            }
        }
        out.push_str(&g.completion());
        out
    }

    #[test]
    fn whatever_is_chosen_every_quote_is_a_whole_word_span_of_its_message() {
        let g = grounding();
        for seed in 0..200 {
            let text = random_walk(grounded(verdict(), &g), seed);
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert!(v["justification"].as_str().unwrap().chars().count() <= 40, "{v}");
            let cites = v["citations"].as_array().unwrap();
            assert!((1..=MAX_CITATIONS).contains(&cites.len()), "{v}");
            for c in cites {
                let label = c["message"].as_str().unwrap();
                let quote = c["quote"].as_str().unwrap();
                let (_, source) = g.sources.iter().find(|(l, _)| l == label).unwrap();
                assert_ne!(label, "M4", "a message with no word is never cited: {v}");
                // Somewhere in its message, the quote starts and ends at word edges.
                let whole = source.match_indices(quote).any(|(at, _)| {
                    let before = source[..at].chars().last();
                    let after = source[at + quote.len()..].chars().next();
                    !before.is_some_and(char::is_alphanumeric)
                        && !after.is_some_and(char::is_alphanumeric)
                });
                assert!(
                    !quote.is_empty() && whole,
                    "{quote:?} is no whole-word span of {label}: {v}"
                );
                assert!(c["note"].is_string(), "{v}");
            }
        }
    }

    #[test]
    fn a_quote_cannot_wander_off_its_message() {
        let sources = Arc::new(sources(&grounding()));
        let mut span = Span::new(sources.clone(), "M3").unwrap();
        assert!(!span.can_close(), "something must be quoted");
        assert!(!span.feed('s'), "no word of M3 starts with s");
        assert!("the bes".chars().all(|c| span.feed(c)));
        assert!(!span.can_close(), "a quote ends at the end of a word");
        assert_eq!(span.finish_word(), "t");
        assert!(span.feed('t') && span.can_close() && !span.must_close());
        assert!(!span.feed('x'));
        assert!(Span::new(sources, "M9").is_none());
    }

    #[test]
    fn a_word_goes_on_across_quote_marks_as_the_citation_check_reads_it() {
        // The judge's check drops apostrophes and quote marks: `I'm` is the word `im` there,
        // so a quote of `m` or of `I` alone would never be found.
        let source = Source::new("M1", "I'm sure it\u{2019}s \u{201c}great\u{201d}, isn't it");
        let words: Vec<String> = source
            .starts
            .iter()
            .map(|&p| {
                source.text[p as usize..word_end(&source.text, p as usize + 1)].iter().collect()
            })
            .collect();
        assert_eq!(words, ["I'm", "sure", "it\u{2019}s", "great", "isn't", "it"]);
        let sources = Arc::new(vec![source]);
        let mut span = Span::new(sources.clone(), "M1").unwrap();
        assert!(!span.feed('m'), "no word starts inside I'm");
        assert!(span.feed('I') && !span.can_close(), "I'm goes on after the apostrophe");
        assert!(span.feed('\'') && !span.can_close());
        assert!(span.feed('m') && span.can_close());
        let mut span = Span::new(sources.clone(), "M1").unwrap();
        assert!("great".chars().all(|c| span.feed(c)) && span.can_close(), "before a quote mark");
        assert_eq!(Span::longest_word(&sources), 5);
        assert_eq!(Span::first_word(&sources, "M1"), "I'm");
    }

    #[test]
    fn without_sources_a_citation_stays_a_plain_object() {
        let schema = grounded(verdict(), &Grounding::default());
        let Schema::Object(props) = schema else { panic!() };
        let Schema::Array { items, .. } = props[1].1.as_ref() else { panic!() };
        assert!(matches!(items.as_ref(), Schema::Object(_)));
    }
}
