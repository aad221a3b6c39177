//! OneAPI sign-in with a private key (RFC 7523 client assertions), over real
//! HTTP against the simulator: the operator's client signs in and reads the
//! tenant, each sign-in sends a fresh assertion, and hostile assertions
//! (expired, replayed, wrong audience, wrongly signed, `alg: none`, HS256, a
//! 1024-bit key) are refused, each with a message that says why.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::keys::{self, client_key};
use support::simulator_with;
use zpa_operator::simulator::{FaultConfig, PublicKeyClient, RunningSimulator, ServerErrorFault, SimulatorConfig};
use zpa_operator::zpa::{
    AuthMode, ClientCredentials, Endpoint, PrivateKey, PrivateKeyError, RateLimiter, Scope, ZpaClient, ZpaConfig,
    ZpaError,
};

const CLIENT: &str = "key-client";
const TOKEN_ROUTE: &str = "POST /oauth2/v1/token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const AUDIENCE: &str = "https://api.zscaler.com";

/// A simulator whose API client `key-client` signs in with [`client_key`].
async fn simulator() -> RunningSimulator {
    simulator_with(SimulatorConfig {
        rate_limit: None,
        public_key_clients: vec![PublicKeyClient {
            client_id: CLIENT.to_owned(),
            public_key: keys::public_pem(client_key()),
        }],
        ..SimulatorConfig::default()
    })
    .await
}

fn oneapi_client(sim: &RunningSimulator, client_id: &str, key_text: &str) -> ZpaClient {
    let key = PrivateKey::parse(key_text).expect("the key parses");
    let mut config = ZpaConfig::resolve(
        &Endpoint::BaseUrl(sim.base_url()),
        &AuthMode::OneApi { vanity_domain: "acme".into(), token_url: None },
        sim.customer_id(),
        ClientCredentials::private_key(client_id, key),
    );
    config.retry = support::quick_retries();
    ZpaClient::new(config, Arc::new(RateLimiter::unlimited())).expect("client builds")
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// The claims the official SDK signs.
fn sdk_claims() -> Value {
    json!({"iss": CLIENT, "sub": CLIENT, "aud": AUDIENCE, "exp": now() + 600})
}

fn with(mut claims: Value, change: Value) -> Value {
    if let (Some(target), Value::Object(change)) = (claims.as_object_mut(), change) {
        target.extend(change);
    }
    claims
}

fn sign(claims: &Value, key: &rsa::PrivateKey) -> String {
    let key = EncodingKey::from_rsa_der(&keys::private_der(key));
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("signed")
}

/// Posts a token request with `assertion` as the official SDK does; the status and the body.
async fn token_request(sim: &RunningSimulator, assertion: &str) -> (u16, Value) {
    post_form(
        sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_assertion", assertion),
            ("client_assertion_type", ASSERTION_TYPE),
            ("audience", AUDIENCE),
        ],
    )
    .await
}

