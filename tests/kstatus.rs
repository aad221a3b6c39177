//! Flux's view of the operator's resources: kstatus
//! (`sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute`, what Flux's
//! `healthChecks` and `wait` use) on live custom resources of the real API
//! server.
//!
//! First with the real operator, one object per state it leaves them in:
//! in sync is Current; a failure only a person can fix (an unknown region)
//! is Failed (the operator writes `Stalled=True`); a dependency wait (a
//! profile whose Microtenant has no id yet) is InProgress (`Reconciling=True`);
//! an object the operator has not looked at yet is InProgress (the CRDs
//! default its status to `observedGeneration: 0`); a spec change not yet
//! observed is InProgress; a deletion is Terminating.
//!
//! Then statuses written by hand through the `/status` subresource (server-side
//! apply with the operator's field manager, as the operator writes them),
//! for states the operator reaches only through faults: a create in flight,
//! and the provider config's sign-in refused.
//!
//! Tools: the real control plane and the Go-built `kstatus` and `kubectl`
//! (tests/controlplane/build.sh). A missing tool fails with one line.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use support::controlplane::{ControlPlane, kubectl_with, unique_name};
use support::manifests::{microtenant, profile, with_spec};
use support::processes::{World, has_condition};
use support::tools::go_tool;

const FIELD_MANAGER: &str = "zpa-operator";
const FINALIZER: &str = "zpa.operator.dev/finalizer";

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("zpa.operator.dev", "v1alpha1", kind), plural)
}

fn condition(kind: &str, status: &str, reason: &str, message: &str, generation: i64) -> Value {
    json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "observedGeneration": generation, "lastTransitionTime": "2026-11-29T10:00:00Z",
    })
}

/// Installs the CRDs (server-side apply, so every test binary may) and waits
/// until they are served.
async fn write_status(api: &Api<DynamicObject>, kind: &str, name: &str, status: Value) {
    let patch = json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": kind, "status": status});
    api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch))
        .await
        .unwrap_or_else(|e| panic!("status of {kind} {name}: {e}"));
}

/// kstatus's verdict for every object of `kubectl get ... -o json`, by name.
fn kstatus_of(plane: &ControlPlane, args: &[&str]) -> BTreeMap<String, (String, String)> {
    let mut get = vec!["get"];
    get.extend_from_slice(args);
    get.extend(["-o", "json"]);
    let listed = plane.kubectl_ok(&get);
    let mut child = Command::new(go_tool("kstatus"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kstatus runs");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(listed.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "kstatus: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            (
                v["name"].as_str().unwrap().to_owned(),
                (v["status"].as_str().unwrap().to_owned(), v["message"].as_str().unwrap_or_default().to_owned()),
            )
        })
        .collect()
}

