//! Vector files: one named direction per layer of one model (a persona
//! trait, an injected concept), stored as safetensors with metadata that
//! ties them to the model file they came from.
//!
//! Layout: one F32 tensor `layer.L` of shape `[width]` per layer `L` held
//! (layer convention: [`crate::hooks`], recorded in the file as
//! [`LAYER_CONVENTION`]), and string metadata:
//!
//! | key | value |
//! |---|---|
//! | `format` | [`FORMAT`] |
//! | `kind` | `trait` or `concept` |
//! | `name` | the trait or concept |
//! | `model_sha256` | sha256 of the GGUF file the states came from |
//! | `model_name`, `width`, `model_layers` | that model's name and sizes |
//! | `layer_convention` | [`LAYER_CONVENTION`] |
//! | `counts` | JSON object of counts (answers kept, pairs dropped, ...) |
//! | `judge` | the model that scored the samples, if any |
//! | `extra` | JSON object of anything else the producer records |
//!
//! [`VectorFile::check_model`] refuses a file made for another model (by
//! the file's hash, then by width and depth), so a vector is never added
//! to a residual stream it does not belong to.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::LocalError;
use crate::hooks::Steering;

/// The `format` metadata value of this version of the layout.
pub const FORMAT: &str = "agar-vectors/1";
/// What "layer L" means, written into every file.
pub const LAYER_CONVENTION: &str = "layer L = residual stream after transformer block L (0-based), the input of block L+1; steering adds there";

/// What a file's vectors describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorKind {
    /// A persona trait (`agar persona extract`).
    Trait,
    /// An injected concept (`agar introspect`).
    Concept,
}

impl VectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trait => "trait",
            Self::Concept => "concept",
        }
    }
}

/// The model a file's vectors belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    /// Lowercase hex sha256 of the GGUF file.
    pub sha256: String,
    pub name: String,
    pub width: usize,
    pub layers: usize,
}

impl ModelIdentity {
    /// The identity of the model `engine` serves (hashes its file once).
    pub fn of(engine: &Engine) -> Result<Self, LocalError> {
        let info = engine.info();
        Ok(Self {
            sha256: engine.model_sha256()?,
            name: info.name.clone(),
            width: info.config.width,
            layers: info.config.layers,
        })
    }
}

/// A file's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorMeta {
    pub kind: VectorKind,
    pub name: String,
    pub model: ModelIdentity,
    /// Sample counts (for example `kept_pairs`, `trait_answers`).
    pub counts: BTreeMap<String, u64>,
    /// The model that judged the samples, if any.
    pub judge: Option<String>,
    /// Anything else the producer records.
    pub extra: BTreeMap<String, String>,
}

/// Vectors per layer, with their metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorFile {
    pub meta: VectorMeta,
    /// Layer -> vector of the model's width.
    pub layers: BTreeMap<usize, Vec<f32>>,
}

impl VectorFile {
    /// The vector of `layer`, if held.
    pub fn layer(&self, layer: usize) -> Option<&[f32]> {
        self.layers.get(&layer).map(Vec::as_slice)
    }

    /// `coef * vector(layer)` as steering from `from_position`.
    pub fn steering(
        &self,
        layer: usize,
        coef: f32,
        from_position: usize,
    ) -> Result<Steering, LocalError> {
        let v = self.layer(layer).ok_or_else(|| {
            let held: Vec<String> = self.layers.keys().map(ToString::to_string).collect();
            LocalError::InvalidVectors(format!(
                "`{}` has no vector for layer {layer} (it holds layers {})",
                self.meta.name,
                held.join(", ")
            ))
        })?;
        Ok(Steering::new(layer, v.to_vec(), coef).starting_at(from_position))
    }

    /// Refuses a file made for another model than `model`.
    pub fn check_model(&self, model: &ModelIdentity) -> Result<(), LocalError> {
        let m = &self.meta.model;
        if m.sha256 != model.sha256 || m.width != model.width || m.layers != model.layers {
            return Err(LocalError::VectorsForAnotherModel {
                name: self.meta.name.clone(),
                made_for: format!("{} (sha256 {})", m.name, short(&m.sha256)),
                model: format!("{} (sha256 {})", model.name, short(&model.sha256)),
            });
        }
        Ok(())
    }

