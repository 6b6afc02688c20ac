//! A small parser for Python literals as `repr()` prints them: strings in
//! single or double quotes (with backslash escapes and an optional `u`/`r`
//! prefix), integers and floats (`nan`/`inf` excluded), lists, tuples, dicts,
//! `None`, `True` and `False`. It reads data and evaluates nothing; the one
//! call it knows is `defaultdict(<class 'list'>, {...})`, which is how the
//! GlobalOpinionQA dataset prints its `selections` column, read as the dict
//! inside.

use std::fmt;

/// A parsed literal.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    None,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<PyValue>),
    Tuple(Vec<PyValue>),
    /// In source order; duplicate keys are kept (the caller decides).
    Dict(Vec<(PyValue, PyValue)>),
}

impl PyValue {
    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            PyValue::None => "None",
            PyValue::Bool(_) => "a boolean",
            PyValue::Num(_) => "a number",
            PyValue::Str(_) => "a string",
            PyValue::List(_) => "a list",
            PyValue::Tuple(_) => "a tuple",
            PyValue::Dict(_) => "a dict",
        }
    }
}

/// Where and why a literal could not be read (`offset` counts characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PyError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.offset + 1)
    }
}

/// Parses one literal; only whitespace may surround it.
pub fn parse(text: &str) -> Result<PyValue, PyError> {
    let mut p = Parser { chars: text.chars().collect(), pos: 0, depth: 0 };
    let value = p.value()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.err("unexpected text after the value"));
    }
    Ok(value)
}

