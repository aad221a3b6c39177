//! No secret ever leaves its Secret: the operator process runs a whole
//! create/update/delete cycle, plus a failing sign-in, at TRACE log level,
//! and no client secret, bearer token, Microtenant admin password or debug
//! file password shows up in its log, in Events, in any status, in /metrics
//! or in an error message.

mod support;

use std::time::Duration;

use base64::Engine as _;
use rand::Rng as _;
use serde_json::{Value, json};
use support::controlplane::unique_name;
use support::eventually;
use support::processes::{World, has_condition};

fn random_secret(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::rng().random();
    format!("{prefix}-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn apply_json(world: &World, file: &str, manifest: &Value) {
    let output = world.apply(file, &manifest.to_string());
    assert!(output.status.success(), "kubectl apply {file}: {}", String::from_utf8_lossy(&output.stderr));
}

fn secret(namespace: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "stringData": data})
}

fn provider_config(world: &World, name: &str, customer_id: &str, secret: &str) -> Value {
    json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig", "metadata": {"name": name},
        "spec": {"baseUrl": world.sim_url, "customerId": customer_id, "auth": "legacy",
                 "credentialsSecretRef": {"namespace": world.system_namespace, "name": secret}}})
}

fn microtenant(name: &str, provider: &str, description: &str) -> Value {
    json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "Microtenant",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"providerConfigRef": {"name": provider}, "description": description,
                 "criteriaAttributeValues": [format!("{name}.example.com")],
                 "adminCredentialsSecretRef": {"name": format!("{name}-admin")}}})
}

fn profile(name: &str, provider: &str, description: &str) -> Value {
    json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"providerConfigRef": {"name": provider}, "description": description,
                 "regions": ["Frankfurt", "London"],
                 "debugMode": {"allowed": true, "filePasswordSecretRef": {"name": "debug-password", "key": "password"}}}})
}

/// Every live token the simulator issued to `customer_id`.
async fn tokens_of(world: &World, customer_id: &str) -> Vec<String> {
    let tokens = world.sim(reqwest::Method::GET, "/__sim/tokens", None).await;
    tokens
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["customerId"] == customer_id)
        .filter_map(|t| t["token"].as_str().map(str::to_owned))
        .collect()
}

/// Everything the operator shows to anyone but the Secrets themselves.
async fn everything_visible(world: &World, metrics_url: &str) -> Vec<(&'static str, String)> {
    let metrics = reqwest::get(metrics_url).await.expect("scrape /metrics").text().await.expect("metrics text");
    vec![
        ("operator log", world.operator_log()),
        ("events", world.kubectl_ok(&["get", "events", "-A", "-o", "json"])),
        ("events (events.k8s.io)", world.kubectl_ok(&["get", "events.v1.events.k8s.io", "-A", "-o", "json"])),
        ("custom resources", world.kubectl_ok(&["get", "zpapc,mt,isop", "-A", "-o", "json"])),
        ("/metrics", metrics),
    ]
}

/// The log without terminal colour codes.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

