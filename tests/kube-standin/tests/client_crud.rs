//! kube's client against the stand-in: CRUD and metadata, errors as `Status` objects,
//! selectors and pagination, Secrets, Leases, discovery and OpenAPI, field validation.

mod common;

use common::{IsolationProfile, Microtenant, MicrotenantSpec};
use common::{Kubectl, api_code, install_crds, profile, raw, start};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::ObjectMeta;
use kube::discovery::{Discovery, Scope};
use serde_json::json;
use std::collections::BTreeMap;

fn rv_of(meta: &ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no numeric resourceVersion: {meta:?}"))
}

#[tokio::test]
async fn crud_metadata_and_resource_versions() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");

    let created = api
        .create(&PostParams::default(), &profile("p1", "One", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.spec.max_session_minutes, Some(30), "default applied");
    let rv1 = rv_of(&created.metadata);

    // a second object of another kind takes the next revision of the same counter
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let s = secrets
        .create(
            &PostParams::default(),
            &Secret { metadata: ObjectMeta { name: Some("s".into()), ..Default::default() }, ..Default::default() },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(rv_of(&s.metadata) > rv1);
    assert_eq!(s.metadata.generation, None, "Secrets have no generation");

    // spec change bumps generation, metadata-only change does not
    let mut p = created.clone();
    p.spec.description = Some("changed".into());
    let p2 = api.replace("p1", &PostParams::default(), &p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p2.metadata.generation, Some(2));
    assert!(rv_of(&p2.metadata) > rv_of(&s.metadata));
    let p3 = api
        .patch("p1", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p3.metadata.generation, Some(2));

    // a no-op write does not bump the revision
    let p4 = api
        .patch("p1", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p4.metadata.resource_version, p3.metadata.resource_version);

    // stale resourceVersion on PUT -> 409 Conflict
    let stale = api.replace("p1", &PostParams::default(), &p).await;
    let st = api_code(stale);
    assert_eq!((st.code, st.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        st.message,
        "Operation cannot be fulfilled on isolationprofiles.zpa.operator.dev \"p1\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // ... and on a merge patch carrying a stale resourceVersion
    let st = api_code(
        api.patch(
            "p1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "spec": {"description": "x"}})),
        )
        .await,
    );
    assert_eq!(st.code, 409);

    // 404 and 409 AlreadyExists with details
    let st = api_code(api.get("missing").await);
    assert_eq!((st.code, st.reason.as_str()), (404, "NotFound"));
    assert_eq!(st.message, "isolationprofiles.zpa.operator.dev \"missing\" not found");
    let details = st.details.unwrap_or_else(|| panic!("details"));
    assert_eq!(
        (details.name.as_str(), details.group.as_str(), details.kind.as_str()),
        ("missing", "zpa.operator.dev", "isolationprofiles")
    );
    let st = api_code(api.create(&PostParams::default(), &profile("p1", "One", &["us-east", "eu-west"])).await);
    assert_eq!((st.code, st.reason.as_str()), (409, "AlreadyExists"));

    // generateName
    let mut g = profile("", "Gen", &["us-east", "eu-west"]);
    g.metadata.name = None;
    g.metadata.generate_name = Some("gen-".into());
    let g = api.create(&PostParams::default(), &g).await.unwrap_or_else(|e| panic!("{e}"));
    let gname = g.metadata.name.unwrap_or_default();
    assert!(gname.starts_with("gen-") && gname.len() == 9, "{gname}");

    // namespace from the URL; a different body namespace is a 400
    let mut other = profile("p9", "Nine", &["us-east", "eu-west"]);
    other.metadata.namespace = Some("kube-system".into());
    let st = api_code(api.create(&PostParams::default(), &other).await);
    assert_eq!(st.code, 400);
    assert!(st.message.contains("does not match the namespace"), "{}", st.message);
    other.metadata.namespace = None;
    let created = api.create(&PostParams::default(), &other).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));

    // unknown namespace
    let missing_ns: Api<IsolationProfile> = Api::namespaced(client.clone(), "nowhere");
    let mut x = profile("x", "X", &["us-east", "eu-west"]);
    x.metadata.namespace = None;
    let st = api_code(missing_ns.create(&PostParams::default(), &x).await);
    assert_eq!(st.code, 404);
    assert_eq!(st.message, "namespaces \"nowhere\" not found");

    // delete without finalizers removes at once
    api.delete("p9", &DeleteParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api_code(api.get("p9").await).code, 404);
}

#[tokio::test]
async fn invalid_objects_are_422_with_causes() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    let st = api_code(api.create(&PostParams::default(), &profile("bad", "Bad", &["us-east"])).await);
    assert_eq!((st.code, st.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        st.message,
        "IsolationProfile.zpa.operator.dev \"bad\" is invalid: spec.regions: Invalid value: 1: spec.regions in body should have at least 2 items"
    );
    let details = st.details.unwrap_or_else(|| panic!("details"));
    assert_eq!(details.kind, "IsolationProfile");
    assert_eq!(details.causes.len(), 1);
    assert_eq!(details.causes[0].field, "spec.regions");
    assert_eq!(details.causes[0].reason, "FieldValueInvalid");

    // several errors are aggregated in brackets
    let mut p = profile("bad2", "", &["US", "eu-west", "x-y", "a-b", "c-d", "e-f"]);
    p.spec.max_session_minutes = Some(0);
    let st = api_code(api.create(&PostParams::default(), &p).await);
    assert!(st.message.starts_with("IsolationProfile.zpa.operator.dev \"bad2\" is invalid: ["), "{}", st.message);
    for part in [
        "spec.name: Invalid value: \"\": spec.name in body should be at least 1 chars long",
        "spec.regions: Too many: 6: must have at most 5 items",
        "spec.regions[0]: Invalid value: \"US\": spec.regions[0] in body should match '^[a-z]{2}-[a-z]+$'",
        "spec.maxSessionMinutes: Invalid value: 0: spec.maxSessionMinutes in body should be greater than or equal to 1",
    ] {
        assert!(st.message.contains(part), "missing {part:?} in {}", st.message);
    }

    // wrong types, missing required fields, duplicates in a set, bad name
    let dynamic = json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
        "metadata": {"name": "Bad_Name"}, "spec": {"regions": ["us-east", "us-east"], "maxSessionMinutes": "ten"}});
    let raw_api: Api<kube::api::DynamicObject> =
        Api::namespaced_with(client.clone(), "default", &kube::api::ApiResource::erase::<IsolationProfile>(&()));
    let obj: kube::api::DynamicObject = serde_json::from_value(dynamic).unwrap_or_else(|e| panic!("{e}"));
    let st = api_code(raw_api.create(&PostParams::default(), &obj).await);
    for part in [
        "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain",
        "spec.name: Required value",
        "spec.regions[1]: Duplicate value: \"us-east\"",
        "spec.maxSessionMinutes: Invalid value: \"string\": spec.maxSessionMinutes in body must be of type integer: \"string\"",
    ] {
        assert!(st.message.contains(part), "missing {part:?} in {}", st.message);
    }

    // CEL: cross-field rule on create, transition rule on update only
    let mut p = profile("cel", "Cel", &["us-east", "eu-west"]);
    p.spec.max_session_minutes = Some(120);
    p.spec.security_controls = Some(common::SecurityControls { copy_paste: Some("all".into()), upload: None });
    let st = api_code(api.create(&PostParams::default(), &p).await);
    assert!(st.message.contains("spec.maxSessionMinutes: Invalid value: \"integer\": maxSessionMinutes must be at most 60 when copyPaste is all"), "{}", st.message);
    p.spec.max_session_minutes = Some(60);
    api.create(&PostParams::default(), &p).await.unwrap_or_else(|e| panic!("{e}"));
    let st =
        api_code(api.patch("cel", &PatchParams::default(), &Patch::Merge(json!({"spec": {"name": "Other"}}))).await);
    assert_eq!(st.code, 422);
    assert!(st.message.contains("spec.name: Invalid value: \"string\": name is immutable"), "{}", st.message);

    // CEL `reason` selects the error type
    let tenants: Api<Microtenant> = Api::namespaced(client.clone(), "default");
    let m = Microtenant::new("t", MicrotenantSpec { description: Some("forbidden words".into()), enabled: None });
    let st = api_code(tenants.create(&PostParams::default(), &m).await);
    assert_eq!(
        st.message,
        "Microtenant.zpa.operator.dev \"t\" is invalid: spec.description: Forbidden: description must not start with 'forbidden'"
    );
    let details = st.details.unwrap_or_else(|| panic!("details"));
    assert_eq!(details.causes[0].reason, "FieldValueForbidden");

    // status is validated too, through the status subresource
    let st = api_code(
        api.patch_status(
            "cel",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [{"type": "Ready", "status": "Maybe"}]}})),
        )
        .await,
    );
    assert!(st.message.contains("status.conditions[0].status: Unsupported value: \"Maybe\": supported values: \"True\", \"False\", \"Unknown\""), "{}", st.message);
}

