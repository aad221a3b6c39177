//! What can go wrong talking to ZPA, classified once so every caller agrees
//! on whether to retry and what to tell the user.

use std::time::Duration;

use zpa_wire::error::{ApiErrorBody, ids};

/// A failed ZPA call, after the client's own retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ZpaError {
    /// 404, or a body whose id is `resource.not.found`: the object is gone.
    #[error("not found: {what}")]
    NotFound { what: String },

    /// A CBI call (any of them: lists, single GET, PUT, DELETE, POST) was
    /// answered "not mapped": `400 {"id":"resource.not.found","params":["zpnCbiMapping"]}`
    /// (zscaler/zscaler-terraformer#270, "randomly") or `404 {"reason":"No handler found"}`
    /// (zscaler/zscaler-terraformer#242), or a CBI list answered 404. CBI is
    /// not licensed or not mapped for the tenant at this moment. It says
    /// nothing about the object: never read as "gone".
    #[error("Cloud Browser Isolation is not available for this tenant: {reason}")]
    CbiNotAvailable { reason: String },

    /// An object with that name already exists (`resource.already.exist`).
    #[error("already exists: {reason}")]
    Duplicate { reason: String },

    /// Edit lock or concurrent change (409/412) that outlived the client's retries.
    #[error("conflicting concurrent change ({id}): {reason}")]
    Conflict { id: String, reason: String },

    /// The API refused the request as invalid; `id` and `reason` are the API's own.
    #[error("rejected by ZPA ({id}): {reason}")]
    Invalid { status: u16, id: String, reason: String, params: Vec<String> },

    /// The API refused the request with an error id this client does not
    /// know, again after a few tries: nothing says waiting helps, so it ends
    /// here with ZPA's own words rather than being retried forever.
    #[error("refused by ZPA ({id}): {reason}")]
    Refused { status: u16, id: String, reason: String, params: Vec<String> },

    /// Credentials refused, or the session could not be re-established.
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: String },

    /// 429 beyond the client's retries or its deadline.
    #[error("rate limited by ZPA; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },

    /// 5xx, connection failures, timeouts: worth trying again later.
    #[error("transient failure: {detail}")]
    Transient { detail: String },

    /// The request was sent but no answer came back, so it may have been
    /// applied. Never retried blindly for a create: the caller must look first.
    #[error("no response to {method} {operation}; the change may or may not have been applied")]
    Indeterminate { operation: &'static str, method: &'static str },

    /// The API answered, but not with what the call expects: a body that is
    /// not JSON, is cut short, has the wrong types, or is larger than
    /// [`MAX_RESPONSE_BYTES`]. Not repeated inside the call (the same request
    /// most likely gets the same answer, and a huge one would be downloaded
    /// again), but retryable later: a broken proxy or a bad API deploy heals.
    #[error("{operation}: invalid response from ZPA: {detail}")]
    InvalidResponse { operation: &'static str, detail: String },
    /// The provider config's CA bundle holds no usable certificate.
    #[error("invalid CA bundle (spec.tls.caBundle): {detail}")]
    InvalidCaBundle { detail: String },

    /// The server's certificate did not verify against the trusted roots
    /// (a TLS-inspecting proxy needs its CA in spec.tls.caBundle).
    #[error(
        "TLS certificate verification failed: {detail}; if a TLS-inspecting proxy is in the path, \
         add its CA certificate to spec.tls.caBundle"
    )]
    TlsVerificationFailed { detail: String },

    /// Anything else: an unexpected answer that retrying will not fix.
    #[error("{detail}")]
    Terminal { detail: String },

    /// Not ZPA's doing: this side could not build the request (a body that
    /// does not encode, an HTTP client that does not build) or read back
    /// what it keeps itself. A bug, reported as one; nothing was sent.
    #[error("internal error (a bug on this side, nothing was sent): {detail}")]
    Internal { detail: String },
}