/// Fails with where a secret showed up (by its name, never its value).
fn assert_no_secret(places: &[(&'static str, String)], secrets: &[(String, String)]) {
    let b64 = base64::engine::general_purpose::STANDARD;
    for (place, text) in places {
        for (what, value) in secrets {
            assert!(!text.contains(value.as_str()), "the {what} appears in the {place}");
            let encoded = b64.encode(value);
            assert!(!text.contains(&encoded), "the {what} appears base64-encoded in the {place}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_logs_events_status_metrics_or_errors_at_trace_level() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut world = World::start("10m");
    let metrics_url = world.start_operator_at_log_level("trace").await;

    // A tenant whose API key is random, so any occurrence is a leak.
    let client_secret = random_secret("client-secret");
    let wrong_secret = random_secret("wrong-secret");
    let customer = world
        .sim(
            reqwest::Method::POST,
            "/__sim/customers",
            Some(json!({"clientId": "leak-test-client", "clientSecret": client_secret})),
        )
        .await;
    let customer_id = customer["customerId"].as_str().expect("customer id").to_owned();
    let debug_password = random_secret("debug-password");
    let rotated_debug_password = random_secret("debug-password-2");

    apply_json(
        &world,
        "credentials.json",
        &secret(
            &world.system_namespace,
            "leak-credentials",
            json!({"clientId": "leak-test-client", "clientSecret": client_secret}),
        ),
    );
    apply_json(
        &world,
        "wrong.json",
        &secret(
            &world.system_namespace,
            "wrong-credentials",
            json!({"clientId": "leak-test-client", "clientSecret": wrong_secret}),
        ),
    );
    apply_json(&world, "debug.json", &secret(&world.namespace, "debug-password", json!({"password": debug_password})));
    let (leak, leak_wrong) = (&unique_name("leak"), &unique_name("leak-wrong"));
    apply_json(&world, "pc.json", &provider_config(&world, leak, &customer_id, "leak-credentials"));
    apply_json(&world, "pc-wrong.json", &provider_config(&world, leak_wrong, &customer_id, "wrong-credentials"));

    // Create.
    apply_json(&world, "mt.json", &microtenant("leaky", leak, "v1"));
    apply_json(&world, "isop.json", &profile("leaky-web", leak, "v1"));
    // A failing path: refused credentials, reported in conditions, events and logs.
    apply_json(&world, "refused.json", &microtenant("refused", leak_wrong, "v1"));
    world.wait_ready("mt", "leaky").await;
    world.wait_ready("isop", "leaky-web").await;
    world
        .wait_for("mt", "refused", "Unauthorized", |o| has_condition(o, "Synced", "False", Some("Unauthorized")))
        .await;
    let admin = world.kubectl_ok(&["get", "secret", "leaky-admin", "-o", "json"]);
    let admin: Value = serde_json::from_str(&admin).unwrap();
    let admin_password = String::from_utf8(
        base64::engine::general_purpose::STANDARD.decode(admin["data"]["password"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let mut tokens = tokens_of(&world, &customer_id).await;

    // Update: spec edits and a new debug file password.
    apply_json(
        &world,
        "debug.json",
        &secret(&world.namespace, "debug-password", json!({"password": rotated_debug_password})),
    );
    apply_json(&world, "mt.json", &microtenant("leaky", leak, "v2"));
    apply_json(&world, "isop.json", &profile("leaky-web", leak, "v2"));
    for (kind, name) in [("mt", "leaky"), ("isop", "leaky-web")] {
        world.wait_for(kind, name, "the edit applied", |o| o["status"]["atProvider"]["description"] == "v2").await;
    }
    // The profile in ZPA carries the new password: the update really went through.
    let remote = world.sim(reqwest::Method::GET, &format!("/__sim/customers/{customer_id}/state"), None).await;
    assert!(remote.to_string().contains(&rotated_debug_password), "the new debug password reached ZPA");
    // A revoked token makes the operator sign in again: one more token to look for.
    world.sim(reqwest::Method::POST, "/__sim/tokens/revoke", Some(json!({"customerId": customer_id}))).await;
    apply_json(&world, "mt.json", &microtenant("leaky", leak, "v3"));
    world.wait_for("mt", "leaky", "the edit applied", |o| o["status"]["atProvider"]["description"] == "v3").await;
    tokens.extend(tokens_of(&world, &customer_id).await);
    assert!(tokens.len() >= 2, "the tokens of both sign-ins were collected: {}", tokens.len());
    let before_delete = everything_visible(&world, &metrics_url).await;

    // Delete.
    world.kubectl_ok(&["delete", "isop", "leaky-web", "--wait=false"]);
    world.kubectl_ok(&["delete", "mt", "leaky", "refused", "--wait=false"]);
    world.wait_gone("isop", "leaky-web").await;
    world.wait_gone("mt", "leaky").await;
    eventually("the refused Microtenant gone", Duration::from_secs(60), || async {
        world.get_json("mt", "refused").is_none().then_some(())
    })
    .await;
    let after_delete = everything_visible(&world, &metrics_url).await;

    let log = world.operator_log();
    assert!(log.contains("TRACE"), "the operator logged at TRACE level");
    assert!(log.lines().count() > 200, "a real TRACE log: {} lines", log.lines().count());
    assert!(log.contains("sign-in refused"), "the failing path was logged");
    let secrets: Vec<(String, String)> = [
        ("client secret".to_owned(), client_secret),
        ("refused client secret".to_owned(), wrong_secret),
        ("Microtenant admin password".to_owned(), admin_password),
        ("debug file password".to_owned(), debug_password),
        ("rotated debug file password".to_owned(), rotated_debug_password),
    ]
    .into_iter()
    .chain(tokens.into_iter().enumerate().map(|(i, t)| (format!("bearer token #{}", i + 1), t)))
    .collect();
    assert_no_secret(&before_delete, &secrets);
    assert_no_secret(&after_delete, &secrets);
    let plain = strip_ansi(&log);
    let trace_lines = plain.lines().filter(|l| l.contains(" TRACE ")).count();
    let from = |crate_name: &str| plain.lines().any(|l| l.contains(" TRACE ") && l.contains(crate_name));
    assert!(trace_lines > 100 && from("kube_client") && from("hyper_util"), "third-party crates logged at TRACE too");
    println!("figure: {trace_lines} TRACE lines (kube_client, hyper_util, tower, axum among them)");
    println!(
        "figure: {} secrets checked against {} log lines, events, status and /metrics: none found",
        secrets.len(),
        log.lines().count()
    );
}

/// How every RS256 client assertion the operator signs begins: its header, base64url.
fn assertion_header() -> String {
    let header = serde_json::to_string(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256)).expect("JSON");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header)
}

/// The base64 lines of a PEM: any one of them in a log is a leak.
fn pem_lines(pem: &str) -> Vec<String> {
    pem.lines().filter(|l| !l.starts_with("-----") && l.len() >= 32).map(str::to_owned).collect()
}

/// A private key (OneAPI client assertions) at TRACE: neither the key, nor a
/// refused key, nor garbled key text, nor the signed assertions, nor the
/// tokens appear in the log, Events, status or /metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_private_key_or_client_assertion_appears_at_trace_level() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let keys_dir = tempfile::tempdir().expect("temp dir");
    let key = support::keys::client_key();
    let public_key = keys_dir.path().join("public.pem");
    std::fs::write(&public_key, support::keys::public_pem(key)).expect("public key written");
    let flag = format!("leak-key-client={}", public_key.display());
    let mut world = World::start_with("10m", &["--public-key-client", &flag]);
    let metrics_url = world.start_operator_at_log_level("trace").await;

    let pem = support::keys::private_pem(key);
    let stranger = support::keys::private_pem(&support::keys::generate(2048));
    let garbled = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", random_secret("garbled"));
    let oneapi = |name: &str, secret: &str| {
        json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig", "metadata": {"name": name},
            "spec": {"baseUrl": world.sim_url, "customerId": "72057594037927936", "auth": "oneapi",
                     "vanityDomain": "acme",
                     "credentialsSecretRef": {"namespace": world.system_namespace, "name": secret}}})
    };
    let (good, refused, broken) = (&unique_name("key"), &unique_name("key-refused"), &unique_name("key-broken"));
    for (name, secret_name, private_key) in
        [(good, "key-credentials", &pem), (refused, "stranger-credentials", &stranger), (broken, "garbled", &garbled)]
    {
        let data = json!({"clientId": "leak-key-client", "privateKey": private_key});
        apply_json(&world, &format!("{secret_name}.json"), &secret(&world.system_namespace, secret_name, data));
        apply_json(&world, &format!("{name}.json"), &oneapi(name, secret_name));
    }
    apply_json(&world, "mt.json", &microtenant("keyed-leaky", good, "v1"));
    world.wait_ready("mt", "keyed-leaky").await;
    world
        .wait_for("zpapc", refused, "Unauthorized", |o| has_condition(o, "Ready", "False", Some("Unauthorized")))
        .await;
    world
        .wait_for("zpapc", broken, "InvalidPrivateKey", |o| {
            has_condition(o, "Ready", "False", Some("InvalidPrivateKey"))
        })
        .await;
    let mut tokens = tokens_of(&world, "72057594037927936").await;
    // A revoked token: a new sign-in, a new assertion.
    world.sim(reqwest::Method::POST, "/__sim/tokens/revoke", None).await;
    apply_json(&world, "mt.json", &microtenant("keyed-leaky", good, "v2"));
    world.wait_for("mt", "keyed-leaky", "the edit applied", |o| o["status"]["atProvider"]["description"] == "v2").await;
    tokens.extend(tokens_of(&world, "72057594037927936").await);
    assert!(tokens.len() >= 2, "the tokens of both sign-ins were collected: {}", tokens.len());
    assert!(world.route_count("POST /oauth2/v1/token").await >= 2, "two sign-ins, two client assertions");
    let visible = everything_visible(&world, &metrics_url).await;

    let log = world.operator_log();
    assert!(log.contains("TRACE") && log.lines().count() > 200, "a real TRACE log");
    let secrets: Vec<(String, String)> = pem_lines(&pem)
        .into_iter()
        .map(|line| ("private key".to_owned(), line))
        .chain(pem_lines(&stranger).into_iter().map(|line| ("refused private key".to_owned(), line)))
        .chain(pem_lines(&garbled).into_iter().map(|line| ("garbled private key".to_owned(), line)))
        // Every client assertion starts with this encoded header (the
        // simulator keeps no sign-in body to compare with): none may show.
        .chain([("client assertion".to_owned(), assertion_header())])
        .chain(tokens.into_iter().map(|t| ("bearer token".to_owned(), t)))
        .collect();
    assert_no_secret(&visible, &secrets);
    println!(
        "figure: {} private-key secrets checked against {} log lines: none found",
        secrets.len(),
        log.lines().count()
    );
}