/// Nesting deeper than this is refused (no stack overflow on hostile input).
const MAX_DEPTH: usize = 64;
const DEFAULTDICT: &str = "defaultdict(";

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn err(&self, message: impl Into<String>) -> PyError {
        PyError { offset: self.pos, message: message.into() }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn rest_starts_with(&self, word: &str) -> bool {
        let word: Vec<char> = word.chars().collect();
        self.chars.get(self.pos..).is_some_and(|rest| rest.starts_with(&word))
    }

    fn expect(&mut self, c: char) -> Result<(), PyError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected `{c}`")))
        }
    }

    fn value(&mut self) -> Result<PyValue, PyError> {
        self.skip_ws();
        let Some(c) = self.peek() else { return Err(self.err("expected a value, found the end")) };
        match c {
            '[' => self.nested(|p| p.sequence(']').map(PyValue::List)),
            '(' => self.nested(|p| p.sequence(')').map(PyValue::Tuple)),
            '{' => self.nested(Parser::dict),
            '\'' | '"' => self.string(),
            'u' | 'U' | 'r' | 'R' if matches!(self.chars.get(self.pos + 1), Some('\'' | '"')) => {
                self.string()
            }
            '-' | '+' | '.' | '0'..='9' => self.number(),
            _ if self.rest_starts_with(DEFAULTDICT) => self.nested(Parser::defaultdict),
            _ => self.word(),
        }
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Parser) -> Result<PyValue, PyError>,
    ) -> Result<PyValue, PyError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    /// `defaultdict(<class 'list'>, {...})`: the factory is skipped, the dict kept.
    fn defaultdict(&mut self) -> Result<PyValue, PyError> {
        self.pos += DEFAULTDICT.chars().count();
        self.skip_ws();
        if self.peek() == Some('<') {
            while self.peek().is_some_and(|c| c != '>') {
                self.pos += 1;
            }
            self.expect('>')?;
        } else {
            self.word()?;
        }
        self.expect(',')?;
        self.skip_ws();
        if self.peek() != Some('{') {
            return Err(self.err("expected the dict inside defaultdict(...)"));
        }
        let dict = self.dict()?;
        self.expect(')')?;
        Ok(dict)
    }

    /// Items up to `close`; a trailing comma is allowed. A one-item tuple
    /// `(x,)` and a parenthesised value `(x)` both come back as items.
    fn sequence(&mut self, close: char) -> Result<Vec<PyValue>, PyError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err(self.err(format!("expected `,` or `{close}`"))),
            }
        }
    }

    fn dict(&mut self) -> Result<PyValue, PyError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(PyValue::Dict(items));
            }
            let key = self.value()?;
            self.expect(':')?;
            let value = self.value()?;
            items.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    fn word(&mut self) -> Result<PyValue, PyError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        match word.as_str() {
            "None" => Ok(PyValue::None),
            "True" => Ok(PyValue::Bool(true)),
            "False" => Ok(PyValue::Bool(false)),
            "" => Err(self.err(format!("unexpected `{}`", self.peek().unwrap_or(' ')))),
            _ => {
                self.pos = start;
                Err(self.err(format!("`{word}` is not a literal (names are not evaluated)")))
            }
        }
    }

    fn number(&mut self) -> Result<PyValue, PyError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
        {
            // A sign is only part of a number at its start or after an exponent.
            if matches!(self.peek(), Some('-' | '+'))
                && self.pos != start
                && !matches!(self.chars.get(self.pos - 1), Some('e' | 'E'))
            {
                break;
            }
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().filter(|c| **c != '_').collect();
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(PyValue::Num(n)),
            _ => {
                self.pos = start;
                Err(self.err(format!("`{text}` is not a number")))
            }
        }
    }

    fn string(&mut self) -> Result<PyValue, PyError> {
        let mut raw = false;
        if let Some(c @ ('u' | 'U' | 'r' | 'R')) = self.peek() {
            raw = matches!(c, 'r' | 'R');
            self.pos += 1;
        }
        let start = self.pos;
        let quote = self.peek().unwrap_or('\'');
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                self.pos = start;
                return Err(self.err("a string is not closed"));
            };
            self.pos += 1;
            match c {
                _ if c == quote => return Ok(PyValue::Str(out)),
                '\\' if raw => {
                    out.push('\\');
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.pos += 1;
                    }
                }
                '\\' => self.escape(&mut out)?,
                _ => out.push(c),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), PyError> {
        let Some(c) = self.peek() else { return Err(self.err("a string ends in a backslash")) };
        self.pos += 1;
        match c {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\n' => {}
            '\\' | '\'' | '"' => out.push(c),
            'x' => out.push(self.hex(2)?),
            'u' => out.push(self.hex(4)?),
            'U' => out.push(self.hex(8)?),
            // Python keeps an unknown escape as written.
            other => {
                out.push('\\');
                out.push(other);
            }
        }
        Ok(())
    }

    fn hex(&mut self, digits: usize) -> Result<char, PyError> {
        let end = self.pos + digits;
        let text: String = self.chars.get(self.pos..end).unwrap_or_default().iter().collect();
        let code = u32::from_str_radix(&text, 16)
            .ok()
            .filter(|_| text.len() == digits)
            .and_then(char::from_u32)
            .ok_or_else(|| self.err(format!("bad escape `{text}`")))?;
        self.pos = end;
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> PyValue {
        PyValue::Str(x.into())
    }

    #[test]
    fn mixed_quotes_and_escapes() {
        let v = parse(
            r#"['Yes', "Don't know", 'He said \'no\'', "tab\there", 'caf\xe9', u'\u00fcber']"#,
        )
        .unwrap();
        assert_eq!(
            v,
            PyValue::List(vec![
                s("Yes"),
                s("Don't know"),
                s("He said 'no'"),
                s("tab\there"),
                s("café"),
                s("über"),
            ])
        );
    }

    #[test]
    fn numbers_dicts_tuples_and_words() {
        let v =
            parse("{'a': [0.25, 1e-3, -2, 3.], ('x', 1): (None, True, False), 'b': (1,)}").unwrap();
        let PyValue::Dict(items) = v else { panic!("not a dict") };
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[0].1,
            PyValue::List(vec![
                PyValue::Num(0.25),
                PyValue::Num(0.001),
                PyValue::Num(-2.0),
                PyValue::Num(3.0)
            ])
        );
        assert_eq!(items[1].0, PyValue::Tuple(vec![s("x"), PyValue::Num(1.0)]));
        assert_eq!(
            items[1].1,
            PyValue::Tuple(vec![PyValue::None, PyValue::Bool(true), PyValue::Bool(false)])
        );
        assert_eq!(items[2].1, PyValue::Tuple(vec![PyValue::Num(1.0)]));
    }

    #[test]
    fn the_defaultdict_wrapper_is_read_as_its_dict() {
        let v = parse("defaultdict(<class 'list'>, {'Chile': [0.5, 0.5]})").unwrap();
        assert_eq!(v, PyValue::Dict(vec![(s("Chile"), PyValue::List(vec![PyValue::Num(0.5); 2]))]));
    }

    #[test]
    fn names_and_broken_input_are_errors_with_their_place() {
        let e = parse("[1, os.system('x')]").unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(e.message.contains("not a literal"), "{e}");
        assert_eq!(parse("['open").unwrap_err().message, "a string is not closed");
        assert!(parse("[1 2]").unwrap_err().message.contains("expected `,`"));
        assert!(parse("[nan]").is_err());
        assert!(parse("[1] x").is_err());
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(parse(&deep).unwrap_err().message, "nested too deeply");
    }
}
