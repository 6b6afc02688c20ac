//! A sweep end to end on SmolLM2 with a scripted judge: a 2 layers x 2
//! coefficients grid on one evaluation question gives every cell of the
//! table, the baseline answered once, every answer stored as an ordinary
//! transcript with the table beside them, the recommendation by the judge's
//! scores, and a resumed run that asks nothing again. Ignored by default
//! (it needs the local model); `.ci/run` runs it with `--ignored local_model`.

use std::collections::BTreeMap;

use agar_local::{LocalModels, LocalSettings, ModelIdentity, VectorFile, VectorKind, VectorMeta};
use agar_persona::LoadedTrait;
use agar_persona::sweep::{SweepSpec, SweepTable, TABLE_FILE, sweep};
use agar_testkit::scripted::{ScriptedModel, text};

fn scores(t: u8, c: u8) -> agar_core::ChatResponse {
    text(format!("{{\"trait\": {t}, \"coherence\": {c}}}"))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local model (agar models pull smollm2); run by .ci/run"]
async fn local_model_sweep_tables_every_cell_and_stores_the_run() {
    let settings = LocalSettings::from_vars(|k| std::env::var(k).ok()).unwrap();
    let target = LocalModels::new().open_reference("local/smollm2", &settings).unwrap();
    let engine = target.engine();
    let cfg = &engine.info().config;
    // A made-up direction for this model: the sweep's mechanics, not a finding.
    let layers = (0..cfg.layers)
        .map(|l| (l, (0..cfg.width).map(|i| if i % 7 == l % 7 { 1.0 } else { 0.0 }).collect()))
        .collect();
    let vector = VectorFile {
        meta: VectorMeta {
            kind: VectorKind::Trait,
            name: "evil".into(),
            model: ModelIdentity::of(engine).unwrap(),
            counts: BTreeMap::new(),
            judge: None,
            extra: BTreeMap::new(),
        },
        layers,
    };
    let t = LoadedTrait::load("evil").unwrap();
    // Calls in plan order: the baseline, then L5 x 4, then L15 x 4.
    let judge = ScriptedModel::from_responses(
        "scripted-judge",
        [scores(10, 90), scores(40, 80), scores(90, 20)],
    );
    let dir = tempfile::tempdir().unwrap();
    let store = agar_store::Store::open(dir.path().join("store")).unwrap();
    let spec = SweepSpec {
        vector: "made-up.safetensors".into(),
        trait_ref: "evil".into(),
        trait_sha256: t.sha256.clone(),
        layers: vec![5, 15],
        coefs: vec![0.0, 4.0],
        limit: Some(1),
        max_tokens: 16,
        min_coherence: 50.0,
    };
    let quiet = |_: usize, _: usize, _: &str| {};
    let started = std::time::Instant::now();
    let table = sweep(
        &store,
        "sweep-run",
        &t,
        &spec,
        &vector,
        ("local/smollm2", &target, &settings),
        ("scripted-judge", &judge),
        false,
        &quiet,
    )
    .await
    .unwrap();
    println!("sweep 2x2 --limit 1 took {:?}", started.elapsed());
    assert_eq!(judge.calls(), 3, "the baseline once, each steered cell once");
    let cells: Vec<(usize, f32, usize)> =
        table.cells.iter().map(|c| (c.layer, c.coef, c.n)).collect();
    assert_eq!(cells, [(5, 0.0, 1), (5, 4.0, 1), (15, 0.0, 1), (15, 4.0, 1)]);
    assert_eq!(table.baseline, Some(10.0));
    assert_eq!(table.cells[1].shift, Some(30.0));
    assert_eq!(table.cells[3].shift, Some(80.0));
    // Layer 15 moved the trait most but its coherence is 20: layer 5 is recommended.
    let r = table.recommended.as_ref().unwrap();
    assert_eq!((r.layer, r.coef), (5, 4.0));

    // Stored: three transcripts with verdicts, and the table.
    let stored = store.transcripts("sweep-run").unwrap();
    let mut ids: Vec<&str> = stored.iter().map(|t| t.audit_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["L15-c4-q00", "L5-c4-q00", "base-q00"]);
    assert!(stored.iter().all(|t| t.verdicts.len() == 1 && t.verdicts[0].score("evil").is_some()));
    let path = store.run_dir("sweep-run").join("persona").join(TABLE_FILE);
    let on_disk: SweepTable =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(on_disk.cells, table.cells);
    assert_eq!(on_disk.recommended, table.recommended);

    // Resumed: nothing is asked again and the table is the same.
    let again = sweep(
        &store,
        "sweep-run",
        &t,
        &spec,
        &vector,
        ("local/smollm2", &target, &settings),
        ("scripted-judge", &judge),
        true,
        &quiet,
    )
    .await
    .unwrap();
    assert_eq!(again.new_answers, 0);
    assert_eq!(judge.calls(), 3);
    assert_eq!(again.cells, table.cells);
}
