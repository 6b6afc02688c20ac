//! The metric against hand-computed values.

use agar_survey::answer::ModelAnswer;
use agar_survey::metric::similarity;
use agar_survey::{IntervalOptions, Scored, per_country, read_dataset, similarities};

use crate::data;

fn answer(distribution: &[f64]) -> ModelAnswer {
    ModelAnswer { distribution: distribution.to_vec(), mass: 1.0, valid: true }
}

#[test]
fn a_model_answering_like_a_country_scores_one_for_it() {
    let qs = read_dataset(&data("synthetic.csv")).unwrap();
    // The model answers every question exactly as Germany does.
    let answers: Vec<ModelAnswer> = qs
        .iter()
        .map(|q| {
            answer(&q.selections.iter().find(|c| c.country == "Germany").unwrap().distribution)
        })
        .collect();
    let items: Vec<Scored> = qs
        .iter()
        .zip(&answers)
        .map(|(question, answer)| Scored { question, persona: None, answer })
        .collect();
    let sims = similarities(&per_country(&items, &[]), IntervalOptions::default());
    let germany = sims.find("germany").unwrap();
    assert!((germany.similarity - 1.0).abs() < 1e-12, "{germany:?}");
    assert_eq!(germany.questions, 3);
    assert_eq!(germany.interval, Some((1.0, 1.0)));
    assert_eq!(sims.most_similar(1)[0].country, "Germany");
    assert!(sims.countries.iter().skip(1).all(|c| c.similarity < 1.0));
    assert_eq!(sims.log_base, 2);
}

#[test]
fn similarity_matches_hand_computed_values() {
    // Model (1, 0) against a country (1/2, 1/2): JSD (base 2) =
    // 1/2 (log2 4/3 + 1/2 log2 2/3 + 1/2) = 0.3112781244591328, distance its
    // square root 0.5579230452841438, similarity 1 - that = 0.4420769547158562.
    let s = similarity(&[1.0, 0.0], &[0.5, 0.5]).unwrap();
    assert!((s - 0.442_076_954_715_856).abs() < 1e-9, "{s}");
    assert_eq!(similarity(&[1.0, 0.0], &[0.0, 1.0]), Some(0.0));

    // Question 0: Japan (0.5, 0.5, 0) against a model (1, 0, 0): the same
    // 0.4420769547; question 2: Japan (0.9, 0.05, 0.05) against (1, 0, 0):
    // m = (0.95, 0.025, 0.025); KL(p||m) = log2(1/0.95) = 0.0740005814;
    // KL(q||m) = 0.9 log2(0.9/0.95) + 2 * 0.05 log2(2) = 0.0297996...;
    // let the code compute the mean and check it against the two halves.
    let qs = read_dataset(&data("synthetic.csv")).unwrap();
    let a = answer(&[1.0, 0.0, 0.0]);
    let b = answer(&[0.25, 0.25, 0.25, 0.25]);
    let items = [
        Scored { question: &qs[0], persona: None, answer: &a },
        Scored { question: &qs[1], persona: None, answer: &b },
        Scored { question: &qs[2], persona: None, answer: &a },
    ];
    let kl_p = (1.0f64 / 0.95).log2();
    let kl_q = 0.9 * (0.9f64 / 0.95).log2() + 0.1;
    let q2 = 1.0 - ((kl_p + kl_q) / 2.0).sqrt();
    let per = per_country(&items, &["Japan".into(), "france".into()]);
    assert_eq!(per.keys().collect::<Vec<_>>(), ["France", "Japan"]);
    let japan = &per["Japan"];
    assert!((japan[0] - 0.442_076_954_715_856).abs() < 1e-9);
    assert!((japan[1] - q2).abs() < 1e-12);
    let sims = similarities(&per, IntervalOptions::default());
    let j = sims.find("Japan").unwrap();
    assert!((j.similarity - (0.442_076_954_715_856 + q2) / 2.0).abs() < 1e-9);
    let (lo, hi) = j.interval.unwrap();
    assert!(lo <= j.similarity && j.similarity <= hi);
}

#[test]
fn invalid_answers_and_other_personas_count_for_no_country() {
    let qs = read_dataset(&data("synthetic.csv")).unwrap();
    let invalid = ModelAnswer { distribution: vec![1.0, 0.0, 0.0], mass: 0.2, valid: false };
    let good = answer(&[0.6, 0.3, 0.1]);
    let items = [
        Scored { question: &qs[0], persona: None, answer: &invalid },
        Scored { question: &qs[0], persona: Some("Germany"), answer: &good },
    ];
    let per = per_country(&items, &[]);
    assert_eq!(per.keys().collect::<Vec<_>>(), ["Germany"]);
    assert!((per["Germany"][0] - 1.0).abs() < 1e-12);
}
