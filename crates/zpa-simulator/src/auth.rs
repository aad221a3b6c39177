//! Sign-in (legacy `/signin` and OneAPI `/oauth2/v1/token`, the latter with a
//! client secret or a private-key client assertion), JWT-shaped bearer
//! tokens, and the bearer check every API call goes through.
//!
//! Tokens are three base64url parts (header, claims with `exp`/`iat`/`sub`/
//! `customerId`, a random signature). Validity is decided by the server-side
//! session table, so revoking is forgetting.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use serde_json::json;

use super::assertion;
use super::error::ApiError;
use super::query::Params;
use super::state::{Credential, Session, Sim, World, epoch_secs};
use zpa_wire::auth::{CLIENT_ASSERTION_TYPE, ONEAPI_AUDIENCE, TokenResponse};
use zpa_wire::error::ids;
use zpa_wire::secret::SecretString;

/// Mints a token for the customer (and Microtenant) of `credential` and records the session.
fn mint(world: &mut World, credential: &Credential, client_id: &str, ttl_secs: u64) -> String {
    let customer_id = credential.customer_id.as_str();
    let now = Instant::now();
    world.prune_sessions(now);
    let iat = epoch_secs();
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "zpa-simulator"});
    let claims = json!({
        "iss": "zpa-simulator",
        "sub": client_id,
        "aud": "zpa",
        "customerId": customer_id,
        "iat": iat,
        "exp": iat.saturating_add(ttl_secs),
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let mut signature = [0u8; 32];
    rand::rng().fill_bytes(&mut signature);
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    );
    world.sessions.insert(
        token.clone(),
        Session {
            customer_id: customer_id.to_owned(),
            expires_at: now.checked_add(std::time::Duration::from_secs(ttl_secs)).unwrap_or(now),
            microtenant_id: credential.microtenant_id.clone(),
        },
    );
    token
}

/// The credential of a valid client id and secret.
fn check_credentials(world: &World, client_id: &str, client_secret: &str) -> Option<Credential> {
    world
        .credentials
        .get(client_id)
        .filter(|cred| !client_secret.is_empty() && cred.secret.expose() == client_secret)
        .cloned()
}

/// `POST /signin` (form `client_id`, `client_secret`): `expires_in` is a string.
pub async fn signin(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&headers, &body);
    let (Some(client_id), Some(client_secret)) = (form.get("client_id"), form.get("client_secret")) else {
        return ApiError::bad_request(ids::INVALID_ARGUMENT, "client_id and client_secret are required.")
            .into_response();
    };
    let ttl = sim.token_ttl.as_secs().max(1);
    let mut world = sim.world();
    let Some(credential) = check_credentials(&world, client_id, client_secret) else {
        tracing::info!(client_id, "sign-in refused: bad credentials");
        return ApiError::new(StatusCode::UNAUTHORIZED, ids::ACCESS_DENIED, "Invalid client credentials.")
            .into_response();
    };
    let token = mint(&mut world, &credential, client_id, ttl);
    drop(world);
    tracing::debug!(client_id, customer_id = credential.customer_id, "signed in (legacy)");
    let response = TokenResponse {
        token_type: "Bearer".to_owned(),
        access_token: SecretString::new(token),
        expires_in: Some(ttl.to_string()),
    };
    Json(response).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({"error": error, "error_description": description}))).into_response()
}

/// `POST /oauth2/v1/token` (ZIdentity client credentials): `expires_in` is a number.
/// Credentials come from the form or from HTTP Basic, or the form carries a
/// private-key client assertion instead ([`assertion_token`]).
pub async fn oauth_token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&headers, &body);
    if form.get("grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials.",
        );
    }
    if form.get("audience") != Some(ONEAPI_AUDIENCE) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "audience must be https://api.zscaler.com.");
    }
    if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
        return assertion_token(&sim, &headers, &form);
    }
    let (client_id, client_secret) = match basic_credentials(&headers) {
        Some(pair) => pair,
        None => (
            form.get("client_id").unwrap_or_default().to_owned(),
            form.get("client_secret").unwrap_or_default().to_owned(),
        ),
    };
    let ttl = sim.token_ttl.as_secs().max(1);
    let mut world = sim.world();
    let Some(credential) = check_credentials(&world, &client_id, &client_secret) else {
        tracing::info!(client_id, "token request refused: bad credentials");
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.");
    };
    let token = mint(&mut world, &credential, &client_id, ttl);
    drop(world);
    tracing::debug!(client_id, customer_id = credential.customer_id, "signed in (OneAPI)");
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl})).into_response()
}

