//! Custom resources with extreme values: very long names, unicode, 1,000
//! regions, empty strings. The schema bounds and CEL rules, enforced by the
//! real kube-apiserver, refuse what is out of bounds with a clear message; what is in bounds, unicode included, reaches
//! ZPA and comes back unchanged.

mod support;

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use support::cluster::{Cluster, remote_microtenants_named, remote_profiles_named};
use zpa_operator::crd::{IsolationProfile, IsolationProfileSpec, Microtenant};
use zpa_operator::reconcile::diff;
use zpa_operator::reconcile::isolation_profile::{DesiredProfile, IsolationProfileKind, ResolvedReferences};
use zpa_operator::zpa::Scope;

fn profile(name: &str, spec: Value) -> Value {
    let mut manifest = json!({
        "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
        "metadata": {"name": name},
        "spec": {"regions": ["Frankfurt", "London"]}
    });
    for (key, value) in spec.as_object().unwrap() {
        manifest["spec"][key] = value.clone();
    }
    manifest
}

fn microtenant(name: &str, spec: Value) -> Value {
    let mut manifest = json!({
        "apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
        "metadata": {"name": name},
        "spec": {"criteriaAttributeValues": [format!("{name}.example.com")]}
    });
    for (key, value) in spec.as_object().unwrap() {
        manifest["spec"][key] = value.clone();
    }
    manifest
}

