//! Conversion between `v1` Events and `events.k8s.io/v1` Events.
//!
//! Mirrors the apiserver, where both group-versions are views of one stored Event: the
//! `events.k8s.io/v1` fields `regarding`, `note`, `reportingController`, `deprecatedCount`,
//! `deprecatedFirstTimestamp`, `deprecatedLastTimestamp` and `deprecatedSource` are the core
//! fields `involvedObject`, `message`, `reportingComponent`, `count`, `firstTimestamp`,
//! `lastTimestamp` and `source`. An Event published by kube's `Recorder` is therefore also
//! visible to `kubectl get events`.

use serde_json::{Map, Value, json};

/// (events.k8s.io/v1 name, core/v1 name)
const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedCount", "count"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedSource", "source"),
];

fn rename(obj: &Value, to_core: bool, api_version: &str) -> Value {
    let Some(map) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(api_version));
    out.insert("kind".into(), json!("Event"));
    for (k, v) in map {
        if k == "apiVersion" || k == "kind" {
            continue;
        }
        let renamed = RENAMES
            .iter()
            .find(|(ev, core)| if to_core { ev == k } else { core == k })
            .map(|(ev, core)| if to_core { *core } else { *ev })
            .unwrap_or(k.as_str());
        out.insert(renamed.to_string(), v.clone());
    }
    Value::Object(out)
}

/// `events.k8s.io/v1` -> stored `v1`.
pub fn to_core(event: &Value) -> Value {
    rename(event, true, "v1")
}

/// Stored `v1` -> `events.k8s.io/v1`.
pub fn to_events_v1(core: &Value) -> Value {
    let mut out = rename(core, false, "events.k8s.io/v1");
    // `reportingComponent` is required-ish in events.k8s.io; an empty core value stays empty.
    if let Some(map) = out.as_object_mut()
        && map.get("reportingController").is_some_and(|v| v == "")
    {
        map.remove("reportingController");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ev = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "a"},
            "regarding": {"name": "x"}, "note": "hello", "series": {"count": 2}});
        let core = to_core(&ev);
        assert_eq!(core["involvedObject"]["name"], "x");
        assert_eq!(core["message"], "hello");
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(to_events_v1(&core), ev);
    }
}
