//! A simulator's tenant as tests fill it before the operator or the CLI
//! looks: Microtenants and CBI profiles made through the ZPA API, with the
//! simulator's default credentials, by its base URL (an in-process
//! simulator or a `zpa-operator simulator` process alike).

use std::sync::Arc;

use serde_json::{Value, json};
use zpa_operator::simulator::REGIONS;
use zpa_operator::wire::cbi::CbiProfile;
use zpa_operator::wire::mgmt::MgmtMicrotenant;
use zpa_operator::zpa::{AuthMode, ClientCredentials, Endpoint, RateLimiter, Scope, ZpaClient, ZpaConfig};

pub const CUSTOMER_ID: &str = "72057594037927936";

/// A client of the simulator at `base_url`, without a rate limiter.
pub fn client_for(base_url: &str) -> ZpaClient {
    let mut config = ZpaConfig::resolve(
        &Endpoint::BaseUrl(base_url.to_owned()),
        &AuthMode::Legacy,
        CUSTOMER_ID,
        ClientCredentials::secret("sim-client", zpa_operator::secret::SecretString::new("sim-secret")),
    );
    config.retry = super::quick_retries();
    ZpaClient::new(config, Arc::new(RateLimiter::unlimited())).expect("client builds")
}

/// The seeded region id of `name` (`Frankfurt`, `London`, ...).
pub fn region_id(name: &str) -> String {
    REGIONS.iter().find(|(_, n)| *n == name).map(|(id, _)| (*id).to_owned()).expect("a seeded region")
}

/// Creates a Microtenant `name` holding `domain`; its id.
pub async fn microtenant(client: &ZpaClient, name: &str, domain: &str) -> String {
    let body: MgmtMicrotenant = serde_json::from_value(json!({
        "name": name, "enabled": true, "criteriaAttribute": "AuthDomain",
        "criteriaAttributeValues": [domain], "privilegedApprovalsEnabled": false,
    }))
    .expect("a Microtenant body");
    client.create_microtenant(&body).await.expect("Microtenant created").id.expect("an id")
}

/// Creates a CBI profile `name` in Frankfurt and London in `scope`, with
/// `extra` fields of the wire body (`description`, `securityControls`, ...); its id.
pub async fn profile(client: &ZpaClient, name: &str, scope: &Scope, extra: Value) -> String {
    let mut body = json!({"name": name, "regionIds": [region_id("Frankfurt"), region_id("London")]});
    if let (Some(target), Value::Object(extra)) = (body.as_object_mut(), extra) {
        target.extend(extra);
    }
    let body: CbiProfile = serde_json::from_value(body).expect("a profile body");
    client.create_profile(&body, scope).await.expect("profile created")
}
