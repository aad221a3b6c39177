//! Flux's view of the operator's resources: kstatus
//! (`sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute`, what Flux's
//! `healthChecks` and `wait` use) on live custom resources of the real API
//! server, one per state the operator leaves them in. The status is written
//! through the `/status` subresource by server-side apply with the operator's
//! field manager, as the operator writes it; no operator runs.
//!
//! What kstatus says, state by state (and so what the README promises):
//! Ready=True is Current; Ready=False is InProgress whatever the reason, a
//! terminal one included (kstatus calls Failed only a `Stalled=True`
//! condition, which the operator does not write); an observedGeneration behind
//! the generation is InProgress; a deletion is Terminating; and an object
//! without any status yet is Current.
//!
//! Tools: the real control plane and the Go-built `kstatus` and `kubectl`
//! (tests/controlplane/build.sh). A missing tool fails with one line.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use support::controlplane::{ControlPlane, kubectl_with, unique_name};
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
    // A terminal failure is InProgress to kstatus, not Failed: Flux waits for
    // its timeout. (Failed needs a Stalled=True condition.)
    assert_eq!(status("failed"), ("InProgress".to_owned(), "no ZPA object yet".to_owned()));
    assert_eq!(
        status("stale"),
        ("InProgress".to_owned(), "IsolationProfile generation is 2, but latest observed generation is 1".to_owned())
    );
    assert_eq!(status("deleting").0, "Terminating", "{found:?}");
    assert_eq!(
        status("new"),
        ("Current".to_owned(), "Resource is current".to_owned()),
        "no status yet reads as Current"
    );
    assert_eq!(found.len(), 6, "{found:?}");

    // The provider config: Ready=True is Current, Unauthorized is InProgress.
    let configs: Api<DynamicObject> =
        Api::all_with(client.clone(), &resource("ZpaProviderConfig", "zpaproviderconfigs"));
    let mut names = Vec::new();
    for (state, ready_condition) in [
        ("signed-in", condition("Ready", "True", "SignedIn", "signed in", 1)),
        ("refused", condition("Ready", "False", "Unauthorized", "ZPA refused the sign-in", 1)),
    ] {
        let name = unique_name(&format!("kstatus-{state}"));
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig", "metadata": {"name": name},
            "spec": {"baseUrl": "http://127.0.0.1:8085", "customerId": "72057594037927936", "auth": "legacy",
                     "credentialsSecretRef": {"namespace": ns, "name": "zpa-credentials"}},
        }))
        .unwrap();
        configs.create(&PostParams::default(), &object).await.expect("create provider config");
        write_status(
            &configs,
            "ZpaProviderConfig",
            &name,
            json!({"observedGeneration": 1, "conditions": [ready_condition]}),
        )
        .await;
        names.push(name);
    }
    let mut args = vec!["zpaproviderconfigs".to_owned()];
    args.extend(names.iter().cloned());
    let found = kstatus_of(plane, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(found[&names[0]].0, "Current", "{found:?}");
    assert_eq!(found[&names[1]], ("InProgress".to_owned(), "ZPA refused the sign-in".to_owned()));

    // Clean up: let the deleting Microtenant go, remove what this test made.
    let release = json!({"metadata": {"finalizers": null}});
    microtenants.patch("deleting", &PatchParams::default(), &Patch::Merge(&release)).await.expect("drop finalizer");
    for name in names {
        configs.delete(&name, &DeleteParams::default()).await.expect("delete provider config");
    }
    let _ = kubectl_with(&plane.admin_kubeconfig(), &["delete", "namespace", &ns, "--wait=false"], None);
}
