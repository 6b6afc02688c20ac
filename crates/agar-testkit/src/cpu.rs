//! The CPU time this process has used, so a benchmark can show the fake server
//! is not its bottleneck.

use std::time::Duration;

/// Clock ticks per second of `/proc/*/stat` times. Linux reports them in
/// `USER_HZ`, which is 100 on every architecture agar runs on (reading the real
/// value needs `sysconf`, an unsafe call this crate forbids).
const USER_HZ: u64 = 100;

/// User plus system CPU time of this process (all its threads), from
/// `/proc/self/stat`; `None` where that file does not exist or cannot be read.
pub fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&stat)
}

/// Reads `utime` and `stime` (fields 14 and 15) from a `/proc/PID/stat` line.
fn parse_stat(stat: &str) -> Option<Duration> {
    // Field 2, the command name, is in parentheses and may hold spaces or
    // parentheses itself: count fields after the last `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11); // fields 3..=13
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / USER_HZ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_an_awkward_name() {
        let line = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0";
        assert_eq!(parse_stat(line), Some(Duration::from_millis(3250)));
        assert_eq!(parse_stat("garbage"), None);
    }
}
