//! Every `agar` command shown in README.md and docs/*.md is accepted by the
//! real binary, so the docs cannot rot (issue 9).
//!
//! Commands are taken from fenced `sh`, `bash`, `shell` and `console` blocks:
//! a line (joined over `\` continuations) that starts with `agar` (or a path
//! ending in `/agar`) or `cargo run [FLAGS] -- `, after an optional `$ `
//! prompt and `NAME=value` assignments. Each runs with the same arguments,
//! in a scratch directory that links to the repository's `scenarios/`, with
//! a dummy key, the API pointed at a closed loopback port and a scratch store. A command passes
//! when clap accepted it (no usage error), it did not panic, and its
//! `--fail-if` conditions parsed; one still running after a few seconds
//! (retrying the closed port) is stopped and counts as accepted. Nothing
//! leaves the machine: every provider points at a closed loopback port and
//! the embedded model's download is pointed at a missing file.
//!
//! Every fenced `toml` block must also load as an `agar.toml`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::support::agar;

/// One command found in a document.
#[derive(Debug, Clone, PartialEq)]
struct Example {
    /// `FILE:LINE` of the command's first line.
    place: String,
    /// The arguments after `agar`.
    args: Vec<String>,
}

/// Languages of the fenced blocks whose lines are commands.
const SHELL_LANGS: [&str; 4] = ["sh", "bash", "shell", "console"];

/// How long a command may run before it is stopped and counted as accepted.
const DEADLINE: Duration = Duration::from_secs(4);

/// The command lines in `markdown`'s shell blocks, with the 1-based line
/// where each starts and continuations joined. In `console` blocks only
/// lines with a `$ ` prompt are commands (the rest is output); elsewhere a
/// `$ ` prompt is optional.
fn shell_lines(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    // The open fence and its block's language.
    let mut fence: Option<(String, String)> = None;
    // A command continued with `\`: its first line and the text so far.
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        let Some((marker, lang)) = &fence else {
            let ticks = trimmed.chars().take_while(|c| *c == '`' || *c == '~').count();
            if ticks >= 3 {
                let (marker, info) = trimmed.split_at(ticks);
                let lang = info.trim().split([' ', ',', '{']).next().unwrap_or("");
                fence = Some((marker.to_string(), lang.to_string()));
            }
            continue;
        };
        if trimmed == marker {
            fence = None;
            out.extend(pending.take());
            continue;
        }
        if !SHELL_LANGS.contains(&lang.as_str()) {
            continue;
        }
        let (start, text) = match pending.take() {
            Some((start, before)) => (start, format!("{before} {trimmed}")),
            None => match trimmed.strip_prefix("$ ") {
                Some(command) => (i + 1, command.to_string()),
                None if lang == "console" => continue,
                None => (i + 1, trimmed.to_string()),
            },
        };
        match text.strip_suffix('\\') {
            Some(head) => pending = Some((start, head.trim_end().to_string())),
            None => out.push((start, text)),
        }
    }
    out
}

