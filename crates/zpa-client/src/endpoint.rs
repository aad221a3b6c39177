//! Turning "which cloud, which auth flow" into concrete URLs.

use super::auth::{ClientCredentials, SignIn};
use super::client::ZpaConfig;
use super::cloud::{ApiBase, Cloud};
use super::retry::RetryPolicy;
use super::tls::TlsSettings;
use zpa_wire::paths::SIGNIN;

/// Where the API is: a named cloud, or any base URL (a proxy, the simulator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Cloud(Cloud),
    BaseUrl(String),
}

/// Which sign-in flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// `POST {base}/signin` with an API key.
    Legacy,
    /// ZIdentity client credentials. `token_url` overrides the URL derived from
    /// the vanity domain and cloud (with a base URL and no override, the
    /// token endpoint is `{base}/oauth2/v1/token`).
    OneApi { vanity_domain: String, token_url: Option<String> },
}

/// Identifies a tenant for sharing one rate limiter: the customer (ZPA tenant)
/// id. ZPA's limits are per organisation (facts §5.1), whichever host the
/// calls go to: a legacy provider config (`config.<cloud>`) and a OneAPI one
/// (`api.zsapi.net/zpa`) for the same customer spend one budget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantKey {
    pub customer_id: String,
}

impl ZpaConfig {
    pub fn resolve(endpoint: &Endpoint, auth: &AuthMode, customer_id: &str, credentials: ClientCredentials) -> Self {
        let (api_base, sign_in) = match (endpoint, auth) {
            (Endpoint::Cloud(cloud), AuthMode::Legacy) => legacy(cloud.legacy_base_url()),
            (Endpoint::BaseUrl(url), AuthMode::Legacy) => legacy(url),
            (Endpoint::Cloud(cloud), AuthMode::OneApi { vanity_domain, token_url }) => (
                ApiBase::oneapi(&cloud.oneapi_base_url()),
                SignIn::OneApi {
                    token_url: token_url.clone().unwrap_or_else(|| cloud.oneapi_token_url(vanity_domain)),
                },
            ),
            (Endpoint::BaseUrl(url), AuthMode::OneApi { token_url, .. }) => (
                ApiBase::oneapi(url),
                SignIn::OneApi {
                    token_url: token_url
                        .clone()
                        .unwrap_or_else(|| format!("{}/oauth2/v1/token", url.trim_end_matches('/'))),
                },
            ),
        };
        ZpaConfig {
            api_base,
            sign_in,
            credentials,
            customer_id: customer_id.to_owned(),
            retry: RetryPolicy::default(),
            tls: TlsSettings::default(),
        }
    }

    pub fn tenant_key(&self) -> TenantKey {
        // Customer ids are decimal: "072..." and "72..." are one tenant.
        let id = self.customer_id.trim();
        let customer_id = id.parse::<u64>().map_or_else(|_| id.to_owned(), |n| n.to_string());
        TenantKey { customer_id }
    }
}

fn legacy(base: &str) -> (ApiBase, SignIn) {
    let api_base = ApiBase::legacy(base);
    let sign_in = SignIn::Legacy { url: api_base.url(SIGNIN) };
    (api_base, sign_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> ClientCredentials {
        ClientCredentials::secret("id", "secret".into())
    }

    #[test]
    fn endpoints_and_flows_resolve_to_urls() {
        let legacy_cloud = ZpaConfig::resolve(&Endpoint::Cloud(Cloud::Beta), &AuthMode::Legacy, "1", creds());
        assert_eq!(legacy_cloud.api_base.url("/x"), "https://config.zpabeta.net/x");
        assert!(
            matches!(legacy_cloud.sign_in, SignIn::Legacy { ref url } if url == "https://config.zpabeta.net/signin")
        );

        let oneapi = AuthMode::OneApi { vanity_domain: "acme".into(), token_url: None };
        let oneapi_cloud = ZpaConfig::resolve(&Endpoint::Cloud(Cloud::Production), &oneapi, "1", creds());
        assert_eq!(oneapi_cloud.api_base.url("/x"), "https://api.zsapi.net/zpa/x");
        assert!(
            matches!(oneapi_cloud.sign_in, SignIn::OneApi { ref token_url } if token_url == "https://acme.zslogin.net/oauth2/v1/token")
        );

        let sim = ZpaConfig::resolve(&Endpoint::BaseUrl("http://127.0.0.1:9/".into()), &oneapi, "1", creds());
        assert_eq!(sim.api_base.url("/x"), "http://127.0.0.1:9/zpa/x");
        assert!(
            matches!(sim.sign_in, SignIn::OneApi { ref token_url } if token_url == "http://127.0.0.1:9/oauth2/v1/token")
        );
    }

    /// One customer is one budget, whether reached through its legacy host or OneAPI.
    #[test]
    fn the_limiter_key_is_the_customer() {
        let oneapi = AuthMode::OneApi { vanity_domain: "acme".into(), token_url: None };
        let legacy =
            ZpaConfig::resolve(&Endpoint::Cloud(Cloud::Production), &AuthMode::Legacy, "72057594037927936", creds());
        let via_oneapi =
            ZpaConfig::resolve(&Endpoint::Cloud(Cloud::Production), &oneapi, " 72057594037927936", creds());
        assert_ne!(legacy.api_base, via_oneapi.api_base);
        assert_eq!(legacy.tenant_key(), via_oneapi.tenant_key());
        let other =
            ZpaConfig::resolve(&Endpoint::Cloud(Cloud::Production), &AuthMode::Legacy, "216196257331281920", creds());
        assert_ne!(legacy.tenant_key(), other.tenant_key());
    }
}
