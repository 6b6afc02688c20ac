//! Extraction end to end on SmolLM2 with a scripted judge: the right pairs
//! are kept and dropped, the vector has the model's width at every layer,
//! projections separate the kept trait answers from the opposite ones, a
//! resumed run writes nothing new, and the file is refused for another
//! model. Ignored by default (it needs the local model); `.ci/run` runs it
//! with `--ignored local_model`.

use agar_local::vectors::projection;
use agar_local::{LocalModels, LocalSettings, ModelIdentity};
use agar_persona::LoadedTrait;
use agar_persona::commands::{ExtractSpec, extract};
use agar_persona::extract::{Side, answer_means, answer_tokens};
use agar_testkit::scripted::{ScriptedModel, text};

fn scores(t: u8, c: u8) -> agar_core::ChatResponse {
    text(format!("{{\"trait\": {t}, \"coherence\": {c}}}"))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the local model (agar models pull smollm2); run by .ci/run"]
async fn local_model_extract_keeps_the_right_pairs_and_writes_every_layer() {
    let settings = LocalSettings::from_vars(|k| std::env::var(k).ok()).unwrap();
    let target = LocalModels::new().open_reference("local/smollm2", &settings).unwrap();
    let t = LoadedTrait::load("evil").unwrap();
    // Calls come in plan order: q00-p0-trait, q00-p0-opposite, q00-p1-trait, ...
    let judge = ScriptedModel::from_responses(
        "scripted-judge",
        [
            scores(90, 90),
            scores(10, 90), // q0 p0: kept
            scores(30, 90),
            scores(10, 90), // q0 p1: trait answer too weak
            scores(90, 90),
            scores(70, 90), // q0 p2: opposite answer shows the trait
            scores(80, 80),
            scores(5, 80), // q1 p0: kept
            scores(80, 20),
            scores(5, 80), // q1 p1: incoherent
            text("I cannot rate this."),
            scores(5, 80), // q1 p2: the judge failed
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let store = agar_store::Store::open(dir.path().join("store")).unwrap();
    let spec = ExtractSpec {
        trait_ref: "evil".into(),
        trait_sha256: t.sha256.clone(),
        limit: Some(2),
        max_tokens: 24,
        output: dir.path().join("evil.safetensors"),
    };
    let quiet = |_: usize, _: usize, _: &str| {};
    let started = std::time::Instant::now();
    let report = extract(
        &store,
        "evil-run",
        &t,
        &spec,
        ("local/smollm2", &target),
        ("scripted-judge", &judge),
        false,
        &quiet,
    )
    .await
    .unwrap();
    println!("extract with --limit 2 took {:?}", started.elapsed());
    assert_eq!(judge.calls(), 12);
    let kept: Vec<(usize, usize, bool)> =
        report.outcomes.iter().map(|o| (o.question_index, o.pair_index, o.kept)).collect();
    assert_eq!(
        kept,
        [(0, 0, true), (0, 1, false), (0, 2, false), (1, 0, true), (1, 1, false), (1, 2, false)]
    );
    assert!(report.outcomes[1].reason.contains("trait answer scored 30"));
    assert!(report.outcomes[2].reason.contains("opposite answer scored 70"));
    assert!(report.outcomes[4].reason.contains("coherence 20"));
    assert!(report.outcomes[5].reason.contains("the judge failed"));
    let v = &report.vectors;
    assert_eq!(v.layers.len(), 30);
    assert!(v.layers.values().all(|x| x.len() == 576 && x.iter().any(|y| *y != 0.0)));
    assert_eq!(v.meta.counts["kept_pairs"], 2);
    assert_eq!(v.meta.counts["trait_answers"], 2);
    assert_eq!(v.meta.judge.as_deref(), Some("scripted-judge"));
    // Every answer is an ordinary stored transcript.
    assert_eq!(store.transcripts("evil-run").unwrap().len(), 12);

    // Projections of the kept answers on the vector, per layer.
    let mut separated = 0;
    let mut per_side: [Vec<Vec<f64>>; 2] = [Vec::new(), Vec::new()];
    for j in &report.judged {
        let kept = report.outcomes.iter().any(|o| {
            o.kept
                && (o.question_index, o.pair_index)
                    == (j.sample.question_index, j.sample.pair_index)
        });
        if !kept {
            continue;
        }
        let (tokens, start) =
            answer_tokens(&target, &j.sample.system, &j.sample.question, &j.answer).unwrap();
        let means = answer_means(&target, tokens, start).await.unwrap().unwrap();
        let p: Vec<f64> = (0..30).map(|l| projection(&means[l], v.layer(l).unwrap())).collect();
        per_side[usize::from(j.sample.side == Side::Opposite)].push(p);
    }
    for l in 0..30 {
        let t: Vec<f64> = per_side[0].iter().map(|p| p[l]).collect();
        let o: Vec<f64> = per_side[1].iter().map(|p| p[l]).collect();
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        assert!(mean(&t) > mean(&o), "layer {l}: trait answers project higher on average");
        let min_t = t.iter().copied().fold(f64::INFINITY, f64::min);
        let max_o = o.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if min_t > max_o {
            separated += 1;
        }
        println!("layer {l:2}: trait {t:.2?} opposite {o:.2?}");
    }
    println!(
        "layers where every kept trait answer projects above every opposite one: {separated}/30"
    );
    assert!(separated >= 15, "{separated}");

    // The monitor reads the same separation from the stored transcripts.
    let layer = 15;
    let m = agar_persona::monitor::monitor(
        &store,
        "evil-run",
        &report.vectors,
        layer,
        ("local/smollm2", &target),
        false,
    )
    .await
    .unwrap();
    assert_eq!(m.messages.len(), 12, "one target message per transcript");
    let side_mean = |side: &str| {
        let kept: Vec<f64> = m
            .messages
            .iter()
            .filter(|p| ["q00-p0-", "q01-p0-"].iter().any(|k| p.audit_id == format!("{k}{side}")))
            .map(|p| p.mean.unwrap())
            .collect();
        assert_eq!(kept.len(), 2);
        kept.iter().sum::<f64>() / 2.0
    };
    assert!(side_mean("trait") > side_mean("opposite"));
    assert!(m.path(&store).is_file());

    // Resumed: nothing is answered again, the vector is the same.
    let again = extract(
        &store,
        "evil-run",
        &t,
        &spec,
        ("local/smollm2", &target),
        ("scripted-judge", &judge),
        true,
        &quiet,
    )
    .await
    .unwrap();
    assert_eq!(again.new_answers, 0);
    assert_eq!(judge.calls(), 12);
    assert_eq!(again.vectors.layers, report.vectors.layers);

    // The file is this model's, and refused for another.
    let file = agar_local::VectorFile::load_for(&spec.output, target.engine()).unwrap();
    let other = ModelIdentity { sha256: "0".repeat(64), ..file.meta.model.clone() };
    assert!(file.check_model(&other).unwrap_err().to_string().contains("not for"));
}
