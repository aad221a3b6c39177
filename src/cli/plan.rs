//! `zpa-operator plan -f DIR` and `sync -f DIR`: the controller's converge
//! step (`remote::converge`), with each kind's own `prepare`, run once over
//! a directory of manifests, without a cluster. What this file adds is the
//! CLI's own: reading the manifests in place of the cluster (the
//! [`Sources`] of a prepare), the order of objects, and the report.
//!
//! Without status to remember ids, objects are found by `spec.externalId`
//! or by name (adoption by name). Objects in ZPA that the manifests do not
//! name are left alone: nothing is ever deleted.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use kube::ResourceExt;

use super::manifests::Manifests;
use crate::crd::{Adoption, ManagedFields, Microtenant};
use crate::reconcile::isolation_profile::IsolationProfileKind;
use crate::reconcile::microtenant::MicrotenantKind;
use crate::reconcile::{FieldChange, Identity, ReconcileError};
use crate::remote::converge::{self, NoJournal, Outcome, Rules, Sources, Stopped, Writes};
use crate::remote::tenant::{rate_limits_for, zpa_config_for};
use crate::remote::{Created, RemoteKind, Tenant, TenantDefaults, TenantRegistry};
use crate::secret::SecretString;
use crate::simulator::{self, RunningSimulator, SimulatorConfig};
use crate::wire::mgmt::MicrotenantUser;
use crate::zpa::{AuthMode, ClientCredentials, Endpoint, NoopObserver, RateLimits, ZpaConfig};

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Directory of manifests (ZpaProviderConfig, Secret, Microtenant, IsolationProfile).
    #[arg(short = 'f', long = "filename")]
    pub dir: PathBuf,
    /// Run against an embedded ZPA simulator instead of the tenants the manifests name.
    #[arg(long)]
    pub simulator: bool,
    /// (sync) Write generated Microtenant admin credentials here, as Secret manifests (mode 0600).
    #[arg(long)]
    pub credentials_dir: Option<PathBuf>,
}

/// What one object needs (or got).
#[derive(Debug)]
enum Step {
    Create {
        id: Option<String>,
    },
    /// Depends on something this plan only creates.
    AfterCreate {
        what: String,
    },
    Update {
        id: String,
        changes: Vec<FieldChange>,
        applied: bool,
    },
    InSync {
        id: String,
    },
    Drift {
        id: String,
        changes: Vec<FieldChange>,
    },
}

#[derive(Debug, Default)]
struct Summary {
    create: usize,
    waiting: usize,
    update: usize,
    in_sync: usize,
    drift: usize,
    failed: usize,
}

/// Exit codes of `plan`: 0 nothing to do, 2 changes pending, 1 errors.
pub async fn plan_command(args: PlanArgs) -> ExitCode {
    run(args, false).await
}

/// Exit codes of `sync`: 0 converged, 1 errors.
pub async fn sync_command(args: PlanArgs) -> ExitCode {
    run(args, true).await
}

