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

/// Identifies a tenant for sharing one rate limiter: same API host, same customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantKey {
    pub api_base: ApiBase,
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
        TenantKey { api_base: self.api_base.clone(), customer_id: self.customer_id.clone() }
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
        ClientCredentials { client_id: "id".into(), client_secret: "secret".into() }
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
}
