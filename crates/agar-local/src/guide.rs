//! Constrained decoding: a character-level machine that accepts exactly the
//! JSON texts a (simplified) JSON Schema allows, used to veto tokens during
//! sampling so a forced tool call is always valid JSON of the right shape.
//!
//! [`Schema::from_json`] reads the JSON Schema subset tools use (objects,
//! arrays, strings with `enum`, integers with bounds, numbers, booleans,
//! null). Object keys are not left to the model: the required properties
//! are written in order by the machine itself ([`Next::Forced`]), and the
//! model fills in the values. Optional properties are left out.
//!
//! [`Schema::Citation`] (see [`span`]) writes a citation whose message label
//! is one of the sources given and whose quote is a span of that message.

use std::sync::Arc;

use serde_json::{Value, json};

pub mod budget;
mod repair;
pub mod span;

pub use repair::repair;

use span::{Source, Span};

/// Longest string value the model may write, in characters, unless the
/// schema says `maxLength`.
pub const DEFAULT_MAX_STRING: usize = 600;
/// Most array items the model may write unless the schema says `maxItems`.
pub const DEFAULT_MAX_ITEMS: usize = 3;

/// Tools by name, each with its arguments' schema.
pub type ToolSchemas = Arc<Vec<(String, Arc<Schema>)>>;

/// The shape of a JSON value to generate.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    /// The keys to write, in order, each with its value's schema.
    Object(Vec<(String, Arc<Schema>)>),
    Array {
        items: Arc<Schema>,
        min: usize,
        max: usize,
    },
    String {
        choices: Option<Arc<Vec<String>>>,
        min_len: usize,
        max_len: usize,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Number,
    Boolean,
    Null,
    /// `{"name": <one of the names>, "arguments": <that tool's schema>}`.
    ToolCall(ToolSchemas),
    /// `{"message": <a source's label>, "quote": <a span of its text>}`, and
    /// `"note"` when given (see [`span`]).
    Citation {
        sources: Arc<Vec<Source>>,
        note: Option<Arc<Schema>>,
    },
}

impl Schema {
    /// Reads a JSON Schema. Anything it does not understand becomes a string.
    pub fn from_json(v: &Value) -> Schema {
        let Some(obj) = v.as_object() else { return Schema::any_string() };
        if let Some(choices) = obj.get("enum").and_then(Value::as_array) {
            return enum_schema(choices);
        }
        if let Some(c) = obj.get("const") {
            return enum_schema(std::slice::from_ref(c));
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(first) = obj.get(key).and_then(Value::as_array).and_then(|a| {
                a.iter().find(|s| s.get("type").and_then(Value::as_str) != Some("null"))
            }) {
                return Schema::from_json(first);
            }
        }
        let ty = match obj.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => {
                ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null")
            }
            _ if obj.contains_key("properties") => "object",
            _ if obj.contains_key("items") => "array",
            _ => "string",
        };
        let int = |k: &str| obj.get(k).and_then(Value::as_i64);
        let size = |k: &str| obj.get(k).and_then(Value::as_u64).map(|n| n as usize);
        match ty {
            "object" => {
                let props = obj.get("properties").and_then(Value::as_object);
                let required = obj.get("required").and_then(Value::as_array);
                let keys = required
                    .map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>())
                    .unwrap_or_default();
                let mut out = Vec::new();
                for k in keys {
                    if out.iter().any(|(name, _): &(String, Arc<Schema>)| name == k) {
                        continue;
                    }
                    let s = props.and_then(|p| p.get(k)).map(Schema::from_json);
                    out.push((k.to_string(), Arc::new(s.unwrap_or_else(Schema::any_string))));
                }
                Schema::Object(out)
            }
            "array" => {
                let items =
                    obj.get("items").map(Schema::from_json).unwrap_or_else(Schema::any_string);
                let min = size("minItems").unwrap_or(0);
                let max = size("maxItems").unwrap_or(DEFAULT_MAX_ITEMS).max(min);
                Schema::Array { items: Arc::new(items), min, max }
            }
            "integer" => Schema::Integer {
                min: int("minimum").or(int("exclusiveMinimum").map(|m| m.saturating_add(1))),
                max: int("maximum").or(int("exclusiveMaximum").map(|m| m.saturating_sub(1))),
            },
            "number" => Schema::Number,
            "boolean" => Schema::Boolean,
            "null" => Schema::Null,
            _ => Schema::String {
                choices: None,
                min_len: size("minLength").unwrap_or(1),
                max_len: size("maxLength").unwrap_or(DEFAULT_MAX_STRING),
            },
        }
    }

    fn any_string() -> Schema {
        Schema::String { choices: None, min_len: 1, max_len: DEFAULT_MAX_STRING }
    }

    /// The schema of a call of one of `tools` (name, JSON Schema of arguments).
    pub fn tool_call(tools: &[(String, Value)]) -> Schema {
        Schema::ToolCall(Arc::new(
            tools.iter().map(|(n, p)| (n.clone(), Arc::new(Schema::from_json(p)))).collect(),
        ))
    }

    /// A valid value of this schema, used to fill gaps.
    pub fn default_value(&self) -> Value {
        match self {
            Schema::Object(props) => {
                Value::Object(props.iter().map(|(k, s)| (k.clone(), s.default_value())).collect())
            }
            Schema::Array { items, min, .. } => {
                Value::Array((0..*min).map(|_| items.default_value()).collect())
            }
            Schema::String { choices: Some(c), .. } => {
                json!(c.first().cloned().unwrap_or_default())
            }
            Schema::String { min_len, .. } => json!("-".repeat(*min_len)),
            Schema::Integer { min, max } => json!(clamp(0, *min, *max)),
            Schema::Number => json!(0),
            Schema::Boolean => json!(false),
            Schema::Null => Value::Null,
            Schema::ToolCall(tools) => match tools.first() {
                Some((n, s)) => json!({"name": n, "arguments": s.default_value()}),
                None => json!({}),
            },
            Schema::Citation { sources, note } => {
                let label = sources.first().map_or("", |s| s.label.as_str());
                let mut v = json!({"message": label, "quote": Span::first_word(sources, label)});
                if let Some(n) = note {
                    v["note"] = n.default_value();
                }
                v
            }
        }
    }
}

