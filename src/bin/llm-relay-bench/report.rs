//! Ratios and the Markdown report; the targets are checked in `checks`.

use std::fmt::Write as _;

use crate::{NsRow, Report, StreamRow};

pub(crate) const MIB: f64 = 1024.0;

pub(crate) fn f(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "–".into()
    }
}

fn ms(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() < 1.0 {
        format!("{v:.3}")
    } else if v.abs() < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

fn signed_ms(v: f64) -> String {
    if v.is_finite() && v >= 0.0 {
        format!("+{}", ms(v))
    } else {
        ms(v)
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / MIB)
}

fn mark(pass: Option<bool>) -> &'static str {
    match pass {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "n/a",
    }
}

/// The row of `kind` with the same client dialect and body size as `r`.
pub(crate) fn baseline<'a>(rows: &'a [NsRow], r: &NsRow, kind: &str) -> Option<&'a NsRow> {
    rows.iter().find(|b| b.kind == kind && b.client == r.client && b.size == r.size && b.http2 == r.http2)
}

pub(crate) fn stream_baseline<'a>(rows: &'a [StreamRow], r: &StreamRow) -> Option<&'a StreamRow> {
    rows.iter().find(|b| b.kind == "direct" && b.client == r.client)
}

pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

/// Marginal gateway CPU per client event: the CPU difference between the long and the
/// short streams of a target over the difference of their event counts.
pub fn per_event_us(short: &StreamRow, long: &StreamRow) -> f64 {
    match (short.gw_cpu_us_per_req, long.gw_cpu_us_per_req) {
        (Some(s), Some(l)) => marginal(s, l, short, long),
        _ => f64::NAN,
    }
}

/// The same for the mock (the upstream's own cost of an event, for reference).
pub fn mock_per_event_us(short: &StreamRow, long: &StreamRow) -> f64 {
    marginal(short.mock_cpu_us_per_req, long.mock_cpu_us_per_req, short, long)
}

fn marginal(short_us: f64, long_us: f64, short: &StreamRow, long: &StreamRow) -> f64 {
    let frames = long.frames_per_req - short.frames_per_req;
    if frames > 0.0 {
        (long_us - short_us) / frames
    } else {
        f64::NAN
    }
}

