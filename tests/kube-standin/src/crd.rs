//! CustomResourceDefinitions: validation, defaulting, status, and turning a stored CRD into
//! served resources.
//!
//! Mirrors apiextensions-apiserver: a CRD named `<plural>.<group>` is validated (scope, names,
//! exactly one storage version, schemas present, CEL rules compile), gets `spec.conversion`,
//! `names.singular`/`listKind` defaults, the `customresourcecleanup.apiextensions.k8s.io`
//! finalizer, and a status with `acceptedNames`, `storedVersions` and the `NamesAccepted` and
//! `Established` conditions. Unlike the real server, establishing is immediate.

use crate::meta;
use crate::registry::{PrinterColumn, ResourceType, StorageKey};
use crate::status::{FieldError, FieldErrorKind};
use serde_json::{Map, Value, json};
use std::sync::Arc;

pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(*p) {
            Some(next) => cur = next,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Fills the defaults the apiserver sets on CRDs.
pub fn default_crd(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if !spec.contains_key("conversion") {
        spec.insert("conversion".into(), json!({"strategy": "None"}));
    }
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        if !names.contains_key("singular") && !kind.is_empty() {
            names.insert("singular".into(), json!(kind.to_lowercase()));
        }
        if !names.contains_key("listKind") && !kind.is_empty() {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
}

/// Status the apiserver's controllers would converge to: names accepted, established.
pub fn established_status(obj: &Value, previous: Option<&Value>) -> Value {
    let names = obj.get("spec").and_then(|s| s.get("names")).cloned().unwrap_or_else(|| json!({}));
    let now = meta::now_time();
    let mut stored: Vec<String> =
        previous.and_then(|p| p.get("status")).map(|st| strings(st.get("storedVersions"))).unwrap_or_default();
    if let Some(versions) = obj.get("spec").and_then(|s| s.get("versions")).and_then(Value::as_array) {
        for v in versions {
            if v.get("storage").and_then(Value::as_bool) == Some(true) {
                let name = s(v, &["name"]).to_string();
                if !stored.contains(&name) {
                    stored.push(name);
                }
            }
        }
    }
    let keep_time = |ty: &str| -> String {
        previous
            .and_then(|p| p.get("status"))
            .and_then(|st| st.get("conditions"))
            .and_then(Value::as_array)
            .and_then(|conds| conds.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(ty)))
            .and_then(|c| c.get("lastTransitionTime"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| now.clone())
    };
    json!({
        "acceptedNames": names,
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "lastTransitionTime": keep_time("NamesAccepted"),
                "reason": "NoConflicts",
                "message": "no conflicts found"
            },
            {
                "type": "Established",
                "status": "True",
                "lastTransitionTime": keep_time("Established"),
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted"
            }
        ],
        "storedVersions": stored
    })
}

/// `ValidateCustomResourceDefinition`, the parts that matter for tests.
pub fn validate_crd(obj: &Value, taken: &dyn Fn(&str, &str) -> bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let group = s(&spec, &["group"]);
    let plural = s(&spec, &["names", "plural"]);
    let kind = s(&spec, &["names", "kind"]);
    let name = meta::name(obj);
    if name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid("metadata.name", json!(name), "must be spec.names.plural+\".\"+spec.group"));
    }
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else if !group.contains('.') {
        errs.push(FieldError::invalid("spec.group", json!(group), "should be a domain with at least one dot"));
    }
    if plural.is_empty() {
        errs.push(FieldError::required("spec.names.plural", ""));
    } else {
        for e in meta::dns1123_label_errors(plural) {
            errs.push(FieldError::invalid("spec.names.plural", json!(plural), &e));
        }
    }
    if kind.is_empty() {
        errs.push(FieldError::required("spec.names.kind", ""));
    }
    let scope = s(&spec, &["scope"]);
    if scope != "Cluster" && scope != "Namespaced" {
        errs.push(FieldError::new(
            FieldErrorKind::NotSupported,
            "spec.scope",
            Some(json!(scope)),
            "supported values: \"Cluster\", \"Namespaced\"",
        ));
    }
    if taken(group, plural) {
        errs.push(FieldError::invalid("spec.names.plural", json!(plural), "is already served by a built-in resource"));
    }
    let versions = spec.get("versions").and_then(Value::as_array).cloned().unwrap_or_default();
    if versions.is_empty() {
        errs.push(FieldError::invalid(
            "spec.versions",
            Value::Null,
            "must have exactly one version marked as storage version",
        ));
    }
    let storage = versions.iter().filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true)).count();
    if !versions.is_empty() && storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            json!(versions.len()),
            "must have exactly one version marked as storage version",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        let base = format!("spec.versions[{i}]");
        if s(v, &["name"]).is_empty() {
            errs.push(FieldError::required(&format!("{base}.name"), ""));
        }
        match v.get("schema").and_then(|sc| sc.get("openAPIV3Schema")) {
            None => errs.push(FieldError::required(&format!("{base}.schema.openAPIV3Schema"), "schemas are required")),
            Some(schema) => {
                let path = format!("{base}.schema.openAPIV3Schema");
                if schema.get("type").and_then(Value::as_str) != Some("object") {
                    errs.push(FieldError::invalid(
                        &format!("{path}.type"),
                        schema.get("type").cloned().unwrap_or(json!("")),
                        "must be object at the root",
                    ));
                }
                let compiled = kube_cel::compile_schema(schema);
                for e in compiled.compilation_errors() {
                    errs.push(FieldError::invalid(
                        &format!("{path}.x-kubernetes-validations"),
                        json!(e.to_string()),
                        "compilation failed",
                    ));
                }
            }
        }
        if let Some(cols) = v.get("additionalPrinterColumns").and_then(Value::as_array) {
            for (j, c) in cols.iter().enumerate() {
                let ty = s(c, &["type"]);
                if !["integer", "number", "string", "boolean", "date"].contains(&ty) {
                    errs.push(FieldError::new(
                        FieldErrorKind::NotSupported,
                        &format!("{base}.additionalPrinterColumns[{j}].type"),
                        Some(json!(ty)),
                        "supported values: \"boolean\", \"date\", \"integer\", \"number\", \"string\"",
                    ));
                }
                if let Err(e) = crate::jsonpath::JsonPath::parse(s(c, &["jsonPath"])) {
                    errs.push(FieldError::invalid(
                        &format!("{base}.additionalPrinterColumns[{j}].jsonPath"),
                        json!(s(c, &["jsonPath"])),
                        &e,
                    ));
                }
            }
        }
    }
    errs
}

