//! What every non-admin request goes through, in order:
//! latency and dropped-connection faults, the bearer check, the rate limiter,
//! 429/5xx/edit-lock faults, the handler, drop-after-commit, the counters,
//! and malformed answer bodies.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, OriginalUri, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use super::auth;
use super::conn::ConnHandle;
use super::faults::{self, RequestInfo};
use super::ratelimit::{Class, retry_after_secs};
use super::state::{RecordedRequest, Sim};
use super::stats::Outcome;
use zpa_wire::paths::{ONEAPI_PREFIX, SIGNIN};

/// The OneAPI token path (on the ZIdentity host in real life).
pub const OAUTH_TOKEN: &str = "/oauth2/v1/token";

/// The route template without the OneAPI prefix, and whether it had one.
fn route_of(template: &str) -> (&str, bool) {
    match template.strip_prefix(ONEAPI_PREFIX) {
        Some(rest) if rest.starts_with('/') => (rest, true),
        _ => (template, false),
    }
}

fn dropped() -> Response {
    // Never reaches the client: the connection is cut before it is written.
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

pub async fn pipeline(State(sim): State<Arc<Sim>>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let full_path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|uri| uri.0.path().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let template =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| full_path.clone());
    let (route, one_api) = route_of(&template);
    let route = route.to_owned();
    let auth_endpoint = route == SIGNIN || route == OAUTH_TOKEN;
    let conn = req.extensions().get::<ConnectInfo<ConnHandle>>().map(|c| c.0.clone());
    let info = RequestInfo { method: &method, path: &full_path, auth_endpoint };
    let record = |outcome: Outcome| sim.stats().record(method.as_str(), &route, one_api, outcome);

    let early = sim.faults().early(info);
    if let Some(delay) = early.latency {
        tokio::time::sleep(delay).await;
    }
    if early.drop_connection
        && let Some(conn) = &conn
    {
        tracing::info!(%method, path = %full_path, "fault: dropping the connection");
        conn.kill();
        record(Outcome::Dropped { committed: false });
        return dropped();
    }

    if !auth_endpoint {
        let session = match auth::authorize(&sim, req.headers(), req.uri().path()) {
            Ok(session) => session,
            Err(err) => {
                record(Outcome::Status(err.status.as_u16()));
                return err.into_response();
            }
        };
        let limited = sim.limiter().check(&session.customer_id, Class::of(&method), Instant::now());
        if let Err(wait) = limited {
            let secs = retry_after_secs(wait);
            tracing::debug!(%method, route, secs, "rate limited");
            record(Outcome::Status(429));
            return faults::too_many_requests(secs).into_response();
        }
        req.extensions_mut().insert(session);
        // Kept for tests (`GET /__sim/requests/last`); sign-in bodies never are.
        req = match keep_request(&sim, &method, &route, req).await {
            Ok(req) => req,
            Err(response) => {
                record(Outcome::Status(response.status().as_u16()));
                return response;
            }
        };
    }

    let late = {
        let mut rng = rand::rng();
        sim.faults().late(info, Instant::now(), &mut || rng.random::<f64>())
    };
    if let Some(reject) = late.reject {
        tracing::info!(%method, path = %full_path, status = reject.status.as_u16(), fault = ?late.fault, "fault: injected error");
        if late.revoke_session
            && let Some(token) = auth::bearer(req.headers())
        {
            sim.world().sessions.remove(token);
        }
        if let Some(fault) = late.fault {
            sim.stats().injected(fault);
        }
        record(Outcome::Status(reject.status.as_u16()));
        return reject.into_response();
    }

    let response = next.run(req).await;
    if late.drop_after_commit
        && let Some(conn) = &conn
    {
        tracing::info!(%method, path = %full_path, status = response.status().as_u16(), "fault: dropping the response after commit");
        conn.kill();
        record(Outcome::Dropped { committed: true });
        return dropped();
    }
    record(Outcome::Status(response.status().as_u16()));
    match late.malformed_body {
        Some(mode) => malformed(response, mode).await,
        None => response,
    }
}

/// The largest request body the API takes (axum's default body limit, which
/// the handlers' extractors apply as well).
const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;

/// Reads the request body, records it as the last request of its route, and
/// hands the request on unchanged.
async fn keep_request(sim: &Sim, method: &Method, route: &str, req: Request) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await.map_err(|_| {
        super::error::ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            super::error::sim_ids::MALFORMED_BODY,
            "The request body is too large.",
        )
        .into_response()
    })?;
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let recorded = RecordedRequest {
        method: method.to_string(),
        route: route.to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body,
    };
    sim.requests().insert(format!("{method} {route}"), recorded);
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The same answer (status, headers) with its body corrupted.
async fn malformed(response: Response, mode: faults::MalformedMode) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    tracing::info!(?mode, status = parts.status.as_u16(), "fault: corrupting the answer body");
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(mode.corrupt(&bytes)))
}

/// Unknown paths: the body ZPA's gateway sends, counted unless under `/__sim/`.
pub async fn fallback(State(sim): State<Arc<Sim>>, req: Request<Body>) -> Response {
    let path = req.uri().path().to_owned();
    if !path.starts_with("/__sim") {
        let one_api = path.starts_with("/zpa/");
        sim.stats().record(req.method().as_str(), "UNMATCHED", one_api, Outcome::Status(404));
    }
    super::error::ApiError::not_found("No handler found").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oneapi_prefix_is_removed_from_route_templates() {
        assert_eq!(route_of("/zpa/mgmtconfig/v1/admin/me"), ("/mgmtconfig/v1/admin/me", true));
        assert_eq!(route_of("/mgmtconfig/v1/admin/me"), ("/mgmtconfig/v1/admin/me", false));
        assert_eq!(route_of("/zpanot"), ("/zpanot", false));
    }
}
