//! Built-in kinds: decoding through the real Go-equivalent types, unknown-field detection,
//! Secret `stringData` folding, kind-specific validation, and the list/map shapes used by
//! server-side apply.
//!
//! Mirrors the apiserver's typed decoding: a built-in object is decoded into its versioned type
//! (here the `k8s-openapi` struct), so wrongly typed fields are a 400 `cannot be handled as a
//! Secret` error and unknown fields are reported by field validation. Secrets fold `stringData`
//! into base64 `data` on every write (it is never stored), namespaces get `spec.finalizers:
//! [kubernetes]` and `status.phase: Active`.

use crate::registry::Builtin;
use crate::status::{FieldError, FieldErrorKind};
use base64::Engine;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::OnceLock;

fn round_trip<T: DeserializeOwned + Serialize>(input: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(input.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Decodes a built-in object through its typed representation.
///
/// Returns the normalized object and the paths of unknown fields (already dropped).
pub fn decode(kind: Builtin, input: &Value) -> Result<(Value, Vec<String>), String> {
    use k8s_openapi::api;
    let out = match kind {
        Builtin::Namespace => round_trip::<api::core::v1::Namespace>(input)?,
        Builtin::Secret => round_trip::<api::core::v1::Secret>(input)?,
        Builtin::CoreEvent => round_trip::<api::core::v1::Event>(input)?,
        Builtin::Event => round_trip::<api::events::v1::Event>(input)?,
        Builtin::Lease => round_trip::<api::coordination::v1::Lease>(input)?,
        Builtin::Crd => round_trip::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(input)?,
    };
    let mut unknown = Vec::new();
    unknown_fields(input, &out, "", &mut unknown);
    Ok((out, unknown))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn unknown_fields(input: &Value, output: &Value, path: &str, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                if v.is_null() {
                    continue;
                }
                match o.get(k) {
                    None => out.push(join(path, k)),
                    Some(ov) => unknown_fields(v, ov, &join(path, k), out),
                }
            }
        }
        (Value::Array(i), Value::Array(o)) => {
            for (idx, (iv, ov)) in i.iter().zip(o.iter()).enumerate() {
                unknown_fields(iv, ov, &format!("{path}[{idx}]"), out);
            }
        }
        _ => {}
    }
}

/// Folds `stringData` into base64 `data`, as the Secret conversion does.
pub fn fold_string_data(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    if let Some(data) = data.as_object_mut() {
        for (k, v) in string_data {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            data.insert(k, json!(base64::engine::general_purpose::STANDARD.encode(text)));
        }
    }
}

/// Server-set fields on create.
pub fn prepare_create(kind: Builtin, obj: &mut Value) {
    if kind == Builtin::Namespace
        && let Some(map) = obj.as_object_mut()
    {
        map.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
        map.insert("status".into(), json!({"phase": "Active"}));
    }
    if kind == Builtin::Secret
        && let Some(map) = obj.as_object_mut()
        && map.get("type").and_then(Value::as_str).is_none_or(str::is_empty)
    {
        map.insert("type".into(), json!("Opaque"));
    }
}

/// Kind-specific validation (`ValidateSecret`, `ValidateEvent`, ...).
pub fn validate(kind: Builtin, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match kind {
        Builtin::Secret => {
            let key_re = regex::Regex::new("^[-._a-zA-Z0-9]+$").ok();
            if let Some(data) = obj.get("data").and_then(Value::as_object) {
                for k in data.keys() {
                    if !key_re.as_ref().is_some_and(|re| re.is_match(k)) {
                        errs.push(FieldError::invalid(
                            &format!("data[{k}]"),
                            json!(k),
                            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                        ));
                    }
                }
            }
            if let Some(old) = old {
                if old.get("type") != obj.get("type") {
                    errs.push(FieldError::invalid(
                        "type",
                        obj.get("type").cloned().unwrap_or(json!("")),
                        "field is immutable",
                    ));
                }
                if old.get("immutable") == Some(&json!(true)) {
                    if old.get("data") != obj.get("data") {
                        errs.push(FieldError::forbidden("data", "field is immutable when `immutable` is set"));
                    }
                    if obj.get("immutable") != Some(&json!(true)) {
                        errs.push(FieldError::forbidden("immutable", "field is immutable when `immutable` is set"));
                    }
                }
            }
        }
        Builtin::CoreEvent => {
            if obj.get("involvedObject").is_none_or(|v| v.as_object().is_none_or(|m| m.is_empty())) && old.is_none() {
                errs.push(FieldError::required("involvedObject", ""));
            }
            check_event_type(obj, &mut errs);
        }
        Builtin::Event => {
            if old.is_none() && obj.get("eventTime").is_none_or(Value::is_null) {
                errs.push(FieldError::required("eventTime", ""));
            }
            check_event_type(obj, &mut errs);
        }
        Builtin::Lease => {
            if let Some(n) = obj.get("spec").and_then(|s| s.get("leaseDurationSeconds")).and_then(Value::as_i64)
                && n <= 0
            {
                errs.push(FieldError::invalid("spec.leaseDurationSeconds", json!(n), "must be greater than 0"));
            }
        }
        Builtin::Namespace | Builtin::Crd => {}
    }
    errs
}

fn check_event_type(obj: &Value, errs: &mut Vec<FieldError>) {
    if let Some(t) = obj.get("type").and_then(Value::as_str)
        && t != "Normal"
        && t != "Warning"
    {
        errs.push(FieldError::new(
            FieldErrorKind::NotSupported,
            "type",
            Some(json!(t)),
            "supported values: \"Normal\", \"Warning\"",
        ));
    }
}

/// The `ObjectMeta` shape for server-side apply: labels/annotations are granular maps,
/// finalizers a set, ownerReferences a map keyed by uid with atomic items.
pub fn metadata_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        json!({
            "type": "object",
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "ownerReferences": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["uid"],
                    "items": {"type": "object", "x-kubernetes-map-type": "atomic"}
                },
                "managedFields": {"type": "array", "x-kubernetes-list-type": "atomic"}
            }
        })
    })
}

/// Server-side apply shapes of the built-in kinds (lists default to atomic).
pub fn ssa_schema(kind: Builtin) -> &'static Value {
    static SECRET: OnceLock<Value> = OnceLock::new();
    static CRD: OnceLock<Value> = OnceLock::new();
    static OTHER: OnceLock<Value> = OnceLock::new();
    match kind {
        Builtin::Secret => SECRET.get_or_init(|| {
            json!({"type": "object", "properties": {
                "data": {"type": "object", "additionalProperties": {"type": "string"}},
                "stringData": {"type": "object", "additionalProperties": {"type": "string"}}
            }})
        }),
        Builtin::Crd => CRD.get_or_init(|| {
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "versions": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {
                        "schema": {"type": "object", "x-kubernetes-map-type": "atomic"}
                    }}
                }
            }}}})
        }),
        _ => OTHER.get_or_init(|| json!({"type": "object"})),
    }
}
