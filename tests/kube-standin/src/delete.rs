//! DELETE and deletecollection.
//!
//! Mirrors the apiserver's graceful deletion: `DeleteOptions` from the body or query
//! (`propagationPolicy`, `preconditions.uid`/`resourceVersion` answered with 409 on mismatch,
//! `dryRun`), an object with finalizers only gets `deletionTimestamp` and
//! `deletionGracePeriodSeconds: 0` (a MODIFIED event; namespaces turn `Terminating`),
//! `Orphan`/`Foreground` add the `orphan`/`foregroundDeletion` finalizers the garbage
//! collector acts on, and an object without finalizers is removed at once, answered with a
//! `Status` of `Success`.

use crate::handlers::{Ctx, Reply, Result, decode_body, dry_run, matches, not_found, selectors, to_external};
use crate::meta;
use crate::registry::{Builtin, ResourceType};
use crate::status::{ApiError, FieldError, FieldErrorKind};
use crate::store::Store;
use serde_json::{Value, json};
use std::sync::Arc;

/// `DeleteOptions` from the body and query.
struct DeleteOptions {
    propagation: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
}

fn delete_options(ctx: &Ctx) -> Result<DeleteOptions> {
    let body =
        if ctx.body.iter().all(u8::is_ascii_whitespace) { json!({}) } else { decode_body(ctx.body, ctx.content_type)? };
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let policy = s(body.get("propagationPolicy"))
        .or_else(|| ctx.query.value("propagationPolicy").map(str::to_string))
        .or_else(|| match body.get("orphanDependents").and_then(Value::as_bool) {
            Some(true) => Some("Orphan".to_string()),
            _ => None,
        });
    if let Some(p) = &policy
        && !["Orphan", "Background", "Foreground"].contains(&p.as_str())
    {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "DeleteOptions",
            "",
            &[FieldError::new(
                FieldErrorKind::NotSupported,
                "propagationPolicy",
                Some(json!(p)),
                "supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
            )],
        ));
    }
    let pre = body.get("preconditions");
    let dry = body.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == "All"))
        || dry_run(ctx.query);
    Ok(DeleteOptions {
        propagation: policy,
        uid: s(pre.and_then(|p| p.get("uid"))).filter(|v| !v.is_empty()),
        resource_version: s(pre.and_then(|p| p.get("resourceVersion"))).filter(|v| !v.is_empty()),
        dry_run: dry,
    })
}

pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Deletes (or starts deleting) one stored object. Returns the response body.
pub fn delete_object(
    store: &mut Store,
    rt: &ResourceType,
    current: &Arc<Value>,
    propagation: Option<&str>,
    dry: bool,
) -> Value {
    if meta::is_deleting(current) {
        return to_external(rt, current);
    }
    let mut extra = None;
    match propagation {
        Some("Orphan") => extra = Some(ORPHAN_FINALIZER),
        Some("Foreground") => extra = Some(FOREGROUND_FINALIZER),
        _ => {}
    }
    let mut obj = (**current).clone();
    if let Some(f) = extra {
        let meta = meta::metadata_mut(&mut obj);
        let list = meta.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(items) = list.as_array_mut()
            && !items.iter().any(|i| i == f)
        {
            items.push(json!(f));
        }
    }
    let blocked = !meta::finalizers(&obj).is_empty()
        || (rt.builtin == Some(Builtin::Namespace)
            && obj
                .get("spec")
                .and_then(|s| s.get("finalizers"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty()));
    if blocked {
        {
            let meta = meta::metadata_mut(&mut obj);
            meta.insert("deletionTimestamp".into(), json!(meta::now_time()));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        }
        if rt.builtin == Some(Builtin::Namespace)
            && let Some(map) = obj.as_object_mut()
        {
            map.insert("status".into(), json!({"phase": "Terminating"}));
        }
        if dry {
            return to_external(rt, &obj);
        }
        let stored = store.insert(&rt.storage, obj);
        return to_external(rt, &stored);
    }
    let details = json!({
        "name": meta::name(current),
        "group": rt.group,
        "kind": rt.plural,
        "uid": meta::uid(current),
    });
    if !dry {
        store.remove(&rt.storage, obj);
        if rt.builtin == Some(Builtin::Crd) {
            store.sync_crds();
        }
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

pub fn delete(store: &mut Store, ctx: &Ctx) -> Result<Reply> {
    if ctx.subresource.is_some() {
        return Err(ApiError::method_not_allowed("the server does not allow this method on the requested resource"));
    }
    let opts = delete_options(ctx)?;
    let Some(name) = ctx.name.clone() else {
        return delete_collection(store, ctx, &opts);
    };
    let ns = ctx.namespace.clone().unwrap_or_default();
    let current = store.get(&ctx.rt.storage, &ns, &name).ok_or_else(|| not_found(&ctx.rt, &name))?;
    if let Some(uid) = &opts.uid
        && uid != meta::uid(&current)
    {
        return Err(ApiError::conflict(
            &ctx.rt.group,
            &ctx.rt.plural,
            &name,
            &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta::uid(&current)),
        ));
    }
    if let Some(rv) = &opts.resource_version
        && rv != meta::resource_version(&current)
    {
        return Err(ApiError::conflict(
            &ctx.rt.group,
            &ctx.rt.plural,
            &name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta::resource_version(&current)
            ),
        ));
    }
    let body = delete_object(store, &ctx.rt, &current, opts.propagation.as_deref(), opts.dry_run);
    Ok(Reply::json(200, body))
}

fn delete_collection(store: &mut Store, ctx: &Ctx, opts: &DeleteOptions) -> Result<Reply> {
    let (labels, fields) = selectors(ctx.query)?;
    let targets: Vec<Arc<Value>> = store
        .list(&ctx.rt.storage, ctx.namespace.as_deref())
        .into_iter()
        .filter(|o| matches(&to_external(&ctx.rt, o), &labels, &fields))
        .collect();
    let mut items = Vec::new();
    for t in targets {
        delete_object(store, &ctx.rt, &t, opts.propagation.as_deref(), opts.dry_run);
        items.push(to_external(&ctx.rt, &t));
    }
    Ok(Reply::json(
        200,
        json!({
            "apiVersion": ctx.rt.api_version(),
            "kind": ctx.rt.list_kind,
            "metadata": {"resourceVersion": store.current_rv().to_string()},
            "items": items,
        }),
    ))
}
