//! A CSV reader (RFC 4180: comma-separated, `"`-quoted fields with `""` for
//! a quote, line breaks allowed inside quotes) that remembers the line each
//! record starts on, so problems can be reported as `path:line`.

/// One record: its fields and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRecord {
    pub line: usize,
    pub fields: Vec<String>,
}

/// A CSV syntax error at a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: usize,
    pub message: String,
}

/// Every record of `text`, blank lines skipped. A byte-order mark is ignored.
pub fn records(text: &str) -> Result<Vec<CsvRecord>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted_at: Option<usize> = None;
        let mut after_quote = false;
        loop {
            let Some(c) = chars.next() else {
                if let Some(at) = quoted_at {
                    return Err(CsvError {
                        line: at,
                        message: "a quoted field is not closed".into(),
                    });
                }
                break;
            };
            if c == '\n' {
                line += 1;
            }
            match (quoted_at, c) {
                (Some(_), '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (Some(_), '"') => {
                    quoted_at = None;
                    after_quote = true;
                }
                (Some(_), _) => field.push(c),
                (None, ',') => {
                    fields.push(std::mem::take(&mut field));
                    after_quote = false;
                }
                (None, '\n') => break,
                (None, '\r') if chars.peek() == Some(&'\n') => {}
                (None, '"') if field.is_empty() && !after_quote => quoted_at = Some(line),
                (None, _) if after_quote => {
                    return Err(CsvError {
                        line,
                        message: format!("unexpected `{c}` after a closing quote"),
                    });
                }
                (None, '"') => {
                    return Err(CsvError {
                        line,
                        message: "a quote inside an unquoted field".into(),
                    });
                }
                (None, _) => field.push(c),
            }
        }
        fields.push(field);
        if !(fields.len() == 1 && fields[0].is_empty()) {
            out.push(CsvRecord { line: start, fields });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_span_lines_and_keep_their_start_line() {
        let text = "a,b\r\n\"x\ny\",\"say \"\"hi\"\"\"\n\nlast,\n";
        let r = records(text).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], CsvRecord { line: 1, fields: vec!["a".into(), "b".into()] });
        assert_eq!(r[1], CsvRecord { line: 2, fields: vec!["x\ny".into(), "say \"hi\"".into()] });
        assert_eq!(r[2], CsvRecord { line: 5, fields: vec!["last".into(), String::new()] });
    }

    #[test]
    fn broken_quoting_names_its_line() {
        assert_eq!(records("a\n\"open,\nmore").unwrap_err().line, 2);
        assert_eq!(records("a\nx\"y\n").unwrap_err().line, 2);
        assert_eq!(records("\"a\"b\n").unwrap_err().line, 1);
    }
}
