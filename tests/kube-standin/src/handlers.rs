//! The REST verbs on resources: get, list, create, update (PUT), patch and apply, for the main
//! resource and the `/status` subresource.
//!
//! Mirrors the apiserver's generic registry: decoding with field validation
//! (`Strict`/`Warn`/`Ignore`), namespace defaulting from the URL, `generateName`, server-set
//! metadata, optimistic concurrency on `metadata.resourceVersion` (409 Conflict), no-op writes
//! that do not bump the revision, `generation` bumped on spec changes, status subresource
//! isolation, finalizers that may not grow while an object is being deleted, validation
//! answered as 422 Invalid, and field ownership tracking. Deletion lives in `delete.rs`.

use crate::builtin;
use crate::crd;
use crate::events;
use crate::meta;
use crate::patch;
use crate::registry::{Builtin, ResourceType, StorageKey};
use crate::request::{Query, media_type, wants_table};
use crate::schema;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::ssa::{self, Mode};
use crate::status::{ApiError, FieldError};
use crate::store::Store;
use crate::table::{self, Include};
use crate::validation;
use base64::Engine;
use serde_json::{Value, json};
use std::sync::Arc;

/// A resource request after routing.
pub struct Ctx<'a> {
    pub rt: ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    pub query: &'a Query,
    pub accept: &'a str,
    pub content_type: &'a str,
    pub user_agent: &'a str,
    pub body: &'a [u8],
}

/// A successful answer.
pub struct Reply {
    pub code: u16,
    pub body: Value,
    pub content_type: &'static str,
    pub warnings: Vec<String>,
}

impl Reply {
    pub(crate) fn json(code: u16, body: Value) -> Self {
        Self { code, body, content_type: "application/json", warnings: Vec::new() }
    }

    fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }
}

pub(crate) type Result<T> = std::result::Result<T, ApiError>;

fn namespaces_key() -> StorageKey {
    StorageKey::new("", "namespaces")
}

/// Stored form -> the form of the requested group/version.
pub fn to_external(rt: &ResourceType, stored: &Value) -> Value {
    match rt.builtin {
        Some(Builtin::Event) => events::to_events_v1(stored),
        None => {
            let mut out = stored.clone();
            if let Some(map) = out.as_object_mut() {
                map.insert("apiVersion".into(), json!(rt.api_version()));
            }
            out
        }
        Some(_) => stored.clone(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

fn field_validation(q: &Query, default: FieldValidation) -> Result<FieldValidation> {
    match q.value("fieldValidation") {
        None => Ok(default),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some("Warn") => Ok(FieldValidation::Warn),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation: Unsupported value: {}: supported values: \"Ignore\", \"Strict\", \"Warn\"",
            crate::status::go_quote(other)
        ))),
    }
}

pub(crate) fn decode_body(body: &[u8], content_type: &str) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the body of the request was empty"));
    }
    let json_first = !media_type(content_type).contains("yaml");
    let parsed = if json_first {
        serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_slice::<Value>(body).map_err(|e| e.to_string())
    };
    match parsed {
        Ok(v) => Ok(v),
        Err(first) => serde_saphyr::from_slice::<Value>(body)
            .map_err(|_| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {first}"))),
    }
}

fn decode_object(body: &[u8], content_type: &str) -> Result<Value> {
    let v = decode_body(body, content_type)?;
    if !v.is_object() {
        return Err(ApiError::bad_request("couldn't get version/kind; json parse error: expected an object"));
    }
    Ok(v)
}

fn cannot_handle(rt: &ResourceType, why: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version {v} cannot be handled as a {kind}: {why}",
        kind = rt.kind,
        v = crate::status::go_quote(&rt.version),
    ))
}

/// Checks `apiVersion`/`kind` of a body against the URL's resource and fills them in.
fn check_type_meta(rt: &ResourceType, obj: &mut Value, required: bool) -> Result<()> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("").to_string();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
    if required && (api_version.is_empty() || kind.is_empty()) {
        return Err(ApiError::bad_request(format!("invalid object type: {api_version}, Kind={kind}")));
    }
    if !api_version.is_empty() && api_version != rt.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if !kind.is_empty() && kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), json!(rt.api_version()));
        map.insert("kind".into(), json!(rt.kind));
    }
    Ok(())
}

