//! JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.
//!
//! Mirrors the apiserver's patch handler: JSON patch follows evanphx/json-patch as vendored by
//! Kubernetes, where a `test` of a missing path against `null` succeeds (kube's finalizer helper
//! relies on this) and failures are 422s; strategic merge patch is accepted for built-in kinds
//! only (custom resources answer 415) and honours `$patch: replace|delete|merge`,
//! `$retainKeys`, `$setElementOrder/...` and `$deleteFromPrimitiveList/...`, merging
//! `metadata.finalizers` as a set and `metadata.ownerReferences` by `uid`; other lists are
//! replaced as the Go types' patch strategies mostly do.

use serde_json::{Map, Value};

/// RFC 7386.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(pmap) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Some(tmap) = target.as_object_mut() {
        for (k, v) in pmap {
            if v.is_null() {
                tmap.shift_remove(k);
            } else {
                let slot = tmap.entry(k.clone()).or_insert(Value::Null);
                merge_patch(slot, v);
            }
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("invalid JSON pointer: {path:?}"));
    };
    Ok(rest.split('/').map(unescape).collect())
}

fn get<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m.get(t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn get_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m.get_mut(t)?,
            Value::Array(a) => {
                let i = t.parse::<usize>().ok()?;
                a.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn missing(path: &str) -> String {
    format!("doc is missing path: {path:?}: missing value")
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let tokens = split_pointer(path)?;
    let Some((last, parent_tokens)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent =
        get_mut(doc, parent_tokens).ok_or_else(|| format!("add operation does not apply: {}", missing(path)))?;
    match parent {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let i = last.parse::<usize>().map_err(|_| format!("add operation does not apply: {}", missing(path)))?;
            if i > a.len() {
                return Err(format!(
                    "add operation does not apply: unable to access invalid index: {i}: invalid index referenced"
                ));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("add operation does not apply: {}", missing(path))),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let tokens = split_pointer(path)?;
    let Some((last, parent_tokens)) = tokens.split_last() else {
        return Err("unable to remove the whole document".into());
    };
    let parent =
        get_mut(doc, parent_tokens).ok_or_else(|| format!("remove operation does not apply: {}", missing(path)))?;
    match parent {
        Value::Object(m) => {
            m.shift_remove(last).ok_or_else(|| format!("Unable to remove nonexistent key: {last}: missing value"))
        }
        Value::Array(a) => {
            let i = last
                .parse::<usize>()
                .ok()
                .filter(|i| *i < a.len())
                .ok_or_else(|| format!("Unable to access invalid index: {last}: invalid index referenced"))?;
            Ok(a.remove(i))
        }
        _ => Err(format!("remove operation does not apply: {}", missing(path))),
    }
}

/// RFC 6902, with the Kubernetes (evanphx) `test`-against-`null` behaviour.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), String> {
    let Some(ops) = patch.as_array() else {
        return Err("json: cannot unmarshal object into Go value of type jsonpatch.Patch".into());
    };
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op.get("path").and_then(Value::as_str).ok_or_else(|| format!("operation missing path: {op}"))?;
        let value = || op.get("value").cloned().ok_or_else(|| format!("{kind} operation missing value"));
        match kind {
            "add" => add(doc, path, value()?)?,
            "remove" => {
                remove(doc, path)?;
            }
            "replace" => {
                let tokens = split_pointer(path)?;
                let v = value()?;
                match get_mut(doc, &tokens) {
                    Some(slot) => *slot = v,
                    None => {
                        return Err(format!("replace operation does not apply: {}", missing(path)));
                    }
                }
            }
            "move" | "copy" => {
                let from =
                    op.get("from").and_then(Value::as_str).ok_or_else(|| format!("{kind} operation missing from"))?;
                let v = if kind == "move" {
                    remove(doc, from)?
                } else {
                    get(doc, &split_pointer(from)?)
                        .cloned()
                        .ok_or_else(|| format!("copy operation does not apply: {}", missing(from)))?
                };
                add(doc, path, v)?;
            }
            "test" => {
                let expected = op.get("value").cloned().unwrap_or(Value::Null);
                let actual = get(doc, &split_pointer(path)?);
                let ok = match actual {
                    None | Some(Value::Null) => expected.is_null(),
                    Some(a) => *a == expected,
                };
                if !ok {
                    return Err(format!("testing value {path} failed: test failed"));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}

/// How a list at a path is merged by strategic merge patch.
enum ListStrategy {
    Replace,
    Primitive,
    ByKey(&'static str),
}

fn list_strategy(path: &[String]) -> ListStrategy {
    match path {
        [m, f] if m == "metadata" && f == "finalizers" => ListStrategy::Primitive,
        [m, f] if m == "metadata" && f == "ownerReferences" => ListStrategy::ByKey("uid"),
        _ => ListStrategy::Replace,
    }
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), strip_directives(v))).collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().filter(|i| i.get("$patch").is_none()).map(strip_directives).collect()),
        other => other.clone(),
    }
}

/// Strategic merge patch for the built-in kinds.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    smp(target, patch, &mut Vec::new())
}

fn smp(target: &mut Value, patch: &Value, path: &mut Vec<String>) -> Result<(), String> {
    let Some(pmap) = patch.as_object() else {
        *target = strip_directives(patch);
        return Ok(());
    };
    match pmap.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = strip_directives(patch);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch type: {other}")),
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(tmap) = target.as_object_mut() else {
        return Ok(());
    };
    for (k, v) in pmap {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(del)) = (tmap.get_mut(field), v.as_array()) {
                items.retain(|i| !del.contains(i));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            tmap.shift_remove(k);
            continue;
        }
        path.push(k.clone());
        match v {
            Value::Object(inner) => {
                if inner.get("$patch").and_then(Value::as_str) == Some("delete") {
                    tmap.shift_remove(k);
                } else {
                    let slot = tmap.entry(k.clone()).or_insert(Value::Null);
                    smp(slot, v, path)?;
                }
            }
            Value::Array(items) => {
                let replace_all = items.iter().any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
                let slot = tmap.entry(k.clone()).or_insert(Value::Array(Vec::new()));
                match (list_strategy(path), replace_all) {
                    (_, true) | (ListStrategy::Replace, _) => *slot = strip_directives(v),
                    (ListStrategy::Primitive, false) => {
                        if !slot.is_array() {
                            *slot = Value::Array(Vec::new());
                        }
                        if let Some(existing) = slot.as_array_mut() {
                            for i in items {
                                if !existing.contains(i) {
                                    existing.push(i.clone());
                                }
                            }
                        }
                    }
                    (ListStrategy::ByKey(key), false) => {
                        if !slot.is_array() {
                            *slot = Value::Array(Vec::new());
                        }
                        if let Some(existing) = slot.as_array_mut() {
                            for i in items {
                                let id = i.get(key);
                                let pos = existing.iter().position(|e| e.get(key) == id);
                                let delete = i.get("$patch").and_then(Value::as_str) == Some("delete");
                                match (pos, delete) {
                                    (Some(p), true) => {
                                        existing.remove(p);
                                    }
                                    (None, true) => {}
                                    (Some(p), false) => smp(&mut existing[p], i, path)?,
                                    (None, false) => existing.push(strip_directives(i)),
                                }
                            }
                        }
                    }
                }
            }
            other => {
                tmap.insert(k.clone(), other.clone());
            }
        }
        path.pop();
    }
    if let Some(retain) = pmap.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        tmap.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_test_null_on_missing_path() {
        let mut doc = json!({"metadata": {"name": "x"}});
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["a"]}
        ]);
        assert!(json_patch(&mut doc, &patch).is_ok());
        assert_eq!(doc["metadata"]["finalizers"], json!(["a"]));
        let again = json_patch(&mut doc, &patch);
        assert_eq!(again.err().as_deref(), Some("testing value /metadata/finalizers failed: test failed"));
        let remove = json!([
            {"op": "test", "path": "/metadata/finalizers/0", "value": "a"},
            {"op": "remove", "path": "/metadata/finalizers/0"}
        ]);
        assert!(json_patch(&mut doc, &remove).is_ok());
        assert_eq!(doc["metadata"]["finalizers"], json!([]));
    }

    #[test]
    fn strategic_merge_directives() {
        let mut doc = json!({"metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}}, "data": {"k": "v"}});
        let patch = json!({
            "$setElementOrder/finalizers": ["a", "b"],
            "metadata": {"finalizers": ["b"], "labels": {"y": null}},
            "data": {"$patch": "replace", "n": "m"}
        });
        assert!(strategic_merge_patch(&mut doc, &patch).is_ok());
        assert_eq!(doc, json!({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1"}}, "data": {"n": "m"}}));
    }
}
