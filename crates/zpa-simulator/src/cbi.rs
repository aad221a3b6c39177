//! `/cbiconfig/cbi/api/customers/{customerId}/...`: CBI profiles (scoped by
//! `scopeId`), regions, certificates, banners and the `zpaprofiles` view.
//! Lists are bare JSON arrays.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

use super::common::DEFAULT_SCOPE;
use super::customer::Customer;
use super::error::{ApiError, ApiResult, parse_object};
use super::profiles;
use super::query::Params;
use super::state::{Session, Sim, World, epoch_secs};
use zpa_wire::error::ids;
use zpa_wire::paths::SCOPE_PARAM;
use zpa_wire::{IdOnly, MessageBody};

pub(super) fn customer_mut<'w>(world: &'w mut World, session: &Session) -> Result<&'w mut Customer, ApiError> {
    world
        .customers
        .get_mut(&session.customer_id)
        .ok_or_else(|| ApiError::not_found(format!("Customer {} not found.", session.customer_id)))
}

/// The scope a CBI call names: `scopeId` (the seed's parameter on `/profiles`
/// and `/zpaprofiles`) or the `microtenantId` the Go SDK adds to every call
/// (`zscaler/common/zpa.go`); `0` is the Default Microtenant, absent is `None`.
/// Unknown scopes are refused.
fn scope_of(customer: &Customer, session: &Session, params: &Params) -> Result<Option<String>, ApiError> {
    session_scope(session, requested_scope(customer, params)?)
}

/// A key bound to a Microtenant works in that Microtenant: "If you are within
/// a Microtenant, you must pass the microtenantId field when making an API
/// call to retrieve data from that Microtenant" (the seed). What else happens
/// the seed does not say; the simulator takes the harsher answer and refuses
/// any other scope, or none, with 403.
fn session_scope(session: &Session, requested: Option<String>) -> Result<Option<String>, ApiError> {
    match (&session.microtenant_id, requested) {
        (None, requested) => Ok(requested),
        (Some(own), Some(scope)) if *own == scope => Ok(Some(scope)),
        (Some(own), other) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ids::ACCESS_DENIED,
            format!(
                "This API key belongs to Microtenant {own}: pass scopeId={own} (asked for {}).",
                other.as_deref().unwrap_or("no scope")
            ),
        )),
    }
}

fn requested_scope(customer: &Customer, params: &Params) -> Result<Option<String>, ApiError> {
    let raw = params.get(SCOPE_PARAM).or_else(|| params.get("microtenantId")).map(str::trim);
    match raw {
        None | Some("") => Ok(None),
        Some(scope) => {
            let numeric = scope.parse::<u64>().map_err(|_| {
                ApiError::invalid_argument(
                    SCOPE_PARAM,
                    format!("Invalid scopeId '{scope}': expected a Microtenant id."),
                )
            })?;
            let scope = numeric.to_string();
            if !customer.scope_exists(&scope) {
                return Err(ApiError::invalid_argument(SCOPE_PARAM, format!("Unknown scopeId '{scope}'.")));
            }
            Ok(Some(scope))
        }
    }
}

/// The scope of a write: without a scope, "the resource is created or updated
/// in the Default Microtenant" (the seed, on every `/profiles` route).
fn scope_or_default(customer: &Customer, session: &Session, params: &Params) -> Result<String, ApiError> {
    Ok(scope_of(customer, session, params)?.unwrap_or_else(|| DEFAULT_SCOPE.to_owned()))
}

/// `GET .../profiles`: one scope with `scopeId` (`0` = Default), every
/// scope without it. The seed says an absent Microtenant id returns every
/// Microtenant's objects for inheritable resources; no source says what an
/// unscoped CBI read returns (facts §9), so the simulator takes the harsher
/// answer: all of them. A client that looks names up without a scope sees
/// other scopes' profiles, as it would on a tenant.
pub async fn list_profiles(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let list: Vec<Value> = match scope_of(customer, &session, &params)? {
        Some(scope) => customer.profiles.in_scope(&scope).map(|p| Value::Object(p.body.clone())).collect(),
        None => customer.profiles.all().map(|p| Value::Object(p.body.clone())).collect(),
    };
    Ok(Json(list).into_response())
}

