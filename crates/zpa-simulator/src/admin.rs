//! `/__sim/...`: the simulator's own control surface (no auth, not rate
//! limited, not counted in the stats).
//!
//! | call | body | answer |
//! |---|---|---|
//! | `GET /__sim/health` | | `{"status":"ok"}` |
//! | `GET /__sim/stats` | | [`Stats`] |
//! | `POST /__sim/stats/reset` | | 204 |
//! | `GET /__sim/faults` | | [`FaultConfig`] (counts and storm time left) |
//! | `PUT /__sim/faults` | [`FaultConfig`] (replaces all; `{}` clears) | the new config |
//! | `DELETE /__sim/faults` | | 204 |
//! | `GET/PUT /__sim/rate-limit` | `{"enabled","getLimit"?,"writeLimit"?,"windowMs"?}` | the same |
//! | `GET/PUT /__sim/behaviour` | [`Behaviour`] (`{"refuseDuplicateProfileNames"?}`) | the same |
//! | `GET /__sim/requests/last?route=<METHOD route>` | | the last request of that route ([`RecordedRequest`]: `{"method","route","path","query","body"}`), 404 if none; without `route`, every route's last request by `"<METHOD> <route>"` (the stats' keys) |
//! | `DELETE /__sim/requests` | | 204: forgets every recorded request |
//! | `GET /__sim/customers` | | `[{"customerId","name","clientIds"}]` |
//! | `POST /__sim/customers` | `{"customerId"?,"name"?,"clientId","clientSecret","authDomains"?,"openDomainSuffix"?}` | 201 `{"customerId","name","clientId"}`; 409 if taken |
//! | `POST /__sim/tokens/revoke` | `{"customerId"?}` or empty | `{"revoked": n}` |
//! | `POST /__sim/tokens/expire` | `{"customerId"?}` or empty | `{"expired": n}`: the tokens now fail as expired ones do |
//! | `GET /__sim/tokens` | | `[{"token","customerId","expiresInSecs"}]`: every live token (for secret-leak tests) |
//! | `PUT /__sim/credentials/{clientId}` | `{"customerId","clientSecret"?,"publicKey"?,"microtenantId"?}` | adds or replaces an API key (rotation); with `publicKey` (PEM or JWK, RSA of 2048 bits or more) it signs in with client assertions of the matching private key; one of the two is required; with `microtenantId`, a key bound to that Microtenant |
//! | `DELETE /__sim/credentials/{clientId}` | | 204: the key no longer signs in (its tokens stay until revoked) |
//! | `GET /__sim/customers/{cid}/state` | | every object of the customer (see [`customer_state`]) |
//! | `PATCH /__sim/customers/{cid}/profiles/{id}` | JSON merge patch | the stored profile |
//! | `PATCH /__sim/customers/{cid}/microtenants/{id}` | JSON merge patch | the Microtenant |
//! | `POST /__sim/customers/{cid}/profiles/{id}/in-use` | `{"inUse": bool}` or empty (true) | `{"id","inUse"}` |

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::assertion::ClientKey;
use super::customer::Customer;
use super::error::{ApiError, ApiResult, parse_object};
use super::faults::FaultConfig;
use super::query::Params;
use super::ratelimit::RateLimitConfig;
use super::seed::{self, AddCustomerError, CustomerSpec};
use super::state::{Behaviour, Credential, RecordedRequest, Sim, epoch_secs};
use super::stats::Stats;
use super::{microtenants, profiles};
use zpa_wire::error::ids;
use zpa_wire::secret::SecretString;

fn admin_error(reason: impl Into<String>) -> ApiError {
    ApiError::bad_request(ids::INVALID_ARGUMENT, reason)
}

/// A JSON body, or `default` when the body is empty.
fn body_or<T: for<'de> Deserialize<'de>>(body: &[u8], default: T) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(default);
    }
    serde_json::from_slice(body).map_err(|err| ApiError::malformed(format!("Invalid body: {err}")))
}

pub async fn health() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

pub async fn stats(State(sim): State<Arc<Sim>>) -> Json<Stats> {
    Json(sim.stats().clone())
}

pub async fn reset_stats(State(sim): State<Arc<Sim>>) -> StatusCode {
    *sim.stats() = Stats::default();
    StatusCode::NO_CONTENT
}

pub async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<FaultConfig> {
    Json(sim.faults().snapshot(Instant::now()))
}

/// Replaces the whole fault configuration; `{}` clears it.
pub async fn put_faults(State(sim): State<Arc<Sim>>, body: Bytes) -> ApiResult {
    let config: FaultConfig = body_or(&body, FaultConfig::default())?;
    config.validate().map_err(admin_error)?;
    tracing::info!(faults = %serde_json::to_string(&config).unwrap_or_default(), "faults set");
    let now = Instant::now();
    let mut faults = sim.faults();
    faults.set(config, now);
    Ok(Json(faults.snapshot(now)).into_response())
}