fn enum_schema(choices: &[Value]) -> Schema {
    if !choices.is_empty() && choices.iter().all(Value::is_i64) {
        let ints: Vec<i64> = choices.iter().filter_map(Value::as_i64).collect();
        return Schema::Integer {
            min: ints.iter().min().copied(),
            max: ints.iter().max().copied(),
        };
    }
    let strings: Vec<String> = choices
        .iter()
        .map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    Schema::String { choices: Some(Arc::new(strings)), min_len: 0, max_len: usize::MAX }
}

pub(crate) fn clamp(v: i64, min: Option<i64>, max: Option<i64>) -> i64 {
    let v = min.map_or(v, |m| v.max(m));
    max.map_or(v, |m| v.min(m))
}

/// What follows a string chosen from a list.
#[derive(Debug, Clone)]
enum Then {
    /// A tool's name: its arguments.
    Tool(ToolSchemas),
    /// A citation's label: the quote of that message.
    Quote(Arc<Vec<Source>>),
}

/// What the machine needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Only this text can come next: write it without asking the model.
    Forced(String),
    /// The model chooses; [`Guide::accepts`] vets each candidate.
    Open,
    /// The value is complete.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Backslash,
    Unicode(u8),
}

#[derive(Debug, Clone)]
enum Task {
    Value(Arc<Schema>),
    Literal {
        text: String,
        pos: usize,
    },
    Str {
        choices: Option<Arc<Vec<String>>>,
        /// The decoded characters so far (for `choices`) and their count.
        decoded: String,
        chars: usize,
        escape: Escape,
        min_len: usize,
        max_len: usize,
        /// What the chosen string leads to.
        then: Option<Then>,
    },
    Num {
        integer: bool,
        min: Option<i64>,
        max: Option<i64>,
        text: String,
    },
    Keyword {
        choices: &'static [&'static str],
        typed: String,
    },
    ArrayOpen {
        items: Arc<Schema>,
        min: usize,
        max: usize,
    },
    ArrayNext {
        items: Arc<Schema>,
        count: usize,
        min: usize,
        max: usize,
    },
    /// A citation's quote, after its opening quote mark.
    Span(Span),
}