/// Decodes a body into the stored form, applying field validation.
fn normalize(rt: &ResourceType, obj: Value, fv: FieldValidation, warnings: &mut Vec<String>) -> Result<Value> {
    let (mut out, unknown) = match rt.builtin {
        Some(b) => builtin::decode(b, &obj).map_err(|e| cannot_handle(rt, &e))?,
        None => {
            let mut out = obj;
            let mut unknown = Vec::new();
            if let Some(s) = &rt.schema {
                schema::prune_root(&mut out, s, &mut unknown);
            }
            (out, unknown)
        }
    };
    if !unknown.is_empty() {
        let msgs: Vec<String> =
            unknown.iter().map(|p| format!("unknown field {}", crate::status::go_quote(p))).collect();
        match fv {
            FieldValidation::Strict => {
                return Err(cannot_handle(rt, &format!("strict decoding error: {}", msgs.join(", "))));
            }
            FieldValidation::Warn => warnings.extend(msgs),
            FieldValidation::Ignore => {}
        }
    }
    match rt.builtin {
        Some(Builtin::Event) => out = events::to_core(&out),
        Some(Builtin::Secret) => builtin::fold_string_data(&mut out),
        None => {
            if let Some(map) = out.as_object_mut() {
                map.insert("apiVersion".into(), json!(rt.storage_api_version));
            }
        }
        _ => {}
    }
    Ok(out)
}

/// The shapes server-side apply uses for this resource.
fn ssa_schema(rt: &ResourceType) -> Value {
    let mut base = match (rt.builtin, &rt.schema) {
        (Some(b), _) => builtin::ssa_schema(b).clone(),
        (None, Some(s)) => (**s).clone(),
        (None, None) => json!({"type": "object"}),
    };
    if let Some(map) = base.as_object_mut() {
        let props = map.entry("properties").or_insert_with(|| json!({}));
        if let Some(props) = props.as_object_mut() {
            props.insert("metadata".into(), builtin::metadata_schema().clone());
        }
    }
    base
}

fn manager_name(ctx: &Ctx) -> String {
    match ctx.query.value("fieldManager") {
        Some(m) => m.to_string(),
        None => {
            let prefix = ctx.user_agent.split('/').next().unwrap_or("").trim();
            if prefix.is_empty() { "unknown".into() } else { prefix.to_string() }
        }
    }
}

pub(crate) fn dry_run(q: &Query) -> bool {
    q.get("dryRun") == Some("All")
}

fn validate_object(rt: &ResourceType, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate_name(obj, rt.builtin == Some(Builtin::Namespace));
    errs.extend(meta::validate_labels_and_annotations(obj));
    match rt.builtin {
        Some(Builtin::Crd) => {
            let builtins = crate::registry::Registry::new();
            errs.extend(crd::validate_crd(obj, &|g, p| {
                builtins.builtins.iter().any(|b| b.group == g && b.plural == p)
            }));
        }
        Some(b) => errs.extend(builtin::validate(b, obj, old)),
        None => {
            if let Some(s) = &rt.schema {
                errs.extend(validation::validate_root(obj, s));
                let root = kube_cel::RootContext {
                    api_version: rt.api_version(),
                    api_group: rt.group.clone(),
                    kind: rt.kind.clone(),
                };
                errs.extend(validation::validate_cel(obj, old, s, &root));
            }
        }
    }
    errs
}

fn invalid(rt: &ResourceType, name: &str, errs: &[FieldError]) -> ApiError {
    ApiError::invalid(&rt.group, &rt.kind, name, errs)
}

pub(crate) fn not_found(rt: &ResourceType, name: &str) -> ApiError {
    ApiError::not_found(&rt.group, &rt.plural, name)
}

/// How managed fields are produced for a write.
enum Managed {
    /// An `Update` by this manager.
    Update(String),
    /// Already computed (server-side apply).
    Preset,
}

fn check_namespace(store: &Store, rt: &ResourceType, ns: &str) -> Result<()> {
    if !rt.namespaced {
        return Ok(());
    }
    match store.get(&namespaces_key(), "", ns) {
        None => Err(ApiError::not_found("", "namespaces", ns)),
        Some(n) if meta::is_deleting(&n) => Err(ApiError::forbidden(format!(
            "{} {} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            crate::status::qualified_resource(&rt.group, &rt.plural),
            crate::status::go_quote(meta::name(&n))
        ))
        .with_details(json!({"name": ns, "kind": "namespaces", "causes": [{
            "reason": "NamespaceTerminating",
            "message": format!("namespace {ns} is being terminated"),
            "field": "metadata.namespace"
        }]}))),
        Some(_) => Ok(()),
    }
}

