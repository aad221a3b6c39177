//! `zpa-operator export`: manifests for what a tenant already holds, to
//! onboard it. Every Microtenant and every CBI profile of every scope (the
//! Default one and each Microtenant's) becomes a custom resource that is
//! ready to apply:
//!
//! - `spec.externalId` names the exact remote object, so applying it adopts
//!   that object and nothing is created; the fields ZPA holds are all set,
//!   so the operator (and `plan`) find it in sync and write nothing;
//! - references by name: regions, certificates and the banner by their
//!   names (ids where a name is missing or not unique), a scoped profile's
//!   Microtenant by the exported Microtenant's `metadata.name`;
//! - `managementPolicy` from `--management-policy` (`ObserveOnly` by
//!   default: nothing is written until you say so);
//! - ZPA's own objects are never deleted through these manifests: the
//!   Default Microtenant is `ObserveOnly` with `deletionPolicy: Orphan` (ZPA
//!   refuses to modify or delete it), and each scope's default profile
//!   (`isDefault`) has `deletionPolicy: Orphan` (ZPA refuses to delete it;
//!   without it, deleting the custom resource would stay stuck in
//!   `DeleteRefused`);
//! - names valid for Kubernetes: display names are lowered and reduced to
//!   `[a-z0-9-]` (`Web Isolation` becomes `web-isolation`); a name left
//!   empty (all non-ASCII) or taken twice gets the remote id appended.
//!
//! Nothing secret is written: the provider config and its Secret are not
//! exported, and ZPA never returns Microtenant admin passwords or debug file
//! passwords (a profile with debug mode allowed leaves `debugMode` unmanaged).
//! Each object is checked as the API server would check it before it is written.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use kube::api::ObjectMeta;
use serde_json::Value;

use super::connect::Connector;
use super::manifests::{Inputs, Manifests};
use super::plan::{OutputFormat, report_load_error};
use crate::crd::validation;
use crate::crd::{
    CriteriaAttribute, DeletionPolicy, IsolationProfile, IsolationProfileSpec, LocalObjectRef, ManagedFields,
    ManagementPolicy, Microtenant, MicrotenantSpec, ProviderConfigRef,
};
use crate::reconcile::isolation_profile::{is_root_certificate, observation};
use crate::reconcile::microtenant::is_default_microtenant;
use crate::wire::cbi::CbiProfile;
use crate::wire::mgmt::MgmtMicrotenant;
use crate::zpa::{Scope, ZpaClient, ZpaError};

/// `managementPolicy` of the exported objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    /// Never write; report differences (the default).
    #[value(name = "ObserveOnly")]
    ObserveOnly,
    /// Keep ZPA equal to the manifests.
    #[value(name = "Manage")]
    Manage,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Manifests holding the tenant's ZpaProviderConfig and its Secret: a
    /// file, a directory or `-`; repeatable (not needed with --simulator).
    #[arg(short = 'f', long = "filename", required_unless_present = "simulator")]
    pub filenames: Vec<PathBuf>,
    /// Also read the subdirectories of directories given with -f.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Export from an embedded ZPA simulator (its seeded objects).
    #[arg(long)]
    pub simulator: bool,
    /// The ZpaProviderConfig to export from: `default`, or the only one in the manifests.
    #[arg(long)]
    pub provider_config: Option<String>,
    /// `managementPolicy` of the exported objects.
    #[arg(long, value_enum, default_value = "ObserveOnly")]
    pub management_policy: Policy,
    /// Namespace of the exported objects.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Write one file per object into this directory instead of one YAML stream on stdout.
    #[arg(short = 'o', long = "output-dir")]
    pub output_dir: Option<PathBuf>,
}

/// One exported object.
struct Exported {
    kind: &'static str,
    name: String,
    /// Comment lines above it.
    notes: Vec<String>,
    manifest: Value,
}

