//! `ZpaProviderConfig`: turning a provider config and its credentials Secret
//! into a ZPA tenant, and reporting whether signing in works.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::backoff::Backoffs;
use super::context::Context;
use super::secrets::secret_value;
use crate::crd::{READY, ZpaProviderConfig, ZpaProviderConfigStatus};
use crate::reconcile::ReconcileError;
use crate::reconcile::conditions::{self, ConditionState, Reason};
use crate::remote::Tenant;
use crate::remote::credentials::{CredentialSource, credentials_for};
use crate::remote::tenant::{rate_limits_for, skips_tls_verification, zpa_config_for};
use crate::zpa::ZpaConfig;

const KIND: &str = "ZpaProviderConfig";
/// The Event reason that says certificate verification is off.
pub const INSECURE_TLS: &str = "InsecureTLS";

/// The tenant behind a provider config, built from its spec and Secret.
/// Reuses the last one until a watch event says the provider config or its
/// Secret changed, so steady-state reconciles make no Kubernetes reads for it.
pub async fn tenant_for(ctx: &Context, provider_config: &str) -> Result<Arc<Tenant>, ReconcileError> {
    if let Some(tenant) = ctx.tenants.current(provider_config) {
        return Ok(tenant);
    }
    let epoch = ctx.tenants.epoch(provider_config);
    let config = read_selected(ctx, provider_config).await?.ok_or_else(|| {
        let what = match &ctx.settings.provider_config_selector {
            Some(selector) => {
                format!("ZpaProviderConfig {provider_config:?} matching this operator's selector {selector:?}")
            }
            None => format!("ZpaProviderConfig {provider_config:?}"),
        };
        ReconcileError::ReferenceNotFound { what }
    })?;
    build_tenant(ctx, &config, epoch).await
}

/// The provider config `name`, if it exists and this operator's selector
/// (when it has one) matches it.
async fn read_selected(ctx: &Context, name: &str) -> Result<Option<ZpaProviderConfig>, ReconcileError> {
    let configs: Api<ZpaProviderConfig> = Api::all(ctx.client.clone());
    let Some(selector) = &ctx.settings.provider_config_selector else {
        return configs.get_opt(name).await.map_err(ReconcileError::kubernetes("get ZpaProviderConfig"));
    };
    let params = kube::api::ListParams::default().labels(selector).fields(&format!("metadata.name={name}"));
    let listed = configs.list(&params).await.map_err(ReconcileError::kubernetes("list ZpaProviderConfigs"))?;
    Ok(listed.items.into_iter().next())
}

/// Builds (or finds unchanged in the registry) the tenant of `config` from
/// its Secret as it is now, and marks it current.
async fn build_tenant(ctx: &Context, config: &ZpaProviderConfig, epoch: u64) -> Result<Arc<Tenant>, ReconcileError> {
    let name = config.name_any();
    let (zpa_config, secret_version) = zpa_config(ctx, config).await?;
    let version = format!("{}/{}", config.metadata.generation.unwrap_or_default(), secret_version);
    let tenant = ctx.tenants.tenant(&name, &version, zpa_config, rate_limits_for(&config.spec))?;
    ctx.tenants.confirm(&name, epoch);
    Ok(tenant)
}

/// The client settings of a provider config, and the resourceVersion of the
/// Secret they were read from.
async fn zpa_config(ctx: &Context, config: &ZpaProviderConfig) -> Result<(ZpaConfig, String), ReconcileError> {
    let spec = &config.spec;
    let secret_ref = &spec.credentials_secret_ref;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &secret_ref.namespace);
    let described = format!(
        "Secret {}/{} (credentials of ZpaProviderConfig {:?})",
        secret_ref.namespace,
        secret_ref.name,
        config.name_any()
    );
    let secret = secrets
        .get_opt(&secret_ref.name)
        .await
        .map_err(ReconcileError::kubernetes("get credentials Secret"))?
        .ok_or_else(|| ReconcileError::ReferenceNotFound { what: described.clone() })?;
    let credentials = credentials_for(spec, &SecretKeys { secret: &secret, described: &described })?;
    let zpa = zpa_config_for(spec, credentials)?;
    Ok((zpa, secret.resource_version().unwrap_or_default()))
}

