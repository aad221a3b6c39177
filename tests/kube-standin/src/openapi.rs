//! OpenAPI v3 documents (`/openapi/v3` and one document per group-version).
//!
//! Mirrors what kubectl reads from the apiserver's OpenAPI v3: PATCH operations tagged with
//! `x-kubernetes-group-version-kind` that declare the `fieldValidation` query parameter, so
//! `kubectl apply`/`create` (`--validate=strict`, the default) delegate validation to the
//! server; the request bodies list no strategic-merge media type, so client-side apply falls
//! back to its built-in types or JSON merge patch. Component schemas carry the CRDs'
//! `openAPIV3Schema`s. `/openapi/v2` is not served (404), which kubectl tolerates.

use crate::registry::{Registry, ResourceType};
use serde_json::{Map, Value, json};

fn schema_name(r: &ResourceType) -> String {
    let group: Vec<&str> = r.group.split('.').rev().collect();
    let prefix = if r.group.is_empty() { "io.k8s.api.core".to_string() } else { group.join(".") };
    format!("{prefix}.{}.{}", r.version, r.kind)
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn operation(r: &ResourceType, action: &str, with_body: bool, patch: bool) -> Value {
    let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let reference = json!({"$ref": format!("#/components/schemas/{}", schema_name(r))});
    let mut op = json!({
        "operationId": format!("{action}{}", r.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
        "parameters": [param("dryRun"), param("fieldManager"), param("fieldValidation")],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}},
    });
    if let Some(m) = op.as_object_mut() {
        if patch {
            m.insert(
                "requestBody".into(),
                json!({"content": {
                    "application/apply-patch+yaml": {"schema": {"type": "object"}},
                    "application/json-patch+json": {"schema": {"type": "object"}},
                    "application/merge-patch+json": {"schema": {"type": "object"}}
                }, "required": true}),
            );
        } else if with_body {
            m.insert(
                "requestBody".into(),
                json!({"content": {"application/json": {"schema": reference}}, "required": true}),
            );
        }
    }
    op
}

fn prefix(r: &ResourceType) -> String {
    if r.group.is_empty() { format!("/api/{}", r.version) } else { format!("/apis/{}/{}", r.group, r.version) }
}

/// The OpenAPI document of one group/version.
pub fn group_version_doc(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    if !reg.has_group_version(group, version) {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for r in reg.in_group_version(group, version) {
        let base = if r.namespaced {
            format!("{}/namespaces/{{namespace}}/{}", prefix(r), r.plural)
        } else {
            format!("{}/{}", prefix(r), r.plural)
        };
        paths.insert(
            base.clone(),
            json!({"get": operation(r, "list", false, false), "post": operation(r, "post", true, false)}),
        );
        paths.insert(
            format!("{base}/{{name}}"),
            json!({
                "get": operation(r, "get", false, false),
                "put": operation(r, "put", true, false),
                "patch": operation(r, "patch", false, true),
                "delete": operation(r, "delete", false, false),
            }),
        );
        if r.status_subresource {
            paths.insert(
                format!("{base}/{{name}}/status"),
                json!({
                    "get": operation(r, "get", false, false),
                    "put": operation(r, "put", true, false),
                    "patch": operation(r, "patch", false, true),
                }),
            );
        }
        let mut schema = r
            .schema
            .as_deref()
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        if let Some(m) = schema.as_object_mut() {
            m.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": r.group, "version": r.version, "kind": r.kind}]),
            );
        }
        schemas.insert(schema_name(r), schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

fn hash(v: &Value) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

/// `/openapi/v3`: where each group-version document lives (with a content hash).
pub fn root(reg: &Registry) -> Value {
    let mut paths = Map::new();
    let mut gvs: Vec<(String, String)> = Vec::new();
    for r in reg.all() {
        let gv = (r.group.clone(), r.version.clone());
        if !gvs.contains(&gv) {
            gvs.push(gv);
        }
    }
    for (g, v) in gvs {
        let key = if g.is_empty() { format!("api/{v}") } else { format!("apis/{g}/{v}") };
        let doc = group_version_doc(reg, &g, &v).unwrap_or(Value::Null);
        paths.insert(key.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", hash(&doc))}));
    }
    json!({"paths": paths})
}
