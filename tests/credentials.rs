//! Credentials over the life of a running operator: wrong ones are reported
//! everywhere without a storm of sign-ins, fixed or rotated ones are picked
//! up without a restart, and revoked or expired tokens heal unseen.

mod support;

use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use support::cluster::{Cluster, condition, remote_microtenants_named};
use support::controlplane::unique_name;
use support::manifests::routes::SIGNIN;
use support::manifests::{self, with_spec};
use support::{eventually, simulator};
use tokio::time::Instant;
use zpa_operator::crd::{IsolationProfile, Microtenant, ZpaProviderConfig};
use zpa_operator::simulator::SimulatorConfig;

fn microtenant(name: &str, provider: &str, description: &str) -> Value {
    with_spec(
        manifests::microtenant(name),
        json!({"providerConfigRef": {"name": provider}, "description": description}),
    )
}

fn profile(name: &str, provider: &str, description: &str) -> Value {
    let spec = json!({"providerConfigRef": {"name": provider}, "description": description, "securityControls": null});
    with_spec(manifests::profile(name), spec)
}

/// Creates or overwrites a credentials Secret in the test's credentials namespace.
async fn set_credentials(cluster: &Cluster, name: &str, client_id: &str, client_secret: &str) {
    let secrets: Api<Secret> = Api::namespaced(cluster.kube.clone(), &cluster.system_namespace);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "stringData": {"clientId": client_id, "clientSecret": client_secret}});
    secrets
        .patch(name, &PatchParams::apply("test-user").force(), &Patch::Apply(&secret))
        .await
        .expect("Secret applied");
}

async fn provider_config(cluster: &Cluster, name: &str, secret: &str) {
    let spec = json!({"baseUrl": cluster.sim.base_url(), "customerId": cluster.sim.customer_id(), "auth": "legacy",
                      "credentialsSecretRef": {"namespace": cluster.system_namespace, "name": secret}});
    cluster.apply_provider_config(name, spec).await;
}

/// The provider config as JSON once `check` holds for its Ready condition.
async fn wait_provider(cluster: &Cluster, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let api: Api<ZpaProviderConfig> = Api::all(cluster.kube.clone());
    eventually(&format!("ZpaProviderConfig {name}: {what}"), Duration::from_secs(30), || async {
        let object = serde_json::to_value(api.get(name).await.ok()?).ok()?;
        check(&object).then_some(object)
    })
    .await
}

fn ready_reason(object: &Value) -> Option<(String, String)> {
    condition(object, "Ready").map(|c| (c.status, c.reason))
}

fn refused_sign_ins(cluster: &Cluster) -> u64 {
    cluster.sim.stats().by_route_status.get(SIGNIN).and_then(|s| s.get("401")).copied().unwrap_or(0)
}

fn accepted_sign_ins(cluster: &Cluster) -> u64 {
    cluster.sim.stats().by_route_status.get(SIGNIN).and_then(|s| s.get("200")).copied().unwrap_or(0)
}

/// A sample's value from the Prometheus text, 0 when absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse::<f64>().ok()))
        .unwrap_or(0.0)
}

async fn sim_admin(cluster: &Cluster, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", cluster.sim.base_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("simulator admin call");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

/// The client id (`sub`) of every live token the simulator issued.
async fn token_subjects(cluster: &Cluster) -> Vec<String> {
    let tokens = sim_admin(cluster, reqwest::Method::GET, "/__sim/tokens", None).await;
    tokens
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let payload = t["token"].as_str()?.split('.').nth(1)?;
            let claims: Value =
                serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
            claims["sub"].as_str().map(str::to_owned)
        })
        .collect()
}