/// The served resources of one stored CRD.
pub fn resource_types(crd: &Value) -> Vec<ResourceType> {
    let Some(spec) = crd.get("spec") else {
        return Vec::new();
    };
    let group = s(spec, &["group"]).to_string();
    let names = spec.get("names").cloned().unwrap_or_else(|| json!({}));
    let kind = s(&names, &["kind"]).to_string();
    let plural = s(&names, &["plural"]).to_string();
    if group.is_empty() || kind.is_empty() || plural.is_empty() {
        return Vec::new();
    }
    let singular = match s(&names, &["singular"]) {
        "" => kind.to_lowercase(),
        other => other.to_string(),
    };
    let list_kind = match s(&names, &["listKind"]) {
        "" => format!("{kind}List"),
        other => other.to_string(),
    };
    let versions = spec.get("versions").and_then(Value::as_array).cloned().unwrap_or_default();
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| s(v, &["name"]).to_string())
        .unwrap_or_default();
    versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
        .map(|v| ResourceType {
            group: group.clone(),
            version: s(v, &["name"]).to_string(),
            plural: plural.clone(),
            singular: singular.clone(),
            kind: kind.clone(),
            list_kind: list_kind.clone(),
            namespaced: s(spec, &["scope"]) != "Cluster",
            short_names: strings(names.get("shortNames")),
            categories: strings(names.get("categories")),
            status_subresource: v.get("subresources").and_then(|sr| sr.get("status")).is_some(),
            schema: v.get("schema").and_then(|sc| sc.get("openAPIV3Schema")).cloned().map(Arc::new),
            printer_columns: printer_columns(v),
            builtin: None,
            storage: StorageKey::new(&group, &plural),
            storage_api_version: format!("{group}/{storage_version}"),
        })
        .collect()
}

fn printer_columns(version: &Value) -> Vec<PrinterColumn> {
    version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .map(|c| PrinterColumn {
                    name: s(c, &["name"]).to_string(),
                    type_: s(c, &["type"]).to_string(),
                    format: s(c, &["format"]).to_string(),
                    description: s(c, &["description"]).to_string(),
                    priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                    json_path: s(c, &["jsonPath"]).to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Adds the cleanup finalizer on create, as the CRD finalizer controller does.
pub fn add_cleanup_finalizer(obj: &mut Value) {
    let meta = meta::metadata_mut(obj);
    let list = meta.entry("finalizers").or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = list {
        if !items.iter().any(|f| f.as_str() == Some(CLEANUP_FINALIZER)) {
            items.push(json!(CLEANUP_FINALIZER));
        }
    } else {
        *list = json!([CLEANUP_FINALIZER]);
    }
}

/// Removes a finalizer from an object's metadata; returns whether it was present.
pub fn remove_finalizer(obj: &mut Value, finalizer: &str) -> bool {
    let meta: &mut Map<String, Value> = meta::metadata_mut(obj);
    let Some(Value::Array(items)) = meta.get_mut("finalizers") else {
        return false;
    };
    let before = items.len();
    items.retain(|f| f.as_str() != Some(finalizer));
    let removed = items.len() != before;
    if items.is_empty() {
        meta.remove("finalizers");
    }
    removed
}
