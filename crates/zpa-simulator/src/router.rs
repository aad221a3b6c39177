//! The route table: every path of `wire::paths`, at the root (legacy hosts) and
//! under the OneAPI `/zpa` prefix, plus the `/__sim` admin surface.

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

use super::pipeline::{self, OAUTH_TOKEN};
use super::state::Sim;
use super::{admin, auth, cbi, mgmt};
use zpa_wire::paths;

/// Path parameter names; they appear in the stats' route templates.
const CUSTOMER: &str = "{customerId}";

fn api(sim: &Arc<Sim>) -> Router<Arc<Sim>> {
    let certificate = format!("{}/{{certificateId}}", paths::cbi_certificates(CUSTOMER));
    let banner = format!("{}/{{bannerId}}", paths::cbi_banners(CUSTOMER));
    Router::new()
        .route(paths::SIGNIN, post(auth::signin))
        .route(OAUTH_TOKEN, post(auth::oauth_token))
        .route(paths::ME, get(mgmt::me))
        .route(&paths::cbi_profiles(CUSTOMER), get(cbi::list_profiles).post(cbi::create_profile))
        .route(
            &paths::cbi_profile(CUSTOMER, "{profileId}"),
            get(cbi::get_profile).put(cbi::update_profile).delete(cbi::delete_profile),
        )
        .route(&paths::cbi_regions(CUSTOMER), get(cbi::list_regions))
        .route(&paths::cbi_certificates(CUSTOMER), get(cbi::list_certificates))
        .route(&certificate, get(cbi::get_certificate))
        .route(&paths::cbi_banners(CUSTOMER), get(cbi::list_banners))
        .route(&banner, get(cbi::get_banner))
        .route(&paths::cbi_zpa_profiles(CUSTOMER), get(cbi::list_zpa_profiles))
        .route(&paths::isolation_profiles(CUSTOMER), get(mgmt::isolation_profiles))
        .route(&paths::microtenants(CUSTOMER), get(mgmt::list_microtenants).post(mgmt::create_microtenant))
        .route(&paths::microtenants_search(CUSTOMER), post(mgmt::search_microtenants))
        .route(&paths::microtenants_summary(CUSTOMER), get(mgmt::microtenant_summary))
        .route(
            &paths::microtenant(CUSTOMER, "{microtenantId}"),
            get(mgmt::get_microtenant).put(mgmt::update_microtenant).delete(mgmt::delete_microtenant),
        )
        .route(&paths::auth_domains(CUSTOMER), get(mgmt::auth_domains))
        .route_layer(middleware::from_fn_with_state(sim.clone(), pipeline::pipeline))
}

fn admin() -> Router<Arc<Sim>> {
    Router::new()
        .route("/__sim/health", get(admin::health))
        .route("/__sim/stats", get(admin::stats))
        .route("/__sim/stats/reset", post(admin::reset_stats))
        .route("/__sim/faults", get(admin::get_faults).put(admin::put_faults).delete(admin::clear_faults))
        .route("/__sim/rate-limit", get(admin::get_rate_limit).put(admin::put_rate_limit))
        .route("/__sim/behaviour", get(admin::get_behaviour).put(admin::put_behaviour))
        .route("/__sim/requests/last", get(admin::last_request))
        .route("/__sim/requests", axum::routing::delete(admin::clear_requests))
        .route("/__sim/customers", get(admin::list_customers).post(admin::add_customer))
        .route("/__sim/tokens", get(admin::list_tokens))
        .route("/__sim/tokens/revoke", post(admin::revoke_tokens))
        .route("/__sim/tokens/expire", post(admin::expire_tokens))
        .route(
            "/__sim/credentials/{clientId}",
            axum::routing::put(admin::put_credentials).delete(admin::delete_credentials),
        )
        .route("/__sim/customers/{customerId}/state", get(admin::customer_state))
        .route("/__sim/customers/{customerId}/profiles/{profileId}", axum::routing::patch(admin::patch_profile))
        .route("/__sim/customers/{customerId}/profiles/{profileId}/in-use", post(admin::profile_in_use))
        .route(
            "/__sim/customers/{customerId}/microtenants/{microtenantId}",
            axum::routing::patch(admin::patch_microtenant),
        )
}

pub fn router(sim: Arc<Sim>) -> Router {
    let api = api(&sim);
    Router::new()
        .merge(api.clone())
        .nest(paths::ONEAPI_PREFIX, api)
        .merge(admin())
        .fallback(pipeline::fallback)
        .with_state(sim)
}
