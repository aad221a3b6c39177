//! Object metadata helpers: timestamps, `generateName` suffixes, name/label validation and
//! JSON accessors.
//!
//! Mirrors apimachinery's `ValidateObjectMeta` (RFC 1123 subdomain/label names, qualified label
//! keys and values) and the metadata the apiserver fills in (`uid`, `creationTimestamp`,
//! names generated from `generateName` with five random characters).

use crate::status::{FieldError, FieldErrorKind};
use rand::Rng;
use serde_json::{Map, Value, json};

/// `metav1.Time` rendering: RFC 3339 with whole seconds.
pub fn now_time() -> String {
    format_time(jiff::Timestamp::now())
}

pub fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `metav1.MicroTime` rendering.
pub fn now_micro_time() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
}

pub fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    s.parse::<jiff::Timestamp>().ok()
}

/// Five characters from the apiserver's `generateName` alphabet.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// The metadata map, created if absent.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = match obj.as_object_mut() {
        Some(m) => m,
        None => unreachable_object(),
    };
    let entry = map.entry("metadata").or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    match entry.as_object_mut() {
        Some(m) => m,
        None => unreachable_object(),
    }
}

#[cold]
fn unreachable_object() -> ! {
    // Both call sites have just replaced the value by an object.
    panic!("value was just set to an object")
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    metadata(obj).and_then(|m| m.get(field)).and_then(Value::as_str)
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    meta_str(obj, "uid").unwrap_or("")
}

pub fn resource_version(obj: &Value) -> &str {
    meta_str(obj, "resourceVersion").unwrap_or("")
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    metadata(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    metadata(obj).and_then(|m| m.get("deletionTimestamp")).is_some_and(|v| !v.is_null())
}

pub fn owner_uids(obj: &Value) -> Vec<String> {
    metadata(obj)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|refs| refs.iter().filter_map(|r| r.get("uid").and_then(Value::as_str)).map(str::to_string).collect())
        .unwrap_or_default()
}

pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    metadata(obj).and_then(|m| m.get("labels")).and_then(Value::as_object)
}

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

fn full_match(fmt: &str, s: &str) -> bool {
    regex::Regex::new(&format!("^{fmt}$")).is_ok_and(|re| re.is_match(s))
}

/// `validation.IsDNS1123Subdomain`: error details, empty when valid.
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if !full_match(DNS1123_SUBDOMAIN_FMT, value) {
        errs.push(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{DNS1123_SUBDOMAIN_FMT}')"
        ));
    }
    errs
}

/// `validation.IsDNS1123Label`.
pub fn dns1123_label_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !full_match(DNS1123_LABEL_FMT, value) {
        errs.push(format!(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{DNS1123_LABEL_FMT}')"
        ));
    }
    errs
}

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";

/// `validation.IsQualifiedName` (label and annotation keys).
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let (prefix, name) = match value.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, value),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else {
            for e in dns1123_subdomain_errors(p) {
                errs.push(format!("prefix part {e}"));
            }
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !name.is_empty() && !full_match(QUALIFIED_NAME_FMT, name) {
        errs.push(format!(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME_FMT}')"
        ));
    }
    errs
}

/// `ValidateLabels` and `ValidateAnnotations` for `metadata`.
pub fn validate_labels_and_annotations(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(meta) = metadata(obj) else {
        return errs;
    };
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        for (k, v) in labels {
            for e in qualified_name_errors(k) {
                errs.push(FieldError::invalid("metadata.labels", json!(k), &e));
            }
            let value = v.as_str().unwrap_or("");
            if value.len() > 63 {
                errs.push(FieldError::invalid("metadata.labels", json!(value), "must be no more than 63 characters"));
            }
            if !full_match(LABEL_VALUE_FMT, value) {
                errs.push(FieldError::invalid(
                    "metadata.labels",
                    json!(value),
                    &format!(
                        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE_FMT}')"
                    ),
                ));
            }
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        for k in annotations.keys() {
            for e in qualified_name_errors(&k.to_lowercase()) {
                errs.push(FieldError::invalid("metadata.annotations", json!(k), &e));
            }
        }
    }
    if let Some(refs) = meta.get("ownerReferences").and_then(Value::as_array) {
        for r in refs {
            for (field, what) in [
                ("apiVersion", "version must not be empty"),
                ("kind", "kind must not be empty"),
                ("name", "name must not be empty"),
                ("uid", "uid must not be empty"),
            ] {
                let v = r.get(field).and_then(Value::as_str).unwrap_or("");
                if v.is_empty() {
                    errs.push(FieldError::new(
                        FieldErrorKind::Invalid,
                        &format!("metadata.ownerReferences.{field}"),
                        Some(json!(v)),
                        what,
                    ));
                }
            }
        }
    }
    errs
}

/// Validates `metadata.name` (or `generateName`) with the given name rule.
pub fn validate_name(obj: &Value, label_rule: bool) -> Vec<FieldError> {
    let name = name(obj);
    let mut errs = Vec::new();
    if name.is_empty() {
        errs.push(FieldError::required("metadata.name", "name or generateName is required"));
        return errs;
    }
    let details = if label_rule { dns1123_label_errors(name) } else { dns1123_subdomain_errors(name) };
    for d in details {
        errs.push(FieldError::invalid("metadata.name", json!(name), &d));
    }
    errs
}

/// Known `ObjectMeta` fields: anything else is an unknown field.
pub const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Human-readable age as `duration.HumanDuration` in apimachinery.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let d = (hours / 24) % 365;
        return if d == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{d}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
}

/// Age of an RFC 3339 timestamp, rendered like kubectl's AGE column.
pub fn age(timestamp: &str) -> Option<String> {
    let ts = parse_time(timestamp)?;
    let secs = jiff::Timestamp::now().as_second() - ts.as_second();
    Some(human_duration(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_durations() {
        assert!(dns1123_subdomain_errors("a.b-c").is_empty());
        assert!(!dns1123_subdomain_errors("Bad_Name").is_empty());
        assert!(!dns1123_label_errors("a.b").is_empty());
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(330), "5m30s");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(random_suffix().len(), 5);
    }
}
