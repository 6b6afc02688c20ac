//! End to end in headless Chromium: the viewer on a real socket, driven
//! through chromedriver. Opens a run, sorts by a dimension, opens the worst
//! transcript, follows a citation to another branch and one on the same
//! page, checks the highlighted text, and saves screenshots under
//! `target/e2e-screenshots/`. Ignored by a plain `cargo test`: `.ci/run`
//! installs Chromium and chromedriver and runs it with `--ignored browser`,
//! where a missing browser is a failure.

use std::path::PathBuf;

use crate::fixture::{LEAK_QUOTE, review_store};
use crate::webdriver::{Driver, find_browser};

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is TARGET/tmp: keep the pictures beside it.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run by .ci/run with --ignored browser"]
async fn a_reviewer_sorts_opens_the_worst_audit_and_follows_a_citation() {
    let (chromium, chromedriver) =
        find_browser().unwrap_or_else(|why| panic!("the browser test needs Chromium: {why}"));
    let (dir, store) = review_store();
    let listener =
        agar_web::bind(agar_web::ViewOptions { port: 0, ..Default::default() }).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(agar_web::serve(listener, store, async {
        let _ = stopped.await;
    }));

    let driver = Driver::start(&chromedriver).await;
    let profile = dir.path().join("chromium-profile");
    let b = driver.session(&chromium, &profile).await;
    let shots = screenshot_dir();

    // The runs page.
    b.goto(&format!("{base}/")).await;
    b.wait_for("a[href='/runs/nightly']").await;
    std::fs::write(shots.join("runs.png"), b.screenshot().await).unwrap();

    // The run page, sorted by clicking the `concerning` column head.
    b.goto(&format!("{base}/runs/nightly")).await;
    let head = b.wait_for("th a[data-sort='d.concerning']").await;
    b.click(&head).await;
    b.wait_url("sort=d.concerning").await;
    let sorted = b.wait_for("th.sorted a[data-sort='d.concerning']").await;
    assert_eq!(b.text(&sorted).await, "Concerning");
    let first = b.wait_for("#audits tbody tr").await;
    assert_eq!(b.attribute(&first, "data-audit").await.as_deref(), Some("leak"), "worst first");
    let second = b.find_all("#audits tbody tr").await;
    assert_eq!(b.attribute(&second[1], "data-audit").await.as_deref(), Some("poem"));
    std::fs::write(shots.join("run-sorted.png"), b.screenshot().await).unwrap();

    // Open the worst transcript.
    let link = b.wait_for("#audits tbody tr:first-child td.id a").await;
    b.click(&link).await;
    b.wait_url("/audits/leak").await;
    b.wait_for(".verdict.latest").await;
    assert!(b.find_all("#msg-M5").await.is_empty(), "the page opens on the last branch");
    std::fs::write(shots.join("transcript.png"), b.screenshot().await).unwrap();

    // Follow the `concerning` citation: M5 is on branch 0, so the link
    // loads that branch and the script marks the quote.
    let cite = b.wait_for("a.cite[data-cite='v2-d0-0']").await;
    b.click(&cite).await;
    b.wait_url("branch=0").await;
    let mark = b.wait_for("#msg-M5.highlight mark.cited").await;
    assert_eq!(b.text(&mark).await, LEAK_QUOTE);
    let visible = b
        .eval(
            "var r = document.querySelector('mark.cited').getBoundingClientRect();
             return r.top >= 0 && r.bottom <= window.innerHeight;",
        )
        .await;
    assert_eq!(visible, true, "the quote is scrolled into view");
    std::fs::write(shots.join("transcript-citation.png"), b.screenshot().await).unwrap();

    // A citation on the same page: no reload, the old mark is replaced.
    let url_before = b.url().await;
    b.eval("window.agarNoReload = 1; return 1;").await;
    let cite = b.wait_for("a.cite[data-cite='v2-d1-0']").await;
    b.click(&cite).await;
    let marks = b.find_all("mark.cited").await;
    assert_eq!(marks.len(), 1);
    assert_eq!(b.text(&marks[0]).await, "The admin password is hunter2");
    assert_eq!(b.eval("return window.agarNoReload === 1;").await, true, "handled in the page");
    assert!(b.url().await.contains("cite=v2-d1-0") && url_before.contains("cite=v2-d0-0"));
    std::fs::write(shots.join("transcript-second-citation.png"), b.screenshot().await).unwrap();

    // The comparison of the two runs.
    b.goto(&format!("{base}/compare?a=baseline&b=nightly")).await;
    b.wait_for("svg.ci").await;
    std::fs::write(shots.join("compare.png"), b.screenshot().await).unwrap();
    println!("screenshots in {}", shots.display());

    b.quit().await;
    drop(driver);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