    /// The file's bytes (safetensors).
    pub fn to_bytes(&self) -> Result<Vec<u8>, LocalError> {
        let m = &self.meta;
        let mut meta: HashMap<String, String> = HashMap::new();
        meta.insert("format".into(), FORMAT.into());
        meta.insert("kind".into(), m.kind.as_str().into());
        meta.insert("name".into(), m.name.clone());
        meta.insert("model_sha256".into(), m.model.sha256.clone());
        meta.insert("model_name".into(), m.model.name.clone());
        meta.insert("width".into(), m.model.width.to_string());
        meta.insert("model_layers".into(), m.model.layers.to_string());
        meta.insert("layer_convention".into(), LAYER_CONVENTION.into());
        meta.insert("counts".into(), json(&m.counts));
        meta.insert("extra".into(), json(&m.extra));
        if let Some(j) = &m.judge {
            meta.insert("judge".into(), j.clone());
        }
        let mut bytes: Vec<(String, Vec<u8>)> = Vec::new();
        for (layer, v) in &self.layers {
            if v.len() != m.model.width {
                return Err(LocalError::InvalidVectors(format!(
                    "layer {layer} has {} values; the model's width is {}",
                    v.len(),
                    m.model.width
                )));
            }
            bytes
                .push((format!("layer.{layer}"), v.iter().flat_map(|x| x.to_le_bytes()).collect()));
        }
        let views = bytes
            .iter()
            .map(|(name, b)| Ok((name.clone(), TensorView::new(Dtype::F32, vec![b.len() / 4], b)?)))
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| LocalError::InvalidVectors(e.to_string()))?;
        safetensors::serialize(views, Some(meta))
            .map_err(|e| LocalError::InvalidVectors(e.to_string()))
    }

    /// Reads a file's bytes; `origin` names it in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, LocalError> {
        let bad = |why: String| LocalError::InvalidVectors(format!("{origin}: {why}"));
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| meta.get(k).cloned().ok_or_else(|| bad(format!("no `{k}` metadata")));
        if get("format")? != FORMAT {
            return Err(bad(format!("format `{}` is not {FORMAT}", get("format")?)));
        }
        let kind = match get("kind")?.as_str() {
            "trait" => VectorKind::Trait,
            "concept" => VectorKind::Concept,
            other => return Err(bad(format!("unknown kind `{other}`"))),
        };
        let number = |k: &str| -> Result<usize, LocalError> {
            get(k)?.parse().map_err(|_| bad(format!("`{k}` is not a number")))
        };
        let model = ModelIdentity {
            sha256: get("model_sha256")?,
            name: get("model_name")?,
            width: number("width")?,
            layers: number("model_layers")?,
        };
        let counts = serde_json::from_str(&get("counts")?)
            .map_err(|e| bad(format!("`counts` is not a JSON object of counts: {e}")))?;
        let extra = serde_json::from_str(&get("extra")?)
            .map_err(|e| bad(format!("`extra` is not a JSON object of strings: {e}")))?;
        let tensors =
            SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
        let mut layers = BTreeMap::new();
        for (name, view) in tensors.iter() {
            let layer = name
                .strip_prefix("layer.")
                .and_then(|l| l.parse::<usize>().ok())
                .ok_or_else(|| bad(format!("unexpected tensor `{name}`")))?;
            if view.dtype() != Dtype::F32 || view.shape() != [model.width] {
                return Err(bad(format!(
                    "tensor `{name}` is {:?} {:?}, not F32 [{}]",
                    view.dtype(),
                    view.shape(),
                    model.width
                )));
            }
            if layer >= model.layers {
                return Err(bad(format!("layer {layer} is beyond the model's {}", model.layers)));
            }
            let v = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            layers.insert(layer, v);
        }
        let judge = meta.get("judge").cloned();
        Ok(Self {
            meta: VectorMeta { kind, name: get("name")?, model, counts, judge, extra },
            layers,
        })
    }

    /// Writes the file (atomically: a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), LocalError> {
        let bytes = self.to_bytes()?;
        let io =
            |e: std::io::Error| LocalError::Io { path: path.to_owned(), reason: e.to_string() };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        std::io::Write::write_all(&mut tmp, &bytes).map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Reads a file.
    pub fn load(path: &Path) -> Result<Self, LocalError> {
        let bytes = std::fs::read(path)
            .map_err(|e| LocalError::Io { path: path.to_owned(), reason: e.to_string() })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Reads a file and refuses it unless it was made for `engine`'s model.
    pub fn load_for(path: &Path, engine: &Engine) -> Result<Self, LocalError> {
        let file = Self::load(path)?;
        file.check_model(&ModelIdentity::of(engine)?)?;
        Ok(file)
    }
}

/// `h . v / |v|`: the projection of a hidden state on a direction (0 for a
/// zero vector).
pub fn projection(h: &[f32], v: &[f32]) -> f64 {
    let dot: f64 = h.iter().zip(v).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if norm > 0.0 { dot / norm } else { 0.0 }
}