impl Task {
    /// A string chosen from `choices`, followed by what `then` says.
    fn choice(choices: Vec<String>, then: Then) -> Task {
        Task::Str {
            choices: Some(Arc::new(choices)),
            decoded: String::new(),
            chars: 0,
            escape: Escape::None,
            min_len: 0,
            max_len: usize::MAX,
            then: Some(then),
        }
    }
}

/// The machine: a stack of what remains to be written, innermost last.
#[derive(Debug, Clone)]
pub struct Guide {
    stack: Vec<Task>,
    /// Write the shortest value the schema allows from here ([`budget`]).
    hurry: bool,
}

impl Guide {
    pub fn new(schema: Schema) -> Self {
        Self { stack: vec![Task::Value(Arc::new(schema))], hurry: false }
    }

    /// Whether the machine accepts all of `text` from its current state
    /// (without changing it).
    pub fn accepts(&self, text: &str) -> bool {
        if text.is_empty() {
            return false;
        }
        let mut g = self.clone();
        text.chars().all(|c| g.feed(c))
    }

    /// Feeds all of `text`; false (and a partly advanced machine) if refused.
    pub fn feed_str(&mut self, text: &str) -> bool {
        text.chars().all(|c| self.feed(c))
    }

    /// The tool names still to choose from, when the next thing to write is
    /// a tool call's name and nothing of it is written yet.
    pub fn tool_name_choices(&mut self) -> Option<Vec<String>> {
        if matches!(self.stack.last(), Some(Task::Value(_))) {
            self.expand_top();
        }
        match self.stack.last() {
            Some(Task::Str { choices: Some(c), decoded, then: Some(Then::Tool(_)), .. })
                if decoded.is_empty() && c.len() > 1 =>
            {
                Some(c.to_vec())
            }
            _ => None,
        }
    }

    pub fn is_done(&mut self) -> bool {
        matches!(self.next_step(), Next::Done)
    }

    /// What comes next.
    pub fn next_step(&mut self) -> Next {
        let hurry = self.hurry;
        loop {
            let Some(top) = self.stack.last() else { return Next::Done };
            return match top {
                Task::Value(_) => {
                    self.expand_top();
                    continue;
                }
                Task::Literal { text, pos } => Next::Forced(text[*pos..].to_string()),
                Task::Str { choices: Some(c), decoded, escape: Escape::None, .. } => {
                    let mut fits = c.iter().filter(|s| s.starts_with(decoded.as_str()));
                    match (fits.next(), fits.next()) {
                        (Some(only), None) => {
                            Next::Forced(format!("{}\"", escape_json(&only[decoded.len()..])))
                        }
                        _ => Next::Open,
                    }
                }
                Task::Str { chars, max_len, escape: Escape::None, .. } if chars >= max_len => {
                    Next::Forced("\"".into())
                }
                Task::Num { integer: true, min, max, text }
                    if int_complete(text, *min, *max)
                        && !('0'..='9')
                            .any(|d| int_prefix_ok(&format!("{text}{d}"), *min, *max)) =>
                {
                    self.stack.pop();
                    continue;
                }
                Task::ArrayOpen { max: 0, .. } => Next::Forced("]".into()),
                Task::ArrayNext { count, max, .. } if count >= max => Next::Forced("]".into()),
                Task::Span(span) if span.must_close() => Next::Forced("\"".into()),
                Task::Keyword { choices, typed } => {
                    let mut fits = choices.iter().filter(|k| k.starts_with(typed.as_str()));
                    match (fits.next(), fits.next()) {
                        (Some(only), None) => Next::Forced(only[typed.len()..].to_string()),
                        _ => Next::Open,
                    }
                }
                // Hurried (see `budget`): close what may close.
                Task::Str { choices: None, chars, min_len, escape: Escape::None, .. }
                    if hurry && *chars >= (*min_len).max(1) =>
                {
                    Next::Forced("\"".into())
                }
                Task::ArrayOpen { min: 0, .. } if hurry => Next::Forced("]".into()),
                Task::ArrayNext { count, min, .. } if hurry && count >= min => {
                    Next::Forced("]".into())
                }
                Task::Span(span) if hurry && span.can_close() => Next::Forced("\"".into()),
                _ => Next::Open,
            };
        }
    }

