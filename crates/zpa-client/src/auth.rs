//! Signing in and keeping a bearer token fresh.
//!
//! Two flows: legacy (`POST {base}/signin`, form `client_id`/`client_secret`)
//! and OneAPI (ZIdentity client credentials with audience
//! `https://api.zscaler.com`, authenticated by a client secret or by a client
//! assertion a private key signs afresh for each sign-in, see
//! [`super::assertion`]). The token is cached and renewed shortly before
//! it expires; callers that find it refused report it stale, and exactly one
//! of them signs in again. A refused sign-in is remembered for a growing
//! pause, so wrong credentials never turn into a storm of sign-ins.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::assertion::PrivateKey;
use super::error::ZpaError;
use super::observe::{Outcome, RequestObserver};
use zpa_wire::auth::{CLIENT_ASSERTION_TYPE, OAuthErrorBody, ONEAPI_AUDIENCE, TokenResponse};
use zpa_wire::error::ApiErrorBody;
use zpa_wire::secret::SecretString;

/// How to obtain a token.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// `POST {url}` with form `client_id`, `client_secret` (url = `{base}/signin`).
    Legacy { url: String },
    /// ZIdentity token endpoint, client-credentials grant.
    OneApi { token_url: String },
}

/// An API client: its id and how it proves it.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub authentication: ClientAuthentication,
}

/// How an API client proves who it is.
#[derive(Debug, Clone)]
pub enum ClientAuthentication {
    /// A client secret: the legacy API key's, or OneAPI's `client_secret`.
    Secret(SecretString),
    /// OneAPI only: a private key; each sign-in sends a fresh signed
    /// `client_assertion` instead of a secret.
    PrivateKey(PrivateKey),
}

impl ClientCredentials {
    /// A client id and secret.
    pub fn secret(client_id: impl Into<String>, secret: SecretString) -> Self {
        Self { client_id: client_id.into(), authentication: ClientAuthentication::Secret(secret) }
    }

    /// A client id and private key (OneAPI).
    pub fn private_key(client_id: impl Into<String>, key: PrivateKey) -> Self {
        Self { client_id: client_id.into(), authentication: ClientAuthentication::PrivateKey(key) }
    }
}

/// A token and the sign-in it came from (so a stale report from an older
/// sign-in does not throw away a newer token).
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub value: SecretString,
    pub generation: u64,
}

#[derive(Debug)]
struct Cached {
    token: Token,
    renew_at: Instant,
}

/// A sign-in the server refused, remembered so that every caller in the
/// meantime gets the same answer without asking again.
#[derive(Debug)]
struct Refusal {
    error: ZpaError,
    retry_at: Instant,
    count: u32,
}

#[derive(Debug, Default)]
struct State {
    cached: Option<Cached>,
    refusal: Option<Refusal>,
}

pub(crate) struct TokenSource {
    sign_in: SignIn,
    credentials: ClientCredentials,
    state: Mutex<State>,
    generation: std::sync::atomic::AtomicU64,
    observer: Arc<dyn RequestObserver>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource").field("sign_in", &self.sign_in).finish_non_exhaustive()
    }
}

/// Tokens without a usable lifetime are assumed to last this long.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// Renew this long before expiry at most (less for very short tokens).
const RENEW_LEAD: Duration = Duration::from_secs(60);
/// After a refused sign-in, the next one waits this long, doubling per
/// refusal up to [`MAX_REFUSAL_PAUSE`]. New credentials make a new client,
/// so a fixed Secret is not held back by it.
const FIRST_REFUSAL_PAUSE: Duration = Duration::from_secs(2);
const MAX_REFUSAL_PAUSE: Duration = Duration::from_secs(60);

/// The operation name sign-in attempts are observed under.
pub const SIGN_IN_OPERATION: &str = "auth.signin";

impl TokenSource {
    pub fn new(sign_in: SignIn, credentials: ClientCredentials, observer: Arc<dyn RequestObserver>) -> Self {
        Self { sign_in, credentials, state: Mutex::new(State::default()), generation: Default::default(), observer }
    }