pub async fn clear_faults(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.faults().set(FaultConfig::default(), Instant::now());
    StatusCode::NO_CONTENT
}

/// `GET/PUT /__sim/rate-limit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitView {
    pub enabled: bool,
    #[serde(default)]
    pub get_limit: Option<u32>,
    #[serde(default)]
    pub write_limit: Option<u32>,
    #[serde(default)]
    pub window_ms: Option<u64>,
}

fn rate_limit_view(config: Option<RateLimitConfig>) -> RateLimitView {
    match config {
        Some(c) => RateLimitView {
            enabled: true,
            get_limit: Some(c.get_limit),
            write_limit: Some(c.write_limit),
            window_ms: Some(c.window_ms),
        },
        None => RateLimitView::default(),
    }
}

pub async fn get_rate_limit(State(sim): State<Arc<Sim>>) -> Json<RateLimitView> {
    Json(rate_limit_view(sim.limiter().config()))
}

/// Replaces the limits (missing numbers take the ZPA defaults) and resets all windows.
pub async fn put_rate_limit(State(sim): State<Arc<Sim>>, body: Bytes) -> ApiResult {
    let view: RateLimitView = serde_json::from_slice(&body).map_err(|err| ApiError::malformed(format!("{err}")))?;
    let defaults = RateLimitConfig::default();
    let config = view.enabled.then(|| RateLimitConfig {
        get_limit: view.get_limit.unwrap_or(defaults.get_limit),
        write_limit: view.write_limit.unwrap_or(defaults.write_limit),
        window_ms: view.window_ms.unwrap_or(defaults.window_ms).max(1),
    });
    sim.limiter().reconfigure(config);
    Ok(Json(rate_limit_view(config)).into_response())
}

/// `GET /__sim/requests/last[?route=PUT /cbiconfig/.../profiles/{profileId}]`.
pub async fn last_request(State(sim): State<Arc<Sim>>, RawQuery(query): RawQuery) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let requests = sim.requests();
    match params.get("route") {
        Some(route) => {
            let found: Option<&RecordedRequest> = requests.get(route.trim());
            let found = found.ok_or_else(|| ApiError::not_found(format!("No request recorded for '{route}'.")))?;
            Ok(Json(found.clone()).into_response())
        }
        None => Ok(Json(requests.clone()).into_response()),
    }
}

pub async fn clear_requests(State(sim): State<Arc<Sim>>) -> StatusCode {
    sim.requests().clear();
    StatusCode::NO_CONTENT
}

pub async fn get_behaviour(State(sim): State<Arc<Sim>>) -> Json<Behaviour> {
    Json(sim.world().behaviour)
}