    /// Replaces a `Value` on top by the tasks that write it.
    fn expand_top(&mut self) {
        let Some(Task::Value(schema)) = self.stack.pop() else { return };
        let lit = |text: String| Task::Literal { text, pos: 0 };
        match schema.as_ref() {
            Schema::Object(props) if props.is_empty() => self.stack.push(lit("{}".into())),
            Schema::Object(props) => {
                let mut tasks = Vec::new();
                for (i, (k, s)) in props.iter().enumerate() {
                    let sep = if i == 0 { "{" } else { ", " };
                    tasks.push(lit(format!("{sep}{}: ", quote(k))));
                    tasks.push(Task::Value(s.clone()));
                }
                tasks.push(lit("}".into()));
                self.stack.extend(tasks.into_iter().rev());
            }
            Schema::Array { items, min, max } => {
                self.stack.push(Task::ArrayOpen { items: items.clone(), min: *min, max: *max });
                self.stack.push(lit("[".into()));
            }
            Schema::String { choices, min_len, max_len } => {
                self.stack.push(Task::Str {
                    choices: choices.clone(),
                    decoded: String::new(),
                    chars: 0,
                    escape: Escape::None,
                    min_len: *min_len,
                    max_len: *max_len,
                    then: None,
                });
                self.stack.push(lit("\"".into()));
            }
            Schema::Integer { min, max } => self.stack.push(Task::Num {
                integer: true,
                min: *min,
                max: *max,
                text: String::new(),
            }),
            Schema::Number => self.stack.push(Task::Num {
                integer: false,
                min: None,
                max: None,
                text: String::new(),
            }),
            Schema::Boolean => {
                self.stack.push(Task::Keyword { choices: &["true", "false"], typed: String::new() })
            }
            Schema::Null => self.stack.push(lit("null".into())),
            Schema::ToolCall(tools) => {
                let names = tools.iter().map(|(n, _)| n.clone()).collect();
                self.stack.push(Task::choice(names, Then::Tool(tools.clone())));
                self.stack.push(lit("{\"name\": \"".into()));
            }
            Schema::Citation { sources, note } => {
                self.stack.push(lit("}".into()));
                if let Some(n) = note {
                    self.stack.push(Task::Value(n.clone()));
                    self.stack.push(lit(", \"note\": ".into()));
                }
                let labels = sources.iter().map(|s| s.label.clone()).collect();
                self.stack.push(Task::choice(labels, Then::Quote(sources.clone())));
                self.stack.push(lit("{\"message\": \"".into()));
            }
        }
    }

    /// Feeds one character; false if the schema does not allow it here.
    pub fn feed(&mut self, c: char) -> bool {
        loop {
            let Some(top) = self.stack.last_mut() else { return false };
            match top {
                Task::Value(_) => self.expand_top(),
                Task::Literal { text, pos } => {
                    if !text[*pos..].starts_with(c) {
                        return false;
                    }
                    *pos += c.len_utf8();
                    if *pos >= text.len() {
                        self.stack.pop();
                    }
                    return true;
                }
                Task::Str { .. } => return self.feed_string(c),
                Task::Span(span) => {
                    if c != '"' {
                        return span.feed(c);
                    }
                    if !span.can_close() {
                        return false;
                    }
                    self.stack.pop();
                    return true;
                }
                Task::Num { integer, min, max, text } => {
                    let mut next = text.clone();
                    next.push(c);
                    let ok = if *integer {
                        int_prefix_ok(&next, *min, *max)
                    } else {
                        number_prefix_ok(&next)
                    };
                    if ok {
                        *text = next;
                        return true;
                    }
                    let complete = if *integer {
                        int_complete(text, *min, *max)
                    } else {
                        number_complete(text)
                    };
                    if !complete {
                        return false;
                    }
                    self.stack.pop();
                }
                Task::Keyword { choices, typed } => {
                    let mut next = typed.clone();
                    next.push(c);
                    if !choices.iter().any(|k| k.starts_with(next.as_str())) {
                        return false;
                    }
                    if choices.contains(&next.as_str()) {
                        self.stack.pop();
                    } else {
                        *typed = next;
                    }
                    return true;
                }
                Task::ArrayOpen { items, min, max } => {
                    if c == ']' && *min == 0 {
                        self.stack.pop();
                        return true;
                    }
                    if *max == 0 {
                        return false;
                    }
                    let items = items.clone();
                    *top = Task::ArrayNext { items: items.clone(), count: 1, min: *min, max: *max };
                    self.stack.push(Task::Value(items));
                }
                Task::ArrayNext { items, count, min, max } => {
                    if c == ']' && *count >= *min {
                        self.stack.pop();
                        return true;
                    }
                    if c == ',' && *count < *max {
                        *count += 1;
                        let items = items.clone();
                        self.stack.push(Task::Value(items));
                        self.stack.push(Task::Literal { text: " ".into(), pos: 0 });
                        return true;
                    }
                    return false;
                }
            }
        }
    }

