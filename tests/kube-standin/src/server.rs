//! HTTP front: shared state, routing of every request to discovery, OpenAPI, watch or the
//! resource verbs, and `Status` error responses.
//!
//! Mirrors the apiserver's handler chain for plain HTTP: unknown paths and resources are 404
//! `NotFound` Status objects, unsupported verbs 405, namespaced resources answer on
//! `/namespaces/{ns}/...` (and list/watch across namespaces without it), cluster-scoped ones
//! only without a namespace, and field-validation warnings go out as `Warning: 299` headers.

use crate::discovery;
use crate::handlers::{self, Ctx, Reply};
use crate::openapi;
use crate::request::{Query, ResourcePath, Route, route, wants_aggregated, wants_table};
use crate::status::ApiError;
use crate::store::Store;
use crate::table::Include;
use crate::watch::{self, WatchRequest};
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// State shared by all requests and background tasks.
pub struct Shared {
    store: Mutex<Store>,
    pub gc: tokio::sync::Notify,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    pub bookmark_interval: Duration,
    pub server_address: String,
}

impl Shared {
    pub fn new(
        store: Store,
        shutdown: tokio::sync::watch::Receiver<bool>,
        bookmark_interval: Duration,
        server_address: String,
    ) -> Self {
        Self { store: Mutex::new(store), gc: tokio::sync::Notify::new(), shutdown, bookmark_interval, server_address }
    }

    /// The store; a panic while holding it does not poison later requests.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn json_response(code: u16, body: &Value, content_type: &str, warnings: &[String]) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    for w in warnings {
        let text = format!("299 - {}", crate::status::go_quote(w));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status(), "application/json", &[])
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The single entry point for every request.
pub async fn dispatch(shared: Arc<Shared>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => {
            return error_response(&ApiError::bad_request(format!("unable to read the request body: {e}")));
        }
    };
    let mut content_type = header_str(&parts.headers, header::CONTENT_TYPE).to_string();
    let mut bytes = bytes.to_vec();
    if crate::request::media_type(&content_type) == "application/vnd.kubernetes.protobuf" {
        match crate::proto::decode(&bytes) {
            Some(v) => {
                bytes = serde_json::to_vec(&v).unwrap_or_default();
                content_type = "application/json".into();
            }
            None => {
                return error_response(&ApiError::unsupported_media_type(
                    &content_type,
                    &["application/json", "application/yaml"],
                ));
            }
        }
    }
    let query = Query::parse(parts.uri.query());
    let accept = header_str(&parts.headers, header::ACCEPT);
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let result = match route(&path) {
        Route::Version => Ok(json_response(200, &discovery::version(), "application/json", &[])),
        Route::Healthz => {
            let mut r = Response::new(Body::from("ok"));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            Ok(r)
        }
        Route::CoreGroup => {
            let store = shared.lock();
            if wants_aggregated(accept) {
                Ok(json_response(
                    200,
                    &discovery::aggregated(&store.registry, true),
                    discovery::AGGREGATED_CONTENT_TYPE,
                    &[],
                ))
            } else {
                Ok(json_response(200, &discovery::api_versions(&shared.server_address), "application/json", &[]))
            }
        }
        Route::Groups => {
            let store = shared.lock();
            if wants_aggregated(accept) {
                Ok(json_response(
                    200,
                    &discovery::aggregated(&store.registry, false),
                    discovery::AGGREGATED_CONTENT_TYPE,
                    &[],
                ))
            } else {
                Ok(json_response(200, &discovery::api_group_list(&store.registry), "application/json", &[]))
            }
        }
        Route::Group(g) => {
            let store = shared.lock();
            discovery::api_group(&store.registry, &g)
                .map(|doc| json_response(200, &doc, "application/json", &[]))
                .ok_or_else(ApiError::path_not_found)
        }
        Route::GroupVersion(g, v) => {
            let store = shared.lock();
            discovery::api_resource_list(&store.registry, &g, &v)
                .map(|doc| json_response(200, &doc, "application/json", &[]))
                .ok_or_else(ApiError::path_not_found)
        }
        Route::OpenApiV3Root => {
            let store = shared.lock();
            Ok(json_response(200, &openapi::root(&store.registry), "application/json", &[]))
        }
        Route::OpenApiV3(g, v) => {
            let store = shared.lock();
            openapi::group_version_doc(&store.registry, &g, &v)
                .map(|doc| json_response(200, &doc, "application/json", &[]))
                .ok_or_else(ApiError::path_not_found)
        }
        Route::OpenApiV2 | Route::NotFound => Err(ApiError::path_not_found()),
        Route::Resource(rp) => resource(&shared, &method, rp, &query, &parts.headers, &content_type, &bytes),
    };
    let resp = result.unwrap_or_else(|e| error_response(&e));
    if shared.lock().gc_kick {
        shared.gc.notify_one();
    }
    resp
}

