//! Structural-schema operations on custom resources: pruning unknown fields, dropping nulls,
//! applying `default`s, and the list/map shapes server-side apply needs.
//!
//! Mirrors apiextensions-apiserver's structural pruning (unknown fields are dropped unless
//! `x-kubernetes-preserve-unknown-fields` or `x-kubernetes-embedded-resource` allows them, and
//! reported to field validation), null dropping for non-nullable fields, and structural
//! defaulting. The list/map shapes mirror structured-merge-diff's reading of
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys` and `x-kubernetes-map-type`.

use serde_json::{Map, Value};

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool) == Some(true)
}

pub fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// The schema of a property of an object node (also via `additionalProperties`).
pub fn child_schema<'a>(schema: &'a Value, key: &str) -> Option<&'a Value> {
    if let Some(p) = properties(schema).and_then(|p| p.get(key)) {
        return Some(p);
    }
    schema.get("additionalProperties").filter(|a| a.is_object())
}

pub fn items_schema(schema: &Value) -> Option<&Value> {
    schema.get("items").filter(|i| i.is_object())
}

/// Prunes unknown fields and non-nullable nulls from a custom resource (root call).
///
/// `apiVersion`, `kind` and `metadata` are always kept at the root; `metadata` is pruned to
/// the `ObjectMeta` fields. Unknown field paths are appended to `unknown`.
pub fn prune_root(obj: &mut Value, schema: &Value, unknown: &mut Vec<String>) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        let keys: Vec<String> = meta.keys().cloned().collect();
        for k in keys {
            if !crate::meta::OBJECT_META_FIELDS.contains(&k.as_str()) {
                meta.remove(&k);
                unknown.push(format!("metadata.{k}"));
            }
        }
    }
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        if k == "apiVersion" || k == "kind" || k == "metadata" {
            continue;
        }
        match properties(schema).and_then(|p| p.get(&k)) {
            Some(child) => {
                let drop = match map.get_mut(&k) {
                    Some(v) => prune(v, child, &k, unknown),
                    None => false,
                };
                if drop {
                    map.remove(&k);
                }
            }
            None => {
                if !flag(schema, "x-kubernetes-preserve-unknown-fields") {
                    map.remove(&k);
                    unknown.push(k);
                }
            }
        }
    }
}

/// Prunes one node; returns true when the node itself should be dropped (a non-nullable null).
fn prune(value: &mut Value, schema: &Value, path: &str, unknown: &mut Vec<String>) -> bool {
    if value.is_null() {
        return !flag(schema, "nullable");
    }
    match value {
        Value::Object(map) => {
            let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
            let embedded = flag(schema, "x-kubernetes-embedded-resource");
            let props = properties(schema);
            let additional = schema.get("additionalProperties");
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let child_path = join(path, &k);
                let child = props.and_then(|p| p.get(&k)).or(additional.filter(|a| a.is_object()));
                match child {
                    Some(cs) => {
                        let drop = match map.get_mut(&k) {
                            Some(v) => prune(v, cs, &child_path, unknown),
                            None => false,
                        };
                        if drop {
                            map.remove(&k);
                        }
                    }
                    None => {
                        let allowed = preserve
                            || additional == Some(&Value::Bool(true))
                            || (embedded && (k == "apiVersion" || k == "kind" || k == "metadata"));
                        if !allowed {
                            map.remove(&k);
                            unknown.push(child_path);
                        }
                    }
                }
            }
            false
        }
        Value::Array(items) => {
            if let Some(is) = items_schema(schema) {
                for (i, item) in items.iter_mut().enumerate() {
                    // Null items are left for validation to report.
                    let _ = prune(item, is, &format!("{path}[{i}]"), unknown);
                }
            }
            false
        }
        _ => false,
    }
}

/// Applies `default` values (structural defaulting), recursing into present values.
pub fn apply_defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(props) = properties(schema) {
                for (k, ps) in props {
                    if let Some(d) = ps.get("default") {
                        let missing = match map.get(k) {
                            None => true,
                            Some(Value::Null) => !flag(ps, "nullable"),
                            Some(_) => false,
                        };
                        if missing {
                            map.insert(k.clone(), d.clone());
                        }
                    }
                }
                for (k, v) in map.iter_mut() {
                    if let Some(ps) = props.get(k) {
                        apply_defaults(v, ps);
                    }
                }
            } else if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for v in map.values_mut() {
                    apply_defaults(v, additional);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = items_schema(schema) {
                for item in items.iter_mut() {
                    apply_defaults(item, is);
                }
            }
        }
        _ => {}
    }
}

/// How server-side apply treats a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Object with named fields: merged field by field, not itself owned.
    Struct,
    /// Granular map (`additionalProperties`): merged per key, owned as a whole too.
    Map,
    /// List of scalars merged as a set.
    Set,
    /// List of objects merged by key fields.
    ListMap(Vec<String>),
    /// Replaced as a whole: scalars, atomic lists and maps.
    Atomic,
}

/// The shape of `value` under `schema` (no schema: objects are structs, lists atomic).
pub fn shape(schema: Option<&Value>, value: &Value) -> Shape {
    match value {
        Value::Object(_) => {
            let Some(s) = schema else {
                return Shape::Struct;
            };
            if s.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic") {
                return Shape::Atomic;
            }
            if properties(s).is_none() && s.get("additionalProperties").is_some_and(Value::is_object) {
                Shape::Map
            } else {
                Shape::Struct
            }
        }
        Value::Array(_) => {
            let Some(s) = schema else {
                return Shape::Atomic;
            };
            match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => Shape::Set,
                Some("map") => {
                    let keys: Vec<String> = s
                        .get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                        .unwrap_or_default();
                    if keys.is_empty() { Shape::Atomic } else { Shape::ListMap(keys) }
                }
                _ => Shape::Atomic,
            }
        }
        _ => Shape::Atomic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prunes_defaults_and_drops_nulls() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "a": {"type": "string", "default": "x"},
                "b": {"type": "integer"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            }}
        }});
        let mut obj = json!({"apiVersion": "g/v", "kind": "K", "metadata": {"name": "n", "bogus": 1},
            "spec": {"b": null, "c": 1, "free": {"anything": true}}, "extra": 1});
        let mut unknown = Vec::new();
        prune_root(&mut obj, &schema, &mut unknown);
        apply_defaults(&mut obj, &schema);
        assert_eq!(unknown, vec!["metadata.bogus", "spec.c", "extra"]);
        assert_eq!(obj["spec"], json!({"free": {"anything": true}, "a": "x"}));
    }
}