/// A plain HTTP client (rustls with ring, as the operator's).
fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn post_form(sim: &RunningSimulator, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http()
        .post(format!("{}/oauth2/v1/token", sim.base_url()))
        .form(form)
        .send()
        .await
        .expect("the simulator answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Asserts an `invalid_client` refusal whose description contains `why`.
fn assert_refused(answer: &(u16, Value), why: &str, case: &str) {
    let (status, body) = answer;
    assert_eq!(*status, 401, "{case}: {body}");
    assert_eq!(body["error"], "invalid_client", "{case}: {body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(why), "{case}: {description:?} does not say {why:?}");
    assert!(body.get("access_token").is_none(), "{case}: no token");
}

/// A token endpoint on 127.0.0.1 that keeps the form of each request and
/// answers with a token: what a client sends, seen from the other side (the
/// simulator keeps no sign-in bodies).
async fn capturing_token_endpoint() -> (String, tokio::sync::mpsc::UnboundedReceiver<BTreeMap<String, String>>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/oauth2/v1/token", listener.local_addr().expect("address"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            // Headers, then as many body bytes as Content-Length says.
            let body = loop {
                let Ok(n) = stream.read(&mut buffer).await else { break None };
                if n == 0 {
                    break None;
                }
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        break Some(body.to_owned());
                    }
                }
            };
            let Some(body) = body else { continue };
            let _ = tx.send(url_decode_pairs(&body));
            let answer = r#"{"access_token":"captured","token_type":"Bearer","expires_in":3600}"#;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (url, rx)
}

fn captured_client(token_url: &str, key_text: &str) -> ZpaClient {
    let mut config = ZpaConfig::resolve(
        &Endpoint::BaseUrl("http://127.0.0.1:9".into()),
        &AuthMode::OneApi { vanity_domain: "acme".into(), token_url: Some(token_url.to_owned()) },
        "72057594037927936",
        ClientCredentials::private_key(CLIENT, PrivateKey::parse(key_text).expect("the key parses")),
    );
    config.retry = support::quick_retries();
    ZpaClient::new(config, Arc::new(RateLimiter::unlimited())).expect("client builds")
}

fn url_decode_pairs(text: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| percent_decode(&s.replace('+', " "));
    text.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8")
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

#[tokio::test]
async fn the_operators_client_signs_in_with_a_private_key_and_sends_a_fresh_assertion_each_time() {
    let sim = simulator().await;
    let client = oneapi_client(&sim, CLIENT, &keys::private_pem(client_key()));
    let me = client.me().await.expect("signed in with the private key");
    assert_eq!(me.customer_id.as_deref(), Some(sim.customer_id()));
    client.list_profiles(&Scope::Default).await.expect("CBI profiles listed");
    let microtenants = client.list_microtenants(None).await.expect("Microtenants listed");
    assert!(microtenants.iter().any(|m| m.name == "Default"));
    assert_eq!(sim.stats().by_route.get(TOKEN_ROUTE), Some(&1), "the token is cached");

    // A revoked token makes the client sign in again, with a new assertion
    // (the simulator refuses a jti it has seen).
    assert_eq!(sim.revoke_tokens(), 1);
    client.me().await.expect("signed in again");
    assert_eq!(sim.stats().by_route_status.get(TOKEN_ROUTE).and_then(|s| s.get("200")), Some(&2));

    // What the client sends, seen by a token endpoint that keeps it.
    let (token_url, mut captured) = capturing_token_endpoint().await;
    let pem = keys::private_pem(client_key());
    captured_client(&token_url, &pem).sign_in().await.expect("the captured sign-in");
    captured_client(&token_url, &pem).sign_in().await.expect("the captured sign-in");
    let first = captured.recv().await.expect("a form");
    let second = captured.recv().await.expect("a form");
    let fields: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(fields, ["audience", "client_assertion", "client_assertion_type", "client_id", "grant_type"]);
    assert_eq!(first["grant_type"], "client_credentials");
    assert_eq!(first["client_id"], CLIENT);
    assert_eq!(first["client_assertion_type"], ASSERTION_TYPE);
    assert_eq!(first["audience"], AUDIENCE);
    let claims = claims_of(&first["client_assertion"]);
    assert_eq!((claims["iss"].as_str(), claims["sub"].as_str()), (Some(CLIENT), Some(CLIENT)));
    assert_eq!(claims["aud"], AUDIENCE);
    let (iat, exp) = (claims["iat"].as_u64().expect("iat"), claims["exp"].as_u64().expect("exp"));
    assert_eq!(exp - iat, 600);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16), "{claims}");
    assert_ne!(second["client_assertion"], first["client_assertion"]);
    assert_ne!(claims_of(&second["client_assertion"])["jti"], claims["jti"], "a fresh jti per sign-in");
    // The assertion the client signed verifies as RS256 against the public key.
    let header = jsonwebtoken::decode_header(&first["client_assertion"]).expect("a JWT header");
    assert_eq!(header.alg, Algorithm::RS256);

    // PKCS#1 PEM and JWK forms of the same key sign in too.
    for text in [keys::private_pkcs1_pem(client_key()), keys::private_jwk(client_key())] {
        oneapi_client(&sim, CLIENT, &text).sign_in().await.expect("signed in");
    }
}

