//! `/mgmtconfig/v1/admin/...`: Microtenants, the session (`/me`), auth domains
//! and the ZPA-side isolation profile list. Lists use the paged envelope.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value;

use super::cbi::customer_mut;
use super::error::{ApiError, ApiResult, parse_object};
use super::microtenants;
use super::paging::PageRequest;
use super::profile_store::StoredProfile;
use super::profiles;
use super::query::Params;
use super::search::{Condition, Search, body_conditions};
use super::state::{Session, Sim, epoch_secs};
use zpa_wire::mgmt::{AuthDomains, Me, MicrotenantSummary, SearchRequest, SortBy};

/// `GET /mgmtconfig/v1/admin/me`: the session's customer and Microtenant. A
/// Default-scope session has no `microtenantId` and the name `"default"`
/// (the seed's first example); a key bound to a Microtenant names it (the
/// seed's second example).
pub async fn me(State(sim): State<Arc<Sim>>, Extension(session): Extension<Session>) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let microtenant = session.microtenant_id.as_deref().map(|id| (id, customer.microtenants.name_of(id)));
    Ok(Json(Me {
        customer_id: Some(customer.id.clone()),
        customer_name: Some(customer.name.clone()),
        microtenant_id: microtenant.map(|(id, _)| id.to_owned()),
        microtenant_name: Some(microtenant.and_then(|(_, name)| name).unwrap_or("default").to_owned()),
    })
    .into_response())
}

/// "The ability to create [or update] a Microtenant is only supported for
/// Default Microtenant admins" (the seed): a key bound to a Microtenant is refused.
fn default_admins_only(session: &Session) -> Result<(), ApiError> {
    match &session.microtenant_id {
        None => Ok(()),
        Some(id) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            zpa_wire::error::ids::ACCESS_DENIED,
            format!(
                "Only Default Microtenant admins can change Microtenants; this API key belongs to Microtenant {id}."
            ),
        )),
    }
}

pub async fn auth_domains(State(sim): State<Arc<Sim>>, Extension(session): Extension<Session>) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    Ok(Json(AuthDomains { auth_domains: customer.auth_domains.clone() }).into_response())
}

/// `GET .../isolation/profiles?page&pagesize&search&showDisabled` (every scope;
/// `microtenantId` narrows it).
pub async fn isolation_profiles(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let page = PageRequest::from_params(&params)?;
    let search = Search::parse(params.get("search"))?;
    let show_disabled = params.flag("showDisabled");
    let scope = params.get("microtenantId").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let candidates: Box<dyn Iterator<Item = &StoredProfile>> = match search.name_equals() {
        Some(name) => Box::new(customer.profiles.named(name)),
        None => Box::new(customer.profiles.all()),
    };
    let items: Vec<Value> = candidates
        .filter(|p| scope.as_deref().is_none_or(|s| p.scope == s))
        .filter(|p| show_disabled || p.enabled())
        .map(|p| profiles::zpa_mgmt_view(customer, p))
        .filter(|view| search.matches(view))
        .collect();
    Ok(Json(page.paginate(items, true)).into_response())
}

/// `GET .../microtenants?page&pagesize&search` (the Default one included).
pub async fn list_microtenants(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let page = PageRequest::from_params(&params)?;
    let search = Search::parse(params.get("search"))?;
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let items: Vec<Value> = customer
        .microtenants
        .all()
        .map(|m| microtenants::view(customer, m))
        .filter(|view| search.matches(view))
        .collect();
    Ok(Json(page.paginate(items, false)).into_response())
}

/// `POST .../microtenants/search`: filters (both documented shapes), paging, sorting.
pub async fn search_microtenants(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    body: Bytes,
) -> ApiResult {
    let mut input = parse_object(&body)?;
    // The Python SDK wraps the DTO in its keyword argument name.
    if let Some(Value::Object(inner)) = input.remove("filterAndSortDto") {
        input = inner;
    }
    let request: SearchRequest = serde_json::from_value(Value::Object(input))
        .map_err(|err| ApiError::malformed(format!("Invalid search request: {err}")))?;
    let conditions: Vec<Condition> = match &request.filter_by {
        Some(filter_by) => body_conditions(&filter_by.filters())?,
        None => Vec::new(),
    };
    let page = PageRequest::from_page_by(request.page_by.as_ref());
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let mut items: Vec<Value> = customer
        .microtenants
        .all()
        .map(|m| microtenants::view(customer, m))
        .filter(|view| conditions.iter().all(|c| c.matches(view)))
        .collect();
    if let Some(sort) = &request.sort_by {
        sort_items(&mut items, sort);
    }
    Ok(Json(page.paginate(items, false)).into_response())
}

fn sort_items(items: &mut [Value], sort: &SortBy) {
    let Some(field) = sort.sort_name.as_deref().filter(|f| !f.is_empty()) else {
        return;
    };
    let key = |v: &Value| match v.get(field) {
        Some(Value::String(s)) => s.to_lowercase(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    items.sort_by_key(key);
    if sort.sort_order.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("DESC")) {
        items.reverse();
    }
}

/// `GET .../microtenants/summary`: a bare array of `{id, name, enabled}`.
pub async fn microtenant_summary(State(sim): State<Arc<Sim>>, Extension(session): Extension<Session>) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let list: Vec<MicrotenantSummary> = customer
        .microtenants
        .all()
        .map(|m| MicrotenantSummary {
            id: Some(m.id().to_owned()),
            name: m.name().to_owned(),
            enabled: Some(m.enabled()),
        })
        .collect();
    Ok(Json(list).into_response())
}

pub async fn get_microtenant(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let stored = customer.microtenants.get(&id).ok_or_else(|| {
        ApiError::not_found(format!("No resource exists with the given id/name :{id}")).with_params(vec![id.clone()])
    })?;
    Ok(Json(microtenants::view(customer, stored)).into_response())
}

/// `POST .../microtenants`: 201 with the object and, once, the admin user.
pub async fn create_microtenant(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    body: Bytes,
) -> ApiResult {
    default_admins_only(&session)?;
    let input = parse_object(&body)?;
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    let created = microtenants::create(customer, input, epoch_secs())?;
    tracing::debug!(customer = %customer.id, id = %created["id"], "Microtenant created");
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `PUT .../microtenants/{id}`: 204, empty body.
pub async fn update_microtenant(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    default_admins_only(&session)?;
    let input = parse_object(&body)?;
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    microtenants::update(customer, &id, input, epoch_secs())?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE .../microtenants/{id}`: 204, empty body.
pub async fn delete_microtenant(
    State(sim): State<Arc<Sim>>,
    Extension(session): Extension<Session>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    default_admins_only(&session)?;
    let hold = sim.faults().domain_hold();
    let mut world = sim.world();
    let customer = customer_mut(&mut world, &session)?;
    microtenants::delete(customer, &id, hold)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sorting_by_name_both_ways() {
        let mut items = vec![json!({"name": "b"}), json!({"name": "A"}), json!({"name": "c"})];
        sort_items(&mut items, &SortBy { sort_name: Some("name".into()), sort_order: Some("DESC".into()) });
        let names: Vec<&str> = items.iter().map(|v| v["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["c", "b", "A"]);
    }
}