/// Reads the query of a steered model reference,
/// `steer=FILE@LAYERxCOEF[&steer=...]` (for example
/// `steer=evil.safetensors@12x4` or `steer=evil.safetensors@12x-2.5`):
/// `(file, layer, coefficient)` per `steer`.
pub fn parse_steer_query(query: &str) -> Result<Vec<(std::path::PathBuf, usize, f32)>, LocalError> {
    let bad = |part: &str, why: &str| {
        LocalError::InvalidSetting(format!(
            "`?{query}`: `{part}` {why} (expected steer=FILE@LAYERxCOEF, e.g. steer=evil.safetensors@12x4)"
        ))
    };
    let mut out = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let value =
            part.strip_prefix("steer=").ok_or_else(|| bad(part, "is not a steer= parameter"))?;
        let (file, at) = value.rsplit_once('@').ok_or_else(|| bad(part, "has no @LAYERxCOEF"))?;
        let (layer, coef) = at
            .split_once('x')
            .ok_or_else(|| bad(part, "has no x between layer and coefficient"))?;
        let layer = layer
            .trim()
            .parse()
            .map_err(|_| bad(part, "has a layer that is not a whole number"))?;
        let coef: f32 =
            coef.trim().parse().map_err(|_| bad(part, "has a coefficient that is not a number"))?;
        if file.trim().is_empty() || !coef.is_finite() {
            return Err(bad(part, "names no file or a non-finite coefficient"));
        }
        out.push((std::path::PathBuf::from(file.trim()), layer, coef));
    }
    if out.is_empty() {
        return Err(bad(query, "has no steer= parameter"));
    }
    Ok(out)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// A metadata map as JSON (a map of strings or numbers always serialises).
fn json<V: Serialize>(map: &BTreeMap<String, V>) -> String {
    serde_json::to_string(map).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> VectorFile {
        let model =
            ModelIdentity { sha256: "ab".repeat(32), name: "tiny".into(), width: 3, layers: 4 };
        VectorFile {
            meta: VectorMeta {
                kind: VectorKind::Trait,
                name: "evil".into(),
                model,
                counts: BTreeMap::from([("kept_pairs".into(), 7)]),
                judge: Some("scripted".into()),
                extra: BTreeMap::from([("questions".into(), "20".into())]),
            },
            layers: BTreeMap::from([(0, vec![1.0, -2.5, 0.0]), (3, vec![0.5, 0.25, 1e-8])]),
        }
    }

    #[test]
    fn a_vector_file_round_trips_through_safetensors() {
        let f = file();
        let back = VectorFile::from_bytes(&f.to_bytes().unwrap(), "mem").unwrap();
        assert_eq!(back, f);
        // Plain safetensors: any reader sees the tensors and the convention.
        let bytes = f.to_bytes().unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = header.metadata().clone().unwrap();
        assert_eq!(meta["layer_convention"], LAYER_CONVENTION);
        assert_eq!(meta["kind"], "trait");
        assert_eq!(SafeTensors::deserialize(&bytes).unwrap().len(), 2);
    }

    #[test]
    fn a_file_for_another_model_is_refused() {
        let f = file();
        assert!(f.check_model(&f.meta.model).is_ok());
        let other = ModelIdentity { sha256: "cd".repeat(32), ..f.meta.model.clone() };
        let err = f.check_model(&other).unwrap_err().to_string();
        assert!(err.contains("made for tiny (sha256 abababababab)"), "{err}");
        assert!(err.contains("cdcdcdcdcdcd"), "{err}");
    }

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let err = VectorFile::from_bytes(b"not a file", "x.safetensors").unwrap_err();
        assert!(err.to_string().contains("x.safetensors: not safetensors"), "{err}");
        let mut f = file();
        f.layers.insert(1, vec![1.0]);
        assert!(f.to_bytes().unwrap_err().to_string().contains("width is 3"));
        let f = file();
        assert!(f.steering(2, 1.0, 0).unwrap_err().to_string().contains("holds layers 0, 3"));
        let s = f.steering(3, -2.0, 5).unwrap();
        assert_eq!((s.layer, s.scale, s.from_position), (3, -2.0, 5));
    }

    #[test]
    fn steer_queries_are_read_or_refused() {
        let q =
            parse_steer_query("steer=a@b.safetensors@12x4&steer=/v/e.safetensors@3x-2.5").unwrap();
        assert_eq!(q[0], ("a@b.safetensors".into(), 12, 4.0));
        assert_eq!(q[1], ("/v/e.safetensors".into(), 3, -2.5));
        for bad in ["steer=e.safetensors", "steer=e@x4", "steer=e@3xz", "temp=1", ""] {
            assert!(parse_steer_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn projection_divides_by_the_vectors_norm() {
        assert!((projection(&[3.0, 4.0], &[0.0, 2.0]) - 4.0).abs() < 1e-12);
        assert_eq!(projection(&[3.0, 4.0], &[0.0, 0.0]), 0.0);
    }
}
