//! Comparing only what the spec manages.
//!
//! Desired state is expressed as JSON with the API's own field names. Every
//! field the user left out is absent (or `null`) and therefore unmanaged: it
//! is neither compared nor written. Normalisation absorbs what the server does
//! on its own: it omits `false`, empty strings and empty lists, and returns
//! id lists in any order.

use std::fmt;

use serde_json::{Map, Value};

/// One managed field that differs: its dotted path and both values.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub from: Value,
    pub to: Value,
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.path, show(&self.from), show(&self.to))
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "(unset)".to_owned(),
        other => other.to_string(),
    }
}

/// The managed fields of `desired` that `observed` does not match.
pub fn managed_changes(desired: &Value, observed: &Value) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    collect(desired, observed, "", &mut changes);
    changes
}

fn collect(desired: &Value, observed: &Value, path: &str, out: &mut Vec<FieldChange>) {
    match desired {
        Value::Null => {}
        Value::Object(fields) => {
            for (key, want) in fields {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                let have = observed.get(key).unwrap_or(&Value::Null);
                collect(want, have, &child, out);
            }
        }
        want if !equivalent(want, observed) => {
            out.push(FieldChange { path: path.to_owned(), from: observed.clone(), to: want.clone() })
        }
        _ => {}
    }
}

/// Equal after normalising server defaults and list order.
fn equivalent(desired: &Value, observed: &Value) -> bool {
    match (desired, observed) {
        (Value::Bool(want), Value::Null) => !want,
        (Value::String(want), Value::Null) => want.is_empty(),
        (Value::Array(want), Value::Null) => want.is_empty(),
        (Value::Array(want), Value::Array(have)) => sorted(want) == sorted(have),
        (Value::Number(want), Value::Number(have)) => want.as_f64() == have.as_f64(),
        (Value::Number(want), Value::String(have)) => have.parse::<f64>().ok() == want.as_f64(),
        (want, have) => want == have,
    }
}

fn sorted(items: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = items.iter().map(Value::to_string).collect();
    keys.sort();
    keys
}

/// Lays the managed fields of `desired` over `base` (the last read), keeping
/// every other field of `base`: the body of a read-modify-write PUT.
pub fn overlay(base: &mut Value, desired: &Value) {
    match (base, desired) {
        (_, Value::Null) => {}
        (Value::Object(base_fields), Value::Object(desired_fields)) => {
            for (key, want) in desired_fields {
                match base_fields.get_mut(key) {
                    Some(existing) if existing.is_object() && want.is_object() => overlay(existing, want),
                    _ if want.is_null() => {}
                    _ => {
                        base_fields.insert(key.clone(), strip_nulls(want));
                    }
                }
            }
        }
        (base, want) => *base = strip_nulls(want),
    }
}

/// Removes `null` members (unmanaged fields) from a desired object.
pub fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn managed_changes_table() {
        let cases: Vec<(&str, Value, Value, Vec<&str>)> = vec![
            ("identical", json!({"name": "a"}), json!({"name": "a", "extra": 1}), vec![]),
            ("unmanaged null", json!({"description": null}), json!({"description": "x"}), vec![]),
            ("string differs", json!({"description": "new"}), json!({"description": "old"}), vec!["description"]),
            ("false equals omitted", json!({"enabled": false}), json!({}), vec![]),
            ("true differs from omitted", json!({"enabled": true}), json!({}), vec!["enabled"]),
            ("empty string equals omitted", json!({"description": ""}), json!({}), vec![]),
            ("list order ignored", json!({"ids": ["b", "a"]}), json!({"ids": ["a", "b"]}), vec![]),
            ("list member differs", json!({"ids": ["a", "c"]}), json!({"ids": ["a", "b"]}), vec!["ids"]),
            ("empty list equals omitted", json!({"ids": []}), json!({}), vec![]),
            (
                "nested only managed",
                json!({"sc": {"copyPaste": "all"}}),
                json!({"sc": {"copyPaste": "all", "x": true}}),
                vec![],
            ),
            (
                "nested differs",
                json!({"sc": {"w": {"message": "hi"}}}),
                json!({"sc": {"w": {"message": "yo"}}}),
                vec!["sc.w.message"],
            ),
            ("nested missing object", json!({"sc": {"copyPaste": "none"}}), json!({}), vec!["sc.copyPaste"]),
            ("number vs string", json!({"priority": 2}), json!({"priority": "2"}), vec![]),
        ];
        for (name, desired, observed, want) in cases {
            let got: Vec<String> = managed_changes(&desired, &observed).into_iter().map(|c| c.path).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn overlay_keeps_unknown_fields_and_nested_siblings() {
        let mut base = json!({"id": "1", "name": "old", "serverOnly": {"a": 1},
            "securityControls": {"copyPaste": "none", "cameraAndMic": true}});
        overlay(
            &mut base,
            &json!({"name": "new", "description": null,
            "securityControls": {"copyPaste": "all", "watermark": {"enabled": true, "message": null}}}),
        );
        assert_eq!(
            base,
            json!({"id": "1", "name": "new", "serverOnly": {"a": 1},
            "securityControls": {"copyPaste": "all", "cameraAndMic": true, "watermark": {"enabled": true}}})
        );
    }

    #[test]
    fn change_display_is_readable() {
        let change = FieldChange { path: "enabled".into(), from: Value::Null, to: json!(true) };
        assert_eq!(change.to_string(), "enabled: (unset) -> true");
    }
}