/// `GET .../profiles/{id}`: in the given scope, or (unscoped, as the list) in any.
pub async fn get_profile(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    Path((_, profile_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let profile = match scope_of(customer, &session, &params)? {
        Some(scope) => customer.profiles.get_in_scope(&profile_id, &scope),
        None => customer.profiles.get(&profile_id),
    };
    let profile = profile.ok_or_else(|| {
        ApiError::not_found(format!("Isolation profile '{profile_id}' not found."))
            .with_params(vec![profile_id.clone()])
    })?;
    Ok(Json(Value::Object(profile.body.clone())).into_response())
}

pub async fn create_profile(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let input = parse_object(&body)?;
    let mut world = sim.world();
    let zpa_id = world.next_zpa_profile_id();
    let names = world.behaviour.names();
    let customer = customer_mut(&mut world, &session)?;
    let scope = scope_or_default(customer, &session, &params)?;
    let id = profiles::create(customer, &scope, input, zpa_id, epoch_secs(), names)?;
    tracing::debug!(customer = %customer.id, scope, id, "CBI profile created");
    Ok(Json(IdOnly { id }).into_response())
}

pub async fn update_profile(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    Path((_, profile_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let input = parse_object(&body)?;
    let mut world = sim.world();
    let names = world.behaviour.names();
    let customer = customer_mut(&mut world, &session)?;
    let scope = scope_or_default(customer, &session, &params)?;
    let stored = profiles::update(customer, &scope, &profile_id, input, epoch_secs(), names)?;
    Ok(Json(Value::Object(stored)).into_response())
}

pub async fn delete_profile(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    Path((_, profile_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let scope = scope_or_default(customer, &session, &params)?;
    profiles::delete(customer, &scope, &profile_id)?;
    Ok(Json(MessageBody { message: "Profile deleted successfully.".to_owned() }).into_response())
}

/// Regions, in an order that changes from call to call (clients must not rely on it).
pub async fn list_regions(State(sim): State<Arc<Sim>>, Extension(session): Extension<Session>) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    customer.region_list_calls = customer.region_list_calls.wrapping_add(1);
    let mut regions = customer.regions.clone();
    if !regions.is_empty() {
        let shift = customer.region_list_calls % regions.len();
        regions.rotate_left(shift);
        if customer.region_list_calls % 2 == 0 {
            regions.reverse();
        }
    }
    Ok(Json(regions).into_response())
}

pub async fn list_certificates(State(sim): State<Arc<Sim>>, Extension(session): Extension<Session>) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    Ok(Json(customer.certificates.clone()).into_response())
}

pub async fn get_certificate(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let cert =
        customer.certificate(&id).ok_or_else(|| ApiError::not_found(format!("Certificate '{id}' not found.")))?;
    Ok(Json(cert.clone()).into_response())
}

pub async fn list_banners(State(sim): State<Arc<Sim>>, Extension(session): Extension<Session>) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    Ok(Json(customer.banners.clone()).into_response())
}

pub async fn get_banner(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let banner = customer.banner(&id).ok_or_else(|| ApiError::not_found(format!("Banner '{id}' not found.")))?;
    Ok(Json(banner.clone()).into_response())
}

/// `GET .../zpaprofiles?showDisabled=`: every scope unless `scopeId` narrows it.
pub async fn list_zpa_profiles(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let show_disabled = params.flag("showDisabled");
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let scope = scope_of(customer, &session, &params)?;
    let list: Vec<Value> = customer
        .profiles
        .all()
        .filter(|p| scope.as_deref().is_none_or(|s| p.scope == s))
        .filter(|p| show_disabled || p.enabled())
        .map(|p| profiles::zpa_cbi_view(customer, p))
        .collect();
    Ok(Json(list).into_response())
}
