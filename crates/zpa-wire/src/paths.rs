//! URL paths of the endpoints in the seeds, relative to the API base.
//!
//! Legacy hosts serve them at the root (`https://config.private.zscaler.com/mgmtconfig/...`);
//! OneAPI serves them under [`ONEAPI_PREFIX`] (`https://api.zsapi.net/zpa/mgmtconfig/...`).

/// Path prefix of ZPA endpoints on the OneAPI gateway.
pub const ONEAPI_PREFIX: &str = "/zpa";

/// Legacy sign-in: form `client_id`, `client_secret`.
pub const SIGNIN: &str = "/signin";

/// The session endpoint (no customer id in the path).
pub const ME: &str = "/mgmtconfig/v1/admin/me";

/// The scope query parameter of the CBI profile endpoints (a Microtenant id).
pub const SCOPE_PARAM: &str = "scopeId";

pub fn cbi_base(customer_id: &str) -> String {
    format!("/cbiconfig/cbi/api/customers/{customer_id}")
}

pub fn cbi_profiles(customer_id: &str) -> String {
    format!("{}/profiles", cbi_base(customer_id))
}

pub fn cbi_profile(customer_id: &str, profile_id: &str) -> String {
    format!("{}/profiles/{profile_id}", cbi_base(customer_id))
}

pub fn cbi_regions(customer_id: &str) -> String {
    format!("{}/regions", cbi_base(customer_id))
}

pub fn cbi_certificates(customer_id: &str) -> String {
    format!("{}/certificates", cbi_base(customer_id))
}

pub fn cbi_banners(customer_id: &str) -> String {
    format!("{}/banners", cbi_base(customer_id))
}

pub fn cbi_zpa_profiles(customer_id: &str) -> String {
    format!("{}/zpaprofiles", cbi_base(customer_id))
}

pub fn mgmt_base(customer_id: &str) -> String {
    format!("/mgmtconfig/v1/admin/customers/{customer_id}")
}

pub fn isolation_profiles(customer_id: &str) -> String {
    format!("{}/isolation/profiles", mgmt_base(customer_id))
}

pub fn microtenants(customer_id: &str) -> String {
    format!("{}/microtenants", mgmt_base(customer_id))
}

pub fn microtenant(customer_id: &str, microtenant_id: &str) -> String {
    format!("{}/microtenants/{microtenant_id}", mgmt_base(customer_id))
}

pub fn microtenants_search(customer_id: &str) -> String {
    format!("{}/microtenants/search", mgmt_base(customer_id))
}

pub fn microtenants_summary(customer_id: &str) -> String {
    format!("{}/microtenants/summary", mgmt_base(customer_id))
}

pub fn auth_domains(customer_id: &str) -> String {
    format!("{}/authDomains", mgmt_base(customer_id))
}
