//! Runs many jobs (audits) with bounded concurrency, and stops starting new
//! ones once cancelled.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Runs `make(job)` for every job, at most `concurrency` at once, and returns
/// the outputs in completion order. Jobs not yet started when `cancel` fires
/// are skipped (returned in the second list); started ones run to their end.
pub async fn run_bounded<J, F, Fut, T>(
    jobs: Vec<J>,
    concurrency: usize,
    cancel: CancellationToken,
    make: F,
) -> (Vec<T>, Vec<J>)
where
    J: Send + 'static,
    F: Fn(J) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // The semaphore bounds how many jobs run at once; a permit is taken
    // before a job is spawned and released when its task ends.
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut skipped = Vec::new();
    let mut done = Vec::new();
    let mut jobs = jobs.into_iter();
    for job in jobs.by_ref() {
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => { skipped.push(job); break; }
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => { skipped.push(job); break; }
            },
        };
        // Collect what already finished so memory stays bounded by concurrency.
        while let Some(res) = tasks.try_join_next() {
            if let Ok(out) = res {
                done.push(out);
            }
        }
        let fut = make(job);
        tasks.spawn(async move {
            let out = fut.await;
            drop(permit);
            out
        });
    }
    skipped.extend(jobs);
    while let Some(res) = tasks.join_next().await {
        match res {
            Ok(out) => done.push(out),
            Err(e) => tracing::error!("an audit task panicked: {e}"),
        }
    }
    (done, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_at_once() {
        let live = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (out, skipped) = run_bounded((0..20).collect(), 3, CancellationToken::new(), |i| {
            let live = live.clone();
            let peak = peak.clone();
            async move {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                live.fetch_sub(1, Ordering::SeqCst);
                i
            }
        })
        .await;
        assert_eq!(out.len(), 20);
        assert!(skipped.is_empty());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_stops_new_jobs_but_finishes_started_ones() {
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        let (out, skipped) = run_bounded((0..10).collect::<Vec<u32>>(), 2, cancel, move |i| {
            let c2 = c2.clone();
            async move {
                if i == 1 {
                    c2.cancel();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                i
            }
        })
        .await;
        let mut out = out;
        out.sort();
        assert_eq!(out, vec![0, 1]);
        assert_eq!(skipped.len(), 8);
    }
}
