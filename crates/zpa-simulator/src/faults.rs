//! Fault injection: latency, 5xx, 429 storms (with or without `retry-after`),
//! edit-lock 409s (and 400 `db.simultaneous.request`), dropped connections,
//! "drop the response after commit", malformed answers, CBI "not mapped"
//! answers, refused sessions, domains a deleted Microtenant still holds, and
//! any error answer a test names (`errorResponse`).
//!
//! Set with `--latency-ms`/`--error-rate`, [`super::SimulatorConfig::faults`], or
//! `PUT /__sim/faults` with a [`FaultConfig`] (JSON, camelCase). Every section is
//! optional (`null`/absent = off) and can be narrowed with `method` (exact,
//! case-insensitive) and `path` (a substring of the request path, `/zpa` prefix
//! included). Without `path`, a fault applies to API calls only, not to
//! `/signin` or `/oauth2/v1/token`; with `path`, it applies to whatever path
//! contains it. `editLock` without `method` applies to writes only.
//! Counted sections switch themselves off when their count is used up.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use zpa_wire::error::{ApiErrorBody, ids};

/// The whole fault configuration, as `GET/PUT /__sim/faults` speak it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Added delay before the request is handled.
    pub latency: Option<LatencyFault>,
    /// 5xx answers (503 `retryable.server.error` by default).
    pub server_errors: Option<ServerErrorFault>,
    /// 429 storm: the next `count` matching requests, or every matching
    /// request for `durationMs`, get 429 `invalid.toomanyrequests`.
    pub too_many_requests: Option<TooManyRequestsFault>,
    /// The next `count` matching writes get 409 edit-lock.
    pub edit_lock: Option<EditLockFault>,
    /// The next `count` matching requests are closed without a response and
    /// without being applied.
    pub drop_connection: Option<DropFault>,
    /// The next `count` matching requests are applied, then closed without a
    /// response (a crash between the remote write and the client seeing it).
    pub drop_after_commit: Option<DropFault>,
    /// Matching requests are handled, then their answer body is corrupted
    /// (cut short, replaced by garbage, or given the wrong JSON types): a
    /// broken proxy or a bad API release.
    pub malformed_body: Option<MalformedBodyFault>,
    /// CBI calls (any `/cbiconfig/` route, any verb) answered "not mapped",
    /// as tenants do when CBI is not available to them, sometimes "randomly"
    /// (zscaler/zscaler-terraformer#270, #242). Not applied.
    pub not_mapped: Option<NotMappedFault>,
    /// The next `count` matching requests are answered 401 as a refused
    /// session: "Resource Access Blocked" (what OneAPI sends under load) or
    /// `SESSION_NOT_VALID`. The token used is revoked, as a refused session is.
    pub session_refused: Option<SessionRefusedFault>,
    /// Matching requests are answered with this error, not applied: a
    /// refusal whose id no source shows (what an operator must not retry
    /// forever), or a 404 for an object that still exists (a proxy, a replica
    /// behind), to test what a client makes of answers the tenant may give.
    pub error_response: Option<ErrorResponseFault>,
    /// After a Microtenant is deleted its domains stay taken for `ms`
    /// (`domains.already.exists.in.other.microtenant`). Switchable, not the
    /// default: no recorded answer shows the delay; only the Go SDK's tests,
    /// which retry that refusal 3 times 2 s apart after a delete, suggest it.
    pub domain_hold: Option<DomainHoldFault>,
}

