//! The converge step as a table, for both kinds, against the in-process ZPA
//! simulator: no Kubernetes API server, a recording journal in place of the
//! custom resource. Each row says what ZPA holds, what the object records
//! and may do, and exactly what the step must answer, persist and write.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::ObjectMeta;
use serde_json::json;

use super::converge::{Journal, NoJournal, Outcome, Reached, Rules, Writes, converge};
use super::kind::{Created, Prepared, RemoteKind, Sources};
use super::tenant::Tenant;
use crate::crd::{self, Adoption, ManagedFields, ManagementPolicy};
use crate::reconcile::isolation_profile::{DesiredProfile, IsolationProfileKind};
use crate::reconcile::microtenant::{DesiredMicrotenant, MicrotenantKind};
use crate::reconcile::{Identity, PendingCreate, Reason, ReconcileError};
use crate::secret::SecretString;
use crate::simulator::{self, ErrorResponseFault, FaultConfig, RunningSimulator, SimulatorConfig};
use crate::wire::cbi::CbiProfile;
use crate::wire::mgmt::MgmtMicrotenant;
use crate::zpa::{AuthMode, ClientCredentials, Endpoint, RateLimiter, Scope, ZpaClient, ZpaConfig};

const NAME: &str = "web";

/// A kind as the table drives it: its custom resource, and its objects in ZPA.
trait Fixture: RemoteKind {
    /// The custom resource named [`NAME`] with `description`; `refused` makes
    /// a spec ZPA refuses on create (which no CRD validation catches).
    fn object(managed: ManagedFields, description: &str, refused: bool) -> Self::Resource;
    /// Creates a remote object named [`NAME`] behind the operator's back
    /// (`copy` 1: a second one, named `web-1` until it drifts to [`NAME`]).
    async fn create_remote(client: &ZpaClient, description: &str, copy: u8) -> String;
    /// The simulator's drift route for one object of this kind.
    const DRIFT: &'static str;
    /// Spoils the operator's own JSON, as a bug would.
    fn spoil(desired: &mut Self::Desired);
    async fn edit_remote(client: &ZpaClient, id: &str, edit: impl FnOnce(&mut serde_json::Value) + Send);
    async fn delete_remote(client: &ZpaClient, id: &str);
}

impl Fixture for MicrotenantKind {
    const DRIFT: &'static str = "microtenants";

    fn object(managed: ManagedFields, description: &str, refused: bool) -> crd::Microtenant {
        let domain = if refused { "not-ours.invalid" } else { "web.example.com" };
        let spec = crd::MicrotenantSpec {
            managed,
            description: Some(description.into()),
            enabled: Some(true),
            criteria_attribute_values: Some(vec![domain.into()]),
            ..Default::default()
        };
        crd::Microtenant { metadata: meta(), spec, status: None }
    }

    async fn create_remote(client: &ZpaClient, description: &str, copy: u8) -> String {
        let domain = if copy == 0 { "web.example.com".to_owned() } else { format!("web{copy}.example.com") };
        let body = MgmtMicrotenant {
            name: if copy == 0 { NAME.into() } else { format!("{NAME}-{copy}") },
            description: Some(description.into()),
            enabled: Some(true),
            criteria_attribute: Some("AuthDomain".into()),
            criteria_attribute_values: Some(vec![domain]),
            ..Default::default()
        };
        client.create_microtenant(&body).await.unwrap().id.unwrap()
    }

    fn spoil(desired: &mut DesiredMicrotenant) {
        desired.fields["enabled"] = json!("yes");
    }

    async fn edit_remote(client: &ZpaClient, id: &str, edit: impl FnOnce(&mut serde_json::Value) + Send) {
        let mut value = serde_json::to_value(client.get_microtenant(id).await.unwrap()).unwrap();
        edit(&mut value);
        client.update_microtenant(id, &serde_json::from_value(value).unwrap()).await.unwrap();
    }

    async fn delete_remote(client: &ZpaClient, id: &str) {
        client.delete_microtenant(id).await.unwrap();
    }
}

impl Fixture for IsolationProfileKind {
    const DRIFT: &'static str = "profiles";

