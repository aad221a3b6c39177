//! Validation of custom resources against their CRD's `openAPIV3Schema`, and CEL
//! `x-kubernetes-validations` through kube-cel.
//!
//! Mirrors apiextensions-apiserver's schema validator (kube-openapi `validate` errors converted
//! to `field.Error`s: `must be of type integer`, `should have at least 2 items`, `Unsupported
//! value ... supported values`, `Required value`, `Too many`, `Too long`, list-type
//! duplicates) and the CEL validator (rule failures reported as `Invalid value: "object": msg`
//! at the node's path or the rule's `fieldPath`, `reason` mapped to Forbidden/Required/
//! Duplicate, transition rules with `oldSelf` evaluated on update only). Rules that use a CEL
//! feature kube-cel cannot evaluate are skipped instead of failing the write.

use crate::status::{FieldError, FieldErrorKind, go_quote};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Mutex;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, v: &Value) -> bool {
    match expected {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        _ => true,
    }
}

fn regex_cached(pattern: &str) -> Option<regex::Regex> {
    static CACHE: Mutex<Option<HashMap<String, Option<regex::Regex>>>> = Mutex::new(None);
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    map.entry(pattern.to_string()).or_insert_with(|| regex::Regex::new(pattern).ok()).clone()
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn num_text(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Validates a custom resource (root) against its schema: everything but `apiVersion`,
/// `kind` and `metadata`, which the server validates itself.
pub fn validate_root(obj: &Value, schema: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(map) = obj.as_object() else {
        return errs;
    };
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(r) {
                errs.push(FieldError::required(r, ""));
            }
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in map {
            if k == "apiVersion" || k == "kind" || k == "metadata" {
                continue;
            }
            if let Some(ps) = props.get(k) {
                validate_node(v, ps, k, &mut errs);
            }
        }
    }
    errs
}

fn validate_node(v: &Value, s: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let int_or_string = s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    if v.is_null() {
        if s.get("nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }
        if let Some(t) = s.get("type").and_then(Value::as_str) {
            errs.push(FieldError::new(
                FieldErrorKind::TypeInvalid,
                path,
                Some(json!("null")),
                &format!("{path} in body must be of type {t}: \"null\""),
            ));
        }
        return;
    }
    if int_or_string {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            errs.push(FieldError::new(
                FieldErrorKind::TypeInvalid,
                path,
                Some(json!(type_name(v))),
                &format!("{path} in body must be of type integer,string: {}", go_quote(type_name(v))),
            ));
            return;
        }
    } else if let Some(t) = s.get("type").and_then(Value::as_str)
        && !type_matches(t, v)
    {
        errs.push(FieldError::new(
            FieldErrorKind::TypeInvalid,
            path,
            Some(json!(type_name(v))),
            &format!("{path} in body must be of type {t}: {}", go_quote(type_name(v))),
        ));
        return;
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed
            .iter()
            .map(|a| match a {
                Value::String(s) => go_quote(s),
                other => other.to_string(),
            })
            .collect();
        errs.push(FieldError::new(
            FieldErrorKind::NotSupported,
            path,
            Some(v.clone()),
            &format!("supported values: {}", list.join(", ")),
        ));
    }
    match v {
        Value::String(text) => validate_string(text, s, path, errs),
        Value::Number(_) => validate_number(v, s, path, errs),
        Value::Array(items) => validate_array(items, s, path, errs),
        Value::Object(map) => {
            if let Some(required) = s.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(r) {
                        errs.push(FieldError::required(&join(path, r), ""));
                    }
                }
            }
            if let Some(min) = s.get("minProperties").and_then(Value::as_u64)
                && (map.len() as u64) < min
            {
                errs.push(FieldError::invalid(
                    path,
                    json!(map.len()),
                    &format!("{path} in body should have at least {min} properties"),
                ));
            }
            if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
                && (map.len() as u64) > max
            {
                errs.push(FieldError::new(
                    FieldErrorKind::TooMany,
                    path,
                    Some(json!(map.len())),
                    &format!("must have at most {max} items"),
                ));
            }
            let props = s.get("properties").and_then(Value::as_object);
            let additional = s.get("additionalProperties").filter(|a| a.is_object());
            for (k, cv) in map {
                let child_path = join(path, k);
                if let Some(ps) = props.and_then(|p| p.get(k)) {
                    validate_node(cv, ps, &child_path, errs);
                } else if let Some(a) = additional {
                    validate_node(cv, a, &child_path, errs);
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
    for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        validate_node(v, sub, path, errs);
    }
    for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(branches) = s.get(keyword).and_then(Value::as_array) {
            let passing = branches
                .iter()
                .filter(|b| {
                    let mut e = Vec::new();
                    validate_node(v, b, path, &mut e);
                    e.is_empty()
                })
                .count();
            if passing == 0 || (exactly_one && passing > 1) {
                let what = if exactly_one { "only one" } else { "at least one" };
                errs.push(FieldError::invalid(
                    path,
                    json!(type_name(v)),
                    &format!("{path} in body must validate {what} schema ({keyword})"),
                ));
            }
        }
    }
    if let Some(not) = s.get("not") {
        let mut e = Vec::new();
        validate_node(v, not, path, &mut e);
        if e.is_empty() {
            errs.push(FieldError::invalid(
                path,
                json!(type_name(v)),
                &format!("{path} in body must not validate the schema (not)"),
            ));
        }
    }
}

fn validate_string(text: &str, s: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let len = text.chars().count() as u64;
    if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        errs.push(FieldError::new(
            FieldErrorKind::TooLong,
            path,
            Some(json!(text)),
            &format!("may not be more than {max} bytes"),
        ));
    }
    if let Some(min) = s.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        errs.push(FieldError::invalid(
            path,
            json!(text),
            &format!("{path} in body should be at least {min} chars long"),
        ));
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str)
        && regex_cached(pattern).is_some_and(|re| !re.is_match(text))
    {
        errs.push(FieldError::invalid(path, json!(text), &format!("{path} in body should match '{pattern}'")));
    }
    if let Some(format) = s.get("format").and_then(Value::as_str)
        && let Some(detail) = check_format(format, text)
    {
        errs.push(FieldError::invalid(
            path,
            json!(text),
            &format!("{path} in body must be of type {format}: {}", go_quote(&detail)),
        ));
    }
}

