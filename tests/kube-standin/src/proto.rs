//! Decoding of Kubernetes protobuf request bodies for the built-in kinds kubectl sends that
//! way (`kubectl create secret ...`, `kubectl create namespace ...`).
//!
//! Mirrors the apiserver's protobuf serializer: a body is the magic `k8s\0` followed by a
//! `runtime.Unknown` envelope (`typeMeta`, `raw`) whose `raw` bytes are the object's
//! generated.proto message. Only `Secret` and `Namespace` (with `ObjectMeta` and
//! `OwnerReference`) are understood; anything else answers 415 like a server without the codec.
//! Responses are always JSON, which client-go accepts.

use base64::Engine;
use serde_json::{Map, Value, json};

#[derive(Debug)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

fn fields(buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let field = key >> 3;
        let wire = match key & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            1 => {
                pos = pos.checked_add(8)?;
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len)?;
                let bytes = buf.get(pos..end)?;
                pos = end;
                Wire::Bytes(bytes)
            }
            5 => {
                pos = pos.checked_add(4)?;
                Wire::Fixed
            }
            _ => return None,
        };
        if pos > buf.len() {
            return None;
        }
        out.push((field, wire));
    }
    Some(out)
}

fn text(b: &[u8]) -> Value {
    json!(String::from_utf8_lossy(b))
}

/// Go's generated marshallers write empty strings too; JSON omits them.
fn drop_empty(m: &mut Map<String, Value>) {
    m.retain(|_, v| v.as_str() != Some(""));
}

fn map_entry(b: &[u8], bytes_value: bool) -> Option<(String, Value)> {
    let mut key = String::new();
    let mut value = json!("");
    for (f, w) in fields(b)? {
        match (f, w) {
            (1, Wire::Bytes(k)) => key = String::from_utf8_lossy(k).into_owned(),
            (2, Wire::Bytes(v)) if bytes_value => value = json!(base64::engine::general_purpose::STANDARD.encode(v)),
            (2, Wire::Bytes(v)) => value = text(v),
            _ => {}
        }
    }
    Some((key, value))
}

fn time(b: &[u8]) -> Option<Value> {
    let mut seconds = 0i64;
    for (f, w) in fields(b)? {
        if let (1, Wire::Varint(v)) = (f, w) {
            seconds = v as i64;
        }
    }
    let ts = jiff::Timestamp::from_second(seconds).ok()?;
    Some(json!(crate::meta::format_time(ts)))
}

fn owner_reference(b: &[u8]) -> Option<Value> {
    let mut m = Map::new();
    for (f, w) in fields(b)? {
        match (f, w) {
            (1, Wire::Bytes(v)) => {
                m.insert("kind".into(), text(v));
            }
            (3, Wire::Bytes(v)) => {
                m.insert("name".into(), text(v));
            }
            (4, Wire::Bytes(v)) => {
                m.insert("uid".into(), text(v));
            }
            (5, Wire::Bytes(v)) => {
                m.insert("apiVersion".into(), text(v));
            }
            (6, Wire::Varint(v)) => {
                m.insert("controller".into(), json!(v != 0));
            }
            (7, Wire::Varint(v)) => {
                m.insert("blockOwnerDeletion".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    Some(Value::Object(m))
}

fn object_meta(b: &[u8]) -> Option<Value> {
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut owners = Vec::new();
    let mut finalizers = Vec::new();
    for (f, w) in fields(b)? {
        match (f, w) {
            (1, Wire::Bytes(v)) => {
                m.insert("name".into(), text(v));
            }
            (2, Wire::Bytes(v)) => {
                m.insert("generateName".into(), text(v));
            }
            (3, Wire::Bytes(v)) => {
                m.insert("namespace".into(), text(v));
            }
            (5, Wire::Bytes(v)) => {
                m.insert("uid".into(), text(v));
            }
            (6, Wire::Bytes(v)) => {
                m.insert("resourceVersion".into(), text(v));
            }
            (8, Wire::Bytes(v)) => {
                if let Some(t) = time(v) {
                    m.insert("creationTimestamp".into(), t);
                }
            }
            (11, Wire::Bytes(v)) => {
                let (k, val) = map_entry(v, false)?;
                labels.insert(k, val);
            }
            (12, Wire::Bytes(v)) => {
                let (k, val) = map_entry(v, false)?;
                annotations.insert(k, val);
            }
            (13, Wire::Bytes(v)) => owners.push(owner_reference(v)?),
            (14, Wire::Bytes(v)) => finalizers.push(text(v)),
            _ => {}
        }
    }
    drop_empty(&mut m);
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !owners.is_empty() {
        m.insert("ownerReferences".into(), Value::Array(owners));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Some(Value::Object(m))
}

fn secret(b: &[u8]) -> Option<Value> {
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!("Secret"));
    let mut data = Map::new();
    let mut string_data = Map::new();
    for (f, w) in fields(b)? {
        match (f, w) {
            (1, Wire::Bytes(v)) => {
                obj.insert("metadata".into(), object_meta(v)?);
            }
            (2, Wire::Bytes(v)) => {
                let (k, val) = map_entry(v, true)?;
                data.insert(k, val);
            }
            (3, Wire::Bytes(v)) => {
                obj.insert("type".into(), text(v));
            }
            (4, Wire::Bytes(v)) => {
                let (k, val) = map_entry(v, false)?;
                string_data.insert(k, val);
            }
            (5, Wire::Varint(v)) => {
                obj.insert("immutable".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    drop_empty(&mut obj);
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !string_data.is_empty() {
        obj.insert("stringData".into(), Value::Object(string_data));
    }
    Some(Value::Object(obj))
}

fn namespace(b: &[u8]) -> Option<Value> {
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!("Namespace"));
    for (f, w) in fields(b)? {
        if let (1, Wire::Bytes(v)) = (f, w) {
            obj.insert("metadata".into(), object_meta(v)?);
        }
    }
    Some(Value::Object(obj))
}

/// Decodes a protobuf body into JSON, or `None` when it is not a Secret or Namespace.
pub fn decode(body: &[u8]) -> Option<Value> {
    let envelope = body.strip_prefix(b"k8s\0")?;
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (f, w) in fields(envelope)? {
        match (f, w) {
            (1, Wire::Bytes(tm)) => {
                for (tf, tw) in fields(tm)? {
                    if let (2, Wire::Bytes(k)) = (tf, tw) {
                        kind = String::from_utf8_lossy(k).into_owned();
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    match kind.as_str() {
        "Secret" => secret(raw),
        "Namespace" => namespace(raw),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_secret_envelope() {
        let meta = [field(1, b"s1"), field(3, b"default")].concat();
        let entry = [field(1, b"a"), field(2, b"b")].concat();
        let secret = [field(1, &meta), field(2, &entry), field(3, b"Opaque")].concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let envelope = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &secret)].concat();
        let v = decode(&envelope);
        assert_eq!(
            v,
            Some(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "s1", "namespace": "default"},
                "type": "Opaque", "data": {"a": "Yg=="}}))
        );
        assert_eq!(decode(b"k8s\0\x0a\x02"), None);
    }
}
