//! End to end: the real `zpa-operator run` process and the real `kubectl`
//! against the real kube-apiserver and the ZPA simulator process.

mod support;

use reqwest::Method;
use serde_json::json;
use support::controlplane::ControlPlane;
use support::eventually;
use support::manifests;
use support::manifests::routes::{POST_MICROTENANTS, POST_PROFILES, PUT_PROFILE};
use support::processes::{World, condition_message, has_condition};

fn remote_named(state: &serde_json::Value, collection: &str, name: &str) -> Vec<serde_json::Value> {
    let items: Vec<serde_json::Value> = match &state[collection] {
        serde_json::Value::Array(list) => list.clone(),
        serde_json::Value::Object(scopes) => {
            scopes.values().flat_map(|v| v.as_array().cloned().unwrap_or_default()).collect()
        }
        _ => Vec::new(),
    };
    items.into_iter().filter(|i| i["name"] == name).collect()
}

/// A world with the operator running and the examples applied, their four
/// managed objects Ready.
async fn examples_ready() -> World {
    let mut world = World::start("30m");
    world.start_operator();
    world.apply_examples();
    for (kind, name) in
        [("isop", "web-isolation"), ("isop", "payments-isolation"), ("mt", "team-payments"), ("mt", "team-research")]
    {
        world.wait_ready(kind, name).await;
    }
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_become_ready_with_ids_credentials_and_columns() {
    let mut world = World::start("30m");
    world.start_operator();
    world.apply_examples();

    let payments = world.wait_ready("mt", "team-payments").await;
    let research = world.wait_ready("mt", "team-research").await;
    let web = world
        .wait_for("isop", "web-isolation", "Ready with a ZPA-side id", |o| {
            has_condition(o, "Ready", "True", None) && o["status"]["zpaProfileId"].is_string()
        })
        .await;
    let scoped = world
        .wait_for("isop", "payments-isolation", "Ready with a ZPA-side id", |o| {
            has_condition(o, "Ready", "True", None) && o["status"]["zpaProfileId"].is_string()
        })
        .await;
    world.wait_ready("isop", "kiosk-watch").await;
    assert_eq!(scoped["status"]["microtenantId"], payments["status"]["id"], "scoped to its Microtenant");
    assert_eq!(web["status"]["atProvider"]["regions"][0]["name"], "Frankfurt", "region names resolved");

    // ZPA holds what the manifests say.
    let state = world.remote_state().await;
    let mt_id = payments["status"]["id"].as_str().unwrap();
    assert_eq!(state["profiles"][mt_id][0]["name"], "payments-isolation");
    assert_eq!(remote_named(&state, "microtenants", "Research")[0]["id"], research["status"]["id"]);
    assert_eq!(remote_named(&state, "profiles", "web-isolation")[0]["securityControls"]["uploadDownload"], "upstream");
    let kiosk = world.get_json("isop", "kiosk-watch").unwrap();
    assert_eq!(kiosk["status"]["id"], web["status"]["id"], "observe-only adopted the same remote profile");

    // The generated admin credentials are in their Secrets.
    for secret in ["team-payments-admin", "team-research-admin"] {
        let data = world.kubectl_ok(&["get", "secret", secret, "-o", "jsonpath={.data.username} {.data.password}"]);
        let fields: Vec<&str> = data.split_whitespace().collect();
        assert_eq!(fields.len(), 2, "{secret} has username and password: {data:?}");
    }

    // kubectl shows the printer columns.
    let table = world.kubectl_ok(&["get", "isop,mt"]);
    let header = table.lines().next().unwrap_or_default();
    for column in ["NAME", "READY", "SYNCED", "ID", "AGE"] {
        assert!(header.contains(column), "column {column} in {table}");
    }
    let web_row = table.lines().find(|l| l.contains("web-isolation")).unwrap();
    assert!(web_row.contains("True") && web_row.contains(web["status"]["id"].as_str().unwrap()), "{web_row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_one_put_and_drift_is_corrected_at_the_next_resync() {
    let mut world = World::start("3s");
    world.start_operator();
    world.apply_examples();
    world.wait_ready("isop", "web-isolation").await;
    let puts = world.route_count(PUT_PROFILE).await;

    world.kubectl_ok(&[
        "patch",
        "isop",
        "web-isolation",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"description":"edited with kubectl"}}"#,
    ]);
    let edited = world
        .wait_for("isop", "web-isolation", "the edit applied", |o| {
            o["status"]["atProvider"]["description"] == "edited with kubectl" && o["status"]["observedGeneration"] == 2
        })
        .await;
    assert!(has_condition(&edited, "Synced", "True", Some("ReconcileSuccess")));
    assert_eq!(world.route_count(PUT_PROFILE).await - puts, 1, "exactly one PUT for one edit");

    // Someone changes the profile in the ZPA portal.
    let id = edited["status"]["id"].as_str().unwrap();
    world
        .sim(
            Method::PATCH,
            &format!("/__sim/customers/72057594037927936/profiles/{id}"),
            Some(json!({"description": "changed in the portal"})),
        )
        .await;
    eventually("the drift corrected", std::time::Duration::from_secs(30), || async {
        let state = world.remote_state().await;
        (remote_named(&state, "profiles", "web-isolation")[0]["description"] == "edited with kubectl").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_remove_remote_objects_orphan_keeps_and_a_busy_microtenant_is_reported() {
    let world = examples_ready().await;

    world.kubectl_ok(&["delete", "isop", "kiosk-watch", "--wait=false"]);
    world.kubectl_ok(&["delete", "isop", "web-isolation", "--wait=true", "--timeout=60s"]);
    world.kubectl_ok(&["delete", "mt", "team-research", "--wait=true", "--timeout=60s"]);
    let state = world.remote_state().await;
    assert!(remote_named(&state, "profiles", "web-isolation").is_empty(), "deleted in ZPA");
    assert_eq!(remote_named(&state, "microtenants", "Research").len(), 1, "deletionPolicy Orphan keeps it");

    // The Microtenant still holds payments-isolation: ZPA refuses, and the user is told why.
    world.kubectl_ok(&["delete", "mt", "team-payments", "--wait=false"]);
    let refused = world
        .wait_for("mt", "team-payments", "DeleteRefused", |o| {
            has_condition(o, "Synced", "False", Some("DeleteRefused"))
        })
        .await;
    assert!(condition_message(&refused, "Synced").contains("profile"), "{}", condition_message(&refused, "Synced"));
    let events = world.kubectl_ok(&["get", "events", "-o", "json"]);
    assert!(events.contains("DeleteRefused"), "a Warning event says so");
    // Once the profile goes, the Microtenant follows.
    world.kubectl_ok(&["delete", "isop", "payments-isolation", "--wait=true", "--timeout=60s"]);
    world.wait_gone("mt", "team-payments").await;
    assert!(remote_named(&world.remote_state().await, "microtenants", "team-payments").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_killed_between_create_and_id_write_leaves_one_remote_object() {
    let mut world = World::start("30m");
    world.start_operator();
    world.apply_examples();
    world.wait_ready("mt", "team-payments").await;
    // The next Microtenant create is applied, then its answer is lost.
    world
        .sim(
            Method::PUT,
            "/__sim/faults",
            Some(json!({"dropAfterCommit": {"count": 1, "method": "POST", "path": "/microtenants"}})),
        )
        .await;
    let posts = world.route_count(POST_MICROTENANTS).await;
    let output = world.apply(
        "late.yaml",
        r#"
apiVersion: zpa.operator.dev/v1alpha1
kind: Microtenant
metadata: {name: team-late}
spec:
  criteriaAttributeValues: [late.example.com]
  adminCredentialsSecretRef: {name: team-late-admin}
"#,
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    eventually("the lost answer", std::time::Duration::from_secs(30), || async {
        world.operator_log().contains("no response to POST").then_some(())
    })
    .await;
    world.stop_operator(); // SIGKILL
    world.start_operator();
    let late = world.wait_ready("mt", "team-late").await;
    let remote = remote_named(&world.remote_state().await, "microtenants", "team-late");
    assert_eq!(remote.len(), 1, "exactly one remote object");
    assert_eq!(late["status"]["id"], remote[0]["id"]);
    assert_eq!(world.route_count(POST_MICROTENANTS).await - posts, 1, "never a second POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_manifests_are_refused_or_reported_and_nothing_is_created() {
    let world = examples_ready().await;
    let (profile_posts, microtenant_posts) =
        (world.route_count(POST_PROFILES).await, world.route_count(POST_MICROTENANTS).await);

    let refused = [
        (
            "enum.yaml",
            "spec:\n  regions: [Frankfurt, London]\n  securityControls: {copyPaste: maybe}\n",
            "Unsupported value: \"maybe\"",
        ),
        ("regions.yaml", "spec:\n  regions: [Frankfurt]\n", "should have at least 2 items"),
        (
            "cel.yaml",
            "spec:\n  regions: [Frankfurt, London]\n  securityControls: {flattenedPdf: true, uploadDownload: all}\n",
            "flattenedPdf requires uploadDownload",
        ),
        (
            "debug.yaml",
            "spec:\n  regions: [Frankfurt, London]\n  debugMode: {allowed: true}\n",
            "debugMode.allowed needs filePasswordSecretRef",
        ),
        (
            "camera.yaml",
            "spec:\n  regions: [Frankfurt, London]\n  securityControls: {cameraAndMic: true}\n",
            "cameraAndMic needs Turbo Mode",
        ),
    ];
    for (file, spec, message) in refused {
        let manifest = format!(
            "apiVersion: zpa.operator.dev/v1alpha1\nkind: IsolationProfile\nmetadata: {{name: bad-{}}}\n{spec}",
            file.trim_end_matches(".yaml")
        );
        let output = world.apply(file, &manifest);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(message), "{file}: {stderr}");
    }
    let empty_domain = world.apply("mt.yaml", "apiVersion: zpa.operator.dev/v1alpha1\nkind: Microtenant\nmetadata: {name: bad-mt}\nspec: {criteriaAttributeValues: [\"\"]}\n");
    assert!(!empty_domain.status.success(), "an empty domain is refused (no domain at all is fine)");

    // What only ZPA can know is reported in a condition with a stable reason.
    let unknown = world.apply("atlantis.yaml", "apiVersion: zpa.operator.dev/v1alpha1\nkind: IsolationProfile\nmetadata: {name: atlantis}\nspec: {regions: [Frankfurt, Atlantis]}\n");
    assert!(unknown.status.success());
    let reported = world
        .wait_for("isop", "atlantis", "ReferenceNotFound", |o| {
            has_condition(o, "Synced", "False", Some("ReferenceNotFound"))
        })
        .await;
    assert!(condition_message(&reported, "Synced").contains("Atlantis"));

    assert_eq!(world.route_count(POST_PROFILES).await, profile_posts, "no profile created remotely");
    assert_eq!(world.route_count(POST_MICROTENANTS).await, microtenant_posts, "no Microtenant created remotely");
}

/// `manifest` as the text `World::apply` takes (JSON is YAML).
fn text(manifest: &serde_json::Value) -> String {
    manifest.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_garbage_collector_removes_a_deleted_microtenants_admin_secret() {
    let mut world = World::start("30m");
    world.start_operator();
    world.apply_provider_config();
    assert!(world.apply("mt.yaml", &text(&manifests::microtenant("gc-team"))).status.success());
    let microtenant = world.wait_ready("mt", "gc-team").await;
    let secret = world.get_json("secret", "gc-team-admin").expect("the admin credentials Secret");
    assert_eq!(
        secret["metadata"]["ownerReferences"][0]["uid"], microtenant["metadata"]["uid"],
        "the Secret is owned by its Microtenant"
    );
    world.kubectl_ok(&["delete", "mt", "gc-team", "--wait=true", "--timeout=60s"]);
    assert!(remote_named(&world.remote_state().await, "microtenants", "gc-team").is_empty(), "deleted in ZPA");
    // kube-controller-manager's garbage collector, not the operator, removes it.
    eventually("the admin Secret collected", std::time::Duration::from_secs(90), || async {
        world.get_json("secret", "gc-team-admin").is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_deletes_its_remote_objects_and_the_namespace_finishes_terminating() {
    let mut world = World::start("30m");
    world.start_operator();
    world.apply_provider_config();
    let kept = manifests::with_spec(manifests::profile("ns-kept"), json!({"deletionPolicy": "Orphan"}));
    for (file, manifest) in
        [("mt", manifests::microtenant("ns-team")), ("web", manifests::profile("ns-web")), ("kept", kept)]
    {
        assert!(world.apply(&format!("{file}.yaml"), &text(&manifest)).status.success());
    }
    world.wait_ready("mt", "ns-team").await;
    world.wait_ready("isop", "ns-web").await;
    world.wait_ready("isop", "ns-kept").await;

    let namespace = world.namespace.clone();
    world.kubectl_ok(&["delete", "namespace", &namespace, "--wait=false"]);
    eventually("the namespace gone", std::time::Duration::from_secs(90), || async {
        let output = world.kubectl(&["get", "namespace", &namespace]);
        String::from_utf8_lossy(&output.stderr).contains("NotFound").then_some(())
    })
    .await;
    let state = world.remote_state().await;
    assert!(remote_named(&state, "microtenants", "ns-team").is_empty(), "the Microtenant deleted in ZPA");
    assert!(remote_named(&state, "profiles", "ns-web").is_empty(), "the profile deleted in ZPA");
    assert_eq!(remote_named(&state, "profiles", "ns-kept").len(), 1, "deletionPolicy Orphan keeps it");
}

/// A world on a plane of its own, rate limits raised so that tens of
/// objects converge in seconds, every ZPA answer `latency_ms` late.
async fn dedicated_world(latency_ms: u64) -> (&'static ControlPlane, World) {
    let plane = ControlPlane::dedicated();
    plane.install_crds();
    let mut world = World::start_on(plane, "30m", &["--get-limit", "2000", "--write-limit", "1000"]);
    world.sim(Method::PUT, "/__sim/faults", Some(json!({"latency": {"ms": latency_ms}}))).await;
    world.start_operator_with(&["--rate-limit-reads", "2000", "--rate-limit-writes", "1000"]);
    world.apply_provider_config();
    (plane, world)
}

/// Every CR of the test's namespace, by name, and how many remote objects
/// of each kind carry its name.
async fn remote_per_cr(world: &World, names: &[String]) -> Vec<(String, usize)> {
    let state = world.remote_state().await;
    names
        .iter()
        .map(|name| {
            let collection = if name.starts_with("mt-") { "microtenants" } else { "profiles" };
            (name.clone(), remote_named(&state, collection, name).len())
        })
        .collect()
}

fn many(count: usize) -> Vec<serde_json::Value> {
    (0..count)
        .flat_map(|i| [manifests::microtenant(&format!("mt-{i:02}")), manifests::profile(&format!("isop-{i:02}"))])
        .collect()
}

fn apply_all(world: &World, manifests: &[serde_json::Value]) {
    let documents: Vec<String> = manifests.iter().map(text).collect();
    let output = world.apply("many.yaml", &documents.join("\n---\n"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_restarted_mid_converge_duplicates_nothing_and_loses_no_status() {
    let (plane, world) = dedicated_world(400).await;
    let objects = many(10);
    let names: Vec<String> = objects.iter().map(|o| o["metadata"]["name"].as_str().unwrap().to_owned()).collect();
    apply_all(&world, &objects);
    // Some are done, most are not: the API server goes away under the operator.
    eventually("the first objects Ready", std::time::Duration::from_secs(60), || async {
        let ready = names.iter().filter(|n| world.get_json(kind_of(n), n).is_some_and(|o| is_ready(&o))).count();
        (ready >= 2).then_some(ready)
    })
    .await;
    let down_for = plane.restart_apiserver();
    println!("figure: kube-apiserver restarted mid-converge, ready again after {:.1} s", down_for.as_secs_f64());
    for name in &names {
        let object = world.wait_ready(kind_of(name), name).await;
        assert!(object["status"]["id"].is_string(), "{name} has its id in status");
    }
    for (name, count) in remote_per_cr(&world, &names).await {
        assert_eq!(count, 1, "{name}: exactly one remote object");
    }
    let posts = world.route_count(POST_MICROTENANTS).await + world.route_count(POST_PROFILES).await;
    assert_eq!(posts, names.len() as u64, "one POST per object, never a second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_resumed_after_an_etcd_compaction_relist_and_miss_nothing() {
    let (plane, world) = dedicated_world(0).await;
    let objects = many(3);
    let names: Vec<String> = objects.iter().map(|o| o["metadata"]["name"].as_str().unwrap().to_owned()).collect();
    apply_all(&world, &objects);
    for name in &names {
        world.wait_ready(kind_of(name), name).await;
    }
    // Writes the operator does not watch move etcd past every revision its
    // watches have seen; compacting there and restarting the API server makes
    // each watch resume from a compacted revision: 410 Gone.
    for i in 0..5 {
        world.kubectl_ok(&["create", "configmap", &format!("filler-{i}"), "-n", "default"]);
    }
    let revision = plane.compact_etcd();
    plane.restart_apiserver();
    println!("figure: etcd compacted at revision {revision}, kube-apiserver restarted");
    // Changes made right after: an edit and a new object.
    let edited = manifests::with_spec(manifests::microtenant("mt-00"), json!({"description": "after compaction"}));
    let mut more = objects.clone();
    more[0] = edited;
    more.push(manifests::profile("isop-new"));
    apply_all(&world, &more);
    world
        .wait_for("mt", "mt-00", "the edit applied", |o| {
            o["status"]["atProvider"]["description"] == "after compaction" && is_ready(o)
        })
        .await;
    world.wait_ready("isop", "isop-new").await;
    let mut all = names.clone();
    all.push("isop-new".into());
    for (name, count) in remote_per_cr(&world, &all).await {
        assert_eq!(count, 1, "{name}: exactly one remote object");
    }
    let log = world.operator_log();
    assert!(
        log.contains("resource version expired (410 Gone): listing again"),
        "a watch saw 410 Gone and listed again; log:\n{}",
        support::processes::tail(&log, 60)
    );
}

fn kind_of(name: &str) -> &'static str {
    if name.starts_with("mt-") { "mt" } else { "isop" }
}

fn is_ready(object: &serde_json::Value) -> bool {
    has_condition(object, "Ready", "True", None)
        && has_condition(object, "Synced", "True", None)
        && object["status"]["observedGeneration"] == object["metadata"]["generation"]
}

/// A provider config whose Secret holds a private key (OneAPI client
/// assertions) instead of a secret: the operator process signs in with it and
/// a Microtenant and an IsolationProfile converge through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_converge_through_a_private_key_provider_config() {
    let keys_dir = tempfile::tempdir().expect("temp dir");
    let key = support::keys::client_key();
    let public_key = keys_dir.path().join("public.pem");
    std::fs::write(&public_key, support::keys::public_pem(key)).expect("public key written");
    let flag = format!("e2e-key-client={}", public_key.display());
    let mut world = World::start_with("30m", &["--public-key-client", &flag]);
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "zpa-key-credentials", "namespace": world.system_namespace},
        "stringData": {"clientId": "e2e-key-client", "privateKey": support::keys::private_pem(key)}});
    let provider = json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig",
        "metadata": {"name": world.provider_config},
        "spec": {"baseUrl": world.sim_url, "customerId": "72057594037927936", "auth": "oneapi",
                 "vanityDomain": "acme",
                 "credentialsSecretRef": {"namespace": world.system_namespace, "name": "zpa-key-credentials"}}});
    let objects = [secret, provider, manifests::microtenant("keyed-team"), manifests::profile("keyed-web")];
    let text: Vec<String> = objects.iter().map(|o| o.to_string()).collect();
    let applied = world.apply("private-key.yaml", &text.join("\n---\n"));
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    world.start_operator();

    let provider = world
        .wait_for("zpapc", &world.provider_config, "Ready", |o| has_condition(o, "Ready", "True", Some("SignedIn")))
        .await;
    assert_eq!(provider["status"]["customerName"], "zscaler");
    world.wait_ready("mt", "keyed-team").await;
    world.wait_ready("isop", "keyed-web").await;
    let state = world.remote_state().await;
    assert_eq!(remote_named(&state, "microtenants", "keyed-team").len(), 1);
    assert_eq!(remote_named(&state, "profiles", "keyed-web").len(), 1);
    assert!(world.route_count("POST /oauth2/v1/token").await >= 1, "signed in at the OneAPI token endpoint");
    assert_eq!(world.route_count("POST /signin").await, 0, "no legacy sign-in");
    let log = world.operator_log();
    let body: String = support::keys::private_pem(key).lines().filter(|l| !l.starts_with("-----")).take(2).collect();
    assert!(!log.contains(&body), "the private key is in no log line");
}
