//! What the API server checks of a manifest of these CRDs before it stores
//! it, without an API server: the kind must be served, the object must
//! decode strictly (no unknown field at any level, as `kubectl apply`'s
//! default `--validate=strict` asks), match the structural schema (types,
//! required fields, enums, bounds, patterns, list sets), carry a valid
//! name, and pass the CEL rules. Messages are worded as the API server
//! words them, so `plan` refuses a manifest with the words `kubectl apply`
//! would print.
//!
//! The schemas are the ones this binary generates ([`super::all`], what
//! `crds/` holds): one source of truth. CEL rules are evaluated by kube's
//! `kube-cel` (the `cel` crate with the Kubernetes CEL libraries).
//! Transition rules (those reading `oldSelf`) need the stored object: they
//! run only when the caller passes an old version of the object (a second
//! document for the same object, as `kubectl apply` would send it as an
//! update); against a cluster's stored object they cannot run here.

use std::fmt;
use std::sync::OnceLock;

use kube::core::cel::{ErrorKind, Validator};
use regex::Regex;
use serde_json::Value;

use super::GROUP;

/// A served kind of the group, with its schema.
#[derive(Debug)]
pub struct ServedKind {
    pub kind: String,
    pub version: String,
    pub plural: String,
    pub namespaced: bool,
    /// The version's `openAPIV3Schema`, as JSON.
    pub schema: Value,
}

impl ServedKind {
    pub fn api_version(&self) -> String {
        format!("{GROUP}/{}", self.version)
    }
}

/// Every served kind and version of the CRDs.
pub fn served_kinds() -> &'static [ServedKind] {
    static KINDS: OnceLock<Vec<ServedKind>> = OnceLock::new();
    KINDS.get_or_init(|| {
        let mut kinds = Vec::new();
        for crd in super::all() {
            for version in crd.spec.versions.iter().filter(|v| v.served) {
                let schema = version
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .and_then(|s| serde_json::to_value(s).ok())
                    .unwrap_or(Value::Null);
                kinds.push(ServedKind {
                    kind: crd.spec.names.kind.clone(),
                    version: version.name.clone(),
                    plural: crd.spec.names.plural.clone(),
                    namespaced: crd.spec.scope == "Namespaced",
                    schema,
                });
            }
        }
        kinds
    })
}

/// Whether `api_version` is of this operator's group (any version).
pub fn is_our_group(api_version: &str) -> bool {
    api_version.split_once('/').is_some_and(|(group, _)| group == GROUP)
}

/// Why a manifest is refused, in the words of `kubectl apply` and the API server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// kubectl refuses a document without `apiVersion` or `kind` before sending it.
    #[error("error validating data: {}", not_set(*.api_version, *.kind))]
    NotSet { api_version: bool, kind: bool },
    /// No CRD serves this kind in this version.
    #[error("no matches for kind {kind:?} in version {api_version:?}; the CRDs serve {served}")]
    NoMatch { kind: String, api_version: String, served: String },
    /// Strict decoding: fields the schema does not know.
    #[error("{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}", unknown(fields))]
    UnknownFields { kind: String, version: String, fields: Vec<String> },
    /// Schema, name or CEL validation.
    #[error("{kind}.{GROUP} {name:?} is invalid: {}", list_causes(causes))]
    Invalid { kind: String, name: String, causes: Vec<FieldError> },
}

fn not_set(api_version: bool, kind: bool) -> String {
    match (api_version, kind) {
        (true, true) => "[apiVersion not set, kind not set]".into(),
        (true, false) => "apiVersion not set".into(),
        _ => "kind not set".into(),
    }
}

fn unknown(fields: &[String]) -> String {
    fields.iter().map(|f| format!("unknown field {f:?}")).collect::<Vec<_>>().join(", ")
}

