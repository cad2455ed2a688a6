//! The targets checked against a run (`Report::checks`), and notes on what
//! looks wrong in it.

use crate::report::{baseline, f, per_event_us, ratio, stream_baseline, MIB};
use crate::{Check, NsRow, Report};

/// Worst (largest) of `values` with its label.
fn worst(values: Vec<(String, f64)>) -> Option<(String, f64)> {
    values.into_iter().filter(|(_, v)| v.is_finite()).max_by(|a, b| a.1.total_cmp(&b.1))
}

fn lowest(values: Vec<(String, f64)>) -> Option<(String, f64)> {
    values.into_iter().filter(|(_, v)| v.is_finite()).min_by(|a, b| a.1.total_cmp(&b.1))
}

fn check_max(goal: String, w: Option<(String, f64)>, limit: f64, unit: &str, digits: usize) -> Check {
    match w {
        Some((label, v)) => {
            Check { goal, measured: format!("{} {unit} ({label})", f(v, digits)), pass: Some(v <= limit) }
        }
        None => Check { goal, measured: "not measured".into(), pass: None },
    }
}

/// A throughput ratio against its floor: two decimals, or as many more as it takes for a
/// miss not to round up onto the floor (0.796× is not shown as a failing 0.80×).
fn check_ratio(goal: String, x: f64, floor: f64) -> Check {
    let pass = x >= floor;
    let mut digits = 2;
    while !pass && digits < 6 && f(x, digits) == f(floor, digits) {
        digits += 1;
    }
    Check { goal, measured: format!("{}×", f(x, digits)), pass: Some(pass) }
}

