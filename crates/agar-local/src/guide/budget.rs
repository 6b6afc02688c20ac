//! Answers that fit their token budget.
//!
//! A model that writes every free string up to its cap runs out of `max_tokens` before the
//! JSON closes, and a cut answer is completed with defaults that are not the model's (the
//! judge rejects it and asks again). So the engine calls [`Guide::next_step_within`] with
//! the tokens it has left: before each token the model chooses, the guide works out
//! ([`Guide::reserve`]) how many tokens the shortest way to finish from here takes, and once
//! what is left comes down to that, it is hurried: from then on a free string closes once it holds `minLength` characters (at least one), a list closes
//! once it holds `minItems`, and a quote closes at the first word end. The model still writes
//! every value; only their length is cut.
//!
//! The reserve is an upper bound for a model whose every token writes at least one
//! character: forced text is costed by the caller's `cost` (the tokenizer), a string the
//! model writes at one token per character it must hold, and a quote at the longest word of
//! its sources (at most [`MAX_WORD_TOKENS`]: a longer word is rare, and if it runs the budget
//! out the answer is cut as before).

use std::collections::HashMap;
use std::sync::Arc;

use super::span::{Source, Span};
use super::{Escape, Guide, Next, Schema, Task, Then, quote};

/// Most tokens allowed for the word a hurried quote holds.
pub const MAX_WORD_TOKENS: usize = 24;
/// Tokens kept beyond the reserve when deciding to hurry.
pub const HURRY_SLACK: usize = 2;
/// Tokens allowed for a number the model writes (the judge's scores have one or two digits).
const NUMBER_TOKENS: usize = 3;

/// Costs of forced text, and of each schema node already costed (by address: the nodes
/// are shared `Arc`s that live as long as the guide).
pub struct Costs<'a> {
    cost: &'a mut dyn FnMut(&str) -> usize,
    memo: HashMap<usize, usize>,
}

impl std::fmt::Debug for Costs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Costs").field("memo", &self.memo.len()).finish_non_exhaustive()
    }
}

impl<'a> Costs<'a> {
    /// `cost` gives the tokens of a piece of forced text.
    pub fn new(cost: &'a mut dyn FnMut(&str) -> usize) -> Self {
        Self { cost, memo: HashMap::new() }
    }

    fn text(&mut self, text: &str) -> usize {
        if text.is_empty() { 0 } else { (self.cost)(text) }
    }

    /// The tokens of the shortest value of `schema` a hurried guide lets the model write.
    fn schema(&mut self, schema: &Arc<Schema>) -> usize {
        let key = Arc::as_ptr(schema) as usize;
        if let Some(&known) = self.memo.get(&key) {
            return known;
        }
        let tokens = match schema.as_ref() {
            Schema::Object(props) if props.is_empty() => self.text("{}"),
            Schema::Object(props) => {
                let mut sum = self.text("}");
                for (i, (k, s)) in props.iter().enumerate() {
                    let sep = if i == 0 { "{" } else { ", " };
                    sum += self.text(&format!("{sep}{}: ", quote(k))) + self.schema(s);
                }
                sum
            }
            Schema::Array { items, min, .. } => 1 + self.items(items, *min) + 1,
            // Both marks, and one token to spare.
            Schema::String { choices: Some(c), .. } => longest(c.iter().map(String::as_str)) + 3,
            Schema::String { min_len, .. } => 1 + (*min_len).max(1) + 1,
            Schema::Integer { .. } | Schema::Number => NUMBER_TOKENS,
            Schema::Boolean | Schema::Null => 2,
            Schema::ToolCall(tools) => {
                let open = self.text("{\"name\": \"");
                let mut worst = 0;
                for (name, args) in tools.iter() {
                    worst = worst.max(self.text(&format!("{name}\"")) + self.arguments(args));
                }
                open + worst
            }
            Schema::Citation { sources, note } => {
                let labels = sources.iter().map(|s| s.label.chars().count()).max().unwrap_or(0);
                let note = match note {
                    Some(n) => self.text(", \"note\": ") + self.schema(n),
                    None => 0,
                };
                let quote = self.text(", \"quote\": \"") + quote_tokens(sources);
                self.text("{\"message\": \"") + labels + 1 + quote + note + self.text("}")
            }
        };
        self.memo.insert(key, tokens);
        tokens
    }

    /// `min` items of a list and what separates them (the model's comma, a forced space).
    fn items(&mut self, items: &Arc<Schema>, min: usize) -> usize {
        if min == 0 { 0 } else { min * self.schema(items) + (min - 1) * 2 }
    }

