//! The chart's monitoring: the PrometheusRule's alerts pass `promtool check
//! rules` and their unit tests (`tests/monitoring/alerts_test.yaml`, each alert
//! firing and not firing) with `promtool test rules`; every query of the
//! Grafana dashboard parses with promtool; and every metric the alerts and the
//! dashboard name is one the operator serves (the families of
//! `zpa_operator::metrics::Metrics`, with the suffixes of their types).
//!
//! Tools: the Go-built `helm` and `promtool`
//! (tests/controlplane/build.sh). A missing tool fails with one line.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use support::tools::{RELEASE, documents, find, go_tool, helm, helm_template, read, run_tool};

const PROMTOOL: &str = "build it with tests/controlplane/build.sh (needs Go 1.26)";

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let output = run_tool(Command::new(go_tool("promtool")).args(args).current_dir(dir), PROMTOOL);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn monitoring_render() -> Vec<Value> {
    documents(&helm_template(
        &helm(),
        "zpa-operator",
        &["--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.grafanaDashboard.enabled=true"],
    ))
}

/// The series names the operator exposes: each family of its registry with
/// the suffixes its type gets in the exposition.
fn served_series() -> BTreeSet<String> {
    use std::time::Duration;
    use zpa_operator::zpa::{Budget, Outcome, RequestObserver};
    // A family without a labelled series is not encoded: record one of each.
    let metrics = zpa_operator::metrics::Metrics::new();
    metrics.request("auth.signin", Outcome::Unauthorized, Duration::from_millis(5));
    metrics.throttled(Budget::Read, Duration::from_millis(5));
    metrics.reconciled("Microtenant", "success", Duration::from_millis(5));
    metrics.remote_write("Microtenant", "create");
    metrics.status_written("Microtenant");
    metrics.backed_off("Microtenant", "InvalidSpec", Duration::from_secs(1));
    let text = metrics.encode();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let mut parts = rest.split_whitespace();
        let (Some(family), Some(kind)) = (parts.next(), parts.next()) else { continue };
        match kind {
            "counter" => {
                names.insert(format!("{family}_total"));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{family}{suffix}"));
                }
            }
            _ => {
                names.insert(family.to_owned());
            }
        }
    }
    assert!(names.contains("zpa_operator_reconciles_total"), "the registry encodes its families: {names:?}");
    names
}

/// The `zpa_operator_*` series a PromQL expression names.
fn named_series(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(offset) = expr[i..].find("zpa_operator_") {
        let start = i + offset;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        out.insert(expr[start..end].to_owned());
        i = end;
    }
    out
}

fn alert_rules(docs: &[Value]) -> Vec<Value> {
    let rule = find(docs, "PrometheusRule", RELEASE);
    rule["spec"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn alerts_pass_promtool_check_and_their_unit_tests() {
    let docs = monitoring_render();
    let rule = find(&docs, "PrometheusRule", RELEASE);
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    let alerts: BTreeSet<String> =
        alert_rules(&docs).iter().map(|r| r["alert"].as_str().expect("alert rules only").to_owned()).collect();
    assert_eq!(
        alerts,
        BTreeSet::from(
            [
                "ZpaOperatorObjectsNotReady",
                "ZpaOperatorRateLimited",
                "ZpaOperatorSignInRefused",
                "ZpaOperatorReconcileErrors"
            ]
            .map(str::to_owned)
        )
    );

    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("rules.yaml"), serde_saphyr::to_string(&rule["spec"]).unwrap()).unwrap();
    let tests = read("tests/monitoring/alerts_test.yaml");
    fs::write(dir.path().join("alerts_test.yaml"), &tests).unwrap();

    let (ok, out) = promtool(&["check", "rules", "rules.yaml"], dir.path());
    assert!(ok && out.contains("SUCCESS: 4 rules found"), "promtool check rules:\n{out}");

    let (ok, out) = promtool(&["test", "rules", "alerts_test.yaml"], dir.path());
    assert!(ok && out.contains("SUCCESS"), "promtool test rules:\n{out}");

    // Each alert is tested both ways: some case expects it and some case
    // evaluates it expecting nothing.
    let cases: Value = serde_saphyr::from_str(&tests).unwrap();
    for alert in &alerts {
        let evaluations: Vec<&Value> = cases["tests"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["alert_rule_test"].as_array().unwrap())
            .filter(|a| a["alertname"] == alert.as_str())
            .collect();
        let fires = evaluations.iter().any(|a| a["exp_alerts"].as_array().is_some_and(|e| !e.is_empty()));
        let stays_quiet = evaluations.iter().any(|a| a["exp_alerts"] == json!([]));
        assert!(fires && stays_quiet, "{alert}: tests/monitoring/alerts_test.yaml must test it firing and not firing");
    }
}

/// A broken rule is caught: the same promtool run fails on a rule whose
/// expression does not parse, and on a unit test whose expectation is wrong.
#[test]
fn promtool_refuses_a_broken_rule_and_a_wrong_expectation() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("rules.yaml"),
        "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: rate(zpa_operator_reconciles_total[5m] > 0\n",
    )
    .unwrap();
    let (ok, out) = promtool(&["check", "rules", "rules.yaml"], dir.path());
    assert!(!ok, "promtool accepted a rule that does not parse:\n{out}");

    let docs = monitoring_render();
    let rule = find(&docs, "PrometheusRule", RELEASE);
    fs::write(dir.path().join("rules.yaml"), serde_saphyr::to_string(&rule["spec"]).unwrap()).unwrap();
    let wrong = read("tests/monitoring/alerts_test.yaml").replacen("severity: critical", "severity: warning", 1);
    fs::write(dir.path().join("alerts_test.yaml"), wrong).unwrap();
    let (ok, out) = promtool(&["test", "rules", "alerts_test.yaml"], dir.path());
    assert!(!ok, "promtool passed a unit test with a wrong severity:\n{out}");
}

