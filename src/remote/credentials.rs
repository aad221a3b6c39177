//! The API client credentials of a `ZpaProviderConfig`, read from its
//! credentials Secret (by the controller from the cluster, by the CLI from
//! the manifests or the environment) into typed [`ClientCredentials`].
//!
//! The Secret holds `clientId` and exactly one of `clientSecret` and
//! `privateKey` (key names as `credentialsSecretRef.keys` says). Both, neither,
//! a private key that is unusable, or one with `auth: legacy` is an error with
//! a stable reason whose message names the Secret and the key, never a value;
//! nothing is sent to ZPA then.

use crate::crd::{AuthFlow, ZpaProviderConfigSpec};
use crate::reconcile::ReconcileError;
use crate::secret::SecretString;
use crate::zpa::{ClientCredentials, PrivateKey};

/// Where the credentials come from: the value of a key, and how to name that
/// key in a message (`key "privateKey" in Secret zpa-system/creds ...`).
pub trait CredentialSource {
    fn value(&self, key: &str) -> Option<SecretString>;
    fn describe(&self, key: &str) -> String;
}

/// The credentials `spec` names, read from `source`.
pub fn credentials_for(
    spec: &ZpaProviderConfigSpec,
    source: &dyn CredentialSource,
) -> Result<ClientCredentials, ReconcileError> {
    let reference = &spec.credentials_secret_ref;
    let (id_key, secret_key, private_key_key) =
        (reference.client_id_key(), reference.client_secret_key(), reference.private_key_key());
    let client_id = source
        .value(id_key)
        .ok_or_else(|| ReconcileError::ReferenceNotFound { what: source.describe(id_key) })?
        .expose()
        .to_owned();
    let oneapi = spec.auth == AuthFlow::Oneapi;
    match (source.value(secret_key), source.value(private_key_key)) {
        (Some(secret), None) => Ok(ClientCredentials::secret(client_id, secret)),
        (Some(_), Some(_)) => Err(ReconcileError::AmbiguousCredentials {
            message: format!(
                "both {} and {} are set: keep exactly one (a client secret, or a private key for auth: oneapi)",
                source.describe(secret_key),
                source.describe(private_key_key)
            ),
        }),
        (None, Some(_)) if !oneapi => Err(ReconcileError::PrivateKeyNeedsOneApi {
            message: format!(
                "{} is set, but only auth: oneapi signs in with a private key; set auth: oneapi (with \
                 vanityDomain or tokenUrl), or give {} instead",
                source.describe(private_key_key),
                source.describe(secret_key)
            ),
        }),
        (None, Some(key)) => match PrivateKey::parse(key.expose()) {
            Ok(key) => Ok(ClientCredentials::private_key(client_id, key)),
            Err(why) => Err(ReconcileError::InvalidPrivateKey {
                message: format!("{} cannot be used: {why}", source.describe(private_key_key)),
            }),
        },
        (None, None) if oneapi => Err(ReconcileError::ReferenceNotFound {
            what: format!("{} (or {})", source.describe(secret_key), source.describe(private_key_key)),
        }),
        (None, None) => Err(ReconcileError::ReferenceNotFound { what: source.describe(secret_key) }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::crd::CredentialsSecretRef;
    use crate::reconcile::conditions::Reason;

    /// A key of the Secret and its value.
    type Key = (&'static str, &'static str);

    struct Keys(BTreeMap<&'static str, &'static str>);

    impl CredentialSource for Keys {
        fn value(&self, key: &str) -> Option<SecretString> {
            self.0.get(key).map(|v| SecretString::new(*v))
        }
        fn describe(&self, key: &str) -> String {
            format!("key {key:?} in Secret ns/creds")
        }
    }

    fn spec(auth: AuthFlow) -> ZpaProviderConfigSpec {
        ZpaProviderConfigSpec {
            customer_id: "1".into(),
            auth,
            credentials_secret_ref: CredentialsSecretRef { namespace: "ns".into(), name: "creds".into(), keys: None },
            ..ZpaProviderConfigSpec::default()
        }
    }

    fn read(auth: AuthFlow, keys: &[Key]) -> Result<ClientCredentials, ReconcileError> {
        credentials_for(&spec(auth), &Keys(keys.iter().copied().collect()))
    }

    #[test]
    fn a_secret_is_read_as_before() {
        let credentials = read(AuthFlow::Legacy, &[("clientId", "id"), ("clientSecret", "s3cret")]).unwrap();
        assert_eq!(credentials.client_id, "id");
        assert!(
            matches!(credentials.authentication, crate::zpa::ClientAuthentication::Secret(ref s) if s.expose() == "s3cret")
        );
        let missing = read(AuthFlow::Legacy, &[("clientId", "id")]).unwrap_err();
        assert_eq!(missing.to_string(), "key \"clientSecret\" in Secret ns/creds not found");
    }

    #[test]
    fn both_neither_legacy_and_garbled_keys_have_their_reasons() {
        let cases: [(AuthFlow, &[Key], Reason, &str); 5] = [
            (
                AuthFlow::Oneapi,
                &[("clientId", "id"), ("clientSecret", "s3cret"), ("privateKey", "pem-content")],
                Reason::AmbiguousCredentials,
                "both key \"clientSecret\" in Secret ns/creds and key \"privateKey\" in Secret ns/creds are set",
            ),
            (
                AuthFlow::Oneapi,
                &[("clientId", "id")],
                Reason::ReferenceNotFound,
                "key \"clientSecret\" in Secret ns/creds (or key \"privateKey\" in Secret ns/creds) not found",
            ),
            (
                AuthFlow::Legacy,
                &[("clientId", "id"), ("privateKey", "pem-content")],
                Reason::PrivateKeyNeedsOneApi,
                "only auth: oneapi signs in with a private key",
            ),
            (
                AuthFlow::Oneapi,
                &[("clientId", "id"), ("privateKey", "pem-content")],
                Reason::InvalidPrivateKey,
                "key \"privateKey\" in Secret ns/creds cannot be used: it is neither a PEM private key",
            ),
            (AuthFlow::Oneapi, &[("privateKey", "pem-content")], Reason::ReferenceNotFound, "key \"clientId\""),
        ];
        for (auth, keys, reason, words) in cases {
            let error = read(auth, keys).unwrap_err();
            assert_eq!(error.reason(), reason, "{error}");
            assert!(!error.is_retryable(), "{error}");
            let message = error.to_string();
            assert!(message.contains(words), "{message}");
            assert!(!message.contains("pem-content") && !message.contains("s3cret"), "{message}");
        }
    }
}
