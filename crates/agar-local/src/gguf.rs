//! Reading a GGUF file: its metadata (architecture, sizes, tokenizer, chat
//! template) and its tensors; weight matrices are repacked for the crate's
//! kernels straight from the file's bytes, or (slow-to-multiply
//! quantisations) converted to Q8_0 at load.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};

use crate::error::LocalError;
use crate::kernels::PackedMatrix;
use crate::tokenizer::TokenizerSpec;

/// An open GGUF file: parsed header, reader positioned anywhere.
#[derive(Debug)]
pub(crate) struct GgufFile {
    pub(crate) path: PathBuf,
    content: Content,
    reader: BufReader<File>,
    /// The last packed weight's bytes, a buffer reused from one to the next.
    scratch: Vec<u8>,
}

/// A weight matrix as [`GgufFile::weight`] loads it.
#[derive(Debug)]
pub(crate) enum Weight {
    /// Repacked for the crate's own kernels.
    Packed(PackedMatrix),
    /// Any other quantisation or shape, for candle.
    Tensor(QTensor),
}

impl GgufFile {
    pub(crate) fn open(path: &Path) -> Result<Self, LocalError> {
        let file = File::open(path)
            .map_err(|e| LocalError::Io { path: path.to_owned(), reason: e.to_string() })?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader)
            .map_err(|e| LocalError::BadModel { path: path.to_owned(), reason: e.to_string() })?;
        Ok(Self { path: path.to_owned(), content, reader, scratch: Vec::new() })
    }

    pub(crate) fn bad(&self, reason: impl Into<String>) -> LocalError {
        LocalError::BadModel { path: self.path.clone(), reason: reason.into() }
    }

    fn value(&self, key: &str) -> Result<&Value, LocalError> {
        self.content.metadata.get(key).ok_or_else(|| self.bad(format!("missing metadata `{key}`")))
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.content.metadata.contains_key(key)
    }

    pub(crate) fn string(&self, key: &str) -> Result<String, LocalError> {
        self.value(key)?.to_string().cloned().map_err(|e| self.bad(format!("`{key}`: {e}")))
    }

    pub(crate) fn u32(&self, key: &str) -> Result<u32, LocalError> {
        let v = self.value(key)?;
        match v {
            Value::U8(x) => Ok(u32::from(*x)),
            Value::U16(x) => Ok(u32::from(*x)),
            Value::U32(x) => Ok(*x),
            Value::I32(x) => u32::try_from(*x).map_err(|e| self.bad(format!("`{key}`: {e}"))),
            Value::U64(x) => u32::try_from(*x).map_err(|e| self.bad(format!("`{key}`: {e}"))),
            Value::I64(x) => u32::try_from(*x).map_err(|e| self.bad(format!("`{key}`: {e}"))),
            _ => Err(self.bad(format!("`{key}` is not an integer"))),
        }
    }

    pub(crate) fn f32(&self, key: &str) -> Result<f32, LocalError> {
        match self.value(key)? {
            Value::F32(x) => Ok(*x),
            Value::F64(x) => Ok(*x as f32),
            _ => Err(self.bad(format!("`{key}` is not a float"))),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, LocalError> {
        let list = self.value(key)?.to_vec().map_err(|e| self.bad(format!("`{key}`: {e}")))?;
        list.iter()
            .map(|v| v.to_string().cloned().map_err(|e| self.bad(format!("`{key}`: {e}"))))
            .collect()
    }

    fn ints(&self, key: &str) -> Result<Vec<i32>, LocalError> {
        let list = self.value(key)?.to_vec().map_err(|e| self.bad(format!("`{key}`: {e}")))?;
        list.iter().map(|v| v.to_i32().map_err(|e| self.bad(format!("`{key}`: {e}")))).collect()
    }

    /// The tokenizer described by the metadata.
    pub(crate) fn tokenizer_spec(&self) -> Result<TokenizerSpec, LocalError> {
        let opt_id = |key: &str| if self.has(key) { self.u32(key).ok() } else { None };
        Ok(TokenizerSpec {
            model: self.string("tokenizer.ggml.model")?,
            pre: if self.has("tokenizer.ggml.pre") {
                self.string("tokenizer.ggml.pre")?
            } else {
                "default".into()
            },
            tokens: self.strings("tokenizer.ggml.tokens")?,
            token_types: if self.has("tokenizer.ggml.token_type") {
                self.ints("tokenizer.ggml.token_type")?
            } else {
                Vec::new()
            },
            merges: self.strings("tokenizer.ggml.merges")?,
            bos: opt_id("tokenizer.ggml.bos_token_id"),
            eos: opt_id("tokenizer.ggml.eos_token_id"),
        })
    }

    /// The chat template, if the file has one.
    pub(crate) fn chat_template(&self) -> Option<String> {
        self.string("tokenizer.chat_template").ok()
    }

    pub(crate) fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// How many tensors of each quantisation the file holds (for logs).
    pub(crate) fn dtype_counts(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for info in self.content.tensor_infos.values() {
            *out.entry(format!("{:?}", info.ggml_dtype)).or_insert(0) += 1;
        }
        out
    }

    /// A tensor as stored.
    pub(crate) fn tensor(&mut self, name: &str) -> Result<QTensor, LocalError> {
        self.content
            .tensor(&mut self.reader, name, &Device::Cpu)
            .map_err(|e| LocalError::BadModel { path: self.path.clone(), reason: e.to_string() })
    }

    /// A weight matrix for multiplication. Q4_1, Q8_0, Q4_K and Q6_K are
    /// repacked for the model's own kernels directly from the file's bytes
    /// (through candle's tensor they would be copied twice more); Q5_0 and
    /// Q5_1, which neither those kernels nor candle's SIMD code cover, are
    /// converted to Q8_0.
    pub(crate) fn weight(&mut self, name: &str) -> Result<Weight, LocalError> {
        let Some(info) = self.content.tensor_infos.get(name) else {
            return Err(self.bad(format!("missing tensor `{name}`")));
        };
        let (kind, dims) = (info.ggml_dtype, info.shape.dims().to_vec());
        if PackedMatrix::packs(kind, &dims) {
            let size = info.shape.elem_count() / kind.block_size() * kind.type_size();
            let start = self.content.tensor_data_offset.saturating_add(info.offset);
            self.scratch.clear();
            // `read_to_end` fills the buffer's spare capacity without zeroing it first.
            let read = self
                .reader
                .seek(SeekFrom::Start(start))
                .and_then(|_| (&mut self.reader).take(size as u64).read_to_end(&mut self.scratch));
            match read {
                Ok(n) if n == size => {}
                Ok(n) => {
                    return Err(self.bad(format!("tensor `{name}` has {n} of its {size} bytes")));
                }
                Err(e) => return Err(self.bad(format!("tensor `{name}`: {e}"))),
            }
            return match PackedMatrix::from_bytes(kind, &dims, &self.scratch) {
                Ok(Some(p)) => Ok(Weight::Packed(p)),
                Ok(None) => Err(self.bad(format!("tensor `{name}` cannot be repacked"))),
                Err(e) => Err(self.bad(format!("tensor `{name}`: {e}"))),
            };
        }
        let t = self.tensor(name)?;
        let slow = matches!(t.dtype(), GgmlDType::Q5_0 | GgmlDType::Q5_1);
        let cols = t.shape().dims().last().copied().unwrap_or(0);
        if !slow || cols % GgmlDType::Q8_0.block_size() != 0 {
            return Ok(Weight::Tensor(t));
        }
        let dense = t.dequantize(&Device::Cpu)?;
        Ok(Weight::Tensor(QTensor::quantize(&dense, GgmlDType::Q8_0)?))
    }
}