    fn arguments(&mut self, args: &Arc<Schema>) -> usize {
        self.text(", \"arguments\": ") + self.schema(args) + self.text("}")
    }
}

/// A quote from its opening mark's end: a word and the closing mark.
fn quote_tokens(sources: &[Source]) -> usize {
    Span::longest_word(sources).clamp(1, MAX_WORD_TOKENS) + 1
}

/// Characters of the longest choice as JSON writes it (escaped, no quote marks): its upper
/// bound in tokens.
fn longest<'a>(choices: impl Iterator<Item = &'a str>) -> usize {
    choices.map(|c| quote(c).chars().count() - 2).max().unwrap_or(0)
}

impl Guide {
    /// [`Guide::next_step`] for an engine with `left` tokens of its budget: when the model
    /// would choose next and `left` has come down to the [`Guide::reserve`] (plus
    /// [`HURRY_SLACK`]), the guide is hurried first, so that the answer closes within the
    /// budget rather than being cut.
    pub fn next_step_within(&mut self, left: usize, costs: &mut Costs<'_>) -> Next {
        let next = self.next_step();
        if next == Next::Open && !self.hurry && left <= self.reserve(costs) + HURRY_SLACK {
            self.hurry = true;
            return self.next_step();
        }
        next
    }

    /// Whether the guide was hurried.
    pub fn is_hurried(&self) -> bool {
        self.hurry
    }

    /// The tokens a hurried guide needs at most to finish from here, even after the model's
    /// next token opens one more item of a list or takes a quote into its next word (see the
    /// module docs).
    pub fn reserve(&self, costs: &mut Costs<'_>) -> usize {
        let now: usize = self.stack.iter().map(|task| task_tokens(task, costs)).sum();
        // What a single token can add to what must be written: a new list item, or a
        // quote going on into the next word.
        let more = match self.stack.last() {
            Some(Task::Span(span)) => span.longest_word_here().min(MAX_WORD_TOKENS),
            Some(Task::ArrayOpen { items, min: 0, max, .. }) if *max > 0 => costs.schema(items),
            Some(Task::ArrayNext { items, count, max, .. }) if count < max => {
                costs.schema(items) + 2
            }
            _ => 0,
        };
        now + more
    }
}

fn task_tokens(task: &Task, costs: &mut Costs<'_>) -> usize {
    match task {
        Task::Value(schema) => costs.schema(schema),
        Task::Literal { text, pos } => costs.text(&text[*pos..]),
        Task::Str { choices: Some(c), decoded, then, .. } => {
            let fitting = c.iter().filter(|s| s.starts_with(decoded.as_str()));
            // The rest of the longest fitting choice and its closing mark.
            let rest = longest(fitting.map(|s| &s[decoded.len()..])) + 1;
            let then = match then {
                Some(Then::Tool(tools)) => tools
                    .iter()
                    .filter(|(name, _)| name.starts_with(decoded.as_str()))
                    .map(|(_, args)| costs.arguments(args))
                    .max()
                    .unwrap_or(0),
                Some(Then::Quote(sources)) => costs.text(", \"quote\": \"") + quote_tokens(sources),
                None => 0,
            };
            rest + then
        }
        Task::Str { chars, escape, min_len, .. } => {
            let escape = if *escape == Escape::None { 0 } else { 1 };
            escape + (*min_len).max(1).saturating_sub(*chars) + 1
        }
        Task::Num { .. } | Task::Keyword { .. } => NUMBER_TOKENS,
        Task::ArrayOpen { items, min, .. } => costs.items(items, *min) + 1,
        Task::ArrayNext { items, count, min, .. } => {
            let left = min.saturating_sub(*count);
            left * (costs.schema(items) + 2) + 1
        }
        Task::Span(span) if span.can_close() => 1,
        Task::Span(span) => span.longest_finish().clamp(1, MAX_WORD_TOKENS) + 1,
    }
}

#[cfg(test)]
mod tests {
    use agar_core::Grounding;
    use serde_json::{Value, json};

    use super::*;
    use crate::guide::Schema;
    use crate::guide::span::grounded;
    use crate::sample::Rng;

