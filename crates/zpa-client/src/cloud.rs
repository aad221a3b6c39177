//! Where a tenant lives: ZPA clouds, their legacy API hosts, and the OneAPI
//! (ZIdentity) token and gateway URLs.

use std::fmt;
use std::str::FromStr;

use zpa_wire::paths::ONEAPI_PREFIX;

/// The ZPA clouds the SDKs know by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    Production,
    ZpaTwo,
    Beta,
    Gov,
    GovUs,
    Preview,
}

impl Cloud {
    pub const ALL: [Cloud; 6] =
        [Cloud::Production, Cloud::ZpaTwo, Cloud::Beta, Cloud::Gov, Cloud::GovUs, Cloud::Preview];

    pub fn name(self) -> &'static str {
        match self {
            Cloud::Production => "PRODUCTION",
            Cloud::ZpaTwo => "ZPATWO",
            Cloud::Beta => "BETA",
            Cloud::Gov => "GOV",
            Cloud::GovUs => "GOVUS",
            Cloud::Preview => "PREVIEW",
        }
    }

    /// The legacy API host (`config.<cloud>`).
    pub fn legacy_base_url(self) -> &'static str {
        match self {
            Cloud::Production => "https://config.private.zscaler.com",
            Cloud::ZpaTwo => "https://config.zpatwo.net",
            Cloud::Beta => "https://config.zpabeta.net",
            Cloud::Gov => "https://config.zpagov.net",
            Cloud::GovUs => "https://config.zpagov.us",
            Cloud::Preview => "https://config.zpapreview.net",
        }
    }

    /// The ZIdentity token endpoint for a vanity domain.
    pub fn oneapi_token_url(self, vanity_domain: &str) -> String {
        match self {
            Cloud::Production => format!("https://{vanity_domain}.zslogin.net/oauth2/v1/token"),
            Cloud::Gov => format!("https://{vanity_domain}.zidentitygov.net/oauth2/v1/token"),
            Cloud::GovUs => format!("https://{vanity_domain}.zidentitygov.us/oauth2/v1/token"),
            other => format!("https://{vanity_domain}.zslogin{}.net/oauth2/v1/token", other.short()),
        }
    }

    /// The OneAPI gateway host.
    pub fn oneapi_base_url(self) -> String {
        match self {
            Cloud::Production => "https://api.zsapi.net".to_owned(),
            Cloud::Gov => "https://api.zscalergov.net".to_owned(),
            Cloud::GovUs => "https://api.zscalergov.us".to_owned(),
            other => format!("https://api.{}.zsapi.net", other.short()),
        }
    }

    fn short(self) -> String {
        self.name().to_ascii_lowercase()
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cloud {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        if upper.is_empty() {
            return Ok(Cloud::Production);
        }
        Cloud::ALL.into_iter().find(|c| c.name() == upper).ok_or_else(|| {
            format!("unknown ZPA cloud {s:?}; expected one of PRODUCTION, ZPATWO, BETA, GOV, GOVUS, PREVIEW")
        })
    }
}

/// The base every API path is appended to: scheme, host and, for OneAPI, `/zpa`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiBase(String);

impl ApiBase {
    /// Legacy layout: paths at the root of the host.
    pub fn legacy(base_url: &str) -> Self {
        Self(base_url.trim_end_matches('/').to_owned())
    }

    /// OneAPI layout: paths under `/zpa` on the gateway.
    pub fn oneapi(gateway_url: &str) -> Self {
        let base = gateway_url.trim_end_matches('/');
        let base = base.strip_suffix(ONEAPI_PREFIX).unwrap_or(base);
        Self(format!("{base}{ONEAPI_PREFIX}"))
    }

    /// The full URL of an API path such as `/mgmtconfig/v1/admin/me`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_urls_match_the_sdks() {
        let cases = [
            (
                Cloud::Production,
                "https://config.private.zscaler.com",
                "https://acme.zslogin.net/oauth2/v1/token",
                "https://api.zsapi.net",
            ),
            (
                Cloud::Beta,
                "https://config.zpabeta.net",
                "https://acme.zsloginbeta.net/oauth2/v1/token",
                "https://api.beta.zsapi.net",
            ),
            (
                Cloud::ZpaTwo,
                "https://config.zpatwo.net",
                "https://acme.zsloginzpatwo.net/oauth2/v1/token",
                "https://api.zpatwo.zsapi.net",
            ),
            (
                Cloud::Gov,
                "https://config.zpagov.net",
                "https://acme.zidentitygov.net/oauth2/v1/token",
                "https://api.zscalergov.net",
            ),
            (
                Cloud::GovUs,
                "https://config.zpagov.us",
                "https://acme.zidentitygov.us/oauth2/v1/token",
                "https://api.zscalergov.us",
            ),
            (
                Cloud::Preview,
                "https://config.zpapreview.net",
                "https://acme.zsloginpreview.net/oauth2/v1/token",
                "https://api.preview.zsapi.net",
            ),
        ];
        for (cloud, legacy, token, gateway) in cases {
            assert_eq!(cloud.legacy_base_url(), legacy);
            assert_eq!(cloud.oneapi_token_url("acme"), token);
            assert_eq!(cloud.oneapi_base_url(), gateway);
            assert_eq!(cloud.name().parse::<Cloud>(), Ok(cloud));
        }
        assert_eq!("".parse::<Cloud>(), Ok(Cloud::Production));
        assert_eq!("govus".parse::<Cloud>(), Ok(Cloud::GovUs));
        assert!("MARS".parse::<Cloud>().is_err());
    }

    #[test]
    fn oneapi_paths_live_under_zpa() {
        assert_eq!(
            ApiBase::oneapi("https://api.zsapi.net/").url("/mgmtconfig/v1/admin/me"),
            "https://api.zsapi.net/zpa/mgmtconfig/v1/admin/me"
        );
        assert_eq!(ApiBase::oneapi("http://127.0.0.1:9/zpa").as_str(), "http://127.0.0.1:9/zpa");
        assert_eq!(ApiBase::legacy("http://127.0.0.1:9/").url("/signin"), "http://127.0.0.1:9/signin");
    }
}
