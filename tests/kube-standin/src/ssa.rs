//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Mirrors the apiserver's fieldmanager: every write records which manager owns which fields
//! (operation `Update` for create/update/patch, `Apply` for apply patches, per subresource).
//! An apply merges the applied configuration into the live object (structs and granular maps
//! field by field, sets by value, map-lists by key, everything else atomically), removes fields
//! the manager applied before and now omits unless another manager still owns them, and
//! reports a 409 `Apply failed with N conflict(s)` when it would change a field another
//! manager owns, unless `force` is set, in which case ownership moves to the applier.
//! `apiVersion`, `kind`, server-set metadata and — depending on the subresource — `status` or
//! everything but `status` are not tracked.

use crate::fieldset::{FieldSet, collect, display_path, lookup, remove_at};
use crate::schema::{Shape, child_schema, items_schema, shape};
use crate::status::{ApiError, go_quote};
use serde_json::{Value, json};

/// Which part of the object a write may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The main resource; `status_sub` when the kind has a status subresource.
    Main { status_sub: bool },
    /// The `/status` subresource.
    Status,
}

impl Mode {
    pub fn subresource(self) -> &'static str {
        match self {
            Mode::Main { .. } => "",
            Mode::Status => "status",
        }
    }
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: FieldSet,
}

const TRACKED_META: &[&str] = &["labels", "annotations", "finalizers", "ownerReferences"];