#[tokio::test]
async fn field_validation_strict_warn_ignore() {
    let server = start().await;
    install_crds(&server.kube_client()).await;
    let path = "/apis/zpa.operator.dev/v1alpha1/namespaces/default/isolationprofiles";
    let body = |name: &str| {
        json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
            "metadata": {"name": name}, "spec": {"name": "n", "regions": ["us-east", "eu-west"], "foo": 1, "bar": {"x": 1}}})
        .to_string()
    };
    let ct = [("Content-Type", "application/json")];
    let strict = raw(&server, "POST", &format!("{path}?fieldValidation=Strict"), &ct, &body("a")).await;
    assert_eq!(strict.status, 400);
    assert_eq!(
        strict.json()["message"],
        "IsolationProfile in version \"v1alpha1\" cannot be handled as a IsolationProfile: strict decoding error: unknown field \"spec.foo\", unknown field \"spec.bar\""
    );
    let warn = raw(&server, "POST", &format!("{path}?fieldValidation=Warn"), &ct, &body("b")).await;
    assert_eq!(warn.status, 201);
    let warnings: Vec<&str> =
        warn.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("warning")).map(|(_, v)| v.as_str()).collect();
    assert_eq!(warnings, vec!["299 - \"unknown field \\\"spec.foo\\\"\"", "299 - \"unknown field \\\"spec.bar\\\"\""]);
    assert!(warn.json()["spec"].get("foo").is_none(), "pruned");
    let ignore = raw(&server, "POST", &format!("{path}?fieldValidation=Ignore"), &ct, &body("c")).await;
    assert_eq!(ignore.status, 201);
    assert!(ignore.header("warning").is_none());
    assert!(ignore.json()["spec"].get("bar").is_none(), "pruned");

    // built-in kinds: unknown fields through the typed decoding
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "bogus": true}).to_string();
    let r = raw(&server, "POST", "/api/v1/namespaces/default/secrets?fieldValidation=Strict", &ct, &secret).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("strict decoding error: unknown field \\\"bogus\\\""), "{}", r.body);

    // malformed bodies and unknown paths are Status objects too
    let r = raw(&server, "POST", "/api/v1/namespaces/default/secrets", &ct, "{not json").await;
    assert_eq!((r.status, r.json()["kind"].as_str()), (400, Some("Status")));
    let r = raw(&server, "GET", "/apis/nope.example.com/v1/things", &[], "").await;
    assert_eq!((r.status, r.json()["reason"].as_str()), (404, Some("NotFound")));
    let r = raw(
        &server,
        "PATCH",
        &format!("{path}/b"),
        &[("Content-Type", "application/strategic-merge-patch+json")],
        "{}",
    )
    .await;
    assert_eq!((r.status, r.json()["reason"].as_str()), (415, Some("UnsupportedMediaType")));
}

