//! `zpa-operator plan -f PATH` and `sync -f PATH`: the controller's converge
//! step (`remote::converge`), with each kind's own `prepare`, run over
//! manifests without a cluster, deciding as the operator decides.
//!
//! The manifests are first checked as the API server would check them
//! (`manifests.rs`, `crd::validation`); one refused document stops the run
//! before any call to ZPA. Then each object is treated as a custom resource
//! just applied to a cluster: its identity is what the operator would read
//! from it (`spec.externalId`, else the operator's `external-id` and
//! `create-pending` annotations, else nothing), its `adoption` and
//! `managementPolicy` rules hold, and what the operator would persist on the
//! custom resource (the create-pending marker, the id) this run keeps in
//! memory ([`RunJournal`]), so the re-check after `sync` and every later
//! object see what an operator would. Two manifests sharing a display name
//! therefore end as they would on a cluster: the second is `AlreadyExists`
//! unless it says `adoption: ByName`.
//!
//! Objects in ZPA that the manifests do not name are left alone: nothing is
//! ever deleted.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use clap::{Args, ValueEnum};
use kube::ResourceExt;
use serde_json::{Value, json};

use super::connect::Connector;
use super::manifests::{DEFAULT_NAMESPACE, Inputs, LoadError, Manifests};
use super::progress::{Progress, Style};
use crate::controller::ControllerKind;
use crate::controller::managed::identity_of;
use crate::crd::{ManagementPolicy, Microtenant};
use crate::reconcile::{FieldChange, Identity, PendingCreate, ReconcileError, ReconcileKind};
use crate::remote::converge::{self, Journal, Outcome, Rules, Stopped, Writes};
use crate::remote::kind::Sources;
use crate::remote::{Created, RemoteKind, Tenant};
use crate::secret::SecretString;
use crate::wire::mgmt::MicrotenantUser;

/// `-f` and `-R`, as `kubectl apply` takes them.
#[derive(Debug, Clone, Args)]
pub struct ManifestArgs {
    /// A manifest file, a directory of them (.yaml, .yml, .json) or `-` for
    /// standard input; repeat it for several.
    #[arg(short = 'f', long = "filename", required = true)]
    pub filenames: Vec<PathBuf>,
    /// Also read the subdirectories of directories given with -f.
    #[arg(short = 'R', long)]
    pub recursive: bool,
}

impl ManifestArgs {
    pub fn inputs(&self) -> Inputs {
        Inputs { filenames: self.filenames.clone(), recursive: self.recursive }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// One JSON document on stdout (for CI); progress and errors stay on stderr.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Run against an embedded ZPA simulator instead of the tenants the manifests name.
    #[arg(long)]
    pub simulator: bool,
    /// (sync) Write generated Microtenant admin credentials here, as Secret manifests (mode 0600).
    #[arg(long)]
    pub credentials_dir: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: OutputFormat,
}

/// What one object needs (or got).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    /// Depends on something this plan only creates.
    AfterCreate,
    Update,
    InSync,
    Drift,
    Failed,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::AfterCreate => "afterCreate",
            Action::Update => "update",
            Action::InSync => "inSync",
            Action::Drift => "drift",
            Action::Failed => "failed",
        }
    }
}

/// One object's line in the report.
#[derive(Debug)]
struct ObjectReport {
    kind: &'static str,
    namespace: String,
    name: String,
    action: Action,
    /// Written to ZPA (sync), or only planned.
    applied: bool,
    id: Option<String>,
    /// Found by name or `externalId` and taken over.
    adopted: bool,
    changes: Vec<FieldChange>,
    /// The reason and message of a failure (the `Synced` condition's).
    error: Option<(String, String)>,
    /// What this object waits for (`AfterCreate`).
    waits_for: Option<String>,
    notes: Vec<String>,
    /// Writes made to ZPA for it.
    writes: u64,
}