async fn warnings_for(cluster: &Cluster, name: &str) -> Vec<(String, String)> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(cluster.kube.clone());
    let list = events.list(&Default::default()).await.expect("events list");
    list.items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                r.name.as_deref() == Some(name) && r.namespace.as_ref().is_none_or(|ns| *ns == cluster.namespace)
            })
        })
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_unauthorized_everywhere_without_a_sign_in_storm_then_heal_when_fixed() {
    let cluster = Cluster::start_with_resync(Duration::from_secs(600)).await;
    let bad = &unique_name("bad");
    set_credentials(&cluster, "bad-credentials", cluster.sim.client_id(), "not-the-secret").await;
    provider_config(&cluster, bad, "bad-credentials").await;
    let microtenants = ["mt-a", "mt-b", "mt-c"];
    let profiles = ["isop-a", "isop-b"];
    for name in microtenants {
        cluster.apply(microtenant(name, bad, "team")).await;
    }
    for name in profiles {
        cluster.apply(profile(name, bad, "isolate")).await;
    }

    let provider = wait_provider(&cluster, bad, "Unauthorized", |o| {
        ready_reason(o) == Some(("False".into(), "Unauthorized".into()))
    })
    .await;
    let message = condition(&provider, "Ready").unwrap().message;
    assert!(message.contains("sign-in refused (HTTP 401)"), "{message}");
    assert!(!message.contains("not-the-secret"), "the secret is never quoted: {message}");
    let unauthorized = |o: &Value| {
        condition(o, "Synced").is_some_and(|c| c.status == "False" && c.reason == "Unauthorized")
            && condition(o, "Ready").is_some_and(|c| c.status == "False")
    };
    for name in microtenants {
        cluster.wait_for::<Microtenant>(name, "Synced=False Unauthorized", unauthorized).await;
    }
    for name in profiles {
        cluster.wait_for::<IsolationProfile>(name, "Synced=False Unauthorized", unauthorized).await;
    }

    // Six objects keep failing and retrying, yet ZPA sees only the sign-ins
    // the refusal pause allows (2 s, 4 s, 8 s, ...): at most 3 in any 6 s.
    let window = Duration::from_secs(6);
    let (refused_before, metrics_before) = (refused_sign_ins(&cluster), cluster.metrics.encode());
    tokio::time::sleep(window).await;
    let (refused_after, metrics_after) = (refused_sign_ins(&cluster), cluster.metrics.encode());
    let refused_in_window = refused_after - refused_before;
    let backoffs = |text: &str, kind: &str| {
        metric(text, &format!(r#"zpa_operator_reconcile_backoffs_total{{kind="{kind}",reason="Unauthorized"}}"#))
    };
    let retried_in_window = backoffs(&metrics_after, "Microtenant") - backoffs(&metrics_before, "Microtenant")
        + backoffs(&metrics_after, "IsolationProfile")
        - backoffs(&metrics_before, "IsolationProfile")
        + backoffs(&metrics_after, "ZpaProviderConfig")
        - backoffs(&metrics_before, "ZpaProviderConfig");
    println!(
        "figure: refused sign-ins in {window:?}: {refused_in_window} (total {refused_after}); \
         Unauthorized reconciles backed off in the window: {retried_in_window}"
    );
    assert!(refused_in_window <= 3, "a sign-in storm: {refused_in_window} refused sign-ins in {window:?}");
    assert!(refused_after <= 6, "{refused_after} refused sign-ins since the start");
    // The backoff is visible: every kind was backed off for Unauthorized, with its delay.
    for kind in ["Microtenant", "IsolationProfile", "ZpaProviderConfig"] {
        assert!(backoffs(&metrics_after, kind) >= 1.0, "no {kind} backoff in /metrics:\n{metrics_after}");
        let delay_sum = metric(
            &metrics_after,
            &format!(r#"zpa_operator_reconcile_backoff_delay_seconds_sum{{kind="{kind}",reason="Unauthorized"}}"#),
        );
        assert!(delay_sum > 0.0, "no {kind} backoff delay in /metrics");
    }
    // ...and it grows: no object is retried more than ~log2(6 s) times in the window.
    assert!(retried_in_window <= 6.0 * 4.0, "{retried_in_window} backed-off reconciles in {window:?}");
    assert!(
        metric(
            &metrics_after,
            r#"zpa_operator_zpa_api_requests_total{operation="auth.signin",outcome="unauthorized"}"#
        ) >= 1.0,
        "sign-in attempts are counted in /metrics"
    );
    let posts: u64 =
        cluster.sim.stats().by_route.iter().filter(|(r, _)| r.starts_with("POST /mgmtconfig")).map(|(_, n)| n).sum();
    assert_eq!(posts, 0, "nothing was created with refused credentials");

    // Fixing the Secret heals everything, without a restart.
    let fixed_at = Instant::now();
    set_credentials(&cluster, "bad-credentials", cluster.sim.client_id(), cluster.sim.client_secret().expose()).await;
    wait_provider(&cluster, bad, "SignedIn", |o| ready_reason(o) == Some(("True".into(), "SignedIn".into()))).await;
    for name in microtenants {
        cluster.wait_ready::<Microtenant>(name).await;
    }
    for name in profiles {
        cluster.wait_ready::<IsolationProfile>(name).await;
    }
    println!("figure: all 6 objects and the provider config Ready {:?} after the Secret was fixed", fixed_at.elapsed());
    assert_eq!(remote_microtenants_named(&cluster.remote_state().await, "mt-a").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_credentials_are_picked_up_without_a_restart() {
    let cluster = Cluster::start_with_resync(Duration::from_secs(600)).await;
    cluster.apply(microtenant("rotating", &cluster.provider_config, "before")).await;
    cluster.wait_ready::<Microtenant>("rotating").await;

    // A new API key for the same tenant; the Secret moves to it.
    let key = json!({"customerId": cluster.sim.customer_id(), "clientSecret": "rotated-secret-0123456789"});
    sim_admin(&cluster, reqwest::Method::PUT, "/__sim/credentials/rotated-client", Some(key)).await;
    set_credentials(&cluster, "zpa-credentials", "rotated-client", "rotated-secret-0123456789").await;
    eventually("a sign-in with the new key", Duration::from_secs(20), || async {
        token_subjects(&cluster).await.iter().any(|s| s == "rotated-client").then_some(())
    })
    .await;

    // The old key is deleted and every token revoked: only the new key works now.
    sim_admin(&cluster, reqwest::Method::DELETE, &format!("/__sim/credentials/{}", cluster.sim.client_id()), None)
        .await;
    sim_admin(&cluster, reqwest::Method::POST, "/__sim/tokens/revoke", None).await;
    cluster.apply(microtenant("rotating", &cluster.provider_config, "after")).await;
    cluster
        .wait_for::<Microtenant>("rotating", "the edit applied", |o| {
            o["status"]["atProvider"]["description"] == "after"
        })
        .await;
    cluster.wait_ready::<Microtenant>("rotating").await;
    assert_eq!(remote_microtenants_named(&cluster.remote_state().await, "rotating")[0]["description"], "after");
    assert!(token_subjects(&cluster).await.iter().all(|s| s == "rotated-client"));
    assert_eq!(warnings_for(&cluster, "rotating").await, vec![], "the rotation was invisible on the object");
    assert_eq!(refused_sign_ins(&cluster), 0, "the old key was never tried after the rotation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_expired_tokens_heal_without_an_error_on_the_objects() {
    let cluster = Cluster::start_with_resync(Duration::from_secs(600)).await;
    cluster.apply(microtenant("steady", &cluster.provider_config, "v1")).await;
    cluster.apply(profile("steady-web", &cluster.provider_config, "v1")).await;
    cluster.wait_ready::<Microtenant>("steady").await;
    cluster.wait_ready::<IsolationProfile>("steady-web").await;

    for (round, admin) in [(2, "/__sim/tokens/revoke"), (3, "/__sim/tokens/expire")] {
        let signed_in = accepted_sign_ins(&cluster);
        let answer = sim_admin(&cluster, reqwest::Method::POST, admin, None).await;
        assert!(answer.as_object().unwrap().values().any(|n| n.as_u64() >= Some(1)), "{admin}: {answer}");
        let description = format!("v{round}");
        cluster.apply(microtenant("steady", &cluster.provider_config, &description)).await;
        cluster.apply(profile("steady-web", &cluster.provider_config, &description)).await;
        for name in ["steady", "steady-web"] {
            let check = |o: &Value| o["status"]["atProvider"]["description"] == description.as_str();
            if name == "steady" {
                cluster.wait_for::<Microtenant>(name, "the edit applied", check).await;
                cluster.wait_ready::<Microtenant>(name).await;
            } else {
                cluster.wait_for::<IsolationProfile>(name, "the edit applied", check).await;
                cluster.wait_ready::<IsolationProfile>(name).await;
            }
        }
        assert_eq!(accepted_sign_ins(&cluster) - signed_in, 1, "{admin}: exactly one new sign-in for the tenant");
    }
    assert_eq!(warnings_for(&cluster, "steady").await, vec![], "no error was ever visible");
    assert_eq!(warnings_for(&cluster, "steady-web").await, vec![]);
    assert_eq!(refused_sign_ins(&cluster), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_secret_the_operator_does_not_watch_is_seen_at_the_next_provider_retry() {
    // Only team-a is watched: the credentials Secret in the credentials namespace sends no events.
    let mut cluster = Cluster::without_operator(Duration::from_secs(600), simulator()).await;
    let team_a = cluster.create_namespace("team-a").await;
    cluster.watch_only(vec![team_a.clone()]);
    cluster.start_operator();
    let unwatched = &unique_name("unwatched");
    set_credentials(&cluster, "unwatched-credentials", cluster.sim.client_id(), "wrong").await;
    provider_config(&cluster, unwatched, "unwatched-credentials").await;
    cluster.apply(manifests::in_namespace(microtenant("team", unwatched, "team"), &team_a)).await;
    wait_provider(&cluster, unwatched, "Unauthorized", |o| {
        ready_reason(o) == Some(("False".into(), "Unauthorized".into()))
    })
    .await;

    let fixed_at = Instant::now();
    set_credentials(&cluster, "unwatched-credentials", cluster.sim.client_id(), cluster.sim.client_secret().expose())
        .await;
    wait_provider(&cluster, unwatched, "SignedIn", |o| ready_reason(o) == Some(("True".into(), "SignedIn".into())))
        .await;
    let provider_ready = fixed_at.elapsed();
    let api: Api<Microtenant> = cluster.api(Some(&team_a));
    eventually("the dependent Microtenant Ready", Duration::from_secs(20), || async {
        let object = serde_json::to_value(api.get("team").await.ok()?).ok()?;
        condition(&object, "Synced").is_some_and(|c| c.status == "True").then_some(())
    })
    .await;
    println!(
        "figure: unwatched Secret fixed -> provider config Ready in {provider_ready:?}, dependent Synced in {:?}",
        fixed_at.elapsed()
    );
    // Far below the 60 s a cached tenant could be reused for.
    assert!(provider_ready < Duration::from_secs(20), "{provider_ready:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_are_renewed_without_an_error_on_the_objects() {
    let ttl = Duration::from_secs(2);
    let sim =
        support::simulator_with(SimulatorConfig { rate_limit: None, token_ttl: ttl, ..SimulatorConfig::default() });
    let cluster = Cluster::start_with_simulator(Duration::from_secs(600), sim).await;
    cluster.apply(microtenant("renewing", &cluster.provider_config, "v0")).await;
    cluster.wait_ready::<Microtenant>("renewing").await;
    let started = Instant::now();
    let first_sign_ins = accepted_sign_ins(&cluster);
    // Edits spread over several token lifetimes: each one needs a live token.
    for round in 1..=4 {
        tokio::time::sleep(ttl / 2 + Duration::from_millis(300)).await;
        let description = format!("v{round}");
        cluster.apply(microtenant("renewing", &cluster.provider_config, &description)).await;
        cluster
            .wait_for::<Microtenant>("renewing", "the edit applied", |o| {
                o["status"]["atProvider"]["description"] == description.as_str()
            })
            .await;
    }
    cluster.wait_ready::<Microtenant>("renewing").await;
    let renewals = accepted_sign_ins(&cluster) - first_sign_ins;
    let refused_calls = cluster.sim.stats().by_status.get("401").copied().unwrap_or(0);
    println!(
        "figure: {renewals} token renewals over {:?} with {ttl:?} tokens; API calls answered 401: {refused_calls}",
        started.elapsed()
    );
    assert!(renewals >= 2, "tokens were renewed as they expired: {renewals}");
    assert_eq!(warnings_for(&cluster, "renewing").await, vec![], "no error was ever visible");
    assert_eq!(refused_sign_ins(&cluster), 0);
}

/// Creates or overwrites a credentials Secret holding `string_data`.
async fn set_secret(cluster: &Cluster, name: &str, string_data: Value) {
    let secrets: Api<Secret> = Api::namespaced(cluster.kube.clone(), &cluster.system_namespace);
    // Replaced whole, so that a key left out is gone (a Secret has no finalizers: a delete is immediate).
    let _ = secrets.delete(name, &Default::default()).await;
    let secret: Secret = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": string_data}),
    )
    .expect("a Secret");
    secrets.create(&Default::default(), &secret).await.expect("Secret created");
}

fn token_requests(cluster: &Cluster) -> u64 {
    cluster.sim.stats().by_route.get("POST /oauth2/v1/token").copied().unwrap_or(0)
}

/// A Secret with both a client secret and a private key, neither, a key that
/// is garbled, too small or given to legacy auth: each gives the provider
/// config (and the objects that name it) its own reason, with a message that
/// names the Secret and key but not the content, and nothing reaches ZPA.
/// The fixed Secret (the private key alone) signs in and the object converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_credentials_that_cannot_be_used_say_why_and_send_nothing() {
    use zpa_operator::simulator::PublicKeyClient;
    let cluster = Cluster::start_with_resync(Duration::from_secs(600)).await;
    let key = support::keys::client_key();
    cluster
        .sim
        .add_public_key_client(&PublicKeyClient {
            client_id: "key-client".into(),
            public_key: support::keys::public_pem(key),
        })
        .expect("key registered");
    let pem = support::keys::private_pem(key);
    let small = support::keys::private_pem(&support::keys::generate(1024));
    let name = &unique_name("keyed");
    let secret = "key-credentials";
    let spec = |auth: &str| {
        json!({"baseUrl": cluster.sim.base_url(), "customerId": cluster.sim.customer_id(), "auth": auth,
               "vanityDomain": "acme",
               "credentialsSecretRef": {"namespace": cluster.system_namespace, "name": secret}})
    };
    let secret_named = format!("Secret {}/{secret}", cluster.system_namespace);
    let cases = [
        (
            "oneapi",
            json!({"clientId": "key-client", "clientSecret": "also-a-secret", "privateKey": pem}),
            "AmbiguousCredentials",
            "both key \"clientSecret\" in",
        ),
        ("oneapi", json!({"clientId": "key-client"}), "ReferenceNotFound", "(or key \"privateKey\" in"),
        (
            "oneapi",
            json!({"clientId": "key-client", "privateKey": "not-a-key-at-all"}),
            "InvalidPrivateKey",
            "cannot be used: it is neither a PEM private key",
        ),
        (
            "oneapi",
            json!({"clientId": "key-client", "privateKey": small}),
            "InvalidPrivateKey",
            "the RSA key has 1024 bits; at least 2048 are required",
        ),
        (
            "legacy",
            json!({"clientId": "key-client", "privateKey": pem}),
            "PrivateKeyNeedsOneAPI",
            "only auth: oneapi signs in with a private key",
        ),
    ];
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).take(2).collect();
    for (round, (auth, data, reason, words)) in cases.into_iter().enumerate() {
        // The spec first: the new Secret must never meet the last round's auth.
        cluster.apply_provider_config(name, spec(auth)).await;
        set_secret(&cluster, secret, data).await;
        if round == 0 {
            cluster.apply(microtenant("keyed-mt", name, "keyed")).await;
        }
        let provider = wait_provider(&cluster, name, reason, |o| {
            ready_reason(o) == Some(("False".into(), reason.into()))
                && condition(o, "Ready").is_some_and(|c| c.message.contains(words))
        })
        .await;
        let message = condition(&provider, "Ready").unwrap().message;
        assert!(message.contains(&secret_named), "{reason}: the Secret is named: {message}");
        for content in [body.as_str(), "also-a-secret", "not-a-key-at-all"] {
            assert!(!message.contains(content), "{reason}: the content is never quoted: {message}");
        }
        if round == 0 {
            cluster
                .wait_for::<Microtenant>("keyed-mt", "Synced=False AmbiguousCredentials", |o| {
                    condition(o, "Synced").is_some_and(|c| c.status == "False" && c.reason == "AmbiguousCredentials")
                })
                .await;
        }
    }
    assert_eq!(token_requests(&cluster), 0, "nothing was sent to ZPA");

    // The private key alone, with auth: oneapi, signs in; the object converges.
    cluster.apply_provider_config(name, spec("oneapi")).await;
    set_secret(&cluster, secret, json!({"clientId": "key-client", "privateKey": pem})).await;
    wait_provider(&cluster, name, "SignedIn", |o| ready_reason(o) == Some(("True".into(), "SignedIn".into()))).await;
    cluster.wait_ready::<Microtenant>("keyed-mt").await;
    assert_eq!(remote_microtenants_named(&cluster.remote_state().await, "keyed-mt").len(), 1);
    assert!(token_requests(&cluster) >= 1);
    assert!(token_subjects(&cluster).await.iter().any(|s| s == "key-client"), "the key's client signed in");
}