#[tokio::test]
async fn hostile_assertions_are_refused_and_say_why() {
    let sim = simulator().await;
    let key = client_key();

    // The official SDK's own assertion (no jti, no iat) is accepted...
    let (status, body) = token_request(&sim, &sign(&sdk_claims(), key)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string() && body["expires_in"].is_u64(), "{body}");

    // ...and everything below is refused, each saying why.
    let expired = sign(&with(sdk_claims(), json!({"exp": now() - 120})), key);
    assert_refused(&token_request(&sim, &expired).await, "expired", "expired");

    let wrong_audience = sign(&with(sdk_claims(), json!({"aud": "https://api.example.com"})), key);
    assert_refused(&token_request(&sim, &wrong_audience).await, "aud must be https://api.zscaler.com", "audience");

    let other_issuer = sign(&with(sdk_claims(), json!({"iss": "someone-else"})), key);
    assert_refused(&token_request(&sim, &other_issuer).await, "iss must be the client id", "issuer");
    let other_subject = sign(&with(sdk_claims(), json!({"sub": "someone-else"})), key);
    assert_refused(&token_request(&sim, &other_subject).await, "sub must be the client id", "subject");

    let other_key = keys::generate(2048);
    let wrongly_signed = sign(&sdk_claims(), &other_key);
    assert_refused(&token_request(&sim, &wrongly_signed).await, "signature does not verify", "wrongly signed");

    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(sdk_claims().to_string())
    );
    assert_refused(&token_request(&sim, &unsigned).await, "alg \"none\" is not accepted", "alg none");

    // HS256 keyed with the public key: the classic confusion attack.
    let public_pem = keys::public_pem(key);
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &sdk_claims(),
        &EncodingKey::from_secret(public_pem.as_bytes()).expect("an HMAC key"),
    )
    .expect("signed");
    assert_refused(&token_request(&sim, &hs256).await, "alg \"HS256\" is not accepted", "HS256");

    let replayable = sign(&with(sdk_claims(), json!({"jti": "once-only", "iat": now()})), key);
    assert_eq!(token_request(&sim, &replayable).await.0, 200, "the first use");
    assert_refused(&token_request(&sim, &replayable).await, "jti was already used", "replayed");

    assert_refused(&token_request(&sim, "not-a-jwt").await, "not a JWT", "garbage");

    // A 1024-bit key: the operator will not sign with it, the simulator
    // will not register it, and an assertion it signs does not verify.
    let small = keys::generate(1024);
    assert_eq!(
        PrivateKey::parse(&keys::private_pem(&small)).expect_err("refused"),
        PrivateKeyError::TooSmall { bits: 1024 }
    );
    let message = PrivateKey::parse(&keys::private_pem(&small)).expect_err("refused").to_string();
    assert_eq!(message, "the RSA key has 1024 bits; at least 2048 are required");
    let registered = sim.add_public_key_client(&PublicKeyClient {
        client_id: "small-key".into(),
        public_key: keys::public_pem(&small),
    });
    assert!(registered.expect_err("refused").contains("1024 bits; at least 2048"), "registration refused");
    assert_refused(&token_request(&sim, &sign(&sdk_claims(), &small)).await, "signature does not verify", "1024-bit");

    // Malformed requests are invalid_request, not a sign-in.
    let (status, body) = post_form(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_assertion", &sign(&sdk_claims(), key)),
            ("client_assertion_type", "urn:example:other"),
            ("audience", AUDIENCE),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    let (status, body) = post_form(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", "also-a-secret"),
            ("client_assertion", &sign(&sdk_claims(), key)),
            ("client_assertion_type", ASSERTION_TYPE),
            ("audience", AUDIENCE),
        ],
    )
    .await;
    assert_eq!(status, 400, "two authentication methods: {body}");
    assert!(body["error_description"].as_str().unwrap_or_default().contains("not both"), "{body}");

    // A client with a secret only has no key to check an assertion with.
    let (status, body) = post_form(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", sim.client_id()),
            ("client_assertion", &sign(&sdk_claims(), key)),
            ("client_assertion_type", ASSERTION_TYPE),
            ("audience", AUDIENCE),
        ],
    )
    .await;
    assert_refused(&(status, body), "has no public key registered", "secret-only client");

    assert_eq!(sim.stats().by_route_status.get(TOKEN_ROUTE).and_then(|s| s.get("200")), Some(&2));
}

