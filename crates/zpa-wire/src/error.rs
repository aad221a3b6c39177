//! The API's error body: `{"id","reason","params"?,"exception"?}`.
//! OneAPI and ZIA-style gateways answer with `code`/`message` instead.

use serde::{Deserialize, Serialize};

use super::lenient;

/// Every field is read leniently (numbers, objects or lists where text is
/// expected become their JSON text): an error body of an unexpected shape
/// must still yield its id and reason, never hide them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(with = "lenient::opt_strings", default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<String>>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(with = "lenient::opt_string_or_number", default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ApiErrorBody {
    pub fn new(id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { id: Some(id.into()), reason: Some(reason.into()), ..Self::default() }
    }

    pub fn with_params(mut self, params: Vec<String>) -> Self {
        self.params = Some(params);
        self
    }
}

/// Error ids the operator and the simulator agree on. Real ids where the
/// sources show them; the rest follow the API's dotted style.
pub mod ids {
    pub const RESOURCE_NOT_FOUND: &str = "resource.not.found";
    pub const INVALID_ARGUMENT: &str = "invalid.resource.argument";
    pub const TOO_MANY_REQUESTS: &str = "invalid.toomanyrequests";
    pub const CONCURRENT_ACCESS: &str = "api.concurrent.access.error";
    pub const EDIT_LOCK: &str = "EDIT_LOCK_NOT_AVAILABLE";
    pub const RETRYABLE_SERVER_ERROR: &str = "retryable.server.error";
    pub const ACCESS_DENIED: &str = "access.denied";
    pub const SESSION_NOT_VALID: &str = "SESSION_NOT_VALID";
    pub const RESOURCE_ACCESS_BLOCKED: &str = "Resource Access Blocked";
    pub const DOMAIN_NOT_OF_CUSTOMER: &str = "domains.does.not.belong.to.customer";
    pub const DOMAIN_IN_OTHER_MICROTENANT: &str = "domains.already.exists.in.other.microtenant";
    pub const RESOURCE_ALREADY_EXISTS: &str = "resource.already.exist";
    pub const RESOURCE_IN_USE: &str = "resource.in.use";
    pub const DEFAULT_PROFILE_DELETE: &str = "default.profile.delete.not.allowed";
    pub const FILTERING_INVALID: &str = "filtering.input.invalid.operand";
    /// 400 from the legacy API under simultaneous writes; the Go SDK retries it
    /// (`zscaler/zpa/config.go` checkRetry).
    pub const DB_SIMULTANEOUS_REQUEST: &str = "db.simultaneous.request";
    /// The `params` entry of a CBI "not mapped" answer (zscaler-terraformer#270).
    pub const CBI_MAPPING_PARAM: &str = "zpnCbiMapping";
    /// The `reason` of a 404 from a route the tenant does not serve, which is
    /// what CBI answers when it is not available (zscaler-terraformer#242).
    pub const NO_HANDLER_FOUND: &str = "No handler found";

    /// Refusals the client knows (a spec to fix, an object in use, a default
    /// that stays): reported as they are, not retried. Any other id on a 4xx
    /// is an unknown refusal, tried a few times and then reported as
    /// `ZpaError::Refused` with ZPA's message.
    pub const KNOWN_REFUSALS: &[&str] = &[
        INVALID_ARGUMENT,
        DOMAIN_NOT_OF_CUSTOMER,
        DOMAIN_IN_OTHER_MICROTENANT,
        RESOURCE_IN_USE,
        DEFAULT_PROFILE_DELETE,
        FILTERING_INVALID,
        ACCESS_DENIED,
        "bad.request",
    ];
}