impl ObjectReport {
    fn to_json(&self) -> Value {
        json!({
            "kind": self.kind, "namespace": self.namespace, "name": self.name,
            "action": self.action.as_str(), "applied": self.applied, "id": self.id, "adopted": self.adopted,
            "changes": self.changes.iter().map(|c| json!({"path": c.path, "from": c.from, "to": c.to})).collect::<Vec<_>>(),
            "reason": self.error.as_ref().map(|(reason, _)| reason),
            "message": self.error.as_ref().map(|(_, message)| message),
            "waitsFor": self.waits_for, "notes": self.notes,
        })
    }

    fn print(&self) {
        let label = format!("{} {}/{}", self.kind, self.namespace, self.name);
        let id = self.id.as_deref().unwrap_or("-");
        let adopted = if self.adopted { ", adopted" } else { "" };
        match self.action {
            Action::Create if self.applied => println!("+ {label}: created, id {id}"),
            Action::Create => println!("+ {label}: will be created"),
            Action::AfterCreate => {
                println!("+ {label}: follows once {} is created", self.waits_for.as_deref().unwrap_or("a dependency"))
            }
            Action::Update => {
                println!("~ {label} (id {id}{adopted}): {}", if self.applied { "updated" } else { "will be updated" })
            }
            Action::InSync => println!("= {label} (id {id}{adopted}): in sync"),
            Action::Drift => println!("! {label} (id {id}{adopted}): differs, not corrected (ObserveOnly)"),
            Action::Failed => match &self.error {
                Some((reason, message)) => println!("x {label}: {reason}: {message}"),
                None => println!("x {label}: failed"),
            },
        }
        for change in &self.changes {
            println!("    {change}");
        }
        for note in &self.notes {
            println!("    {note}");
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Summary {
    create: usize,
    waiting: usize,
    update: usize,
    in_sync: usize,
    drift: usize,
    failed: usize,
}

impl Summary {
    fn of(reports: &[ObjectReport]) -> Self {
        let mut summary = Summary::default();
        for report in reports {
            match report.action {
                Action::Create => summary.create += 1,
                Action::AfterCreate => summary.waiting += 1,
                Action::Update => summary.update += 1,
                Action::InSync => summary.in_sync += 1,
                Action::Drift => summary.drift += 1,
                Action::Failed => summary.failed += 1,
            }
        }
        summary
    }

    fn pending(&self) -> usize {
        self.create + self.update + self.waiting
    }

    fn to_json(self) -> Value {
        json!({"create": self.create, "afterCreate": self.waiting, "update": self.update,
               "inSync": self.in_sync, "drift": self.drift, "failed": self.failed})
    }

    fn print(&self, verb: &str, applied: bool) {
        let Summary { create, waiting, update, in_sync, drift, failed } = self;
        let (created, updated) = if applied { ("created", "updated") } else { ("to create", "to update") };
        let waiting = if *waiting > 0 { format!(" ({waiting} more after those creates)") } else { String::new() };
        println!(
            "\n{verb}: {create} {created}{waiting}, {update} {updated}, {in_sync} in sync, {drift} drifted (observe only), {failed} failed."
        );
        println!("Objects in ZPA that these manifests do not name are left alone.");
    }
}

/// Exit codes of `plan`: 0 nothing to do, 2 changes pending, 1 errors
/// (a refused manifest, an unreachable tenant, an object that fails).
pub async fn plan_command(args: PlanArgs) -> ExitCode {
    run(args, false).await
}

/// Exit codes of `sync`: 0 converged, 1 errors.
pub async fn sync_command(args: PlanArgs) -> ExitCode {
    run(args, true).await
}

/// Prints refused documents the way kubectl does, or as JSON.
pub fn report_load_error(error: &LoadError, command: &str, output: OutputFormat) {
    let LoadError::Refused(refused) = error else {
        match output {
            OutputFormat::Text => eprintln!("error: {error}"),
            OutputFormat::Json => println!("{}", json!({"command": command, "error": error.to_string()})),
        }
        return;
    };
    match output {
        OutputFormat::Text => {
            for document in refused {
                eprintln!("error: {}: {}", document.origin, document.refusal);
            }
            eprintln!(
                "{} refused {} document(s) the API server would refuse; nothing was done.",
                command,
                refused.len()
            );
        }
        OutputFormat::Json => {
            let refused: Vec<Value> = refused
                .iter()
                .map(|r| {
                    json!({"source": r.origin.source, "document": r.origin.document, "kind": r.kind,
                           "name": r.name, "message": r.refusal.to_string()})
                })
                .collect();
            println!("{}", json!({"command": command, "refused": refused}));
        }
    }
}

async fn run(args: PlanArgs, apply: bool) -> ExitCode {
    let command = if apply { "sync" } else { "plan" };
    let text = args.output == OutputFormat::Text;
    let manifests = match Manifests::load(&args.manifests.inputs(), &mut std::io::stdin()) {
        Ok(manifests) => manifests,
        Err(error) => {
            report_load_error(&error, command, args.output);
            return ExitCode::FAILURE;
        }
    };
    let connector = match Connector::new(&manifests, args.simulator).await {
        Ok(connector) => connector,
        Err(error) => return fail(command, args.output, &error.to_string()),
    };
    if let (Some(sim), true) = (connector.simulator(), text) {
        println!("Using an embedded ZPA simulator at {} (customer {}).\n", sim.base_url(), sim.customer_id());
    }
    if text {
        for ignored in &manifests.ignored {
            println!("- {ignored}: not a zpa.operator.dev kind, ignored");
        }
        for note in &manifests.notes {
            println!("- {note}");
        }
    }
    // Every tenant the objects name answers, before any object is looked at.
    let mut provider_configs: Vec<&str> = manifests
        .microtenants
        .iter()
        .map(|m| m.spec.managed.provider_config_name())
        .chain(manifests.profiles.iter().map(|p| p.spec.managed.provider_config_name()))
        .collect();
    provider_configs.sort_unstable();
    provider_configs.dedup();
    for provider_config in &provider_configs {
        if let Err(error) = connector.check(provider_config).await {
            return fail(command, args.output, &error.to_string());
        }
    }

    let total = manifests.microtenants.len() + manifests.profiles.len();
    let style = match (apply, std::io::stderr().is_terminal()) {
        (false, _) => Style::Off,
        (true, true) => Style::Terminal,
        (true, false) => Style::Lines,
    };
    let limits = connector.rate_limits(provider_configs.first().copied().unwrap_or("default"));
    let mut engine = ManifestRun {
        manifests: &manifests,
        connector: &connector,
        apply,
        text,
        credentials_dir: args.credentials_dir.clone(),
        memory: Mutex::new(HashMap::new()),
        planned: HashMap::new(),
        progress: Progress::new(style, total, &limits, Box::new(std::io::stderr())),
    };
    let reports = engine.converge_all().await;
    let summary = Summary::of(&reports);
    let verb = if apply { "Sync" } else { "Plan" };
    if text {
        summary.print(verb, apply);
    }
    if !apply {
        if !text {
            let objects: Vec<Value> = reports.iter().map(ObjectReport::to_json).collect();
            println!("{}", json!({"command": command, "objects": objects, "summary": summary.to_json()}));
        }
        return match (summary.failed, summary.pending()) {
            (0, 0) => ExitCode::SUCCESS,
            (0, _) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        };
    }
    // Prove convergence: the same manifests, with what this run recorded, now plan to nothing.
    if text {
        println!("\nRe-checking against ZPA:");
    }
    engine.apply = false;
    engine.progress = Progress::new(Style::Off, total, &limits, Box::new(std::io::sink()));
    let recheck = engine.converge_all().await;
    let check = Summary::of(&recheck);
    if text {
        check.print("Re-check", false);
    }
    let converged = summary.failed == 0 && check.failed + check.pending() == 0;
    if !text {
        let objects: Vec<Value> = reports.iter().map(ObjectReport::to_json).collect();
        let rechecked: Vec<Value> = recheck.iter().map(ObjectReport::to_json).collect();
        println!(
            "{}",
            json!({"command": command, "objects": objects, "summary": summary.to_json(),
                   "recheck": {"objects": rechecked, "summary": check.to_json()}, "converged": converged})
        );
    }
    if converged { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn fail(command: &str, output: OutputFormat, message: &str) -> ExitCode {
    match output {
        OutputFormat::Text => eprintln!("error: {message}"),
        OutputFormat::Json => println!("{}", json!({"command": command, "error": message})),
    }
    ExitCode::FAILURE
}

/// An object of the manifests, by kind, namespace and name.
type Key = (&'static str, String, String);

/// What the operator would have persisted on an object's custom resource.
#[derive(Debug, Clone, Default)]
struct Recorded {
    id: Option<String>,
    pending: Option<(PendingCreate, std::time::Instant)>,
    adopted: bool,
    /// A dry run would create it.
    planned: bool,
}

struct ManifestRun<'a> {
    manifests: &'a Manifests,
    connector: &'a Connector<'a>,
    apply: bool,
    text: bool,
    credentials_dir: Option<PathBuf>,
    memory: Mutex<HashMap<Key, Recorded>>,
    /// Remote names a dry run would create, per kind and scope, and by which object.
    planned: HashMap<(&'static str, String, String), Key>,
    progress: Progress,
}

impl ManifestRun<'_> {
    /// Microtenants first (profiles may name them), each in manifest order.
    async fn converge_all(&mut self) -> Vec<ObjectReport> {
        let manifests = self.manifests;
        let mut reports = Vec::new();
        for microtenant in &manifests.microtenants {
            let report = self.converge::<Microtenant>(microtenant).await;
            reports.push(report);
        }
        for profile in &manifests.profiles {
            let report = self.converge(profile).await;
            reports.push(report);
        }
        if self.text {
            for report in &reports {
                report.print();
            }
        }
        reports
    }

    fn recorded(&self, key: &Key) -> Recorded {
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned().unwrap_or_default()
    }

    fn record(&self, key: &Key, update: impl FnOnce(&mut Recorded)) {
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        update(memory.entry(key.clone()).or_default());
    }

    /// The identity the operator would read from the object, with what this run recorded.
    fn identity<R: ControllerKind>(&self, object: &R, key: &Key) -> Identity {
        let from_object = identity_of(object);
        if matches!(from_object, Identity::External(_)) {
            return from_object;
        }
        let recorded = self.recorded(key);
        match (recorded.id, recorded.pending) {
            (Some(id), _) => Identity::Known(id),
            (None, Some((marker, at))) => Identity::Pending { marker, age: at.elapsed() },
            (None, None) => from_object,
        }
    }

    /// One object: its kind's prepare and the converge step, as the controller runs them.
    async fn converge<R: ControllerKind>(&mut self, object: &R) -> ObjectReport {
        let kind = <R::Kind as ReconcileKind>::KIND;
        let namespace = object.namespace().unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let key: Key = (kind, namespace, object.name_any());
        let mut report = ObjectReport {
            kind,
            namespace: key.1.clone(),
            name: key.2.clone(),
            action: Action::Failed,
            applied: self.apply,
            id: None,
            adopted: false,
            changes: Vec::new(),
            error: None,
            waits_for: None,
            notes: Vec::new(),
            writes: 0,
        };
        let result = self.step(object, &key, &mut report).await;
        if let Err(error) = result {
            report.action = Action::Failed;
            report.error = Some((error.reason().as_str().to_owned(), error.to_string()));
        }
        report.adopted = report.adopted || self.recorded(&key).adopted;
        if self.apply {
            self.progress.advance(report.writes);
        }
        report
    }

    async fn step<R: ControllerKind>(
        &mut self,
        object: &R,
        key: &Key,
        report: &mut ObjectReport,
    ) -> Result<(), ReconcileError> {
        let prepared = match <R::Kind as RemoteKind>::prepare(object, &*self).await {
            // Its Microtenant is only planned by this run: so is this object.
            Err(ReconcileError::ReferenceNotReady { what }) if !self.apply && self.only_planned(&what) => {
                report.action = Action::AfterCreate;
                report.waits_for = Some(what);
                return Ok(());
            }
            other => other?,
        };
        let managed = object.managed();
        let policy = managed.management_policy();
        let identity = self.identity(object, key);
        let writes = if self.apply { Writes::Apply } else { Writes::DryRun };
        let rules = Rules { adoption: managed.adoption(), policy, writes };
        let name = <R::Kind as ReconcileKind>::desired_name(&prepared.desired).to_lowercase();
        let planned_name = (key.0, <R::Kind as RemoteKind>::scope_key(&prepared.scope), name.clone());
        let journal = RunJournal { run: self, key };
        let outcome = match converge::converge::<R::Kind>(&prepared, &identity, rules, &journal).await {
            Ok(outcome) => outcome,
            // An object to observe that an earlier manifest of this plan creates.
            Err(Stopped { error: ReconcileError::ExternalNotFound { .. }, .. })
                if identity == Identity::Fresh && self.planned.contains_key(&planned_name) =>
            {
                report.action = Action::AfterCreate;
                report.waits_for = Some(format!("{} {name:?}", key.0));
                return Ok(());
            }
            Err(stopped) => return Err(stopped.error),
        };
        match outcome {
            Outcome::InSync { id, .. } => (report.action, report.id) = (Action::InSync, Some(id)),
            Outcome::Drift { id, changes, .. } => {
                (report.action, report.id, report.changes) = (Action::Drift, Some(id), changes)
            }
            Outcome::WouldUpdate { id, changes, .. } => {
                (report.action, report.id, report.changes) = (Action::Update, Some(id), changes)
            }
            Outcome::Updated { id, changes, .. } => {
                (report.action, report.id, report.changes, report.writes) = (Action::Update, Some(id), changes, 1)
            }
            Outcome::Outdated { id, .. } => {
                report.notes.push("changed in ZPA while being updated: nothing written; run sync again".into());
                (report.action, report.id) = (Action::Update, Some(id));
            }
            Outcome::Gone { id } => {
                return Err(ReconcileError::ExternalNotFound { what: format!("with id {id} (deleted meanwhile)") });
            }
            Outcome::WouldCreate => {
                // Another manifest of this run creates an object of that name
                // first: on a cluster this one would then find it.
                if let Some(other) = self.planned.get(&planned_name).filter(|other| *other != key) {
                    let other = format!("{} {}/{}", other.0, other.1, other.2);
                    let adopts =
                        managed.adoption() == crate::crd::Adoption::ByName || policy == ManagementPolicy::ObserveOnly;
                    if !adopts {
                        return Err(ReconcileError::AlreadyExists {
                            name: format!("{name} (created by {other} in this run)"),
                            id: None,
                        });
                    }
                    report.action = Action::AfterCreate;
                    report.waits_for = Some(other);
                    return Ok(());
                }
                self.planned.insert(planned_name, key.clone());
                self.record(key, |r| r.planned = true);
                report.action = Action::Create;
            }
            Outcome::Created(created) => {
                let Created { id, admin_user, .. } = *created;
                if let Some(user) = admin_user {
                    report.notes.push(self.keep_credentials(key.1.clone(), object, &user));
                }
                (report.action, report.id, report.writes) = (Action::Create, Some(id), 1);
            }
            // A create was started (its answer lost, or a create-pending
            // annotation in the manifest): the operator waits for it to show up.
            Outcome::Wait(wait) => {
                report.action = Action::AfterCreate;
                report.waits_for = Some(format!(
                    "a create started earlier (it shows up in ZPA, or is given up in {}s)",
                    wait.as_secs()
                ));
            }
        }
        Ok(())
    }

    /// Whether a `ReferenceNotReady` is about a Microtenant this dry run only plans.
    fn only_planned(&self, what: &str) -> bool {
        let memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory.iter().any(|((kind, ns, name), r)| {
            *kind == "Microtenant" && r.planned && r.id.is_none() && what == format!("Microtenant {ns}/{name}")
        })
    }

    /// Generated admin credentials go to `--credentials-dir`, or are reported lost.
    fn keep_credentials<R: ResourceExt>(&self, namespace: String, object: &R, user: &MicrotenantUser) -> String {
        let username = user.username.as_deref().unwrap_or("(no username in ZPA's answer)");
        let secret_name = self
            .manifests
            .microtenant(&namespace, &object.name_any())
            .and_then(|m| m.spec.admin_credentials_secret_ref.as_ref())
            .map_or_else(|| format!("{}-admin", object.name_any()), |r| r.name.clone());
        let (Some(dir), Some(password)) = (&self.credentials_dir, &user.password) else {
            return format!(
                "admin user {username}: password not kept (pass --credentials-dir to keep it; ZPA shows it only once)"
            );
        };
        match write_credentials(dir, &secret_name, &namespace, username, password) {
            Ok(path) => format!("admin credentials of {username} written to {}", path.display()),
            Err(error) => format!("admin credentials of {username} could not be written: {error}"),
        }
    }
}

/// What the operator persists on the custom resource during a step, kept
/// in this run's memory instead.
struct RunJournal<'r, 'a> {
    run: &'r ManifestRun<'a>,
    key: &'r Key,
}

impl<R: Sync> Journal<R> for RunJournal<'_, '_> {
    async fn manage(&self, id: &str, adopted: bool) -> Result<(), ReconcileError> {
        self.run.record(self.key, |r| {
            r.id = Some(id.to_owned());
            r.pending = None;
            r.adopted |= adopted;
        });
        Ok(())
    }

    async fn vanished(&self, _: &str) {
        self.run.record(self.key, |r| r.id = None);
    }

    async fn create_pending(&self, name: &str) -> Result<(), ReconcileError> {
        let marker = PendingCreate { at: jiff::Timestamp::now().to_string(), name: name.to_owned() };
        self.run.record(self.key, |r| r.pending = Some((marker, std::time::Instant::now())));
        Ok(())
    }

    async fn create_refused(&self) -> Result<(), ReconcileError> {
        self.run.record(self.key, |r| r.pending = None);
        Ok(())
    }

    async fn created(&self, created: &Created<R>) -> Result<(), ReconcileError> {
        self.run.record(self.key, |r| {
            r.id = Some(created.id.clone());
            r.pending = None;
        });
        Ok(())
    }
}

/// The manifests (and the ids of the Microtenants this run converged), in
/// place of the cluster.
impl Sources for ManifestRun<'_> {
    async fn tenant(&self, provider_config: &str) -> Result<std::sync::Arc<Tenant>, ReconcileError> {
        self.connector.tenant(provider_config)
    }

    async fn secret_key(&self, namespace: &str, name: &str, key: &str) -> Result<SecretString, ReconcileError> {
        self.manifests.secret_key(namespace, name, key).ok_or_else(|| ReconcileError::ReferenceNotFound {
            what: format!("key {key:?} of Secret {namespace}/{name} in the manifests"),
        })
    }

    /// As the operator: `ReferenceNotFound` without such a Microtenant,
    /// `ReferenceNotReady` while it has no id.
    async fn microtenant_id(&self, namespace: &str, name: &str, _: &str) -> Result<String, ReconcileError> {
        let described = format!("{namespace}/{name}");
        if self.manifests.microtenant(namespace, name).is_none() {
            return Err(ReconcileError::ReferenceNotFound {
                what: format!("Microtenant {described} in the manifests"),
            });
        }
        let key: Key = ("Microtenant", namespace.to_owned(), name.to_owned());
        self.recorded(&key).id.ok_or(ReconcileError::ReferenceNotReady { what: format!("Microtenant {described}") })
    }
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
    let manifest = json!({
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