/// Which side of a call an error points at: who can fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// What the caller asked for or configured: a body ZPA refuses, a name
    /// already taken, an id that is not there, credentials, a CA bundle or a
    /// certificate chain that do not work.
    Caller,
    /// ZPA, or the way to it: rate limits, outages, edit locks, answers that
    /// cannot be used, a tenant without CBI.
    Service,
    /// This side's own code: see [`ZpaError::Internal`].
    Internal,
}

/// The largest response body the client reads, well above the largest real
/// answer (an unpaged CBI list holding every profile of a scope). Anything
/// past this is refused, not buffered.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

impl ZpaError {
    /// Whether trying the same call again later can succeed without a change of input.
    ///
    /// `CbiNotAvailable` is retryable: it is a condition of the tenant that
    /// heals (a licence added, a mapping restored; terraformer#270 saw it come
    /// and go), so the operator keeps the object and looks again with backoff.
    /// It is not repeated inside one call: the same answer would most likely
    /// come back within seconds.
    pub fn is_retryable(&self) -> bool {
        match self {
            ZpaError::Conflict { .. }
            | ZpaError::RateLimited { .. }
            | ZpaError::Transient { .. }
            | ZpaError::Indeterminate { .. }
            | ZpaError::InvalidResponse { .. }
            | ZpaError::CbiNotAvailable { .. } => true,
            ZpaError::NotFound { .. }
            | ZpaError::Duplicate { .. }
            | ZpaError::Invalid { .. }
            | ZpaError::Refused { .. }
            | ZpaError::Unauthorized { .. }
            | ZpaError::InvalidCaBundle { .. }
            | ZpaError::TlsVerificationFailed { .. }
            | ZpaError::Terminal { .. }
            | ZpaError::Internal { .. } => false,
        }
    }

    /// Who can fix it.
    pub fn fault(&self) -> Fault {
        match self {
            ZpaError::NotFound { .. }
            | ZpaError::Duplicate { .. }
            | ZpaError::Invalid { .. }
            | ZpaError::Refused { .. }
            | ZpaError::Unauthorized { .. }
            | ZpaError::InvalidCaBundle { .. }
            | ZpaError::TlsVerificationFailed { .. } => Fault::Caller,
            ZpaError::CbiNotAvailable { .. }
            | ZpaError::Conflict { .. }
            | ZpaError::RateLimited { .. }
            | ZpaError::Transient { .. }
            | ZpaError::Indeterminate { .. }
            | ZpaError::InvalidResponse { .. }
            | ZpaError::Terminal { .. } => Fault::Service,
            ZpaError::Internal { .. } => Fault::Internal,
        }
    }

    /// A stable PascalCase name, used as a metric label and by the operator's conditions.
    pub fn reason(&self) -> &'static str {
        match self {
            ZpaError::NotFound { .. } => "NotFound",
            ZpaError::CbiNotAvailable { .. } => "CbiNotAvailable",
            ZpaError::Duplicate { .. } => "Duplicate",
            ZpaError::Conflict { .. } => "Conflict",
            ZpaError::Invalid { .. } => "Invalid",
            ZpaError::Refused { .. } => "Refused",
            ZpaError::Unauthorized { .. } => "Unauthorized",
            ZpaError::RateLimited { .. } => "RateLimited",
            ZpaError::Transient { .. } => "Transient",
            ZpaError::Indeterminate { .. } => "Indeterminate",
            ZpaError::InvalidResponse { .. } => "InvalidResponse",
            ZpaError::InvalidCaBundle { .. } => "InvalidCABundle",
            ZpaError::TlsVerificationFailed { .. } => "TLSVerificationFailed",
            ZpaError::Terminal { .. } => "Terminal",
            ZpaError::Internal { .. } => "Internal",
        }
    }

    /// The API's error id, when it sent one.
    pub fn api_id(&self) -> Option<&str> {
        match self {
            ZpaError::Invalid { id, .. } | ZpaError::Refused { id, .. } | ZpaError::Conflict { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ZpaError::NotFound { .. })
    }
}