    fn feed_string(&mut self, c: char) -> bool {
        let Some(Task::Str { choices, decoded, chars, escape, min_len, max_len, then }) =
            self.stack.last_mut()
        else {
            return false;
        };
        match *escape {
            Escape::Backslash => {
                if "\"\\/bfnrt".contains(c) {
                    *escape = Escape::None;
                    *chars += 1;
                    true
                } else if c == 'u' {
                    *escape = Escape::Unicode(0);
                    true
                } else {
                    false
                }
            }
            Escape::Unicode(n) => {
                if !c.is_ascii_hexdigit() {
                    return false;
                }
                *escape = if n >= 3 {
                    *chars += 1;
                    Escape::None
                } else {
                    Escape::Unicode(n + 1)
                };
                true
            }
            Escape::None => {
                if c == '"' {
                    if *chars < *min_len {
                        return false;
                    }
                    if let Some(ch) = choices
                        && !ch.iter().any(|s| s == decoded)
                    {
                        return false;
                    }
                    let chosen = decoded.clone();
                    let then = then.clone();
                    self.stack.pop();
                    self.then(then, &chosen);
                    return true;
                }
                if (c as u32) < 0x20 || *chars >= *max_len {
                    return false;
                }
                if c == '\\' {
                    if choices.is_some() {
                        return false;
                    }
                    *escape = Escape::Backslash;
                    return true;
                }
                if let Some(ch) = choices {
                    let mut next = decoded.clone();
                    next.push(c);
                    if !ch.iter().any(|s| s.starts_with(next.as_str())) {
                        return false;
                    }
                    *decoded = next;
                } else {
                    // Only choices need the decoded text; keep memory flat.
                }
                *chars += 1;
                true
            }
        }
    }

    /// Pushes what follows the string `chosen`.
    fn then(&mut self, then: Option<Then>, chosen: &str) {
        let lit = |text: &str| Task::Literal { text: text.into(), pos: 0 };
        match then {
            Some(Then::Tool(tools)) => {
                if let Some((_, schema)) = tools.iter().find(|(n, _)| n == chosen) {
                    self.stack.push(lit("}"));
                    self.stack.push(Task::Value(schema.clone()));
                    self.stack.push(lit(", \"arguments\": "));
                }
            }
            Some(Then::Quote(sources)) => {
                if let Some(span) = Span::new(sources, chosen) {
                    self.stack.push(Task::Span(span));
                    self.stack.push(lit(", \"quote\": \""));
                }
            }
            None => {}
        }
    }