/// The few string formats worth checking; unknown formats are ignored like the apiserver does.
fn check_format(format: &str, text: &str) -> Option<String> {
    let ok = match format {
        "date-time" => text.parse::<jiff::Timestamp>().is_ok(),
        "uuid" => uuid::Uuid::parse_str(text).is_ok(),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(text).is_ok()
        }
        _ => true,
    };
    (!ok).then(|| text.to_string())
}

fn validate_number(v: &Value, s: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(x) = num(v) else {
        return;
    };
    if let Some(min) = s.get("minimum").and_then(num) {
        let exclusive = s.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true);
        if x < min || (exclusive && x == min) {
            let rel = if exclusive { "greater than" } else { "greater than or equal to" };
            errs.push(FieldError::invalid(
                path,
                v.clone(),
                &format!("{path} in body should be {rel} {}", num_text(&s["minimum"])),
            ));
        }
    }
    if let Some(max) = s.get("maximum").and_then(num) {
        let exclusive = s.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true);
        if x > max || (exclusive && x == max) {
            let rel = if exclusive { "less than" } else { "less than or equal to" };
            errs.push(FieldError::invalid(
                path,
                v.clone(),
                &format!("{path} in body should be {rel} {}", num_text(&s["maximum"])),
            ));
        }
    }
    if let Some(m) = s.get("multipleOf").and_then(num)
        && m > 0.0
        && (x / m).fract().abs() > 1e-9
    {
        errs.push(FieldError::invalid(
            path,
            v.clone(),
            &format!("{path} in body should be a multiple of {}", num_text(&s["multipleOf"])),
        ));
    }
}

