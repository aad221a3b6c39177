//! What a kind's `prepare` reads from the cluster: the tenant of a provider
//! config, Secret keys, and the ZPA id of a referenced Microtenant.

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::Api;

use super::context::Context;
use super::provider::tenant_for;
use super::secrets::read_key;
use crate::crd::{Microtenant, annotations};
use crate::reconcile::ReconcileError;
use crate::remote::Tenant;
use crate::remote::kind::Sources;
use crate::secret::SecretString;

/// The cluster, as a `prepare` reads it.
pub struct ClusterSources<'a> {
    pub ctx: &'a Context,
}

impl Sources for ClusterSources<'_> {
    async fn tenant(&self, provider_config: &str) -> Result<Arc<Tenant>, ReconcileError> {
        tenant_for(self.ctx, provider_config).await
    }

    async fn secret_key(&self, namespace: &str, name: &str, key: &str) -> Result<SecretString, ReconcileError> {
        read_key(self.ctx, namespace, name, key).await
    }

    /// The id the Microtenant recorded (`externalId`, the id annotation, or
    /// status); it must belong to the same provider config.
    async fn microtenant_id(
        &self,
        namespace: &str,
        name: &str,
        provider_config: &str,
    ) -> Result<String, ReconcileError> {
        let described = format!("Microtenant {namespace}/{name}");
        let microtenants: Api<Microtenant> = Api::namespaced(self.ctx.client.clone(), namespace);
        let microtenant = microtenants
            .get_opt(name)
            .await
            .map_err(ReconcileError::kubernetes("get Microtenant"))?
            .ok_or_else(|| ReconcileError::ReferenceNotFound { what: described.clone() })?;
        let its_config = microtenant.spec.managed.provider_config_name();
        if its_config != provider_config {
            return Err(ReconcileError::InvalidSpec {
                message: format!(
                    "{described} belongs to ZpaProviderConfig {its_config:?}, this profile to {provider_config:?}"
                ),
            });
        }
        let id = microtenant
            .spec
            .managed
            .external_id
            .clone()
            .or_else(|| microtenant.annotations().get(annotations::EXTERNAL_ID).cloned())
            .or_else(|| microtenant.status.as_ref().and_then(|s| s.managed.id.clone()));
        id.ok_or(ReconcileError::ReferenceNotReady { what: format!("{described} to get a ZPA id") })
    }
}