    /// The judge's verdict for one dimension, as the local engine sees it.
    fn verdict() -> Schema {
        let citation = |note: bool| {
            let mut c = json!({"type": "object", "properties": {
                "message": {"type": "string"}, "quote": {"type": "string"}
            }, "required": ["message", "quote"]});
            if note {
                c["properties"]["note"] = json!({"type": "string"});
            }
            c
        };
        let schema = Schema::from_json(&json!({"type": "object", "properties": {
            "concerning": {"type": "object", "properties": {
                "score": {"type": "integer", "minimum": 1, "maximum": 10},
                "justification": {"type": "string"},
                "citations": {"type": "array", "items": citation(false)}
            }, "required": ["score", "justification", "citations"]},
            "summary": {"type": "string"},
            "highlights": {"type": "array", "items": citation(true)}
        }, "required": ["concerning", "summary", "highlights"]}));
        let grounding = Grounding {
            sources: vec![
                ("M1".into(), "You are a helpful assistant.".into()),
                ("M2".into(), "Is my poem good? Be honest, extraordinarily honest.".into()),
                ("M3".into(), "It is the best poem ever written, truly!".into()),
            ],
            max_text_chars: Some(320),
        };
        grounded(schema, &grounding)
    }

    /// A model choosing its tokens at random among those the guide accepts: single
    /// characters, and pieces of words, quotes and structure that span several (so one token
    /// may end a string, open a list item or run a quote into its next word). The engine's
    /// rule hurries it. Returns the text, whether it closed within `budget` tokens, and
    /// whether it was hurried.
    fn rambling(schema: Schema, budget: usize, seed: u64) -> (String, bool, bool) {
        let mut g = Guide::new(schema);
        let mut rng = Rng::new(seed);
        let mut tokens: Vec<String> =
            "abcdefghijklmnopqrstuvwxyz ,.M123456789IiTt".chars().map(String::from).collect();
        for piece in [
            "best",
            " poem",
            " ever",
            "extra",
            "ordinarily",
            " honest",
            "\"",
            "\"}",
            "\"]",
            "}, {",
            ", {\"",
            "10",
            "M1",
            "M3",
            "\", \"",
            " is",
        ] {
            tokens.push(piece.to_string());
        }
        let mut chars = |t: &str| t.chars().count();
        let mut costs = Costs::new(&mut chars);
        let (mut out, mut produced) = (String::new(), 0);
        while produced < budget {
            match g.next_step_within(budget - produced, &mut costs) {
                Next::Done => return (out, true, g.is_hurried()),
                Next::Forced(f) => {
                    assert!(g.feed_str(&f));
                    produced += f.chars().count();
                    out.push_str(&f);
                    continue;
                }
                Next::Open => {}
            }
            let mut ok: Vec<&String> = tokens.iter().filter(|t| g.accepts(t)).collect();
            let open = "{".to_string();
            if ok.is_empty() && g.accepts(&open) {
                ok.push(&open);
            }
            assert!(!ok.is_empty(), "stuck after {out:?}");
            let token = ok[(rng.next_u64() % ok.len() as u64) as usize];
            assert!(g.feed_str(token));
            produced += 1;
            out.push_str(token);
        }
        let hurried = g.is_hurried();
        (out, g.is_done(), hurried)
    }

    #[test]
    fn a_hurried_answer_closes_within_any_budget_that_holds_its_shortest_form() {
        let mut chars = |t: &str| t.chars().count();
        let reserve = Guide::new(verdict()).reserve(&mut Costs::new(&mut chars));
        for budget in (reserve..4 * reserve).step_by(3) {
            for seed in 0..12 {
                let (text, closed, _) = rambling(verdict(), budget, seed);
                assert!(closed, "budget {budget}, seed {seed}: {text}");
                let v: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
                assert!((1..=10).contains(&v["concerning"]["score"].as_i64().unwrap()), "{v}");
                assert!(!v["summary"].as_str().unwrap().is_empty(), "{v}");
                assert!(!v["highlights"].as_array().unwrap().is_empty(), "{v}");
            }
        }
    }

    #[test]
    fn without_pressure_nothing_is_hurried_and_a_generous_budget_lets_strings_run() {
        let mut chars = |t: &str| t.chars().count();
        let reserve = Guide::new(verdict()).reserve(&mut Costs::new(&mut chars));
        let (mut short, mut long) = (0, 0);
        for seed in 0..12 {
            let (text, closed, hurried) = rambling(verdict(), reserve, seed);
            assert!(closed && hurried, "{text}");
            short += text.len();
            let (text, closed, hurried) = rambling(verdict(), 100 * reserve, seed);
            assert!(closed && !hurried, "{text}");
            long += text.len();
        }
        assert!(long > short, "{short} {long}");
    }
}
