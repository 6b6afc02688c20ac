//! [`Tokenizer`]: the byte-level BPE tokenizer of a GGUF model, built from the
//! file's own metadata (`tokenizer.ggml.tokens`, `merges`, `token_type`,
//! `pre`), with the control tokens (`<|im_start|>`, ...) matched as whole tokens.
//!
//! Encoding: split out special tokens, pre-tokenize with the model's
//! pre-tokenizer rule, map bytes to the byte-level alphabet, merge pairs by
//! rank. Decoding maps the alphabet back to bytes.

use std::collections::HashMap;

use regex::Regex;

use crate::error::LocalError;

/// GGUF token types (`tokenizer.ggml.token_type`).
const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;

/// The tokenizer metadata read from a GGUF file.
#[derive(Debug, Clone, Default)]
pub struct TokenizerSpec {
    /// `tokenizer.ggml.model`: only `gpt2` (byte-level BPE) is supported.
    pub model: String,
    /// `tokenizer.ggml.pre`: the pre-tokenizer rule (`smollm`, `gpt2`, `qwen2`, ...).
    pub pre: String,
    pub tokens: Vec<String>,
    pub token_types: Vec<i32>,
    pub merges: Vec<String>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
}

/// A byte-level BPE tokenizer. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct Tokenizer {
    tokens: Vec<String>,
    /// The raw bytes of each token (control tokens: their text).
    token_bytes: Vec<Vec<u8>>,
    control: Vec<bool>,
    vocab: HashMap<String, u32>,
    /// (left id, right id) -> (rank, merged id).
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Special tokens matched verbatim in text, longest first.
    specials: Vec<(String, u32)>,
    /// Id of each byte's symbol in the byte-level alphabet (`None`: the
    /// vocabulary lacks it, as some do for control bytes and bytes that
    /// never occur in UTF-8; such bytes are dropped).
    byte_ids: [Option<u32>; 256],
    splitter: Splitter,
    bos: Option<u32>,
    eos: Option<u32>,
}

/// The pre-tokenizer: a regex whose last alternative is the whitespace rule
/// `\s+(?!\S)|\s+` (applied by hand: the regex crate has no look-ahead), and
/// whether every digit stands alone.
#[derive(Debug)]
struct Splitter {
    regex: Regex,
    split_digits: bool,
}

const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|(?P<ws>\s+)";
const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|(?P<ws>\s+)";

impl Splitter {
    fn for_pre(pre: &str) -> Result<Self, String> {
        let (pattern, split_digits) = match pre {
            "qwen2" => (QWEN2_PATTERN, false),
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone"
            | "minerva-7b" => (GPT2_PATTERN, true),
            "gpt2" | "default" | "" => (GPT2_PATTERN, false),
            other => return Err(format!("unsupported pre-tokenizer `{other}`")),
        };
        let regex = Regex::new(pattern).map_err(|e| e.to_string())?;
        Ok(Self { regex, split_digits })
    }

    /// The pre-tokens of `text`, as byte ranges.
    fn split<'t>(&self, text: &'t str, out: &mut Vec<&'t str>) {
        if !self.split_digits {
            return self.split_regex(text, out);
        }
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if c.is_numeric() {
                if start < i {
                    self.split_regex(&text[start..i], out);
                }
                out.push(&text[i..i + c.len_utf8()]);
                start = i + c.len_utf8();
            }
        }
        if start < text.len() {
            self.split_regex(&text[start..], out);
        }
    }

    fn split_regex<'t>(&self, text: &'t str, out: &mut Vec<&'t str>) {
        let mut pos = 0;
        while pos < text.len() {
            let Some(caps) = self.regex.captures_at(text, pos) else {
                out.push(&text[pos..]);
                return;
            };
            let Some(m) = caps.get(0) else { return };
            if m.start() > pos {
                // Cannot happen with these patterns (every character matches
                // some alternative), but never drop text.
                out.push(&text[pos..m.start()]);
            }
            let mut end = m.end();
            if caps.name("ws").is_some() && end < text.len() {
                // `\s+(?!\S)`: leave the last whitespace character to the next
                // word when one follows.
                let run = &text[m.start()..end];
                if let Some(last) = run.chars().next_back()
                    && run.len() > last.len_utf8()
                {
                    end -= last.len_utf8();
                }
            }
            if end == m.start() {
                end = m.end().max(m.start() + 1);
            }
            out.push(&text[m.start()..end]);
            pos = end;
        }
    }
}

/// GPT-2's map from bytes to printable characters.
fn byte_alphabet() -> [char; 256] {
    let mut out = ['\0'; 256];
    let mut extra = 0u32;
    for b in 0..=255u8 {
        let printable = matches!(b, 33..=126 | 161..=172 | 174..=255);
        out[b as usize] = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(256 + extra).unwrap_or('\u{FFFD}');
            extra += 1;
            c
        };
    }
    out
}