pub async fn export_command(args: ExportArgs) -> ExitCode {
    let manifests = if args.filenames.is_empty() {
        Manifests::default()
    } else {
        let inputs = Inputs { filenames: args.filenames.clone(), recursive: args.recursive };
        match Manifests::load(&inputs, &mut std::io::stdin()) {
            Ok(manifests) => manifests,
            Err(error) => {
                report_load_error(&error, "export", OutputFormat::Text);
                return ExitCode::FAILURE;
            }
        }
    };
    let provider_config = match (&args.provider_config, manifests.provider_configs.as_slice()) {
        (Some(name), _) => name.clone(),
        (None, [only]) => kube::ResourceExt::name_any(only),
        (None, _) => crate::crd::DEFAULT_PROVIDER_CONFIG.to_owned(),
    };
    let connector = match Connector::new(&manifests, args.simulator).await {
        Ok(connector) => connector,
        Err(error) => return fail(&error.to_string()),
    };
    if let Err(error) = connector.check(&provider_config).await {
        return fail(&error.to_string());
    }
    let tenant = match connector.tenant(&provider_config) {
        Ok(tenant) => tenant,
        Err(error) => return fail(&format!("{}: {error}", error.reason())),
    };
    let policy = match args.management_policy {
        Policy::ObserveOnly => ManagementPolicy::ObserveOnly,
        Policy::Manage => ManagementPolicy::Manage,
    };
    let settings = Settings { provider_config, policy, namespace: args.namespace.clone() };
    let objects = match read_tenant(&tenant.client).await {
        Ok(tenant) => build(&tenant, &settings),
        Err(error) => return fail(&format!("reading the tenant: {error}")),
    };

    let mut refused = 0;
    let mut valid = Vec::new();
    for object in objects {
        match validation::validate(&object.manifest, None) {
            Ok(_) => valid.push(object),
            Err(refusal) => {
                refused += 1;
                eprintln!("warning: {} {} is not exported: {refusal}", object.kind, object.name);
            }
        }
    }
    let written = match &args.output_dir {
        Some(dir) => write_files(dir, &valid),
        None => write_stream(&mut std::io::stdout().lock(), &valid),
    };
    if let Err(error) = written {
        return fail(&format!("cannot write the manifests: {error}"));
    }
    let (microtenants, profiles) = (
        valid.iter().filter(|o| o.kind == "Microtenant").count(),
        valid.iter().filter(|o| o.kind == "IsolationProfile").count(),
    );
    eprintln!(
        "Exported {microtenants} Microtenant(s) and {profiles} IsolationProfile(s){}.",
        args.output_dir.as_ref().map_or_else(String::new, |d| format!(" to {}", d.display()))
    );
    if refused > 0 {
        eprintln!("{refused} object(s) could not be exported as valid manifests (see the warnings above).");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// What export needs of the tenant.
struct TenantObjects {
    microtenants: Vec<MgmtMicrotenant>,
    /// Profiles by scope (`None`: the Default scope).
    profiles: Vec<(Option<String>, CbiProfile)>,
    region_names: HashMap<String, String>,
    certificate_names: HashMap<String, String>,
    banner_names: HashMap<String, String>,
}

async fn read_tenant(client: &ZpaClient) -> Result<TenantObjects, ZpaError> {
    let microtenants = client.list_microtenants(None).await?;
    let mut profiles = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let scopes = std::iter::once(None)
        .chain(microtenants.iter().filter_map(|m| m.id.clone()).filter(|id| !is_default_microtenant(id)).map(Some));
    for scope in scopes {
        let listed = client.list_profiles(&Scope::from_id(scope.as_deref())).await?;
        for profile in listed {
            // A profile is exported once, in the scope it was listed in first.
            if profile.id.as_ref().is_some_and(|id| seen.insert(id.clone())) {
                profiles.push((scope.clone(), profile));
            }
        }
    }
    let unique_names = |pairs: Vec<(String, String)>| -> HashMap<String, String> {
        let mut count: HashMap<String, usize> = HashMap::new();
        for (_, name) in &pairs {
            *count.entry(name.to_lowercase()).or_default() += 1;
        }
        // A name shared by two objects cannot stand for either: those keep their id.
        pairs.into_iter().filter(|(_, name)| count[&name.to_lowercase()] == 1).collect()
    };
    let regions = client.list_regions().await?.into_iter().map(|r| (r.id, r.name)).collect();
    let certificates = client.list_certificates().await?.into_iter().map(|c| (c.id, c.name)).collect();
    let banners = client.list_banners().await?.into_iter().map(|b| (b.id, b.name)).collect();
    Ok(TenantObjects {
        microtenants,
        profiles,
        region_names: unique_names(regions),
        certificate_names: unique_names(certificates),
        banner_names: unique_names(banners),
    })
}

struct Settings {
    provider_config: String,
    policy: ManagementPolicy,
    namespace: String,
}

/// The custom resources for a tenant's objects.
fn build(tenant: &TenantObjects, settings: &Settings) -> Vec<Exported> {
    let mut names = Names::default();
    let mut microtenant_names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    let mut microtenants: Vec<&MgmtMicrotenant> = tenant.microtenants.iter().collect();
    microtenants.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    for remote in microtenants {
        let Some(id) = remote.id.clone() else { continue };
        let name = names.claim("Microtenant", &remote.name, &id);
        microtenant_names.insert(id.clone(), name.clone());
        out.push(microtenant(remote, &id, &name, settings));
    }
    let mut profiles: Vec<&(Option<String>, CbiProfile)> = tenant.profiles.iter().collect();
    profiles.sort_by(|a, b| (&a.1.name, &a.1.id).cmp(&(&b.1.name, &b.1.id)));
    for (scope, remote) in profiles {
        let Some(id) = remote.id.clone() else { continue };
        let name = names.claim("IsolationProfile", &remote.name, &id);
        let scope_name = scope.as_ref().and_then(|s| microtenant_names.get(s)).cloned();
        out.push(profile(remote, &id, &name, scope_name, tenant, settings));
    }
    out
}

fn managed(display_name: &str, id: &str, settings: &Settings) -> ManagedFields {
    ManagedFields {
        provider_config_ref: Some(ProviderConfigRef { name: settings.provider_config.clone() }),
        name: Some(display_name.to_owned()),
        deletion_policy: None,
        management_policy: Some(settings.policy),
        external_id: Some(id.to_owned()),
        adoption: None,
    }
}

fn metadata(name: &str, settings: &Settings) -> ObjectMeta {
    ObjectMeta { name: Some(name.to_owned()), namespace: Some(settings.namespace.clone()), ..ObjectMeta::default() }
}

fn microtenant(remote: &MgmtMicrotenant, id: &str, name: &str, settings: &Settings) -> Exported {
    let mut notes = vec![format!("ZPA Microtenant {:?} (id {id})", remote.name)];
    let mut managed = managed(&remote.name, id, settings);
    if is_default_microtenant(id) {
        managed.management_policy = Some(ManagementPolicy::ObserveOnly);
        managed.deletion_policy = Some(DeletionPolicy::Orphan);
        notes.push("The Default Microtenant belongs to ZPA, which refuses to modify or delete it:".into());
        notes.push("observed only, and deleting this resource leaves it in place (deletionPolicy Orphan).".into());
    }
    // A Microtenant ZPA shows without domains has none: managed as none.
    let mut values = match &remote.criteria_attribute_values {
        Some(values) => values.clone(),
        None => Vec::new(),
    };
    values.sort();
    let spec = MicrotenantSpec {
        managed,
        description: remote.description.clone().filter(|d| !d.is_empty()),
        enabled: remote.enabled,
        criteria_attribute: (remote.criteria_attribute.as_deref() == Some(CriteriaAttribute::AuthDomain.as_str()))
            .then_some(CriteriaAttribute::AuthDomain),
        criteria_attribute_values: Some(values),
        privileged_approvals_enabled: remote.privileged_approvals_enabled,
        admin_credentials_secret_ref: None,
    };
    let object = Microtenant { metadata: metadata(name, settings), spec, status: None };
    Exported { kind: "Microtenant", name: name.to_owned(), notes, manifest: manifest(&object) }
}

fn profile(
    remote: &CbiProfile,
    id: &str,
    name: &str,
    scope: Option<String>,
    tenant: &TenantObjects,
    settings: &Settings,
) -> Exported {
    let view = observation(remote);
    let by_name = |names: &HashMap<String, String>, id: &str, given: &Option<String>| -> String {
        names.get(id).cloned().or_else(|| given.clone().filter(|n| !n.is_empty())).unwrap_or_else(|| id.to_owned())
    };
    let mut notes = vec![format!("ZPA CBI profile {:?} (id {id})", remote.name)];
    let mut managed = managed(&remote.name, id, settings);
    if view.is_default == Some(true) {
        managed.deletion_policy = Some(DeletionPolicy::Orphan);
        notes.push("The scope's default profile: ZPA refuses to delete it, so deleting this resource".into());
        notes.push("leaves it in place (deletionPolicy Orphan) instead of staying stuck in DeleteRefused.".into());
    }
    if view.debug_mode_allowed == Some(true) {
        notes.push("Debug mode is allowed in ZPA; debugMode is left unmanaged: its file password only".into());
        notes.push("comes from a Secret (debugMode.filePasswordSecretRef), which ZPA does not return.".into());
    }
    let mut regions: Vec<String> = view.regions.iter().map(|r| by_name(&tenant.region_names, &r.id, &r.name)).collect();
    regions.sort();
    let mut certificates: Vec<String> = view
        .certificates
        .iter()
        .filter(|c| !is_root_certificate(&c.id, c.name.as_deref()))
        .map(|c| by_name(&tenant.certificate_names, &c.id, &c.name))
        .collect();
    certificates.sort();
    let spec = IsolationProfileSpec {
        managed,
        description: view.description.clone(),
        regions,
        certificates: Some(certificates),
        banner: view.banner.as_ref().map(|b| by_name(&tenant.banner_names, &b.id, &b.name)),
        is_default: view.is_default,
        security_controls: view.security_controls.clone(),
        user_experience: view.user_experience.clone(),
        debug_mode: None,
        microtenant_ref: scope.map(|name| LocalObjectRef { name }),
        microtenant_id: None,
    };
    let object = IsolationProfile { metadata: metadata(name, settings), spec, status: None };
    Exported { kind: "IsolationProfile", name: name.to_owned(), notes, manifest: manifest(&object) }
}

/// A custom resource as a manifest (no status).
fn manifest<K: serde::Serialize>(object: &K) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
    }
    value
}

