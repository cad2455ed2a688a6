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

// Fixed costs, from the phases' timestamps in a default run of 47b1b33 on the 2-core VM
// the README's runs come from (185.6 s after start-up).
/// Warm-up of a non-streaming target (`run_rows`, the calibration).
const WARM_SECS: f64 = 0.3;
/// Connecting, reading CPU and memory counters around one visit.
const VISIT_OVERHEAD_SECS: f64 = 0.005;
/// The allocation counts (5.2 s): 28 operations, 0.2 s of timing each, plus the
/// counted runs.
const ALLOC_SECS: f64 = 5.2;
/// A thousand-streams run besides its ramp and its streams' length (3.1 s per run in
/// all): connecting every client, waiting for the gateway to let them go, the pause
/// after it.
const MANY_EXTRA_SECS: f64 = 0.6;
/// The idle readings: 0.5 s and 1 s after start-up, 3 s at the end. (Start-up itself
/// is over when the run is planned.)
const IDLE_SECS: f64 = 4.5;
/// The failover phase's two gateways, their warm-ups and the default-health run.
const FAILOVER_SETUP_SECS: f64 = 0.6;
/// A paced token arrives this much later than its pacing, on average: the gaps' median
/// is 6.2 ms at 5 ms, and with 6 ms a token the long-stream phase of that run (25.5 s)
/// is planned at 25.3 s.
const PACING_SLACK_SECS: f64 = 0.001;
/// From a stream's request to its first token, through the gateway.
const STREAM_START_SECS: f64 = 0.0003;

/// The planned length, in seconds, of the run `cli` asks for on an environment of
/// `shape`, with every timed visit at `scale` of its set length; phase by phase as `run`
/// visits them.
pub(crate) fn planned_secs(cli: &Cli, shape: &Shape, scale: f64) -> f64 {
    let rounds = cli.rounds as f64;
    let mut secs = IDLE_SECS;
    // `n` visits of `len` seconds each.
    let timed = |n: f64, len: f64| n * (len * scale + VISIT_OVERHEAD_SECS);
    if cli.wants("alloc") {
        secs += if cli.quick { ALLOC_SECS / 4.0 } else { ALLOC_SECS };
    }
    if cli.wants("calibration") {
        secs += timed(2.0, cli.visit_secs) + 2.0 * WARM_SECS;
        if shape.wrk {
            // wrk takes whole seconds.
            secs += 2.0 * (cli.visit_secs * scale).ceil().max(1.0);
        }
    }
    let nonstream_rows = 2.0 * shape.nonstream_specs as f64;
    if cli.wants("nonstream") {
        secs += timed(rounds * nonstream_rows, cli.visit_secs) + nonstream_rows * WARM_SECS;
    }
    if cli.wants("sequential") {
        secs += timed(rounds * nonstream_rows, cli.seq_visit_secs);
    }
    if cli.wants("tls") && shape.tls_specs > 0 {
        let rows = 2.0 * shape.tls_specs as f64;
        let seq = cli.seq_visit_secs * crate::TLS_VISIT_SHARE;
        secs += timed(rounds * rows, cli.visit_secs * crate::TLS_VISIT_SHARE) + rows * WARM_SECS;
        secs += timed(rounds * rows, seq);
        secs += timed(2.0 * rounds * shape.handshake_specs as f64, seq);
    }
    if cli.wants("streams") {
        let visit = cli.stream_visit_secs * scale;
        for tokens in [cli.short_tokens, cli.long_tokens] {
            let stream = f64::from(tokens) * (cli.token_delay_ms as f64 / 1e3 + PACING_SLACK_SECS) + STREAM_START_SECS;
            // A visit runs whole streams, one after the other, until its time is up: the
            // one in flight then runs to its end. One warm-up stream per target.
            let per_visit = (visit / stream).ceil().max(1.0) * stream + VISIT_OVERHEAD_SECS;
            let n = shape.stream_specs as f64;
            secs += rounds * n * per_visit + n * stream;
        }
    }
    if cli.wants("many") {
        let many = f64::from(cli.stream_tokens) * cli.many_delay_ms as f64 / 1e3;
        secs += shape.many_runs as f64 * (many + cli.many_ramp_ms as f64 / 1e3 + MANY_EXTRA_SECS);
    }
    if cli.wants("failover") {
        secs += timed(rounds * 2.0, cli.seq_visit_secs) + FAILOVER_SETUP_SECS;
    }
    secs
}

