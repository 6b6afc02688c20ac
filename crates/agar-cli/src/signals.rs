//! Stop requests from outside: Ctrl-C (SIGINT) and SIGTERM, the signal
//! schedulers, `kill` and container runtimes send, are handled alike.

/// Resolves when the process is asked to stop (SIGINT or SIGTERM); never
/// resolves when no handler can be installed.
pub(crate) async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        match term {
            Ok(mut term) => {
                let no_sigint = tokio::select! {
                    r = tokio::signal::ctrl_c() => r.is_err(),
                    _ = term.recv() => false,
                };
                if no_sigint {
                    // No SIGINT handler: wait for SIGTERM alone.
                    term.recv().await;
                }
            }
            Err(_) => {
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