    fn object(managed: ManagedFields, description: &str, refused: bool) -> crd::IsolationProfile {
        let regions = if refused { vec!["Frankfurt".into()] } else { vec!["Frankfurt".into(), "London".into()] };
        let spec =
            crd::IsolationProfileSpec { managed, description: Some(description.into()), regions, ..Default::default() };
        crd::IsolationProfile { metadata: meta(), spec, status: None }
    }

    async fn create_remote(client: &ZpaClient, description: &str, copy: u8) -> String {
        let regions = client.list_regions().await.unwrap();
        let ids = ["Frankfurt", "London"].map(|n| regions.iter().find(|r| r.name == n).unwrap().id.clone());
        let body = CbiProfile {
            name: if copy == 0 { NAME.into() } else { format!("{NAME}-{copy}") },
            description: Some(description.into()),
            region_ids: Some(ids.to_vec()),
            ..Default::default()
        };
        client.create_profile(&body, &Scope::Default).await.unwrap()
    }

    fn spoil(desired: &mut DesiredProfile) {
        desired.fields["isDefault"] = json!("yes");
    }

    async fn edit_remote(client: &ZpaClient, id: &str, edit: impl FnOnce(&mut serde_json::Value) + Send) {
        let mut value = serde_json::to_value(client.get_profile(id, &Scope::Default).await.unwrap()).unwrap();
        edit(&mut value);
        client.update_profile(id, &serde_json::from_value(value).unwrap(), &Scope::Default).await.unwrap();
    }

    async fn delete_remote(client: &ZpaClient, id: &str) {
        client.delete_profile(id, &Scope::Default).await.unwrap();
    }
}

fn meta() -> ObjectMeta {
    ObjectMeta { name: Some(NAME.into()), namespace: Some("team-a".into()), ..ObjectMeta::default() }
}

/// A simulator and the tenant a converge step works with.
struct Zpa {
    sim: RunningSimulator,
    tenant: Arc<Tenant>,
}

impl Zpa {
    async fn start() -> Self {
        let sim = simulator::start(SimulatorConfig { rate_limit: None, ..SimulatorConfig::default() }).await.unwrap();
        let credentials = ClientCredentials::secret(sim.client_id(), sim.client_secret().clone());
        let config =
            ZpaConfig::resolve(&Endpoint::BaseUrl(sim.base_url()), &AuthMode::Legacy, sim.customer_id(), credentials);
        let client = ZpaClient::new(config, Arc::new(RateLimiter::unlimited())).unwrap();
        Self { sim, tenant: Arc::new(Tenant::new(client, Duration::from_secs(3600))) }
    }

    fn client(&self) -> &ZpaClient {
        &self.tenant.client
    }

    /// Changes an object as someone else would, past the API's checks (a
    /// second object of a taken name).
    async fn drift<K: Fixture>(&self, id: &str, patch: serde_json::Value) {
        let url = format!("{}/__sim/customers/{}/{}/{id}", self.sim.base_url(), self.sim.customer_id(), K::DRIFT);
        let answer = reqwest::Client::new().patch(url).json(&patch).send().await.unwrap();
        assert!(answer.status().is_success(), "drift: {}", answer.status());
    }

    /// Writes ZPA received so far (sign-in aside).
    fn writes(&self) -> u64 {
        let stats = self.sim.stats();
        let is_write = |route: &str| ["POST ", "PUT ", "DELETE "].iter().any(|m| route.starts_with(m));
        stats.by_route.iter().filter(|(route, _)| is_write(route) && !route.ends_with("/signin")).map(|(_, n)| n).sum()
    }

    async fn prepare<K: Fixture>(&self, object: &K::Resource) -> Prepared<K> {
        K::prepare(object, &TestSources(self.tenant.clone())).await.unwrap()
    }
}

/// Only the tenant: the table's objects name no Secret and no Microtenant.
struct TestSources(Arc<Tenant>);

impl Sources for TestSources {
    async fn tenant(&self, _: &str) -> Result<Arc<Tenant>, ReconcileError> {
        Ok(self.0.clone())
    }
    async fn secret_key(&self, _: &str, name: &str, _: &str) -> Result<SecretString, ReconcileError> {
        Err(ReconcileError::ReferenceNotFound { what: format!("Secret {name}") })
    }
    async fn microtenant_id(&self, _: &str, name: &str, _: &str) -> Result<String, ReconcileError> {
        Err(ReconcileError::ReferenceNotFound { what: format!("Microtenant {name}") })
    }
}