fn validate_array(items: &[Value], s: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(min) = s.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        errs.push(FieldError::invalid(
            path,
            json!(items.len()),
            &format!("{path} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
        && (items.len() as u64) > max
    {
        errs.push(FieldError::new(
            FieldErrorKind::TooMany,
            path,
            Some(json!(items.len())),
            &format!("must have at most {max} items"),
        ));
    }
    let list_type = s.get("x-kubernetes-list-type").and_then(Value::as_str);
    let unique = s.get("uniqueItems").and_then(Value::as_bool) == Some(true);
    if list_type == Some("set") || unique {
        for (i, item) in items.iter().enumerate() {
            if items[..i].contains(item) {
                errs.push(FieldError::new(FieldErrorKind::Duplicate, &format!("{path}[{i}]"), Some(item.clone()), ""));
            }
        }
    }
    if list_type == Some("map") {
        let keys: Vec<&str> = s
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let key_of = |item: &Value| -> Value {
            let mut m = serde_json::Map::new();
            for k in &keys {
                if let Some(v) = item.get(*k) {
                    m.insert((*k).to_string(), v.clone());
                }
            }
            Value::Object(m)
        };
        for (i, item) in items.iter().enumerate() {
            let key = key_of(item);
            if items[..i].iter().any(|prev| key_of(prev) == key) {
                errs.push(FieldError::new(FieldErrorKind::Duplicate, &format!("{path}[{i}]"), Some(key), ""));
            }
        }
    }
    if let Some(is) = s.get("items").filter(|i| i.is_object()) {
        for (i, item) in items.iter().enumerate() {
            validate_node(item, is, &format!("{path}[{i}]"), errs);
        }
    }
}

/// The schema type of the node a CEL error points at (the apiserver's bad value).
fn schema_type_at(schema: &Value, path: &str) -> String {
    let mut cur = schema;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let name = seg.split('[').next().unwrap_or(seg);
        let has_index = seg.contains('[');
        match crate::schema::child_schema(cur, name) {
            Some(next) => cur = next,
            None => return "object".into(),
        }
        if has_index && let Some(items) = crate::schema::items_schema(cur) {
            cur = items;
        }
    }
    cur.get("type").and_then(Value::as_str).unwrap_or("object").to_string()
}

/// Evaluates `x-kubernetes-validations` with kube-cel (transition rules only with `old`).
pub fn validate_cel(obj: &Value, old: Option<&Value>, schema: &Value, root: &kube_cel::RootContext) -> Vec<FieldError> {
    if !schema_has_rules(schema) {
        return Vec::new();
    }
    thread_local! {
        static VALIDATOR: kube_cel::Validator = kube_cel::Validator::new();
        /// Compiled rules by schema address (the registry keeps each served schema
        /// in an `Arc`), with a copy of the schema in case an address is reused.
        /// Compiling every rule on every write was most of a write's cost.
        static COMPILED: RefCell<HashMap<usize, (Value, Rc<kube_cel::CompiledSchema>)>> =
            RefCell::new(HashMap::new());
    }
    let key = std::ptr::from_ref(schema) as usize;
    let compiled = COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((copy, compiled)) = cache.get(&key)
            && copy == schema
        {
            return compiled.clone();
        }
        if cache.len() >= 64 {
            cache.clear();
        }
        let compiled = Rc::new(kube_cel::compile_schema(schema));
        cache.insert(key, (schema.clone(), compiled.clone()));
        compiled
    });
    let result = VALIDATOR.with(|v| v.validate_compiled_with_context(&compiled, obj, old, Some(root)));
    let Err(errors) = result else {
        return Vec::new();
    };
    errors
        .iter()
        // A rule using a CEL feature kube-cel lacks would pass on the real server: skip it
        // rather than reject objects the apiserver accepts.
        .filter(|e| e.kind != kube_cel::ErrorKind::UnsupportedReference)
        .map(|e| {
            let path = e.field_path.clone();
            let message = e.message.clone();
            match e.reason.as_deref() {
                Some("FieldValueForbidden") => FieldError::forbidden(&path, &message),
                Some("FieldValueRequired") => FieldError::required(&path, &message),
                Some("FieldValueDuplicate") => FieldError::new(FieldErrorKind::Duplicate, &path, None, &message),
                _ => FieldError::invalid(&path, json!(schema_type_at(schema, &path)), &message),
            }
        })
        .collect()
}

fn schema_has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => map.contains_key("x-kubernetes-validations") || map.values().any(schema_has_rules),
        Value::Array(items) => items.iter().any(schema_has_rules),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_errors_read_like_the_apiserver() {
        let schema = json!({"type": "object", "required": ["spec"], "properties": {"spec": {
            "type": "object", "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 2},
                "regions": {"type": "array", "minItems": 2, "items": {"type": "string"}},
                "mode": {"type": "string", "enum": ["none", "all"]},
                "count": {"type": "integer", "maximum": 3}
            }
        }}});
        let obj = json!({"spec": {"regions": ["a"], "mode": "maybe", "count": "x"}});
        let msgs: Vec<String> = validate_root(&obj, &schema).iter().map(FieldError::message).collect();
        assert_eq!(
            msgs,
            vec![
                "spec.name: Required value",
                "spec.regions: Invalid value: 1: spec.regions in body should have at least 2 items",
                "spec.mode: Unsupported value: \"maybe\": supported values: \"none\", \"all\"",
                "spec.count: Invalid value: \"string\": spec.count in body must be of type integer: \"string\"",
            ]
        );
    }

    #[test]
    fn cel_rules_and_transition_rules() {
        let schema = json!({"type": "object", "properties": {"spec": {
            "type": "object",
            "x-kubernetes-validations": [{"rule": "self.a == oldSelf.a", "message": "a is immutable"}],
            "properties": {"a": {"type": "string"}}
        }}});
        let root = kube_cel::RootContext::default();
        let new = json!({"spec": {"a": "2"}});
        let old = json!({"spec": {"a": "1"}});
        assert!(validate_cel(&new, None, &schema, &root).is_empty());
        let errs = validate_cel(&new, Some(&old), &schema, &root);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].message(), "spec: Invalid value: \"object\": a is immutable");
    }

    #[test]
    fn nullable_int_or_string_preserve_and_list_maps() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": true},
            "maybe": {"type": "string", "nullable": true},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "when": {"type": "string", "format": "some-unknown-format"},
            "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}}}}
        }}}});
        let ok = json!({"spec": {"port": "http", "maybe": null, "free": {"a": [1]}, "when": "x",
            "items": [{"name": "a"}, {"name": "b"}]}});
        assert!(validate_root(&ok, &schema).is_empty());
        let ok2 = json!({"spec": {"port": 8080}});
        assert!(validate_root(&ok2, &schema).is_empty());
        let bad = json!({"spec": {"port": true, "items": [{"name": "a"}, {"name": "a"}]}});
        let msgs: Vec<String> = validate_root(&bad, &schema).iter().map(FieldError::message).collect();
        assert_eq!(
            msgs,
            vec![
                "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"",
                "spec.items[1]: Duplicate value: map[string]interface {}{\"name\":\"a\"}",
            ]
        );
    }
}
