//! Microtenants: the rules of create, update and delete, and the generated admin
//! user (the store itself is `microtenant_store.rs`).
//!
//! The Default Microtenant (`"0"`) is stored like the others but cannot be
//! changed or deleted. The admin user's password is generated on create,
//! returned in that response only, and never stored.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};

use super::common::{DEFAULT_SCOPE, Object, merge_patch};
use super::customer::Customer;
use super::error::{ApiError, sim_ids};
use super::microtenant_store::{StoredMicrotenant, domains_of};
use zpa_wire::error::ids;
use zpa_wire::mgmt::MgmtMicrotenant;

/// At most this many Microtenants per tenant (the Default one not counted).
pub const MAX_MICROTENANTS: usize = 500;

pub const DEFAULT_DESCRIPTION: &str = "This is the default Microtenant for users not associated to any Microtenant";

/// Keys the server owns or rebuilds; everything else in a body is kept verbatim.
const REBUILT_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "enabled",
    "operator",
    "criteriaAttribute",
    "criteriaAttributeValues",
    "privilegedApprovalsEnabled",
    "scopeOrder",
    "creationTime",
    "modifiedTime",
    "modifiedBy",
    "user",
    "roles",
];

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No resource exists with the given id/name :{id}")).with_params(vec![id.to_owned()])
}

/// Checks a create/update body and builds the stored form.
fn build(
    customer: &Customer,
    input: &Object,
    id: &str,
    existing: Option<&Object>,
    now: u64,
    strict: bool,
) -> Result<Object, ApiError> {
    let typed: MgmtMicrotenant = serde_json::from_value(Value::Object(input.clone()))
        .map_err(|err| ApiError::malformed(format!("Invalid Microtenant: {err}")))?;
    let name = typed.name.clone();
    if strict {
        if name.trim().is_empty() {
            return Err(ApiError::invalid_argument("name", "The Microtenant name is required."));
        }
        if customer.microtenants.id_by_name(&name).is_some_and(|owner| owner != id) {
            return Err(ApiError::bad_request(
                ids::RESOURCE_ALREADY_EXISTS,
                format!("A Microtenant named '{name}' already exists."),
            )
            .with_params(vec![name.clone()]));
        }
        if let Some(attribute) = &typed.criteria_attribute
            && !attribute.eq_ignore_ascii_case("AuthDomain")
        {
            return Err(ApiError::invalid_argument(
                "criteriaAttribute",
                format!("One or more input fields criteriaAttribute are not valid: '{attribute}' (only AuthDomain)."),
            ));
        }
    }
    let mut seen = HashSet::new();
    let mut domains = Vec::new();
    for raw in typed.criteria_attribute_values.iter().flatten() {
        let domain = raw.trim().to_owned();
        if domain.is_empty() || !seen.insert(domain.to_lowercase()) {
            continue;
        }
        if strict {
            if !customer.domain_belongs(&domain) {
                return Err(ApiError::bad_request(
                    ids::DOMAIN_NOT_OF_CUSTOMER,
                    format!("Domain {domain} does not belong to the customer."),
                )
                .with_params(vec![domain]));
            }
            let held = customer.microtenants.domain_held(&domain, Instant::now());
            if held || customer.microtenants.owner_of_domain(&domain).is_some_and(|owner| owner != id) {
                return Err(ApiError::bad_request(
                    ids::DOMAIN_IN_OTHER_MICROTENANT,
                    format!("Domain {domain} already exists in another Microtenant."),
                )
                .with_params(vec![domain]));
            }
        }
        domains.push(domain);
    }

    let previous = |key: &str| existing.and_then(|e| e.get(key)).cloned();
    let mut out = Object::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(name));
    if let Some(description) = input.get("description").filter(|d| !d.is_null()) {
        out.insert("description".into(), description.clone());
    }
    out.insert("enabled".into(), json!(typed.enabled.unwrap_or(false)));
    out.insert("operator".into(), json!("OR"));
    out.insert("criteriaAttribute".into(), json!("AuthDomain"));
    if !domains.is_empty() {
        out.insert("criteriaAttributeValues".into(), json!(domains));
    }
    if let Some(flag) = typed.privileged_approvals_enabled {
        out.insert("privilegedApprovalsEnabled".into(), json!(flag));
    }
    for (key, value) in input {
        if !REBUILT_KEYS.contains(&key.as_str()) {
            out.insert(key.clone(), value.clone());
        }
    }
    out.insert("creationTime".into(), previous("creationTime").unwrap_or_else(|| json!(now.to_string())));
    if existing.is_some() {
        out.insert("modifiedTime".into(), json!(now.to_string()));
    }
    out.insert("modifiedBy".into(), json!(customer.admin_id));
    Ok(out)
}