/// What the step persisted and told, in order.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl<R: Sync> Journal<R> for Log {
    async fn manage(&self, _: &str, adopted: bool) -> Result<(), ReconcileError> {
        self.push(if adopted { "adopt".into() } else { "manage".into() });
        Ok(())
    }
    async fn vanished(&self, _: &str) {
        self.push("vanished".into());
    }
    async fn create_pending(&self, name: &str) -> Result<(), ReconcileError> {
        self.push(format!("marker {name}"));
        Ok(())
    }
    async fn create_refused(&self) -> Result<(), ReconcileError> {
        self.push("marker cleared".into());
        Ok(())
    }
    async fn created(&self, _: &Created<R>) -> Result<(), ReconcileError> {
        self.push("id recorded".into());
        Ok(())
    }
}

/// What ZPA holds named [`NAME`] before the step.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Remote {
    Nothing,
    /// As the spec says.
    Same,
    /// With another description.
    Differs,
    /// Two objects of that name.
    Two,
}

/// What the object records about its remote identity.
#[derive(Debug, Clone, Copy)]
enum Recorded {
    Fresh,
    /// The id of the remote object.
    Known,
    /// The id of an object that was deleted.
    KnownGone,
    /// `spec.externalId` of the remote object.
    External,
    /// `spec.externalId` of nothing.
    ExternalMissing,
    /// A create-pending marker this many seconds old.
    Pending(u64),
}

/// The outcome, reduced to what the table compares.
#[derive(Debug, PartialEq)]
enum Want {
    Wait,
    InSync,
    Drift(Vec<String>),
    WouldCreate,
    WouldUpdate(Vec<String>),
    Created,
    Updated(Vec<String>),
    Failed(Reason, Reached),
}

struct Case {
    name: &'static str,
    remote: Remote,
    recorded: Recorded,
    adoption: Adoption,
    policy: ManagementPolicy,
    writes: Writes,
    refused: bool,
    want: Want,
    journal: &'static [&'static str],
    /// Writes ZPA receives during the step.
    zpa_writes: u64,
}

fn case(name: &'static str, remote: Remote, recorded: Recorded, want: Want) -> Case {
    Case {
        name,
        remote,
        recorded,
        adoption: Adoption::Never,
        policy: ManagementPolicy::Manage,
        writes: Writes::Apply,
        refused: false,
        want,
        journal: &[],
        zpa_writes: 0,
    }
}