    /// Text that completes the value from here (when generation must stop
    /// early), choosing defaults for what is missing.
    pub fn completion(&self) -> String {
        let mut g = self.clone();
        let mut out = String::new();
        for _ in 0..10_000 {
            let piece = match g.stack.last() {
                None => break,
                Some(Task::Value(s)) => match s.as_ref() {
                    Schema::Object(_)
                    | Schema::Array { .. }
                    | Schema::ToolCall(_)
                    | Schema::Citation { .. } => {
                        g.expand_top();
                        continue;
                    }
                    other => other.default_value().to_string(),
                },
                Some(Task::Literal { text, pos }) => text[*pos..].to_string(),
                Some(Task::Str { choices, decoded, chars, escape, min_len, .. }) => {
                    let mut p = match escape {
                        Escape::Backslash => "n".to_string(),
                        Escape::Unicode(n) => "0".repeat(4 - usize::from(*n)),
                        Escape::None => String::new(),
                    };
                    match choices {
                        Some(c) => {
                            let fit = c.iter().find(|s| s.starts_with(decoded.as_str()));
                            p.push_str(&escape_json(fit.map_or("", |s| &s[decoded.len()..])));
                        }
                        None => p.push_str(&"-".repeat(min_len.saturating_sub(*chars))),
                    }
                    p.push('"');
                    p
                }
                Some(Task::Num { integer, min, max, text }) => {
                    let done = if *integer {
                        int_complete(text, *min, *max)
                    } else {
                        number_complete(text)
                    };
                    if done {
                        g.stack.pop();
                        continue;
                    }
                    let fill = if text.is_empty() {
                        if *integer { clamp(0, *min, *max).to_string() } else { "0".into() }
                    } else {
                        "0".into()
                    };
                    // Out of range or malformed: hand over what we can; the
                    // caller's repair clamps it.
                    out.push_str(&fill);
                    g.stack.pop();
                    continue;
                }
                Some(Task::Keyword { choices, typed }) => choices
                    .iter()
                    .find(|k| k.starts_with(typed.as_str()))
                    .map_or(String::new(), |k| k[typed.len()..].to_string()),
                Some(Task::ArrayOpen { .. } | Task::ArrayNext { .. }) => {
                    g.stack.pop();
                    out.push(']');
                    continue;
                }
                Some(Task::Span(span)) => format!("{}\"", span.finish_word()),
            };
            if g.feed_str(&piece) {
                out.push_str(&piece);
            } else {
                g.stack.pop();
                out.push_str(&piece);
            }
        }
        out
    }
}

fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn escape_json(s: &str) -> String {
    let q = quote(s);
    q[1..q.len() - 1].to_string()
}

/// Whether `text` can begin an integer in `[min, max]` (JSON syntax: no
/// leading zeros, no plus sign).
fn int_prefix_ok(text: &str, min: Option<i64>, max: Option<i64>) -> bool {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 18 {
        return false;
    }
    if digits.is_empty() {
        return neg && min.is_none_or(|m| m < 0);
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return false;
    }
    let lo = min.map_or(i128::MIN, i128::from);
    let hi = max.map_or(i128::MAX, i128::from);
    let Ok(v) = digits.parse::<i128>() else { return false };
    if v == 0 {
        return (lo..=hi).contains(&0) && !(neg && digits.len() == 1 && hi < 0);
    }
    // Integers whose digits start with `digits`: v * 10^k + r, r < 10^k.
    let mut scale: i128 = 1;
    for _ in 0..=(18 - digits.len()) {
        let (a, b) = (v * scale, v * scale + scale - 1);
        let (a, b) = if neg { (-b, -a) } else { (a, b) };
        if a <= hi && b >= lo {
            return true;
        }
        scale *= 10;
    }
    false
}

fn int_complete(text: &str, min: Option<i64>, max: Option<i64>) -> bool {
    match text.parse::<i64>() {
        Ok(v) => text != "-" && min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m),
        Err(_) => false,
    }
}

fn number_prefix_ok(text: &str) -> bool {
    // -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? as prefixes.
    let mut state = 0; // 0 start, 1 minus, 2 zero, 3 int, 4 dot, 5 frac, 6 e, 7 esign, 8 exp
    for c in text.chars() {
        state = match (state, c) {
            (0, '-') => 1,
            (0 | 1, '0') => 2,
            (0 | 1, '1'..='9') => 3,
            (3, '0'..='9') => 3,
            (2 | 3, '.') => 4,
            (4 | 5, '0'..='9') => 5,
            (2 | 3 | 5, 'e' | 'E') => 6,
            (6, '+' | '-') => 7,
            (6..=8, '0'..='9') => 8,
            _ => return false,
        };
    }
    text.len() <= 24
}

fn number_complete(text: &str) -> bool {
    number_prefix_ok(text) && !text.is_empty() && text.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests;
