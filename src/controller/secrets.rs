//! Secrets the operator reads (debug file passwords) and writes (the
//! Microtenant admin credentials). Values stay in [`SecretString`].

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use kube::{Resource, ResourceExt};

use super::context::Context;
use crate::reconcile::ReconcileError;
use crate::secret::SecretString;

/// Keys of the admin credentials Secret.
pub const USERNAME_KEY: &str = "username";
pub const PASSWORD_KEY: &str = "password";

/// One key of a Secret in `namespace`.
pub async fn read_key(ctx: &Context, namespace: &str, name: &str, key: &str) -> Result<SecretString, ReconcileError> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = secrets
        .get_opt(name)
        .await
        .map_err(ReconcileError::kubernetes("get Secret"))?
        .ok_or_else(|| ReconcileError::ReferenceNotFound { what: format!("Secret {namespace}/{name}") })?;
    secret_value(&secret, key)
        .ok_or_else(|| ReconcileError::ReferenceNotFound { what: format!("key {key:?} in Secret {namespace}/{name}") })
}

/// A non-empty UTF-8 value of `key`, trimmed.
pub fn secret_value(secret: &Secret, key: &str) -> Option<SecretString> {
    let bytes = secret.data.as_ref()?.get(key)?;
    let text = String::from_utf8(bytes.0.clone()).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| SecretString::new(text))
}

/// Writes the generated admin credentials into `secret_name`, owned by
/// `owner` so it goes away with it. Retried a few times: ZPA never shows
/// the password again.
pub async fn store_admin_credentials<K>(
    ctx: &Context,
    owner: &K,
    secret_name: &str,
    username: &str,
    password: &SecretString,
) -> Result<(), ReconcileError>
where
    K: Resource<DynamicType = ()>,
{
    let namespace = owner.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(secret_name.to_owned()),
            namespace: Some(namespace.clone()),
            labels: Some(BTreeMap::from([("app.kubernetes.io/managed-by".to_owned(), "zpa-operator".to_owned())])),
            owner_references: owner
                .controller_owner_ref(&())
                .map(|r| vec![OwnerReference { block_owner_deletion: Some(false), ..r }]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([
            (USERNAME_KEY.to_owned(), ByteString(username.as_bytes().to_vec())),
            (PASSWORD_KEY.to_owned(), ByteString(password.expose().as_bytes().to_vec())),
        ])),
        ..Secret::default()
    };
    let mut patch = serde_json::to_value(&secret).map_err(|error| ReconcileError::Internal {
        message: format!("cannot encode the admin credentials Secret: {error}"),
    })?;
    patch["apiVersion"] = "v1".into();
    patch["kind"] = "Secret".into();
    let params = PatchParams::apply(&ctx.settings.field_manager).force();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match secrets.patch(secret_name, &params, &Patch::Apply(&patch)).await {
            Ok(_) => return Ok(()),
            Err(error) if attempt < 5 => {
                tracing::warn!(secret = secret_name, %error, attempt, "writing admin credentials failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
            Err(source) => {
                return Err(ReconcileError::Kubernetes { operation: "apply admin credentials Secret", source });
            }
        }
    }
}
