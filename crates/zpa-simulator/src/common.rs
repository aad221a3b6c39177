//! What the simulator's stores and the rules over them share: the JSON object a
//! stored body is, the Default scope's id, and RFC 7386 merge patches.

use serde_json::{Map, Value};

/// A stored body: the JSON object a GET returns.
pub type Object = Map<String, Value>;

/// The Default Microtenant's id and the scope of everything outside a Microtenant.
pub const DEFAULT_SCOPE: &str = "0";

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}