/// Kubernetes names for display names, unique per kind.
#[derive(Default)]
struct Names {
    taken: HashMap<&'static str, std::collections::HashSet<String>>,
}

impl Names {
    fn claim(&mut self, kind: &'static str, display_name: &str, id: &str) -> String {
        let base = kubernetes_name(display_name);
        let taken = self.taken.entry(kind).or_default();
        let with_id = |base: &str| {
            let suffix = kubernetes_name(id);
            let keep = 63usize.saturating_sub(suffix.len() + 1).min(base.len());
            let base = base[..keep].trim_end_matches('-');
            if base.is_empty() { format!("{}-{suffix}", kind.to_lowercase()) } else { format!("{base}-{suffix}") }
        };
        let name = if base.is_empty() || taken.contains(&base) { with_id(&base) } else { base };
        taken.insert(name.clone());
        name
    }
}

/// `Web Isolation (EU)` -> `web-isolation-eu`: lower case, `[a-z0-9-]`, at most 63 characters.
pub fn kubernetes_name(display_name: &str) -> String {
    let mut out = String::new();
    for c in display_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(63);
    out.trim_matches('-').to_owned()
}

fn yaml_of(object: &Exported) -> Result<String, serde_saphyr::ser::Error> {
    let mut text: String = object.notes.iter().map(|n| format!("# {n}\n")).collect();
    text.push_str(&serde_saphyr::to_string(&object.manifest)?);
    Ok(text)
}

