//! The request engine every ZPA operation goes through: rate limiter, token,
//! HTTP, classification, retries, metrics.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::auth::{ClientCredentials, SignIn, TokenSource, transport_detail, transport_failure};
use super::body::{BodyError, ReadError, decode, decode_streamed, read_capped, to_json};
use super::cloud::ApiBase;
use super::error::{CallTraits, FailKind, MAX_RESPONSE_BYTES, RetryKind, Verdict, ZpaError, classify, server_wait};
use super::limiter::{Budget, RateLimiter};
use super::observe::{NoopObserver, Outcome, RequestObserver};
use super::retry::RetryPolicy;
use super::tls::{TlsSettings, parse_ca_bundle};
use zpa_wire::error::ApiErrorBody;

/// Everything needed to reach one tenant.
#[derive(Debug, Clone)]
pub struct ZpaConfig {
    pub api_base: ApiBase,
    pub sign_in: SignIn,
    pub credentials: ClientCredentials,
    pub customer_id: String,
    pub retry: RetryPolicy,
    pub tls: TlsSettings,
}

/// A client for one tenant. Cheap to clone; clones share the token and the limiter.
#[derive(Clone)]
pub struct ZpaClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ZpaConfig,
    http: reqwest::Client,
    tokens: TokenSource,
    limiter: Arc<RateLimiter>,
    observer: Arc<dyn RequestObserver>,
}

impl std::fmt::Debug for ZpaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZpaClient")
            .field("api_base", &self.inner.config.api_base)
            .field("customer_id", &self.inner.config.customer_id)
            .finish_non_exhaustive()
    }
}

/// One logical API call.
#[derive(Debug)]
pub(crate) struct Call {
    /// Stable operation name for metrics and messages, e.g. `profiles.create`.
    pub operation: &'static str,
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    pub traits: CallTraits,
}

/// Session refreshes one call may do when the body says the session is
/// invalid (the Go SDK's limit, `zscaler/oneapiclient.go`); any other 401 gets one.
const MAX_SESSION_REFRESHES: u32 = 3;
/// Tries of a request refused with an error id the client does not know.
const UNKNOWN_REFUSAL_ATTEMPTS: u32 = 3;
/// Tries of a Microtenant create refused for a domain another Microtenant
/// holds, and the wait between them (capped by the policy's longest backoff):
/// the Go SDK's own tests retry `domains.already.exists.in.other.microtenant`
/// 3 times, 2 s apart, after deleting the Microtenant that held the domain.
const DOMAIN_HELD_ATTEMPTS: u32 = 4;
const DOMAIN_RELEASE_WAIT: Duration = Duration::from_secs(2);

impl Call {
    pub fn new(operation: &'static str, method: Method, path: String) -> Self {
        Self { operation, method, path, query: Vec::new(), body: None, traits: CallTraits::default() }
    }

    /// A `/cbiconfig` call: its "not mapped" answers are `CbiNotAvailable`.
    pub fn cbi(mut self) -> Self {
        self.traits.cbi = true;
        self
    }

    /// A Microtenant create: a domain held by another Microtenant is retried
    /// a few times (it may be one just deleted) before it is `Invalid`.
    pub fn domain_may_be_held(mut self) -> Self {
        self.traits.domain_may_be_held = true;
        self
    }

    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub fn query_opt(self, key: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// A POST may create something; without an answer we cannot know whether it did.
    fn is_idempotent(&self) -> bool {
        self.method != Method::POST
    }
}

impl ZpaClient {
    pub fn new(config: ZpaConfig, limiter: Arc<RateLimiter>) -> Result<Self, ZpaError> {
        Self::with_observer(config, limiter, Arc::new(NoopObserver))
    }

    pub fn with_observer(
        config: ZpaConfig,
        limiter: Arc<RateLimiter>,
        observer: Arc<dyn RequestObserver>,
    ) -> Result<Self, ZpaError> {
        install_crypto_provider();
        let http = http_client(&config)?;
        let tokens = TokenSource::new(config.sign_in.clone(), config.credentials.clone(), observer.clone());
        Ok(Self { inner: Arc::new(Inner { config, http, tokens, limiter, observer }) })
    }