#[tokio::test]
async fn kstatus_on_what_the_real_operator_writes() {
    let mut world = World::start("30m");
    world.apply_provider_config();
    fn apply(world: &World, name: &str, manifest: serde_json::Value) {
        let output = world.apply(&format!("{name}.json"), &manifest.to_string());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    fn verdicts(world: &World) -> BTreeMap<String, (String, String)> {
        kstatus_of(world.plane, &["isolationprofiles,microtenants", "-n", &world.namespace])
    }
    // Applied before any operator runs: nothing has looked at it.
    apply(&world, "unobserved", profile("unobserved"));
    assert_eq!(
        verdicts(&world)["unobserved"],
        ("InProgress".to_owned(), "IsolationProfile generation is 1, but latest observed generation is 0".to_owned())
    );

    world.start_operator();
    apply(&world, "ready", microtenant("ready"));
    apply(&world, "failed", with_spec(profile("failed"), json!({"regions": ["Atlantis", "Frankfurt"]})));
    let mut paused = microtenant("paused");
    paused["metadata"]["annotations"] = json!({"zpa.operator.dev/paused": "true"});
    apply(&world, "paused", paused);
    apply(&world, "waiting", with_spec(profile("waiting"), json!({"microtenantRef": {"name": "paused"}})));
    world.wait_ready("microtenant", "ready").await;
    world.wait_ready("isolationprofile", "unobserved").await;
    world
        .wait_for("isolationprofile", "failed", "Stalled", |o| {
            has_condition(o, "Stalled", "True", Some("ReferenceNotFound"))
        })
        .await;
    world
        .wait_for("isolationprofile", "waiting", "Reconciling", |o| {
            has_condition(o, "Reconciling", "True", Some("ReferenceNotReady"))
        })
        .await;
    let found = verdicts(&world);
    assert_eq!(found["ready"].0, "Current", "{found:?}");
    assert_eq!(found["unobserved"].0, "Current", "{found:?}");
    assert_eq!(found["failed"].0, "Failed", "{found:?}");
    assert!(found["failed"].1.contains("Atlantis"), "the message says what is missing: {found:?}");
    assert_eq!(found["waiting"].0, "InProgress", "{found:?}");
    assert!(found["waiting"].1.contains("Microtenant"), "{found:?}");

    // With the operator away: a spec change not yet observed, and a deletion held by the finalizer.
    world.stop_operator();
    world.kubectl_ok(&[
        "patch",
        "microtenant",
        "ready",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"description":"changed"}}"#,
    ]);
    world.kubectl_ok(&["delete", "isolationprofile", "unobserved", "--wait=false"]);
    let found = verdicts(&world);
    assert_eq!(
        found["ready"],
        ("InProgress".to_owned(), "Microtenant generation is 2, but latest observed generation is 1".to_owned())
    );
    assert_eq!(found["unobserved"].0, "Terminating", "{found:?}");
    world.kubectl_ok(&[
        "patch",
        "isolationprofile",
        "unobserved",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
}

#[tokio::test]
async fn kstatus_on_live_resources_in_each_state() {
    let plane = ControlPlane::shared();
    let ns = unique_name("kstatus");
    plane.kubectl_ok(&["create", "namespace", &ns]);
    let client = plane.admin_client().await;
    let microtenants: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &resource("Microtenant", "microtenants"));
    let profiles: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &resource("IsolationProfile", "isolationprofiles"));
    let create = |api: &Api<DynamicObject>, kind: &str, name: &str, spec: Value, finalizer: bool| {
        let mut metadata = json!({"name": name});
        if finalizer {
            metadata["finalizers"] = json!([FINALIZER]);
        }
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec,
        }))
        .unwrap();
        let api = api.clone();
        async move { api.create(&PostParams::default(), &object).await.expect("create") }
    };
    let mt_spec = json!({"criteriaAttributeValues": ["payments.example.com"]});
    let isop_spec = json!({"regions": ["Frankfurt", "London"]});
    let ready = |generation: i64| {
        json!({
            "observedGeneration": generation, "id": "216196257331285900",
            "conditions": [
                condition("Ready", "True", "Available", "the ZPA object exists and matches the spec", generation),
                condition("Synced", "True", "ReconcileSuccess", "", generation),
            ],
        })
    };

    // Ready and in sync.
    create(&microtenants, "Microtenant", "ready", mt_spec.clone(), false).await;
    write_status(&microtenants, "Microtenant", "ready", ready(1)).await;
    // Being created (reconciling).
    create(&profiles, "IsolationProfile", "creating", isop_spec.clone(), false).await;
    write_status(
        &profiles,
        "IsolationProfile",
        "creating",
        json!({"observedGeneration": 1, "conditions": [
            condition("Ready", "False", "Creating", "creating the CBI profile", 1),
            condition("Synced", "True", "ReconcileSuccess", "", 1),
            condition("Reconciling", "True", "Creating", "creating the CBI profile", 1),
        ]}),
    )
    .await;
    // Failed with a terminal reason: needs a person.
    create(&microtenants, "Microtenant", "failed", mt_spec.clone(), false).await;
    write_status(
        &microtenants,
        "Microtenant",
        "failed",
        json!({"observedGeneration": 1, "conditions": [
            condition("Ready", "False", "Unavailable", "no ZPA object yet", 1),
            condition("Synced", "False", "InvalidSpec", "domains.does.not.belong.to.customer", 1),
            condition("Stalled", "True", "InvalidSpec", "domains.does.not.belong.to.customer", 1),
        ]}),
    )
    .await;
    // Ready once, then the spec changed: observedGeneration behind.
    create(&profiles, "IsolationProfile", "stale", isop_spec.clone(), false).await;
    write_status(&profiles, "IsolationProfile", "stale", ready(1)).await;
    let changed = json!({"spec": {"description": "changed"}});
    profiles.patch("stale", &PatchParams::default(), &Patch::Merge(&changed)).await.expect("spec change");
    // Being deleted: the finalizer holds it while the remote object goes.
    create(&microtenants, "Microtenant", "deleting", mt_spec.clone(), true).await;
    write_status(&microtenants, "Microtenant", "deleting", ready(1)).await;
    microtenants.delete("deleting", &DeleteParams::default()).await.expect("delete");
    // Not looked at yet: no status at all.
    create(&profiles, "IsolationProfile", "new", isop_spec.clone(), false).await;

    let found = kstatus_of(plane, &["isolationprofiles,microtenants", "-n", &ns]);
    let status =
        |name: &str| found.get(name).unwrap_or_else(|| panic!("no kstatus line for {name}: {found:?}")).clone();
    assert_eq!(status("ready").0, "Current", "{found:?}");
    assert_eq!(status("creating"), ("InProgress".to_owned(), "creating the CBI profile".to_owned()));
    // A failure only a person can fix: Failed, with the operator's words; Flux stops waiting.
    assert_eq!(status("failed"), ("Failed".to_owned(), "domains.does.not.belong.to.customer".to_owned()));
    assert_eq!(
        status("stale"),
        ("InProgress".to_owned(), "IsolationProfile generation is 2, but latest observed generation is 1".to_owned())
    );
    assert_eq!(status("deleting").0, "Terminating", "{found:?}");
    assert_eq!(
        status("new"),
        ("InProgress".to_owned(), "IsolationProfile generation is 1, but latest observed generation is 0".to_owned()),
        "no status written yet: the CRD's default says nothing was observed"
    );
    assert_eq!(found.len(), 6, "{found:?}");

    // The provider config: Ready=True is Current, Unauthorized is InProgress.
    let configs: Api<DynamicObject> =
        Api::all_with(client.clone(), &resource("ZpaProviderConfig", "zpaproviderconfigs"));
    let mut names = Vec::new();
    for (state, ready_condition) in [
        ("signed-in", condition("Ready", "True", "SignedIn", "signed in", 1)),
        ("refused", condition("Ready", "False", "Unauthorized", "ZPA refused the sign-in", 1)),
        ("retrying", condition("Ready", "False", "ReconcileError", "transient failure: 503", 1)),
    ] {
        let name = unique_name(&format!("kstatus-{state}"));
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig", "metadata": {"name": name},
            "spec": {"baseUrl": "http://127.0.0.1:8085", "customerId": "72057594037927936", "auth": "legacy",
                     "credentialsSecretRef": {"namespace": ns, "name": "zpa-credentials"}},
        }))
        .unwrap();
        configs.create(&PostParams::default(), &object).await.expect("create provider config");
        // As the operator writes it: Stalled beside a refused sign-in, Reconciling beside a retried one.
        let mut conditions = vec![ready_condition.clone()];
        match state {
            "refused" => conditions.push(condition("Stalled", "True", "Unauthorized", "ZPA refused the sign-in", 1)),
            "retrying" => {
                conditions.push(condition("Reconciling", "True", "ReconcileError", "transient failure: 503", 1))
            }
            _ => {}
        }
        write_status(&configs, "ZpaProviderConfig", &name, json!({"observedGeneration": 1, "conditions": conditions}))
            .await;
        names.push(name);
    }
    let mut args = vec!["zpaproviderconfigs".to_owned()];
    args.extend(names.iter().cloned());
    let found = kstatus_of(plane, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(found[&names[0]].0, "Current", "{found:?}");
    assert_eq!(found[&names[1]], ("Failed".to_owned(), "ZPA refused the sign-in".to_owned()));
    assert_eq!(found[&names[2]], ("InProgress".to_owned(), "transient failure: 503".to_owned()));

    // Clean up: let the deleting Microtenant go, remove what this test made.
    let release = json!({"metadata": {"finalizers": null}});
    microtenants.patch("deleting", &PatchParams::default(), &Patch::Merge(&release)).await.expect("drop finalizer");
    for name in names {
        configs.delete(&name, &DeleteParams::default()).await.expect("delete provider config");
    }
    let _ = kubectl_with(&plane.admin_kubeconfig(), &["delete", "namespace", &ns, "--wait=false"], None);
}
