//! The deploy/ files: the systemd unit verifies, the dashboard and scrape config parse,
//! and the dashboard only queries metrics the gateway exports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn systemd_unit_verifies() {
    let out = Command::new("bash")
        .arg(root().join("deploy/verify-unit.sh"))
        .arg(env!("CARGO_BIN_EXE_llm-relay"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("verify: ok") || text.contains("skipped"), "{text}");
    let unit = std::fs::read_to_string(root().join("deploy/llm-relay.service")).unwrap();
    for needle in [
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
        "ReadOnlyPaths=",
        "LimitNOFILE=",
        "Restart=",
    ] {
        assert!(unit.contains(needle), "unit lacks {needle}");
    }
}

#[test]
fn dashboard_queries_only_exported_metrics() {
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/grafana-dashboard.json")).unwrap()).unwrap();
    let metrics = std::fs::read_to_string(root().join("src/metrics.rs")).unwrap();
    let mut queried = 0;
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if let Some(name) = word.strip_prefix("llm_relay_") {
                    let base = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
                    assert!(
                        metrics.contains(&format!("\"llm_relay_{base}\"")),
                        "dashboard queries unknown llm_relay_{name}"
                    );
                    queried += 1;
                }
            }
        }
    }
    assert!(queried >= 12);
    let scrape = std::fs::read_to_string(root().join("deploy/prometheus.yml")).unwrap();
    let scrape: serde_yaml::Value = serde_yaml::from_str(&scrape).unwrap();
    assert_eq!(scrape["scrape_configs"][0]["job_name"].as_str(), Some("llm-relay"));
}

#[test]
fn production_example_config_validates() {
    let out = Command::new(env!("CARGO_BIN_EXE_llm-relay"))
        .args(["check", "--config"])
        .arg(root().join("deploy/llm-relay.yaml.example"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Without the certificate files and secrets it must fail on exactly those.
    assert!(!out.status.success());
    assert!(text.contains("server.tls: cannot read /etc/llm-relay/tls/fullchain.pem"), "{text}");
}