    pub fn customer_id(&self) -> &str {
        &self.inner.config.customer_id
    }

    pub fn api_base(&self) -> &ApiBase {
        &self.inner.config.api_base
    }

    /// Signs in (or reuses the cached token); proves the credentials work.
    pub async fn sign_in(&self) -> Result<(), ZpaError> {
        let timeout = self.inner.config.retry.request_timeout;
        self.inner.tokens.token(&self.inner.http, timeout).await.map(|_| ())
    }

    /// `GET` a route that has no typed operation here (any path of
    /// [`zpa_wire::paths`]), through the same limiter, sign-in, retries and
    /// answer checks as every typed one. `operation` names it in metrics and errors.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: String,
        query: &[(&'static str, String)],
    ) -> Result<T, ZpaError> {
        let mut call = Call::new(operation, Method::GET, path);
        call.query.extend(query.iter().cloned());
        self.json(call).await
    }

    /// `POST` a JSON body to a route that has no typed operation here.
    pub async fn post_json<T: DeserializeOwned, B: serde::Serialize>(
        &self,
        operation: &'static str,
        path: String,
        body: &B,
    ) -> Result<T, ZpaError> {
        self.json(Call::new(operation, Method::POST, path).json(to_json(body)?)).await
    }

    /// Runs a call and decodes its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, ZpaError> {
        self.execute_reading(call, |response| async move {
            let body = read_capped(response, MAX_RESPONSE_BYTES).await.map_err(ReadError::Body)?;
            decode(&body).map_err(ReadError::Decode)
        })
        .await
    }

    /// Runs a call and decodes its JSON answer while it arrives: for unpaged
    /// lists (every CBI profile of a scope), whose whole body would otherwise
    /// be held beside what is made of it.
    pub(crate) async fn json_streamed<T: DeserializeOwned + Send + 'static>(&self, call: Call) -> Result<T, ZpaError> {
        self.execute_reading(call, |response| decode_streamed(response, MAX_RESPONSE_BYTES)).await
    }

    /// Runs a call whose answer body does not matter.
    pub(crate) async fn unit(&self, call: Call) -> Result<(), ZpaError> {
        self.execute(call).await.map(|_| ())
    }

    /// Runs a call and returns its answer's body.
    pub(crate) async fn execute(&self, call: Call) -> Result<Vec<u8>, ZpaError> {
        self.execute_reading(call, |response| async move {
            read_capped(response, MAX_RESPONSE_BYTES).await.map_err(ReadError::Body)
        })
        .await
    }

