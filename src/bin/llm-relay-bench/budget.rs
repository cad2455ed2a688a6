//! Keeping `make bench` inside ten minutes. `--finish-within SECS` is the time the run
//! may take (`scripts/bench.sh` passes what the build left of the ten minutes). When the
//! run planned at the settings' visit lengths would take longer, every timed visit (at
//! concurrency 32, sequential, streams, failover) is shortened by one factor, down to
//! [`MIN_SCALE`]; what does not scale with them (start-up, warm-ups, the allocation
//! counts, the thousand streams, the pauses between phases) is kept whole. Shorter
//! visits leave the medians noisier, so the report says when they were shortened.

use crate::Cli;

/// Visits are never shortened below this share of their set length: under it the
/// sequential visits hold too few requests for a p99.
pub(crate) const MIN_SCALE: f64 = 0.4;

/// What the run holds, as found once everything started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Targets of the plain non-streaming phases (each visited with both bodies).
    pub nonstream_specs: usize,
    /// Targets of the HTTPS non-streaming phases (0: HTTPS skipped).
    pub tls_specs: usize,
    /// Targets of each handshake phase (full, then resumed).
    pub handshake_specs: usize,
    /// Targets of the sequential stream phases.
    pub stream_specs: usize,
    /// `wrk` is installed: the calibration runs it twice, for whole seconds.
    pub wrk: bool,
    /// Runs of the thousand-streams test when it is on (through the gateway to each
    /// dialect, over HTTPS when that is on, through nginx).
    pub many_runs: usize,
}

/// The planned length of a run, in seconds: `visits` shrinks with the visits' scale,
/// `fixed` does not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub visits: f64,
    pub fixed: f64,
}

impl Plan {
    /// Adds `n` visits of `secs` each.
    fn timed(&mut self, n: f64, secs: f64) {
        self.visits += n * secs;
        self.fixed += n * VISIT_OVERHEAD_SECS;
    }

    pub(crate) fn secs(&self, scale: f64) -> f64 {
        self.fixed + self.visits * scale
    }

    /// The scale of the visits that ends the run within `left` seconds: 1 when the
    /// planned run fits, never below [`MIN_SCALE`].
    pub(crate) fn scale_within(&self, left: f64) -> f64 {
        if self.secs(1.0) <= left || self.visits <= 0.0 {
            return 1.0;
        }
        ((left - self.fixed) / self.visits).clamp(MIN_SCALE, 1.0)
    }
}

// Fixed costs, from the phases' timestamps in a default run of 47b1b33 on the 2-core VM
// the README's runs come from (185.8 s in all; this plan: 187.9 s).
/// Warm-up of a non-streaming target (`run_rows`, the calibration).
const WARM_SECS: f64 = 0.3;
/// Connecting, reading CPU and memory counters around one visit.
const VISIT_OVERHEAD_SECS: f64 = 0.01;
/// The allocation counts (5.2 s): 28 operations, 0.2 s of timing each, plus the
/// counted runs.
const ALLOC_SECS: f64 = 5.5;
/// A thousand-streams run besides its ramp and its streams' length (3.1 s per run in
/// all): connecting every client, waiting for the gateway to let them go, the pause
/// after it.
const MANY_EXTRA_SECS: f64 = 0.6;
/// Start-up of the mocks, the gateways and nginx; the idle readings (0.5 s, 1 s, and 3
/// s at the end); the failover gateways and their default-health run (5.3 s in all).
const OTHER_SECS: f64 = 6.0;