#[test]
fn dashboard_queries_parse_and_name_only_served_metrics() {
    let docs = monitoring_render();
    let configmap = find(&docs, "ConfigMap", &format!("{RELEASE}-dashboard"));
    assert_eq!(configmap["metadata"]["labels"]["grafana_dashboard"], "1", "the Grafana sidecar's default label");
    let json_text = configmap["data"]["zpa-operator.json"].as_str().expect("the dashboard JSON");
    assert_eq!(json_text.trim(), read("charts/zpa-operator/dashboards/zpa-operator.json").trim());
    let dashboard: Value = serde_json::from_str(json_text).expect("the dashboard is JSON");
    assert_eq!(dashboard["uid"], "zpa-operator");

    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        let targets = panel["targets"].as_array().expect("every panel has queries");
        assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
        for target in targets {
            exprs.push((panel["title"].as_str().unwrap().to_owned(), target["expr"].as_str().unwrap().to_owned()));
        }
    }
    assert!(exprs.len() >= 10, "{} queries", exprs.len());

    // Grafana's variables replaced as Grafana would, then promtool parses
    // each query (as the expression of a recording rule).
    let mut rules = Vec::new();
    for (i, (_, expr)) in exprs.iter().enumerate() {
        let concrete = expr.replace("$__rate_interval", "5m").replace("$job", ".*");
        assert!(!concrete.contains('$'), "an unknown variable in {expr}");
        rules.push(json!({"record": format!("dashboard:query{i}"), "expr": concrete}));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = json!({"groups": [{"name": "dashboard", "rules": rules}]});
    fs::write(dir.path().join("dashboard.yaml"), serde_saphyr::to_string(&file).unwrap()).unwrap();
    let (ok, out) = promtool(&["check", "rules", "dashboard.yaml"], dir.path());
    assert!(ok, "promtool check rules on the dashboard's queries:\n{out}");

    // Only metrics the operator serves, in the dashboard and in the alerts;
    // and every family of the operator appears on the dashboard.
    let served = served_series();
    let mut named = BTreeSet::new();
    for (title, expr) in &exprs {
        let series = named_series(expr);
        assert!(!series.is_empty(), "{title}: {expr} names no zpa_operator metric");
        for s in &series {
            assert!(served.contains(s), "dashboard panel {title:?} queries {s}, which the operator does not serve");
        }
        named.extend(series);
    }
    for rule in alert_rules(&docs) {
        for s in named_series(rule["expr"].as_str().unwrap()) {
            assert!(served.contains(&s), "alert {} uses {s}, which the operator does not serve", rule["alert"]);
        }
    }
    let families_on_dashboard: BTreeSet<&str> = named
        .iter()
        .map(|s| {
            s.trim_end_matches("_total").trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count")
        })
        .collect();
    let families_served: BTreeSet<&str> = served
        .iter()
        .map(|s| {
            s.trim_end_matches("_total").trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count")
        })
        .collect();
    // Two families are left to Explore: the count of limiter waits (the
    // dashboard shows the seconds waited) and the backoff delay histogram
    // (it shows the backoffs by reason).
    let missing: Vec<&&str> = families_served
        .iter()
        .filter(|f| {
            !families_on_dashboard.contains(**f)
                && **f != "zpa_operator_ratelimit_waits"
                && **f != "zpa_operator_reconcile_backoff_delay_seconds"
        })
        .collect();
    assert!(missing.is_empty(), "families not on the dashboard: {missing:?}");
}
