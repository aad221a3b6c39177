//! The operator under its chart's RBAC on the real API server: the chart is
//! rendered by `helm template`, its ServiceAccount, Roles and bindings are
//! applied, and the operator process runs with a TokenRequest token of that
//! ServiceAccount, so every call it makes is authorised by RBAC as in a
//! cluster.
//!
//! Tools: the real control plane, and helm built with the other Go tools.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::controlplane::{kubectl_with, unique_name};
use support::eventually;
use support::install::ChartIdentity;
use support::manifests;
use support::processes::{World, has_condition};

/// A namespace-scoped install of the chart for `world`: its Roles in the
/// world's namespace, credentials readable in its credentials namespace.
fn namespaced_install(world: &World) -> ChartIdentity {
    let release = unique_name("rbac");
    let watch = format!("watchNamespaces={{{}}}", world.namespace);
    let secrets = format!("rbac.credentialsSecretNamespaces={{{}}}", world.system_namespace);
    ChartIdentity::install(world.plane, world.dir.path(), &release, &world.namespace, &[&watch, &secrets])
}

fn apply_ok(world: &World, file: &str, manifest: &Value) {
    let output = world.apply(file, &manifest.to_string());
    assert!(output.status.success(), "kubectl apply {file}: {}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_scoped_install_converges_its_namespace_with_only_the_charts_rbac() {
    let mut world = World::start("30m");
    let identity = namespaced_install(&world);
    world.run_operators_as(identity.kubeconfig.clone(), vec![world.namespace.clone()]);
    world.start_operator();
    world.apply_examples();
    for (kind, name) in [("mt", "team-payments"), ("mt", "team-research"), ("isop", "web-isolation")] {
        world.wait_ready(kind, name).await;
    }
    world.wait_ready("isop", "payments-isolation").await;
    // The admin credentials Secret was written under the chart's RBAC too.
    assert!(world.get_json("secret", "team-payments-admin").is_some());

    // What the ServiceAccount may do elsewhere: nothing.
    let other = unique_name("elsewhere");
    world.kubectl_ok(&["create", "namespace", &other]);
    let user = identity.user();
    for (verb, resource, namespace) in [
        ("get", "secrets", other.as_str()),
        ("list", "secrets", other.as_str()),
        ("list", "microtenants.zpa.operator.dev", other.as_str()),
        ("create", "secrets", world.system_namespace.as_str()),
    ] {
        let output = world.kubectl(&["auth", "can-i", verb, resource, "-n", namespace, "--as", &user]);
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "no", "{user} may {verb} {resource} in {namespace}");
    }
    let output = world.kubectl(&["auth", "can-i", "get", "secrets", "-n", &world.system_namespace, "--as", &user]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "yes", "credentials stay readable");
    let denied = kubectl_with(&identity.kubeconfig, &["get", "secrets", "-n", &other], None);
    assert!(!denied.status.success());
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_outside_the_install_is_refused_and_said_once() {
    let mut world = World::start("30m");
    let identity = namespaced_install(&world);
    let outside = unique_name("outside");
    world.kubectl_ok(&["create", "namespace", &outside]);
    // Asked to watch a namespace its RBAC does not cover.
    world.run_operators_as(identity.kubeconfig.clone(), vec![world.namespace.clone(), outside.clone()]);
    world.start_operator();
    world.apply_provider_config();
    apply_ok(&world, "mt.json", &manifests::microtenant("inside"));
    world.wait_ready("mt", "inside").await;

    // Each forbidden watch retries with backoff; it is said once, at ERROR,
    // with what is missing, and only at DEBUG after that.
    let retries = format!("Microtenants in namespace {outside}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let log = loop {
        let log = world.operator_log();
        if log.lines().filter(|l| l.contains(&retries) && l.contains("still failing")).count() >= 2 {
            break log;
        }
        let about: Vec<&str> = log.lines().filter(|l| l.contains(&outside)).collect();
        assert!(
            tokio::time::Instant::now() < deadline,
            "the forbidden watch did not retry twice:\n{}",
            about.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let said: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ") && l.contains(&retries)).collect();
    assert_eq!(said.len(), 1, "said once:\n{}", said.join("\n"));
    assert!(
        said[0].contains("not allowed to watch") && said[0].contains("forbidden") && said[0].contains(&outside),
        "{}",
        said[0]
    );
    let reconcile_warnings = log.lines().filter(|l| l.contains("reconcile failed") && l.contains(&outside)).count();
    assert_eq!(reconcile_warnings, 0, "no watch error reaches the reconcile loop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verb_missing_from_the_charts_role_fails_clearly_and_heals_when_restored() {
    let mut world = World::start("30m");
    let identity = namespaced_install(&world);
    // The chart's Role without `patch` on the status subresources.
    let crippled: Vec<Value> = identity
        .rbac
        .iter()
        .cloned()
        .map(|mut doc| {
            if doc["kind"] == "Role" && doc["metadata"]["namespace"] == world.namespace.as_str() {
                for rule in doc["rules"].as_array_mut().into_iter().flatten() {
                    let status =
                        rule["resources"].as_array().is_some_and(|r| r.iter().any(|r| r == "microtenants/status"));
                    if status {
                        rule["verbs"] = json!(["get", "update"]);
                    }
                }
            }
            doc
        })
        .collect();
    assert_ne!(crippled, identity.rbac, "a verb was removed");
    identity.apply(world.plane, world.dir.path(), &crippled);
    world.run_operators_as(identity.kubeconfig.clone(), vec![world.namespace.clone()]);
    world.start_operator();
    world.apply_provider_config();
    apply_ok(&world, "mt.json", &manifests::microtenant("unseen"));

    let said = eventually("the operator's own message", Duration::from_secs(60), || async {
        let log = world.operator_log();
        log.lines().find(|l| l.contains("not allowed to") && l.contains("microtenants/status")).map(str::to_owned)
    })
    .await;
    assert!(said.contains("Forbidden") || said.contains("forbidden"), "{said}");
    assert!(said.contains("RBAC"), "says where to fix it: {said}");
    let object = world.get_json("mt", "unseen").expect("the Microtenant");
    assert!(!has_condition(&object, "Ready", "True", None), "not Ready without its status");

    // Restored, it converges with the one remote object it created.
    identity.apply(world.plane, world.dir.path(), &identity.rbac);
    let ready = world.wait_ready("mt", "unseen").await;
    let state = world.remote_state().await;
    let remote: Vec<&Value> =
        state["microtenants"].as_array().into_iter().flatten().filter(|m| m["name"] == "unseen").collect();
    assert_eq!(remote.len(), 1, "exactly one remote object");
    assert_eq!(ready["status"]["id"], remote[0]["id"]);
}
