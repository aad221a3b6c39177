//! Field sets as used by `metadata.managedFields` (`fieldsType: FieldsV1`).
//!
//! Mirrors structured-merge-diff: a set is a tree of path elements — `f:<field>`,
//! `k:{<key fields>}` for items of map-lists, `v:<value>` for items of sets, `i:<index>` —
//! where `"."` marks that a node with children is itself a member. Leaves are members. The
//! shape of each node (struct, granular map, set, map-list, atomic) comes from the schema.

use crate::schema::{Shape, child_schema, items_schema, shape};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    pub member: bool,
    pub children: BTreeMap<String, FieldSet>,
}

/// A parsed path element.
#[derive(Clone, Debug, PartialEq)]
pub enum Elem {
    Field(String),
    Key(Map<String, Value>),
    Value(Value),
    Index(usize),
}

pub fn parse_elem(s: &str) -> Option<Elem> {
    let (prefix, rest) = s.split_at_checked(2)?;
    match prefix {
        "f:" => Some(Elem::Field(rest.to_string())),
        "k:" => serde_json::from_str::<Map<String, Value>>(rest).ok().map(Elem::Key),
        "v:" => serde_json::from_str::<Value>(rest).ok().map(Elem::Value),
        "i:" => rest.parse().ok().map(Elem::Index),
        _ => None,
    }
}

pub fn field_elem(name: &str) -> String {
    format!("f:{name}")
}

pub fn value_elem(v: &Value) -> String {
    format!("v:{}", serde_json::to_string(v).unwrap_or_default())
}

/// `k:{...}` with the key fields in name order.
pub fn key_elem(item: &Value, keys: &[String]) -> String {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut m = Map::new();
    for k in sorted {
        if let Some(v) = item.get(k.as_str()) {
            m.insert(k.clone(), v.clone());
        }
    }
    format!("k:{}", serde_json::to_string(&Value::Object(m)).unwrap_or_default())
}

/// Human path as structured-merge-diff prints it: `.spec.a[name="x"].b`.
pub fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for e in path {
        match parse_elem(e) {
            Some(Elem::Field(n)) => {
                out.push('.');
                out.push_str(&n);
            }
            Some(Elem::Key(m)) => {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", parts.join(",")));
            }
            Some(Elem::Value(v)) => out.push_str(&format!("[={v}]")),
            Some(Elem::Index(i)) => out.push_str(&format!("[{i}]")),
            None => out.push_str(e),
        }
    }
    out
}

impl FieldSet {
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// Drops empty subtrees.
    pub fn prune(&mut self) {
        for c in self.children.values_mut() {
            c.prune();
        }
        self.children.retain(|_, c| !c.is_empty());
    }

    /// Parses a `fieldsV1` object (the root is never itself a member).
    pub fn from_fields_v1(v: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        if let Some(map) = v.as_object() {
            for (k, cv) in map {
                if k == "." {
                    continue;
                }
                set.children.insert(k.clone(), Self::node_from_json(cv));
            }
        }
        set
    }

    fn node_from_json(v: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        match v.as_object() {
            Some(map) if !map.is_empty() => {
                for (k, cv) in map {
                    if k == "." {
                        set.member = true;
                    } else {
                        set.children.insert(k.clone(), Self::node_from_json(cv));
                    }
                }
            }
            _ => set.member = true,
        }
        set
    }

    pub fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        for (k, c) in &self.children {
            if !c.is_empty() {
                map.insert(k.clone(), c.node_to_json());
            }
        }
        Value::Object(map)
    }

    fn node_to_json(&self) -> Value {
        let mut map = Map::new();
        let live_children: Vec<(&String, &FieldSet)> = self.children.iter().filter(|(_, c)| !c.is_empty()).collect();
        if self.member && !live_children.is_empty() {
            map.insert(".".into(), json!({}));
        }
        for (k, c) in live_children {
            map.insert(k.clone(), c.node_to_json());
        }
        Value::Object(map)
    }

    pub fn union(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (k, c) in &other.children {
            self.children.entry(k.clone()).or_default().union(c);
        }
    }

    /// Members of `self` that are not members of `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet { member: self.member && !other.member, children: BTreeMap::new() };
        for (k, c) in &self.children {
            let d = match other.children.get(k) {
                Some(oc) => c.difference(oc),
                None => c.clone(),
            };
            if !d.is_empty() {
                out.children.insert(k.clone(), d);
            }
        }
        out
    }

    /// Members of both.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet { member: self.member && other.member, children: BTreeMap::new() };
        for (k, c) in &self.children {
            if let Some(oc) = other.children.get(k) {
                let i = c.intersection(oc);
                if !i.is_empty() {
                    out.children.insert(k.clone(), i);
                }
            }
        }
        out
    }

    /// All member paths, parents before children.
    pub fn member_paths(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.walk(&mut Vec::new(), &mut out);
        out
    }

    fn walk(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        for (k, c) in &self.children {
            prefix.push(k.clone());
            if c.member {
                out.push(prefix.clone());
            }
            c.walk(prefix, out);
            prefix.pop();
        }
    }

    pub fn node(&self, path: &[String]) -> Option<&FieldSet> {
        let mut cur = self;
        for e in path {
            cur = cur.children.get(e)?;
        }
        Some(cur)
    }

    /// Whether the node at `path` or anything below it is a member.
    pub fn owns_at_or_below(&self, path: &[String]) -> bool {
        self.node(path).is_some_and(|n| !n.is_empty())
    }

    pub fn remove_member(&mut self, path: &[String]) {
        fn go(set: &mut FieldSet, path: &[String]) {
            match path {
                [] => set.member = false,
                [first, rest @ ..] => {
                    if let Some(c) = set.children.get_mut(first) {
                        go(c, rest);
                    }
                }
            }
        }
        go(self, path);
        self.prune();
    }
}

