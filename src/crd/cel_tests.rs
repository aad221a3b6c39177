//! The CRDs' CEL rules, evaluated the way the API server does (kube-cel).

use serde_json::{Value, json};

use super::{IsolationProfile, Microtenant, ZpaProviderConfig};

fn isop(spec: Value) -> IsolationProfile {
    serde_json::from_value(json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
        "metadata": {"name": "p", "namespace": "ns"}, "spec": spec}))
    .unwrap()
}

fn base_isop() -> Value {
    json!({"regions": ["Frankfurt", "London"]})
}

fn with(mut base: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn messages(result: Result<(), kube::core::cel::ValidationErrors>) -> String {
    match result {
        Ok(()) => String::new(),
        Err(errors) => format!("{errors:?}"),
    }
}

#[test]
fn isolation_profile_create_rules() {
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("plain", base_isop(), None),
        (
            "flattenedPdf with upstream",
            with(base_isop(), json!({"securityControls": {"flattenedPdf": true, "uploadDownload": "upstream"}})),
            None,
        ),
        (
            "flattenedPdf with all",
            with(base_isop(), json!({"securityControls": {"flattenedPdf": true, "uploadDownload": "all"}})),
            Some("flattenedPdf requires uploadDownload"),
        ),
        (
            "flattenedPdf without uploadDownload",
            with(base_isop(), json!({"securityControls": {"flattenedPdf": true}})),
            Some("flattenedPdf requires uploadDownload"),
        ),
        (
            "flattenedPdf off with all",
            with(base_isop(), json!({"securityControls": {"flattenedPdf": false, "uploadDownload": "all"}})),
            None,
        ),
        (
            "both scopes",
            with(base_isop(), json!({"microtenantRef": {"name": "a"}, "microtenantId": "1"})),
            Some("microtenantRef or microtenantId"),
        ),
        ("empty region name", json!({"regions": ["Frankfurt", ""]}), Some("region names must not be empty")),
        (
            "debug mode without a password",
            with(base_isop(), json!({"debugMode": {"allowed": true}})),
            Some("debugMode.allowed needs filePasswordSecretRef"),
        ),
        (
            "debug mode with a password",
            with(
                base_isop(),
                json!({"debugMode": {"allowed": true, "filePasswordSecretRef": {"name": "s", "key": "k"}}}),
            ),
            None,
        ),
        ("debug mode off without a password", with(base_isop(), json!({"debugMode": {"allowed": false}})), None),
        (
            "camera without Turbo Mode",
            with(base_isop(), json!({"securityControls": {"cameraAndMic": true}})),
            Some("cameraAndMic needs Turbo Mode"),
        ),
        (
            "camera with Turbo Mode off",
            with(base_isop(), json!({"securityControls": {"cameraAndMic": true}, "userExperience": {"zgpu": false}})),
            Some("cameraAndMic needs Turbo Mode"),
        ),
        (
            "camera with Turbo Mode",
            with(base_isop(), json!({"securityControls": {"cameraAndMic": true}, "userExperience": {"zgpu": true}})),
            None,
        ),
        ("camera off", with(base_isop(), json!({"securityControls": {"cameraAndMic": false}})), None),
    ];
    for (name, spec, want) in cases {
        let got = messages(isop(spec).validate_cel());
        match want {
            None => assert!(got.is_empty(), "{name}: unexpected {got}"),
            Some(fragment) => assert!(got.contains(fragment), "{name}: wanted {fragment:?}, got {got:?}"),
        }
    }
}

#[test]
fn isolation_profile_update_rules() {
    let cases: Vec<(&str, Value, Value, Option<&str>)> = vec![
        ("unchanged", base_isop(), base_isop(), None),
        ("description edit", base_isop(), with(base_isop(), json!({"description": "x"})), None),
        ("externalId set later", base_isop(), with(base_isop(), json!({"externalId": "u1"})), None),
        (
            "externalId changed",
            with(base_isop(), json!({"externalId": "u1"})),
            with(base_isop(), json!({"externalId": "u2"})),
            Some("externalId is immutable"),
        ),
        (
            "externalId removed",
            with(base_isop(), json!({"externalId": "u1"})),
            base_isop(),
            Some("externalId is immutable"),
        ),
        (
            "provider config changed",
            base_isop(),
            with(base_isop(), json!({"providerConfigRef": {"name": "other"}})),
            Some("providerConfigRef is immutable"),
        ),
        (
            "provider config spelled out as default",
            base_isop(),
            with(base_isop(), json!({"providerConfigRef": {"name": "default"}})),
            None,
        ),
        ("scope added", base_isop(), with(base_isop(), json!({"microtenantRef": {"name": "a"}})), Some("scope")),
        (
            "scope id changed",
            with(base_isop(), json!({"microtenantId": "1"})),
            with(base_isop(), json!({"microtenantId": "2"})),
            Some("scope"),
        ),
    ];
    for (name, old, new, want) in cases {
        let got = messages(isop(new).validate_cel_update(&isop(old)));
        match want {
            None => assert!(got.is_empty(), "{name}: unexpected {got}"),
            Some(fragment) => assert!(got.contains(fragment), "{name}: wanted {fragment:?}, got {got:?}"),
        }
    }
}

