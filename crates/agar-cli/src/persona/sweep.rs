//! `agar persona sweep VECTOR --model local/M --judge MODEL`: flags, the
//! printed table and the recommendation; the method and what is stored are
//! agar-persona's (`agar_persona::sweep`).

use std::path::PathBuf;

use agar_persona::LoadedTrait;
use agar_persona::sweep::{self, Cell, SweepSpec, SweepTable};
use clap::Args;

use super::{failure, local_settings, open_local, progress, resolve_judge, run_name};
use crate::exit::Failure;
use crate::progress::eprint_line;

#[derive(Debug, Args)]
pub(crate) struct SweepArgs {
    /// The vector file (agar persona extract)
    #[arg(value_name = "VECTOR")]
    pub(crate) vector: PathBuf,
    /// The local model the vector was made for: local/NAME or local:/path/to/model.gguf
    #[arg(long, value_name = "MODEL")]
    pub(crate) model: String,
    /// The judge: any model reference
    #[arg(long, value_name = "MODEL")]
    pub(crate) judge: String,
    /// The trait whose evaluation questions and rubric are used (default:
    /// the one recorded in the vector file)
    #[arg(long = "trait", value_name = "TRAIT")]
    pub(crate) trait_ref: Option<String>,
    /// Layers to steer (default: three around the middle of the model)
    #[arg(long, value_delimiter = ',', value_name = "L,L,...")]
    pub(crate) layers: Vec<usize>,
    /// Coefficients (0 is the unsteered baseline; write negatives as --coefs=-8,-4,0,4,8)
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        default_value = "-8,-4,0,4,8",
        value_name = "C,C,..."
    )]
    pub(crate) coefs: Vec<f32>,
    /// A cell is recommended only if its mean coherence (0-100) is at least this
    #[arg(long, default_value_t = 50.0, value_name = "X")]
    pub(crate) min_coherence: f64,
    /// Only the first N evaluation questions (a smoke run)
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// Tokens per answer
    #[arg(long, default_value_t = 96, value_name = "N")]
    pub(crate) max_tokens: u32,
    /// Name of the run (default: persona-TRAIT-sweep-DATE-TIME)
    #[arg(long, value_name = "NAME")]
    pub(crate) run: Option<String>,
    /// Continue the run named by --run, skipping the answers it stored
    #[arg(long, requires = "run")]
    pub(crate) resume: bool,
    /// Print the table as JSON (what STORE/RUN/persona/sweep.json holds)
    #[arg(long)]
    pub(crate) json: bool,
    /// Where runs are stored
    #[arg(long, env = "AGAR_STORE", default_value = "transcripts", value_name = "DIR")]
    pub(crate) store: PathBuf,
}

/// Three layers around the middle of a model `depth` blocks deep.
fn default_layers(depth: usize) -> Vec<usize> {
    let mut v: Vec<usize> =
        [3, 4, 5].iter().map(|k| (depth * k / 8).min(depth.saturating_sub(1))).collect();
    v.dedup();
    v
}

pub(crate) async fn run(args: SweepArgs) -> crate::Outcome {
    let target = open_local(&args.model)?;
    let settings = local_settings()?;
    let vector = agar_local::VectorFile::load_for(&args.vector, target.engine())
        .map_err(|e| Failure::Input(e.to_string()))?;
    let trait_ref = args.trait_ref.clone().unwrap_or_else(|| {
        match vector.meta.extra.get("trait_file").map(String::as_str) {
            Some(f) if !f.starts_with("shipped:") => f.to_string(),
            _ => vector.meta.name.clone(),
        }
    });
    let t = LoadedTrait::load(&trait_ref).map_err(failure)?;
    let layers = if args.layers.is_empty() {
        default_layers(target.engine().info().config.layers)
    } else {
        args.layers.clone()
    };
    if args.coefs.iter().any(|c| !c.is_finite()) || !(0.0..=100.0).contains(&args.min_coherence) {
        return Err(Failure::Input(
            "--coefs must be finite numbers and --min-coherence within 0-100".into(),
        ));
    }
    let judge = resolve_judge(&args.judge)?;
    let store = agar_store::Store::open(&args.store).map_err(|e| Failure::Run(e.to_string()))?;
    let run_id = run_name(args.run.as_deref(), &t.file.name, "-sweep");
    let spec = SweepSpec {
        vector: args.vector.display().to_string(),
        trait_ref,
        trait_sha256: t.sha256.clone(),
        layers,
        coefs: args.coefs.clone(),
        limit: args.limit,
        max_tokens: args.max_tokens,
        min_coherence: args.min_coherence,
    };
    eprint_line(&format!(
        "run {run_id}: sweep of {} ({}) on {}, layers {:?} x coefs {:?}, judge {}",
        spec.vector, t.file.name, args.model, spec.layers, spec.coefs, args.judge
    ));
    let table = sweep::sweep(
        &store,
        &run_id,
        &t,
        &spec,
        &vector,
        (&args.model, &target, &settings),
        (&args.judge, judge.as_ref()),
        args.resume,
        &progress,
    )
    .await
    .map_err(failure)?;
    if args.json {
        let text = serde_json::to_string_pretty(&table).map_err(|e| Failure::Run(e.to_string()))?;
        println!("{text}");
    } else {
        print_table(&run_id, &table);
    }
    unscored(&table).map_or(Ok(()), |why| Err(Failure::Run(why)))
}