fn write_stream(out: &mut dyn Write, objects: &[Exported]) -> std::io::Result<()> {
    for object in objects {
        writeln!(out, "---")?;
        out.write_all(yaml_of(object).map_err(std::io::Error::other)?.as_bytes())?;
    }
    out.flush()
}

/// One file per object: `<kind>-<name>.yaml`.
fn write_files(dir: &std::path::Path, objects: &[Exported]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut files = BTreeMap::new();
    for object in objects {
        files.insert(format!("{}-{}.yaml", object.kind.to_lowercase(), object.name), yaml_of(object));
    }
    for (file, text) in files {
        std::fs::write(dir.join(file), text.map_err(std::io::Error::other)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_become_kubernetes_names() {
        assert_eq!(kubernetes_name("Web Isolation (EU)"), "web-isolation-eu");
        assert_eq!(kubernetes_name("  Team_Payments.v2 "), "team-payments-v2");
        assert_eq!(kubernetes_name("Профиль"), "");
        assert_eq!(kubernetes_name(&"x".repeat(300)).len(), 63);
        let mut names = Names::default();
        assert_eq!(names.claim("IsolationProfile", "Web", "0f8e2b7c-4d1a"), "web");
        assert_eq!(names.claim("IsolationProfile", "web", "7c1d2e3f-0a9b"), "web-7c1d2e3f-0a9b");
        assert_eq!(names.claim("IsolationProfile", "Профиль", "42"), "isolationprofile-42");
        assert_eq!(names.claim("Microtenant", "Web", "7"), "web", "names are unique per kind");
        for name in ["web", "web-7c1d2e3f-0a9b", "isolationprofile-42"] {
            assert!(validation::is_valid_object_name(name), "{name}");
        }
    }
}