/// Namespace of a body vs the URL (400 when they disagree), filled in from the URL.
fn settle_namespace(rt: &ResourceType, obj: &mut Value, url_ns: Option<&str>) -> Result<()> {
    let meta = meta::metadata_mut(obj);
    if rt.namespaced {
        let url_ns = url_ns.unwrap_or("");
        let body_ns = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
        if !body_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta.insert("namespace".into(), json!(url_ns));
    } else {
        meta.shift_remove("namespace");
    }
    Ok(())
}

fn create_object(
    store: &mut Store,
    rt: &ResourceType,
    url_ns: Option<&str>,
    mut obj: Value,
    managed: Managed,
    dry: bool,
) -> Result<Value> {
    settle_namespace(rt, &mut obj, url_ns)?;
    let ns = meta::namespace(&obj).to_string();
    {
        let meta = meta::metadata_mut(&mut obj);
        if meta.get("resourceVersion").and_then(Value::as_str).is_some_and(|rv| !rv.is_empty()) {
            return Err(ApiError::internal("resourceVersion should not be set on objects to be created"));
        }
        let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
        let generate = meta.get("generateName").and_then(Value::as_str).unwrap_or("").to_string();
        if name.is_empty() && !generate.is_empty() {
            let mut candidate = format!("{generate}{}", meta::random_suffix());
            for _ in 0..8 {
                if store.get(&rt.storage, &ns, &candidate).is_none() {
                    break;
                }
                candidate = format!("{generate}{}", meta::random_suffix());
            }
            meta.insert("name".into(), json!(candidate));
        }
        for k in ["uid", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "resourceVersion"]
        {
            meta.shift_remove(k);
        }
        if matches!(managed, Managed::Update(_)) {
            meta.shift_remove("managedFields");
        }
        meta.insert("uid".into(), json!(meta::new_uid()));
        meta.insert("creationTimestamp".into(), json!(meta::now_time()));
        if rt.has_generation() {
            meta.insert("generation".into(), json!(1));
        }
    }
    if rt.status_subresource
        && let Some(map) = obj.as_object_mut()
    {
        map.shift_remove("status");
    }
    if let Some(b) = rt.builtin {
        builtin::prepare_create(b, &mut obj);
    }
    match rt.builtin {
        Some(Builtin::Crd) => {
            crd::default_crd(&mut obj);
            let status = crd::established_status(&obj, None);
            if let Some(map) = obj.as_object_mut() {
                map.insert("status".into(), status);
            }
            crd::add_cleanup_finalizer(&mut obj);
        }
        None => {
            if let Some(s) = &rt.schema {
                schema::apply_defaults(&mut obj, s);
            }
        }
        _ => {}
    }
    check_namespace(store, rt, &ns)?;
    let name = meta::name(&obj).to_string();
    let errs = validate_object(rt, &obj, None);
    if !errs.is_empty() {
        return Err(invalid(rt, &name, &errs));
    }
    if store.get(&rt.storage, &ns, &name).is_some() {
        return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
    }
    if let Managed::Update(manager) = &managed {
        ssa::track_update(
            None,
            &mut obj,
            &ssa_schema(rt),
            manager,
            &rt.api_version(),
            Mode::Main { status_sub: rt.status_subresource },
            &meta::now_time(),
        );
    }
    if dry {
        return Ok(obj);
    }
    let stored = store.insert(&rt.storage, obj);
    if rt.builtin == Some(Builtin::Crd) {
        store.sync_crds();
    }
    Ok((*stored).clone())
}

fn strip_for_generation(rt: &ResourceType, v: &Value) -> Value {
    let mut m = v.as_object().cloned().unwrap_or_default();
    for k in ["metadata", "apiVersion", "kind"] {
        m.shift_remove(k);
    }
    if rt.status_subresource {
        m.shift_remove("status");
    }
    Value::Object(m)
}

fn deletion_complete(rt: &ResourceType, obj: &Value) -> bool {
    if !meta::is_deleting(obj) || !meta::finalizers(obj).is_empty() {
        return false;
    }
    if rt.builtin == Some(Builtin::Namespace) {
        let spec_finalizers =
            obj.get("spec").and_then(|s| s.get("finalizers")).and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        return !spec_finalizers;
    }
    true
}

