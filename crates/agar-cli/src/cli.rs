//! The command line: every command and flag, with help that teaches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Automated alignment audits of language models.

An auditor model plays the user (and operator) described in a scenario file,
drives the target model through a conversation, and a judge model scores the
transcript on behaviour dimensions. Everything is stored under ./transcripts.";

const AFTER_HELP: &str = "Examples:
  agar check scenarios/
  agar audit scenarios/sycophancy/ --target openai/gpt-4.1-mini \\
      --auditor openai/gpt-4.1 --judge openai/gpt-4.1

Models are written PROVIDER/MODEL: openai/MODEL reaches any OpenAI-compatible
endpoint (OPENAI_BASE_URL, OPENAI_API_KEY), anthropic/MODEL the Anthropic API
(ANTHROPIC_API_KEY), local/smollm2 or local:/path/model.gguf runs in-process,
and names from agar.toml work too (see `agar models`). Role defaults come from
AGAR_TARGET, AGAR_AUDITOR and AGAR_JUDGE; with nothing configured every role
uses local/smollm2. Logs go to stderr (AGAR_LOG=debug for more).

Exit codes: 0 success, 1 usage or input error, 2 the run itself failed,
3 a --fail-if condition held.";

#[derive(Debug, Parser)]
#[command(name = "agar", version, about = ABOUT, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// More log output on stderr (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only warnings and errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run audits for scenario files or directories, judge them, store everything
    #[command(after_help = AUDIT_HELP)]
    Audit(Box<AuditArgs>),
    /// Validate scenario and dimension files; print path:line diagnostics
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// List scenarios: id, title, tags, language, dimensions (or the library index)
    #[command(after_help = crate::scenarios::SCENARIOS_HELP)]
    Scenarios(crate::scenarios::ScenariosArgs),
    /// Re-judge stored transcripts without re-running them
    #[command(after_help = crate::judge::JUDGE_HELP)]
    Judge(crate::judge::JudgeArgs),
    /// Finish an interrupted run; a finished audit is never run again
    #[command(after_help = crate::resume::RESUME_HELP)]
    Resume(crate::resume::ResumeArgs),
    /// Bring the runs of several stores (shards, an s3:// bucket) into one
    #[command(after_help = crate::merge::MERGE_HELP)]
    Merge(crate::merge::MergeArgs),
    /// List the runs in the store
    Runs(crate::runs::RunsArgs),
    /// One run's per-dimension summary
    #[command(after_help = crate::show::SHOW_HELP)]
    Show(crate::show::ShowArgs),
    /// Compare two runs per dimension, with bootstrap confidence intervals
    #[command(after_help = crate::compare::COMPARE_HELP)]
    Compare(crate::compare::CompareArgs),
    /// Render a run as Markdown, JSON, JUnit XML or self-contained HTML
    #[command(after_help = crate::report::REPORT_HELP)]
    Report(crate::report::ReportArgs),
    /// The model references that resolve, and where each key comes from
    Models(crate::models::ModelsArgs),
    /// Persona vectors on local models: extract a trait's direction per layer
    #[command(after_help = crate::persona::PERSONA_HELP)]
    Persona(crate::persona::PersonaArgs),
    /// Cross-national opinion survey: whose opinions do the model's answers resemble?
    #[command(after_help = crate::survey::SURVEY_HELP)]
    Survey(crate::survey::SurveyArgs),
    /// Concept injection: does a local model notice a thought written into its activations?
    #[command(after_help = crate::introspect::INTROSPECT_HELP)]
    Introspect(crate::introspect::IntrospectArgs),
    /// The review web UI: runs, audit tables, transcripts, labels, comparisons
    #[command(after_help = crate::view::VIEW_HELP)]
    View(crate::view::ViewArgs),
    /// Write scenario files for a behaviour described in BEHAVIOUR.md
    #[command(after_help = crate::generate::GENERATE_HELP)]
    Generate(crate::generate::GenerateArgs),
}

const AUDIT_HELP: &str = "Examples:
  # one scenario, models from the command line
  agar audit scenarios/sycophancy/poem_praise.md --target openai/gpt-4.1-mini \\
      --auditor openai/gpt-4.1 --judge openai/gpt-4.1

  # a whole folder, 8 audits at once, machine-readable summary, CI gate
  agar audit scenarios/ --concurrency 8 --json --fail-if 'concerning.max>=7'

  # a slice: the agentic finance scenarios, or ids matching a glob
  agar audit scenarios/ --tags finance --id '*_agent*'

