//! The experiment end to end on the fake subject and the scripted grader:
//! the table and its intervals, controls apart from injected trials,
//! resume, and a run refused for another model.

use agar_introspect::{
    ListKind, Quiet, Request, RunError, Table, TrialKind, WordList, concept_vectors, render,
    resume, spec_for, start,
};
use agar_report::stats::wilson_interval;
use agar_store::Store;
use agar_testkit::text;

use crate::fake::{FakeSubject, grader};

fn request(limit: usize) -> Request {
    Request {
        layer_fractions: vec![0.5, 1.0],
        strengths: vec![2.0, 8.0],
        concepts: WordList::shipped(ListKind::Concepts),
        baselines: WordList::shipped(ListKind::Baselines),
        no_questions: WordList::shipped(ListKind::NoQuestions),
        limit: Some(limit),
        temperature: 0.7,
        max_tokens: 48,
        seed: 0,
    }
}

fn subject() -> FakeSubject {
    FakeSubject::new(&WordList::shipped(ListKind::Concepts).entries)
}

fn stored_controls(store: &Store, run: &str) -> Vec<agar_introspect::TrialRecord> {
    agar_introspect::store::read_trials(store, run)
        .unwrap()
        .into_values()
        .filter(|t| t.trial.kind == TrialKind::Control)
        .collect()
}

#[tokio::test]
async fn smoke_run_with_a_scripted_grader_produces_the_table_with_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let subject = subject();
    let judge = grader();
    let spec = spec_for(request(4), &subject, "scripted/grader").unwrap();
    assert_eq!(spec.design.layers, [2, 5]);
    assert_eq!(spec.planned, 4 * (4 + 4 + 4));
    let table: Table = start(&store, "intro", &spec, &subject, &judge, &Quiet).await.unwrap();
    assert_eq!((table.graded, table.failed, table.pending), (48, 0, 0));
    assert_eq!(table.rows.len(), 4);
    for row in &table.rows {
        // Controls match injected trials in number, cell by cell, and are
        // counted in their own column.
        assert_eq!(row.detected.n, 4);
        assert_eq!(row.false_alarms.n, 4);
        assert_eq!(row.yes_bias.n, 4);
        let strong = row.strength == 8.0;
        assert_eq!(row.detected.k, if strong { 4 } else { 0 }, "{row:?}");
        assert_eq!(row.identified.k, if strong { 4 } else { 0 });
        assert_eq!(row.incoherent.k, if strong { 2 } else { 0 });
        assert_eq!(row.yes_bias.k, if strong { 4 } else { 0 });
        for rate in [row.detected, row.false_alarms, row.identified, row.incoherent, row.yes_bias] {
            assert_eq!(rate.interval, wilson_interval(rate.k, rate.n, 1.959_963_984_540_054));
        }
    }
    // False alarms are the controls whose seed the fake answers yes to, and
    // nothing injected changes them.
    let controls = stored_controls(&store, "intro");
    let alarms = controls.iter().filter(|t| t.trial.seed.is_multiple_of(3)).count();
    assert_eq!(table.controls.n, 16);
    assert_eq!(table.controls.k, alarms);
    assert_eq!(table.rows.iter().map(|r| r.false_alarms.k).sum::<usize>(), alarms);
    assert!(controls.iter().all(|t| t.vector_norm.is_none()));
    let answered = subject.answered();
    assert_eq!(answered.iter().filter(|(_, inj)| inj.is_none()).count(), 16);
    assert!(answered.iter().filter_map(|(_, i)| i.as_ref()).all(|i| i.from == "Question:"));
    insta::assert_snapshot!("smoke_table", render(&spec, &table, "intro"));
    let json = serde_json::to_value(&table).unwrap();
    assert_eq!(json["rows"][1]["detected"]["interval"][1], 1.0);
}

#[tokio::test]
async fn resume_redoes_only_the_trials_not_done() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let first = subject();
    let judge = grader();
    for _ in 0..3 {
        judge.push(Ok(text("I cannot tell.")));
    }
    let spec = spec_for(request(2), &first, "scripted/grader").unwrap();
    let table = start(&store, "r", &spec, &first, &judge, &Quiet).await.unwrap();
    assert_eq!((table.graded, table.failed), (spec.planned - 3, 3));
    assert!(render(&spec, &table, "r").contains("agar resume r runs them"));
    let failed = agar_introspect::store::read_trials(&store, "r")
        .unwrap()
        .into_values()
        .filter(|t| t.error.is_some())
        .count();
    assert_eq!(failed, 3, "failed trials are stored with their error");

    let second = subject();
    let table = resume(&store, "r", &second, &grader(), &Quiet).await.unwrap();
    assert_eq!(second.answered().len(), 3, "only the failed trials are asked again");
    assert_eq!((table.graded, table.failed, table.pending), (spec.planned, 0, 0));

    let third = subject();
    resume(&store, "r", &third, &grader(), &Quiet).await.unwrap();
    assert!(third.answered().is_empty(), "a finished run asks nothing");
}

#[tokio::test]
async fn a_run_is_refused_for_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let subject = subject();
    let spec = spec_for(request(1), &subject, "scripted/grader").unwrap();
    start(&store, "m", &spec, &subject, &grader(), &Quiet).await.unwrap();
    let mut other = self::subject();
    other.sha256 = "cd".repeat(32);
    let e = resume(&store, "m", &other, &grader(), &Quiet).await.unwrap_err();
    assert!(matches!(e, RunError::OtherModel { .. }), "{e}");
    assert!(other.answered().is_empty());
}

#[tokio::test]
async fn concept_vectors_are_the_state_minus_the_baseline_mean() {
    let subject = subject();
    let concepts: Vec<String> = ["volcano", "violin"].map(String::from).to_vec();
    let baselines: Vec<String> = ["table", "window", "paper"].map(String::from).to_vec();
    let v = concept_vectors(&subject, &concepts, &baselines, &[1, 4], &|| {}).await.unwrap();
    let mut expected = [0.0; crate::fake::WIDTH];
    expected[1] = 10.0;
    assert_eq!(v.get("violin", 4), Some(&expected[..]));
    assert_eq!(v.norm("volcano", 1), Some(10.0));
    assert_eq!(v.baseline_norms[0], (2.0f32 * 2.0 * crate::fake::WIDTH as f32).sqrt());
    assert_eq!(v.get("violin", 3), None);
    let e = concept_vectors(&subject, &concepts, &baselines, &[6], &|| {}).await.unwrap_err();
    assert!(e.to_string().contains("layer 6 is out of range"), "{e}");
}