/// The part of an object whose fields are tracked for `mode`.
pub fn tracked(obj: &Value, mode: Mode) -> Value {
    let mut out = serde_json::Map::new();
    let Some(map) = obj.as_object() else {
        return Value::Object(out);
    };
    for (k, v) in map {
        match (k.as_str(), mode) {
            ("apiVersion" | "kind", _) => {}
            ("status", Mode::Status) => {
                out.insert(k.clone(), v.clone());
            }
            (_, Mode::Status) => {}
            ("status", Mode::Main { status_sub: true }) => {}
            ("metadata", Mode::Main { .. }) => {
                let mut meta = serde_json::Map::new();
                if let Some(m) = v.as_object() {
                    for (mk, mv) in m {
                        if TRACKED_META.contains(&mk.as_str()) && !mv.is_null() {
                            meta.insert(mk.clone(), mv.clone());
                        }
                    }
                }
                if !meta.is_empty() {
                    out.insert(k.clone(), Value::Object(meta));
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The field set of the tracked part of an object.
pub fn field_set(obj: &Value, schema: &Value, mode: Mode) -> FieldSet {
    let t = tracked(obj, mode);
    let mut set = FieldSet::default();
    collect(&t, Some(schema), &mut set);
    set.member = false;
    set.prune();
    set
}

pub fn parse_managed(obj: &Value) -> Vec<Entry> {
    obj.get("metadata")
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    Entry {
                        manager: s("manager"),
                        operation: s("operation"),
                        api_version: s("apiVersion"),
                        time: s("time"),
                        subresource: s("subresource"),
                        fields: e.get("fieldsV1").map(FieldSet::from_fields_v1).unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn set_managed(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut m = serde_json::Map::new();
            m.insert("manager".into(), json!(e.manager));
            m.insert("operation".into(), json!(e.operation));
            m.insert("apiVersion".into(), json!(e.api_version));
            m.insert("time".into(), json!(e.time));
            m.insert("fieldsType".into(), json!("FieldsV1"));
            m.insert("fieldsV1".into(), e.fields.to_fields_v1());
            if !e.subresource.is_empty() {
                m.insert("subresource".into(), json!(e.subresource));
            }
            Value::Object(m)
        })
        .collect();
    let meta = crate::meta::metadata_mut(obj);
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// Members of `set` whose value differs between `old` and `new` (or that are new).
fn changed(set: &FieldSet, old: &Value, new: &Value) -> FieldSet {
    let mut out = FieldSet::default();
    for path in set.member_paths() {
        let is_container = set.node(&path).is_some_and(|n| !n.children.is_empty());
        let before = lookup(old, &path);
        let differs = if is_container { before.is_none() } else { before != lookup(new, &path) };
        if differs {
            let mut node = &mut out;
            for e in &path {
                node = node.children.entry(e.clone()).or_default();
            }
            node.member = true;
        }
    }
    out
}

/// Records an `Update` by `manager`: it gains the fields it changed, everyone loses them, and
/// removed fields disappear from all managers.
#[allow(clippy::too_many_arguments)]
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    schema: &Value,
    manager: &str,
    api_version: &str,
    mode: Mode,
    now: &str,
) {
    let empty = json!({});
    let old_obj = old.unwrap_or(&empty);
    let reset =
        new.get("metadata").and_then(|m| m.get("managedFields")).and_then(Value::as_array).is_some_and(Vec::is_empty)
            && old.is_some_and(|o| !parse_managed(o).is_empty());
    let mut entries = if reset { Vec::new() } else { parse_managed(old_obj) };
    let old_set = field_set(old_obj, schema, mode);
    let new_set = field_set(new, schema, mode);
    let changed = changed(&new_set, &tracked(old_obj, mode), &tracked(new, mode));
    let removed = old_set.difference(&new_set);
    let sub = mode.subresource();
    for e in entries.iter_mut() {
        if !(e.manager == manager && e.operation == "Update" && e.subresource == sub) {
            e.fields = e.fields.difference(&changed).difference(&removed);
        }
    }
    let mine = entries.iter().position(|e| e.manager == manager && e.operation == "Update" && e.subresource == sub);
    match mine {
        Some(i) => {
            let mut f = entries[i].fields.clone();
            f.union(&changed);
            let f = f.difference(&removed);
            if f != entries[i].fields {
                entries[i].fields = f;
                entries[i].time = now.to_string();
                entries[i].api_version = api_version.to_string();
            }
        }
        None => {
            if !changed.is_empty() {
                entries.push(Entry {
                    manager: manager.to_string(),
                    operation: "Update".into(),
                    api_version: api_version.to_string(),
                    time: now.to_string(),
                    subresource: sub.to_string(),
                    fields: changed,
                });
            }
        }
    }
    entries.retain(|e| !e.fields.is_empty());
    set_managed(new, &entries);
}

/// Merges an applied configuration into a live value.
pub fn merge(live: &mut Value, applied: &Value, schema: Option<&Value>) {
    match shape(schema, applied) {
        Shape::Struct | Shape::Map => {
            let Some(amap) = applied.as_object() else {
                *live = applied.clone();
                return;
            };
            if !live.is_object() {
                *live = json!({});
            }
            if let Some(lmap) = live.as_object_mut() {
                for (k, av) in amap {
                    if av.is_null() {
                        lmap.shift_remove(k);
                        continue;
                    }
                    let cs = schema.and_then(|s| child_schema(s, k));
                    match lmap.get_mut(k) {
                        Some(lv) => merge(lv, av, cs),
                        None => {
                            lmap.insert(k.clone(), av.clone());
                        }
                    }
                }
            }
        }
        Shape::Set => {
            if !live.is_array() {
                *live = json!([]);
            }
            if let (Some(items), Some(applied_items)) = (live.as_array_mut(), applied.as_array()) {
                for a in applied_items {
                    if !items.contains(a) {
                        items.push(a.clone());
                    }
                }
            }
        }
        Shape::ListMap(keys) => {
            if !live.is_array() {
                *live = json!([]);
            }
            let item_schema = schema.and_then(items_schema);
            if let (Some(items), Some(applied_items)) = (live.as_array_mut(), applied.as_array()) {
                for a in applied_items {
                    let pos = items.iter().position(|l| keys.iter().all(|k| l.get(k) == a.get(k)));
                    match pos {
                        Some(i) => merge(&mut items[i], a, item_schema),
                        None => items.push(a.clone()),
                    }
                }
            }
        }
        Shape::Atomic => *live = applied.clone(),
    }
}

/// A conflict of an apply with another manager's field.
pub struct Conflict {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub subresource: String,
    pub path: Vec<String>,
}

/// The 409 answered for unforced conflicts, worded like the apiserver.
pub fn conflict_error(conflicts: &[Conflict], group: &str, resource: &str, name: &str) -> ApiError {
    let who = |c: &Conflict| {
        let mut s = format!("conflict with {}", go_quote(&c.manager));
        if c.subresource.is_empty() {
            s.push_str(&format!(" using {}", c.api_version));
        } else {
            s.push_str(&format!(" with subresource {} using {}", go_quote(&c.subresource), c.api_version));
        }
        s
    };
    let message = if let [one] = conflicts {
        format!("Apply failed with 1 conflict: {}: {}", who(one), display_path(&one.path))
    } else {
        let mut m = format!("Apply failed with {} conflicts: ", conflicts.len());
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for c in conflicts {
            let w = who(c).replacen("conflict with", "conflicts with", 1);
            match groups.iter_mut().find(|(g, _)| *g == w) {
                Some((_, paths)) => paths.push(display_path(&c.path)),
                None => groups.push((w, vec![display_path(&c.path)])),
            }
        }
        let parts: Vec<String> = groups
            .iter()
            .map(|(w, paths)| {
                let lines: Vec<String> = paths.iter().map(|p| format!("- {p}")).collect();
                format!("{w}:\n{}", lines.join("\n"))
            })
            .collect();
        m.push_str(&parts.join("\n"));
        m
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({
                "reason": "FieldManagerConflict",
                "message": who(c),
                "field": display_path(&c.path),
            })
        })
        .collect();
    ApiError::new(409, "Conflict", message).with_details(json!({
        "name": name,
        "group": group,
        "kind": resource,
        "causes": causes,
    }))
}

/// Applies `applied` (already reduced to what `mode` may touch) to `live` for `manager`.
///
/// Returns the merged object with updated `managedFields`, or the conflicts.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    live: &Value,
    applied: &Value,
    schema: &Value,
    manager: &str,
    api_version: &str,
    mode: Mode,
    force: bool,
    now: &str,
) -> Result<Value, Vec<Conflict>> {
    let applied_tracked = tracked(applied, mode);
    let applied_set = field_set(applied, schema, mode);
    let live_tracked = tracked(live, mode);
    let mut entries = parse_managed(live);
    let sub = mode.subresource();
    let mine = entries.iter().position(|e| e.manager == manager && e.operation == "Apply" && e.subresource == sub);

    let mut conflicts: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if Some(i) == mine {
            continue;
        }
        let shared = applied_set.intersection(&e.fields);
        for path in shared.member_paths() {
            let container = applied_set.node(&path).is_some_and(|n| !n.children.is_empty());
            if container {
                continue;
            }
            if lookup(&applied_tracked, &path) != lookup(&live_tracked, &path) {
                conflicts.push((i, path));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflicts
                .into_iter()
                .map(|(i, path)| Conflict {
                    manager: entries[i].manager.clone(),
                    operation: entries[i].operation.clone(),
                    api_version: entries[i].api_version.clone(),
                    subresource: entries[i].subresource.clone(),
                    path,
                })
                .collect());
        }
        for (i, path) in &conflicts {
            entries[*i].fields.remove_member(path);
        }
    }

    let mut merged = live.clone();
    merge(&mut merged, &applied_tracked, Some(schema));

    let previous = mine.map(|i| entries[i].fields.clone()).unwrap_or_default();
    let mut others = FieldSet::default();
    for (i, e) in entries.iter().enumerate() {
        if Some(i) != mine {
            others.union(&e.fields);
        }
    }
    let dropped = previous.difference(&applied_set);
    let mut paths = dropped.member_paths();
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for path in paths {
        if !others.owns_at_or_below(&path) {
            remove_at(&mut merged, &path);
        }
    }

    match mine {
        Some(i) => {
            if entries[i].fields != applied_set || entries[i].api_version != api_version {
                entries[i].fields = applied_set;
                entries[i].time = now.to_string();
                entries[i].api_version = api_version.to_string();
            }
        }
        None => entries.push(Entry {
            manager: manager.to_string(),
            operation: "Apply".into(),
            api_version: api_version.to_string(),
            time: now.to_string(),
            subresource: sub.to_string(),
            fields: applied_set,
        }),
    }
    entries.retain(|e| !e.fields.is_empty());
    set_managed(&mut merged, &entries);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "metadata": crate::builtin::metadata_schema().clone(),
            "spec": {"type": "object", "properties": {
                "a": {"type": "string"}, "b": {"type": "string"}
            }}
        }})
    }

    #[test]
    fn apply_owns_removes_and_conflicts() {
        let mode = Mode::Main { status_sub: true };
        let live = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "x"}});
        let a1 = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"a": "1", "b": "2"}});
        let m1 = apply(&live, &a1, &schema(), "one", "g/v1", mode, false, "t").ok().unwrap_or_default();
        assert_eq!(m1["spec"], json!({"a": "1", "b": "2"}));
        // another manager changing a field owned by "one" conflicts unless forced
        let a2 = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"a": "9"}});
        let conflicts = apply(&m1, &a2, &schema(), "two", "g/v1", mode, false, "t").err().unwrap_or_default();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(display_path(&conflicts[0].path), ".spec.a");
        let m2 = apply(&m1, &a2, &schema(), "two", "g/v1", mode, true, "t").ok().unwrap_or_default();
        assert_eq!(m2["spec"]["a"], "9");
        // "one" now omits b: removed; a is owned by "two" and stays
        let a3 = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {}});
        let m3 = apply(&m2, &a3, &schema(), "one", "g/v1", mode, false, "t").ok().unwrap_or_default();
        assert_eq!(m3["spec"], json!({"a": "9"}));
    }
}