/// The GET form: the stored body plus `scopeOrder`.
pub fn view(customer: &Customer, stored: &StoredMicrotenant) -> Value {
    let mut body = stored.body.clone();
    if let Some(order) = customer.microtenants.scope_order(stored.id()) {
        body.insert("scopeOrder".into(), json!(order));
    }
    Value::Object(body)
}

/// `POST .../microtenants`: the 201 body, with the admin user and its password.
pub fn create(customer: &mut Customer, input: Object, now: u64) -> Result<Value, ApiError> {
    if customer.microtenants.custom_count() >= MAX_MICROTENANTS {
        return Err(ApiError::bad_request(
            sim_ids::LIMIT_EXCEEDED,
            format!("A tenant can have at most {MAX_MICROTENANTS} Microtenants."),
        ));
    }
    // Validate before spending an id.
    build(customer, &input, "", None, now, true)?;
    let id = customer.next_mgmt_id();
    let body = build(customer, &input, &id, None, now, true)?;
    let mut response = body.clone();
    let user = domains_of(&body).first().map(|domain| {
        let user_id = customer.next_mgmt_id();
        let username = format!("mtAdmin_{id}@{domain}");
        let mut user = Object::new();
        user.insert("id".into(), json!(user_id));
        user.insert("username".into(), json!(username));
        user.insert("displayName".into(), json!("Zscaler Private Access Scope Administrator"));
        user.insert("email".into(), json!(username));
        user.insert("roleId".into(), json!("12"));
        user.insert("forcePwdChange".into(), json!(true));
        user.insert("localLoginDisabled".into(), json!(false));
        user.insert("pinSession".into(), json!(true));
        user.insert("isLocked".into(), json!(false));
        user.insert("microtenantId".into(), json!(id));
        user
    });
    if let Some(user) = &user {
        // Shown once, after `email` as in the documented response; never stored.
        let mut shown: Vec<(String, Value)> = user.clone().into_iter().collect();
        shown.insert(4, ("password".into(), json!(generate_password())));
        response.insert("user".into(), Value::Object(shown.into_iter().collect()));
    }
    customer.microtenants.insert(body, user);
    Ok(Value::Object(response))
}

/// `PUT .../microtenants/{id}` (answered 204).
pub fn update(customer: &mut Customer, id: &str, input: Object, now: u64) -> Result<(), ApiError> {
    let existing = customer.microtenants.get(id).ok_or_else(|| not_found(id))?;
    if id == DEFAULT_SCOPE {
        return Err(ApiError::invalid_argument("id", "The Default Microtenant cannot be modified."));
    }
    let body = build(customer, &input, id, Some(&existing.body), now, true)?;
    customer.microtenants.replace_body(id, body);
    Ok(())
}

/// `DELETE .../microtenants/{id}` (answered 204). Its domains stay taken for
/// `hold` (zero unless the `domainHold` fault is on).
pub fn delete(customer: &mut Customer, id: &str, hold: Duration) -> Result<(), ApiError> {
    if id == DEFAULT_SCOPE {
        return Err(ApiError::bad_request(
            sim_ids::DEFAULT_MICROTENANT_DELETE,
            "The Default Microtenant cannot be deleted.",
        ));
    }
    let stored = customer.microtenants.get(id).ok_or_else(|| not_found(id))?;
    let profiles = customer.profiles.count_in_scope(id);
    if profiles > 0 {
        return Err(ApiError::bad_request(
            ids::RESOURCE_IN_USE,
            format!("Microtenant '{}' cannot be deleted: it still has {profiles} isolation profile(s).", stored.name()),
        )
        .with_params(vec![profiles.to_string()]));
    }
    if let Some(removed) = customer.microtenants.remove(id)
        && !hold.is_zero()
    {
        let now = Instant::now();
        let until = now.checked_add(hold).unwrap_or(now);
        customer.microtenants.hold_domains(&removed, now, until);
    }
    Ok(())
}

/// Drift: a JSON merge patch applied behind the client's back (no rules).
pub fn patch(customer: &mut Customer, id: &str, patch: &Value, now: u64) -> Result<Value, ApiError> {
    let existing = customer.microtenants.get(id).ok_or_else(|| not_found(id))?;
    let mut merged = Value::Object(existing.body.clone());
    merge_patch(&mut merged, patch);
    let Value::Object(merged) = merged else {
        return Err(ApiError::malformed("The patch must be a JSON object."));
    };
    let body = build(customer, &merged, id, Some(&existing.body), now, false)?;
    customer.microtenants.replace_body(id, body);
    let stored = customer.microtenants.get(id).ok_or_else(|| not_found(id))?;
    Ok(view(customer, stored))
}

/// Seeds the Default Microtenant.
pub fn seed_default(customer: &mut Customer) {
    let body = json!({
        "id": DEFAULT_SCOPE,
        "name": "Default",
        "description": DEFAULT_DESCRIPTION,
        "enabled": true,
        "operator": "OR",
        "privilegedApprovalsEnabled": true
    });
    if let Value::Object(body) = body {
        customer.microtenants.insert(body, None);
    }
}