/// What an update did.
pub enum Outcome {
    NoOp(Value),
    Updated(Value),
    Deleted(Value),
}

impl Outcome {
    fn object(&self) -> &Value {
        match self {
            Outcome::NoOp(v) | Outcome::Updated(v) | Outcome::Deleted(v) => v,
        }
    }
}

fn update_object(
    store: &mut Store,
    rt: &ResourceType,
    current: &Arc<Value>,
    mut new: Value,
    mode: Mode,
    managed: Managed,
    dry: bool,
) -> Result<Outcome> {
    let name = meta::name(current).to_string();
    {
        let cur_meta = meta::metadata(current).cloned().unwrap_or_default();
        let meta = meta::metadata_mut(&mut new);
        for k in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
            "generateName",
            "selfLink",
        ] {
            match cur_meta.get(k) {
                Some(v) => {
                    meta.insert(k.into(), v.clone());
                }
                None => {
                    meta.shift_remove(k);
                }
            }
        }
        if let Managed::Update(_) = managed {
            let explicit_reset = meta.get("managedFields").and_then(Value::as_array).is_some_and(Vec::is_empty);
            if !explicit_reset {
                match cur_meta.get("managedFields") {
                    Some(v) => {
                        meta.insert("managedFields".into(), v.clone());
                    }
                    None => {
                        meta.shift_remove("managedFields");
                    }
                }
            }
        }
    }
    if mode == Mode::Status {
        let mut result = (**current).clone();
        if let Some(map) = result.as_object_mut() {
            match new.get("status") {
                Some(s) => {
                    map.insert("status".into(), s.clone());
                }
                None => {
                    map.shift_remove("status");
                }
            }
        }
        let new_managed = meta::metadata(&new).and_then(|m| m.get("managedFields")).cloned();
        let meta = meta::metadata_mut(&mut result);
        match new_managed {
            Some(m) => {
                meta.insert("managedFields".into(), m);
            }
            None => {
                meta.shift_remove("managedFields");
            }
        }
        new = result;
    } else if rt.status_subresource
        && let Some(map) = new.as_object_mut()
    {
        match current.get("status") {
            Some(s) => {
                map.insert("status".into(), s.clone());
            }
            None => {
                map.shift_remove("status");
            }
        }
    }
    match rt.builtin {
        Some(Builtin::Namespace) => {
            if let Some(map) = new.as_object_mut() {
                match current.get("spec") {
                    Some(s) => map.insert("spec".into(), s.clone()),
                    None => map.shift_remove("spec"),
                };
            }
        }
        Some(Builtin::Crd) if mode != Mode::Status => {
            crd::default_crd(&mut new);
            let status = crd::established_status(&new, Some(current));
            if let Some(map) = new.as_object_mut() {
                map.insert("status".into(), status);
            }
        }
        Some(Builtin::Secret) => builtin::fold_string_data(&mut new),
        None => {
            if let Some(s) = &rt.schema {
                schema::apply_defaults(&mut new, s);
            }
        }
        _ => {}
    }
    if meta::is_deleting(current) {
        let before = meta::finalizers(current);
        let added: Vec<String> = meta::finalizers(&new).into_iter().filter(|f| !before.contains(f)).collect();
        if !added.is_empty() {
            let quoted: Vec<String> = added.iter().map(|f| crate::status::go_quote(f)).collect();
            return Err(invalid(
                rt,
                &name,
                &[FieldError::forbidden(
                    "metadata.finalizers",
                    &format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                        quoted.join(", ")
                    ),
                )],
            ));
        }
    }
    let errs = validate_object(rt, &new, Some(current));
    if !errs.is_empty() {
        return Err(invalid(rt, &name, &errs));
    }
    if rt.has_generation() && strip_for_generation(rt, &new) != strip_for_generation(rt, current) {
        let g = meta::metadata(current).and_then(|m| m.get("generation")).and_then(Value::as_i64).unwrap_or(0);
        meta::metadata_mut(&mut new).insert("generation".into(), json!(g + 1));
    }
    if let Managed::Update(manager) = &managed {
        ssa::track_update(
            Some(current),
            &mut new,
            &ssa_schema(rt),
            manager,
            &rt.api_version(),
            mode,
            &meta::now_time(),
        );
    }
    if new == **current {
        return Ok(Outcome::NoOp(new));
    }
    if dry {
        return Ok(Outcome::Updated(new));
    }
    if deletion_complete(rt, &new) {
        let last = store.remove(&rt.storage, new);
        if rt.builtin == Some(Builtin::Crd) {
            store.sync_crds();
        }
        return Ok(Outcome::Deleted((*last).clone()));
    }
    let owners_changed = meta::owner_uids(&new) != meta::owner_uids(current);
    let stored = store.insert(&rt.storage, new);
    if owners_changed {
        store.gc_kick = true;
    }
    if rt.builtin == Some(Builtin::Crd) {
        store.sync_crds();
    }
    Ok(Outcome::Updated((*stored).clone()))
}