/// Collects the field set of `value` into `node` following the schema's shapes.
pub fn collect(value: &Value, schema: Option<&Value>, node: &mut FieldSet) {
    match shape(schema, value) {
        Shape::Struct => {
            let Some(map) = value.as_object() else {
                node.member = true;
                return;
            };
            if map.is_empty() {
                node.member = true;
            }
            collect_fields(map, schema, node);
        }
        Shape::Map => {
            node.member = true;
            if let Some(map) = value.as_object() {
                collect_fields(map, schema, node);
            }
        }
        Shape::Set => {
            node.member = true;
            for item in value.as_array().into_iter().flatten() {
                node.children.entry(value_elem(item)).or_default().member = true;
            }
        }
        Shape::ListMap(keys) => {
            node.member = true;
            let item_schema = schema.and_then(items_schema);
            for item in value.as_array().into_iter().flatten() {
                let child = node.children.entry(key_elem(item, &keys)).or_default();
                child.member = true;
                if shape(item_schema, item) != Shape::Atomic
                    && let Some(map) = item.as_object()
                {
                    collect_fields(map, item_schema, child);
                }
            }
        }
        Shape::Atomic => node.member = true,
    }
}

fn collect_fields(map: &Map<String, Value>, schema: Option<&Value>, node: &mut FieldSet) {
    for (k, v) in map {
        if v.is_null() {
            continue;
        }
        let cs = schema.and_then(|s| child_schema(s, k));
        collect(v, cs, node.children.entry(field_elem(k)).or_default());
    }
}

/// The child of a value addressed by one path element.
pub fn child<'a>(value: &'a Value, elem: &str) -> Option<&'a Value> {
    match parse_elem(elem)? {
        Elem::Field(n) => value.get(n.as_str()),
        Elem::Key(m) => value.as_array()?.iter().find(|item| m.iter().all(|(k, kv)| item.get(k.as_str()) == Some(kv))),
        Elem::Value(v) => value.as_array()?.iter().find(|item| **item == v),
        Elem::Index(i) => value.get(i),
    }
}

pub fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = value;
    for e in path {
        cur = child(cur, e)?;
    }
    Some(cur)
}

/// Removes the node at `path` from a value; returns whether something was removed.
pub fn remove_at(value: &mut Value, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => match parse_elem(last) {
            Some(Elem::Field(n)) => value.as_object_mut().is_some_and(|m| m.shift_remove(&n).is_some()),
            Some(Elem::Key(m)) => value.as_array_mut().is_some_and(|items| {
                let before = items.len();
                items.retain(|item| !m.iter().all(|(k, kv)| item.get(k.as_str()) == Some(kv)));
                items.len() != before
            }),
            Some(Elem::Value(v)) => value.as_array_mut().is_some_and(|items| {
                let before = items.len();
                items.retain(|item| *item != v);
                items.len() != before
            }),
            Some(Elem::Index(i)) => value.as_array_mut().is_some_and(|items| {
                if i < items.len() {
                    items.remove(i);
                    true
                } else {
                    false
                }
            }),
            None => false,
        },
        [first, rest @ ..] => {
            let next = match parse_elem(first) {
                Some(Elem::Field(n)) => value.get_mut(n.as_str()),
                Some(Elem::Key(m)) => value.as_array_mut().and_then(|items| {
                    items.iter_mut().find(|item| m.iter().all(|(k, kv)| item.get(k.as_str()) == Some(kv)))
                }),
                Some(Elem::Value(v)) => {
                    value.as_array_mut().and_then(|items| items.iter_mut().find(|item| **item == v))
                }
                Some(Elem::Index(i)) => value.get_mut(i),
                None => None,
            };
            next.is_some_and(|n| remove_at(n, rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_v1_round_trip() {
        let schema = crate::builtin::metadata_schema();
        let meta = json!({"labels": {"a": "1"}, "finalizers": ["x"], "ownerReferences": [{"uid": "u1", "name": "o"}]});
        let mut set = FieldSet::default();
        collect(&meta, Some(schema), &mut set);
        let v1 = set.to_fields_v1();
        assert_eq!(
            v1,
            json!({
                "f:finalizers": {".": {}, "v:\"x\"": {}},
                "f:labels": {".": {}, "f:a": {}},
                "f:ownerReferences": {".": {}, "k:{\"uid\":\"u1\"}": {}}
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&v1), set);
        let path = vec!["f:labels".to_string(), "f:a".to_string()];
        assert_eq!(lookup(&meta, &path), Some(&json!("1")));
        assert_eq!(display_path(&path), ".labels.a");
    }
}
