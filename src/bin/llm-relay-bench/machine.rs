//! Facts about the machine the bench ran on, for the report.

use crate::*;

pub(crate) fn machine(env: &Env) -> Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let commit = command_output("git", &["rev-parse", "--short=12", "HEAD"])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(' '))
        .unwrap_or_else(|| "unknown".into());
    // The previous run's results are not a change to what is measured.
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/results"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    let wrk = command_output("wrk", &["-v"]).and_then(|s| s.lines().next().map(|l| l.trim().to_string()));
    // `llm-relay 0.1.0 (profile-guided build, profile …)` when scripts/build-release.sh built it.
    let gateway = env.cli.bin_dir.join("llm-relay");
    let gateway = command_output(&gateway.to_string_lossy(), &["--version"])
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    Machine {
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        kernel,
        date_utc: utc_now(),
        commit: if dirty { format!("{commit} (uncommitted changes)") } else { commit },
        nginx: env.nginx.as_ref().map(|n| n.version.clone()),
        wrk,
        gateway,
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` from the system clock (civil-from-days).
pub(crate) fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}
