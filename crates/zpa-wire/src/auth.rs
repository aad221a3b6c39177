//! Token responses of the two sign-in flows, and what a OneAPI token request
//! is made of (audience, client assertion type, its refusal body).
//!
//! Legacy `POST {base}/signin` answers `expires_in` as a string ("3600");
//! OneAPI (ZIdentity) answers it as a number. Both land in the same type.

use serde::{Deserialize, Serialize};

use super::lenient;
use crate::secret::SecretString;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    #[serde(default = "bearer")]
    pub token_type: String,
    pub access_token: SecretString,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

impl TokenResponse {
    /// Seconds until expiry, at most [`MAX_TOKEN_LIFETIME_SECS`]; `None` when
    /// absent or unparseable. The cap keeps a hostile `expires_in` from
    /// overflowing the renewal deadline (and renewing early is harmless).
    pub fn expires_in_secs(&self) -> Option<u64> {
        let secs: u64 = self.expires_in.as_deref().and_then(|s| s.trim().parse().ok())?;
        Some(secs.min(MAX_TOKEN_LIFETIME_SECS))
    }
}

/// The longest token lifetime believed: a day (real tokens last an hour).
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;

/// The OneAPI audience every ZIdentity client-credentials request names.
pub const ONEAPI_AUDIENCE: &str = "https://api.zscaler.com";

/// `client_assertion_type` of a private-key sign-in (RFC 7523): the
/// `client_assertion` is a JWT signed with the API client's key.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long the official SDKs' client assertions live (`exp` = now + 600 s,
/// `zscaler-sdk-python` `oneapi_oauth_client.py`).
pub const CLIENT_ASSERTION_LIFETIME_SECS: u64 = 600;

/// The smallest RSA key the official SDKs sign with (`MIN_RSA_KEY_SIZE`,
/// `zscaler-sdk-python` `oneapi_oauth_client.py`).
pub const MIN_RSA_KEY_BITS: usize = 2048;

/// A refused OAuth token request (RFC 6749 §5.2): `{"error","error_description"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_read_from_string_or_number() {
        let legacy: TokenResponse =
            serde_json::from_str(r#"{"token_type":"Bearer","access_token":"a.b.c","expires_in":"3600"}"#).unwrap();
        let oneapi: TokenResponse =
            serde_json::from_str(r#"{"token_type":"Bearer","access_token":"a.b.c","expires_in":3600}"#).unwrap();
        assert_eq!(legacy.expires_in_secs(), Some(3600));
        assert_eq!(oneapi.expires_in_secs(), Some(3600));
        assert!(!format!("{legacy:?}").contains("a.b.c"));
    }

    #[test]
    fn an_absurd_lifetime_is_capped() {
        let hostile: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":18446744073709551615}"#).unwrap();
        assert_eq!(hostile.expires_in_secs(), Some(MAX_TOKEN_LIFETIME_SECS));
    }
}