#[tokio::test]
async fn the_client_reports_why_its_assertion_was_refused() {
    let sim = simulator().await;
    let stranger = keys::generate(2048);
    let client = oneapi_client(&sim, CLIENT, &keys::private_pem(&stranger));
    let error = client.sign_in().await.expect_err("a key the client did not register");
    assert!(matches!(error, ZpaError::Unauthorized { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("sign-in refused (HTTP 401): invalid_client: client_assertion signature does not verify"));
    assert!(!message.contains("BEGIN"), "{message}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn the_admin_api_registers_public_keys_as_pem_or_jwk() {
    let sim = simulator_with(SimulatorConfig { rate_limit: None, ..SimulatorConfig::default() }).await;
    let key = client_key();
    let http = http();
    let put = |client_id: &str, body: Value| {
        http.put(format!("{}/__sim/credentials/{client_id}", sim.base_url())).json(&body).send()
    };
    let answer = put("pem-client", json!({"customerId": sim.customer_id(), "publicKey": keys::public_pem(key)}))
        .await
        .expect("admin answers");
    assert_eq!(answer.status().as_u16(), 201);
    let public_jwk = {
        let private: Value = serde_json::from_str(&keys::private_jwk(key)).expect("JSON");
        json!({"kty": "RSA", "n": private["n"], "e": private["e"]}).to_string()
    };
    let answer = put("jwk-client", json!({"customerId": sim.customer_id(), "publicKey": public_jwk}))
        .await
        .expect("admin answers");
    assert_eq!(answer.status().as_u16(), 201);
    for client_id in ["pem-client", "jwk-client"] {
        oneapi_client(&sim, client_id, &keys::private_pem(key)).sign_in().await.expect("signed in");
    }
    // A public-key client has no secret to sign in with.
    let (status, body) = post_form(
        &sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "pem-client"),
            ("client_secret", ""),
            ("audience", AUDIENCE),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");

    let small = keys::public_pem(&keys::generate(1024));
    let answer = put("small", json!({"customerId": sim.customer_id(), "publicKey": small})).await.expect("answers");
    assert_eq!(answer.status().as_u16(), 400);
    let body: Value = answer.json().await.expect("JSON");
    assert!(body["reason"].as_str().unwrap_or_default().contains("1024 bits; at least 2048"), "{body}");
    let answer = put("nothing", json!({"customerId": sim.customer_id()})).await.expect("answers");
    assert_eq!(answer.status().as_u16(), 400, "neither a secret nor a key");
}

#[tokio::test]
async fn sign_in_faults_apply_to_the_private_key_path() {
    let sim = simulator().await;
    sim.set_faults(FaultConfig {
        server_errors: Some(ServerErrorFault {
            count: Some(2),
            path: Some("/oauth2/v1/token".into()),
            retry_after_secs: None,
            ..ServerErrorFault::default()
        }),
        ..FaultConfig::default()
    })
    .expect("faults set");
    let client = oneapi_client(&sim, CLIENT, &keys::private_pem(client_key()));
    let outcome = client.me().await;
    let refused_503 = sim.stats().by_route_status.get(TOKEN_ROUTE).and_then(|s| s.get("503")).copied();
    assert_eq!(refused_503, Some(2), "both faults hit the token route: {:?}", sim.stats().by_route_status);
    // Each sign-in after a 503 signs a new assertion; none was refused as a replay.
    outcome.expect("the client got through once the faults were used up");
    assert_eq!(sim.stats().by_route_status.get(TOKEN_ROUTE).and_then(|s| s.get("200")), Some(&1));
}
