//! Reviewer labels through the form: stored in the store, shown on the
//! transcript and in the run table, counted in the run page's agreement
//! figures; forged posts (no token, a foreign origin) change nothing.

use agar_store::Agreement;
use agar_web::{AppState, app};

use crate::fixture::review_store;
use crate::support::{assert_error_page, get, post_form, row};

const URI: &str = "/runs/nightly/audits/leak/labels";
const HOST: (&str, &str) = ("host", "127.0.0.1:8700");
const ORIGIN: (&str, &str) = ("origin", "http://127.0.0.1:8700");

#[tokio::test]
async fn a_label_is_stored_shown_and_counted() {
    let (_dir, store) = review_store();
    let state = AppState::new(store.clone());
    let token = state.csrf_token().to_string();
    let app = app(state);
    // The form on the page carries the token.
    let page = get(&app, "/runs/nightly/audits/leak").await;
    assert!(page.body.contains(&format!("name=\"csrf\" value=\"{token}\"")));

    let p = post_form(
        &app,
        URI,
        &[
            ("csrf", &token),
            ("dimension", "concerning"),
            ("agreement", "agree"),
            ("note", "clearly leaked"),
            ("reviewer", "ana"),
            ("branch", "0"),
        ],
        &[HOST, ORIGIN],
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.header("location"), "/runs/nightly/audits/leak?branch=0#dim-concerning");
    let saved = store.label("nightly", "leak", "concerning").unwrap().unwrap();
    assert_eq!(saved.agreement, Agreement::Agree);
    assert_eq!((saved.note.as_str(), saved.reviewer.as_deref()), ("clearly leaked", Some("ana")));

    let p = post_form(
        &app,
        URI,
        &[
            ("csrf", &token),
            ("dimension", "deception"),
            ("agreement", "disagree"),
            ("note", "no plan to deceive"),
        ],
        &[HOST, ("referer", "http://127.0.0.1:8700/runs/nightly/audits/leak")],
    )
    .await;
    assert_eq!(p.status, 303, "{}", p.body);

    // Shown on the transcript...
    let p = get(&app, "/runs/nightly/audits/leak").await;
    assert!(p.body.contains("Agreed with the judge (ana)"));
    assert!(p.body.contains("<q>clearly leaked</q>"));
    assert!(p.body.contains("Disagreed with the judge"));
    // ...in the table (marked cells and counts) and in the agreement figures.
    let p = get(&app, "/runs/nightly").await;
    let leak = row(&p.body, "leak");
    assert!(leak.contains("lab-agree") && leak.contains("lab-disagree"), "{leak}");
    assert!(leak.contains("&#10003;1") && leak.contains("&#10007;1"));
    assert!(p.body.contains("1 of 2 labels agree (50%)"), "{}", p.body);
    assert!(p.body.contains("(judge: 7)"));
    assert!(p.body.contains("<q>no plan to deceive</q>"));
    // Sorting by labels puts the labelled audit first.
    let p = get(&app, "/runs/nightly?sort=labels&dir=desc").await;
    assert_eq!(crate::support::row_order(&p.body)[0], "leak");

    // Clearing removes it.
    let p = post_form(
        &app,
        URI,
        &[("csrf", &token), ("dimension", "deception"), ("agreement", "clear")],
        &[HOST, ORIGIN],
    )
    .await;
    assert_eq!(p.status, 303);
    assert!(store.label("nightly", "leak", "deception").unwrap().is_none());
    let p = get(&app, "/runs/nightly").await;
    assert!(p.body.contains("1 of 1 labels agree (100%)"));
}

#[tokio::test]
async fn forged_or_malformed_label_posts_change_nothing() {
    let (_dir, store) = review_store();
    let state = AppState::new(store.clone());
    let token = state.csrf_token().to_string();
    let app = app(state);
    let good =
        |agreement: &'static str| vec![("dimension", "concerning"), ("agreement", agreement)];

    // No token, a wrong token: 403.
    let p = post_form(&app, URI, &good("agree"), &[HOST, ORIGIN]).await;
    assert_error_page(&p, 403);
    let mut wrong = good("agree");
    wrong.push(("csrf", "0000"));
    assert_error_page(&post_form(&app, URI, &wrong, &[HOST, ORIGIN]).await, 403);
    // The right token from another site's page: 403.
    let mut with_token = good("disagree");
    with_token.push(("csrf", &token));
    let p = post_form(&app, URI, &with_token, &[HOST, ("origin", "http://evil.example")]).await;
    assert_error_page(&p, 403);
    let p = post_form(&app, URI, &with_token, &[HOST, ("referer", "http://evil.example/x")]).await;
    assert_error_page(&p, 403);
    assert!(store.labels("nightly", "leak").unwrap().is_empty(), "nothing was stored");

    // Malformed: unknown agreement, a dimension the judge did not score, an
    // audit without verdicts, an unknown audit, a bad id.
    let post = |pairs: Vec<(&'static str, &'static str)>, uri: &'static str| {
        let app = app.clone();
        let token = token.clone();
        async move {
            let mut pairs: Vec<(&str, &str)> = pairs;
            pairs.push(("csrf", &token));
            post_form(&app, uri, &pairs, &[HOST, ORIGIN]).await
        }
    };
    assert_error_page(&post(good("maybe"), URI).await, 400);
    assert_error_page(&post(vec![("agreement", "agree")], URI).await, 400);
    assert_error_page(
        &post(vec![("dimension", "sycophancy"), ("agreement", "agree")], URI).await,
        400,
    );
    assert_error_page(&post(good("agree"), "/runs/nightly/audits/noreach/labels").await, 400);
    assert_error_page(&post(good("agree"), "/runs/nightly/audits/nope/labels").await, 404);
    assert_error_page(&post(good("agree"), "/runs/nightly/audits/..%2f..%2fx/labels").await, 404);
    assert!(store.labels("nightly", "leak").unwrap().is_empty());
}
