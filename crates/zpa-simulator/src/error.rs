//! The simulator's error responses: ZPA's `{"id","reason","params"?}` bodies.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use zpa_wire::error::{ApiErrorBody, ids};

/// Error ids the simulator uses that the client has no reason to know by name.
pub mod sim_ids {
    /// A request body that is not JSON, or JSON of the wrong shape.
    pub const MALFORMED_BODY: &str = "json.parse.error";
    /// More Microtenants than a tenant may have (500).
    pub const LIMIT_EXCEEDED: &str = "resource.limit.exceeded";
    /// DELETE of the Default Microtenant (`"0"`).
    pub const DEFAULT_MICROTENANT_DELETE: &str = "default.microtenant.delete.not.allowed";
}

/// An API error: a status, a ZPA error body and optionally a `retry-after`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Box<ApiErrorBody>,
    /// Whole seconds, sent as `retry-after: <n>s`.
    pub retry_after_secs: Option<u64>,
    /// Whole seconds, sent as `x-ratelimit-reset: <n>` (the OneAPI gateway's header).
    pub ratelimit_reset_secs: Option<u64>,
}

pub type ApiResult = Result<Response, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, id: &str, reason: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ApiErrorBody::new(id, reason)),
            retry_after_secs: None,
            ratelimit_reset_secs: None,
        }
    }

    pub fn bad_request(id: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, id, reason)
    }

    /// 400 `invalid.resource.argument` naming the offending field in `params`.
    pub fn invalid_argument(field: &str, reason: impl Into<String>) -> Self {
        Self::bad_request(ids::INVALID_ARGUMENT, reason).with_params(vec![field.to_owned()])
    }

    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ids::RESOURCE_NOT_FOUND, reason)
    }

    pub fn malformed(reason: impl Into<String>) -> Self {
        Self::bad_request(sim_ids::MALFORMED_BODY, reason)
    }

    pub fn with_params(mut self, params: Vec<String>) -> Self {
        self.body.params = Some(params);
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The error id.
    #[cfg(test)]
    pub fn id(&self) -> &str {
        self.body.id.as_deref().unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(*self.body)).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&format!("{secs}s"))
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let Some(secs) = self.ratelimit_reset_secs {
            response.headers_mut().insert("x-ratelimit-reset", HeaderValue::from(secs));
        }
        response
    }
}

/// Parses a request body as a JSON object.
pub fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::malformed("The request body must be a JSON object.")),
        Err(err) => Err(ApiError::malformed(format!("The request body is not valid JSON: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_written_with_an_s_suffix() {
        let response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, ids::TOO_MANY_REQUESTS, "x")
            .with_retry_after(13)
            .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "13s");
    }

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(parse_object(br#"{"a":1}"#).is_ok());
        assert_eq!(parse_object(b"[1]").unwrap_err().id(), sim_ids::MALFORMED_BODY);
        assert_eq!(parse_object(b"{nope").unwrap_err().status, StatusCode::BAD_REQUEST);
    }
}