fn mode_for(ctx: &Ctx) -> Mode {
    if ctx.subresource.as_deref() == Some("status") {
        Mode::Status
    } else {
        Mode::Main { status_sub: ctx.rt.status_subresource }
    }
}

fn url_name(ctx: &Ctx) -> Result<String> {
    ctx.name
        .clone()
        .ok_or_else(|| ApiError::method_not_allowed("the server does not allow this method on the requested resource"))
}

fn respond_object(ctx: &Ctx, stored: &Value, code: u16) -> Reply {
    let external = to_external(&ctx.rt, stored);
    if wants_table(ctx.accept) {
        let t = table::table(
            &ctx.rt,
            std::slice::from_ref(&external),
            Include::parse(ctx.query.get("includeObject")),
            json!({"resourceVersion": meta::resource_version(stored)}),
        );
        return Reply {
            code,
            body: t,
            content_type: "application/json;as=Table;v=v1;g=meta.k8s.io",
            warnings: Vec::new(),
        };
    }
    Reply::json(code, external)
}

pub fn get(store: &Store, ctx: &Ctx) -> Result<Reply> {
    let name = url_name(ctx)?;
    let ns = ctx.namespace.clone().unwrap_or_default();
    let obj = store.get(&ctx.rt.storage, &ns, &name).ok_or_else(|| not_found(&ctx.rt, &name))?;
    Ok(respond_object(ctx, &obj, 200))
}