    /// A valid token, signing in when there is none or it is about to expire.
    /// Holding the lock across the sign-in makes concurrent callers share one.
    /// A refused sign-in is not repeated before its pause is over: however
    /// many reconciles need a token, wrong credentials cost one attempt per pause.
    pub async fn token(&self, http: &reqwest::Client, timeout: Duration) -> Result<Token, ZpaError> {
        let mut state = self.state.lock().await;
        if let Some(current) = state.cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(current.token.clone());
        }
        if let Some(refusal) = state.refusal.as_ref().filter(|r| Instant::now() < r.retry_at) {
            return Err(refusal.error.clone());
        }
        let response = match self.sign_in(http, timeout).await {
            Ok(response) => response,
            Err(error) => {
                if !error.is_retryable() {
                    let count = state.refusal.as_ref().map_or(0, |r| r.count) + 1;
                    let pause = FIRST_REFUSAL_PAUSE.saturating_mul(1 << (count - 1).min(10)).min(MAX_REFUSAL_PAUSE);
                    tracing::warn!(%error, ?pause, "ZPA sign-in failed; not trying again before the pause is over");
                    state.refusal = Some(Refusal { error: error.clone(), retry_at: Instant::now() + pause, count });
                }
                return Err(error);
            }
        };
        state.refusal = None;
        let lifetime = token_lifetime(&response);
        let lead = RENEW_LEAD.min(lifetime / 10);
        let generation = self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let token = Token { value: response.access_token, generation };
        state.cached = Some(Cached { token: token.clone(), renew_at: Instant::now() + lifetime - lead });
        Ok(token)
    }

    /// The server refused `token`: forget it unless a newer one replaced it already.
    pub async fn invalidate(&self, token: &Token) {
        let mut state = self.state.lock().await;
        if state.cached.as_ref().is_some_and(|c| c.token.generation == token.generation) {
            state.cached = None;
        }
    }

    async fn sign_in(&self, http: &reqwest::Client, timeout: Duration) -> Result<TokenResponse, ZpaError> {
        let client_id = self.credentials.client_id.as_str();
        let request = match (&self.sign_in, &self.credentials.authentication) {
            (SignIn::Legacy { url }, ClientAuthentication::Secret(secret)) => {
                http.post(url).form(&[("client_id", client_id), ("client_secret", secret.expose())])
            }
            (SignIn::Legacy { .. }, ClientAuthentication::PrivateKey(_)) => {
                return Err(ZpaError::Internal {
                    detail: "the legacy sign-in (POST /signin) takes a client secret, not a private key".to_owned(),
                });
            }
            (SignIn::OneApi { token_url }, ClientAuthentication::Secret(secret)) => http.post(token_url).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret.expose()),
                ("audience", ONEAPI_AUDIENCE),
            ]),
            (SignIn::OneApi { token_url }, ClientAuthentication::PrivateKey(key)) => {
                let assertion = signed_assertion(key, client_id)?;
                http.post(token_url).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_assertion", assertion.expose()),
                    ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                    ("audience", ONEAPI_AUDIENCE),
                ])
            }
        };
        let started = Instant::now();
        let response = match request.timeout(timeout).send().await {
            Ok(response) => response,
            Err(error) => {
                self.observer.request(SIGN_IN_OPERATION, Outcome::TransportError, started.elapsed());
                return Err(transport_failure("sign-in failed", &error));
            }
        };
        let status = response.status().as_u16();
        self.observer.request(SIGN_IN_OPERATION, Outcome::from_status(status), started.elapsed());
        let body = match super::body::read_capped(response, super::error::MAX_RESPONSE_BYTES).await {
            Ok(body) => body,
            Err(super::body::BodyError::Transport(e)) => {
                return Err(ZpaError::Transient {
                    detail: format!("sign-in response unreadable: {}", transport_detail(&e)),
                });
            }
            Err(super::body::BodyError::TooLarge { limit, .. }) => {
                return Err(ZpaError::Terminal { detail: format!("sign-in answered with a body over {limit} bytes") });
            }
        };
        match status {
            // The body holds the token: never quote it in an error.
            200..=299 => serde_json::from_slice(&body).map_err(|e| ZpaError::Terminal {
                detail: format!(
                    "sign-in answered with an unexpected body ({:?} error at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            }),
            400 | 401 | 403 => {
                let parsed: ApiErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                // ZIdentity answers as OAuth does (RFC 6749 §5.2).
                let oauth: OAuthErrorBody = serde_json::from_slice(&body).unwrap_or_default();
                let oauth = match (oauth.error, oauth.error_description) {
                    (Some(error), Some(description)) => Some(format!("{error}: {description}")),
                    (error, description) => description.or(error),
                };
                let reason = parsed
                    .reason
                    .or(parsed.message)
                    .or(parsed.id)
                    .or(oauth)
                    .unwrap_or_else(|| "credentials refused".into());
                Err(ZpaError::Unauthorized { reason: format!("sign-in refused (HTTP {status}): {reason}") })
            }
            _ => Err(ZpaError::Transient { detail: format!("sign-in answered HTTP {status}") }),
        }
    }
}

/// A client assertion signed now; kept in a [`SecretString`]: for its ten
/// minutes it is as good as a secret.
fn signed_assertion(key: &PrivateKey, client_id: &str) -> Result<SecretString, ZpaError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| ZpaError::Internal { detail: "the system clock is before 1970".to_owned() })?
        .as_secs();
    key.assertion(client_id, now)
        .map(SecretString::new)
        .map_err(|error| ZpaError::Internal { detail: format!("cannot sign the client assertion: {error}") })
}

