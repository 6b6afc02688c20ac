//! What the harness reads from Linux's /proc: a child's resident memory
//! (`VmRSS`, and its high-water mark `VmHWM`) and the CPU time of the
//! harness's reaped children (`cutime` + `cstime` of /proc/self/stat, the
//! figure `getrusage(RUSAGE_CHILDREN)` gives); and the machine's load: the
//! 1-minute load average and the busy time of all CPUs (/proc/stat), to say
//! how much of the machine other processes took during a measurement.

use std::time::Duration;

/// Clock ticks per second of /proc/*/stat times (`getconf CLK_TCK`; 100 on
/// every Linux the harness targets).
pub const CLOCK_TICKS: u64 = 100;

/// A `kB` field (`VmHWM:`, `VmRSS:`) of a /proc/PID/status text.
pub fn status_kb(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `VmHWM` (peak resident memory) of a live process, in kB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kb(&status, "VmHWM:")
}

/// The `cutime + cstime` fields (16 and 17) of a /proc/PID/stat text, in ticks.
/// The command name (field 2) may hold spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn children_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); cutime is field 16, cstime field 17.
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(cutime + cstime)
}

/// CPU time (user + system) of every child this process has waited for.
pub fn reaped_children_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let ticks = children_ticks(&stat)?;
    Some(Duration::from_millis(ticks * 1000 / CLOCK_TICKS))
}

/// The 1-minute load average (first field of /proc/loadavg).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// Busy time of all CPUs together from a /proc/stat text: the `cpu` line's
/// fields less `idle` and `iowait`, in ticks.
pub fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> =
        line.split_whitespace().skip(1).take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let total: u64 = fields.iter().sum();
    Some(total - fields.get(3)? - fields.get(4)?)
}

/// Busy CPU time of the whole machine since boot.
pub fn machine_busy() -> Option<Duration> {
    let ticks = busy_ticks(&std::fs::read_to_string("/proc/stat").ok()?)?;
    Some(Duration::from_millis(ticks * 1000 / CLOCK_TICKS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kb() {
        let status = "Name:\tagar\nVmPeak:\t  900 kB\nVmHWM:\t   24312 kB\nVmRSS:\t   20000 kB\n";
        assert_eq!(status_kb(status, "VmHWM:"), Some(24_312));
        assert_eq!(status_kb(status, "VmRSS:"), Some(20_000));
        assert_eq!(status_kb(status, "VmSwap:"), None);
    }

    #[test]
    fn children_times_are_counted_after_the_command_name() {
        // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt
        // cminflt majflt cmajflt utime stime cutime cstime ...
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194304 10 20 0 0 5 6 700 80 20 0 1 0";
        assert_eq!(children_ticks(stat), Some(780));
        assert_eq!(children_ticks("garbage"), None);
    }

    #[test]
    fn busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 30 2 3 10 0 0\ncpu0 50 2 25 500 15 1 1 5 0 0\n";
        assert_eq!(busy_ticks(stat), Some(170));
        assert_eq!(busy_ticks("intr 1 2"), None);
    }

    #[test]
    fn this_process_has_a_readable_stat_and_status() {
        assert!(machine_busy().is_some() && load_average().is_some());
        assert!(reaped_children_cpu().is_some());
        assert!(peak_rss_kb(std::process::id()).unwrap() > 0);
    }
}