fn cases() -> Vec<Case> {
    use Recorded::*;
    use Remote::*;
    let created = &["marker web", "id recorded"][..];
    let description = || vec!["description".to_owned()];
    vec![
        Case { journal: created, zpa_writes: 1, ..case("fresh, nothing there", Nothing, Fresh, Want::Created) },
        Case { writes: Writes::DryRun, ..case("fresh, nothing there, dry run", Nothing, Fresh, Want::WouldCreate) },
        case("fresh, name taken", Same, Fresh, Want::Failed(Reason::AlreadyExists, Reached::Nothing)),
        Case {
            adoption: Adoption::ByName,
            journal: &["adopt"],
            ..case("fresh, adopted in sync", Same, Fresh, Want::InSync)
        },
        Case {
            adoption: Adoption::ByName,
            journal: &["adopt"],
            zpa_writes: 1,
            ..case("fresh, adopted and updated", Differs, Fresh, Want::Updated(description()))
        },
        Case {
            adoption: Adoption::ByName,
            ..case("fresh, two to adopt", Two, Fresh, Want::Failed(Reason::AmbiguousName, Reached::Nothing))
        },
        Case { journal: &["manage"], ..case("known, in sync", Same, Known, Want::InSync) },
        Case {
            journal: &["manage"],
            zpa_writes: 1,
            ..case("known, differs", Differs, Known, Want::Updated(description()))
        },
        Case {
            writes: Writes::DryRun,
            journal: &["manage"],
            ..case("known, differs, dry run", Differs, Known, Want::WouldUpdate(description()))
        },
        Case {
            policy: ManagementPolicy::ObserveOnly,
            journal: &["manage"],
            ..case("known, differs, observe only", Differs, Known, Want::Drift(description()))
        },
        Case {
            journal: &["vanished", "marker web", "id recorded"],
            zpa_writes: 1,
            ..case("known, vanished: created again", Nothing, KnownGone, Want::Created)
        },
        Case {
            journal: &["vanished", "adopt"],
            ..case("known, vanished, one of its name: adopted, not created", Same, KnownGone, Want::InSync)
        },
        Case {
            journal: &["vanished"],
            ..case(
                "known, vanished, two of its name: nothing created",
                Two,
                KnownGone,
                Want::Failed(Reason::AmbiguousName, Reached::Nothing),
            )
        },
        Case { journal: &["adopt"], ..case("external id, found", Same, External, Want::InSync) },
        case(
            "external id, missing",
            Nothing,
            ExternalMissing,
            Want::Failed(Reason::ExternalNotFound, Reached::Nothing),
        ),
        Case { journal: &["adopt"], ..case("pending, found by name", Same, Pending(5), Want::InSync) },
        case("pending, not there yet", Nothing, Pending(5), Want::Wait),
        Case {
            journal: created,
            zpa_writes: 1,
            ..case("pending, past the grace", Nothing, Pending(31), Want::Created)
        },
        case("pending, two", Two, Pending(5), Want::Failed(Reason::CreateIncomplete, Reached::Nothing)),
        Case {
            policy: ManagementPolicy::ObserveOnly,
            ..case(
                "observe only, nothing there",
                Nothing,
                Fresh,
                Want::Failed(Reason::ExternalNotFound, Reached::Nothing),
            )
        },
        Case {
            refused: true,
            journal: &["marker web", "marker cleared"],
            zpa_writes: 1,
            ..case("create refused by ZPA", Nothing, Fresh, Want::Failed(Reason::InvalidSpec, Reached::Creating))
        },
    ]
}

fn paths(changes: &[crate::reconcile::FieldChange]) -> Vec<String> {
    let mut paths: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
    paths.sort();
    paths
}

async fn run_table<K: Fixture>() {
    for case in cases() {
        let zpa = Zpa::start().await;
        let client = zpa.client();
        let (spec_says, other) = ("wanted", "changed elsewhere");
        // The vanished object first: Microtenant names and domains are unique.
        let gone = match case.recorded {
            Recorded::KnownGone => {
                let id = K::create_remote(client, spec_says, 0).await;
                K::delete_remote(client, &id).await;
                Some(id)
            }
            _ => None,
        };
        let existing = match case.remote {
            Remote::Nothing => None,
            Remote::Same => Some(K::create_remote(client, spec_says, 0).await),
            Remote::Differs => Some(K::create_remote(client, other, 0).await),
            Remote::Two => {
                let first = K::create_remote(client, spec_says, 0).await;
                let second = K::create_remote(client, spec_says, 1).await;
                zpa.drift::<K>(&second, json!({"name": NAME.to_uppercase()})).await;
                Some(first)
            }
        };
        let marker = |age| Identity::Pending {
            marker: PendingCreate { at: "2026-01-01T00:00:00Z".into(), name: NAME.into() },
            age: Duration::from_secs(age),
        };
        let id = || existing.clone().unwrap();
        let identity = match case.recorded {
            Recorded::Fresh => Identity::Fresh,
            Recorded::Known => Identity::Known(id()),
            Recorded::KnownGone => Identity::Known(gone.clone().unwrap()),
            Recorded::External => Identity::External(id()),
            Recorded::ExternalMissing => Identity::External("no-such-id".into()),
            Recorded::Pending(age) => marker(age),
        };
        let managed = ManagedFields { external_id: identity_external(&identity), ..ManagedFields::default() };
        let object = K::object(managed, spec_says, case.refused);
        let prepared = zpa.prepare::<K>(&object).await;
        let journal = Log::default();
        let rules = Rules { adoption: case.adoption, policy: case.policy, writes: case.writes };
        let writes_before = zpa.writes();
        let result = converge::<K>(&prepared, &identity, rules, &journal).await;
        let got = match result {
            Ok(Outcome::Wait(_)) => Want::Wait,
            Ok(Outcome::InSync { id: got, .. }) => {
                assert_eq!(Some(&got), existing.as_ref(), "{}: {}", K::KIND, case.name);
                Want::InSync
            }
            Ok(Outcome::Drift { changes, .. }) => Want::Drift(paths(&changes)),
            Ok(Outcome::WouldCreate) => Want::WouldCreate,
            Ok(Outcome::WouldUpdate { changes, .. }) => Want::WouldUpdate(paths(&changes)),
            Ok(Outcome::Created(created)) => {
                assert_ne!(Some(&created.id), gone.as_ref(), "{}: {}: a new object", K::KIND, case.name);
                Want::Created
            }
            Ok(Outcome::Updated { id: got, changes, .. }) => {
                assert_eq!(Some(&got), existing.as_ref(), "{}: {}", K::KIND, case.name);
                Want::Updated(paths(&changes))
            }
            Ok(other) => panic!("{}: {}: unexpected {other:?}", K::KIND, case.name),
            Err(stopped) => Want::Failed(stopped.error.reason(), stopped.reached),
        };
        assert_eq!(got, case.want, "{}: {}", K::KIND, case.name);
        assert_eq!(journal.entries(), case.journal, "{}: {}: journal", K::KIND, case.name);
        assert_eq!(zpa.writes() - writes_before, case.zpa_writes, "{}: {}: writes to ZPA", K::KIND, case.name);
    }
}