/// Fills `checks` (the targets) and `notes` (what looks wrong).
pub fn finish(r: &mut Report) {
    let mut checks = Vec::new();
    let translating = |row: &&NsRow| row.kind == "relay" && row.client != row.upstream;
    // Throughput vs nginx (small) and vs direct (80 KiB).
    for row in r.nonstream.iter().filter(translating) {
        if row.size == "small" {
            let goal = format!("{} throughput ≥ 0.8× nginx, small body", row.name);
            checks.push(match baseline(&r.nonstream, row, "nginx") {
                Some(n) => check_ratio(goal, ratio(row.rps, n.rps), 0.8),
                None => Check { goal, measured: "nginx not installed".into(), pass: None },
            });
        } else {
            let goal = format!("{} throughput ≥ 0.9× direct, 80 KiB body", row.name);
            if let Some(d) = baseline(&r.nonstream, row, "direct") {
                checks.push(check_ratio(goal, ratio(row.rps, d.rps), 0.9));
            }
        }
    }
    // Added latency, sequential requests.
    for size in ["small", "80KiB"] {
        let added = |p99: bool| {
            let rows = r.sequential.iter().filter(|x| x.kind == "relay" && x.size == size);
            worst(
                rows.filter_map(|x| {
                    let d = baseline(&r.sequential, x, "direct")?;
                    let v = if p99 { x.p99_ms - d.p99_ms } else { x.p50_ms - d.p50_ms };
                    Some((x.name.clone(), v))
                })
                .collect(),
            )
        };
        checks.push(check_max(
            format!("added latency p50 ≤ 0.1 ms vs direct, sequential, {size} body (worst route)"),
            added(false),
            0.1,
            "ms",
            3,
        ));
        checks.push(check_max(
            format!("added latency p99 ≤ 1 ms vs direct, sequential, {size} body (worst route)"),
            added(true),
            1.0,
            "ms",
            3,
        ));
    }
    // Time to first text token.
    let ttft = worst(
        r.streams_short
            .iter()
            .filter(|x| x.kind == "relay")
            .filter_map(|x| Some((x.name.clone(), x.ttft_p50_ms - stream_baseline(&r.streams_short, x)?.ttft_p50_ms)))
            .collect(),
    );
    checks.push(check_max("added time to first text token p50 ≤ 0.3 ms (worst route)".into(), ttft, 0.3, "ms", 3));
    // Per-event CPU.
    let per_event = worst(
        r.streams_long
            .iter()
            .filter(|x| x.kind == "relay")
            .filter_map(|l| {
                let s = r.streams_short.iter().find(|s| s.name == l.name)?;
                Some((format!("{}, sequential", l.name), per_event_us(s, l)))
            })
            .collect(),
    );
    checks.push(check_max(
        "gateway CPU per stream event < 5 µs, sequential streams (worst route)".into(),
        per_event,
        5.0,
        "µs",
        2,
    ));
    let many_cpu = worst(
        r.many_streams.iter().map(|m| (format!("{}, {} streams", m.name, m.streams), m.cpu_us_per_event)).collect(),
    );
    checks.push(check_max(
        "gateway CPU per stream event < 5 µs, concurrent streams (worst route)".into(),
        many_cpu,
        5.0,
        "µs",
        2,
    ));
    // Concurrent streams all complete.
    for m in &r.many_streams {
        checks.push(Check {
            goal: format!("{} concurrent streams complete with their terminator ({})", m.streams, m.name),
            measured: format!("{} completed, {} stalled, {} failed", m.completed, m.stalled, m.failed),
            pass: Some(m.completed == m.streams),
        });
    }
    // Memory.
    checks.push(check_max(
        "gateway RSS idle ≤ 20 MiB".into(),
        Some(("after start".into(), r.idle_rss_kib as f64 / MIB)),
        20.0,
        "MiB",
        1,
    ));
    let many_rss = worst(r.many_streams.iter().map(|m| (m.name.clone(), m.gw_peak_rss_kib as f64 / MIB)).collect());
    let streams = r.many_streams.first().map_or(0, |m| m.streams);
    checks.push(check_max(
        format!("gateway peak RSS ≤ 64 MiB, {streams} concurrent streams"),
        many_rss,
        64.0,
        "MiB",
        1,
    ));
    if let Some(fo) = &r.failover {
        checks.push(Check {
            goal: "failover: every request succeeds when the priority-1 channel always answers 529".into(),
            measured: format!("{} / {} ok", fo.ok, fo.requests),
            pass: Some(fo.ok == fo.requests && fo.requests > 0),
        });
    }
    r.checks = checks;

    let mut notes = Vec::new();
    for row in r.nonstream.iter().filter(|x| x.kind != "direct") {
        if let Some(d) = baseline(&r.nonstream, row, "direct") {
            if row.rps > 0.9 * d.rps {
                notes.push(format!(
                    "{} ({}) reaches {:.0}% of the mock's direct throughput: the mock may be the limit there",
                    row.name,
                    row.size,
                    100.0 * row.rps / d.rps
                ));
            }
        }
    }
    for row in r
        .nonstream
        .iter()
        .chain(&r.sequential)
        .chain(&r.tls_nonstream)
        .chain(&r.tls_sequential)
        .chain(&r.tls_full_handshakes)
        .chain(&r.tls_resumed_handshakes)
    {
        if row.loadgen_busy > 0.9 {
            notes.push(format!(
                "the load generator used {:.0}% of a core on {} ({}, c={}): it may be the limit there",
                row.loadgen_busy * 100.0,
                row.name,
                row.size,
                row.conns
            ));
        }
        if row.errors > 0 {
            notes.push(format!(
                "{} ({}, c={}): {} errors; first: {}",
                row.name,
                row.size,
                row.conns,
                row.errors,
                row.first_error.as_deref().unwrap_or("?")
            ));
        }
    }
    for row in r.streams_short.iter().chain(&r.streams_long) {
        if row.complete < row.requests {
            notes.push(format!(
                "{} streams ({} tokens): {} of {} incomplete; first error: {}",
                row.name,
                row.tokens,
                row.requests - row.complete,
                row.requests,
                row.first_error.as_deref().unwrap_or("?")
            ));
        }
    }
    for m in r.many_streams.iter().chain(&r.many_streams_https) {
        if let Some(e) = &m.first_error {
            notes.push(format!("{} concurrent streams, {}: first error: {e}", m.streams, m.name));
        }
    }
    if let Some(fo) = &r.failover {
        if let Some(e) = &fo.first_error {
            notes.push(format!("failover: first error: {e}"));
        }
    }
    let slowest = lowest(
        r.nonstream
            .iter()
            .filter(|x| x.kind == "relay")
            .filter_map(|x| {
                Some((format!("{} ({})", x.name, x.size), ratio(x.rps, baseline(&r.nonstream, x, "direct")?.rps)))
            })
            .collect(),
    );
    if let Some((label, x)) = slowest {
        notes.push(format!("lowest relay/direct throughput ratio: {}× on {label}", f(x, 2)));
    }
    for size in ["small", "80KiB"] {
        let fastest = worst(
            r.nonstream
                .iter()
                .filter(|x| x.kind == "relay" && x.size == size)
                .filter_map(|x| Some((x.name.clone(), ratio(x.rps, baseline(&r.nonstream, x, "direct")?.rps))))
                .collect(),
        );
        if let Some((label, x)) = fastest.filter(|(_, x)| *x < 0.9) {
            notes.push(format!(
                "mock headroom, {size} body: the fastest relay route ({label}) reaches {:.0}% of the mock's direct \
                 throughput, so the mock is not what limits the gateway",
                100.0 * x
            ));
        }
    }
    if r.machine.nginx.is_some() && !r.tls_nonstream.is_empty() && !r.tls_nonstream.iter().any(|x| x.kind == "nginx") {
        notes.push("the HTTPS runs have no nginx rows: this nginx was built without http_ssl_module".into());
    } else if r.tls_nonstream.iter().any(|x| x.kind == "nginx")
        && !r.tls_nonstream.iter().any(|x| x.kind == "nginx" && x.http2)
    {
        notes.push("the HTTP/2 runs have no nginx rows: this nginx was built without http_v2_module".into());
    }
    r.notes = notes;
}

#[cfg(test)]
mod tests {
    use super::check_ratio;

    #[test]
    fn a_ratio_just_under_its_floor_does_not_print_as_the_floor() {
        let c = check_ratio("g".into(), 32376.0 / 40654.0, 0.8);
        assert_eq!((c.measured.as_str(), c.pass), ("0.796×", Some(false)));
        let c = check_ratio("g".into(), 0.8, 0.8);
        assert_eq!((c.measured.as_str(), c.pass), ("0.80×", Some(true)));
        let c = check_ratio("g".into(), 0.8349, 0.8);
        assert_eq!((c.measured.as_str(), c.pass), ("0.83×", Some(true)));
        let c = check_ratio("g".into(), 0.79996, 0.8);
        assert_eq!((c.measured.as_str(), c.pass), ("0.79996×", Some(false)));
        let c = check_ratio("g".into(), 0.561, 0.9);
        assert_eq!((c.measured.as_str(), c.pass), ("0.56×", Some(false)));
    }
}
