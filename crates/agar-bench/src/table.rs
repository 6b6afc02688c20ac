//! The results as a Markdown table, each figure checked against its target.

use crate::run::Measurement;

/// CPU per model call, at most (ms).
pub const TARGET_CPU_PER_CALL_MS: f64 = 0.3;
/// Start to first model call, at most (ms).
pub const TARGET_FIRST_CALL_MS: f64 = 50.0;
/// Peak RSS, at most: this base plus [`TARGET_RSS_PER_AUDIT_KB`] per in-flight audit.
pub const TARGET_RSS_BASE_KB: f64 = 30.0 * 1024.0;
pub const TARGET_RSS_PER_AUDIT_KB: f64 = 100.0;
/// Share of the latency bound to reach at 200 ms.
pub const TARGET_BOUND_SHARE: f64 = 0.95;

fn mark(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

/// RSS per in-flight audit: the peak over a one-audit baseline, per audit in flight.
pub fn rss_per_audit_kb(m: &Measurement, baseline_kb: u64) -> f64 {
    let in_flight = m.config.concurrency.min(m.config.audits).max(1) as f64;
    m.peak_rss_kb.saturating_sub(baseline_kb) as f64 / in_flight
}

/// The table, one row per measurement; `baseline_kb` is the peak RSS of a
/// one-audit run.
pub fn markdown(rows: &[Measurement], baseline_kb: u64) -> String {
    let mut out = String::from(
        "| latency | concurrency | audits | wall (s) | calls | agar CPU/call (ms) | ≤ 0.3 ms | \
         first call (ms) | ≤ 50 ms | audits/min | latency bound/min | share | ≥ 95% | \
         peak RSS (MB) | RSS/in-flight audit (KB) | ≤ 30 MB + 100 KB/audit | fake server CPU/call (ms) | statuses | load start → end | others' CPU (cores) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for m in rows {
        let c = m.config;
        let in_flight = c.concurrency.min(c.audits) as f64;
        let rss_limit = TARGET_RSS_BASE_KB + TARGET_RSS_PER_AUDIT_KB * in_flight;
        let (bound, share, share_ok) = match m.latency_bound_per_min {
            Some(b) => {
                let share = m.audits_per_min / b;
                (
                    format!("{b:.0}"),
                    format!("{:.0}%", share * 100.0),
                    mark(share >= TARGET_BOUND_SHARE),
                )
            }
            None => ("n/a (0 ms)".into(), "n/a".into(), "n/a"),
        };
        let (first, first_ok) = match m.first_call_ms {
            Some(f) => (format!("{f:.0}"), mark(f <= TARGET_FIRST_CALL_MS)),
            None => ("?".into(), "?"),
        };
        let server = match m.server_cpu_ms {
            Some(ms) => format!("{:.3}", ms as f64 / m.calls.max(1) as f64),
            None => "?".into(),
        };
        let load = |l: Option<f64>| l.map_or("?".into(), |l| format!("{l:.1}"));
        let others = m.others_cores.map_or("?".into(), |c| format!("{c:.2}"));
        out.push_str(&format!(
            "| {} ms | {} | {} | {:.1} | {} | {:.3} | {} | {} | {} | {:.0} | {} | {} | {} | {:.1} | {:.0} | {} | {} | {} | {} → {} | {} |\n",
            c.latency_ms,
            c.concurrency,
            c.audits,
            m.wall_s,
            m.calls,
            m.cpu_per_call_ms,
            mark(m.cpu_per_call_ms <= TARGET_CPU_PER_CALL_MS),
            first,
            first_ok,
            m.audits_per_min,
            bound,
            share,
            share_ok,
            m.peak_rss_kb as f64 / 1024.0,
            rss_per_audit_kb(m, baseline_kb),
            mark(m.peak_rss_kb as f64 <= rss_limit),
            server,
            m.by_status,
            load(m.load_average.0),
            load(m.load_average.1),
            others,
        ));
    }
    out
}