Each audit is written to STORE/RUN/AUDIT.json as soon as it finishes; the run's
configuration is in STORE/RUN/run.json and its plan in STORE/RUN/plan.json.
Ctrl-C (or SIGTERM) stops starting new audits and lets running ones finish; a
second one aborts at once. Either way, `agar resume RUN` finishes the run later.

  # shard 2 of 3 of one run (each shard writes the whole plan, runs its share)
  agar audit scenarios/ --run nightly --shard 2/3
  # in a Slurm array, a Kubernetes Indexed Job or with AGAR_SHARD=I/N
  agar audit scenarios/ --run nightly --shard auto

Shard I of N runs the audits at positions I, I+N, I+2N... of plan.json
(round-robin), records them in STORE/RUN/shard-I-of-N.json and holds its own
lock; `agar resume RUN --shard I/N` finishes it (see docs/scale.md).
Counts have limits (--concurrency 1-1024, --repeats 1-1000; see
docs/configuration.md).";

const CHECK_HELP: &str = "Examples:
  agar check scenarios/
  agar check my_scenario.md dimensions/
  agar check scenarios/ --tags prompt_injection

Directories are searched recursively for *.md files. A file with a
`description` key under a `dimensions/` folder (or with `description` and no
scenario key) is read as a dimension file; every other file as a scenario.
Warnings (unknown keys) do not fail the check; errors exit 1.";

/// `--max-turns` when not given.
pub(crate) const DEFAULT_MAX_TURNS: u32 = 30;

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Scenario files or directories (searched recursively for *.md)
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) filter: crate::scenarios::FilterArgs,
    /// The model under test, e.g. openai/gpt-4.1-mini
    #[arg(long, env = "AGAR_TARGET", value_name = "MODEL")]
    pub(crate) target: Option<String>,
    /// The model that plays the user and operator
    #[arg(long, env = "AGAR_AUDITOR", value_name = "MODEL")]
    pub(crate) auditor: Option<String>,
    /// The model that scores transcripts
    #[arg(long, env = "AGAR_JUDGE", value_name = "MODEL")]
    pub(crate) judge: Option<String>,
    /// The model that simulates the world behind the target's tools (default:
    /// the auditor's model); `auditor` makes the auditor answer every tool call
    #[arg(long, env = "AGAR_ENVIRONMENT", value_name = "MODEL|auditor")]
    pub(crate) environment: Option<String>,
    /// A model that scores each auditor action for realism and refuses
    /// implausible ones (off by default)
    #[arg(long, env = "AGAR_REALISM", value_name = "MODEL")]
    pub(crate) realism: Option<String>,
    /// Realism scores below this (0-1) refuse the action
    #[arg(long, default_value_t = 0.6, value_name = "SCORE", requires = "realism")]
    pub(crate) realism_threshold: f64,
    /// Target replies per audit, over all branches
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = crate::limits::max_target_turns())]
    pub(crate) max_target_turns: u32,
    /// Tokens per audit, all roles together (no limit by default)
    #[arg(long, value_name = "N")]
    pub(crate) max_tokens: Option<u64>,
    /// Auditor turns per audit [default: the scenario's max_turns, else 30;
    /// with a local model, at most 3]; when given it wins over every
    /// scenario's max_turns
    #[arg(long, value_name = "N", value_parser = crate::limits::max_turns())]
    pub(crate) max_turns: Option<u32>,
    /// Who picks the auditor's tool each turn: the auditor (free) or the
    /// audit loop (guided); auto: guided when the auditor is a local model
    ///
    /// auto: guided when the auditor is a local model (local/NAME or
    /// local:PATH), free otherwise. free: the auditor chooses among all its
    /// tools every turn. guided: the loop picks each turn's tool (system
    /// message, then messages; answers to the target's tool calls with
    /// --environment auditor) and the auditor writes the content — for small
    /// models that cannot choose tools. A guided audit never rolls back or
    /// ends early: it runs to its turn limit. run.json and plan.json record
    /// what was used.
    #[arg(long, value_enum, default_value_t = GuidanceFlag::Auto, value_name = "MODE")]
    pub(crate) auditor_guidance: GuidanceFlag,
    /// A directory of prompt templates replacing agar's own, by file name
    /// (`auditor_system.md`...); default: `[prompts] dir` in agar.toml.
    /// Check it first with `agar check DIR`
    #[arg(long, value_name = "DIR")]
    pub(crate) prompts: Option<PathBuf>,
    /// Audits of each scenario [default: the scenario's repeats, else 1];
    /// when given it wins over every scenario's repeats
    #[arg(long, value_name = "N", value_parser = crate::limits::repeats())]
    pub(crate) repeats: Option<u32>,
    /// Audits running at once
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = crate::limits::concurrency())]
    pub(crate) concurrency: u32,
    /// Dimensions to judge: a directory of dimension files, `tags:a,b`, or
    /// names `a,b` (repeatable). Given, it wins over every scenario's own
    /// `dimensions:`; absent, a scenario's `dimensions:` applies, else the
    /// whole built-in library. The core set (concerning, needs_attention,
    /// evaluation_awareness, scenario_realism, auditor_failure) is always
    /// judged too
    #[arg(long, value_name = "SPEC")]
    pub(crate) dimensions: Vec<String>,
    /// Independent judge samples per audit (their median is the score)
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub(crate) judge_samples: u32,
    /// Name of the run (default: run-DATE-TIME)
    #[arg(long, value_name = "NAME")]
    pub(crate) run: Option<String>,
    /// Run only shard I of N (1-based) of the plan; `auto` reads it from
    /// AGAR_SHARD, a Slurm job array or a Kubernetes Indexed Job. Needs --run
    #[arg(long, value_name = "I/N|auto", requires = "run")]
    pub(crate) shard: Option<String>,
    #[command(flatten)]
    pub(crate) store: StoreArg,
    /// Exit 3 when this holds, e.g. 'concerning.mean>2' (repeatable; STAT is
    /// mean, max or p90; run-level: invalid.share, invalid.count,
    /// failed.count, unjudged.count). Fails closed: exit 2 when an audit has
    /// no supported verdict, 1 when no judged audit scored the dimension
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub(crate) fail_if: Vec<String>,
    /// A verdict with more than this share (0-1) of its citations not found
    /// in the transcript is `unsupported`: shown, never counted [default: 0.5]
    #[arg(long, value_name = "SHARE", value_parser = crate::gates::parse_share)]
    pub(crate) max_unverified_share: Option<f64>,
    /// Print a JSON summary on stdout (logs stay on stderr)
    #[arg(long)]
    pub(crate) json: bool,
    /// Store transcripts without judging them
    #[arg(long)]
    pub(crate) no_judge: bool,
    /// Stop starting audits once the run has cost this many USD (prices from agar.toml)
    #[arg(long, value_name = "USD")]
    pub(crate) max_cost: Option<f64>,
    /// Answer identical model requests from the store's cache (STORE/.cache)
    #[arg(long)]
    pub(crate) cache: bool,
    #[command(flatten)]
    pub(crate) limits: ScenarioLimits,
    #[command(flatten)]
    pub(crate) sampling: crate::sampling::SamplingArgs,
}