async fn run(args: PlanArgs, apply: bool) -> ExitCode {
    let manifests = match Manifests::load(&args.dir) {
        Ok(manifests) => manifests,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let simulator = if args.simulator {
        match simulator::start(SimulatorConfig::default()).await {
            Ok(sim) => {
                println!("Using an embedded ZPA simulator at {} (customer {}).\n", sim.base_url(), sim.customer_id());
                Some(sim)
            }
            Err(error) => {
                eprintln!("error: cannot start the embedded simulator: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut engine = ManifestRun {
        manifests: &manifests,
        tenants: TenantRegistry::new(TenantDefaults {
            rate_limits: Some(RateLimits::default()),
            observe_max_age: std::time::Duration::from_secs(3600),
            observer: Arc::new(NoopObserver),
        }),
        simulator,
        apply,
        credentials_dir: args.credentials_dir.clone(),
        summary: Summary::default(),
        microtenant_ids: HashMap::new(),
        planned_names: Default::default(),
        notes: Vec::new(),
    };
    for ignored in &manifests.ignored {
        println!("- {ignored}: not a zpa.operator.dev kind, ignored");
    }
    engine.converge_all().await;
    let summary = std::mem::take(&mut engine.summary);
    print_summary(if apply { "Sync" } else { "Plan" }, &summary, apply);
    if summary.failed > 0 {
        return ExitCode::FAILURE;
    }
    if !apply {
        return if summary.create + summary.update + summary.waiting == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        };
    }
    // Prove convergence: the same manifests now plan to nothing.
    println!("\nRe-checking against ZPA:");
    engine.apply = false;
    engine.converge_all().await;
    let check = std::mem::take(&mut engine.summary);
    print_summary("Re-check", &check, false);
    if check.failed + check.create + check.update + check.waiting == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn print_summary(verb: &str, summary: &Summary, applied: bool) {
    let Summary { create, waiting, update, in_sync, drift, failed } = summary;
    let (created, updated) = if applied { ("created", "updated") } else { ("to create", "to update") };
    let waiting = if *waiting > 0 { format!(" ({waiting} more after those creates)") } else { String::new() };
    println!(
        "\n{verb}: {create} {created}{waiting}, {update} {updated}, {in_sync} in sync, {drift} drifted (observe only), {failed} failed."
    );
    println!("Objects in ZPA that these manifests do not name are left alone.");
}

struct ManifestRun<'a> {
    manifests: &'a Manifests,
    tenants: TenantRegistry,
    simulator: Option<RunningSimulator>,
    apply: bool,
    credentials_dir: Option<PathBuf>,
    summary: Summary,
    /// Microtenant ids by namespace/name; `None` while only planned.
    microtenant_ids: HashMap<String, Option<String>>,
    /// Names a plan would create, per kind and scope (`plan` only).
    planned_names: std::collections::HashSet<(String, String, String)>,
    /// Lines to print under the next object's line.
    notes: Vec<String>,
}

impl ManifestRun<'_> {
    async fn converge_all(&mut self) {
        let manifests = self.manifests;
        for microtenant in &manifests.microtenants {
            let managed = &microtenant.spec.managed;
            let result = self.converge::<MicrotenantKind>(microtenant, managed, microtenant.validate_cel()).await;
            let result = result.map(|(step, admin_user)| {
                if let Some(user) = admin_user {
                    let note = self.keep_credentials(microtenant, &user);
                    self.notes.push(note);
                }
                step
            });
            let id = match &result {
                Ok(Step::Create { id }) => id.clone(),
                Ok(Step::Update { id, .. } | Step::InSync { id } | Step::Drift { id, .. }) => Some(id.clone()),
                Ok(Step::AfterCreate { .. }) | Err(_) => None,
            };
            self.microtenant_ids.insert(key(microtenant), id);
            self.report(&label("Microtenant", microtenant), result);
        }
        for profile in &manifests.profiles {
            let managed = &profile.spec.managed;
            let result = self.converge::<IsolationProfileKind>(profile, managed, profile.validate_cel()).await;
            self.report(&label("IsolationProfile", profile), result.map(|(step, _)| step));
        }
    }

    /// One object: the API server's checks (CEL), then the kind's prepare and
    /// the converge step, exactly as the controller runs them. Returns the
    /// step, and the admin user a Microtenant create generated.
    async fn converge<K: RemoteKind>(
        &mut self,
        object: &K::Resource,
        managed: &ManagedFields,
        cel: Result<(), kube::core::cel::ValidationErrors>,
    ) -> Result<(Step, Option<MicrotenantUser>), ReconcileError> {
        check_cel(cel)?;
        let prepared = match K::prepare(object, &*self).await {
            // Its Microtenant is only planned by this run: so is this object.
            Err(ReconcileError::ReferenceNotReady { what }) => return Ok((Step::AfterCreate { what }, None)),
            other => other?,
        };
        let policy = managed.management_policy();
        let identity = managed.external_id.clone().map_or(Identity::Fresh, Identity::External);
        let writes = if self.apply { Writes::Apply } else { Writes::DryRun };
        let rules = Rules { adoption: Adoption::ByName, policy, writes };
        let name = K::desired_name(&prepared.desired).to_lowercase();
        let planned = (K::KIND.to_owned(), K::scope_key(&prepared.scope), name.clone());
        let outcome = match converge::converge::<K>(&prepared, &identity, rules, &NoJournal).await {
            Ok(outcome) => outcome,
            // An object to observe that an earlier manifest of this plan creates.
            Err(Stopped { error: ReconcileError::ExternalNotFound { .. }, .. })
                if identity == Identity::Fresh && self.planned_names.contains(&planned) =>
            {
                return Ok((Step::AfterCreate { what: format!("{} {name:?}", K::KIND) }, None));
            }
            Err(stopped) => return Err(stopped.error),
        };
        let step = match outcome {
            Outcome::InSync { id, .. } => Step::InSync { id },
            Outcome::Drift { id, changes, .. } => Step::Drift { id, changes },
            Outcome::WouldUpdate { id, changes, .. } => Step::Update { id, changes, applied: false },
            Outcome::Updated { id, changes, .. } => Step::Update { id, changes, applied: true },
            Outcome::Outdated { id, .. } => {
                self.notes.push("changed in ZPA while being updated: nothing written; run sync again".into());
                Step::Update { id, changes: Vec::new(), applied: false }
            }
            Outcome::Gone { id } => {
                return Err(ReconcileError::ExternalNotFound { what: format!("with id {id} (deleted meanwhile)") });
            }
            Outcome::WouldCreate => {
                self.planned_names.insert(planned);
                Step::Create { id: None }
            }
            Outcome::Created(created) => {
                let Created { id, admin_user, .. } = *created;
                return Ok((Step::Create { id: Some(id) }, admin_user));
            }
            // Only a create-pending marker waits, and manifests carry none.
            Outcome::Wait(_) => Step::AfterCreate { what: "a create started earlier".into() },
        };
        Ok((step, None))
    }

    fn tenant(&self, provider_config: &str) -> Result<Arc<Tenant>, ReconcileError> {
        let (config, limits) = match &self.simulator {
            Some(sim) => (
                ZpaConfig::resolve(
                    &Endpoint::BaseUrl(sim.base_url()),
                    &AuthMode::Legacy,
                    sim.customer_id(),
                    ClientCredentials {
                        client_id: sim.client_id().to_owned(),
                        client_secret: sim.client_secret().clone(),
                    },
                ),
                None,
            ),
            None => {
                let config = self.manifests.provider_config(provider_config).ok_or_else(|| {
                    ReconcileError::ReferenceNotFound {
                        what: format!("ZpaProviderConfig {provider_config:?} in the manifests (or use --simulator)"),
                    }
                })?;
                let reference = &config.spec.credentials_secret_ref;
                let read = |key: &str, env: &str| {
                    std::env::var(env)
                        .ok()
                        .map(crate::secret::SecretString::new)
                        .or_else(|| self.manifests.secret_key(&reference.namespace, &reference.name, key))
                        .ok_or_else(|| ReconcileError::ReferenceNotFound {
                            what: format!(
                                "key {key:?} of Secret {}/{} in the manifests (or set {env})",
                                reference.namespace, reference.name
                            ),
                        })
                };
                let credentials = ClientCredentials {
                    client_id: read(reference.client_id_key(), "ZPA_CLIENT_ID")?.expose().to_owned(),
                    client_secret: read(reference.client_secret_key(), "ZPA_CLIENT_SECRET")?,
                };
                (zpa_config_for(&config.spec, credentials)?, rate_limits_for(&config.spec))
            }
        };
        Ok(self.tenants.tenant(provider_config, "cli", config, limits)?)
    }

    /// Generated admin credentials go to `--credentials-dir`, or are reported lost.
    fn keep_credentials(&self, object: &Microtenant, user: &MicrotenantUser) -> String {
        let username = user.username.clone().unwrap_or_default();
        let secret_name = object
            .spec
            .admin_credentials_secret_ref
            .as_ref()
            .map_or_else(|| format!("{}-admin", object.name_any()), |r| r.name.clone());
        let (Some(dir), Some(password)) = (&self.credentials_dir, &user.password) else {
            return format!(
                "admin user {username}: password not kept (pass --credentials-dir to keep it; ZPA shows it only once)"
            );
        };
        match write_credentials(dir, &secret_name, &object.namespace().unwrap_or_default(), &username, password) {
            Ok(path) => format!("admin credentials of {username} written to {}", path.display()),
            Err(error) => format!("admin credentials of {username} could not be written: {error}"),
        }
    }

    fn report(&mut self, label: &str, result: Result<Step, ReconcileError>) {
        let applied = self.apply;
        match result {
            Ok(Step::Create { id }) => {
                self.summary.create += 1;
                match id {
                    Some(id) => println!("+ {label}: created, id {id}"),
                    None => println!("+ {label}: will be created"),
                }
            }
            Ok(Step::AfterCreate { what }) => {
                self.summary.waiting += 1;
                println!("+ {label}: follows once {what} is created");
            }
            Ok(Step::Update { id, changes, applied: written }) => {
                self.summary.update += 1;
                println!("~ {label} (id {id}): {}", if written && applied { "updated" } else { "will be updated" });
                for change in changes {
                    println!("    {change}");
                }
            }
            Ok(Step::InSync { id }) => {
                self.summary.in_sync += 1;
                println!("= {label} (id {id}): in sync");
            }
            Ok(Step::Drift { id, changes }) => {
                self.summary.drift += 1;
                println!("! {label} (id {id}): differs, not corrected (ObserveOnly)");
                for change in changes {
                    println!("    {change}");
                }
            }
            Err(error) => {
                self.summary.failed += 1;
                println!("x {label}: {}: {error}", error.reason());
            }
        }
        for note in self.notes.drain(..) {
            println!("    {note}");
        }
    }
}

/// The manifests (and the ids of the Microtenants this run converged), in
/// place of the cluster.
impl Sources for ManifestRun<'_> {
    async fn tenant(&self, provider_config: &str) -> Result<Arc<Tenant>, ReconcileError> {
        ManifestRun::tenant(self, provider_config)
    }

    async fn secret_key(&self, namespace: &str, name: &str, key: &str) -> Result<SecretString, ReconcileError> {
        self.manifests.secret_key(namespace, name, key).ok_or_else(|| ReconcileError::ReferenceNotFound {
            what: format!("key {key:?} of Secret {namespace}/{name} in the manifests"),
        })
    }

    /// `ReferenceNotReady` when this run only plans to create it.
    async fn microtenant_id(&self, namespace: &str, name: &str, _: &str) -> Result<String, ReconcileError> {
        let described = format!("{namespace}/{name}");
        match self.microtenant_ids.get(&described) {
            Some(Some(id)) => Ok(id.clone()),
            Some(None) => Err(ReconcileError::ReferenceNotReady { what: format!("Microtenant {described}") }),
            None => {
                Err(ReconcileError::ReferenceNotFound { what: format!("Microtenant {described} in the manifests") })
            }
        }
    }
}

fn key(object: &Microtenant) -> String {
    format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any())
}

fn label<K: ResourceExt>(kind: &str, object: &K) -> String {
    format!("{kind} {}/{}", object.namespace().unwrap_or_default(), object.name_any())
}

/// The CRD's CEL rules, which an API server would have checked.
fn check_cel(result: Result<(), kube::core::cel::ValidationErrors>) -> Result<(), ReconcileError> {
    result.map_err(|errors| ReconcileError::InvalidSpec { message: format!("{errors}") })
}

fn write_credentials(
    dir: &std::path::Path,
    name: &str,
    namespace: &str,
    username: &str,
    password: &SecretString,
) -> std::io::Result<PathBuf> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.yaml"));
    let manifest = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "stringData": {"username": username, "password": password.expose()},
    });
    let text = serde_saphyr::to_string(&manifest).map_err(std::io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&path)?.write_all(text.as_bytes())?;
    Ok(path)
}