fn list_causes(causes: &[FieldError]) -> String {
    match causes {
        [one] => one.to_string(),
        many => format!("[{}]", many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// One invalid field, as `k8s.io/apimachinery`'s `field.Error` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// `spec.regions[1]`.
    pub path: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Required {
        detail: Option<String>,
    },
    /// The value has another JSON type than the schema's.
    WrongType {
        found: &'static str,
        expected: String,
        value: String,
    },
    Unsupported {
        value: String,
        supported: Vec<String>,
    },
    TooLong {
        max: u64,
    },
    TooShort {
        value: String,
        min: u64,
    },
    TooMany {
        count: usize,
        max: u64,
    },
    TooFew {
        count: usize,
        min: u64,
    },
    Pattern {
        value: String,
        pattern: String,
    },
    Minimum {
        value: String,
        min: String,
    },
    Maximum {
        value: String,
        max: String,
    },
    Duplicate {
        value: String,
    },
    /// A CEL rule failed (or could not be evaluated), or a name is malformed.
    Invalid {
        value: String,
        detail: String,
    },
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match &self.problem {
            Problem::Required { detail: None } => write!(f, "{path}: Required value"),
            Problem::Required { detail: Some(detail) } => write!(f, "{path}: Required value: {detail}"),
            Problem::WrongType { found, expected, value } => {
                write!(f, "{path}: Invalid value: {found:?}: {path} in body must be of type {expected}: {value}")
            }
            Problem::Unsupported { value, supported } => {
                let supported = supported.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
                write!(f, "{path}: Unsupported value: {value}: supported values: {supported}")
            }
            Problem::TooLong { max } => {
                write!(f, "{path}: Too long: may not be more than {max} {}", if *max == 1 { "byte" } else { "bytes" })
            }
            Problem::TooShort { value, min } => {
                write!(f, "{path}: Invalid value: {value}: {path} in body should be at least {min} chars long")
            }
            Problem::TooMany { count, max } => write!(f, "{path}: Too many: {count}: must have at most {max} items"),
            Problem::TooFew { count, min } => {
                write!(f, "{path}: Invalid value: {count}: {path} in body should have at least {min} items")
            }
            Problem::Pattern { value, pattern } => {
                write!(f, "{path}: Invalid value: {value}: {path} in body should match '{pattern}'")
            }
            Problem::Minimum { value, min } => {
                write!(f, "{path}: Invalid value: {value}: {path} in body should be greater than or equal to {min}")
            }
            Problem::Maximum { value, max } => {
                write!(f, "{path}: Invalid value: {value}: {path} in body should be less than or equal to {max}")
            }
            Problem::Duplicate { value } => write!(f, "{path}: Duplicate value: {value}"),
            Problem::Invalid { value, detail } => write!(f, "{path}: Invalid value: {value}: {detail}"),
        }
    }
}

/// Checks a document of this group as `kubectl apply` and the API server
/// would. `old` is the previous version of the same object, when the
/// document updates one (transition rules run only then).
pub fn validate(document: &Value, old: Option<&Value>) -> Result<&'static ServedKind, Refusal> {
    let text = |key: &str| document.get(key).and_then(Value::as_str).filter(|t| !t.is_empty());
    let (Some(api_version), Some(kind_name)) = (text("apiVersion"), text("kind")) else {
        return Err(Refusal::NotSet { api_version: text("apiVersion").is_none(), kind: text("kind").is_none() });
    };
    let kind =
        served_kinds().iter().find(|k| k.kind == kind_name && k.api_version() == api_version).ok_or_else(|| {
            Refusal::NoMatch {
                kind: kind_name.to_owned(),
                api_version: api_version.to_owned(),
                served: served_kinds()
                    .iter()
                    .map(|k| format!("{} {}", k.api_version(), k.kind))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })?;

    let mut unknown = Vec::new();
    let mut errors = Vec::new();
    check_root(&kind.schema, document, &mut Walk { unknown: &mut unknown, errors: &mut errors });
    if !unknown.is_empty() {
        return Err(Refusal::UnknownFields { kind: kind.kind.clone(), version: kind.version.clone(), fields: unknown });
    }
    check_metadata(document.get("metadata"), kind.namespaced, &mut errors);
    // A missing name is one of the causes; the message then shows "".
    let name = document.pointer("/metadata/name").and_then(Value::as_str).map_or_else(String::new, str::to_owned);
    if errors.is_empty() {
        errors.extend(check_rules(&kind.schema, document, old));
    }
    if errors.is_empty() { Ok(kind) } else { Err(Refusal::Invalid { kind: kind.kind.clone(), name, causes: errors }) }
}

struct Walk<'w> {
    unknown: &'w mut Vec<String>,
    errors: &'w mut Vec<FieldError>,
}