#[tokio::test]
async fn selectors_pagination_and_all_namespaces() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta { name: Some("second".into()), ..Default::default() },
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (ns, name, tier) in
        [("default", "a", "front"), ("default", "b", "back"), ("default", "c", "front"), ("second", "d", "db")]
    {
        let api: Api<Microtenant> = Api::namespaced(client.clone(), ns);
        let mut m = Microtenant::new(name, MicrotenantSpec::default());
        m.metadata.labels = Some(BTreeMap::from([("tier".to_string(), tier.to_string())]));
        if name != "b" {
            m.metadata.labels.get_or_insert_default().insert("team".into(), "x".into());
        }
        api.create(&PostParams::default(), &m).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let api: Api<Microtenant> = Api::namespaced(client.clone(), "default");
    let names = |l: kube::api::ObjectList<Microtenant>| -> Vec<String> {
        l.items.into_iter().filter_map(|i| i.metadata.name).collect()
    };
    for (sel, want) in [
        ("tier=front", vec!["a", "c"]),
        ("tier==front", vec!["a", "c"]),
        ("tier!=front", vec!["b"]),
        ("tier in (back,db)", vec!["b"]),
        ("tier notin (front)", vec!["b"]),
        ("team", vec!["a", "c"]),
        ("!team", vec!["b"]),
    ] {
        let got = names(api.list(&ListParams::default().labels(sel)).await.unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(got, want, "{sel}");
    }
    let got = names(api.list(&ListParams::default().fields("metadata.name=b")).await.unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(got, vec!["b"]);
    let got = names(
        api.list(&ListParams::default().fields("metadata.name!=b,spec.enabled=true"))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(got, vec!["a", "c"]);

    // across namespaces
    let all: Api<Microtenant> = Api::all(client.clone());
    let everything = all.list(&ListParams::default()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(everything.items.len(), 4);
    let ns_sel =
        all.list(&ListParams::default().fields("metadata.namespace=second")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(ns_sel), vec!["d"]);

    // pagination
    let page1 = all.list(&ListParams::default().limit(3)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page1.items.len(), 3);
    let token = page1.metadata.continue_.clone().unwrap_or_default();
    assert!(!token.is_empty());
    assert_eq!(page1.metadata.remaining_item_count, Some(1));
    let list_rv = page1.metadata.resource_version.clone();
    assert!(list_rv.is_some());
    let page2 =
        all.list(&ListParams::default().limit(3).continue_token(&token)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(page2.clone()), vec!["d"]);
    assert!(page2.metadata.continue_.is_none_or(|c| c.is_empty()));
    assert_eq!(page2.metadata.resource_version, list_rv);

    let st = api_code(api.list(&ListParams::default().labels("a b c")).await);
    assert_eq!(st.code, 400);
}

#[tokio::test]
async fn secrets_fold_string_data_and_leases_conflict() {
    let server = start().await;
    let client = server.kube_client();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let s = Secret {
        metadata: ObjectMeta { name: Some("creds".into()), ..Default::default() },
        string_data: Some(BTreeMap::from([("token".to_string(), "abc".to_string())])),
        ..Default::default()
    };
    let created = secrets.create(&PostParams::default(), &s).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(created.string_data.is_none());
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    let data = created.data.clone().unwrap_or_default();
    assert_eq!(data.get("token").map(|b| b.0.clone()), Some(b"abc".to_vec()));

    // SSA with stringData, then dropping a key removes it
    let applied = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
        "stringData": {"token": "abc", "extra": "1"}});
    let after = secrets
        .patch("creds", &PatchParams::apply("op").force(), &Patch::Apply(&applied))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after.data.clone().unwrap_or_default().len(), 2);
    let applied =
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"token": "abc"}});
    let after = secrets
        .patch("creds", &PatchParams::apply("op").force(), &Patch::Apply(&applied))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let keys: Vec<String> = after.data.unwrap_or_default().into_keys().collect();
    assert_eq!(keys, vec!["token"]);

    // strategic merge patch is accepted for built-ins
    let smp = json!({"metadata": {"labels": {"l": "1"}}, "data": {"more": "eA=="}});
    let after = secrets
        .patch("creds", &PatchParams::default(), &Patch::Strategic(&smp))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after.data.unwrap_or_default().len(), 2);

    // Leases: update with stale resourceVersion conflicts (leader election relies on it)
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let lease = leases
        .create(
            &PostParams::default(),
            &Lease {
                metadata: ObjectMeta { name: Some("leader".into()), ..Default::default() },
                spec: Some(LeaseSpec {
                    holder_identity: Some("a".into()),
                    lease_duration_seconds: Some(15),
                    ..Default::default()
                }),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut mine = lease.clone();
    mine.spec.get_or_insert_default().holder_identity = Some("b".into());
    leases.replace("leader", &PostParams::default(), &mine).await.unwrap_or_else(|e| panic!("{e}"));
    let mut theirs = lease.clone();
    theirs.spec.get_or_insert_default().holder_identity = Some("c".into());
    let st = api_code(leases.replace("leader", &PostParams::default(), &theirs).await);
    assert_eq!(st.code, 409);
    let ssa = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"},
        "spec": {"holderIdentity": "d"}});
    let after = leases
        .patch("leader", &PatchParams::apply("elector").force(), &Patch::Apply(&ssa))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after.spec.and_then(|s| s.holder_identity).as_deref(), Some("d"));
}

