//! Inference thread count. candle sizes its CPU thread pool once, from the
//! `CANDLE_NUM_THREADS` / `RAYON_NUM_THREADS` variables, and its workers
//! spin while waiting, so two threads on a busy 2-core machine are far
//! slower than one. [`pin_threads`] sets those variables for this process,
//! which is only sound while the process has a single thread: call it
//! first thing in `main`.

/// What [`pin_threads`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadSetup {
    /// The variables now say this many threads.
    Pinned(usize),
    /// The user already set `CANDLE_NUM_THREADS` or `RAYON_NUM_THREADS`; left alone.
    UserSet,
    /// Other threads exist already (or that cannot be checked): left alone.
    TooLate,
}

/// Sets candle's inference threads to `threads` for this process, unless
/// the user set them already or the process is no longer single-threaded.
pub fn pin_threads(threads: usize) -> ThreadSetup {
    let threads = threads.max(1);
    if std::env::var_os("CANDLE_NUM_THREADS").is_some()
        || std::env::var_os("RAYON_NUM_THREADS").is_some()
    {
        return ThreadSetup::UserSet;
    }
    if thread_count() != Some(1) {
        return ThreadSetup::TooLate;
    }
    let value = threads.to_string();
    // SAFETY: the process has exactly one thread (checked just above), so
    // nothing can read or write the environment concurrently.
    #[expect(unsafe_code, reason = "candle reads its thread count only from the environment")]
    unsafe {
        std::env::set_var("CANDLE_NUM_THREADS", &value);
        std::env::set_var("RAYON_NUM_THREADS", &value);
    }
    ThreadSetup::Pinned(threads)
}

/// This process's thread count, where the OS tells it.
fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_harness_is_multi_threaded_so_nothing_is_set() {
        // Test threads exist, so pinning must refuse rather than race.
        let before = std::env::var_os("CANDLE_NUM_THREADS");
        let outcome = pin_threads(1);
        assert_ne!(outcome, ThreadSetup::Pinned(1));
        assert_eq!(std::env::var_os("CANDLE_NUM_THREADS"), before);
    }
}