impl Tokenizer {
    /// Builds the tokenizer from GGUF metadata; fails on an unsupported model or rule.
    pub fn new(spec: TokenizerSpec) -> Result<Self, LocalError> {
        let bad = |reason: String| LocalError::Inference(format!("tokenizer: {reason}"));
        if spec.model != "gpt2" {
            return Err(bad(format!(
                "unsupported tokenizer model `{}` (supported: gpt2 byte-level BPE)",
                spec.model
            )));
        }
        let splitter = Splitter::for_pre(&spec.pre).map_err(bad)?;
        let n = spec.tokens.len();
        let vocab: HashMap<String, u32> =
            spec.tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let alphabet = byte_alphabet();
        let mut char_to_byte = HashMap::new();
        for (b, c) in alphabet.iter().enumerate() {
            char_to_byte.insert(*c, b as u8);
        }
        let mut byte_ids = [None; 256];
        for (b, c) in alphabet.iter().enumerate() {
            byte_ids[b] = vocab.get(&c.to_string()).copied();
        }
        if byte_ids[..128].iter().filter(|id| id.is_none()).count() > 16 {
            return Err(bad("the vocabulary is not byte-level BPE".into()));
        }
        let types: Vec<i32> =
            (0..n).map(|i| spec.token_types.get(i).copied().unwrap_or(1)).collect();
        let control: Vec<bool> = types.iter().map(|t| *t == TYPE_CONTROL).collect();
        let mut specials: Vec<(String, u32)> = spec
            .tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(types[*i], TYPE_CONTROL | TYPE_USER_DEFINED))
            .map(|(i, t)| (t.clone(), i as u32))
            .filter(|(t, _)| !t.is_empty())
            .collect();
        specials.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        let token_bytes = spec
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if matches!(types[i], TYPE_CONTROL | TYPE_USER_DEFINED) {
                    t.as_bytes().to_vec()
                } else {
                    t.chars().map(|c| char_to_byte.get(&c).copied().unwrap_or(b'?')).collect()
                }
            })
            .collect();
        let mut merges = HashMap::with_capacity(spec.merges.len());
        for (rank, m) in spec.merges.iter().enumerate() {
            let Some((a, b)) = m.split_once(' ') else {
                return Err(bad(format!("malformed merge `{m}`")));
            };
            let (Some(&ia), Some(&ib), Some(&im)) =
                (vocab.get(a), vocab.get(b), vocab.get(&format!("{a}{b}")))
            else {
                continue;
            };
            merges.entry((ia, ib)).or_insert((rank as u32, im));
        }
        Ok(Self {
            tokens: spec.tokens,
            token_bytes,
            control,
            vocab,
            merges,
            specials,
            byte_ids,
            splitter,
            bos: spec.bos,
            eos: spec.eos,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The id of a token written exactly as in the vocabulary.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    /// The vocabulary entry of `id` as stored in the GGUF (byte-level alphabet).
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Whether `id` is a control token (`<|im_start|>`, `<|endoftext|>`, ...).
    pub fn is_control(&self, id: u32) -> bool {
        self.control.get(id as usize).copied().unwrap_or(false)
    }

    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The bytes `id` stands for (a control token's text; nothing for an unknown id).
    pub fn bytes(&self, id: u32) -> &[u8] {
        self.token_bytes.get(id as usize).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Token ids of `text`. With `specials`, special-token text such as
    /// `<|im_start|>` becomes that one token; without, it is ordinary text.
    pub fn encode(&self, text: &str, specials: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        if !specials {
            self.encode_plain(text, &mut out);
            return out;
        }
        let mut rest = text;
        while !rest.is_empty() {
            let found = self
                .specials
                .iter()
                .filter_map(|(s, id)| rest.find(s.as_str()).map(|pos| (pos, s.len(), *id)))
                .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            match found {
                Some((pos, len, id)) => {
                    self.encode_plain(&rest[..pos], &mut out);
                    out.push(id);
                    rest = &rest[pos + len..];
                }
                None => {
                    self.encode_plain(rest, &mut out);
                    break;
                }
            }
        }
        out
    }

    fn encode_plain(&self, text: &str, out: &mut Vec<u32>) {
        let mut pieces = Vec::new();
        self.splitter.split(text, &mut pieces);
        for piece in pieces {
            self.bpe(piece.as_bytes(), out);
        }
    }

    /// Merges the byte symbols of one pre-token by rank.
    fn bpe(&self, bytes: &[u8], out: &mut Vec<u32>) {
        let mut ids: Vec<u32> = bytes.iter().filter_map(|b| self.byte_ids[*b as usize]).collect();
        loop {
            let best = ids
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| self.merges.get(&(w[0], w[1])).map(|(r, m)| (*r, i, *m)))
                .min();
            let Some((_, i, merged)) = best else { break };
            ids[i] = merged;
            ids.remove(i + 1);
        }
        out.extend(ids);
    }

    /// The text of `ids`, control tokens left out; invalid UTF-8 is replaced.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for id in ids {
            if !self.is_control(*id) {
                bytes.extend_from_slice(self.bytes(*id));
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