/// Server-side apply, returning the API server's refusal message if any.
async fn apply(cluster: &Cluster, manifest: &Value) -> Result<(), String> {
    let name = manifest["metadata"]["name"].as_str().unwrap();
    let params = PatchParams::apply("test-user").force();
    let result = match manifest["kind"].as_str().unwrap() {
        "IsolationProfile" => {
            let api: Api<IsolationProfile> = Api::namespaced(cluster.kube.clone(), &cluster.namespace);
            api.patch(name, &params, &Patch::Apply(manifest)).await.map(|_| ())
        }
        _ => {
            let api: Api<Microtenant> = Api::namespaced(cluster.kube.clone(), &cluster.namespace);
            api.patch(name, &params, &Patch::Apply(manifest)).await.map(|_| ())
        }
    };
    result.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_bounds_values_are_refused_with_a_clear_message() {
    let cluster = Cluster::start().await;
    let regions: Vec<String> = (0..1_000).map(|i| format!("Region {i}")).collect();
    let refused: Vec<(&str, Value, &str)> = vec![
        ("1,000 regions", profile("many-regions", json!({"regions": regions})), "must have at most 64 items"),
        ("one region", profile("one-region", json!({"regions": ["Frankfurt"]})), "should have at least 2 items"),
        (
            "an empty region",
            profile("empty-region", json!({"regions": ["Frankfurt", ""]})),
            "region names must not be empty",
        ),
        (
            "a 256-character region",
            profile("long-region", json!({"regions": ["Frankfurt", "r".repeat(256)]})),
            "may not be more than 255",
        ),
        ("a 256-character name", profile("long-name", json!({"name": "n".repeat(256)})), "may not be more than 255"),
        (
            "an empty name",
            profile("empty-name", json!({"name": ""})),
            "spec.name in body should be at least 1 chars long",
        ),
        (
            "a description past 4096 characters",
            profile("long-description", json!({"description": "é".repeat(4097)})),
            "may not be more than 4096",
        ),
        (
            "an empty certificate",
            profile("empty-cert", json!({"certificates": [""]})),
            "spec.certificates[0] in body should be at least 1 chars long",
        ),
        (
            "65 certificates",
            profile("many-certs", json!({"certificates": (0..65).map(|i| format!("c{i}")).collect::<Vec<_>>()})),
            "must have at most 64 items",
        ),
        (
            "an empty banner",
            profile("empty-banner", json!({"banner": ""})),
            "spec.banner in body should be at least 1 chars long",
        ),
        (
            "a 65-character externalId",
            profile("long-id", json!({"externalId": "1".repeat(65)})),
            "may not be more than 64",
        ),
        (
            "a 21-digit microtenantId",
            profile("long-scope", json!({"microtenantId": "1".repeat(21)})),
            "may not be more than 20",
        ),
        (
            "an empty domain",
            microtenant("empty-domain", json!({"criteriaAttributeValues": [""]})),
            "domains must not be empty",
        ),
        (
            "257 domains",
            microtenant(
                "many-domains",
                json!({"criteriaAttributeValues": (0..257).map(|i| format!("d{i}.example.com")).collect::<Vec<_>>()}),
            ),
            "must have at most 256 items",
        ),
        (
            "a 254-character domain",
            microtenant("long-domain", json!({"criteriaAttributeValues": [format!("{}.com", "d".repeat(250))]})),
            "may not be more than 253",
        ),
        ("a unicode Microtenant name", microtenant("unicode-mt", json!({"name": "Zürich"})), "name may hold letters"),
        (
            "a 254-character Secret name",
            microtenant("long-secret", json!({"adminCredentialsSecretRef": {"name": "s".repeat(254)}})),
            "may not be more than 253",
        ),
    ];
    for (what, manifest, fragment) in &refused {
        match apply(&cluster, manifest).await {
            Ok(()) => panic!("{what} was accepted"),
            Err(message) => {
                eprintln!("{what}: {message}");
                assert!(message.contains(fragment), "{what}: {message:?} lacks {fragment:?}");
            }
        }
    }

    // At the bounds, counted in characters, not bytes: accepted.
    let accepted = [
        profile("max-name", json!({"name": "隔".repeat(255), "description": "é".repeat(4096)})),
        profile("max-regions", json!({"regions": (0..64).map(|i| format!("Region {i}")).collect::<Vec<_>>()})),
        microtenant("max-domain", json!({"criteriaAttributeValues": [format!("{}.com", "d".repeat(249))]})),
        // No domain at all is a valid Microtenant (privileged approvals only).
        microtenant("no-domains", json!({"criteriaAttributeValues": [], "privilegedApprovalsEnabled": true})),
    ];
    for manifest in &accepted {
        apply(&cluster, manifest).await.unwrap_or_else(|e| panic!("{}: {e}", manifest["metadata"]["name"]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_names_and_descriptions_round_trip_to_zpa_unchanged() {
    let cluster = Cluster::start().await;
    // Accents, CJK, emoji (outside the BMP), right-to-left text, a combining
    // mark and a zero-width joiner: none of it may be altered on the way.
    let name = "Zürich 隔離 🔒 עברית e\u{301} 👩\u{200d}💻";
    let description = "Ünïcödé — «quotes» \"escaped\" \\ backslash\ttab 𝄞 مرحبا";
    let long_name: String = "隔".repeat(255);
    cluster.apply(profile("unicode", json!({"name": name, "description": description}))).await;
    cluster.apply(profile("long-unicode", json!({"name": long_name}))).await;
    cluster.apply(microtenant("unicode-description", json!({"description": description}))).await;

    let object = cluster.wait_ready::<IsolationProfile>("unicode").await;
    let state = cluster.remote_state().await;
    let remote = remote_profiles_named(&state, name);
    assert_eq!(remote.len(), 1, "ZPA holds the exact name: {state:#}");
    assert_eq!(remote[0]["description"], description);
    assert_eq!(object["status"]["atProvider"]["name"], name, "and it comes back unchanged");
    assert_eq!(object["status"]["atProvider"]["description"], description);

    let long = cluster.wait_ready::<IsolationProfile>("long-unicode").await;
    assert_eq!(long["status"]["atProvider"]["name"], long_name.as_str());
    assert_eq!(remote_profiles_named(&cluster.remote_state().await, &long_name).len(), 1);

    let mt = cluster.wait_ready::<Microtenant>("unicode-description").await;
    assert_eq!(mt["status"]["atProvider"]["description"], description);
    let remote_mt = remote_microtenants_named(&cluster.remote_state().await, "unicode-description");
    assert_eq!(remote_mt[0]["description"], description);

    // The unicode compares equal to the spec: a reconcile plans no update.
    let id = object["status"]["id"].as_str().unwrap();
    let read = cluster.zpa.get_profile(id, &Scope::Default).await.unwrap();
    let spec: IsolationProfileSpec =
        serde_json::from_value(profile("unicode", json!({"name": name, "description": description}))["spec"].clone())
            .unwrap();
    let refs = ResolvedReferences { region_ids: read.effective_region_ids(), ..ResolvedReferences::default() };
    let desired = DesiredProfile::new(name, &spec, refs);
    assert_eq!(diff::<IsolationProfileKind>(&desired, &read).unwrap(), vec![], "nothing to update");
}