/// The run `cli` asks for on an environment of `shape`, phase by phase as `run` visits
/// them.
pub(crate) fn plan(cli: &Cli, shape: &Shape) -> Plan {
    let rounds = cli.rounds as f64;
    let mut p = Plan { visits: 0.0, fixed: OTHER_SECS };
    if cli.wants("alloc") {
        p.fixed += if cli.quick { ALLOC_SECS / 4.0 } else { ALLOC_SECS };
    }
    if cli.wants("calibration") {
        p.timed(2.0, cli.visit_secs);
        p.fixed += 2.0 * WARM_SECS;
        if shape.wrk {
            // wrk takes whole seconds.
            p.fixed += 2.0 * cli.visit_secs.ceil().max(1.0);
        }
    }
    let nonstream_rows = 2.0 * shape.nonstream_specs as f64;
    if cli.wants("nonstream") {
        p.timed(rounds * nonstream_rows, cli.visit_secs);
        p.fixed += nonstream_rows * WARM_SECS;
    }
    if cli.wants("sequential") {
        p.timed(rounds * nonstream_rows, cli.seq_visit_secs);
    }
    if cli.wants("tls") && shape.tls_specs > 0 {
        let rows = 2.0 * shape.tls_specs as f64;
        p.timed(rounds * rows, cli.visit_secs * crate::TLS_VISIT_SHARE);
        p.fixed += rows * WARM_SECS;
        p.timed(rounds * rows, cli.seq_visit_secs * crate::TLS_VISIT_SHARE);
        p.timed(2.0 * rounds * shape.handshake_specs as f64, cli.seq_visit_secs * crate::TLS_VISIT_SHARE);
    }
    if cli.wants("streams") {
        let delay = cli.token_delay_ms as f64 / 1e3;
        for tokens in [cli.short_tokens, cli.long_tokens] {
            let stream = f64::from(tokens) * delay;
            let n = shape.stream_specs as f64;
            p.timed(rounds * n, cli.stream_visit_secs);
            // One warm-up stream per target, and the stream in flight when a visit's
            // time is up runs to its end: half a stream on average.
            p.fixed += n * stream + rounds * n * stream / 2.0;
        }
    }
    if cli.wants("many") {
        let many = f64::from(cli.stream_tokens) * cli.many_delay_ms as f64 / 1e3;
        p.fixed += shape.many_runs as f64 * (many + cli.many_ramp_ms as f64 / 1e3 + MANY_EXTRA_SECS);
    }
    if cli.wants("failover") {
        p.timed(rounds * 2.0, cli.seq_visit_secs);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The environment of the README's runs: nginx with its ssl and http2 modules, wrk,
    /// openssl.
    const FULL: Shape =
        Shape { nonstream_specs: 8, tls_specs: 6, handshake_specs: 2, stream_specs: 6, wrk: true, many_runs: 4 };

    #[test]
    fn the_default_run_is_planned_near_its_measured_length() {
        let cli = Cli::parse_from(["llm-relay-bench"]);
        let p = plan(&cli, &FULL);
        // Visits: calibration 2, c=32 3×16×1, sequential 3×16×0.5, HTTPS 3×12×0.5 and
        // 3×12×0.25, handshakes 2×3×2×0.25, streams 2×3×6×1, failover 3×2×0.5.
        assert!((p.visits - 143.0).abs() < 1e-9, "{p:?}");
        // The default run of 47b1b33 took 185.8 s.
        assert!((p.secs(1.0) - 187.9).abs() < 0.05, "{p:?}");
    }

    #[test]
    fn visits_are_shortened_only_as_far_as_the_time_left_needs() {
        let p = Plan { visits: 100.0, fixed: 50.0 };
        assert_eq!(p.scale_within(200.0), 1.0);
        assert_eq!(p.scale_within(150.0), 1.0);
        assert!((p.scale_within(120.0) - 0.7).abs() < 1e-9);
        assert!((p.secs(p.scale_within(120.0)) - 120.0).abs() < 1e-9);
        assert_eq!(p.scale_within(60.0), MIN_SCALE);
        assert_eq!(p.scale_within(-5.0), MIN_SCALE);
        assert_eq!(Plan { visits: 0.0, fixed: 50.0 }.scale_within(10.0), 1.0);
    }

    #[test]
    fn phases_left_out_are_not_planned() {
        let cli = Cli::parse_from(["llm-relay-bench", "--only", "sequential", "--rounds", "2"]);
        let p = plan(&cli, &FULL);
        assert!((p.visits - 2.0 * 16.0 * 0.5).abs() < 1e-9, "{p:?}");
        assert!((p.fixed - (OTHER_SECS + 32.0 * VISIT_OVERHEAD_SECS)).abs() < 1e-9, "{p:?}");
        let no_tls = Shape { tls_specs: 0, handshake_specs: 0, ..FULL };
        let all = Cli::parse_from(["llm-relay-bench"]);
        assert!((plan(&all, &FULL).visits - plan(&all, &no_tls).visits - (18.0 + 9.0 + 3.0)).abs() < 1e-9);
    }
}
