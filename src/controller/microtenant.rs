//! `Microtenant` in the cluster: the admin credentials, which ZPA returns
//! once, in the create response, and its status fields.

use kube::ResourceExt;
use kube::runtime::events::EventType;
use serde_json::{Map, json};

use super::context::Context;
use super::kind::{AT_PROVIDER, ControllerKind, KindStatus, Report};
use super::secrets::{PASSWORD_KEY, read_key, store_admin_credentials};
use crate::crd::Microtenant;
use crate::reconcile::ReconcileError;
use crate::reconcile::microtenant::{MicrotenantKind, observation};
use crate::remote::Created;
use crate::remote::packed::Dictionary;
use crate::wire::mgmt::MgmtMicrotenant;

impl ControllerKind for Microtenant {
    type Kind = MicrotenantKind;

    /// The admin user and password go to the Secret before anything else is
    /// recorded, and nowhere else.
    async fn after_create(&self, ctx: &Context, created: &Created<MgmtMicrotenant>) {
        let user = created.admin_user.as_ref();
        let credentials = user.and_then(|u| Some((u.username.as_deref()?, u.password.as_ref()?)));
        match (&self.spec.admin_credentials_secret_ref, credentials) {
            (Some(secret), Some((username, password))) => {
                match store_admin_credentials(ctx, self, &secret.name, username, password).await {
                    Ok(()) => {
                        let note =
                            format!("admin credentials of Microtenant {} stored in Secret {}", created.id, secret.name);
                        ctx.publish(self, EventType::Normal, "CredentialsStored", "Create", note).await;
                    }
                    Err(error) => {
                        let error = match error {
                            ReconcileError::Kubernetes { source, .. } => source.to_string(),
                            other => other.to_string(),
                        };
                        let note = format!(
                            "could not store the admin credentials in Secret {}: {error}; ZPA will not show them again, reset the admin password in the ZPA portal",
                            secret.name
                        );
                        ctx.publish(self, EventType::Warning, "CredentialsLost", "Create", note).await;
                    }
                }
            }
            (None, Some(_)) => {
                let note = "ZPA generated an admin password but spec.adminCredentialsSecretRef is not set, so it was discarded".to_owned();
                ctx.publish(self, EventType::Warning, "CredentialsDiscarded", "Create", note).await;
            }
            (_, None) => {
                let note = "ZPA returned no admin credentials for this Microtenant".to_owned();
                ctx.publish(self, EventType::Normal, "NoCredentials", "Create", note).await;
            }
        }
    }

    /// The admin password was in the lost answer, unless it reached the
    /// Secret before the operator stopped.
    async fn after_lost_create(&self, ctx: &Context) -> Option<String> {
        let secret = self.spec.admin_credentials_secret_ref.as_ref()?;
        let namespace = self.namespace().unwrap_or_default();
        if read_key(ctx, &namespace, &secret.name, PASSWORD_KEY).await.is_ok() {
            return None;
        }
        Some(format!(
            "the admin password ZPA shows only once was in that answer and is not in Secret {}: reset the admin password in the ZPA portal",
            secret.name
        ))
    }

    fn cache_dictionary() -> &'static Dictionary {
        static DICTIONARY: Dictionary = Dictionary::new();
        &DICTIONARY
    }

    async fn status_fields(&self, report: &Report<MgmtMicrotenant>) -> KindStatus {
        let mut fields = Map::new();
        // Without a new observation the status keeps the one it has (`managed::write_status`).
        if let Some(at_provider) = report.remote.as_ref().map(observation) {
            fields.insert(AT_PROVIDER.into(), json!(at_provider));
        }
        KindStatus { fields, requeue: None }
    }
}