/// Seconds with at most three decimals, without trailing zeros: 1, 0.5, 0.375.
fn short_secs(secs: f64) -> String {
    let s = format!("{secs:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let c = &r.settings;
    let _ = writeln!(s, "# llm-relay benchmark\n");
    let _ = writeln!(
        s,
        "{} · commit `{}` · {} cores, {} · Linux {} · wall time {:.0} s (planned {:.0} s)\n",
        m.date_utc, m.commit, m.cores, m.cpu_model, m.kernel, r.wall_secs, r.planned_secs
    );
    let _ = writeln!(
        s,
        "Gateway: {}, {} worker threads, RUST_LOG=warn. Mock upstream: 1 thread, pacing {} ms (sequential streams) and {} ms \
         (concurrent streams). Load generator: llm-relay-bench, one thread (tokio current-thread, hyper HTTP/1.1 \
         keep-alive; HTTP/2 in the HTTPS rows so marked). nginx: {}. {} rounds, interleaved (odd rounds in reverse order); figures are medians over rounds; \
         visits of {} s (c={}), {} s (sequential), {} s (streams); HTTPS visits half as long.{}\n",
        m.gateway,
        c.threads,
        c.token_delay_ms,
        c.many_delay_ms,
        m.nginx.as_deref().map_or("not installed".to_string(), |v| format!("{v}, {} workers, keep-alive to the mock", c.threads)),
        c.rounds,
        short_secs(c.visit_secs),
        c.concurrency,
        short_secs(c.seq_visit_secs),
        short_secs(c.stream_visit_secs),
        if r.visit_scale < 1.0 {
            format!(
                " The visits were shortened to {:.2}× of their set length to end within the time given \
                 (`--finish-within`; `make bench` gives what its build left of ten minutes); medians over \
                 shorter visits are noisier.",
                r.visit_scale
            )
        } else {
            String::new()
        },
    );

    let _ = writeln!(s, "## Targets (issue #4)\n");
    let _ = writeln!(s, "| goal | measured | |\n|---|---|---|");
    for ch in &r.checks {
        let _ = writeln!(s, "| {} | {} | {} |", ch.goal, ch.measured, mark(ch.pass));
    }

    let _ = writeln!(s, "\n## Calibration: the mock alone\n");
    let _ = writeln!(s, "| client | body | conns | req/s | p50 ms | p99 ms | client CPU | mock CPU |\n|---|---|---:|---:|---:|---:|---:|---:|");
    for row in &r.calibration {
        let busy = row.client_busy.map_or("–".into(), |b| format!("{:.0}%", b * 100.0));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {:.0}% |",
            row.client,
            row.size,
            row.conns,
            row.rps,
            ms(row.p50_ms),
            ms(row.p99_ms),
            busy,
            row.mock_busy * 100.0
        );
    }

    let _ = writeln!(s, "\n## Non-streaming, concurrency {}\n", c.concurrency);
    let _ = writeln!(
        s,
        "| route | body | req/s | p50 ms | p99 ms | ×direct | ×nginx | +p50 ms | +p99 ms | hop CPU µs/req | errors |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in &r.nonstream {
        table_row(&mut s, row, &r.nonstream);
    }
    let _ = writeln!(
        s,
        "\n×direct, ×nginx: throughput against the same client request sent straight to the mock, or through nginx. \
         +p50/+p99: latency added to direct. Hop CPU: the gateway's (or all nginx processes') CPU time per request."
    );

    let _ = writeln!(s, "\n## Non-streaming, sequential (concurrency 1): added latency\n");
    let _ = writeln!(
        s,
        "| route | body | req/s | p50 ms | p99 ms | ×direct | ×nginx | +p50 ms | +p99 ms | hop CPU µs/req | errors |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in &r.sequential {
        table_row(&mut s, row, &r.sequential);
    }

    tls_section(&mut s, r);

    let _ = writeln!(
        s,
        "\n## Streaming, sequential, mock pacing {} ms\n\nShort streams (`[[long:{}]]`): first byte and first text token. \
         Long streams (`[[long:{}]]`): gaps between tokens and CPU per event (marginal: CPU difference between \
         long and short streams over the difference in client events). The mock's own CPU per event is the cost of \
         one paced event (a timer wake-up and a write) for a minimal hyper server on this machine.\n",
        c.token_delay_ms, c.short_tokens, c.long_tokens
    );
    let _ = writeln!(
        s,
        "| route | TTFB p50 / p99 ms | first token p50 / p99 ms | +first token p50 / p99 ms | token gap p50 / p99 ms | \
         gateway CPU µs/stream (short / long) | gateway CPU µs/event | mock CPU µs/event | streams ok |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for short in &r.streams_short {
        let long = r.streams_long.iter().find(|l| l.name == short.name);
        let added = stream_baseline(&r.streams_short, short)
            .filter(|_| short.kind != "direct")
            .map(|d| {
                format!(
                    "{} / {}",
                    signed_ms(short.ttft_p50_ms - d.ttft_p50_ms),
                    signed_ms(short.ttft_p99_ms - d.ttft_p99_ms)
                )
            })
            .unwrap_or_else(|| "–".into());
        let gaps = long.map_or("–".into(), |l| format!("{} / {}", ms(l.gap_p50_ms), ms(l.gap_p99_ms)));
        let cpu = match (short.gw_cpu_us_per_req, long.and_then(|l| l.gw_cpu_us_per_req)) {
            (Some(a), Some(b)) => format!("{} / {}", f(a, 0), f(b, 0)),
            _ => "–".into(),
        };
        let per_event =
            long.map(|l| per_event_us(short, l)).filter(|v| v.is_finite()).map_or("–".into(), |v| f(v, 2));
        let mock_event = long.map(|l| mock_per_event_us(short, l)).map_or("–".into(), |v| f(v, 2));
        let ok = short.complete + long.map_or(0, |l| l.complete);
        let total = short.requests + long.map_or(0, |l| l.requests);
        let _ = writeln!(
            s,
            "| {} | {} / {} | {} / {} | {} | {} | {} | {} | {} | {}/{} |",
            short.name,
            ms(short.ttfb_p50_ms),
            ms(short.ttfb_p99_ms),
            ms(short.ttft_p50_ms),
            ms(short.ttft_p99_ms),
            added,
            gaps,
            cpu,
            per_event,
            mock_event,
            ok,
            total
        );
    }

    if let Some(first) = r.many_streams.first().or(r.many_streams_nginx.as_ref()) {
        let _ = writeln!(
            s,
            "\n## {} concurrent streams through the gateway (`[[long:{}]]`, pacing {} ms)\n\n\
             Every client connection is opened first; the requests are then released evenly over {} ms. A stream \
             is complete when all its tokens and its terminator arrived; stalled: silent for 10 s. The nginx row \
             (when installed) runs the same test through nginx with response buffering off, in front of the same \
             paced mock: the CPU a plain byte relay spends per event on this machine. The https row (when the \
             HTTPS runs are on) runs it through the gateway serving HTTPS, TLS on the client side. Peak RSS: the \
             gateway's, with its RSS before the clients connected in brackets. Mock CPU per event: what the \
             paced mock (a minimal hyper server) spends producing one.\n",
            first.streams, first.tokens, first.pacing_ms, first.ramp_ms
        );
        let _ = writeln!(
            s,
            "| route | completed | stalled | failed | peak concurrent | wall s | first token p50 / p99 ms | \
             stream p50 / p99 ms | peak RSS MiB (before) | CPU s | CPU µs/event | mock CPU µs/event |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for m in r.many_streams.iter().chain(&r.many_streams_https).chain(&r.many_streams_nginx) {
            let rss = if m.gw_peak_rss_kib > 0 {
                format!("{} ({})", mib(m.gw_peak_rss_kib), mib(m.gw_rss_before_kib))
            } else {
                "–".into()
            };
            let _ = writeln!(
                s,
                "| {} | {} / {} | {} | {} | {} | {:.1} | {} / {} | {} / {} | {} | {:.2} | {} | {} |",
                m.name,
                m.completed,
                m.streams,
                m.stalled,
                m.failed,
                m.peak_concurrent,
                m.secs,
                ms(m.ttft_p50_ms),
                ms(m.ttft_p99_ms),
                ms(m.total_p50_ms),
                ms(m.total_p99_ms),
                rss,
                m.gw_cpu.best(),
                f(m.cpu_us_per_event, 2),
                f(m.mock_cpu_us_per_event, 2)
            );
        }
    }

    let _ =
        writeln!(s, "\n## Gateway memory (peak RSS per phase: sampled VmRSS every 10 ms and VmHWM reset per phase)\n");
    let _ = writeln!(s, "Gateway CPU while idle: {:.2} ms/s.\n", r.idle_cpu_ms_per_s);
    let _ = writeln!(s, "| phase | peak RSS MiB |\n|---|---:|");
    for row in &r.memory {
        let _ = writeln!(s, "| {} | {} |", row.phase, mib(row.peak_kib));
    }

    if let Some(fo) = &r.failover {
        let _ = writeln!(s, "\n## Failover (sequential requests, small body)\n");
        let _ = writeln!(
            s,
            "Two anthropic channels serve `fo-*`: priority 1 with key `p1-[[error:529]]` (the mock answers 529), \
             priority 2 with `p2-ok`.\n"
        );
        let _ = writeln!(
            s,
            "| scenario | requests | success | p50 ms | p99 ms | failing channel hit |\n|---|---:|---:|---:|---:|---:|"
        );
        let _ = writeln!(
            s,
            "| healthy channel (`hl-*`, reference) | {} | {:.1}% | {} | {} | – |",
            fo.healthy_requests,
            100.0 * fo.healthy_ok as f64 / fo.healthy_requests.max(1) as f64,
            ms(fo.healthy_p50_ms),
            ms(fo.healthy_p99_ms)
        );
        let _ = writeln!(
            s,
            "| every request fails over (`error_threshold: 1000000`, `breaker_window: 0`) | {} | {:.1}% | {} ({}) | {} ({}) | every request |",
            fo.requests,
            100.0 * fo.success_rate,
            ms(fo.p50_ms),
            signed_ms(fo.p50_ms - fo.healthy_p50_ms),
            ms(fo.p99_ms),
            signed_ms(fo.p99_ms - fo.healthy_p99_ms)
        );
        let _ = writeln!(
            s,
            "| default health settings | {} | {:.1}% | {} | {} | {} of {} |",
            fo.default_requests,
            100.0 * fo.default_success_rate,
            ms(fo.default_p50_ms),
            ms(fo.default_p99_ms),
            fo.default_failing_hits,
            fo.default_requests
        );
    }

    let _ = writeln!(
        s,
        "\n## Allocations in the translation core (in-process, per operation; counting global allocator)\n"
    );
    let _ = writeln!(
        s,
        "| operation | input | client→upstream | in bytes | out bytes | allocations | bytes allocated | µs | allocations/event |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for a in &r.allocations {
        let per_event = if a.events > 0 { f(a.allocs / a.events as f64, 1) } else { "–".into() };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.0} | {:.0} | {} | {} |",
            a.what,
            a.input,
            a.direction,
            a.input_bytes,
            a.output_bytes,
            a.allocs,
            a.bytes,
            f(a.us, 1),
            per_event
        );
    }
    let _ = writeln!(
        s,
        "\nrequest: `PreparedRequest::new` (`new_translated` when translating: the gateway parses an Anthropic, \
         Chat or Responses request once when no channel serving its model speaks the client's dialect) + `body_for` \
         (the body sent upstream); the responses→ rows are a Codex-style request with the same conversation. \
         response: `translate_response`. \
         stream: a `StreamTranslator` fed one upstream SSE frame at a time, then `finish`; the response direction is \
         upstream→client."
    );

    if !r.notes.is_empty() {
        let _ = writeln!(s, "\n## Notes\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

/// The HTTPS runs, each row set against nginx over HTTPS and against its own route over
/// plain HTTP.
fn tls_section(s: &mut String, r: &Report) {
    if r.tls_nonstream.is_empty() && r.tls_sequential.is_empty() {
        if let Some(why) = &r.tls_skipped {
            let _ = writeln!(s, "\n## HTTPS\n\nSkipped: {why}.");
        }
        return;
    }
    let _ = writeln!(
        s,
        "\n## HTTPS: the same requests with TLS between client and hop\n\n\
         A second gateway serves HTTPS (`server.tls`, rustls) on the same channels, and nginx (when installed \
         with its ssl module) one more server (OpenSSL); both speak plain HTTP to the mock, as above. The client \
         speaks TLS 1.3 on keep-alive connections opened before the clock starts and before the \
         hop's CPU is read, so the figures are the cost of the records, not of handshakes: HTTP/1.1, and HTTP/2 \
         (asked for by ALPN) in the rows so marked, one request at a time on each connection. ×nginx: against \
         nginx over the same protocol. +p50 and +CPU: against the same route over plain HTTP/1.1 in the tables \
         above."
    );
    let [full_made, resumed_made] = r.tls_resumed;
    let full = (
        "sequential, a new connection per request, full handshakes\n\n\
         The sequential HTTP/1.1 runs again with the small body, each request on a connection of its own: TCP \
         connect, TLS 1.3 handshake, the request, and the client closes. The client keeps no session, as a \
         script running curl once per request. Latency from the connect to the end of the answer; hop CPU per \
         request is per connection. +p50 and +CPU: against the same route on kept-alive connections above."
            .to_string()
            + &format!(" Sessions resumed: {} of {} handshakes.", full_made[1], full_made[0]),
        &r.tls_full_handshakes,
        &r.tls_sequential,
        "kept-alive",
    );
    let resumed = (
        "sequential, a new connection per request, resumed sessions\n\n\
         The same, the client resuming a session it was given (TLS 1.3 with a pre-shared key, rustls's \
         default), as an SDK does when it opens a new connection to the same server."
            .to_string()
            + &format!(" Sessions resumed: {} of {} handshakes.", resumed_made[1], resumed_made[0]),
        &r.tls_resumed_handshakes,
        &r.tls_sequential,
        "kept-alive",
    );
    for (title, rows, plain, against) in [
        (format!("concurrency {}", r.settings.concurrency), &r.tls_nonstream, &r.nonstream, "HTTP"),
        ("sequential (concurrency 1)".to_string(), &r.tls_sequential, &r.sequential, "HTTP"),
        full,
        resumed,
    ] {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "\n### HTTPS, {title}\n\n\
             | route | body | req/s | p50 ms | p99 ms | ×nginx | +p50 ms vs {against} | hop CPU µs/req | +CPU µs/req vs {against} | errors |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for row in rows {
            let nginx = baseline(rows, row, "nginx").filter(|_| row.kind == "relay");
            let x_nginx = nginx.map_or("–".into(), |n| format!("{}×", f(ratio(row.rps, n.rps), 2)));
            let same = plain.iter().find(|p| {
                p.kind == row.kind
                    && p.client == row.client
                    && p.upstream == row.upstream
                    && p.size == row.size
                    // Plain HTTP is HTTP/1.1 only; kept-alive HTTPS has both protocols.
                    && (!p.tls || p.http2 == row.http2)
            });
            let added = same.map_or("–".into(), |p| signed_ms(row.p50_ms - p.p50_ms));
            let cpu = row.server_cpu_us_per_req;
            let added_cpu = match (cpu, same.and_then(|p| p.server_cpu_us_per_req)) {
                (Some(a), Some(b)) => format!("{:+.1}", a - b),
                _ => "–".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
                row.name,
                row.size,
                row.rps,
                ms(row.p50_ms),
                ms(row.p99_ms),
                x_nginx,
                added,
                cpu.map_or("–".into(), |v| f(v, 1)),
                added_cpu,
                row.errors
            );
        }
    }
}

fn table_row(s: &mut String, row: &NsRow, rows: &[NsRow]) {
    let direct = baseline(rows, row, "direct").filter(|_| row.kind != "direct");
    let nginx = baseline(rows, row, "nginx").filter(|_| row.kind == "relay");
    let x_direct = direct.map_or("–".into(), |d| format!("{}×", f(ratio(row.rps, d.rps), 2)));
    let x_nginx = nginx.map_or("–".into(), |n| format!("{}×", f(ratio(row.rps, n.rps), 2)));
    let (a50, a99) = direct
        .map_or(("–".into(), "–".into()), |d| (signed_ms(row.p50_ms - d.p50_ms), signed_ms(row.p99_ms - d.p99_ms)));
    let cpu = row.server_cpu_us_per_req.map_or("–".into(), |v| f(v, 1));
    let _ = writeln!(
        s,
        "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.name,
        row.size,
        row.rps,
        ms(row.p50_ms),
        ms(row.p99_ms),
        x_direct,
        x_nginx,
        a50,
        a99,
        cpu,
        row.errors
    );
}

#[cfg(test)]
mod tests {
    use super::short_secs;

    #[test]
    fn visit_lengths_print_without_float_noise() {
        assert_eq!(short_secs(1.0), "1");
        assert_eq!(short_secs(0.5), "0.5");
        assert_eq!(short_secs(0.74 * 0.5), "0.37");
        assert_eq!(short_secs(0.1 + 0.2), "0.3");
        assert_eq!(short_secs(1.2345), "1.234");
    }
}
