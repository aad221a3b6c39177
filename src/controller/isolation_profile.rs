//! `IsolationProfile` in the cluster: the scope it was created in, its
//! status fields (`zpaProfileId`, `microtenantId`, `atProvider`), and the
//! Secret it reads. Its desired state is prepared in `remote::kinds`.

use serde_json::{Map, json};

use super::kind::{AT_PROVIDER, ControllerKind, KindStatus, Report};
use crate::crd::IsolationProfile;
use crate::reconcile::isolation_profile::{IsolationProfileKind, observation};
use crate::remote::kinds::recorded_scope;
use crate::remote::packed::Dictionary;
use crate::remote::tenant::ZpaProfileIndex;
use crate::wire::cbi::CbiProfile;
use crate::zpa::Scope;

impl ControllerKind for IsolationProfile {
    type Kind = IsolationProfileKind;

    fn recorded_scope(&self) -> Scope {
        recorded_scope(self)
    }

    fn secrets_read(&self) -> Vec<&str> {
        let debug_password = self.spec.debug_mode.as_ref().and_then(|d| d.file_password_secret_ref.as_ref());
        debug_password.map(|r| r.name.as_str()).into_iter().collect()
    }

    fn scoped_to(&self) -> Option<&str> {
        self.spec.microtenant_ref.as_ref().map(|r| r.name.as_str())
    }

    fn cache_dictionary() -> &'static Dictionary {
        static DICTIONARY: Dictionary = Dictionary::new();
        &DICTIONARY
    }

    async fn status_fields(&self, report: &Report<CbiProfile>) -> KindStatus {
        let previous = self.status.clone().unwrap_or_default();
        let mut requeue = None;
        let zpa_profile_id = match (&report.tenant, &report.id) {
            (Some(tenant), Some(id))
                if previous.managed.id.as_ref() != Some(id) || previous.zpa_profile_id.is_none() =>
            {
                let index = &tenant.zpa_profiles;
                // A profile just created is looked up by name, so that the
                // status written right after its create is complete.
                let found = match report.remote.as_ref().filter(|_| report.created) {
                    Some(created) => index.zpa_id_of_new(&tenant.client, &report.scope, id, &created.name).await,
                    None => index.zpa_id(&tenant.client, &report.scope, id).await,
                };
                match found {
                    Ok(Some(zpa_id)) => Some(zpa_id),
                    // ZPA makes its side a little after the CBI profile: the
                    // status goes without it now (it records the id) and
                    // looks again soon.
                    Ok(None) | Err(_) => {
                        requeue = Some(ZpaProfileIndex::MIN_RELOAD);
                        None
                    }
                }
            }
            (_, Some(_)) => previous.zpa_profile_id.clone(),
            (_, None) => None,
        };
        let at_provider = report.remote.as_ref().map(|remote| {
            let mut view = observation(remote);
            if let Some(tenant) = &report.tenant {
                tenant.references.name_view(&mut view);
            }
            view
        });
        let microtenant_id =
            report.scope.id().map(str::to_owned).or(previous.microtenant_id).filter(|_| report.id.is_some());
        let mut fields = Map::new();
        fields.insert("zpaProfileId".into(), json!(zpa_profile_id));
        fields.insert("microtenantId".into(), json!(microtenant_id));
        // Without a new observation the status keeps the one it has (`managed::write_status`).
        if let Some(at_provider) = at_provider {
            fields.insert(AT_PROVIDER.into(), json!(at_provider));
        }
        KindStatus { fields, requeue }
    }
}
