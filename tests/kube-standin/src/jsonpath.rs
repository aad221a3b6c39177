//! The JSONPath subset used by CRD `additionalPrinterColumns`.
//!
//! Mirrors `k8s.io/client-go/util/jsonpath` as used by the CRD table convertor: optional `{}`
//! wrapper, `.field`, `['field']`, `[N]` (negative from the end), `[*]`, `..field` (recursive),
//! and filters `[?(@.a.b == "x")]` with `==`, `!=`, `<`, `<=`, `>`, `>=` or bare existence
//! `[?(@.a)]`.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Field(String),
    Recursive(String),
    Index(i64),
    Wildcard,
    Filter(Vec<String>, Option<(String, Value)>),
}

/// A parsed JSONPath expression.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath(Vec<Seg>);

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '/'
}

fn parse_literal(s: &str) -> Result<Value, String> {
    let s = s.trim();
    if let Some(inner) = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
    {
        return Ok(Value::String(inner.to_string()));
    }
    match s {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "null" | "nil" => return Ok(Value::Null),
        _ => {}
    }
    serde_json::from_str::<serde_json::Number>(s)
        .map(Value::Number)
        .map_err(|_| format!("unrecognized filter literal {s:?}"))
}

fn parse_filter(body: &str) -> Result<Seg, String> {
    let body = body.trim();
    let ops = ["==", "!=", "<=", ">=", "<", ">"];
    let (lhs, op) = match ops.iter().find_map(|op| body.find(op).map(|i| (i, *op))) {
        Some((i, op)) => (&body[..i], Some((op.to_string(), parse_literal(&body[i + op.len()..])?))),
        None => (body, None),
    };
    let lhs = lhs.trim();
    let rest = lhs.strip_prefix('@').ok_or_else(|| format!("unrecognized filter {body:?}"))?;
    let path: Vec<String> = rest.split('.').filter(|s| !s.is_empty()).map(str::to_string).collect();
    Ok(Seg::Filter(path, op))
}

impl JsonPath {
    pub fn parse(expr: &str) -> Result<Self, String> {
        let mut s = expr.trim();
        if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            s = inner.trim();
        }
        if let Some(rest) = s.strip_prefix('$') {
            s = rest;
        }
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        let mut segs = Vec::new();
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let recursive = chars.get(i + 1) == Some(&'.');
                    i += if recursive { 2 } else { 1 };
                    let start = i;
                    while i < chars.len() && (ident_char(chars[i]) || chars[i] == '\\') {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    let name: String = chars[start..i.min(chars.len())].iter().collect::<String>().replace("\\.", ".");
                    if name == "*" || (name.is_empty() && chars.get(i) == Some(&'*')) {
                        if chars.get(i) == Some(&'*') {
                            i += 1;
                        }
                        segs.push(Seg::Wildcard);
                    } else if name.is_empty() {
                        if i >= chars.len() && !recursive {
                            break;
                        }
                        if chars.get(i) != Some(&'[') {
                            return Err(format!("invalid JSONPath {expr:?}"));
                        }
                    } else if recursive {
                        segs.push(Seg::Recursive(name));
                    } else {
                        segs.push(Seg::Field(name));
                    }
                }
                '[' => {
                    let mut depth = 0;
                    let start = i;
                    while i < chars.len() {
                        match chars[i] {
                            '[' => depth += 1,
                            ']' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    if i >= chars.len() {
                        return Err(format!("unterminated array notation in {expr:?}"));
                    }
                    let inner: String = chars[start + 1..i].iter().collect();
                    i += 1;
                    let inner = inner.trim();
                    if inner == "*" {
                        segs.push(Seg::Wildcard);
                    } else if let Some(f) = inner.strip_prefix("?(").and_then(|r| r.strip_suffix(')')) {
                        segs.push(parse_filter(f)?);
                    } else if let Ok(n) = inner.parse::<i64>() {
                        segs.push(Seg::Index(n));
                    } else if let Value::String(name) = parse_literal(inner)? {
                        segs.push(Seg::Field(name));
                    } else {
                        return Err(format!("invalid array index {inner:?}"));
                    }
                }
                c if c.is_whitespace() => i += 1,
                _ => return Err(format!("unrecognized character in action: {:?}", chars[i])),
            }
        }
        Ok(Self(segs))
    }

    /// All values the path selects.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut cur = vec![root];
        for seg in &self.0 {
            let mut next = Vec::new();
            for v in cur {
                match seg {
                    Seg::Field(name) => {
                        if let Some(c) = v.get(name.as_str()) {
                            next.push(c);
                        }
                    }
                    Seg::Recursive(name) => collect_recursive(v, name, &mut next),
                    Seg::Index(n) => {
                        if let Some(a) = v.as_array() {
                            let idx = if *n < 0 { a.len() as i64 + n } else { *n };
                            if let Some(c) = usize::try_from(idx).ok().and_then(|i| a.get(i)) {
                                next.push(c);
                            }
                        }
                    }
                    Seg::Wildcard => match v {
                        Value::Array(a) => next.extend(a.iter()),
                        Value::Object(m) => next.extend(m.values()),
                        _ => {}
                    },
                    Seg::Filter(path, op) => {
                        if let Some(a) = v.as_array() {
                            for item in a {
                                let mut field = Some(item);
                                for p in path {
                                    field = field.and_then(|f| f.get(p.as_str()));
                                }
                                let keep = match (field, op) {
                                    (None, _) => false,
                                    (Some(_), None) => true,
                                    (Some(f), Some((op, lit))) => compare(f, op, lit),
                                };
                                if keep {
                                    next.push(item);
                                }
                            }
                        }
                    }
                }
            }
            cur = next;
        }
        cur
    }
}

fn collect_recursive<'a>(v: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if let Some(c) = m.get(name) {
                out.push(c);
            }
            for c in m.values() {
                collect_recursive(c, name, out);
            }
        }
        Value::Array(a) => {
            for c in a {
                collect_recursive(c, name, out);
            }
        }
        _ => {}
    }
}

fn compare(a: &Value, op: &str, b: &Value) -> bool {
    match op {
        "==" => a == b,
        "!=" => a != b,
        _ => {
            let ord = match (a, b) {
                (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()),
                (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
                _ => None,
            };
            match (ord, op) {
                (Some(o), "<") => o.is_lt(),
                (Some(o), "<=") => o.is_le(),
                (Some(o), ">") => o.is_gt(),
                (Some(o), ">=") => o.is_ge(),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn printer_column_paths() {
        let obj = json!({"status": {"id": "42", "conditions": [
            {"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}
        ]}, "spec": {"items": [1, 2, 3]}});
        let find = |p: &str| -> Vec<Value> {
            JsonPath::parse(p).map(|jp| jp.find(&obj).into_iter().cloned().collect()).unwrap_or_default()
        };
        assert_eq!(find(".status.conditions[?(@.type==\"Ready\")].status"), vec![json!("True")]);
        assert_eq!(find("{.status.id}"), vec![json!("42")]);
        assert_eq!(find(".spec.items[-1]"), vec![json!(3)]);
        assert_eq!(find(".spec.items[*]").len(), 3);
        assert_eq!(find("..type"), vec![json!("Synced"), json!("Ready")]);
        assert_eq!(find(".status['id']"), vec![json!("42")]);
        assert!(JsonPath::parse(".a[").is_err());
    }
}