#[test]
fn microtenant_rules() {
    let mt = |spec: Value| -> Microtenant {
        serde_json::from_value(json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
            "metadata": {"name": "m", "namespace": "ns"}, "spec": spec}))
        .unwrap()
    };
    let ok = json!({"criteriaAttributeValues": ["example.com"]});
    assert_eq!(messages(mt(ok.clone()).validate_cel()), "");
    let no_domains = mt(json!({"privilegedApprovalsEnabled": true}));
    assert_eq!(messages(no_domains.validate_cel()), "", "domains are optional");
    assert_eq!(no_domains.spec.criteria_attribute_values, None);
    let bad_name = messages(mt(with(ok.clone(), json!({"name": "team/a"}))).validate_cel());
    assert!(bad_name.contains("name may hold"), "{bad_name}");
    let spaced = messages(mt(with(ok.clone(), json!({"name": "Team A_1.x-y"}))).validate_cel());
    assert_eq!(spaced, "");
    let moved =
        messages(mt(with(ok.clone(), json!({"providerConfigRef": {"name": "b"}}))).validate_cel_update(&mt(ok)));
    assert!(moved.contains("providerConfigRef is immutable"), "{moved}");
}

#[test]
fn provider_config_rules() {
    let pc = |spec: Value| -> ZpaProviderConfig {
        serde_json::from_value(json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig",
            "metadata": {"name": "default"}, "spec": spec}))
        .unwrap()
    };
    let base = json!({"customerId": "1", "auth": "legacy", "credentialsSecretRef": {"namespace": "a", "name": "b"}});
    assert_eq!(messages(pc(base.clone()).validate_cel()), "");
    let both = messages(pc(with(base.clone(), json!({"cloud": "BETA", "baseUrl": "http://x"}))).validate_cel());
    assert!(both.contains("cloud or baseUrl"), "{both}");
    let oneapi = messages(pc(with(base.clone(), json!({"auth": "oneapi"}))).validate_cel());
    assert!(oneapi.contains("vanityDomain"), "{oneapi}");
    assert_eq!(messages(pc(with(base.clone(), json!({"auth": "oneapi", "vanityDomain": "acme"}))).validate_cel()), "");
}

#[test]
fn skipping_tls_verification_needs_a_base_url() {
    let pc = |spec: Value| -> ZpaProviderConfig {
        serde_json::from_value(json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig",
            "metadata": {"name": "default"}, "spec": spec}))
        .unwrap()
    };
    let base = json!({"customerId": "1", "auth": "legacy", "credentialsSecretRef": {"namespace": "a", "name": "b"}});
    let insecure = json!({"insecureSkipTLSVerify": true});
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("insecure with a base URL", json!({"baseUrl": "https://10.0.0.1", "tls": insecure}), None),
        ("insecure with a named cloud", json!({"cloud": "BETA", "tls": insecure}), Some("insecureSkipTLSVerify")),
        ("insecure with the default cloud", json!({"tls": insecure}), Some("allowed only with baseUrl")),
        ("verification explicitly on", json!({"cloud": "BETA", "tls": {"insecureSkipTLSVerify": false}}), None),
        ("a CA bundle with a named cloud", json!({"cloud": "GOV", "tls": {"caBundle": "PEM"}}), None),
    ];
    for (name, extra, want) in cases {
        let got = messages(pc(with(base.clone(), extra)).validate_cel());
        match want {
            None => assert!(got.is_empty(), "{name}: unexpected {got}"),
            Some(fragment) => assert!(got.contains(fragment), "{name}: wanted {fragment:?}, got {got:?}"),
        }
    }
}
