//! `meta.k8s.io/v1` Table responses for `kubectl get`.
//!
//! Mirrors the apiserver's table convertors: custom resources get `Name` plus the CRD's
//! `additionalPrinterColumns` (JSONPath evaluated, cells typed as integer/number/boolean/
//! string, `date` rendered as a human age, missing values `null`), or `Name` and `Age` when the
//! CRD declares none; built-ins get their usual columns (Secrets `Type`/`Data`, Namespaces
//! `Status`, Leases `Holder`, Events `Last Seen`/`Type`/`Reason`/`Object`/`Message`). Rows
//! carry `PartialObjectMetadata` unless `includeObject=None|Object`.

use crate::jsonpath::JsonPath;
use crate::meta;
use crate::registry::{Builtin, PrinterColumn, ResourceType};
use serde_json::{Value, json};

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// What each row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(v: Option<&str>) -> Self {
        match v {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

fn col(name: &str, type_: &str, format: &str, desc: &str, priority: i64, path: &str) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        format: format.into(),
        description: desc.into(),
        priority,
        json_path: path.into(),
    }
}

/// Columns after `Name`.
fn columns(rt: &ResourceType) -> Vec<PrinterColumn> {
    let age = || col("Age", "date", "", AGE_DESC, 0, ".metadata.creationTimestamp");
    match rt.builtin {
        None => {
            if rt.printer_columns.is_empty() {
                vec![age()]
            } else {
                rt.printer_columns.clone()
            }
        }
        Some(Builtin::Secret) => {
            vec![col("Type", "string", "", "", 0, ".type"), col("Data", "integer", "", "", 0, "#data"), age()]
        }
        Some(Builtin::Namespace) => {
            vec![col("Status", "string", "", "The status of the namespace", 0, ".status.phase"), age()]
        }
        Some(Builtin::Lease) => vec![col("Holder", "string", "", "", 0, ".spec.holderIdentity"), age()],
        Some(Builtin::Crd) => vec![col("Created At", "date", "", "", 0, "#createdAt")],
        Some(Builtin::CoreEvent) | Some(Builtin::Event) => vec![
            col("Last Seen", "string", "", "", 0, "#lastSeen"),
            col("Type", "string", "", "", 0, ".type"),
            col("Reason", "string", "", "", 0, ".reason"),
            col("Object", "string", "", "", 0, "#object"),
            col("Message", "string", "", "", 0, "#message"),
        ],
    }
}

fn render_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `cellForJSONValue` of the CRD table convertor.
fn typed_cell(type_: &str, v: &Value) -> Value {
    match type_ {
        "integer" => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => v.clone(),
            Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f as i64)),
            _ => Value::Null,
        },
        "number" => match v {
            Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
            _ => Value::Null,
        },
        "boolean" => match v {
            Value::Bool(_) => v.clone(),
            _ => Value::Null,
        },
        "date" => match v.as_str() {
            Some(s) => json!(meta::age(s).unwrap_or_else(|| "<invalid>".into())),
            None => Value::Null,
        },
        _ => json!(render_string(v)),
    }
}

fn event_cell(obj: &Value, which: &str) -> Value {
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    match which {
        "#lastSeen" => {
            let ts = obj
                .get("series")
                .and_then(|s| s.get("lastObservedTime"))
                .or_else(|| get("lastTimestamp"))
                .or_else(|| get("deprecatedLastTimestamp"))
                .or_else(|| get("eventTime"))
                .and_then(Value::as_str);
            json!(ts.and_then(meta::age).unwrap_or_else(|| "<unknown>".into()))
        }
        "#object" => {
            let r = get("involvedObject").or_else(|| get("regarding"));
            let kind = r.and_then(|r| r.get("kind")).and_then(Value::as_str).unwrap_or("").to_lowercase();
            let name = r.and_then(|r| r.get("name")).and_then(Value::as_str).unwrap_or("");
            json!(format!("{kind}/{name}"))
        }
        "#message" => json!(get("message").or_else(|| get("note")).and_then(Value::as_str).unwrap_or("")),
        _ => Value::Null,
    }
}

fn cell(obj: &Value, c: &PrinterColumn) -> Value {
    match c.json_path.as_str() {
        "#data" => json!(obj.get("data").and_then(Value::as_object).map_or(0, |m| m.len())),
        "#createdAt" => json!(meta::meta_str(obj, "creationTimestamp").unwrap_or("")),
        p if p.starts_with('#') => event_cell(obj, p),
        p => {
            let Ok(jp) = JsonPath::parse(p) else {
                return Value::Null;
            };
            let found = jp.find(obj);
            match found.first() {
                None => Value::Null,
                Some(first) => {
                    if c.type_ == "string" {
                        let parts: Vec<String> = found.iter().map(|v| render_string(v)).collect();
                        json!(parts.join(" "))
                    } else {
                        typed_cell(&c.type_, first)
                    }
                }
            }
        }
    }
}

fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A Table of `objects` (already in the requested version).
pub fn table(rt: &ResourceType, objects: &[Value], include: Include, list_meta: Value) -> Value {
    let cols = columns(rt);
    let mut defs = vec![json!({
        "name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0
    })];
    for c in &cols {
        defs.push(json!({
            "name": c.name, "type": c.type_,
            "format": c.format, "description": c.description, "priority": c.priority
        }));
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut cells = vec![json!(meta::name(obj))];
            for c in &cols {
                cells.push(cell(obj, c));
            }
            let mut row = json!({"cells": cells});
            let carried = match include {
                Include::None => None,
                Include::Metadata => Some(partial_metadata(obj)),
                Include::Object => Some(obj.clone()),
            };
            if let (Some(o), Some(map)) = (carried, row.as_object_mut()) {
                map.insert("object".into(), o);
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": defs,
        "rows": rows,
    })
}