fn resource(
    shared: &Arc<Shared>,
    method: &Method,
    rp: ResourcePath,
    query: &Query,
    headers: &HeaderMap,
    content_type: &str,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let rt = shared
        .lock()
        .registry
        .find(&rp.group, &rp.version, &rp.resource)
        .cloned()
        .ok_or_else(ApiError::path_not_found)?;
    let is_collection = rp.name.is_none();
    if !rt.namespaced && rp.namespace.is_some() {
        return Err(ApiError::path_not_found());
    }
    if rt.namespaced && rp.namespace.is_none() && !(is_collection && method == Method::GET) {
        return Err(ApiError::path_not_found());
    }
    match rp.subresource.as_deref() {
        None => {}
        Some("status") if rt.status_subresource => {}
        Some(_) => return Err(ApiError::path_not_found()),
    }
    let accept = header_str(headers, header::ACCEPT);
    let watching = query.flag("watch");
    if method == Method::GET && watching {
        let (labels, mut fields) = handlers::selectors(query)?;
        if let Some(name) = &rp.name {
            let pinned = format!("metadata.name={name}");
            fields = Some(match fields {
                Some(_) => crate::selectors::FieldSelector::parse(&format!(
                    "{pinned},{}",
                    query.value("fieldSelector").unwrap_or("")
                ))
                .map_err(ApiError::bad_request)?,
                None => crate::selectors::FieldSelector::parse(&pinned).map_err(ApiError::bad_request)?,
            });
        }
        let req = WatchRequest {
            rt,
            namespace: rp.namespace,
            labels,
            fields,
            resource_version: query.get("resourceVersion").map(str::to_string),
            bookmarks: query.flag("allowWatchBookmarks"),
            timeout: query.value("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()).map(Duration::from_secs),
            send_initial_events: query.flag("sendInitialEvents"),
            table: wants_table(accept).then(|| Include::parse(query.get("includeObject"))),
        };
        return watch::start(shared.clone(), req);
    }
    let ctx = Ctx {
        rt,
        namespace: rp.namespace,
        name: rp.name,
        subresource: rp.subresource,
        query,
        accept,
        content_type,
        user_agent: header_str(headers, header::USER_AGENT),
        body,
    };
    let reply: Reply = {
        let mut store = shared.lock();
        match *method {
            Method::GET if is_collection => handlers::list(&store, &ctx),
            Method::GET => handlers::get(&store, &ctx),
            Method::POST => handlers::create(&mut store, &ctx),
            Method::PUT => handlers::replace(&mut store, &ctx),
            Method::PATCH => handlers::patch(&mut store, &ctx),
            Method::DELETE => crate::delete::delete(&mut store, &ctx),
            _ => Err(ApiError::method_not_allowed("the server does not allow this method on the requested resource")),
        }?
    };
    Ok(json_response(reply.code, &reply.body, reply.content_type, &reply.warnings))
}