/// A transport error as a [`ZpaError`]: a certificate that does not verify
/// is its own, non-retryable kind; anything else is transient.
pub(crate) fn transport_failure(context: &str, error: &reqwest::Error) -> ZpaError {
    match super::tls::verification_failure(error) {
        Some(detail) => ZpaError::TlsVerificationFailed { detail },
        None => ZpaError::Transient { detail: format!("{context}: {}", transport_detail(error)) },
    }
}

/// `expires_in` when present, else the JWT `exp` claim, else an hour.
fn token_lifetime(response: &TokenResponse) -> Duration {
    if let Some(secs) = response.expires_in_secs() {
        return Duration::from_secs(secs);
    }
    jwt_expiry_from_now(response.access_token.expose()).unwrap_or(DEFAULT_LIFETIME)
}

fn jwt_expiry_from_now(jwt: &str) -> Option<Duration> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    // Capped like `expires_in`: a hostile claim must not overflow the renewal deadline.
    Some(Duration::from_secs(exp.saturating_sub(now).min(zpa_wire::auth::MAX_TOKEN_LIFETIME_SECS)))
}

/// A transport error with its causes, which reqwest's `Display` leaves out.
pub(crate) fn transport_detail(error: &reqwest::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        parts.push(inner.to_string());
        source = inner.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt_with_exp(exp: u64) -> String {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.{}",
            enc.encode(r#"{"alg":"HS256"}"#),
            enc.encode(format!(r#"{{"exp":{exp}}}"#)),
            enc.encode("sig")
        )
    }

    #[test]
    fn lifetime_prefers_expires_in_then_jwt_exp() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let with_expires: TokenResponse = serde_json::from_value(serde_json::json!({
            "access_token": jwt_with_exp(now + 100), "expires_in": "3600"}))
        .unwrap();
        assert_eq!(token_lifetime(&with_expires), Duration::from_secs(3600));
        let jwt_only: TokenResponse =
            serde_json::from_value(serde_json::json!({"access_token": jwt_with_exp(now + 100)})).unwrap();
        let lifetime = token_lifetime(&jwt_only);
        assert!(lifetime <= Duration::from_secs(100) && lifetime >= Duration::from_secs(98), "{lifetime:?}");
        let opaque: TokenResponse = serde_json::from_value(serde_json::json!({"access_token": "opaque"})).unwrap();
        assert_eq!(token_lifetime(&opaque), DEFAULT_LIFETIME);
        // A hostile claim is capped, so `now + lifetime` can never overflow.
        let far: TokenResponse =
            serde_json::from_value(serde_json::json!({"access_token": jwt_with_exp(u64::MAX)})).unwrap();
        let lifetime = token_lifetime(&far);
        assert_eq!(lifetime, Duration::from_secs(zpa_wire::auth::MAX_TOKEN_LIFETIME_SECS));
        assert!(tokio::time::Instant::now().checked_add(lifetime).is_some());
    }
}
