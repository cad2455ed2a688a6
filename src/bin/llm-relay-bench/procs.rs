//! Child processes (mock, gateway, nginx) that are always stopped, and /proc readers
//! for their CPU time and memory.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::BenchError;

/// A child process stopped when dropped: `stop_signal` first, SIGKILL after 3 s. It
/// also gets `stop_signal` if the bench dies (PR_SET_PDEATHSIG; children are spawned
/// from the main thread, whose exit is what the kernel watches).
pub struct Proc {
    pub name: String,
    child: Child,
    stop_signal: i32,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command, stop_signal: i32) -> Result<Proc, BenchError> {
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, stop_signal as libc::c_ulong);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Proc { name: name.to_string(), child, stop_signal })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Exited already? (with its status).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            _ => None,
        }
    }

    pub fn stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        // SAFETY: plain kill(2) on our own child's pid, which has not been reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, self.stop_signal);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free loopback port (bound then released; the race is harmless on a quiet machine).
pub fn free_port() -> Result<u16, BenchError> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Starts the mock and reads `listening on ADDR` from its stdout.
pub fn start_mock(bin: &Path, token_delay_ms: u64, name: &str) -> Result<(Proc, SocketAddr), BenchError> {
    let mut cmd = Command::new(bin.join("llm-relay-mock"));
    cmd.args(["--listen", "127.0.0.1:0", "--threads", "1", "--token-delay-ms", &token_delay_ms.to_string()])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut p = Proc::spawn(name, cmd, libc::SIGKILL)?;
    let out = p.stdout().ok_or("mock: no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let mut r = BufReader::new(out);
        let _ = r.read_line(&mut line);
        let _ = tx.send(line);
        // Keep the pipe open for the mock's lifetime.
        let mut sink = String::new();
        while matches!(r.read_line(&mut sink), Ok(n) if n > 0) {
            sink.clear();
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(10)).map_err(|_| format!("{name}: no `listening on` line"))?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("{name}: unexpected first line {line:?}"))?;
    Ok((p, addr))
}

/// CPU time of a process: utime+stime from /proc/PID/stat (clock ticks, includes
/// exited threads) and the sum of its threads' schedstat run time (nanoseconds).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub ticks: u64,
    pub sched_ns: u64,
}

impl Cpu {
    pub fn of(pid: u32) -> Cpu {
        Cpu { ticks: stat_ticks(pid).unwrap_or(0), sched_ns: sched_ns(pid).unwrap_or(0) }
    }

    pub fn of_all(pids: &[u32]) -> Cpu {
        pids.iter()
            .map(|p| Cpu::of(*p))
            .fold(Cpu::default(), |a, b| Cpu { ticks: a.ticks + b.ticks, sched_ns: a.sched_ns + b.sched_ns })
    }