/// 12 characters with at least one upper, lower, digit and symbol.
pub fn generate_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!#$%&*+-<=>?@^_~";
    let mut rng = rand::rng();
    let mut pick = |set: &[u8]| char::from(set[rng.random_range(0..set.len())]);
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut chars = vec![pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOLS)];
    for _ in 0..8 {
        chars.push(pick(&all));
    }
    chars.shuffle(&mut rand::rng());
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;

    fn customer() -> Customer {
        seed::customer(72_057_594_037_927_936, "zscaler", &seed::default_auth_domains(), Some(".example.com"))
    }

    fn object(value: Value) -> Object {
        match value {
            Value::Object(map) => map,
            _ => Object::new(),
        }
    }

    #[test]
    fn create_returns_the_user_with_a_password_once() {
        let mut c = customer();
        let created =
            create(&mut c, object(json!({"name": "A", "criteriaAttributeValues": ["example.org"]})), 1).unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let user = &created["user"];
        assert_eq!(user["username"], format!("mtAdmin_{id}@example.org"));
        assert!(user["password"].as_str().unwrap().len() >= 8);
        let stored = c.microtenants.get(&id).unwrap();
        assert!(stored.user.as_ref().unwrap().get("password").is_none());
        assert!(view(&c, stored).get("user").is_none());
        assert_eq!(view(&c, stored)["scopeOrder"], "1");
        assert_eq!(view(&c, c.microtenants.get("0").unwrap())["scopeOrder"], "2");
    }

    #[test]
    fn validation_errors() {
        let mut c = customer();
        create(&mut c, object(json!({"name": "Taken", "criteriaAttributeValues": ["a.example.com"]})), 1).unwrap();
        let cases = [
            (json!({"name": " "}), ids::INVALID_ARGUMENT),
            (json!({"name": "taken"}), ids::RESOURCE_ALREADY_EXISTS),
            (json!({"name": "x", "criteriaAttribute": "Group"}), ids::INVALID_ARGUMENT),
            (json!({"name": "x", "criteriaAttributeValues": ["other.net"]}), ids::DOMAIN_NOT_OF_CUSTOMER),
            (json!({"name": "x", "criteriaAttributeValues": ["A.example.com"]}), ids::DOMAIN_IN_OTHER_MICROTENANT),
        ];
        for (input, id) in cases {
            assert_eq!(create(&mut c, object(input.clone()), 1).unwrap_err().id(), id, "{input}");
        }
        assert_eq!(delete(&mut c, "0", Duration::ZERO).unwrap_err().id(), sim_ids::DEFAULT_MICROTENANT_DELETE);
    }

    #[test]
    fn update_keeps_own_domain_and_delete_releases_it() {
        let mut c = customer();
        let created =
            create(&mut c, object(json!({"name": "A", "criteriaAttributeValues": ["b.example.com"]})), 1).unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        update(&mut c, &id, object(json!({"name": "A2", "criteriaAttributeValues": ["b.example.com"]})), 2).unwrap();
        assert_eq!(c.microtenants.get(&id).unwrap().body["modifiedTime"], "2");
        assert_eq!(c.microtenants.id_by_name("a"), None);
        delete(&mut c, &id, Duration::ZERO).unwrap();
        create(&mut c, object(json!({"name": "B", "criteriaAttributeValues": ["b.example.com"]})), 3).unwrap();
    }

    #[test]
    fn a_held_domain_is_refused_until_released() {
        let mut c = customer();
        let created =
            create(&mut c, object(json!({"name": "A", "criteriaAttributeValues": ["held.example.com"]})), 1).unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        delete(&mut c, &id, Duration::from_secs(3600)).unwrap();
        let again = object(json!({"name": "B", "criteriaAttributeValues": ["HELD.example.com"]}));
        assert_eq!(create(&mut c, again.clone(), 2).unwrap_err().id(), ids::DOMAIN_IN_OTHER_MICROTENANT);
        assert!(!c.microtenants.domain_held("held.example.com", Instant::now() + Duration::from_secs(3601)));
        c.microtenants.release_held_domains();
        create(&mut c, again, 3).unwrap();
    }

    #[test]
    fn a_microtenant_without_domains_is_created_without_an_admin() {
        let mut c = customer();
        let created =
            create(&mut c, object(json!({"name": "Approvals only", "privilegedApprovalsEnabled": true})), 1).unwrap();
        assert!(created.get("criteriaAttributeValues").is_none());
        assert!(created.get("user").is_none(), "the recorded create without domains had no user");
    }

    #[test]
    fn passwords_have_every_character_class() {
        for _ in 0..50 {
            let p = generate_password();
            assert_eq!(p.len(), 12);
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
            assert!(p.chars().any(|c| !c.is_ascii_alphanumeric()));
        }
    }
}