/// The fields of `metadata` a strict decode knows (ObjectMeta).
const OBJECT_META: [&str; 15] = [
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

fn check_root(schema: &Value, document: &Value, walk: &mut Walk<'_>) {
    let Some(object) = document.as_object() else { return };
    for (key, value) in object {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                if let Some(meta) = value.as_object() {
                    walk.unknown.extend(
                        meta.keys().filter(|k| !OBJECT_META.contains(&k.as_str())).map(|k| format!("metadata.{k}")),
                    );
                }
            }
            _ => match schema.pointer(&format!("/properties/{}", escape_pointer(key))) {
                Some(property) => check(property, value, key, walk),
                None => walk.unknown.push(key.clone()),
            },
        }
    }
    check_required(schema, object, "", walk);
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// Required properties missing (a `null` of a non-nullable field counts as
/// missing: the API server prunes it before validating).
fn check_required(schema: &Value, object: &serde_json::Map<String, Value>, path: &str, walk: &mut Walk<'_>) {
    for required in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if object.get(required).is_none_or(Value::is_null) {
            walk.errors.push(FieldError { path: join(path, required), problem: Problem::Required { detail: None } });
        }
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value as Go's `%q`/`%v` print it in field errors.
fn shown(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{}", value as i64) } else { value.to_string() }
}

fn check(schema: &Value, value: &Value, path: &str, walk: &mut Walk<'_>) {
    if value.is_null() {
        // Nullable: kept; otherwise pruned. Either way nothing to check here.
        return;
    }
    let found = json_type(value);
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let matches = found == expected || (expected == "number" && found == "integer");
        if !matches {
            let problem = Problem::WrongType { found, expected: expected.to_owned(), value: shown(value) };
            walk.errors.push(FieldError { path: path.to_owned(), problem });
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let supported = allowed.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
        walk.errors.push(FieldError {
            path: path.to_owned(),
            problem: Problem::Unsupported { value: shown(value), supported },
        });
    }
    match value {
        Value::Object(object) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let preserve = schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true);
            for (key, child) in object {
                let child_path = join(path, key);
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(property), _) | (None, Some(property)) => check(property, child, &child_path, walk),
                    (None, None) if preserve => {}
                    (None, None) => walk.unknown.push(child_path),
                }
            }
            check_required(schema, object, path, walk);
        }
        Value::Array(items) => {
            let count = items.len();
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (count as u64) < min
            {
                walk.errors.push(FieldError { path: path.to_owned(), problem: Problem::TooFew { count, min } });
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && (count as u64) > max
            {
                walk.errors.push(FieldError { path: path.to_owned(), problem: Problem::TooMany { count, max } });
                // The API server stops at too many items rather than walking each.
                return;
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), walk);
                }
            }
            if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
                for (i, item) in items.iter().enumerate() {
                    if items[..i].contains(item) {
                        let problem = Problem::Duplicate { value: shown(item) };
                        walk.errors.push(FieldError { path: format!("{path}[{i}]"), problem });
                    }
                }
            }
        }
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && length > max
            {
                walk.errors.push(FieldError { path: path.to_owned(), problem: Problem::TooLong { max } });
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && length < min
            {
                walk.errors.push(FieldError {
                    path: path.to_owned(),
                    problem: Problem::TooShort { value: shown(value), min },
                });
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
                && !pattern_matches(pattern, text)
            {
                let problem = Problem::Pattern { value: shown(value), pattern: pattern.to_owned() };
                walk.errors.push(FieldError { path: path.to_owned(), problem });
            }
        }
        Value::Number(n) => {
            let Some(n) = n.as_f64() else { return };
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                let problem = Problem::Minimum { value: shown(value), min: number(min) };
                walk.errors.push(FieldError { path: path.to_owned(), problem });
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                let problem = Problem::Maximum { value: shown(value), max: number(max) };
                walk.errors.push(FieldError { path: path.to_owned(), problem });
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// The CRDs' patterns are few and fixed: compiled once each.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    static CACHE: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let regex = cache.entry(pattern.to_owned()).or_insert_with(|| Regex::new(pattern).ok());
    // A pattern this engine cannot compile is the API server's to judge; not refused here.
    regex.as_ref().is_none_or(|r| r.is_match(text))
}

const DNS1123_SUBDOMAIN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS1123_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// Whether `name` is a valid name for an object of these CRDs (a DNS-1123
/// subdomain, as the API server requires of custom resources).
pub fn is_valid_object_name(name: &str) -> bool {
    name.len() <= 253 && pattern_matches(DNS1123_SUBDOMAIN, name)
}

fn check_metadata(metadata: Option<&Value>, namespaced: bool, errors: &mut Vec<FieldError>) {
    let text = |key: &str| metadata.and_then(|m| m.get(key)).and_then(Value::as_str).filter(|t| !t.is_empty());
    let name = text("name");
    if name.is_none() && text("generateName").is_none() {
        let detail = Some("name or generateName is required".to_owned());
        errors.push(FieldError { path: "metadata.name".into(), problem: Problem::Required { detail } });
    } else if let Some(name) = name.filter(|n| !is_valid_object_name(n)) {
        let detail = if name.len() > 253 {
            "must be no more than 253 characters".to_owned()
        } else {
            format!(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and \
                 must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation \
                 is '{}')",
                DNS1123_SUBDOMAIN.trim_start_matches('^').trim_end_matches('$')
            )
        };
        errors.push(FieldError {
            path: "metadata.name".into(),
            problem: Problem::Invalid { value: format!("{name:?}"), detail },
        });
    }
    let malformed = |ns: &&str| namespaced && (ns.len() > 63 || !pattern_matches(DNS1123_LABEL, ns));
    if let Some(namespace) = text("namespace").filter(malformed) {
        let detail = format!(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start \
             and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{}')",
            DNS1123_LABEL.trim_start_matches('^').trim_end_matches('$')
        );
        errors.push(FieldError {
            path: "metadata.namespace".into(),
            problem: Problem::Invalid { value: format!("{namespace:?}"), detail },
        });
    }
}