    /// The retry loop; a 2xx answer is read by `read_success`, any other
    /// answer whole, to be judged. Limiter queueing does not count against
    /// the deadline; backoff and server-requested waits do.
    async fn execute_reading<O, F, Fut>(&self, call: Call, read_success: F) -> Result<O, ZpaError>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<O, ReadError>>,
    {
        let inner = &*self.inner;
        let policy = inner.config.retry;
        let budget = Budget::for_method(&call.method);
        let url = inner.config.api_base.url(&call.path) + &encode_query(&call.query);
        let mut deadline = Instant::now() + policy.deadline;
        let mut attempt = 0u32;
        let mut refreshes = 0u32;

        loop {
            attempt += 1;
            let waited = inner.limiter.acquire(budget).await;
            if !waited.is_zero() {
                inner.observer.throttled(budget, waited);
                deadline += waited;
            }

            let token = match inner.tokens.token(&inner.http, policy.request_timeout).await {
                Ok(token) => token,
                Err(error) if error.is_retryable() && attempt < policy.max_attempts => {
                    sleep_within(policy.backoff(attempt), deadline, error).await?;
                    continue;
                }
                Err(error) => return Err(error),
            };

            let mut request = inner
                .http
                .request(call.method.clone(), &url)
                .bearer_auth(token.value.expose())
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(policy.request_timeout);
            if let Some(body) = &call.body {
                request = request.json(body);
            }

            let started = Instant::now();
            let answer = match request.send().await {
                Ok(response) if response.status().is_success() => {
                    let status = response.status().as_u16();
                    match read_success(response).await {
                        Ok(read) => {
                            inner.observer.request(call.operation, Outcome::from_status(status), started.elapsed());
                            return Ok(read);
                        }
                        Err(ReadError::Decode(detail)) => {
                            inner.observer.request(call.operation, Outcome::from_status(status), started.elapsed());
                            let (method, idempotent) = (method_name(&call.method), call.is_idempotent());
                            return Err(unusable_success(call.operation, method, idempotent, detail));
                        }
                        Err(ReadError::Body(error)) => Err(error),
                    }
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
                    let retry_after = server_wait(status, header("retry-after"), header("x-ratelimit-reset"));
                    read_capped(response, MAX_RESPONSE_BYTES).await.map(|body| (status, retry_after, body))
                }
                Err(error) => Err(BodyError::Transport(error)),
            };

            let (status, retry_after, body) = match answer {
                Ok(answer) => answer,
                Err(BodyError::TooLarge { status, limit }) => {
                    inner.observer.request(call.operation, Outcome::from_status(status), started.elapsed());
                    let detail = format!("HTTP {status} with a body larger than {limit} bytes");
                    if (200..300).contains(&status) {
                        let method = method_name(&call.method);
                        return Err(unusable_success(call.operation, method, call.is_idempotent(), detail));
                    }
                    return Err(ZpaError::InvalidResponse { operation: call.operation, detail });
                }
                Err(BodyError::Transport(error)) => {
                    inner.observer.request(call.operation, Outcome::TransportError, started.elapsed());
                    // A connect error means nothing was sent; anything later may have been applied.
                    if !call.is_idempotent() && !error.is_connect() {
                        return Err(ZpaError::Indeterminate {
                            operation: call.operation,
                            method: method_name(&call.method),
                        });
                    }
                    let failure = transport_failure(call.operation, &error);
                    if !failure.is_retryable() || attempt >= policy.max_attempts {
                        return Err(failure);
                    }
                    sleep_within(policy.backoff(attempt), deadline, failure).await?;
                    continue;
                }
            };
            inner.observer.request(call.operation, Outcome::from_status(status), started.elapsed());

            let text = String::from_utf8_lossy(&body);
            match classify(status, retry_after, &text, call.traits) {
                // 2xx answers were read and returned above.
                Verdict::Success => {
                    return Err(ZpaError::Internal {
                        detail: format!("{}: HTTP {status} judged a success after the success path", call.operation),
                    });
                }
                Verdict::RefreshSession { wait, marked } => {
                    // Refused under load ("Resource Access Blocked") is worth
                    // waiting out; a session refused again and again is not.
                    let failure = if wait {
                        ZpaError::Transient {
                            detail: format!(
                                "{} answered HTTP {status}: {}",
                                call.operation,
                                api_reason(&text, "blocked")
                            ),
                        }
                    } else {
                        ZpaError::Unauthorized {
                            reason: api_reason(&text, "the session was refused after signing in again"),
                        }
                    };
                    let allowed = if marked { MAX_SESSION_REFRESHES } else { 1 };
                    if refreshes >= allowed || (wait && attempt >= policy.max_attempts) {
                        return Err(failure);
                    }
                    refreshes += 1;
                    // A new token before the retry: the Go SDK treats all of
                    // these as an invalid session.
                    inner.tokens.invalidate(&token).await;
                    if wait {
                        sleep_within(policy.backoff(attempt), deadline, failure).await?;
                    } else {
                        attempt -= 1; // a session refresh is not a failed attempt
                    }
                }
                Verdict::Retry { after, kind } => {
                    let failure = retry_exhausted(kind, after, &call, status, &text);
                    let limit = match kind {
                        RetryKind::UnknownRefusal => policy.max_attempts.min(UNKNOWN_REFUSAL_ATTEMPTS),
                        RetryKind::DomainHeld => DOMAIN_HELD_ATTEMPTS,
                        _ => policy.max_attempts,
                    };
                    if attempt >= limit {
                        return Err(failure);
                    }
                    let delay = match (after, kind) {
                        (Some(hint), _) => policy.after_server_hint(hint),
                        (None, RetryKind::DomainHeld) => DOMAIN_RELEASE_WAIT.min(policy.max_delay),
                        (None, _) => policy.backoff(attempt),
                    };
                    if kind == RetryKind::RateLimited {
                        inner.limiter.pause(budget, delay);
                    }
                    sleep_within(delay, deadline, failure).await?;
                }
                Verdict::Fail(kind) => return Err(failure(kind, &call, status, &text)),
            }
        }
    }
}