/// The share of their set length the visits get so that the run planned on `shape`
/// ends within `left` seconds: 1 when it fits as set, [`MIN_SCALE`] when not even that
/// fits, else the largest share that fits. The plan grows with the share, in steps
/// where a stream visit runs one more whole stream, so the share is searched for.
pub(crate) fn scale_within(cli: &Cli, shape: &Shape, left: f64) -> f64 {
    let fits = |scale: f64| planned_secs(cli, shape, scale) <= left;
    if fits(1.0) {
        return 1.0;
    }
    if !fits(MIN_SCALE) {
        return MIN_SCALE;
    }
    let (mut lo, mut hi) = (MIN_SCALE, 1.0);
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The environment of the README's runs: nginx with its ssl and http2 modules, wrk,
    /// openssl.
    const FULL: Shape =
        Shape { nonstream_specs: 8, tls_specs: 6, handshake_specs: 2, stream_specs: 6, wrk: true, many_runs: 4 };

    fn cli(args: &[&str]) -> Cli {
        Cli::parse_from(std::iter::once("llm-relay-bench").chain(args.iter().copied()))
    }

    #[test]
    fn the_default_run_is_planned_near_its_measured_length() {
        // The default run of 47b1b33 took 185.8 s, 0.2 s of it starting up.
        let p = planned_secs(&cli(&[]), &FULL, 1.0);
        assert!((p - 185.6).abs() < 1.0, "{p}");
    }

    #[test]
    fn visits_are_shortened_only_as_far_as_the_time_left_needs() {
        let c = cli(&[]);
        let full = planned_secs(&c, &FULL, 1.0);
        assert_eq!(scale_within(&c, &FULL, full + 1.0), 1.0);
        assert_eq!(scale_within(&c, &FULL, full), 1.0);
        let s = scale_within(&c, &FULL, 150.0);
        assert!(MIN_SCALE < s && s < 1.0, "{s}");
        assert!(planned_secs(&c, &FULL, s) <= 150.0);
        assert!(planned_secs(&c, &FULL, s + 0.005) > 150.0, "{s}");
        assert_eq!(scale_within(&c, &FULL, 60.0), MIN_SCALE);
        assert_eq!(scale_within(&c, &FULL, -5.0), MIN_SCALE);
        // At 0.4 the default run is planned at about 100 s (the run of ab032c1 given 55 s:
        // 100.3 s after start-up).
        let shortest = planned_secs(&c, &FULL, MIN_SCALE);
        assert!((shortest - 100.3).abs() < 3.0, "{shortest}");
    }

    #[test]
    fn a_stream_visit_lasts_whole_streams() {
        // Long streams last 100 × 6 ms: a 1 s visit runs two (1.2 s), and so does a 0.7 s
        // one, while a 0.6 s visit runs one.
        let c = cli(&["--only", "streams", "--rounds", "1"]);
        let shape = Shape { stream_specs: 1, ..FULL };
        let token = 0.005 + PACING_SLACK_SECS;
        let long = 100.0 * token + STREAM_START_SECS;
        let short = 3.0 * token + STREAM_START_SECS;
        let at = |scale: f64| planned_secs(&c, &shape, scale) - IDLE_SECS;
        let short_visit = |v: f64| (v / short).ceil() * short + VISIT_OVERHEAD_SECS + short;
        for (scale, streams) in [(1.0, 2.0), (0.7, 2.0), (0.6, 1.0)] {
            let want = short_visit(scale) + streams * long + VISIT_OVERHEAD_SECS + long;
            assert!((at(scale) - want).abs() < 1e-9, "{scale}: {} against {want}", at(scale));
        }
    }

    #[test]
    fn phases_left_out_are_not_planned() {
        let p = planned_secs(&cli(&["--only", "sequential", "--rounds", "2"]), &FULL, 1.0);
        assert!((p - (IDLE_SECS + 2.0 * 16.0 * (0.5 + VISIT_OVERHEAD_SECS))).abs() < 1e-9, "{p}");
        let no_tls = Shape { tls_specs: 0, handshake_specs: 0, ..FULL };
        let all = cli(&[]);
        let tls = planned_secs(&all, &FULL, 1.0) - planned_secs(&all, &no_tls, 1.0);
        // Visits: 3×12×0.5 at c=32, 3×12×0.25 sequential, 2×3×2×0.25 handshakes; 12
        // warm-ups.
        assert!((tls - (30.0 + 84.0 * VISIT_OVERHEAD_SECS + 12.0 * WARM_SECS)).abs() < 1e-9, "{tls}");
    }
}