/// What the classification needs to know about the call besides the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CallTraits {
    /// A `/cbiconfig/...` call: "not mapped" answers are `CbiNotAvailable`.
    pub cbi: bool,
    /// A Microtenant create: a domain another Microtenant holds may be one a
    /// just-deleted Microtenant has not released yet.
    pub domain_may_be_held: bool,
}

/// How one HTTP answer should be handled. Pure, so the whole policy is unit-tested.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Success,
    /// Sign in again, then repeat: at once, or after a backoff (`wait`) when
    /// the refusal came under load ("Resource Access Blocked"). `marked`: the
    /// body says the session is invalid, which the Go SDK retries up to 3
    /// times; any other 401 gets one new sign-in.
    RefreshSession {
        wait: bool,
        marked: bool,
    },
    /// Wait (at least `after`, when the server said so) and repeat.
    Retry {
        after: Option<Duration>,
        kind: RetryKind,
    },
    Fail(FailKind),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RetryKind {
    RateLimited,
    EditLock,
    ServerError,
    /// A refusal id the client does not know: a few tries, then [`ZpaError::Refused`].
    UnknownRefusal,
    /// `domains.already.exists.in.other.microtenant` on a Microtenant create:
    /// a few tries, then [`ZpaError::Invalid`].
    DomainHeld,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FailKind {
    NotFound,
    CbiNotAvailable,
    Duplicate,
    Invalid,
    Unauthorized,
    Terminal,
}

const EDIT_LOCK_MARKERS: [&str; 5] = [
    ids::EDIT_LOCK,
    ids::CONCURRENT_ACCESS,
    ids::DB_SIMULTANEOUS_REQUEST,
    "Failed during enter Org barrier",
    ids::RESOURCE_ACCESS_BLOCKED,
];

/// Bodies of a refused session: the Go SDK refreshes the token and retries on
/// each (`zscaler/oneapiclient.go`, at most 3 times).
const SESSION_MARKERS: [&str; 3] =
    [ids::SESSION_NOT_VALID, "Session already invalidated", ids::RESOURCE_ACCESS_BLOCKED];

/// The CBI "not mapped" answers (facts §1.1, §9): the tenant has no CBI
/// mapping right now. `400 {"id":"resource.not.found","params":["zpnCbiMapping"]}`
/// or `404 {"reason":"No handler found"}`.
pub(crate) fn is_not_mapped(status: u16, body: &ApiErrorBody) -> bool {
    let mapping = body.params.iter().flatten().any(|p| p == ids::CBI_MAPPING_PARAM);
    let no_handler = [&body.reason, &body.message].into_iter().flatten().any(|r| r.contains(ids::NO_HANDLER_FOUND));
    (matches!(status, 400 | 404) && mapping) || (status == 404 && no_handler)
}

/// Classifies a response by status, server-requested wait and body text.
pub(crate) fn classify(status: u16, retry_after: Option<Duration>, body: &str, call: CallTraits) -> Verdict {
    let parsed: ApiErrorBody = serde_json::from_str(body).unwrap_or_default();
    let id = parsed.id.as_deref().or(parsed.code.as_deref()).unwrap_or("");
    let mentions = |markers: &[&str]| markers.iter().any(|m| body.contains(m));
    match status {
        200..=299 => Verdict::Success,
        _ if call.cbi && is_not_mapped(status, &parsed) => Verdict::Fail(FailKind::CbiNotAvailable),
        429 => Verdict::Retry { after: retry_after, kind: RetryKind::RateLimited },
        // OneAPI answers "Resource Access Blocked" under load instead of 429:
        // the Go SDK treats it as an invalid session (new token) and backs off.
        401 if mentions(&[ids::RESOURCE_ACCESS_BLOCKED]) => Verdict::RefreshSession { wait: true, marked: true },
        401 => Verdict::RefreshSession { wait: false, marked: mentions(&SESSION_MARKERS) },
        403 if mentions(&SESSION_MARKERS) => Verdict::RefreshSession { wait: false, marked: true },
        403 if id == "LIMIT_EXCEEDED" => Verdict::Fail(FailKind::Terminal),
        403 => Verdict::Fail(FailKind::Unauthorized),
        404 => Verdict::Fail(FailKind::NotFound),
        // The Go SDK retries both (`zscaler/zpa/config.go` checkRetry), 409 and 400 alike.
        409 | 412 if mentions(&EDIT_LOCK_MARKERS) => Verdict::Retry { after: retry_after, kind: RetryKind::EditLock },
        400 | 409 if mentions(&[ids::CONCURRENT_ACCESS, ids::DB_SIMULTANEOUS_REQUEST]) => {
            Verdict::Retry { after: retry_after, kind: RetryKind::EditLock }
        }
        _ if id == ids::RESOURCE_NOT_FOUND => Verdict::Fail(FailKind::NotFound),
        _ if id == ids::RESOURCE_ALREADY_EXISTS => Verdict::Fail(FailKind::Duplicate),
        400 if call.domain_may_be_held && id == ids::DOMAIN_IN_OTHER_MICROTENANT => {
            Verdict::Retry { after: None, kind: RetryKind::DomainHeld }
        }
        400 | 405 | 409 | 412 | 415 | 422 if !id.is_empty() && !ids::KNOWN_REFUSALS.contains(&id) => {
            Verdict::Retry { after: retry_after, kind: RetryKind::UnknownRefusal }
        }
        400 | 405 | 409 | 412 | 415 | 422 => Verdict::Fail(FailKind::Invalid),
        501 => Verdict::Fail(FailKind::Terminal),
        500..=599 => Verdict::Retry { after: retry_after, kind: RetryKind::ServerError },
        _ => Verdict::Fail(FailKind::Terminal),
    }
}

/// How long the server asked to wait: `retry-after` when it sent one, else
/// (on a 429) `x-ratelimit-reset`, the seconds until the OneAPI gateway's
/// window resets. The Go SDK falls back to it the same way
/// (`zscaler/oneapiconfig.go`), and so does the Python SDK
/// (`zscaler/request_executor.py`).
pub(crate) fn server_wait(status: u16, retry_after: Option<&str>, ratelimit_reset: Option<&str>) -> Option<Duration> {
    retry_after
        .and_then(parse_retry_after)
        .or_else(|| ratelimit_reset.filter(|_| status == 429).and_then(parse_retry_after))
}

/// Parses `retry-after` as ZPA sends it (`13s`), plain seconds (`7`), or `500ms`.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Some(ms) = value.strip_suffix("ms") {
        return ms.trim().parse::<u64>().ok().map(Duration::from_millis);
    }
    let secs = value.strip_suffix(['s', 'S']).unwrap_or(value).trim();
    secs.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let cases = [
            ("13s", Some(13_000)),
            ("7", Some(7_000)),
            (" 4S ", Some(4_000)),
            ("250ms", Some(250)),
            ("1.5s", Some(1_500)),
            ("soon", None),
            ("-1", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_retry_after(input), want.map(Duration::from_millis), "{input}");
        }
    }

    #[test]
    fn classification_table() {
        let rs = Some(Duration::from_secs(13));
        let cases: Vec<(u16, &str, Verdict)> = vec![
            (200, "", Verdict::Success),
            (204, "", Verdict::Success),
            (429, r#"{"id":"invalid.toomanyrequests"}"#, Verdict::Retry { after: rs, kind: RetryKind::RateLimited }),
            (401, r#"{"id":"SESSION_NOT_VALID"}"#, Verdict::RefreshSession { wait: false, marked: true }),
            (
                401,
                r#"{"id":"access.denied","reason":"Access denied"}"#,
                Verdict::RefreshSession { wait: false, marked: false },
            ),
            (401, r#"{"reason":"Resource Access Blocked"}"#, Verdict::RefreshSession { wait: true, marked: true }),
            (403, r#"{"code":"LIMIT_EXCEEDED"}"#, Verdict::Fail(FailKind::Terminal)),
            (403, r#"{"id":"access.denied"}"#, Verdict::Fail(FailKind::Unauthorized)),
            (404, r#"{"id":"resource.not.found"}"#, Verdict::Fail(FailKind::NotFound)),
            (400, r#"{"id":"resource.not.found","reason":"No resource exists"}"#, Verdict::Fail(FailKind::NotFound)),
            (409, r#"{"id":"EDIT_LOCK_NOT_AVAILABLE"}"#, Verdict::Retry { after: rs, kind: RetryKind::EditLock }),
            (412, "Failed during enter Org barrier", Verdict::Retry { after: rs, kind: RetryKind::EditLock }),
            (409, r#"{"id":"api.concurrent.access.error"}"#, Verdict::Retry { after: rs, kind: RetryKind::EditLock }),
            (400, r#"{"id":"db.simultaneous.request"}"#, Verdict::Retry { after: rs, kind: RetryKind::EditLock }),
            (400, r#"{"id":"api.concurrent.access.error"}"#, Verdict::Retry { after: rs, kind: RetryKind::EditLock }),
            (
                400,
                r#"{"id":"some.future.refusal","reason":"no"}"#,
                Verdict::Retry { after: rs, kind: RetryKind::UnknownRefusal },
            ),
            (400, r#"{"id":"domains.already.exists.in.other.microtenant"}"#, Verdict::Fail(FailKind::Invalid)),
            (400, r#"{"id":"resource.not.found","params":["zpnCbiMapping"]}"#, Verdict::Fail(FailKind::NotFound)),
            (404, r#"{"reason":"No handler found","id":"resource.not.found"}"#, Verdict::Fail(FailKind::NotFound)),
            (400, r#"{"id":"resource.already.exist"}"#, Verdict::Fail(FailKind::Duplicate)),
            (400, r#"{"id":"invalid.resource.argument","reason":"bad"}"#, Verdict::Fail(FailKind::Invalid)),
            (503, r#"{"id":"retryable.server.error"}"#, Verdict::Retry { after: rs, kind: RetryKind::ServerError }),
            (500, "oops", Verdict::Retry { after: rs, kind: RetryKind::ServerError }),
            (501, "", Verdict::Fail(FailKind::Terminal)),
            (302, "", Verdict::Fail(FailKind::Terminal)),
        ];
        for (status, body, want) in cases {
            assert_eq!(classify(status, rs, body, CallTraits::default()), want, "{status} {body}");
        }
    }

    /// On a CBI call both "not mapped" answers are `CbiNotAvailable`, whatever
    /// the verb; an ordinary not-found stays `NotFound`. Elsewhere they are
    /// what their status says.
    #[test]
    fn not_mapped_answers_on_cbi_calls() {
        let cbi = CallTraits { cbi: true, ..CallTraits::default() };
        let not_mapped = [
            (400, r#"{"params":["zpnCbiMapping"],"id":"resource.not.found","reason":"resource.not.found"}"#),
            (404, r#"{"params":["zpnCbiMapping"],"id":"resource.not.found"}"#),
            (404, r#"{"reason":"No handler found","id":"resource.not.found"}"#),
            (404, r#"{"message":"No handler found for GET /cbiconfig/x"}"#),
        ];
        for (status, body) in not_mapped {
            assert_eq!(classify(status, None, body, cbi), Verdict::Fail(FailKind::CbiNotAvailable), "{status} {body}");
        }
        let gone = [
            (404, r#"{"id":"resource.not.found","reason":"Isolation profile 'x' not found."}"#),
            (
                400,
                r#"{"id":"resource.not.found","reason":"No resource exists with the given id/name :0","params":["0"]}"#,
            ),
        ];
        for (status, body) in gone {
            assert_eq!(classify(status, None, body, cbi), Verdict::Fail(FailKind::NotFound), "{status} {body}");
        }
        assert_eq!(
            classify(400, None, r#"{"id":"zpnCbiMapping"}"#, cbi),
            Verdict::Retry { after: None, kind: RetryKind::UnknownRefusal }
        );
    }

    #[test]
    fn a_held_domain_is_retried_only_on_a_microtenant_create() {
        let body = r#"{"id":"domains.already.exists.in.other.microtenant","params":["a.example.com"]}"#;
        let create = CallTraits { domain_may_be_held: true, ..CallTraits::default() };
        assert_eq!(classify(400, None, body, create), Verdict::Retry { after: None, kind: RetryKind::DomainHeld });
        assert_eq!(classify(400, None, body, CallTraits::default()), Verdict::Fail(FailKind::Invalid));
    }

    #[test]
    fn the_server_wait_falls_back_to_the_rate_limit_reset_on_a_429() {
        let secs = |s: u64| Some(Duration::from_secs(s));
        assert_eq!(server_wait(429, Some("13s"), Some("40")), secs(13), "retry-after wins");
        assert_eq!(server_wait(429, None, Some("7")), secs(7));
        assert_eq!(server_wait(429, Some("soon"), Some("7")), secs(7), "an unreadable retry-after");
        assert_eq!(server_wait(503, None, Some("7")), None, "only a 429 reads the gateway's window");
        assert_eq!(server_wait(429, None, None), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 512, failure_persistence: None, ..Default::default() })]

        /// Any status with any body (error bodies are as hostile as the rest) gets a
        /// verdict without panicking; a 2xx is always a success whatever its body.
        #[test]
        fn any_answer_is_classified(status in 100u16..600, body in "\\PC{0,64}|[\\[\\]{}\",:a-zA-Z0-9._ ]{0,64}") {
            let verdict = classify(status, None, &body, CallTraits { cbi: true, domain_may_be_held: true });
            if (200..300).contains(&status) {
                proptest::prop_assert_eq!(verdict, Verdict::Success);
            }
        }
    }

    #[test]
    fn only_transient_kinds_are_retryable() {
        assert!(ZpaError::Transient { detail: "x".into() }.is_retryable());
        assert!(ZpaError::RateLimited { retry_after: Duration::from_secs(1) }.is_retryable());
        assert!(!ZpaError::Invalid { status: 400, id: "a".into(), reason: "b".into(), params: vec![] }.is_retryable());
        assert!(!ZpaError::Unauthorized { reason: "no".into() }.is_retryable());
        assert!(!ZpaError::NotFound { what: "x".into() }.is_retryable());
        let not_mapped = ZpaError::CbiNotAvailable { reason: "zpnCbiMapping".into() };
        assert!(not_mapped.is_retryable(), "a tenant condition that heals, never 'gone'");
        assert_eq!((not_mapped.reason(), not_mapped.fault()), ("CbiNotAvailable", Fault::Service));
        let refused = ZpaError::Refused { status: 400, id: "x.y".into(), reason: "no".into(), params: vec![] };
        assert!(!refused.is_retryable(), "bounded: the client already tried again");
        assert_eq!((refused.reason(), refused.fault(), refused.api_id()), ("Refused", Fault::Caller, Some("x.y")));
        let invalid = ZpaError::InvalidResponse { operation: "regions.list", detail: "the body is cut short".into() };
        assert!(invalid.is_retryable(), "a broken answer may heal; the operator retries with backoff");
        assert_eq!(invalid.reason(), "InvalidResponse");
    }

    #[test]
    fn each_error_points_at_who_can_fix_it() {
        let cases = [
            (ZpaError::Invalid { status: 400, id: "a".into(), reason: "b".into(), params: vec![] }, Fault::Caller),
            (ZpaError::Unauthorized { reason: "no".into() }, Fault::Caller),
            (ZpaError::RateLimited { retry_after: Duration::from_secs(1) }, Fault::Service),
            (ZpaError::InvalidResponse { operation: "x", detail: "cut".into() }, Fault::Service),
            (ZpaError::Internal { detail: "cannot encode request body".into() }, Fault::Internal),
        ];
        for (error, fault) in cases {
            assert_eq!(error.fault(), fault, "{error}");
        }
        let internal = ZpaError::Internal { detail: "x".into() };
        assert_eq!((internal.reason(), internal.is_retryable()), ("Internal", false));
    }
}
