//! `llm-relay check` on every shipped config (must pass) and on the invalid examples
//! (must fail, naming each expected YAML path and message).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no configs in {dir:?}");
    files
}

fn check(path: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_llm-relay"))
        .args(["check", "--config"])
        .arg(path)
        .env_remove("LLM_RELAY_TEST_UNSET_BASE")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn shipped_configs_are_valid() {
    for dir in ["conf", "conf/examples"] {
        for file in yaml_files(dir) {
            let (ok, text) = check(&file);
            assert!(ok, "{file:?} failed:\n{text}");
            assert!(text.contains(": ok ("), "{text}");
        }
    }
}

#[test]
fn invalid_configs_fail_with_every_expected_error() {
    for file in yaml_files("conf/invalid") {
        let (ok, text) = check(&file);
        assert!(!ok, "{file:?} passed:\n{text}");
        let expected: Vec<String> = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(str::to_string)
            .collect();
        assert!(!expected.is_empty(), "{file:?} lists no '# expect:' lines");
        for want in expected {
            assert!(text.contains(&want), "{file:?}: missing {want:?} in:\n{text}");
        }
    }
}

#[test]
fn version_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_llm-relay")).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("llm-relay {}", env!("CARGO_PKG_VERSION")));
}
