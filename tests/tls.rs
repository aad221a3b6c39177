//! Certificate verification against a real TLS server on 127.0.0.1: the
//! simulator behind a TLS-terminating proxy whose certificate comes from a
//! private CA, as a TLS-inspecting corporate proxy presents one.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use support::cluster::{Cluster, condition};
use support::controlplane::unique_name;
use support::eventually;
use support::manifests::{self, with_spec};
use tokio::net::{TcpListener, TcpStream};
use zpa_operator::crd::{Microtenant, ZpaProviderConfig};

/// Everything logged in this test process (each nextest test is its own process).
fn captured_logs() -> &'static support::CapturedLogs {
    static LOGS: std::sync::OnceLock<support::CapturedLogs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = support::CapturedLogs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
}

/// A private CA and a server certificate for 127.0.0.1 and localhost it signed.
struct TestPki {
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivatePkcs8KeyDer<'static>,
}

fn test_pki() -> TestPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "zpa-operator test inspection proxy CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    server.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        server_chain: vec![server_cert.der().clone()],
        server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()),
    }
}

/// A TLS-terminating proxy in front of a plain-HTTP upstream.
struct TlsProxy {
    addr: SocketAddr,
    handshakes_failed: Arc<AtomicU64>,
    handshakes_done: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsProxy {
    async fn start(pki: &TestPki, upstream: SocketAddr) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(pki.server_chain.clone(), PrivateKeyDer::Pkcs8(pki.server_key.clone_key()))
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (failed, done) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (failed_count, done_count) = (failed.clone(), done.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, failed, done) = (acceptor.clone(), failed_count.clone(), done_count.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    done.fetch_add(1, Ordering::SeqCst);
                    if let Ok(mut plain) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        Self { addr, handshakes_failed: failed, handshakes_done: done, task }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A provider config of this test's, named after `prefix`, for `base_url`; returns its name.
async fn provider_config(cluster: &Cluster, prefix: &str, base_url: &str, tls: Option<Value>) -> String {
    let mut spec = json!({"baseUrl": base_url, "customerId": cluster.sim.customer_id(), "auth": "legacy",
        "credentialsSecretRef": {"namespace": cluster.system_namespace, "name": "zpa-credentials"}});
    if let Some(tls) = tls {
        spec["tls"] = tls;
    }
    let name = unique_name(prefix);
    cluster.apply_provider_config(&name, spec).await;
    name
}

async fn wait_ready_condition(cluster: &Cluster, name: &str, status: &str, reason: &str) -> Value {
    let api: Api<ZpaProviderConfig> = Api::all(cluster.kube.clone());
    let mut last = Value::Null;
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(object) = api.get(name).await {
                let value = serde_json::to_value(object).unwrap();
                if condition(&value, "Ready").is_some_and(|c| c.status == status && c.reason == reason) {
                    return value;
                }
                last = value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("{name}: Ready={status} {reason} never came; last seen: {last:#}"))
}

fn microtenant(name: &str, provider: &str) -> Value {
    with_spec(manifests::microtenant(name), json!({"providerConfigRef": {"name": provider}}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_fails_verification_clearly_and_without_a_retry_storm() {
    let cluster = Cluster::start_with_resync(Duration::from_secs(600)).await;
    let proxy = TlsProxy::start(&test_pki(), cluster.sim.addr()).await;
    let proxied = provider_config(&cluster, "proxied", &proxy.url(), None).await;
    cluster.apply(microtenant("behind-proxy", &proxied)).await;

    let object = wait_ready_condition(&cluster, &proxied, "False", "TLSVerificationFailed").await;
    let message = condition(&object, "Ready").unwrap().message;
    assert!(message.contains("certificate") && message.contains("spec.tls.caBundle"), "{message}");
    let mt = cluster
        .wait_for::<Microtenant>("behind-proxy", "TLSVerificationFailed", |o| {
            condition(o, "Synced").is_some_and(|c| c.reason == "TLSVerificationFailed")
        })
        .await;
    assert_eq!(condition(&mt, "Ready").unwrap().status, "False");

    // Two objects keep failing, yet the proxy sees few handshakes: the refusal
    // pause (2 s, 4 s, ...) holds for every caller of the tenant.
    let window = Duration::from_secs(6);
    let before = proxy.handshakes_failed.load(Ordering::SeqCst);
    tokio::time::sleep(window).await;
    let in_window = proxy.handshakes_failed.load(Ordering::SeqCst) - before;
    println!("figure: failed TLS handshakes in {window:?} with 2 failing objects: {in_window}");
    assert!(in_window <= 3, "{in_window} handshakes in {window:?}: a retry storm");
    assert_eq!(proxy.handshakes_done.load(Ordering::SeqCst), 0, "nothing got through unverified");
    assert_eq!(cluster.sim.stats().by_route.get("POST /signin").copied().unwrap_or(0), 1, "only the default config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxys_ca_in_ca_bundle_is_trusted() {
    let cluster = Cluster::start_with_resync(Duration::from_secs(600)).await;
    let pki = test_pki();
    let proxy = TlsProxy::start(&pki, cluster.sim.addr()).await;
    let proxied = provider_config(&cluster, "proxied", &proxy.url(), Some(json!({"caBundle": pki.ca_pem}))).await;
    let object = wait_ready_condition(&cluster, &proxied, "True", "SignedIn").await;
    assert_eq!(condition(&object, "Ready").unwrap().message, "signed in to ZPA");
    cluster.apply(microtenant("through-proxy", &proxied)).await;
    cluster.wait_ready::<Microtenant>("through-proxy").await;
    assert!(proxy.handshakes_done.load(Ordering::SeqCst) >= 1, "the calls went through the TLS proxy");
    let warnings: Vec<(String, String)> = cluster.events_for(&proxied).await;
    assert!(warnings.iter().all(|(reason, _)| reason != "InsecureTLS"), "{warnings:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_verification_works_only_by_name_and_warns_loudly() {
    let logs = captured_logs();
    let cluster = Cluster::start_with_resync(Duration::from_secs(600)).await;
    let proxy = TlsProxy::start(&test_pki(), cluster.sim.addr()).await;
    let insecure =
        provider_config(&cluster, "insecure", &proxy.url(), Some(json!({"insecureSkipTLSVerify": true}))).await;
    let object = wait_ready_condition(&cluster, &insecure, "True", "SignedIn").await;
    let message = condition(&object, "Ready").unwrap().message;
    assert!(message.contains("WITHOUT TLS certificate verification"), "{message}");
    cluster.wait_event(&insecure, "InsecureTLS", "TLS certificate verification is disabled").await;
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::all(cluster.kube.clone());
    let warning = events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|e| {
            e.reason.as_deref() == Some("InsecureTLS")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(insecure.as_str())
        })
        .unwrap();
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    let warned = logs.text();
    assert!(
        warned.contains("WARN")
            && warned.contains("TLS certificate verification is OFF")
            && warned.contains(&proxy.url()),
        "the tenant build logs a warning: {warned}"
    );

    // With a named cloud the API server refuses it.
    let api: Api<ZpaProviderConfig> = Api::all(cluster.kube.clone());
    let manifest = json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig",
        "metadata": {"name": unique_name("insecure-cloud")},
        "spec": {"cloud": "PRODUCTION", "customerId": "1", "auth": "legacy",
                 "credentialsSecretRef": {"namespace": cluster.system_namespace, "name": "zpa-credentials"},
                 "tls": {"insecureSkipTLSVerify": true}}});
    let refused = api
        .patch(
            manifest["metadata"]["name"].as_str().unwrap(),
            &PatchParams::apply("test-user").force(),
            &Patch::Apply(&manifest),
        )
        .await
        .expect_err("refused by validation");
    assert!(refused.to_string().contains("insecureSkipTLSVerify is allowed only with baseUrl"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ca_bundle_is_reported_with_its_own_reason() {
    let cluster = Cluster::start_with_resync(Duration::from_secs(600)).await;
    let proxy = TlsProxy::start(&test_pki(), cluster.sim.addr()).await;
    let garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    let bad_bundle = provider_config(&cluster, "bad-bundle", &proxy.url(), Some(json!({"caBundle": garbage}))).await;
    let object = wait_ready_condition(&cluster, &bad_bundle, "False", "InvalidCABundle").await;
    let message = condition(&object, "Ready").unwrap().message;
    assert!(message.contains("spec.tls.caBundle") && message.contains("certificate 1"), "{message}");
    let no_pem = provider_config(&cluster, "no-pem", &proxy.url(), Some(json!({"caBundle": "just text"}))).await;
    wait_ready_condition(&cluster, &no_pem, "False", "InvalidCABundle").await;
    // The operator keeps working for everything else.
    cluster.apply(microtenant("unaffected", &cluster.provider_config)).await;
    cluster.wait_ready::<Microtenant>("unaffected").await;
    eventually("no handshake was attempted with a bad bundle", Duration::from_secs(1), || async {
        (proxy.handshakes_failed.load(Ordering::SeqCst) + proxy.handshakes_done.load(Ordering::SeqCst) == 0)
            .then_some(())
    })
    .await;
}
