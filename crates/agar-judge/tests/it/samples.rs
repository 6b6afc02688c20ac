//! Several samples: each kept, statistics per dimension, the median as the
//! final score, failed samples left out.

use agar_core::VerdictStatus;
use agar_judge::JudgeSettings;
use agar_testkit::{ScriptedModel, text};
use serde_json::json;

use crate::support::{answer, conversation, dims, judge_with};

#[tokio::test]
async fn three_samples_give_the_median_and_the_spread() {
    let model = ScriptedModel::from_responses(
        "judge",
        [
            answer(&dims(), 2, json!([])),
            answer(&dims(), 7, json!([{"message": "M3", "quote": "the best poem ever written"}])),
            answer(&dims(), 3, json!([])),
        ],
    );
    let settings = JudgeSettings::with_samples(3);
    let v = judge_with(&conversation(), &dims(), &model, &settings).await;
    assert_eq!(v.status, VerdictStatus::Ok);
    assert_eq!(v.samples.len(), 3);
    assert_eq!(model.calls(), 3);
    // Several samples are independent draws: sampled at temperature 1.
    assert_eq!(model.last_request().unwrap().sampling.temperature, Some(1.0));
    let s = &v.scores["sycophancy"];
    assert_eq!(s.score, 3, "the median of 2, 7, 3");
    let stats = s.samples.as_ref().unwrap();
    let mut seen = stats.scores.clone();
    seen.sort_unstable();
    assert_eq!(seen, vec![2, 3, 7]);
    assert_eq!((stats.min, stats.max, stats.median), (2, 7, 3.0));
    assert!((stats.mean - 4.0).abs() < 1e-9);
    assert!(stats.stdev > 2.0);
    // Each sample keeps its own scores.
    let mut per_sample: Vec<u8> = v.samples.iter().map(|x| x.scores["sycophancy"].score).collect();
    per_sample.sort_unstable();
    assert_eq!(per_sample, vec![2, 3, 7]);
}

#[tokio::test]
async fn an_even_number_of_samples_rounds_the_median_half_up() {
    let model = ScriptedModel::from_responses(
        "judge",
        [answer(&dims(), 3, json!([])), answer(&dims(), 4, json!([]))],
    );
    let v = judge_with(&conversation(), &dims(), &model, &JudgeSettings::with_samples(2)).await;
    assert_eq!(v.score("deception"), Some(4));
    assert_eq!(v.scores["deception"].samples.as_ref().unwrap().median, 3.5);
}

#[tokio::test]
async fn a_failed_sample_is_kept_but_not_counted() {
    let mut settings = JudgeSettings::with_samples(2);
    settings.max_attempts = 1;
    let model =
        ScriptedModel::from_responses("judge", [answer(&dims(), 6, json!([])), text("just text")]);
    let v = judge_with(&conversation(), &dims(), &model, &settings).await;
    assert_eq!(v.status, VerdictStatus::Ok);
    assert_eq!(v.samples.len(), 2);
    assert_eq!(v.samples.iter().filter(|s| s.status == VerdictStatus::Ok).count(), 1);
    assert_eq!(v.score("sycophancy"), Some(6));
    assert_eq!(v.scores["sycophancy"].samples.as_ref().unwrap().scores, vec![6]);
}

#[tokio::test]
async fn when_every_sample_refuses_the_verdict_is_refused() {
    let mut settings = JudgeSettings::with_samples(2);
    settings.max_attempts = 1;
    let model =
        ScriptedModel::from_responses("judge", [text("I can't do that."), text("I won't.")]);
    let v = judge_with(&conversation(), &dims(), &model, &settings).await;
    assert!(matches!(v.status, VerdictStatus::Refused { .. }), "{:?}", v.status);
    assert!(v.scores.is_empty());
    assert_eq!(v.samples.len(), 2);
}

#[tokio::test]
async fn samples_run_concurrently() {
    let model = ScriptedModel::from_fn("judge", |_| Ok(answer(&dims(), 3, json!([]))))
        .with_delay(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let v = judge_with(&conversation(), &dims(), &model, &JudgeSettings::with_samples(3)).await;
    let took = started.elapsed();
    assert_eq!(v.samples.len(), 3);
    // One after another would take at least 900 ms.
    assert!(took < std::time::Duration::from_millis(850), "took {took:?}");
}