/// The fenced blocks of `markdown` in language `lang`, with the line of
/// each block's first line of content.
fn fenced_blocks(markdown: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, bool, usize, String)> = None; // (fence, wanted, line, text)
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        match &mut open {
            None => {
                let ticks = trimmed.chars().take_while(|c| *c == '`' || *c == '~').count();
                if ticks >= 3 {
                    let (marker, info) = trimmed.split_at(ticks);
                    let wanted = info.trim().split([' ', ',', '{']).next() == Some(lang);
                    open = Some((marker.to_string(), wanted, i + 2, String::new()));
                }
            }
            Some((marker, wanted, start, text)) => {
                if trimmed == marker.as_str() {
                    if *wanted {
                        out.push((*start, std::mem::take(text)));
                    }
                    open = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    out
}

/// Splits a shell line into words: quotes and backslashes as in sh,
/// `$NAME` and `${NAME}` become `x`, and the words stop at an unquoted
/// operator (`|`, `;`, `&`, `>`, `<`) or comment. `Err` for constructs the
/// check cannot follow (command substitution, an unclosed quote).
fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
                  word: &mut String|
     -> Result<(), String> {
        match chars.peek() {
            Some('(') => Err("command substitution `$(...)` is not supported".into()),
            Some('{') => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                word.push('x');
                Ok(())
            }
            Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
                while chars.peek().is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    chars.next();
                }
                word.push('x');
                Ok(())
            }
            _ => {
                word.push('$');
                Ok(())
            }
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some('$') => expand(&mut chars, &mut word)?,
                        Some('`') => return Err("backquote substitution is not supported".into()),
                        Some(c) => word.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            '$' => {
                in_word = true;
                expand(&mut chars, &mut word)?;
            }
            '`' => return Err("backquote substitution is not supported".into()),
            '#' if !in_word => break,
            '|' | ';' | '&' | '<' | '>' => {
                // `2>file`: the `2` was a file descriptor, not a word.
                if in_word && !word.chars().all(|c| c.is_ascii_digit()) {
                    words.push(std::mem::take(&mut word));
                }
                return Ok(words);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The arguments of an `agar` command line, or `None` for any other line.
/// The command is `agar` (or a path ending in `/agar`) or `cargo run ... --`,
/// after any `NAME=value` assignments.
fn agar_args(line: &str) -> Option<Result<Vec<String>, String>> {
    // Lines that cannot be commands of ours are not parsed at all.
    if !line.contains("agar") && !line.contains("cargo run") {
        return None;
    }
    let words = match shell_words(line) {
        Ok(words) => words,
        Err(e) => return Some(Err(e)),
    };
    let start = words.iter().position(|w| !is_assignment(w))?;
    let words = &words[start..];
    let program = words.first()?;
    if program == "agar" || program.ends_with("/agar") {
        return Some(Ok(words[1..].to_vec()));
    }
    if program == "cargo" && words.get(1).is_some_and(|w| w == "run") {
        let dashes = words.iter().position(|w| w == "--")?;
        return Some(Ok(words[dashes + 1..].to_vec()));
    }
    None
}

/// Whether a shell word is a `NAME=value` assignment.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every docs/*.md, as (relative name, text).
fn documents() -> Vec<(String, String)> {
    let root = repo_root();
    let mut docs = vec![("README.md".to_string(), root.join("README.md"))];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    for p in pages {
        let name = format!("docs/{}", p.file_name().unwrap().to_string_lossy());
        docs.push((name, p));
    }
    docs.into_iter().map(|(name, p)| (name, std::fs::read_to_string(p).unwrap())).collect()
}

/// Every command example of the documents; a line that cannot be parsed is a failure.
fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (name, text) in documents() {
        for (line, command) in shell_lines(&text) {
            match agar_args(&command) {
                None => {}
                Some(Ok(args)) => out.push(Example { place: format!("{name}:{line}"), args }),
                Some(Err(e)) => bad.push(format!("{name}:{line}: {e}: {command}")),
            }
        }
    }
    assert!(bad.is_empty(), "command examples the check cannot read:\n{}", bad.join("\n"));
    out
}

/// `agar` run in `workdir` with nothing from the machine's configuration and
/// every way out of the machine closed: providers at a closed loopback port,
/// a scratch store, config and cache, and the embedded model's download
/// pointed at a file that does not exist.
fn isolated(workdir: &Path) -> tokio::process::Command {
    let mut cmd = agar();
    for var in [
        "AGAR_CONFIG",
        "AGAR_ENVIRONMENT",
        "AGAR_REALISM",
        "AGAR_LOG",
        "RUST_LOG",
        "AGAR_LOCAL_THREADS",
        "AGAR_LOCAL_MAX_TOKENS",
        "AGAR_ANTHROPIC_THINKING_BUDGET",
        "AGAR_ANTHROPIC_PROMPT_CACHE",
    ] {
        cmd.env_remove(var);
    }
    cmd.current_dir(workdir)
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env("OPENAI_API_KEY", "sk-docs-check-not-a-key")
        .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        .env("ANTHROPIC_API_KEY", "sk-ant-docs-check-not-a-key")
        .env("AGAR_STORE", workdir.join("store"))
        // s3:// examples reach a closed loopback port, never AWS.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "docs-check")
        .env("AWS_SECRET_ACCESS_KEY", "docs-check-not-a-key")
        .env("AGAR_S3_STAGING", workdir.join("s3-staging"))
        .env("AGAR_CACHE_DIR", workdir.join("cache"))
        .env("AGAR_SMOLLM2_WHEEL", workdir.join("no-such-wheel.whl"))
        .env("HOME", workdir)
        .env("XDG_CONFIG_HOME", workdir.join("config"))
        .env("XDG_CACHE_HOME", workdir.join("cache"));
    cmd
}

/// What a run of one example showed.
struct Outcome {
    code: Option<i32>,
    stderr: String,
    stopped: bool,
}

async fn run_example(example: &Example, workdir: &Path) -> Outcome {
    let mut cmd = isolated(workdir);
    cmd.args(&example.args)
        .env("AGAR_TARGET", "openai/docs-target")
        .env("AGAR_AUDITOR", "openai/docs-auditor")
        .env("AGAR_JUDGE", "openai/docs-judge")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).into_owned()
    });
    let (code, stopped) = match tokio::time::timeout(DEADLINE, child.wait()).await {
        Ok(status) => (status.unwrap().code(), false),
        Err(_) => {
            child.kill().await.unwrap();
            (None, true)
        }
    };
    let stderr = reader.await.unwrap();
    Outcome { code, stderr, stopped }
}