#[tokio::test]
async fn discovery_legacy_and_aggregated() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    // CRDs are established at once, as kube's await_condition sees it
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let crd = kube::runtime::wait::await_condition(
        crds.clone(),
        "isolationprofiles.zpa.operator.dev",
        kube::runtime::wait::conditions::is_crd_established(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|| panic!("CRD missing"));
    let status = crd.status.unwrap_or_default();
    let conds: Vec<(String, String)> =
        status.conditions.unwrap_or_default().into_iter().map(|c| (c.type_, c.status)).collect();
    assert!(conds.contains(&("NamesAccepted".into(), "True".into())), "{conds:?}");
    assert!(conds.contains(&("Established".into(), "True".into())), "{conds:?}");
    assert_eq!(status.accepted_names.and_then(|n| n.short_names), Some(vec!["isop".to_string()]));
    assert_eq!(status.stored_versions, Some(vec!["v1alpha1".to_string()]));

    for aggregated in [false, true] {
        let discovery = if aggregated {
            Discovery::new(client.clone()).run_aggregated().await
        } else {
            Discovery::new(client.clone()).run().await
        }
        .unwrap_or_else(|e| panic!("discovery (aggregated={aggregated}): {e}"));
        let group = discovery.get(common::GROUP).unwrap_or_else(|| panic!("no zpa group"));
        let (ar, caps) = group
            .recommended_resources()
            .into_iter()
            .find(|(ar, _)| ar.kind == "IsolationProfile")
            .unwrap_or_else(|| panic!("no IsolationProfile"));
        assert_eq!(ar.plural, "isolationprofiles");
        assert_eq!(caps.scope, Scope::Namespaced);
        assert!(
            caps.subresources.iter().any(|(sub, _)| sub.plural == "isolationprofiles/status" || sub.plural == "status"),
            "{:?}",
            caps.subresources
        );
        for (g, kind) in [
            ("", "Secret"),
            ("", "Namespace"),
            ("", "Event"),
            ("events.k8s.io", "Event"),
            ("coordination.k8s.io", "Lease"),
            ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ] {
            let grp = discovery.get(g).unwrap_or_else(|| panic!("no group {g:?}"));
            assert!(grp.recommended_resources().iter().any(|(ar, _)| ar.kind == kind), "{g}/{kind}");
        }
    }
    let list = raw(&server, "GET", "/apis/zpa.operator.dev/v1alpha1", &[], "").await.json();
    let res = list["resources"].as_array().cloned().unwrap_or_default();
    let isop = res.iter().find(|r| r["name"] == "isolationprofiles").cloned().unwrap_or_default();
    assert_eq!(isop["shortNames"], json!(["isop"]));
    assert_eq!(isop["categories"], json!(["zpa"]));
    assert_eq!(isop["singularName"], "isolationprofile");
    assert_eq!(isop["namespaced"], true);
    assert!(res.iter().any(|r| r["name"] == "isolationprofiles/status"));
    assert!(!res.iter().any(|r| r["name"] == "microtenants/status"));
    let v = raw(&server, "GET", "/version", &[], "").await.json();
    assert_eq!((v["major"].as_str(), v["minor"].as_str()), (Some("1"), Some("32")));
    let agg = raw(
        &server,
        "GET",
        "/apis",
        &[("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")],
        "",
    )
    .await;
    assert_eq!(
        agg.header("content-type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    let legacy = raw(&server, "GET", "/apis", &[("Accept", "application/json")], "").await;
    assert_eq!(legacy.json()["kind"], "APIGroupList");

    let root = raw(&server, "GET", "/openapi/v3", &[], "").await.json();
    let url =
        root["paths"]["apis/zpa.operator.dev/v1alpha1"]["serverRelativeURL"].as_str().unwrap_or_default().to_string();
    assert!(url.starts_with("/openapi/v3/apis/zpa.operator.dev/v1alpha1?hash="), "{root}");
    let doc = raw(&server, "GET", &url, &[], "").await.json();
    let patch =
        &doc["paths"]["/apis/zpa.operator.dev/v1alpha1/namespaces/{namespace}/isolationprofiles/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "IsolationProfile");
    assert!(patch["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["name"] == "fieldValidation")));
}

#[tokio::test]
async fn kubectl_and_client_share_state() {
    // a quick cross-check that kubectl sees what the client wrote (and vice versa)
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &profile("shared", "Shared", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let k = Kubectl::new(&server);
    let out = k.ok(&["get", "isolationprofile", "shared", "-o", "jsonpath={.spec.name}"]).await;
    assert_eq!(out, "Shared");
    k.ok(&["label", "isop", "shared", "seen=yes"]).await;
    let p = api.get("shared").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.metadata.labels.unwrap_or_default().get("seen").map(String::as_str), Some("yes"));
}

#[tokio::test]
async fn tables_for_kubectl_get() {
    let server = start().await;
    let client = server.kube_client();
    install_crds(&client).await;
    let api: Api<IsolationProfile> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &profile("t1", "T", &["us-east", "eu-west"]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
        "status": {"id": "id-1", "conditions": [{"type": "Synced", "status": "True"}, {"type": "Ready", "status": "False"}]}});
    api.patch_status("t1", &PatchParams::apply("op").force(), &Patch::Apply(&status))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let accept = [(
        "Accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
    )];
    let path = "/apis/zpa.operator.dev/v1alpha1/namespaces/default/isolationprofiles";
    let r = raw(&server, "GET", path, &accept, "").await;
    assert_eq!(r.header("content-type"), Some("application/json;as=Table;v=v1;g=meta.k8s.io"));
    let t = r.json();
    assert_eq!((t["kind"].as_str(), t["apiVersion"].as_str()), (Some("Table"), Some("meta.k8s.io/v1")));
    let cols: Vec<&str> =
        t["columnDefinitions"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(cols, vec!["Name", "Ready", "Synced", "ID", "Age"]);
    let row = &t["rows"][0];
    let cells = row["cells"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        cells.get(..4).map(<[serde_json::Value]>::to_vec),
        Some(vec![json!("t1"), json!("False"), json!("True"), json!("id-1")])
    );
    assert!(row["cells"][4].as_str().is_some_and(|age| age.ends_with('s')), "{row}");
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert!(row["object"].get("spec").is_none());

    let full = raw(&server, "GET", &format!("{path}/t1?includeObject=Object"), &accept, "").await.json();
    assert_eq!(full["rows"][0]["object"]["spec"]["name"], "T");
    let none = raw(&server, "GET", &format!("{path}?includeObject=None"), &accept, "").await.json();
    assert!(none["rows"][0].get("object").is_none());

    // built-in columns
    let secrets = raw(&server, "GET", "/api/v1/namespaces", &accept, "").await.json();
    let cols: Vec<&str> =
        secrets["columnDefinitions"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(cols, vec!["Name", "Status", "Age"]);
}