/// The CRD's CEL rules (`x-kubernetes-validations`), with `old` as `oldSelf`
/// for transition rules when given.
fn check_rules(schema: &Value, document: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let Err(failures) = Validator::new().validate(schema, document, old) else { return Vec::new() };
    failures
        .iter()
        .map(|failure| {
            let path = if failure.field_path.is_empty() { "<root>".to_owned() } else { failure.field_path.clone() };
            let value = format!("{:?}", json_type(lookup(document, &failure.field_path).unwrap_or(&Value::Null)));
            let detail = match failure.kind {
                ErrorKind::ValidationFailure => failure.message.clone(),
                _ => format!("the rule {:?} could not be evaluated here: {}", failure.rule, failure.message),
            };
            FieldError { path, problem: Problem::Invalid { value, detail } }
        })
        .collect()
}

/// The value at a field path such as `spec.regions[1]`.
fn lookup<'v>(document: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = document;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, indexes) = segment.split_once('[').map_or((segment, ""), |(k, rest)| (k, rest));
        current = current.get(key)?;
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            current = current.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn profile(spec: Value) -> Value {
        json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "IsolationProfile",
               "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    }

    fn refusal(document: &Value) -> String {
        validate(document, None).map(|_| ()).expect_err("refused").to_string()
    }

    #[test]
    fn a_valid_profile_passes() {
        let doc = profile(json!({"regions": ["Frankfurt", "London"], "securityControls": {"copyPaste": "none"}}));
        assert_eq!(validate(&doc, None).expect("valid").kind, "IsolationProfile");
    }

    #[test]
    fn unknown_fields_at_every_level() {
        let doc = profile(json!({"regions": ["a", "b"], "copyPast": "none",
                                 "securityControls": {"watermark": {"showUserID": true}}}));
        let message = refusal(&doc);
        assert!(message.contains(r#"unknown field "spec.copyPast""#), "{message}");
        assert!(message.contains(r#"unknown field "spec.securityControls.watermark.showUserID""#), "{message}");
        let mut top = profile(json!({"regions": ["a", "b"]}));
        top["specs"] = json!({});
        top["metadata"]["labelz"] = json!({});
        let message = refusal(&top);
        assert!(message.contains(r#"unknown field "specs""#) && message.contains(r#"unknown field "metadata.labelz""#));
    }

    #[test]
    fn schema_messages_are_the_api_server_s() {
        let cases = [
            (
                json!({"regions": ["a"]}),
                "spec.regions: Invalid value: 1: spec.regions in body should have at least 2 items",
            ),
            (
                json!({"regions": ["a", "b"], "isDefault": "yes"}),
                r#"spec.isDefault: Invalid value: "string": spec.isDefault in body must be of type boolean: "yes""#,
            ),
            (
                json!({"regions": ["a", "b"], "securityControls": {"copyPaste": "some"}}),
                r#"spec.securityControls.copyPaste: Unsupported value: "some": supported values: "none", "all""#,
            ),
            (
                json!({"regions": ["a", "b"], "microtenantId": "x"}),
                r#"spec.microtenantId: Invalid value: "x": spec.microtenantId in body should match '^[0-9]+$'"#,
            ),
            (
                json!({"regions": ["a", "b"], "name": "n".repeat(256)}),
                "spec.name: Too long: may not be more than 255 bytes",
            ),
            (json!({"regions": ["a", "a"]}), r#"spec.regions[1]: Duplicate value: "a""#),
            (json!({}), "spec.regions: Required value"),
            (json!({"regions": ["", "b"]}), r#"spec.regions: Invalid value: "array": region names must not be empty"#),
            (
                json!({"regions": ["a", "b"], "securityControls": {"uploadDownload": "all", "flattenedPdf": true}}),
                "flattenedPdf requires uploadDownload to be none or upstream",
            ),
        ];
        for (spec, expected) in cases {
            let message = refusal(&profile(spec.clone()));
            assert!(message.contains(expected), "{spec}: {message}");
            assert!(message.starts_with(r#"IsolationProfile.zpa.operator.dev "p" is invalid: "#), "{message}");
        }
        let too_many: Vec<String> = (0..65).map(|i| format!("r{i}")).collect();
        assert!(
            refusal(&profile(json!({"regions": too_many})))
                .contains("spec.regions: Too many: 65: must have at most 64 items")
        );
    }

    #[test]
    fn kinds_versions_and_names() {
        let mut doc = profile(json!({"regions": ["a", "b"]}));
        doc["apiVersion"] = json!("zpa.operator.dev/v1beta1");
        assert!(
            refusal(&doc)
                .starts_with(r#"no matches for kind "IsolationProfile" in version "zpa.operator.dev/v1beta1""#)
        );
        let mut doc = profile(json!({"regions": ["a", "b"]}));
        doc.as_object_mut().unwrap().remove("kind");
        assert_eq!(refusal(&doc), "error validating data: kind not set");
        let mut doc = profile(json!({"regions": ["a", "b"]}));
        doc["metadata"]["name"] = json!("Web Isolation");
        assert!(
            refusal(&doc).contains(r#"metadata.name: Invalid value: "Web Isolation": a lowercase RFC 1123 subdomain"#)
        );
        assert!(is_our_group("zpa.operator.dev/v9") && !is_our_group("apps/v1"));
    }

    #[test]
    fn transition_rules_need_the_old_object() {
        let old = profile(json!({"regions": ["a", "b"], "externalId": "1"}));
        let new = profile(json!({"regions": ["a", "b"], "externalId": "2"}));
        assert!(validate(&new, None).is_ok(), "a create has no oldSelf");
        let message = validate(&new, Some(&old)).map(|_| ()).unwrap_err().to_string();
        assert!(message.contains(r#"spec: Invalid value: "object": externalId is immutable once set"#), "{message}");
    }

    #[test]
    fn provider_config_numbers_and_bounds() {
        let config = |spec: Value| {
            json!({"apiVersion": "zpa.operator.dev/v1alpha1", "kind": "ZpaProviderConfig",
                   "metadata": {"name": "default"}, "spec": spec})
        };
        let base =
            json!({"customerId": "1", "auth": "legacy", "credentialsSecretRef": {"namespace": "a", "name": "b"}});
        assert!(validate(&config(base.clone()), None).is_ok());
        let mut number = base.clone();
        number["customerId"] = json!(72057594037927936u64);
        assert!(refusal(&config(number)).contains(r#"spec.customerId: Invalid value: "integer": spec.customerId in body must be of type string: 72057594037927936"#));
        let mut zero = base;
        zero["rateLimits"] = json!({"readsPerWindow": 0, "writesPerWindow": 1, "windowSeconds": 1});
        assert!(refusal(&config(zero)).contains("spec.rateLimits.readsPerWindow: Invalid value: 0: spec.rateLimits.readsPerWindow in body should be greater than or equal to 1"));
    }
}