/// Why `outcome` shows that the docs are wrong, if they are.
fn rejection(outcome: &Outcome) -> Option<String> {
    let err = &outcome.stderr;
    let clap_markers = [
        "Usage:",
        "unexpected argument",
        "unrecognized subcommand",
        "invalid value",
        "the following required arguments",
        "For more information, try",
    ];
    if clap_markers.iter().any(|m| err.contains(m)) && outcome.code != Some(0) {
        return Some("the argument parser rejected it".into());
    }
    if err.contains("panicked") {
        return Some("agar panicked".into());
    }
    if err.contains("invalid --fail-if condition") {
        return Some("a --fail-if condition does not parse".into());
    }
    if !outcome.stopped && outcome.code.is_none() {
        return Some("killed by a signal".into());
    }
    None
}

/// A scratch working directory where the docs' relative paths mean what they
/// mean at the repository root: `scenarios/` is the real library.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = repo_root().join("scenarios").canonicalize().unwrap();
    std::os::unix::fs::symlink(scenarios, dir.path().join("scenarios")).unwrap();
    dir
}

#[tokio::test]
async fn every_documented_command_is_accepted_by_the_binary() {
    let examples = examples();
    let dir = workdir();
    let mut runs = tokio::task::JoinSet::new();
    for (i, example) in examples.iter().cloned().enumerate() {
        // Each command gets its own directory, so `--store` paths never collide.
        let sub = dir.path().join(format!("ex{i}"));
        std::fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink(dir.path().join("scenarios"), sub.join("scenarios")).unwrap();
        runs.spawn(async move {
            let outcome = run_example(&example, &sub).await;
            (example, outcome)
        });
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    while let Some(joined) = runs.join_next().await {
        let (example, outcome) = joined.unwrap();
        checked += 1;
        // Shown with --nocapture, and with the output of a failing run.
        let seen = match (outcome.stopped, outcome.stderr.lines().rfind(|l| !l.trim().is_empty())) {
            (true, _) => "still running, stopped".to_string(),
            (false, last) => format!("exit {:?}: {}", outcome.code, last.unwrap_or("")),
        };
        eprintln!("{}: agar {} -> {seen}", example.place, example.args.join(" "));
        if let Some(why) = rejection(&outcome) {
            failures.push(format!(
                "{}: `agar {}`: {why}\n{}",
                example.place,
                example.args.join(" "),
                outcome.stderr.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "documented commands that fail:\n\n{}", failures.join("\n\n"));
    assert!(checked >= 20, "only {checked} command examples found in the docs");
}

#[tokio::test]
async fn every_documented_agar_toml_loads() {
    let dir = workdir();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, text) in documents() {
        for (line, toml) in fenced_blocks(&text, "toml") {
            let file = dir.path().join(format!("agar-{checked}.toml"));
            std::fs::write(&file, toml).unwrap();
            checked += 1;
            let out = isolated(dir.path())
                .args(["models", "--json"])
                .env("AGAR_CONFIG", &file)
                .output()
                .await
                .unwrap();
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr).into_owned();
                failures.push(format!("{name}:{line}: {}", err.trim()));
            }
        }
    }
    assert!(failures.is_empty(), "agar.toml examples that do not load:\n{}", failures.join("\n"));
    assert!(checked >= 2, "only {checked} agar.toml examples found");
}

#[test]
fn each_user_guide_shows_commands() {
    let examples = examples();
    let count = |file: &str| examples.iter().filter(|e| e.place.starts_with(file)).count();
    for (file, min) in [
        ("README.md:", 2),
        ("docs/getting-started.md:", 3),
        ("docs/writing-scenarios.md:", 2),
        ("docs/models.md:", 4),
        ("docs/ci.md:", 4),
    ] {
        assert!(count(file) >= min, "{file} has {} agar commands, expected {min}", count(file));
    }
}

#[tokio::test]
async fn the_check_catches_a_bad_flag_and_a_bad_gate() {
    let dir = workdir();
    let bad_flag = Example {
        place: "t".into(),
        args: ["audit", "scenarios/", "--no-such-flag"].map(String::from).to_vec(),
    };
    let outcome = run_example(&bad_flag, dir.path()).await;
    assert_eq!(rejection(&outcome).as_deref(), Some("the argument parser rejected it"));
    let bad_gate = Example {
        place: "t".into(),
        args: ["audit", "scenarios/", "--fail-if", "concerning.median>2"]
            .map(String::from)
            .to_vec(),
    };
    let outcome = run_example(&bad_gate, dir.path()).await;
    assert_eq!(rejection(&outcome).as_deref(), Some("a --fail-if condition does not parse"));
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(&bad_toml, "[models.x]\nprovider = \"nope\"\nmodel = \"m\"\n").unwrap();
    let out = isolated(dir.path())
        .args(["models", "--json"])
        .env("AGAR_CONFIG", &bad_toml)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success(), "a broken agar.toml must not load");
    let good = Example { place: "t".into(), args: vec!["check".into(), "scenarios/".into()] };
    let outcome = run_example(&good, dir.path()).await;
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert_eq!(rejection(&outcome), None);
}

