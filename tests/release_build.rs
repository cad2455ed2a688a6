//! scripts/build-release.sh: whether a release build is profile-guided. The script runs
//! with stand-ins for rustc and cargo; the stand-in cargo prints the flags and the build
//! note it was handed, so nothing is compiled.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

struct Run {
    rustflags: String,
    build: String,
    args: String,
    stderr: String,
}

/// Runs the script with a rustc whose `rustc -vV` prints `rustc_vv`.
fn build_release(rustc_vv: &str, env: &[(&str, &str)]) -> Run {
    let dir = std::env::temp_dir().join(format!("llm-relay-release-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rustc-vV"), rustc_vv).unwrap();
    let rustc = script(&dir, "rustc", &format!("cat '{}'\n", dir.join("rustc-vV").display()));
    let cargo = script(&dir, "cargo", "printf '%s\\n%s\\n%s\\n' \"$RUSTFLAGS\" \"$LLM_RELAY_BUILD\" \"$*\"\n");
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/build-release.sh"))
        .args(["--bin", "llm-relay"])
        .env("RUSTC", &rustc)
        .env("CARGO", &cargo)
        .env_remove("RUSTFLAGS")
        .env_remove("PGO");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    Run { rustflags: lines[0].into(), build: lines[1].into(), args: lines[2].into(), stderr }
}

#[test]
fn a_release_build_uses_the_profile_only_with_the_rustc_it_was_made_with() {
    let made_with = std::fs::read_to_string(root().join("pgo/rustc.txt")).unwrap();
    let version = env!("CARGO_PKG_VERSION");

    // The same rustc: the profile, unpacked under target/pgo, named by its hash.
    let run = build_release(&made_with, &[]);
    assert_eq!(run.args, "build --release --bin llm-relay");
    let flag = run.rustflags.split(' ').find_map(|f| f.strip_prefix("-Cprofile-use=")).expect(&run.rustflags);
    let profile = Path::new(flag);
    assert!(profile.starts_with(root().join("target/pgo")), "{flag}");
    // An indexed LLVM profile starts with its magic number.
    let head = std::fs::read(profile).unwrap();
    assert_eq!(head[..8], [0xff, b'l', b'p', b'r', b'o', b'f', b'i', 0x81]);
    let sum = profile.file_name().unwrap().to_str().unwrap();
    let sum = sum.strip_prefix("llm-relay-").unwrap().strip_suffix(".profdata").unwrap();
    assert_eq!(run.build, format!("{version} (profile-guided build, profile {sum})"));
    assert!(run.rustflags.contains("-Cllvm-args=-no-pgo-warn-mismatch"), "{}", run.rustflags);
    assert!(run.stderr.contains("profile-guided build"), "{}", run.stderr);

    // Flags the caller set are kept.
    let run = build_release(&made_with, &[("RUSTFLAGS", "-Ctarget-cpu=native")]);
    assert!(run.rustflags.starts_with("-Ctarget-cpu=native -Cprofile-use="), "{}", run.rustflags);

    // Another rustc: a plain build, and the reason.
    let other = made_with.replace("release: ", "release: 0.0.0-").replace("commit-hash: ", "commit-hash: 0");
    let run = build_release(&other, &[]);
    assert_eq!(run.rustflags, "");
    assert_eq!(run.build, format!("{version} (plain build)"));
    assert!(run.stderr.contains("was made with rustc") && run.stderr.contains("plain build"), "{}", run.stderr);

    // PGO=0: plain, whatever the compiler.
    let run = build_release(&made_with, &[("PGO", "0")]);
    assert_eq!(run.rustflags, "");
    assert_eq!(run.build, format!("{version} (plain build)"));
}

#[test]
fn the_profile_was_made_with_a_complete_rustc_description() {
    let made_with = std::fs::read_to_string(root().join("pgo/rustc.txt")).unwrap();
    for field in ["commit-hash: ", "release: ", "LLVM version: "] {
        assert!(made_with.lines().any(|l| l.starts_with(field)), "pgo/rustc.txt lacks {field:?}: {made_with}");
    }
    let gz = std::fs::read(root().join("pgo/llm-relay.profdata.gz")).unwrap();
    assert_eq!(gz[..2], [0x1f, 0x8b], "pgo/llm-relay.profdata.gz is not gzip");
}