    /// CPU seconds between `self` (earlier) and `later`: schedstat when it moved,
    /// else ticks.
    pub fn secs_until(&self, later: &Cpu) -> CpuDelta {
        CpuDelta {
            stat_s: later.ticks.saturating_sub(self.ticks) as f64 / clk_tck(),
            sched_s: later.sched_ns.saturating_sub(self.sched_ns) as f64 / 1e9,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CpuDelta {
    /// utime+stime from /proc/PID/stat (10 ms granularity).
    pub stat_s: f64,
    /// Sum of /proc/PID/task/*/schedstat run time (ns granularity).
    pub sched_s: f64,
}

impl CpuDelta {
    /// The precise figure when available.
    pub fn best(&self) -> f64 {
        if self.sched_s > 0.0 {
            self.sched_s
        } else {
            self.stat_s
        }
    }
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn stat_ticks(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may contain spaces: state is field 3.
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime is field 14, stime 15: indices 11 and 12 after `state`.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn sched_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for t in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(t) = t else { continue };
        if let Ok(s) = fs::read_to_string(t.path().join("schedstat")) {
            total += s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Some(total)
}

/// Parent pid of `pid`.
fn ppid(pid: u32) -> Option<u32> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// `pid` and its direct children (nginx master and workers).
pub fn with_children(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    if let Ok(dir) = fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
                if ppid(p) == Some(pid) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// (VmRSS, VmHWM) in KiB.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets VmHWM to the current RSS (writing 5 to clear_refs); false if refused.
pub fn reset_hwm(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Samples a process's VmRSS every 10 ms on its own thread; `peak_kib` is the largest
/// value since the last `reset`.
pub struct RssSampler {
    pid: u32,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// The last reset of VmHWM worked, so VmHWM covers only the current window.
    hwm_valid: AtomicBool,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let (rss, _) = rss_kib(pid);
                p.fetch_max(rss, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        RssSampler { pid, peak, stop, hwm_valid: AtomicBool::new(false) }
    }

    /// Starts a new measurement window (also resets the kernel's high-water mark).
    pub fn reset(&self) {
        self.hwm_valid.store(reset_hwm(self.pid), Ordering::Relaxed);
        self.peak.store(rss_kib(self.pid).0, Ordering::Relaxed);
    }

    /// Peak RSS in KiB since `reset`: the larger of the sampled peak and VmHWM.
    pub fn peak_kib(&self) -> u64 {
        let (rss, hwm) = rss_kib(self.pid);
        let hwm = if self.hwm_valid.load(Ordering::Relaxed) { hwm } else { 0 };
        self.peak.load(Ordering::Relaxed).max(rss).max(hwm)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts `llm-relay run --config FILE` with RUST_LOG=warn, output to `log`.
pub fn start_gateway(bin: &Path, name: &str, config: &Path, log: &Path) -> Result<Proc, BenchError> {
    let out = fs::File::create(log)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(bin.join("llm-relay"));
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    Proc::spawn(name, cmd, libc::SIGKILL)
}

/// The nginx binary, if installed.
pub fn find_nginx() -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"])
        .map(|d| Path::new(d).join("nginx"))
        .find(|p| p.is_file());
    found
}

/// A pure pass-through nginx in front of `upstream`: keep-alive both sides, no access
/// log, bodies buffered in memory, `workers` worker processes, everything under `dir`.
/// A second server on `stream_listen` fronts `stream_upstream` (the paced mock of the
/// many-streams test) with response buffering off, so each event is relayed as it comes.
/// With `tls` (a port, the directory of `leaf.crt` and `leaf.key`, and whether to offer
/// HTTP/2), a third serves HTTPS (TLS 1.3) on that port in front of `upstream`, as the
/// first does in plain HTTP.
pub fn nginx_conf(
    dir: &Path,
    listen: u16,
    upstream: SocketAddr,
    stream_listen: u16,
    stream_upstream: SocketAddr,
    tls: Option<(u16, &Path, bool)>,
    workers: usize,
) -> String {
    let d = dir.display();
    // HTTPS in front of the same mock, TLS 1.3; HTTP/2 for clients that ask for it by
    // ALPN (nginx 1.22's syntax, still accepted by later versions), granting the same
    // 1 MiB of request body before it is read as the gateway does (nginx's default is
    // 64 KiB, on which an 80 KiB request waits for a window update).
    let https = tls.map_or(String::new(), |(port, certs, http2)| {
        let c = certs.display();
        let (http2, preread) = if http2 { (" http2", "\n        http2_body_preread_size 1m;") } else { ("", "") };
        format!(
            "    server {{
        listen 127.0.0.1:{port} ssl{http2} backlog=4096;{preread}
        ssl_certificate {c}/leaf.crt;
        ssl_certificate_key {c}/leaf.key;
        ssl_protocols TLSv1.3;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }}
    }}
"
        )
    });
    // As root, nginx would switch its workers to `nobody`; keep the current user.
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 { "user root;\n" } else { "" };
    format!(
        "{user}worker_processes {workers};
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {d}/nginx-client-body;
    proxy_temp_path {d}/nginx-proxy;
    fastcgi_temp_path {d}/nginx-fastcgi;
    uwsgi_temp_path {d}/nginx-uwsgi;
    scgi_temp_path {d}/nginx-scgi;
    client_max_body_size 64m;
    client_body_buffer_size 1m;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    upstream mock {{
        server {upstream};
        keepalive 256;
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }}
    server {{
        listen 127.0.0.1:{listen} backlog=4096;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }}
    }}
{https}    upstream paced {{
        server {stream_upstream};
        keepalive 1024;
    }}
    server {{
        listen 127.0.0.1:{stream_listen} backlog=4096;
        location / {{
            proxy_pass http://paced;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"
    )
}

pub fn start_nginx(nginx: &Path, dir: &Path, conf: &Path) -> Result<Proc, BenchError> {
    let log = fs::File::create(dir.join("nginx-stderr.log"))?;
    let mut cmd = Command::new(nginx);
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(dir.join("nginx-error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    // SIGTERM: nginx's fast shutdown, which also stops the workers.
    Proc::spawn("nginx", cmd, libc::SIGTERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(tls: Option<(u16, &Path, bool)>) -> String {
        let mock = SocketAddr::from(([127, 0, 0, 1], 9001));
        let paced = SocketAddr::from(([127, 0, 0, 1], 9002));
        nginx_conf(Path::new("/run/b"), 8001, mock, 8002, paced, tls, 2)
    }

    #[test]
    fn nginx_serves_https_in_front_of_the_same_mock_only_when_given_certificates() {
        let plain = conf(None);
        assert!(!plain.contains("ssl"), "{plain}");
        assert_eq!(plain.matches("server {").count(), 2, "{plain}");

        let tls = conf(Some((8003, Path::new("/run/b/certs"), false)));
        assert_eq!(tls.matches("server {").count(), 3, "{tls}");
        let https = &tls[tls.find("listen 127.0.0.1:8003 ssl backlog=4096;").expect("no https listener")..];
        let https = &https[..https.find("upstream paced").expect("https server not before the paced upstream")];
        for line in [
            "ssl_certificate /run/b/certs/leaf.crt;",
            "ssl_certificate_key /run/b/certs/leaf.key;",
            "ssl_protocols TLSv1.3;",
            "proxy_pass http://mock;",
            "proxy_http_version 1.1;",
        ] {
            assert!(https.contains(line), "missing {line:?} in {https}");
        }

        let h2 = conf(Some((8003, Path::new("/run/b/certs"), true)));
        let with_h2 = "listen 127.0.0.1:8003 ssl http2 backlog=4096;\n        http2_body_preread_size 1m;";
        assert_eq!(h2, tls.replace("listen 127.0.0.1:8003 ssl backlog=4096;", with_h2));
    }
}