/// Label/field selectors of a request (400 on malformed ones).
pub fn selectors(q: &Query) -> Result<(Option<LabelSelector>, Option<FieldSelector>)> {
    let labels = q.value("labelSelector").map(LabelSelector::parse).transpose().map_err(ApiError::bad_request)?;
    let fields = q.value("fieldSelector").map(FieldSelector::parse).transpose().map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

pub fn matches(obj: &Value, labels: &Option<LabelSelector>, fields: &Option<FieldSelector>) -> bool {
    labels.as_ref().is_none_or(|l| l.matches(obj)) && fields.as_ref().is_none_or(|f| f.matches(obj))
}

fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    let raw = json!({"rv": rv, "ns": ns, "name": name}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_continue(token: &str) -> Result<(u64, String, String)> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    Ok((
        v.get("rv").and_then(Value::as_u64).ok_or_else(bad)?,
        v.get("ns").and_then(Value::as_str).unwrap_or("").to_string(),
        v.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
    ))
}

pub fn list(store: &Store, ctx: &Ctx) -> Result<Reply> {
    let (labels, fields) = selectors(ctx.query)?;
    let limit = ctx.query.value("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0);
    let (list_rv, after) = match ctx.query.value("continue") {
        Some(token) => {
            let (rv, ns, name) = decode_continue(token)?;
            (rv, Some((ns, name)))
        }
        None => (store.current_rv(), None),
    };
    let mut items: Vec<Value> = store
        .list(&ctx.rt.storage, ctx.namespace.as_deref())
        .into_iter()
        .filter(|o| {
            after.as_ref().is_none_or(|(ns, name)| (meta::namespace(o), meta::name(o)) > (ns.as_str(), name.as_str()))
        })
        .map(|o| to_external(&ctx.rt, &o))
        .filter(|o| matches(o, &labels, &fields))
        .collect();
    let mut list_meta = json!({"resourceVersion": list_rv.to_string()});
    if let Some(limit) = limit
        && items.len() > limit
    {
        let remaining = items.len() - limit;
        items.truncate(limit);
        if let (Some(last), Some(m)) = (items.last(), list_meta.as_object_mut()) {
            m.insert("continue".into(), json!(encode_continue(list_rv, meta::namespace(last), meta::name(last))));
            m.insert("remainingItemCount".into(), json!(remaining));
        }
    }
    if wants_table(ctx.accept) {
        let t = table::table(&ctx.rt, &items, Include::parse(ctx.query.get("includeObject")), list_meta);
        return Ok(Reply {
            code: 200,
            body: t,
            content_type: "application/json;as=Table;v=v1;g=meta.k8s.io",
            warnings: Vec::new(),
        });
    }
    Ok(Reply::json(
        200,
        json!({
            "apiVersion": ctx.rt.api_version(),
            "kind": ctx.rt.list_kind,
            "metadata": list_meta,
            "items": items,
        }),
    ))
}

pub fn create(store: &mut Store, ctx: &Ctx) -> Result<Reply> {
    if ctx.name.is_some() {
        return Err(ApiError::method_not_allowed("the server does not allow this method on the requested resource"));
    }
    let mut obj = decode_object(ctx.body, ctx.content_type)?;
    check_type_meta(&ctx.rt, &mut obj, false)?;
    let fv = field_validation(ctx.query, FieldValidation::Warn)?;
    let mut warnings = Vec::new();
    let obj = normalize(&ctx.rt, obj, fv, &mut warnings)?;
    let created = create_object(
        store,
        &ctx.rt,
        ctx.namespace.as_deref(),
        obj,
        Managed::Update(manager_name(ctx)),
        dry_run(ctx.query),
    )?;
    Ok(respond_object(ctx, &created, 201).with_warnings(warnings))
}

pub fn replace(store: &mut Store, ctx: &Ctx) -> Result<Reply> {
    let name = url_name(ctx)?;
    let mut obj = decode_object(ctx.body, ctx.content_type)?;
    check_type_meta(&ctx.rt, &mut obj, false)?;
    let body_name = meta::name(&obj).to_string();
    if body_name.is_empty() {
        meta::metadata_mut(&mut obj).insert("name".into(), json!(name));
    } else if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    settle_namespace(&ctx.rt, &mut obj, ctx.namespace.as_deref())?;
    let ns = ctx.namespace.clone().unwrap_or_default();
    let current = store.get(&ctx.rt.storage, &ns, &name).ok_or_else(|| not_found(&ctx.rt, &name))?;
    let rv = meta::resource_version(&obj).to_string();
    if rv.is_empty() {
        if !ctx.rt.allow_unconditional_update() {
            return Err(invalid(
                &ctx.rt,
                &name,
                &[FieldError::invalid("metadata.resourceVersion", json!("0x0"), "must be specified for an update")],
            ));
        }
    } else if rv != meta::resource_version(&current) {
        return Err(ApiError::stale(&ctx.rt.group, &ctx.rt.plural, &name));
    }
    let fv = field_validation(ctx.query, FieldValidation::Warn)?;
    let mut warnings = Vec::new();
    let obj = normalize(&ctx.rt, obj, fv, &mut warnings)?;
    let outcome = update_object(
        store,
        &ctx.rt,
        &current,
        obj,
        mode_for(ctx),
        Managed::Update(manager_name(ctx)),
        dry_run(ctx.query),
    )?;
    Ok(respond_object(ctx, outcome.object(), 200).with_warnings(warnings))
}

const PATCH_TYPES: &[&str] =
    &["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];

pub fn patch(store: &mut Store, ctx: &Ctx) -> Result<Reply> {
    let name = url_name(ctx)?;
    let ct = media_type(ctx.content_type);
    if ct == "application/apply-patch+yaml" {
        return apply(store, ctx, &name);
    }
    let is_smp = ct == "application/strategic-merge-patch+json";
    if !(PATCH_TYPES.contains(&ct.as_str()) || (is_smp && ctx.rt.builtin.is_some())) {
        let mut accepted: Vec<&str> = PATCH_TYPES.to_vec();
        if ctx.rt.builtin.is_some() {
            accepted.insert(2, "application/strategic-merge-patch+json");
        }
        return Err(ApiError::unsupported_media_type(&ct, &accepted));
    }
    let patch_doc = decode_body(ctx.body, "application/json")?;
    let ns = ctx.namespace.clone().unwrap_or_default();
    let current = store.get(&ctx.rt.storage, &ns, &name).ok_or_else(|| not_found(&ctx.rt, &name))?;
    let mut doc = to_external(&ctx.rt, &current);
    match ct.as_str() {
        "application/json-patch+json" => patch::json_patch(&mut doc, &patch_doc).map_err(ApiError::unprocessable)?,
        "application/merge-patch+json" => {
            if !patch_doc.is_object() {
                return Err(ApiError::bad_request(
                    "json: cannot unmarshal into Go value of type map[string]interface {}",
                ));
            }
            patch::merge_patch(&mut doc, &patch_doc)
        }
        _ => patch::strategic_merge_patch(&mut doc, &patch_doc).map_err(ApiError::unprocessable)?,
    }
    if !doc.is_object() {
        return Err(ApiError::unprocessable("the patched object is not an object"));
    }
    let rv = meta::resource_version(&doc).to_string();
    if !rv.is_empty() && rv != meta::resource_version(&current) {
        return Err(ApiError::stale(&ctx.rt.group, &ctx.rt.plural, &name));
    }
    let uid = meta::uid(&doc).to_string();
    if !uid.is_empty() && uid != meta::uid(&current) {
        return Err(ApiError::conflict(
            &ctx.rt.group,
            &ctx.rt.plural,
            &name,
            &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta::uid(&current)),
        ));
    }
    check_type_meta(&ctx.rt, &mut doc, false)?;
    let fv = field_validation(ctx.query, FieldValidation::Warn)?;
    let mut warnings = Vec::new();
    let obj = normalize(&ctx.rt, doc, fv, &mut warnings)?;
    let outcome = update_object(
        store,
        &ctx.rt,
        &current,
        obj,
        mode_for(ctx),
        Managed::Update(manager_name(ctx)),
        dry_run(ctx.query),
    )?;
    Ok(respond_object(ctx, outcome.object(), 200).with_warnings(warnings))
}

fn apply(store: &mut Store, ctx: &Ctx, name: &str) -> Result<Reply> {
    let Some(manager) = ctx.query.value("fieldManager").map(str::to_string) else {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            &[FieldError::required("fieldManager", "is required for apply patch")],
        ));
    };
    let force = ctx.query.flag("force");
    let mut applied = decode_object(ctx.body, "application/yaml")?;
    check_type_meta(&ctx.rt, &mut applied, true)?;
    let body_name = meta::name(&applied).to_string();
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    meta::metadata_mut(&mut applied).insert("name".into(), json!(name));
    settle_namespace(&ctx.rt, &mut applied, ctx.namespace.as_deref())?;
    let fv = field_validation(ctx.query, FieldValidation::Strict)?;
    let mut warnings = Vec::new();
    let mut applied = normalize(&ctx.rt, applied, fv, &mut warnings)?;
    let mode = mode_for(ctx);
    if let Some(map) = applied.as_object_mut() {
        match mode {
            Mode::Status => map.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status")),
            Mode::Main { status_sub: true } => {
                map.shift_remove("status");
            }
            Mode::Main { status_sub: false } => {}
        }
    }
    let ssa_schema = ssa_schema(&ctx.rt);
    let ns = ctx.namespace.clone().unwrap_or_default();
    let now = meta::now_time();
    let dry = dry_run(ctx.query);
    let api_version = ctx.rt.api_version();
    match store.get(&ctx.rt.storage, &ns, name) {
        None => {
            if mode == Mode::Status {
                return Err(not_found(&ctx.rt, name));
            }
            let skeleton = json!({
                "apiVersion": applied.get("apiVersion").cloned().unwrap_or(Value::Null),
                "kind": ctx.rt.kind,
                "metadata": {"name": name, "namespace": ns},
            });
            let merged = ssa::apply(&skeleton, &applied, &ssa_schema, &manager, &api_version, mode, force, &now)
                .map_err(|c| ssa::conflict_error(&c, &ctx.rt.group, &ctx.rt.plural, name))?;
            let created = create_object(store, &ctx.rt, ctx.namespace.as_deref(), merged, Managed::Preset, dry)?;
            Ok(respond_object(ctx, &created, 201).with_warnings(warnings))
        }
        Some(current) => {
            let merged = ssa::apply(&current, &applied, &ssa_schema, &manager, &api_version, mode, force, &now)
                .map_err(|c| ssa::conflict_error(&c, &ctx.rt.group, &ctx.rt.plural, name))?;
            let outcome = update_object(store, &ctx.rt, &current, merged, mode, Managed::Preset, dry)?;
            Ok(respond_object(ctx, outcome.object(), 200).with_warnings(warnings))
        }
    }
}