/// The keys of a credentials Secret in the cluster.
struct SecretKeys<'a> {
    secret: &'a Secret,
    described: &'a str,
}

impl CredentialSource for SecretKeys<'_> {
    fn value(&self, key: &str) -> Option<crate::secret::SecretString> {
        secret_value(self.secret, key)
    }

    fn describe(&self, key: &str) -> String {
        format!("key {key:?} in {}", self.described)
    }
}

/// Signs in and reports `Ready` on the provider config. It always reads the
/// credentials Secret afresh (never the cached tenant), so a rotation shows
/// here at the next reconcile even when no watch sees that Secret, and the
/// tenant it builds replaces the cached one for every dependent object.
pub async fn reconcile(config: Arc<ZpaProviderConfig>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let name = config.name_any();
    let epoch = ctx.tenants.epoch(&name);
    let outcome = match build_tenant(&ctx, &config, epoch).await {
        Ok(tenant) => tenant.client.me().await.map_err(ReconcileError::from).inspect(|me| tenant.remember_session(me)),
        Err(error) => Err(error),
    };
    let insecure = skips_tls_verification(&config.spec);
    if insecure {
        let note = format!(
            "TLS certificate verification is disabled for {} (spec.tls.insecureSkipTLSVerify); \
             anyone on the network path can read the ZPA credentials",
            config.spec.base_url.as_deref().unwrap_or_default()
        );
        ctx.publish(config.as_ref(), EventType::Warning, INSECURE_TLS, "SignIn", note).await;
    }
    let previous = config.status.clone().unwrap_or_default();
    let (ready, customer_name) = match &outcome {
        Ok(me) if insecure => (
            ConditionState::yes(
                Reason::SignedIn,
                "signed in to ZPA, but WITHOUT TLS certificate verification (spec.tls.insecureSkipTLSVerify)",
            ),
            me.customer_name.clone(),
        ),
        Ok(me) => (ConditionState::yes(Reason::SignedIn, "signed in to ZPA"), me.customer_name.clone()),
        Err(error) => (ConditionState::no(error.reason(), error.to_string()), previous.customer_name.clone()),
    };
    let now = jiff::Timestamp::now().to_string();
    let generation = config.meta().generation;
    let mut next = vec![conditions::next(&previous.conditions, READY, &ready, generation, &now)];
    // For kstatus: Stalled when only a person can fix the sign-in, Reconciling while it is retried.
    let terminal = outcome.as_ref().is_err_and(|error| !error.is_retryable());
    if let Some((type_, state)) = conditions::kstatus_condition(&ready, &ready, terminal) {
        next.push(conditions::next(&previous.conditions, type_, &state, generation, &now));
    }
    let status = ZpaProviderConfigStatus { observed_generation: generation, conditions: next, customer_name };
    let unchanged = previous.conditions == status.conditions
        && previous.observed_generation == status.observed_generation
        && previous.customer_name == status.customer_name;
    if !unchanged {
        let api: Api<ZpaProviderConfig> = Api::all(ctx.client.clone());
        let patch = json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig", "status": status});
        api.patch_status(&name, &PatchParams::apply(&ctx.settings.field_manager).force(), &Patch::Apply(&patch))
            .await
            .map_err(ReconcileError::kubernetes("patch ZpaProviderConfig status"))?;
    }
    match outcome {
        Ok(_) => {
            ctx.backoffs.reset(&Backoffs::key(config.as_ref()));
            Ok(Action::requeue(ctx.settings.resync_interval))
        }
        Err(error) => Err(error),
    }
}

/// A failed provider config comes back after its own exponential backoff
/// (or the server's `retry-after`), never later than the resync interval.
/// Dependent objects are woken by its status change and by Secret changes,
/// not by this retry.
pub fn error_policy(config: Arc<ZpaProviderConfig>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let delay = ctx.backoffs.next_delay(&Backoffs::key(config.as_ref()));
    let delay = error.retry_after().map_or(delay, |hint| hint.max(delay)).min(ctx.settings.resync_interval);
    ctx.metrics.backed_off(KIND, error.reason().as_str(), delay);
    ctx.metrics.objects_in_backoff.set(ctx.backoffs.in_backoff() as i64);
    tracing::debug!(provider_config = %config.name_any(), reason = %error.reason(), ?delay, "sign-in failed; backing off");
    Action::requeue(delay)
}