/// Which "not mapped" answer CBI gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NotMappedAnswer {
    /// `400 {"params":["zpnCbiMapping"],"id":"resource.not.found","reason":"resource.not.found"}`
    /// (zscaler-terraformer#270).
    #[default]
    ZpnCbiMapping,
    /// `404 {"reason":"No handler found","id":"resource.not.found"}` (zscaler-terraformer#242).
    NoHandler,
    /// Either, chosen per answer.
    Mixed,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotMappedFault {
    /// Share of matching CBI calls answered "not mapped", 0.0..=1.0. Absent = every one.
    #[serde(default)]
    pub rate: Option<f64>,
    /// How many answers before switching off. Absent = no limit.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub answer: NotMappedAnswer,
    #[serde(default)]
    pub method: Option<String>,
    /// Narrows further; only `/cbiconfig/` paths are ever matched.
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorResponseFault {
    /// 400..=599; 400 by default.
    #[serde(default = "default_error_status")]
    pub status: u16,
    /// The body's `id`, e.g. `some.new.refusal` or `resource.not.found`.
    pub id: String,
    /// The body's `reason`.
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub params: Option<Vec<String>>,
    /// How many answers before switching off. Absent = until cleared.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

impl Default for ErrorResponseFault {
    fn default() -> Self {
        Self {
            status: default_error_status(),
            id: String::new(),
            reason: String::new(),
            params: None,
            count: None,
            method: None,
            path: None,
        }
    }
}

fn default_error_status() -> u16 {
    400
}

/// Which refused-session body a 401 carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionRefusal {
    /// `{"id":"access.denied","reason":"Resource Access Blocked"}`: OneAPI under load (facts §7.2).
    #[default]
    ResourceAccessBlocked,
    /// `{"id":"SESSION_NOT_VALID",...}`.
    SessionNotValid,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRefusedFault {
    pub count: u32,
    #[serde(default)]
    pub body: SessionRefusal,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DomainHoldFault {
    pub ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MalformedBodyFault {
    pub mode: MalformedMode,
    /// How many answers to corrupt before switching off. Absent = until cleared.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

/// How an answer body is corrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MalformedMode {
    /// The first half of the body, cut anywhere (inside a UTF-8 character too).
    Truncate,
    /// Bytes that are not JSON.
    Garbage,
    /// Valid JSON with every value's type changed: lists become objects,
    /// numbers text and text numbers (or lists), flags text.
    WrongTypes,
}

impl MalformedMode {
    pub fn corrupt(self, body: &[u8]) -> Vec<u8> {
        match self {
            MalformedMode::Truncate => body[..body.len() / 2].to_vec(),
            MalformedMode::Garbage => b"\x00<html>502 Bad Gateway</html>\xff{\"".to_vec(),
            MalformedMode::WrongTypes => match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(value) => serde_json::to_vec(&wrong_types(value)).unwrap_or_default(),
                Err(_) => MalformedMode::Garbage.corrupt(body),
            },
        }
    }
}

fn wrong_types(value: serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    match value {
        Value::Array(items) => json!({ "list": items }),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let swapped = match value {
                        Value::String(s) => s.parse::<u64>().map(|n| json!(n)).unwrap_or_else(|_| json!([s])),
                        Value::Number(n) => json!(n.to_string()),
                        Value::Bool(b) => json!(b.to_string()),
                        Value::Array(_) => json!({}),
                        Value::Object(_) => json!([]),
                        Value::Null => json!({}),
                    };
                    (key, swapped)
                })
                .collect(),
        ),
        other => json!([other]),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencyFault {
    pub ms: u64,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerErrorFault {
    /// Share of matching requests that fail, 0.0..=1.0. Absent = every one.
    #[serde(default)]
    pub rate: Option<f64>,
    /// How many failures to inject before switching off. Absent = no limit.
    #[serde(default)]
    pub count: Option<u32>,
    /// 500..=599; 503 by default.
    #[serde(default = "default_server_status")]
    pub status: u16,
    /// `Retry-After` in seconds (`1s` by default); `null` sends none.
    #[serde(default = "default_retry_after")]
    pub retry_after_secs: Option<u64>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

impl Default for ServerErrorFault {
    fn default() -> Self {
        Self {
            rate: None,
            count: None,
            status: default_server_status(),
            retry_after_secs: default_retry_after(),
            method: None,
            path: None,
        }
    }
}

fn default_server_status() -> u16 {
    503
}

fn default_retry_after() -> Option<u64> {
    Some(1)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TooManyRequestsFault {
    /// The next N matching requests. With neither `count` nor `durationMs`,
    /// the storm lasts until cleared.
    #[serde(default)]
    pub count: Option<u32>,
    /// Every matching request for this long (from the PUT). `GET` shows the
    /// time left.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// `retry-after` seconds; by default the storm's time left (or 1).
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Send no `retry-after` at all, only `x-ratelimit-reset` (the OneAPI
    /// gateway's header, seconds until its window resets).
    #[serde(default)]
    pub omit_retry_after: bool,
    /// `x-ratelimit-reset` seconds; by default the same wait as `retry-after`.
    #[serde(default)]
    pub ratelimit_reset_secs: Option<u64>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditLockFault {
    pub count: u32,
    /// 409 (default) or 412.
    #[serde(default = "default_edit_lock_status")]
    pub status: u16,
    /// Which 409 body to send.
    #[serde(default)]
    pub body: EditLockBody,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

impl Default for EditLockFault {
    fn default() -> Self {
        Self { count: 1, status: default_edit_lock_status(), body: EditLockBody::default(), method: None, path: None }
    }
}

fn default_edit_lock_status() -> u16 {
    409
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EditLockBody {
    /// `{"id":"EDIT_LOCK_NOT_AVAILABLE","reason":...,"code":"EDIT_LOCK_NOT_AVAILABLE","message":...}`:
    /// ZPA's `id`/`reason` plus the OneAPI `code`/`message` the Go SDK matches.
    #[default]
    EditLock,
    /// The recorded mgmtconfig body: `{"id":"api.concurrent.access.error",...}`.
    ConcurrentAccess,
    /// `{"id":"db.simultaneous.request",...}`, sent with status 400 by the
    /// legacy API (the Go SDK retries it, `zscaler/zpa/config.go` checkRetry).
    DbSimultaneous,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DropFault {
    pub count: u32,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

impl FaultConfig {
    /// Checks ranges; the message is the `reason` of a 400.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(f) = &self.server_errors {
            if !(500..=599).contains(&f.status) {
                return Err(format!("serverErrors.status must be 500..=599, got {}", f.status));
            }
            if f.rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
                return Err("serverErrors.rate must be between 0.0 and 1.0".to_owned());
            }
        }
        if let Some(f) = &self.edit_lock
            && !(400..=499).contains(&f.status)
        {
            return Err(format!("editLock.status must be 4xx, got {}", f.status));
        }
        if let Some(f) = &self.error_response
            && !(400..=599).contains(&f.status)
        {
            return Err(format!("errorResponse.status must be 400..=599, got {}", f.status));
        }
        if self.not_mapped.as_ref().and_then(|f| f.rate).is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            return Err("notMapped.rate must be between 0.0 and 1.0".to_owned());
        }
        Ok(())
    }
}

/// What the pipeline needs to know about a request to match faults.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    pub method: &'a Method,
    /// The full request path, `/zpa` prefix included.
    pub path: &'a str,
    /// `/signin` or `/oauth2/v1/token`.
    pub auth_endpoint: bool,
}

fn is_write(method: &Method) -> bool {
    !(method == Method::GET || method == Method::HEAD || method == Method::OPTIONS)
}

fn targets(method: &Option<String>, path: &Option<String>, req: RequestInfo<'_>, writes_only: bool) -> bool {
    match path {
        Some(p) if !req.path.contains(p.as_str()) => return false,
        None if req.auth_endpoint => return false,
        _ => {}
    }
    match method {
        Some(m) => m.eq_ignore_ascii_case(req.method.as_str()),
        None => !writes_only || is_write(req.method),
    }
}

/// Uses one unit of a count; returns whether the fault fires and whether the
/// section is used up.
fn consume(count: &mut u32) -> (bool, bool) {
    if *count == 0 {
        return (false, true);
    }
    *count -= 1;
    (true, *count == 0)
}

/// Faults decided before authentication.
#[derive(Debug, Default, PartialEq)]
pub struct Early {
    pub latency: Option<Duration>,
    pub drop_connection: bool,
}

/// Faults decided after authentication and rate limiting.
#[derive(Debug, Default)]
pub struct Late {
    /// Answer with this instead of handling the request.
    pub reject: Option<ApiError>,
    /// Which fault section made `reject` (its `FaultConfig` key).
    pub fault: Option<&'static str>,
    /// Handle the request, then close the connection without the response.
    pub drop_after_commit: bool,
    /// Handle the request, then corrupt its answer body.
    pub malformed_body: Option<MalformedMode>,
    /// The reject is a refused session: revoke the token that was used.
    pub revoke_session: bool,
}

/// Whether a path is a CBI route (`/cbiconfig/...`, `/zpa` prefix or not).
fn is_cbi(path: &str) -> bool {
    path.contains("/cbiconfig/")
}

/// The live fault state: the configuration plus the storm deadline.
#[derive(Debug, Default)]
pub struct FaultState {
    config: FaultConfig,
    storm_deadline: Option<Instant>,
}

impl FaultState {
    pub fn new(config: FaultConfig, now: Instant) -> Self {
        let mut state = Self::default();
        state.set(config, now);
        state
    }

    pub fn set(&mut self, config: FaultConfig, now: Instant) {
        self.storm_deadline = config
            .too_many_requests
            .as_ref()
            .and_then(|f| f.duration_ms)
            .map(|ms| later(now, Duration::from_millis(ms)));
        self.config = config;
    }

    /// The configuration as it stands: counts left, storm time left.
    pub fn snapshot(&mut self, now: Instant) -> FaultConfig {
        self.expire_storm(now);
        let mut config = self.config.clone();
        if let (Some(storm), Some(deadline)) = (config.too_many_requests.as_mut(), self.storm_deadline) {
            storm.duration_ms = Some(u64::try_from(deadline.saturating_duration_since(now).as_millis()).unwrap_or(0));
        }
        config
    }

    fn expire_storm(&mut self, now: Instant) {
        if self.storm_deadline.is_some_and(|d| now >= d) {
            self.config.too_many_requests = None;
            self.storm_deadline = None;
        }
    }

    pub fn early(&mut self, req: RequestInfo<'_>) -> Early {
        let latency = self
            .config
            .latency
            .as_ref()
            .filter(|f| f.ms > 0 && targets(&f.method, &f.path, req, false))
            .map(|f| Duration::from_millis(f.ms));
        let mut drop_connection = false;
        if let Some(f) = self.config.drop_connection.as_mut()
            && targets(&f.method, &f.path, req, false)
        {
            let (fire, used_up) = consume(&mut f.count);
            drop_connection = fire;
            if used_up {
                self.config.drop_connection = None;
            }
        }
        Early { latency, drop_connection }
    }

    /// `roll` draws a number in 0.0..1.0 for `serverErrors.rate`.
    pub fn late(&mut self, req: RequestInfo<'_>, now: Instant, roll: &mut dyn FnMut() -> f64) -> Late {
        self.expire_storm(now);
        let reject = self
            .session_refused(req)
            .map(|e| (e, "sessionRefused"))
            .or_else(|| self.storm(req, now).map(|e| (e, "tooManyRequests")))
            .or_else(|| self.server_error(req, roll).map(|e| (e, "serverErrors")))
            .or_else(|| self.not_mapped(req, roll).map(|e| (e, "notMapped")))
            .or_else(|| self.edit_lock(req).map(|e| (e, "editLock")))
            .or_else(|| self.error_response(req).map(|e| (e, "errorResponse")));
        if let Some((reject, fault)) = reject {
            return Late {
                reject: Some(reject),
                fault: Some(fault),
                revoke_session: fault == "sessionRefused",
                ..Late::default()
            };
        }
        let malformed_body = self.malformed_body(req);
        let mut drop_after_commit = false;
        if let Some(f) = self.config.drop_after_commit.as_mut()
            && targets(&f.method, &f.path, req, false)
        {
            let (fire, used_up) = consume(&mut f.count);
            drop_after_commit = fire;
            if used_up {
                self.config.drop_after_commit = None;
            }
        }
        Late { reject: None, fault: None, drop_after_commit, malformed_body, revoke_session: false }
    }

    /// How long a deleted Microtenant's domains stay taken (zero when off).
    pub fn domain_hold(&self) -> Duration {
        self.config.domain_hold.as_ref().map_or(Duration::ZERO, |f| Duration::from_millis(f.ms))
    }

    fn session_refused(&mut self, req: RequestInfo<'_>) -> Option<ApiError> {
        let f = self.config.session_refused.as_mut()?;
        if !targets(&f.method, &f.path, req, false) {
            return None;
        }
        let body = f.body;
        let (fire, used_up) = consume(&mut f.count);
        if used_up {
            self.config.session_refused = None;
        }
        fire.then(|| match body {
            SessionRefusal::ResourceAccessBlocked => {
                ApiError::new(StatusCode::UNAUTHORIZED, ids::ACCESS_DENIED, ids::RESOURCE_ACCESS_BLOCKED)
            }
            SessionRefusal::SessionNotValid => {
                ApiError::new(StatusCode::UNAUTHORIZED, ids::SESSION_NOT_VALID, "Session is not valid. Sign in again.")
            }
        })
    }

    fn not_mapped(&mut self, req: RequestInfo<'_>, roll: &mut dyn FnMut() -> f64) -> Option<ApiError> {
        let f = self.config.not_mapped.as_mut()?;
        if !is_cbi(req.path) || !targets(&f.method, &f.path, req, false) {
            return None;
        }
        if let Some(rate) = f.rate
            && roll() >= rate
        {
            return None;
        }
        let answer = match f.answer {
            NotMappedAnswer::Mixed if roll() < 0.5 => NotMappedAnswer::NoHandler,
            NotMappedAnswer::Mixed => NotMappedAnswer::ZpnCbiMapping,
            other => other,
        };
        if let Some(count) = f.count.as_mut() {
            let (fire, used_up) = consume(count);
            if used_up {
                self.config.not_mapped = None;
            }
            if !fire {
                return None;
            }
        }
        Some(not_mapped_error(answer))
    }

    fn malformed_body(&mut self, req: RequestInfo<'_>) -> Option<MalformedMode> {
        let f = self.config.malformed_body.as_mut()?;
        if !targets(&f.method, &f.path, req, false) {
            return None;
        }
        let mode = f.mode;
        if let Some(count) = f.count.as_mut() {
            let (fire, used_up) = consume(count);
            if used_up {
                self.config.malformed_body = None;
            }
            if !fire {
                return None;
            }
        }
        Some(mode)
    }

    fn storm(&mut self, req: RequestInfo<'_>, now: Instant) -> Option<ApiError> {
        let f = self.config.too_many_requests.as_mut()?;
        if !targets(&f.method, &f.path, req, false) {
            return None;
        }
        let retry_after = f.retry_after_secs.unwrap_or_else(|| {
            self.storm_deadline
                .map(|d| super::ratelimit::retry_after_secs(d.saturating_duration_since(now)))
                .unwrap_or(1)
        });
        let (omit_retry_after, reset) = (f.omit_retry_after, f.ratelimit_reset_secs);
        if let Some(count) = f.count.as_mut() {
            let (fire, used_up) = consume(count);
            if used_up {
                self.config.too_many_requests = None;
                self.storm_deadline = None;
            }
            if !fire {
                return None;
            }
        }
        let mut error = too_many_requests(retry_after);
        if omit_retry_after {
            error.retry_after_secs = None;
            error.ratelimit_reset_secs = Some(reset.unwrap_or(retry_after));
        } else {
            error.ratelimit_reset_secs = reset;
        }
        Some(error)
    }

    fn server_error(&mut self, req: RequestInfo<'_>, roll: &mut dyn FnMut() -> f64) -> Option<ApiError> {
        let f = self.config.server_errors.as_mut()?;
        if !targets(&f.method, &f.path, req, false) {
            return None;
        }
        if let Some(rate) = f.rate
            && roll() >= rate
        {
            return None;
        }
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let retry_after = f.retry_after_secs;
        if let Some(count) = f.count.as_mut() {
            let (fire, used_up) = consume(count);
            if used_up {
                self.config.server_errors = None;
            }
            if !fire {
                return None;
            }
        }
        let mut error = ApiError::new(
            status,
            ids::RETRYABLE_SERVER_ERROR,
            "An error occurred. Refer to the Retry-After header, and then try again.",
        );
        error.retry_after_secs = retry_after;
        Some(error)
    }

    fn error_response(&mut self, req: RequestInfo<'_>) -> Option<ApiError> {
        let f = self.config.error_response.as_mut()?;
        if !targets(&f.method, &f.path, req, false) {
            return None;
        }
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut error = ApiError::new(status, &f.id, f.reason.clone());
        if let Some(params) = &f.params {
            error = error.with_params(params.clone());
        }
        if let Some(count) = f.count.as_mut() {
            let (fire, used_up) = consume(count);
            if used_up {
                self.config.error_response = None;
            }
            if !fire {
                return None;
            }
        }
        Some(error)
    }

    fn edit_lock(&mut self, req: RequestInfo<'_>) -> Option<ApiError> {
        let f = self.config.edit_lock.as_mut()?;
        if !targets(&f.method, &f.path, req, true) {
            return None;
        }
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::CONFLICT);
        let body = f.body;
        let (fire, used_up) = consume(&mut f.count);
        if used_up {
            self.config.edit_lock = None;
        }
        fire.then(|| edit_lock_error(status, body))
    }
}

/// `now + d`, capped instead of overflowing (durations come from admin input).
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).or_else(|| now.checked_add(Duration::from_secs(1 << 32))).unwrap_or(now)
}

/// The 429 body ZPA sends, with `retry-after: <secs>s`.
pub fn too_many_requests(retry_after_secs: u64) -> ApiError {
    let mut error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ids::TOO_MANY_REQUESTS,
        "Exceeded the number of requests allowed.",
    )
    .with_retry_after(retry_after_secs);
    error.body.exception = Some(ids::TOO_MANY_REQUESTS.to_owned());
    error
}

fn edit_lock_error(status: StatusCode, body: EditLockBody) -> ApiError {
    let body = match body {
        EditLockBody::EditLock => {
            let reason = "Failed to acquire the edit lock: another change is in progress. Try again.";
            ApiErrorBody {
                code: Some(ids::EDIT_LOCK.to_owned()),
                message: Some(reason.to_owned()),
                ..ApiErrorBody::new(ids::EDIT_LOCK, reason)
            }
        }
        EditLockBody::ConcurrentAccess => ApiErrorBody::new(
            ids::CONCURRENT_ACCESS,
            "Unable to modify the resource due to concurrent change requests. Try again",
        )
        .with_params(vec!["com.zscaler.zpn.model.PolicySet".to_owned()]),
        EditLockBody::DbSimultaneous => {
            ApiErrorBody::new(ids::DB_SIMULTANEOUS_REQUEST, "Simultaneous requests on the same resource. Try again")
        }
    };
    ApiError { status, body: Box::new(body), retry_after_secs: None, ratelimit_reset_secs: None }
}

/// CBI's "not mapped" answers, as tenants gave them.
pub fn not_mapped_error(answer: NotMappedAnswer) -> ApiError {
    match answer {
        NotMappedAnswer::NoHandler => {
            ApiError::new(StatusCode::NOT_FOUND, ids::RESOURCE_NOT_FOUND, ids::NO_HANDLER_FOUND)
        }
        NotMappedAnswer::ZpnCbiMapping | NotMappedAnswer::Mixed => {
            ApiError::bad_request(ids::RESOURCE_NOT_FOUND, ids::RESOURCE_NOT_FOUND)
                .with_params(vec![ids::CBI_MAPPING_PARAM.to_owned()])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(method: &'a Method, path: &'a str) -> RequestInfo<'a> {
        RequestInfo { method, path, auth_endpoint: path.ends_with("/signin") }
    }

    fn never() -> impl FnMut() -> f64 {
        || 0.99
    }

    #[test]
    fn counted_faults_fire_n_times_then_switch_off() {
        let now = Instant::now();
        let config = FaultConfig {
            drop_connection: Some(DropFault { count: 2, method: Some("get".into()), path: Some("/profiles".into()) }),
            ..FaultConfig::default()
        };
        let mut state = FaultState::new(config, now);
        let get = Method::GET;
        let post = Method::POST;
        assert!(!state.early(info(&post, "/x/profiles")).drop_connection, "method must match");
        assert!(!state.early(info(&get, "/x/regions")).drop_connection, "path must match");
        assert!(state.early(info(&get, "/x/profiles")).drop_connection);
        assert_eq!(state.snapshot(now).drop_connection.map(|f| f.count), Some(1));
        assert!(state.early(info(&get, "/x/profiles")).drop_connection);
        assert!(!state.early(info(&get, "/x/profiles")).drop_connection);
        assert_eq!(state.snapshot(now).drop_connection, None);
    }

    #[test]
    fn faults_without_a_path_skip_sign_in() {
        let now = Instant::now();
        let config = FaultConfig {
            too_many_requests: Some(TooManyRequestsFault { count: Some(1), ..Default::default() }),
            ..FaultConfig::default()
        };
        let mut state = FaultState::new(config, now);
        let post = Method::POST;
        assert!(state.late(info(&post, "/signin"), now, &mut never()).reject.is_none());
        let reject = state.late(info(&post, "/zpa/x/profiles"), now, &mut never()).reject.unwrap();
        assert_eq!(reject.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reject.retry_after_secs, Some(1));
        assert_eq!(reject.body.exception.as_deref(), Some(ids::TOO_MANY_REQUESTS));
    }

    #[test]
    fn a_timed_storm_reports_its_time_left_and_ends() {
        let now = Instant::now();
        let config = FaultConfig {
            too_many_requests: Some(TooManyRequestsFault { duration_ms: Some(5_000), ..Default::default() }),
            ..FaultConfig::default()
        };
        let mut state = FaultState::new(config, now);
        let get = Method::GET;
        let later = now + Duration::from_millis(1_500);
        let reject = state.late(info(&get, "/a"), later, &mut never()).reject.unwrap();
        assert_eq!(reject.retry_after_secs, Some(4));
        assert_eq!(state.snapshot(later).too_many_requests.unwrap().duration_ms, Some(3_500));
        let after = now + Duration::from_secs(5);
        assert!(state.late(info(&get, "/a"), after, &mut never()).reject.is_none());
        assert!(state.snapshot(after).too_many_requests.is_none());
    }

    #[test]
    fn server_errors_by_rate_and_count() {
        let now = Instant::now();
        let config = FaultConfig {
            server_errors: Some(ServerErrorFault { rate: Some(0.5), count: Some(1), ..Default::default() }),
            ..FaultConfig::default()
        };
        let mut state = FaultState::new(config, now);
        let get = Method::GET;
        assert!(state.late(info(&get, "/a"), now, &mut || 0.7).reject.is_none(), "roll above the rate");
        let reject = state.late(info(&get, "/a"), now, &mut || 0.1).reject.unwrap();
        assert_eq!(reject.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reject.id(), ids::RETRYABLE_SERVER_ERROR);
        assert_eq!(reject.retry_after_secs, Some(1));
        assert!(state.late(info(&get, "/a"), now, &mut || 0.1).reject.is_none(), "count used up");
    }

    #[test]
    fn edit_lock_hits_writes_only_by_default() {
        let now = Instant::now();
        let config =
            FaultConfig { edit_lock: Some(EditLockFault { count: 1, ..Default::default() }), ..Default::default() };
        let mut state = FaultState::new(config, now);
        let get = Method::GET;
        let put = Method::PUT;
        assert!(state.late(info(&get, "/a"), now, &mut never()).reject.is_none());
        let reject = state.late(info(&put, "/a"), now, &mut never()).reject.unwrap();
        assert_eq!(reject.status, StatusCode::CONFLICT);
        assert_eq!(reject.id(), ids::EDIT_LOCK);
        assert_eq!(reject.body.code.as_deref(), Some(ids::EDIT_LOCK));
    }

    #[test]
    fn drop_after_commit_is_decided_late() {
        let now = Instant::now();
        let config = FaultConfig {
            drop_after_commit: Some(DropFault { count: 1, method: Some("POST".into()), path: None }),
            ..Default::default()
        };
        let mut state = FaultState::new(config, now);
        let post = Method::POST;
        assert!(!state.early(info(&post, "/a")).drop_connection);
        assert!(state.late(info(&post, "/a"), now, &mut never()).drop_after_commit);
        assert!(!state.late(info(&post, "/a"), now, &mut never()).drop_after_commit);
    }

    #[test]
    fn malformed_bodies_by_mode_and_count() {
        let now = Instant::now();
        let config = FaultConfig {
            malformed_body: Some(MalformedBodyFault {
                mode: MalformedMode::WrongTypes,
                count: Some(1),
                method: Some("GET".into()),
                path: Some("/regions".into()),
            }),
            ..Default::default()
        };
        let mut state = FaultState::new(config, now);
        let get = Method::GET;
        assert_eq!(state.late(info(&get, "/x/banners"), now, &mut never()).malformed_body, None);
        assert_eq!(
            state.late(info(&get, "/x/regions"), now, &mut never()).malformed_body,
            Some(MalformedMode::WrongTypes)
        );
        assert_eq!(state.late(info(&get, "/x/regions"), now, &mut never()).malformed_body, None, "count used up");

        let body = r#"[{"id":"r1","name":"Zürich","enabled":true,"n":3}]"#.as_bytes();
        let swapped: serde_json::Value = serde_json::from_slice(&MalformedMode::WrongTypes.corrupt(body)).unwrap();
        assert_eq!(swapped["list"][0]["name"], "Zürich", "a list became an object");
        let object: serde_json::Value =
            serde_json::from_slice(&MalformedMode::WrongTypes.corrupt(br#"{"id":"7","ok":true,"n":3,"s":"x"}"#))
                .unwrap();
        assert_eq!(object, serde_json::json!({"id": 7, "ok": "true", "n": "3", "s": ["x"]}));
        let cut = MalformedMode::Truncate.corrupt(body);
        assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err() && !cut.is_empty());
        assert!(serde_json::from_slice::<serde_json::Value>(&MalformedMode::Garbage.corrupt(body)).is_err());
        let parsed: FaultConfig =
            serde_json::from_value(serde_json::json!({"malformedBody": {"mode": "truncate", "path": "/cbiconfig"}}))
                .unwrap();
        assert_eq!(parsed.malformed_body.unwrap().mode, MalformedMode::Truncate);
    }

    #[test]
    fn not_mapped_hits_cbi_routes_only_in_either_shape() {
        let now = Instant::now();
        let config = FaultConfig {
            not_mapped: Some(NotMappedFault { count: Some(3), ..Default::default() }),
            ..Default::default()
        };
        let mut state = FaultState::new(config, now);
        let (get, put, delete) = (Method::GET, Method::PUT, Method::DELETE);
        let mgmt = "/mgmtconfig/v1/admin/customers/1/microtenants";
        assert!(state.late(info(&get, mgmt), now, &mut never()).reject.is_none(), "not a CBI route");
        for (method, path) in [
            (&get, "/cbiconfig/cbi/api/customers/1/profiles"),
            (&put, "/zpa/cbiconfig/cbi/api/customers/1/profiles/u1"),
            (&delete, "/cbiconfig/cbi/api/customers/1/profiles/u1"),
        ] {
            let reject = state.late(info(method, path), now, &mut never()).reject.unwrap();
            assert_eq!(reject.status, StatusCode::BAD_REQUEST, "{method} {path}");
            assert_eq!(reject.id(), ids::RESOURCE_NOT_FOUND);
            assert_eq!(reject.body.params.as_deref(), Some(&[ids::CBI_MAPPING_PARAM.to_owned()][..]));
        }
        assert!(state.snapshot(now).not_mapped.is_none(), "count used up");

        let config = FaultConfig {
            not_mapped: Some(NotMappedFault {
                rate: Some(0.5),
                answer: NotMappedAnswer::NoHandler,
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut state = FaultState::new(config, now);
        let path = "/cbiconfig/cbi/api/customers/1/regions";
        assert!(state.late(info(&get, path), now, &mut || 0.7).reject.is_none(), "roll above the rate");
        let reject = state.late(info(&get, path), now, &mut || 0.1).reject.unwrap();
        assert_eq!(reject.status, StatusCode::NOT_FOUND);
        assert_eq!(reject.body.reason.as_deref(), Some(ids::NO_HANDLER_FOUND));
        let bad = FaultConfig {
            not_mapped: Some(NotMappedFault { rate: Some(2.0), ..Default::default() }),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn an_error_response_answers_what_the_test_names_on_matching_requests() {
        let now = Instant::now();
        let config = FaultConfig {
            error_response: Some(ErrorResponseFault {
                id: "some.new.refusal".into(),
                reason: "no".into(),
                count: Some(1),
                method: Some("DELETE".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut state = FaultState::new(config, now);
        let (get, delete) = (Method::GET, Method::DELETE);
        let path = "/mgmtconfig/v1/admin/customers/1/microtenants/7";
        assert!(state.late(info(&get, path), now, &mut never()).reject.is_none(), "method must match");
        let late = state.late(info(&delete, path), now, &mut never());
        let reject = late.reject.unwrap();
        assert_eq!(
            (reject.status, reject.id(), late.fault),
            (StatusCode::BAD_REQUEST, "some.new.refusal", Some("errorResponse"))
        );
        assert!(state.snapshot(now).error_response.is_none(), "count used up");
        let bad = FaultConfig {
            error_response: Some(ErrorResponseFault { status: 302, id: "x".into(), ..Default::default() }),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn refused_sessions_and_429s_without_retry_after() {
        let now = Instant::now();
        let config = FaultConfig {
            session_refused: Some(SessionRefusedFault { count: 1, ..Default::default() }),
            too_many_requests: Some(TooManyRequestsFault {
                count: Some(1),
                omit_retry_after: true,
                ratelimit_reset_secs: Some(3),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut state = FaultState::new(config, now);
        let get = Method::GET;
        let late = state.late(info(&get, "/a"), now, &mut never());
        assert!(late.revoke_session);
        let reject = late.reject.unwrap();
        assert_eq!(reject.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reject.body.reason.as_deref(), Some(ids::RESOURCE_ACCESS_BLOCKED));
        let late = state.late(info(&get, "/a"), now, &mut never());
        assert!(!late.revoke_session);
        let reject = late.reject.unwrap();
        assert_eq!(reject.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!((reject.retry_after_secs, reject.ratelimit_reset_secs), (None, Some(3)));
    }

    #[test]
    fn huge_durations_do_not_overflow() {
        let now = Instant::now();
        let config = FaultConfig {
            too_many_requests: Some(TooManyRequestsFault { duration_ms: Some(u64::MAX), ..Default::default() }),
            ..Default::default()
        };
        let mut state = FaultState::new(config, now);
        assert!(state.late(info(&Method::GET, "/a"), now, &mut never()).reject.is_some());
    }

    #[test]
    fn json_shape_and_validation() {
        let config: FaultConfig = serde_json::from_value(serde_json::json!({
            "latency": {"ms": 20},
            "serverErrors": {"rate": 0.25},
            "editLock": {"count": 2, "body": "concurrentAccess"},
            "dropAfterCommit": {"count": 1, "method": "POST", "path": "/profiles"}
        }))
        .unwrap();
        assert_eq!(config.server_errors.as_ref().unwrap().status, 503);
        assert_eq!(config.server_errors.as_ref().unwrap().retry_after_secs, Some(1));
        assert!(config.validate().is_ok());
        assert!(serde_json::from_value::<FaultConfig>(serde_json::json!({"latncy": {"ms": 1}})).is_err());
        let bad = FaultConfig {
            server_errors: Some(ServerErrorFault { status: 200, ..Default::default() }),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }
}