/// Why the judge's scores cannot support a recommendation (exit 2), if so.
fn unscored(table: &SweepTable) -> Option<String> {
    if table.baseline.is_none() {
        return Some("no baseline answer could be scored (see the failed judgements in the run): no shift can be measured".into());
    }
    if !table.cells.iter().any(|c| c.coef != 0.0 && c.n > 0) {
        return Some(
            "no steered answer could be scored (see the failed judgements in the run)".into(),
        );
    }
    None
}

fn print_table(run_id: &str, table: &SweepTable) {
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.1}"));
    println!(
        "{run_id}: {} steered on {} ({} new answers); baseline trait {}",
        table.trait_name,
        table.vector,
        table.new_answers,
        f(table.baseline)
    );
    println!(
        "{:>5} {:>7} {:>6} {:>7} {:>10} {:>4} {:>9} {:>7}",
        "layer", "coef", "trait", "shift", "coherence", "n", "coherent", "failed"
    );
    for c in &table.cells {
        let share = c.coherent_share.map_or("-".to_string(), |s| format!("{:.0}%", s * 100.0));
        println!(
            "{:>5} {:>7} {:>6} {:>7} {:>10} {:>4} {:>9} {:>7}",
            c.layer,
            c.coef,
            f(c.mean_trait),
            f(c.shift),
            f(c.mean_coherence),
            c.n,
            share,
            c.failed
        );
    }
    if unscored(table).is_some() {
        return;
    }
    match &table.recommended {
        Some(Cell { layer, coef, shift, mean_coherence, .. }) => println!(
            "recommended: layer {layer}, coef {coef} (trait shift {}, mean coherence {}): --model 'MODEL?steer={}@{layer}x{coef}'",
            f(*shift),
            f(*mean_coherence),
            table.vector
        ),
        None => println!(
            "no recommendation: no steered cell kept a mean coherence of at least {} (lower --coefs, try other --layers, or lower --min-coherence)",
            table.min_coherence
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_layers_sit_around_the_middle() {
        assert_eq!(super::default_layers(30), [11, 15, 18]);
        assert_eq!(super::default_layers(2), [0, 1]);
    }

    #[test]
    fn a_table_without_scores_is_not_vouched_for() {
        let cell = |coef: f32, n: usize| super::Cell {
            layer: 4,
            coef,
            n,
            failed: 1 - n.min(1),
            mean_trait: (n > 0).then_some(50.0),
            mean_coherence: (n > 0).then_some(20.0),
            coherent_share: None,
            shift: None,
        };
        let mut t = super::SweepTable {
            vector: "v".into(),
            trait_name: "evil".into(),
            min_coherence: 50.0,
            baseline: None,
            cells: vec![cell(0.0, 1), cell(4.0, 1)],
            recommended: None,
            new_answers: 0,
        };
        assert!(super::unscored(&t).unwrap().contains("no baseline"));
        t.baseline = Some(10.0);
        assert_eq!(super::unscored(&t), None, "incoherence alone is a finding, not a failure");
        t.cells[1] = cell(4.0, 0);
        assert!(super::unscored(&t).unwrap().contains("no steered answer"));
    }
}
