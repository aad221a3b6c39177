//! `ZpaProviderConfig`: how to reach one ZPA tenant. Cluster-scoped; managed
//! objects name it in `providerConfigRef`.

// kube's printcolumn(...) attributes repeat `type_ = "string"` by design.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Condition;

#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "zpa.operator.dev",
    version = "v1alpha1",
    kind = "ZpaProviderConfig",
    status = "ZpaProviderConfigStatus",
    shortname = "zpapc",
    category = "zpa",
    doc = "Where a ZPA tenant lives and which credentials reach it.",
    printcolumn(name = "READY", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "CUSTOMER", type_ = "string", json_path = ".spec.customerId"),
    printcolumn(name = "AUTH", type_ = "string", json_path = ".spec.auth"),
    printcolumn(name = "AGE", type_ = "date", json_path = ".metadata.creationTimestamp"),
    cel
)]
#[x_kube(validation = Rule::new("!(has(self.cloud) && has(self.baseUrl))").message("set cloud or baseUrl, not both"))]
#[x_kube(validation = Rule::new("self.auth != 'oneapi' || has(self.vanityDomain) || has(self.tokenUrl)").message("oneapi auth needs vanityDomain (or tokenUrl)"))]
#[x_kube(validation = Rule::new("!has(self.tls) || !has(self.tls.insecureSkipTLSVerify) || !self.tls.insecureSkipTLSVerify || has(self.baseUrl)").message("tls.insecureSkipTLSVerify is allowed only with baseUrl: certificates of a named ZPA cloud are always verified"))]
#[serde(rename_all = "camelCase")]
pub struct ZpaProviderConfigSpec {
    /// A named ZPA cloud; `PRODUCTION` when neither this nor `baseUrl` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudName>,
    /// Any API base URL instead of a cloud (a proxy, or the simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://[^\s]+$"))]
    pub base_url: Option<String>,
    /// The ZPA tenant id.
    #[schemars(regex(pattern = r"^[0-9]+$"))]
    pub customer_id: String,
    /// `legacy` (API key, POST /signin) or `oneapi` (ZIdentity client credentials).
    pub auth: AuthFlow,
    /// ZIdentity vanity domain (oneapi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub vanity_domain: Option<String>,
    /// Overrides the ZIdentity token URL derived from vanity domain and cloud (oneapi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://[^\s]+$"))]
    pub token_url: Option<String>,
    pub credentials_secret_ref: CredentialsSecretRef,
    /// Client-side limits for this tenant; ZPA's documented limits when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimitsSpec>,
    /// How the API's certificate is verified; always against the system roots when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
}

/// Certificate verification. It is always on for a named cloud.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    /// PEM CA certificates trusted in addition to the system roots, e.g. the
    /// CA of a TLS-inspecting proxy between the operator and ZPA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub ca_bundle: Option<String>,
    /// Skips certificate verification entirely. Only with `baseUrl` (never a
    /// named cloud); the operator warns in its log, in a Warning Event
    /// (`InsecureTLS`) and in the Ready condition. For test setups only.
    #[serde(default, rename = "insecureSkipTLSVerify", skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum CloudName {
    PRODUCTION,
    ZPATWO,
    BETA,
    GOV,
    GOVUS,
    PREVIEW,
}

impl CloudName {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudName::PRODUCTION => "PRODUCTION",
            CloudName::ZPATWO => "ZPATWO",
            CloudName::BETA => "BETA",
            CloudName::GOV => "GOV",
            CloudName::GOVUS => "GOVUS",
            CloudName::PREVIEW => "PREVIEW",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthFlow {
    #[default]
    Legacy,
    Oneapi,
}

/// The Secret holding the API client's id and its secret or, with `auth:
/// oneapi`, its private key. Keys: `clientId`, and exactly one of
/// `clientSecret` and `privateKey` (RSA of 2048 bits or more, as PEM
/// (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`) or a JWK
/// JSON object; each sign-in sends a fresh RS256 client assertion).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    #[schemars(length(min = 1))]
    pub namespace: String,
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key names inside the Secret; `clientId`, `clientSecret` and `privateKey` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<CredentialKeys>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialKeys {
    /// The key holding the client id (`clientId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The key holding the client secret (`clientSecret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The key holding the private key (`privateKey`; `auth: oneapi` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
}

impl CredentialsSecretRef {
    pub fn client_id_key(&self) -> &str {
        self.keys.as_ref().and_then(|k| k.client_id.as_deref()).unwrap_or("clientId")
    }

    pub fn client_secret_key(&self) -> &str {
        self.keys.as_ref().and_then(|k| k.client_secret.as_deref()).unwrap_or("clientSecret")
    }

    pub fn private_key_key(&self) -> &str {
        self.keys.as_ref().and_then(|k| k.private_key.as_deref()).unwrap_or("privateKey")
    }
}

/// Per-tenant request budgets.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitsSpec {
    #[schemars(range(min = 1))]
    pub reads_per_window: u32,
    #[schemars(range(min = 1))]
    pub writes_per_window: u32,
    #[schemars(range(min = 1))]
    pub window_seconds: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZpaProviderConfigStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// From `/me` after sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
}