fn identity_external(identity: &Identity) -> Option<String> {
    match identity {
        Identity::External(id) => Some(id.clone()),
        _ => None,
    }
}

fn manage(writes: Writes) -> Rules {
    Rules { adoption: Adoption::Never, policy: ManagementPolicy::Manage, writes }
}

/// An object ZPA holds (described "old") and its custom resource (wanting
/// "wanted") records, observed once by a dry run, so the snapshot holds it:
/// what the step sees when the object changes after that.
async fn an_observed_object<K: Fixture>() -> (Zpa, String, Prepared<K>) {
    let zpa = Zpa::start().await;
    let id = K::create_remote(zpa.client(), "old", 0).await;
    let prepared = zpa.prepare::<K>(&K::object(ManagedFields::default(), "wanted", false)).await;
    let dry = converge::<K>(&prepared, &Identity::Known(id.clone()), manage(Writes::DryRun), &NoJournal).await;
    assert!(matches!(&dry, Ok(Outcome::WouldUpdate { changes, .. }) if paths(changes) == ["description"]), "{dry:?}");
    (zpa, id, prepared)
}

/// Someone changes the object between the observation and the update: the
/// step writes nothing it did not plan, and the next one plans from that read.
async fn an_outdated_plan_is_not_written<K: Fixture>() {
    let (zpa, id, prepared) = an_observed_object::<K>().await;
    K::edit_remote(zpa.client(), &id, |v| v["name"] = json!("renamed")).await;
    let identity = Identity::Known(id);
    let before = zpa.writes();
    let outdated = converge::<K>(&prepared, &identity, manage(Writes::Apply), &NoJournal).await.unwrap();
    let Outcome::Outdated { remote, .. } = &outdated else { panic!("{}: {outdated:?}", K::KIND) };
    assert_eq!(serde_json::to_value(remote).unwrap()["name"], "renamed", "{}: the fresh read", K::KIND);
    assert_eq!(zpa.writes(), before, "{}: nothing written", K::KIND);

    let again = converge::<K>(&prepared, &identity, manage(Writes::Apply), &NoJournal).await.unwrap();
    let Outcome::Updated { changes, .. } = &again else { panic!("{}: {again:?}", K::KIND) };
    assert_eq!(paths(changes), ["description", "name"], "{}", K::KIND);
    assert_eq!(zpa.writes(), before + 1, "{}: one PUT", K::KIND);
}

/// Deleted between the observation and the update: gone, nothing written.
async fn an_object_deleted_before_its_update_is_gone<K: Fixture>() {
    let (zpa, id, prepared) = an_observed_object::<K>().await;
    K::delete_remote(zpa.client(), &id).await;
    let before = zpa.writes();
    let gone = converge::<K>(&prepared, &Identity::Known(id.clone()), manage(Writes::Apply), &NoJournal).await;
    assert_eq!(gone.unwrap(), Outcome::Gone { id }, "{}", K::KIND);
    assert_eq!(zpa.writes(), before, "{}", K::KIND);
}