/// A 2xx answer the call cannot use. For a write that may create something
/// (POST) the change happened but its result is unknown: that is
/// [`ZpaError::Indeterminate`], so the caller looks before it creates again.
fn unusable_success(operation: &'static str, method: &'static str, idempotent: bool, detail: String) -> ZpaError {
    if idempotent {
        return ZpaError::InvalidResponse { operation, detail };
    }
    tracing::warn!(operation, %detail, "ZPA accepted a write but its answer is unusable");
    ZpaError::Indeterminate { operation, method }
}

/// The HTTP client of one tenant: certificates always verified against the
/// platform roots plus the configured CA bundle, unless verification was
/// switched off by name, which is said loudly every time.
fn http_client(config: &ZpaConfig) -> Result<reqwest::Client, ZpaError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("zpa-operator/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(50));
    if let Some(bundle) = &config.tls.ca_bundle {
        builder = builder.tls_certs_merge(parse_ca_bundle(bundle)?);
    }
    if config.tls.insecure_skip_verify {
        tracing::warn!(
            api = config.api_base.as_str(),
            "TLS certificate verification is OFF for this ZPA tenant (tls.insecureSkipTLSVerify): \
             anyone on the network path can read the API credentials and tokens"
        );
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| {
        let detail = transport_detail(&e);
        match config.tls.ca_bundle {
            Some(_) => ZpaError::InvalidCaBundle { detail },
            None => ZpaError::Internal { detail: format!("cannot build HTTP client: {detail}") },
        }
    })
}

/// Sleeps unless that would pass the deadline, in which case the last failure stands.
async fn sleep_within(delay: Duration, deadline: Instant, failure: ZpaError) -> Result<(), ZpaError> {
    if Instant::now() + delay > deadline {
        return Err(failure);
    }
    tokio::time::sleep(delay).await;
    Ok(())
}

fn retry_exhausted(kind: RetryKind, after: Option<Duration>, call: &Call, status: u16, body: &str) -> ZpaError {
    let parsed: ApiErrorBody = serde_json::from_str(body).unwrap_or_default();
    match kind {
        RetryKind::RateLimited => ZpaError::RateLimited { retry_after: after.unwrap_or(Duration::from_secs(10)) },
        RetryKind::EditLock => ZpaError::Conflict {
            id: parsed.id.unwrap_or_else(|| format!("HTTP {status}")),
            reason: parsed.reason.unwrap_or_else(|| snippet(body)),
        },
        RetryKind::ServerError => ZpaError::Transient {
            detail: format!("{} answered HTTP {status}: {}", call.operation, api_reason(body, "server error")),
        },
        RetryKind::UnknownRefusal => ZpaError::Refused {
            status,
            id: parsed.id.or(parsed.code).unwrap_or_else(|| format!("HTTP {status}")),
            reason: api_reason(body, "no reason given"),
            params: parsed.params.unwrap_or_default(),
        },
        RetryKind::DomainHeld => ZpaError::Invalid {
            status,
            id: parsed.id.or(parsed.code).unwrap_or_else(|| format!("HTTP {status}")),
            reason: api_reason(body, "no reason given"),
            params: parsed.params.unwrap_or_default(),
        },
    }
}

