//! `Status` error bodies and field errors.
//!
//! Mirrors apimachinery's `k8s.io/apimachinery/pkg/api/errors` (NotFound, AlreadyExists,
//! Conflict, Invalid, BadRequest, ...) and `util/validation/field` (`field.Error` with its
//! `ErrorBody()` rendering such as `Invalid value: 1: ...` or `Unsupported value: "x": supported
//! values: ...`), so clients see the same codes, reasons, messages and `details.causes`.

use serde_json::{Value, json};

/// The kind of a field error, as `field.ErrorType` in apimachinery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    TypeInvalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
}

impl FieldErrorKind {
    fn reason(self) -> &'static str {
        match self {
            Self::NotFound => "FieldValueNotFound",
            Self::Required => "FieldValueRequired",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Invalid => "FieldValueInvalid",
            Self::TypeInvalid => "FieldValueTypeInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Internal => "InternalError",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Required => "Required value",
            Self::Duplicate => "Duplicate value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Internal => "Internal error",
        }
    }
}

/// One field error (`field.Error`).
#[derive(Clone, Debug)]
pub struct FieldError {
    pub kind: FieldErrorKind,
    pub field: String,
    /// The bad value; `None` means the value is omitted from the message.
    pub value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    pub fn new(kind: FieldErrorKind, field: &str, value: Option<Value>, detail: &str) -> Self {
        Self { kind, field: field.to_string(), value, detail: detail.to_string() }
    }
    pub fn required(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorKind::Required, field, None, detail)
    }
    pub fn invalid(field: &str, value: Value, detail: &str) -> Self {
        Self::new(FieldErrorKind::Invalid, field, Some(value), detail)
    }
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(FieldErrorKind::Forbidden, field, None, detail)
    }

    /// `field.Error.ErrorBody()`.
    pub fn body(&self) -> String {
        let mut s = match self.kind {
            FieldErrorKind::Required
            | FieldErrorKind::Forbidden
            | FieldErrorKind::TooLong
            | FieldErrorKind::Internal => self.kind.label().to_string(),
            _ => match &self.value {
                None => self.kind.label().to_string(),
                Some(v) => format!("{}: {}", self.kind.label(), go_value(v)),
            },
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// `field.Error.Error()`.
    pub fn message(&self) -> String {
        if self.field.is_empty() { self.body() } else { format!("{}: {}", self.field, self.body()) }
    }
}

/// Renders a value the way `field.Error` does with Go's fmt verbs.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "\"null\"".to_string(),
        Value::String(s) => go_quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_literal).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map.iter().map(|(k, v)| format!("{}:{}", go_quote(k), go_literal(v))).collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

fn go_literal(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".to_string(),
        other => go_value(other),
    }
}

/// Go's `%q` for the common cases.
pub fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// An error answered to the client as a `Status` object.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    pub details: Option<Box<Value>>,
}

/// The group/resource pair used in error messages (`secrets`, `isolationprofiles.zpa.operator.dev`).
pub fn qualified_resource(group: &str, resource: &str) -> String {
    if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") }
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self { code, reason: reason.to_string(), message: message.into(), details: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{} {} not found", qualified_resource(group, resource), go_quote(name)))
            .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    pub fn path_not_found() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource").with_details(json!({}))
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} {} already exists", qualified_resource(group, resource), go_quote(name)),
        )
        .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {}: {}",
                qualified_resource(group, resource),
                go_quote(name),
                why
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    pub fn stale(group: &str, resource: &str, name: &str) -> Self {
        Self::conflict(
            group,
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `errors.NewInvalid(qualifiedKind, name, errs)`.
    pub fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let qualified = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
        let causes: Vec<Value> =
            errors.iter().map(|e| json!({"reason": e.kind.reason(), "message": e.body(), "field": e.field})).collect();
        let message = match errors {
            [] => format!("{qualified} {} is invalid", go_quote(name)),
            [one] => format!("{qualified} {} is invalid: {}", go_quote(name), one.message()),
            many => {
                let parts: Vec<String> = many.iter().map(FieldError::message).collect();
                format!("{qualified} {} is invalid: [{}]", go_quote(name), parts.join(", "))
            }
        };
        Self::new(422, "Invalid", message)
            .with_details(json!({"name": name, "group": group, "kind": kind, "causes": causes}))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn unsupported_media_type(content_type: &str, accepted: &[&str]) -> Self {
        let _ = content_type;
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", format!("Internal error occurred: {}", message.into()))
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// A generic 422 such as a failed JSON patch test.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    /// The `Status` object sent in the body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let (Some(details), Some(obj)) = (&self.details, status.as_object_mut()) {
            obj.insert("details".into(), (**details).clone());
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_message_matches_apiserver_shape() {
        let e = FieldError::invalid("spec.regions", json!(1), "spec.regions in body should have at least 2 items");
        let err = ApiError::invalid("zpa.operator.dev", "IsolationProfile", "bad", &[e]);
        assert_eq!(
            err.message,
            "IsolationProfile.zpa.operator.dev \"bad\" is invalid: spec.regions: Invalid value: 1: spec.regions in body should have at least 2 items"
        );
        let n = FieldError::new(
            FieldErrorKind::NotSupported,
            "spec.x",
            Some(json!("maybe")),
            "supported values: \"none\", \"all\"",
        );
        assert_eq!(n.message(), "spec.x: Unsupported value: \"maybe\": supported values: \"none\", \"all\"");
        assert_eq!(FieldError::required("spec.a", "").message(), "spec.a: Required value");
    }
}