/// A request body the operator cannot build (a bug) is an Internal error,
/// on create and on update, and nothing is sent.
async fn a_body_that_cannot_be_built_is_internal_and_never_sent<K: Fixture>() {
    for (existing, reached, journal) in
        [(false, Reached::Nothing, vec![]), (true, Reached::Existing { id: String::new() }, vec!["manage"])]
    {
        let zpa = Zpa::start().await;
        let id = if existing { Some(K::create_remote(zpa.client(), "old", 0).await) } else { None };
        let mut prepared = zpa.prepare::<K>(&K::object(ManagedFields::default(), "wanted", false)).await;
        K::spoil(&mut prepared.desired);
        if let Some(create) = &mut prepared.create_desired {
            K::spoil(create);
        }
        let identity = id.clone().map_or(Identity::Fresh, Identity::Known);
        let log = Log::default();
        let before = zpa.writes();
        let stopped = converge::<K>(&prepared, &identity, manage(Writes::Apply), &log).await.unwrap_err();
        assert_eq!(stopped.error.reason(), Reason::Internal, "{}: {}", K::KIND, stopped.error);
        assert!(stopped.error.to_string().contains("request body"), "{}", stopped.error);
        let reached = match reached {
            Reached::Existing { .. } => Reached::Existing { id: id.unwrap_or_default() },
            other => other,
        };
        assert_eq!(stopped.reached, reached, "{}", K::KIND);
        assert_eq!(log.entries(), journal, "{}", K::KIND);
        assert_eq!(zpa.writes(), before, "{}: no body sent", K::KIND);
    }
}

/// ZPA answers 404 for an object a list of its scope holds (a proxy, a
/// replica behind): a 404 alone is no proof, so the object is managed, and
/// nothing is created.
async fn a_404_is_checked_against_a_list_of_the_scope<K: Fixture>() {
    let zpa = Zpa::start().await;
    let prepared = zpa.prepare::<K>(&K::object(ManagedFields::default(), "wanted", false)).await;
    // The scope's snapshot, taken before the object exists, so the step asks for it by id.
    let dry = converge::<K>(&prepared, &Identity::Fresh, manage(Writes::DryRun), &NoJournal).await;
    assert!(matches!(dry, Ok(Outcome::WouldCreate)), "{}: {dry:?}", K::KIND);
    let id = K::create_remote(zpa.client(), "wanted", 0).await;
    let not_found = ErrorResponseFault {
        status: 404,
        id: "resource.not.found".into(),
        reason: "Resource not found".into(),
        method: Some("GET".into()),
        path: Some(id.clone()),
        ..Default::default()
    };
    zpa.sim.set_faults(FaultConfig { error_response: Some(not_found), ..Default::default() }).unwrap();
    let log = Log::default();
    let before = zpa.writes();
    let step = converge::<K>(&prepared, &Identity::Known(id.clone()), manage(Writes::Apply), &log).await;
    assert!(matches!(&step, Ok(Outcome::InSync { id: got, .. }) if *got == id), "{}: {step:?}", K::KIND);
    assert_eq!(log.entries(), ["manage"], "{}: not vanished", K::KIND);
    assert_eq!(zpa.writes(), before, "{}: nothing created", K::KIND);
    assert_eq!(zpa.sim.stats().faults_injected.get("errorResponse"), Some(&1), "{}: the GET was answered 404", K::KIND);
}

/// Each scenario is one test, run for both kinds.
macro_rules! for_both_kinds {
    ($($test:ident => $scenario:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            $scenario::<MicrotenantKind>().await;
            $scenario::<IsolationProfileKind>().await;
        }
    )*};
}

for_both_kinds! {
    decision_tables => run_table,
    outdated_plans_are_not_written => an_outdated_plan_is_not_written,
    objects_deleted_before_their_update_are_gone => an_object_deleted_before_its_update_is_gone,
    bodies_that_cannot_be_built_are_internal_errors_and_never_sent => a_body_that_cannot_be_built_is_internal_and_never_sent,
    a_404_alone_is_not_gone => a_404_is_checked_against_a_list_of_the_scope,
}