/// The private-key flow of `POST /oauth2/v1/token` (RFC 7523 §2.2): form
/// `client_id`, `client_assertion`, `client_assertion_type`. The assertion is
/// checked as [`assertion::verify`] says; a `jti` seen before is refused.
/// Every refusal is `invalid_client` (401), as a wrong secret is, with the
/// reason in `error_description`; a malformed request is `invalid_request` (400).
fn assertion_token(sim: &Sim, headers: &HeaderMap, form: &Params) -> Response {
    let bad_request = |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    let refused = |client_id: &str, description: &str| {
        tracing::info!(client_id, reason = description, "token request refused: client assertion");
        oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
    };
    if form.get("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
        return bad_request("client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.");
    }
    // RFC 6749 §2.3: a client uses one authentication method per request.
    if form.get("client_secret").is_some() || basic_credentials(headers).is_some() {
        return bad_request("Use either a client secret or a client assertion, not both.");
    }
    let (Some(client_id), Some(jwt)) = (form.get("client_id"), form.get("client_assertion")) else {
        return bad_request("client_id and client_assertion are required.");
    };
    let registered = sim.world().credentials.get(client_id).cloned();
    let Some((credential, key)) = registered.and_then(|c| c.public_key.clone().map(|key| (c, key))) else {
        return refused(client_id, &format!("Client {client_id} has no public key registered."));
    };
    let now = epoch_secs();
    let accepted = match assertion::verify(&key, client_id, jwt, now) {
        Ok(accepted) => accepted,
        Err(why) => return refused(client_id, &why),
    };
    let ttl = sim.token_ttl.as_secs().max(1);
    let mut world = sim.world();
    if let Some(jti) = &accepted.jti
        && !world.first_use_of_assertion(client_id, jti, accepted.exp, now)
    {
        drop(world);
        return refused(client_id, "client_assertion jti was already used: sign a new assertion for each request.");
    }
    let token = mint(&mut world, &credential, client_id, ttl);
    drop(world);
    tracing::debug!(client_id, customer_id = credential.customer_id, "signed in (OneAPI, private key)");
    Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl})).into_response()
}

/// Form fields, or JSON fields when the body is JSON.
fn parse_form(headers: &HeaderMap, body: &[u8]) -> Params {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.contains("json"));
    if is_json && let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        let pairs: Vec<String> =
            map.iter().filter_map(|(k, v)| v.as_str().map(|v| format!("{}={}", encode(k), encode(v)))).collect();
        return Params::parse(Some(&pairs.join("&")));
    }
    Params::parse(std::str::from_utf8(body).ok())
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The bearer token of a request, if it carries one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Some(token.trim())
        }
        _ => None,
    }
}

/// The customer id in an API path (`.../customers/{customerId}/...`).
pub fn customer_in_path(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    segments.by_ref().find(|s| *s == "customers")?;
    segments.next().filter(|s| !s.is_empty())
}

/// Checks the bearer token of an API call against the session table and the
/// customer in the path.
pub fn authorize(sim: &Sim, headers: &HeaderMap, path: &str) -> Result<Session, ApiError> {
    let denied = || ApiError::new(StatusCode::UNAUTHORIZED, ids::ACCESS_DENIED, "Access denied");
    let token = bearer(headers).ok_or_else(denied)?;
    let session = sim.world().sessions.get(token).cloned();
    let session = session.filter(|s| s.expires_at > Instant::now()).ok_or_else(|| {
        ApiError::new(StatusCode::UNAUTHORIZED, ids::SESSION_NOT_VALID, "Session is not valid. Sign in again.")
    })?;
    if let Some(customer) = customer_in_path(path)
        && customer != session.customer_id
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ids::ACCESS_DENIED,
            format!("Access denied: this session does not belong to customer {customer}."),
        ));
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_jwt_shaped_with_exp() {
        let mut world = World::new();
        let credential =
            Credential { secret: "s".into(), public_key: None, customer_id: "42".into(), microtenant_id: None };
        let token = mint(&mut world, &credential, "client", 60);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["customerId"], "42");
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 60);
        assert!(world.sessions.contains_key(&token));
    }

    #[test]
    fn customer_ids_are_found_in_both_path_families() {
        assert_eq!(customer_in_path("/cbiconfig/cbi/api/customers/7/profiles"), Some("7"));
        assert_eq!(customer_in_path("/mgmtconfig/v1/admin/customers/8"), Some("8"));
        assert_eq!(customer_in_path("/mgmtconfig/v1/admin/me"), None);
    }

    #[test]
    fn basic_auth_is_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, format!("Basic {}", STANDARD.encode("id:s3:cret")).parse().unwrap());
        assert_eq!(basic_credentials(&headers), Some(("id".into(), "s3:cret".into())));
    }

    #[test]
    fn json_sign_in_bodies_are_accepted() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let form = parse_form(&headers, br#"{"client_id":"a b","client_secret":"x&y=z"}"#);
        assert_eq!(form.get("client_id"), Some("a b"));
        assert_eq!(form.get("client_secret"), Some("x&y=z"));
    }
}