/// Replaces the behaviour switches (absent ones take their defaults).
pub async fn put_behaviour(State(sim): State<Arc<Sim>>, body: Bytes) -> ApiResult {
    let behaviour: Behaviour = body_or(&body, Behaviour::default())?;
    sim.world().behaviour = behaviour;
    tracing::info!(?behaviour, "behaviour set");
    Ok(Json(behaviour).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewCustomer {
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    client_id: String,
    client_secret: SecretString,
    #[serde(default)]
    auth_domains: Option<Vec<String>>,
    #[serde(default)]
    open_domain_suffix: Option<String>,
}

/// `POST /__sim/customers`: adds a seeded customer with its own credentials.
pub async fn add_customer(State(sim): State<Arc<Sim>>, body: Bytes) -> ApiResult {
    let request: NewCustomer =
        serde_json::from_slice(&body).map_err(|err| ApiError::malformed(format!("Invalid customer: {err}")))?;
    let mut world = sim.world();
    let customer_id = match request.customer_id {
        Some(id) => id,
        None => {
            let mut candidate: u64 = 216_196_257_331_281_920;
            while world.customers.contains_key(&candidate.to_string()) {
                candidate += 1 << 32;
            }
            candidate.to_string()
        }
    };
    let spec = CustomerSpec {
        customer_id,
        name: request.name.unwrap_or_else(|| "zscaler".to_owned()),
        client_id: request.client_id,
        client_secret: request.client_secret,
        auth_domains: request.auth_domains.unwrap_or_else(seed::default_auth_domains),
        open_domain_suffix: request.open_domain_suffix.or_else(|| Some(seed::OPEN_DOMAIN_SUFFIX.to_owned())),
    };
    match seed::add_customer(&mut world, &spec) {
        Ok(()) => {}
        Err(AddCustomerError::Invalid(reason)) => return Err(admin_error(reason)),
        Err(AddCustomerError::Exists(reason)) => {
            return Err(ApiError::new(StatusCode::CONFLICT, ids::RESOURCE_ALREADY_EXISTS, reason));
        }
    }
    let id = spec.customer_id.trim().parse::<u64>().map(|n| n.to_string()).unwrap_or(spec.customer_id);
    tracing::info!(customer = %id, client_id = %spec.client_id, "customer added");
    Ok((StatusCode::CREATED, Json(json!({"customerId": id, "name": spec.name, "clientId": spec.client_id})))
        .into_response())
}

pub async fn list_customers(State(sim): State<Arc<Sim>>) -> Json<Vec<Value>> {
    let world = sim.world();
    let mut list: Vec<Value> = world
        .customers
        .values()
        .map(|c| {
            let client_ids: Vec<&str> = world
                .credentials
                .iter()
                .filter(|(_, cred)| cred.customer_id == c.id)
                .map(|(id, _)| id.as_str())
                .collect();
            json!({"customerId": c.id, "name": c.name, "clientIds": client_ids})
        })
        .collect();
    list.sort_by(|a, b| a["customerId"].as_str().cmp(&b["customerId"].as_str()));
    Json(list)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Revoke {
    #[serde(default)]
    customer_id: Option<String>,
}

/// `POST /__sim/tokens/revoke`: every token (or one customer's) stops working.
pub async fn revoke_tokens(State(sim): State<Arc<Sim>>, body: Bytes) -> ApiResult {
    let request: Revoke = body_or(&body, Revoke::default())?;
    let mut world = sim.world();
    let before = world.sessions.len();
    match &request.customer_id {
        Some(customer) => world.sessions.retain(|_, s| &s.customer_id != customer),
        None => world.sessions.clear(),
    }
    let revoked = before - world.sessions.len();
    tracing::info!(revoked, "tokens revoked");
    Ok(Json(json!({"revoked": revoked})).into_response())
}

/// `POST /__sim/tokens/expire`: every token (or one customer's) expires now,
/// before the lifetime its client was told.
pub async fn expire_tokens(State(sim): State<Arc<Sim>>, body: Bytes) -> ApiResult {
    let request: Revoke = body_or(&body, Revoke::default())?;
    let now = Instant::now();
    let mut world = sim.world();
    let mut expired = 0;
    for session in world.sessions.values_mut() {
        if request.customer_id.as_ref().is_none_or(|c| c == &session.customer_id) && session.expires_at > now {
            session.expires_at = now;
            expired += 1;
        }
    }
    tracing::info!(expired, "tokens expired");
    Ok(Json(json!({"expired": expired})).into_response())
}

/// `GET /__sim/tokens`: every live token, so tests can look for them where
/// they must never appear.
pub async fn list_tokens(State(sim): State<Arc<Sim>>) -> Json<Vec<Value>> {
    let now = Instant::now();
    let world = sim.world();
    let tokens = world
        .sessions
        .iter()
        .filter(|(_, s)| s.expires_at > now)
        .map(|(token, s)| {
            json!({"token": token, "customerId": s.customer_id,
                   "expiresInSecs": s.expires_at.saturating_duration_since(now).as_secs()})
        })
        .collect();
    Json(tokens)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ApiKey {
    customer_id: String,
    #[serde(default)]
    client_secret: Option<SecretString>,
    /// The public key of a client that signs in with a private key.
    #[serde(default)]
    public_key: Option<String>,
    /// A key made inside this Microtenant (absent or `"0"`: the Default one).
    #[serde(default)]
    microtenant_id: Option<String>,
}

/// `PUT /__sim/credentials/{clientId}`: adds an API key to a customer, or
/// gives an existing one a new secret (the old secret stops working).
pub async fn put_credentials(State(sim): State<Arc<Sim>>, Path(client_id): Path<String>, body: Bytes) -> ApiResult {
    let request: ApiKey =
        serde_json::from_slice(&body).map_err(|err| ApiError::malformed(format!("Invalid API key: {err}")))?;
    let secret = request.client_secret.unwrap_or_default();
    let public_key = match &request.public_key {
        Some(text) => Some(Arc::new(ClientKey::parse(text).map_err(|why| admin_error(format!("publicKey: {why}")))?)),
        None => None,
    };
    if secret.is_empty() && public_key.is_none() {
        return Err(admin_error("clientSecret (not empty) or publicKey is required."));
    }
    let mut world = sim.world();
    let customer = customer_of(&mut world, &request.customer_id)?;
    let microtenant_id = request.microtenant_id.map(|id| id.trim().to_owned()).filter(|id| id != "0" && !id.is_empty());
    if let Some(id) = &microtenant_id
        && customer.microtenants.get(id).is_none()
    {
        return Err(admin_error(format!("Microtenant {id} does not exist in customer {}.", request.customer_id)));
    }
    let credential = Credential { secret, public_key, customer_id: request.customer_id.clone(), microtenant_id };
    let created = world.credentials.insert(client_id.clone(), credential).is_none();
    tracing::info!(client_id, customer = %request.customer_id, created, "API key set");
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({"clientId": client_id, "customerId": request.customer_id}))).into_response())
}

/// `DELETE /__sim/credentials/{clientId}`: the key can no longer sign in.
pub async fn delete_credentials(State(sim): State<Arc<Sim>>, Path(client_id): Path<String>) -> ApiResult {
    if sim.world().credentials.remove(&client_id).is_none() {
        return Err(ApiError::not_found(format!("API key {client_id} not found.")));
    }
    tracing::info!(client_id, "API key deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn customer_of<'w>(world: &'w mut super::state::World, customer_id: &str) -> Result<&'w mut Customer, ApiError> {
    world
        .customers
        .get_mut(customer_id)
        .ok_or_else(|| ApiError::not_found(format!("Customer {customer_id} not found.")))
}

/// `GET /__sim/customers/{cid}/state`: every object of the customer.
pub async fn customer_state(State(sim): State<Arc<Sim>>, Path(customer_id): Path<String>) -> ApiResult {
    let mut world = sim.world();
    let customer: &Customer = customer_of(&mut world, &customer_id)?;
    let mut by_scope: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for profile in customer.profiles.all() {
        by_scope.entry(profile.scope.clone()).or_default().push(Value::Object(profile.body.clone()));
    }
    let microtenant_list: Vec<Value> = customer.microtenants.all().map(|m| microtenants::view(customer, m)).collect();
    let admins: BTreeMap<&str, Value> = customer
        .microtenants
        .all()
        .filter_map(|m| m.user.as_ref().map(|u| (m.id(), Value::Object(u.clone()))))
        .collect();
    let zpa_profiles: Vec<Value> = customer.profiles.all().map(|p| profiles::zpa_mgmt_view(customer, p)).collect();
    let in_use: Vec<&str> = customer.profiles.all().filter(|p| p.in_use).map(|p| p.id()).collect();
    Ok(Json(json!({
        "customerId": customer.id,
        "name": customer.name,
        "authDomains": customer.auth_domains,
        "openDomainSuffix": customer.open_domain_suffix,
        "cbiTenantId": customer.cbi_tenant_id,
        "regions": customer.regions,
        "certificates": customer.certificates,
        "banners": customer.banners,
        "microtenants": microtenant_list,
        "microtenantAdmins": admins,
        "profiles": by_scope,
        "zpaProfiles": zpa_profiles,
        "inUseProfiles": in_use,
        "counts": {
            "profiles": customer.profiles.len(),
            "microtenants": customer.microtenants.custom_count(),
        },
    }))
    .into_response())
}

/// `PATCH /__sim/customers/{cid}/profiles/{id}`: drift (JSON merge patch).
pub async fn patch_profile(
    State(sim): State<Arc<Sim>>,
    Path((customer_id, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let patch = Value::Object(parse_object(&body)?);
    let mut world = sim.world();
    let customer = customer_of(&mut world, &customer_id)?;
    let stored = profiles::patch(customer, &id, &patch, epoch_secs())?;
    tracing::info!(customer = %customer_id, id, "drift: profile patched");
    Ok(Json(Value::Object(stored)).into_response())
}

/// `PATCH /__sim/customers/{cid}/microtenants/{id}`: drift (JSON merge patch).
pub async fn patch_microtenant(
    State(sim): State<Arc<Sim>>,
    Path((customer_id, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let patch = Value::Object(parse_object(&body)?);
    let mut world = sim.world();
    let customer = customer_of(&mut world, &customer_id)?;
    let view = microtenants::patch(customer, &id, &patch, epoch_secs())?;
    tracing::info!(customer = %customer_id, id, "drift: Microtenant patched");
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InUse {
    #[serde(default = "yes")]
    in_use: bool,
}

fn yes() -> bool {
    true
}

/// `POST /__sim/customers/{cid}/profiles/{id}/in-use`: DELETE of the profile is
/// refused (`resource.in.use`) until called again with `{"inUse": false}`.
pub async fn profile_in_use(
    State(sim): State<Arc<Sim>>,
    Path((customer_id, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let request: InUse = body_or(&body, InUse { in_use: true })?;
    let mut world = sim.world();
    let customer = customer_of(&mut world, &customer_id)?;
    if !customer.profiles.set_in_use(&id, request.in_use) {
        return Err(ApiError::not_found(format!("Isolation profile '{id}' not found.")));
    }
    Ok(Json(json!({"id": id, "inUse": request.in_use})).into_response())
}
