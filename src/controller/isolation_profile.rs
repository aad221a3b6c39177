//! `IsolationProfile` reconciler: the shared flow plus reference resolution
//! (regions, certificates, banner by name; the Microtenant scope; the debug
//! password Secret) and the ZPA-side profile id.

use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;
use serde_json::{Map, Value, json};

use super::context::Context;
use super::managed::{ManagedResource, Prepared, Report, remote_name};
use super::provider::tenant_for;
use super::secrets::read_key;
use crate::crd::{IsolationProfile, ManagedFields, ManagedStatus, Microtenant, annotations};
use crate::reconcile::ReconcileError;
use crate::reconcile::isolation_profile::{DesiredProfile, IsolationProfileKind, observation};
use crate::remote::tenant::ZpaProfileIndex;
use crate::wire::cbi::CbiProfile;
use crate::zpa::Scope;

impl ManagedResource for IsolationProfile {
    type Kind = IsolationProfileKind;

    fn managed(&self) -> &ManagedFields {
        &self.spec.managed
    }

    fn managed_status(&self) -> Option<&ManagedStatus> {
        self.status.as_ref().map(|s| &s.managed)
    }

    fn status_json(&self) -> Value {
        serde_json::to_value(self.status.clone().unwrap_or_default()).unwrap_or_default()
    }

    /// Once created, the profile lives in the scope recorded in status; the
    /// scope is immutable, so this stays right even if the Microtenant is gone.
    fn recorded_scope(&self) -> Scope {
        let recorded = self.status.as_ref().and_then(|s| s.microtenant_id.as_deref());
        Scope::from_id(recorded.or(self.spec.microtenant_id.as_deref()))
    }

    async fn prepare(&self, ctx: &Context) -> Result<Prepared<IsolationProfileKind>, ReconcileError> {
        let tenant = tenant_for(ctx, self.spec.managed.provider_config_name()).await?;
        let scope = match self.recorded_scope() {
            Scope::Default => self.microtenant_scope(ctx).await?,
            recorded => recorded,
        };
        let password_ref = self.spec.debug_mode.as_ref().and_then(|d| d.file_password_secret_ref.as_ref());
        let password = match password_ref {
            Some(r) => Some(read_key(ctx, &self.namespace().unwrap_or_default(), &r.name, &r.key).await?),
            None => None,
        };
        let refs = tenant.references.resolve_profile(&tenant.client, &self.spec, password).await?;
        let name = remote_name(self);
        let desired = DesiredProfile::new(&name, &self.spec, refs.clone());
        let create_desired = tenant
            .references
            .with_create_defaults(&tenant.client, refs)
            .await?
            .map(|refs| DesiredProfile::new(&name, &self.spec, refs));
        Ok(Prepared { tenant, desired, create_desired, scope })
    }

    async fn status_fields(&self, report: &Report<CbiProfile>) -> (Map<String, Value>, Option<Duration>) {
        let previous = self.status.clone().unwrap_or_default();
        let mut requeue = None;
        let zpa_profile_id = match (&report.tenant, &report.id) {
            (Some(tenant), Some(id))
                if previous.managed.id.as_ref() != Some(id) || previous.zpa_profile_id.is_none() =>
            {
                match tenant.zpa_profiles.zpa_id(&tenant.client, id).await {
                    Ok(Some(zpa_id)) => Some(zpa_id),
                    // ZPA creates its side a little after the CBI profile: look again soon.
                    Ok(None) | Err(_) => {
                        requeue = Some(ZpaProfileIndex::MIN_RELOAD);
                        None
                    }
                }
            }
            (_, Some(_)) => previous.zpa_profile_id.clone(),
            (_, None) => None,
        };
        let at_provider = report
            .remote
            .as_ref()
            .map(|remote| {
                let mut view = observation(remote);
                if let Some(tenant) = &report.tenant {
                    tenant.references.name_view(&mut view);
                }
                view
            })
            .or(previous.at_provider);
        let microtenant_id =
            report.scope.id().map(str::to_owned).or(previous.microtenant_id).filter(|_| report.id.is_some());
        let mut fields = Map::new();
        fields.insert("zpaProfileId".into(), json!(zpa_profile_id));
        fields.insert("microtenantId".into(), json!(microtenant_id));
        fields.insert("atProvider".into(), json!(at_provider));
        (fields, requeue)
    }
}

impl IsolationProfile {
    /// The scope from `microtenantId`, or the id of the `Microtenant` named by `microtenantRef`.
    async fn microtenant_scope(&self, ctx: &Context) -> Result<Scope, ReconcileError> {
        if let Some(id) = &self.spec.microtenant_id {
            return Ok(Scope::Microtenant(id.clone()));
        }
        let Some(reference) = &self.spec.microtenant_ref else {
            return Ok(Scope::Default);
        };
        let namespace = self.namespace().unwrap_or_default();
        let described = format!("Microtenant {namespace}/{}", reference.name);
        let microtenants: Api<Microtenant> = Api::namespaced(ctx.client.clone(), &namespace);
        let microtenant = microtenants
            .get_opt(&reference.name)
            .await
            .map_err(ReconcileError::kubernetes("get Microtenant"))?
            .ok_or_else(|| ReconcileError::ReferenceNotFound { what: described.clone() })?;
        if microtenant.spec.managed.provider_config_name() != self.spec.managed.provider_config_name() {
            return Err(ReconcileError::InvalidSpec {
                message: format!(
                    "{described} belongs to ZpaProviderConfig {:?}, this profile to {:?}",
                    microtenant.spec.managed.provider_config_name(),
                    self.spec.managed.provider_config_name()
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
        id.map(Scope::Microtenant)
            .ok_or(ReconcileError::ReferenceNotReady { what: format!("{described} to get a ZPA id") })
    }
}
