//! Discovery documents: `/version`, `/api`, `/apis`, `/apis/{group}`, the per-group-version
//! `APIResourceList`s, and aggregated discovery (`apidiscovery.k8s.io/v2`).
//!
//! Mirrors the apiserver's discovery endpoints, including the `/status` subresource entries,
//! short names, categories and singular names that kubectl's REST mapper and kube's
//! `Discovery` rely on; aggregated discovery is answered when the Accept header asks for it
//! (as kubectl 1.32 does), with the matching Content-Type.

use crate::registry::{ALL_VERBS, Registry, ResourceType, version_priority};
use serde_json::{Value, json};

pub const AGGREGATED_CONTENT_TYPE: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-kube-standin",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let gvs: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
    json!({
        "name": group,
        "versions": gvs,
        "preferredVersion": gvs.first().cloned().unwrap_or(Value::Null),
    })
}

pub fn api_group_list(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg.groups().iter().map(|(g, versions)| group_doc(g, versions)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(reg: &Registry, group: &str) -> Option<Value> {
    reg.groups().iter().find(|(g, _)| g == group).map(|(g, versions)| {
        let mut doc = group_doc(g, versions);
        if let Some(m) = doc.as_object_mut() {
            m.insert("kind".into(), json!("APIGroup"));
            m.insert("apiVersion".into(), json!("v1"));
        }
        doc
    })
}

fn resource_entry(r: &ResourceType) -> Value {
    let mut e = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": ALL_VERBS,
    });
    if let Some(m) = e.as_object_mut() {
        if !r.short_names.is_empty() {
            m.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            m.insert("categories".into(), json!(r.categories));
        }
        m.insert("storageVersionHash".into(), json!(short_hash(&format!("{}/{}/{}", r.group, r.version, r.plural))));
    }
    e
}

fn short_hash(s: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    let n = h.finish().to_be_bytes();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(&n[..8])
}

pub fn api_resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    if !reg.has_group_version(group, version) {
        return None;
    }
    let mut resources = Vec::new();
    for r in reg.in_group_version(group, version) {
        resources.push(resource_entry(r));
        if r.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

fn aggregated_resource(r: &ResourceType) -> Value {
    let kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let mut e = json!({
        "resource": r.plural,
        "responseKind": kind,
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": ALL_VERBS,
    });
    if let Some(m) = e.as_object_mut() {
        if !r.short_names.is_empty() {
            m.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            m.insert("categories".into(), json!(r.categories));
        }
        if r.status_subresource {
            m.insert(
                "subresources".into(),
                json!([{"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]}]),
            );
        }
    }
    e
}

fn aggregated_group(reg: &Registry, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = reg.in_group_version(group, v).into_iter().map(aggregated_resource).collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
}

/// Aggregated discovery for `/api` (core) or `/apis` (all groups).
pub fn aggregated(reg: &Registry, core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(reg, "", &["v1".to_string()])]
    } else {
        let mut groups = reg.groups();
        groups.sort_by_key(|(g, _)| g.clone());
        for (_, versions) in &mut groups {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        groups.iter().map(|(g, versions)| aggregated_group(reg, g, versions)).collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}