fn failure(kind: FailKind, call: &Call, status: u16, body: &str) -> ZpaError {
    let parsed: ApiErrorBody = serde_json::from_str(body).unwrap_or_default();
    let reason = api_reason(body, "no reason given");
    match kind {
        FailKind::NotFound => {
            ZpaError::NotFound { what: format!("{} {} ({reason})", method_name(&call.method), call.path) }
        }
        FailKind::CbiNotAvailable => ZpaError::CbiNotAvailable {
            reason: format!("{} {} answered HTTP {status} ({reason})", method_name(&call.method), call.path),
        },
        FailKind::Duplicate => ZpaError::Duplicate { reason },
        FailKind::Invalid => ZpaError::Invalid {
            status,
            id: parsed.id.or(parsed.code).unwrap_or_else(|| format!("HTTP {status}")),
            reason,
            params: parsed.params.unwrap_or_default(),
        },
        FailKind::Unauthorized => ZpaError::Unauthorized { reason },
        FailKind::Terminal => {
            ZpaError::Terminal { detail: format!("{} answered HTTP {status}: {reason}", call.operation) }
        }
    }
}

/// The API's `reason` (or `message`), else a short excerpt of the body.
fn api_reason(body: &str, fallback: &str) -> String {
    let parsed: ApiErrorBody = serde_json::from_str(body).unwrap_or_default();
    parsed
        .reason
        .or(parsed.message)
        .or(parsed.id)
        .unwrap_or_else(|| if body.trim().is_empty() { fallback.to_owned() } else { snippet(body) })
}

fn snippet(body: &str) -> String {
    body.chars().take(200).collect()
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// `?k=v&...` with every reserved character percent-encoded. ZPA wants a
/// search expression's `+` as `%2B` and spaces as `%20`, which form encoding
/// (`+` for space) would get wrong.
fn encode_query(query: &[(&'static str, String)]) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    if query.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, UNRESERVED), utf8_percent_encode(v, UNRESERVED)))
        .collect();
    format!("?{}", pairs.join("&"))
}

/// rustls needs a process-wide crypto provider; ring is the one kube uses too.
fn install_crypto_provider() {
    // Err means one is installed already, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_expressions_are_percent_encoded() {
        let query = vec![("search", "name+EQ+Service Edge".to_owned()), ("page", "1".to_owned())];
        assert_eq!(encode_query(&query), "?search=name%2BEQ%2BService%20Edge&page=1");
        assert_eq!(encode_query(&[]), "");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 256, failure_persistence: None, ..Default::default() })]

        /// Error bodies that are not the API's JSON (a proxy page, noise) become a
        /// failure quoting at most 200 characters of them, never a panic.
        #[test]
        fn any_error_body_becomes_a_bounded_failure(status in 400u16..600, body in "<\\PC{0,400}") {
            let call = Call::new("profiles.get", Method::GET, "/x".into());
            for kind in [FailKind::NotFound, FailKind::CbiNotAvailable, FailKind::Duplicate, FailKind::Invalid, FailKind::Unauthorized, FailKind::Terminal] {
                let error = failure(kind, &call, status, &body);
                proptest::prop_assert!(error.to_string().chars().count() < 300, "{}", error);
            }
            for kind in [RetryKind::RateLimited, RetryKind::EditLock, RetryKind::ServerError, RetryKind::UnknownRefusal, RetryKind::DomainHeld] {
                let error = retry_exhausted(kind, None, &call, status, &body);
                proptest::prop_assert!(error.to_string().chars().count() < 300, "{}", error);
            }
        }
    }

    #[test]
    fn failures_carry_the_api_id_and_reason() {
        let call = Call::new("microtenants.create", Method::POST, "/x".into());
        let body =
            r#"{"id":"domains.does.not.belong.to.customer","reason":"Domain foo.io is not valid","params":["foo.io"]}"#;
        match failure(FailKind::Invalid, &call, 400, body) {
            ZpaError::Invalid { status, id, reason, params } => {
                assert_eq!(
                    (status, id.as_str(), reason.as_str()),
                    (400, "domains.does.not.belong.to.customer", "Domain foo.io is not valid")
                );
                assert_eq!(params, vec!["foo.io"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