/// `--auditor-guidance`: [`agar_core::run::AuditorGuidance`], or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GuidanceFlag {
    /// Guided when the auditor is a local model, free otherwise
    Auto,
    /// The auditor chooses among all its tools
    Free,
    /// The loop picks each turn's tool; the auditor writes the content
    Guided,
}

impl GuidanceFlag {
    /// The guidance to use, given whether the auditor runs on a local model.
    pub(crate) fn resolve(self, local_auditor: bool) -> agar_core::run::AuditorGuidance {
        use agar_core::run::AuditorGuidance;
        match self {
            GuidanceFlag::Free => AuditorGuidance::Free,
            GuidanceFlag::Guided => AuditorGuidance::Guided,
            GuidanceFlag::Auto if local_auditor => AuditorGuidance::Guided,
            GuidanceFlag::Auto => AuditorGuidance::Free,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Scenario or dimension files, or directories; a directory of prompt
    /// templates (`--prompts DIR`) is checked as one
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) filter: crate::scenarios::FilterArgs,
    #[command(flatten)]
    pub(crate) limits: ScenarioLimits,
}

/// `--store`, declared once for every command that reads or writes runs
/// (flattened into each): a change to what a store can be is made here.
#[derive(Debug, Clone, Args)]
pub(crate) struct StoreArg {
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
}

impl std::ops::Deref for StoreArg {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.store
    }
}

impl AsRef<std::path::Path> for StoreArg {
    fn as_ref(&self) -> &std::path::Path {
        &self.store
    }
}

impl AsRef<std::ffi::OsStr> for StoreArg {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.store.as_os_str()
    }
}

/// `--max-scenario-bytes`, shared by `audit` and `check`.
#[derive(Debug, Args)]
pub(crate) struct ScenarioLimits {
    /// Largest scenario or dimension file read, in bytes (default 1 MiB)
    #[arg(long, env = "AGAR_MAX_SCENARIO_BYTES", value_name = "BYTES",
          default_value_t = agar_scenario::DEFAULT_MAX_FILE_BYTES,
          value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub(crate) max_scenario_bytes: u64,
}

impl ScenarioLimits {
    pub(crate) fn get(&self) -> agar_scenario::Limits {
        agar_scenario::Limits { max_file_bytes: self.max_scenario_bytes }
    }
}