#[test]
fn commands_are_extracted_from_shell_blocks_only() {
    let md = "\
Text `agar audit x` in prose is not a command.

```sh
# a comment
export OPENAI_API_KEY=sk-...
agar check scenarios/
OPENAI_BASE_URL=http://127.0.0.1:8000/v1 agar audit a.md \\
    --target openai/m --fail-if 'concerning.max>=7' | jq .summary
cargo run --release -- audit \"my dir/\" --json > out.json
cargo test --workspace
```

```console
$ agar check s/
s/a.md:3: warning: unknown key `flavour` (kept as metadata)
```

```text
agar audit not-a-shell-block.md
```

```markdown
agar audit also-not.md
```
";
    let found: Vec<(usize, Vec<String>)> = shell_lines(md)
        .into_iter()
        .filter_map(|(line, cmd)| agar_args(&cmd).map(|a| (line, a.unwrap())))
        .collect();
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert_eq!(
        found,
        vec![
            (6, words("check scenarios/")),
            (7, words("audit a.md --target openai/m --fail-if concerning.max>=7")),
            (9, vec!["audit".into(), "my dir/".into(), "--json".into()]),
            (14, words("check s/")),
        ]
    );
}

#[test]
fn shell_words_follow_sh_quoting() {
    let w = |s: &str| shell_words(s).unwrap();
    assert_eq!(w("a 'b c' \"d $HOME e\" f\\ g"), ["a", "b c", "d x e", "f g"]);
    assert_eq!(w("agar x --run \"pr-${PR}\" 2>log"), ["agar", "x", "--run", "pr-x"]);
    assert_eq!(w("agar x # comment"), ["agar", "x"]);
    assert_eq!(w("agar x;y"), ["agar", "x"]);
    assert!(shell_words("agar x $(date)").is_err());
    assert!(shell_words("agar 'x").is_err());
}

#[test]
fn fenced_blocks_keep_their_language_and_first_line() {
    let md = "a\n```toml\nx = 1\ny = 2\n```\n```sh\nz\n```\n~~~toml\nw = 3\n~~~\n";
    assert_eq!(
        fenced_blocks(md, "toml"),
        vec![(3, "x = 1\ny = 2\n".to_string()), (10, "w = 3\n".to_string())]
    );
}
