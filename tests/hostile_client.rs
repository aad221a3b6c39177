//! The ZPA client against a hostile HTTP server on 127.0.0.1: every route the
//! client calls answers with garbage, truncated JSON, wrong types, a body
//! past the size cap, a body that never ends, wrong content types or huge
//! lists. Every operation must come back with a `ZpaError` (or a correct
//! result), never panic, and within the request timeout.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures::StreamExt as _;
use serde_json::{Value, json};

use support::zpa_calls::{IsolationProfileQuery, TestCalls};
use zpa_operator::wire::cbi::CbiProfile;
use zpa_operator::wire::mgmt::{MgmtMicrotenant, SearchRequest};
use zpa_operator::zpa::{
    AuthMode, ClientCredentials, Endpoint, MAX_RESPONSE_BYTES, RateLimiter, RetryPolicy, Scope, ZpaClient, ZpaConfig,
    ZpaError,
};

const CUSTOMER: &str = "72057594037927936";

/// What the server answers on every API route (sign-in always works).
#[derive(Debug, Clone)]
enum Mode {
    /// A sane answer for the route: the control case.
    Sane,
    /// 200 with bytes that are not JSON.
    Garbage,
    /// 200 with the sane answer cut in half.
    Truncated,
    /// 200 with valid JSON of the wrong types (objects for lists, numbers for text).
    WrongTypes,
    /// 200, `text/html`, an HTML page.
    Html,
    /// 200 with a sane JSON answer but `text/plain`: the body decides, not the header.
    SaneAsText,
    /// 200 with the sane answer in 3-byte chunks, so chunks split multi-byte
    /// characters: lists are decoded while they arrive and must not care.
    Trickled,
    /// 200 streaming past the size cap without announcing a length.
    Oversized,
    /// 200 announcing a length past the cap.
    OversizedAnnounced,
    /// 500 streaming past the size cap.
    OversizedError,
    /// 200, a first byte, then nothing, forever.
    NeverEnding,
    /// 400 with an HTML body.
    RefusedAsHtml,
    /// Paged routes say there are a million pages, each full.
    EndlessPages,
    /// Lists of 100,000 items.
    HugeLists,
}

#[derive(Clone)]
struct Server {
    mode: Arc<Mutex<Mode>>,
    sign_in: Arc<Mutex<Value>>,
}

async fn serve(State(server): State<Server>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/signin" {
        let token = server.sign_in.lock().unwrap().clone();
        return json_response(StatusCode::OK, token.to_string());
    }
    let method = request.method().clone();
    let mode = server.mode.lock().unwrap().clone();
    let sane = sane_answer(&method, &path);
    match mode {
        Mode::Sane => json_response(StatusCode::OK, sane.to_string()),
        Mode::Garbage => json_response(StatusCode::OK, "\u{0}\u{1}not json at all ]}{".to_owned()),
        Mode::Truncated => {
            // Cut by bytes, so the cut can fall inside a multi-byte character too.
            let bytes = sane.to_string().into_bytes();
            typed(StatusCode::OK, "application/json", Body::from(bytes[..bytes.len() / 2].to_vec()))
        }
        Mode::WrongTypes => json_response(StatusCode::OK, wrong_types(&sane).to_string()),
        Mode::Html => typed(StatusCode::OK, "text/html", Body::from("<html><body>Gateway says hi</body></html>")),
        Mode::SaneAsText => typed(StatusCode::OK, "text/plain", Body::from(sane.to_string())),
        Mode::Trickled => {
            let bytes = Bytes::from(sane.to_string());
            let chunks: Vec<Bytes> =
                (0..bytes.len()).step_by(3).map(|i| bytes.slice(i..bytes.len().min(i + 3))).collect();
            let stream = futures::stream::iter(chunks.into_iter().map(Ok::<Bytes, std::io::Error>));
            typed(StatusCode::OK, "application/json", Body::from_stream(stream))
        }
        Mode::Oversized => typed(StatusCode::OK, "application/json", endless_chunks(MAX_RESPONSE_BYTES + (1 << 20))),
        Mode::OversizedAnnounced => {
            typed(StatusCode::OK, "application/json", Body::from(vec![b' '; MAX_RESPONSE_BYTES + 1]))
        }
        Mode::OversizedError => {
            typed(StatusCode::INTERNAL_SERVER_ERROR, "application/json", endless_chunks(MAX_RESPONSE_BYTES + (1 << 20)))
        }
        Mode::NeverEnding => {
            let first = futures::stream::iter([Ok::<Bytes, std::io::Error>(Bytes::from_static(b"["))]);
            typed(StatusCode::OK, "application/json", Body::from_stream(first.chain(futures::stream::pending())))
        }
        Mode::RefusedAsHtml => typed(StatusCode::BAD_REQUEST, "text/html", Body::from("<html>400 Bad Request</html>")),
        Mode::EndlessPages => {
            let answer = if sane.get("totalPages").is_some() {
                let list: Vec<Value> =
                    (0..500).map(|i| json!({"id": i.to_string(), "name": format!("n{i}")})).collect();
                json!({"totalPages": "1000000", "list": list})
            } else {
                sane
            };
            json_response(StatusCode::OK, answer.to_string())
        }
        Mode::HugeLists => json_response(StatusCode::OK, huge_answer(&method, sane).to_string()),
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    typed(status, "application/json", Body::from(body))
}

fn typed(status: StatusCode, content_type: &str, body: Body) -> Response {
    Response::builder().status(status).header(header::CONTENT_TYPE, content_type).body(body).unwrap()
}

/// `total` bytes of JSON-looking spaces in 1 MiB chunks, without a length.
fn endless_chunks(total: usize) -> Body {
    let chunk = Bytes::from(vec![b' '; 1 << 20]);
    let chunks = total.div_ceil(1 << 20);
    Body::from_stream(futures::stream::iter((0..chunks).map(move |_| Ok::<Bytes, std::io::Error>(chunk.clone()))))
}

fn is_list_route(path: &str) -> bool {
    ["/profiles", "/regions", "/certificates", "/banners", "/zpaprofiles", "/summary"].iter().any(|s| path.ends_with(s))
}

fn is_paged_route(path: &str) -> bool {
    path.ends_with("/microtenants") || path.ends_with("/isolation/profiles") || path.ends_with("/search")
}

/// What a well-behaved ZPA would answer.
fn sane_answer(method: &axum::http::Method, path: &str) -> Value {
    let item = json!({"id": "1", "name": "Zürich 隔離 🔒", "enabled": true});
    if method == axum::http::Method::POST && path.ends_with("/profiles") {
        return json!({"id": "u-1"});
    }
    if path.ends_with("/me") {
        return json!({"customerId": CUSTOMER, "customerName": "acme"});
    }
    if path.ends_with("/authDomains") {
        return json!({"authDomains": ["example.com"]});
    }
    if method != axum::http::Method::GET && method != axum::http::Method::POST {
        return json!({});
    }
    if is_paged_route(path) && method == axum::http::Method::GET || path.ends_with("/search") {
        return json!({"totalPages": "1", "totalCount": "1", "list": [item]});
    }
    if is_list_route(path) {
        return json!([item]);
    }
    item
}

/// The same answer with every value's type changed.
fn wrong_types(sane: &Value) -> Value {
    match sane {
        Value::Array(items) => json!({"list": items}),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let swapped = match v {
                        Value::String(s) => s.parse::<u64>().map(|n| json!(n)).unwrap_or_else(|_| json!([s])),
                        Value::Bool(b) => json!(b.to_string()),
                        Value::Array(_) => json!({}),
                        other => json!({"was": other}),
                    };
                    (k.clone(), swapped)
                })
                .collect(),
        ),
        other => json!([other]),
    }
}

fn huge_answer(method: &axum::http::Method, sane: Value) -> Value {
    let items = || -> Vec<Value> {
        (0..100_000).map(|i| json!({"id": format!("id-{i}"), "name": format!("name {i}"), "enabled": true})).collect()
    };
    if sane.get("totalPages").is_some() {
        json!({"totalPages": "1", "totalCount": "100000", "list": items()})
    } else if method == axum::http::Method::GET && sane.is_array() {
        Value::Array(items())
    } else {
        sane
    }
}

struct Hostile {
    client: ZpaClient,
    mode: Arc<Mutex<Mode>>,
    sign_in: Arc<Mutex<Value>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Hostile {
    async fn start(retry: RetryPolicy) -> Self {
        let mode = Arc::new(Mutex::new(Mode::Sane));
        let sign_in = Arc::new(Mutex::new(json!({"token_type": "Bearer", "access_token": "t", "expires_in": "3600"})));
        let app =
            axum::Router::new().fallback(serve).with_state(Server { mode: mode.clone(), sign_in: sign_in.clone() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let credentials = ClientCredentials::secret("id", "secret".into());
        let mut config = ZpaConfig::resolve(&Endpoint::BaseUrl(url), &AuthMode::Legacy, CUSTOMER, credentials);
        config.retry = retry;
        let client = ZpaClient::new(config, Arc::new(RateLimiter::unlimited())).unwrap();
        Self { client, mode, sign_in, _server: server }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        deadline: Duration::from_secs(10),
        request_timeout: Duration::from_secs(5),
    }
}

/// How a call is made, which decides what an unusable answer becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// GET, or PUT/DELETE whose answer is ignored.
    Read,
    Ignored,
    /// POST: ZPA may have applied it.
    Post,
}

type Outcome = (&'static str, Shape, Result<(), ZpaError>);

/// Every public client operation, once.
async fn every_operation(client: &ZpaClient) -> Vec<Outcome> {
    let profile = CbiProfile { name: "p".into(), region_ids: Some(vec!["a".into(), "b".into()]), ..Default::default() };
    let microtenant = MgmtMicrotenant { name: "m".into(), ..Default::default() };
    let query = IsolationProfileQuery { search: Some("name+EQ+p".into()), show_disabled: true };
    vec![
        ("profiles.list", Shape::Read, ok(client.list_profiles(&Scope::Microtenant("7".into())).await)),
        ("profiles.get", Shape::Read, ok(client.get_profile("u-1", &Scope::Default).await)),
        ("profiles.find", Shape::Read, ok(client.find_profiles_by_name("p", &Scope::Default).await)),
        ("profiles.create", Shape::Post, ok(client.create_profile(&profile, &Scope::Default).await)),
        ("profiles.update", Shape::Ignored, client.update_profile("u-1", &profile, &Scope::Default).await),
        ("profiles.delete", Shape::Ignored, client.delete_profile("u-1", &Scope::Default).await),
        ("regions.list", Shape::Read, ok(client.list_regions().await)),
        ("certificates.list", Shape::Read, ok(client.list_certificates().await)),
        ("banners.list", Shape::Read, ok(client.list_banners().await)),
        ("zpaprofiles.list", Shape::Read, ok(client.list_zpa_profiles(true).await)),
        ("isolationprofiles.page", Shape::Read, ok(client.isolation_profiles_page(&query, 1, 500).await)),
        ("isolationprofiles.list", Shape::Read, ok(client.list_isolation_profiles(&query).await)),
        ("isolationprofiles.find", Shape::Read, ok(client.find_isolation_profiles_by_name("p").await)),
        ("microtenants.list", Shape::Read, ok(client.list_microtenants(None).await)),
        ("microtenants.find", Shape::Read, ok(client.find_microtenants_by_name("m").await)),
        ("microtenants.search", Shape::Post, ok(client.search_microtenants(&SearchRequest::default()).await)),
        ("microtenants.get", Shape::Read, ok(client.get_microtenant("1").await)),
        ("microtenants.create", Shape::Post, ok(client.create_microtenant(&microtenant).await)),
        ("microtenants.update", Shape::Ignored, client.update_microtenant("1", &microtenant).await),
        ("microtenants.delete", Shape::Ignored, client.delete_microtenant("1").await),
        ("microtenants.summary", Shape::Read, ok(client.microtenant_summary().await)),
        ("me", Shape::Read, ok(client.me().await)),
        ("authdomains", Shape::Read, ok(client.auth_domains().await)),
    ]
}

fn ok<T>(result: Result<T, ZpaError>) -> Result<(), ZpaError> {
    result.map(|_| ())
}

fn reason(result: &Result<(), ZpaError>) -> &'static str {
    match result {
        Ok(()) => "Ok",
        Err(error) => error.reason(),
    }
}

/// Checks each outcome's reason against `want(shape)`.
fn expect(mode: &str, outcomes: &[Outcome], want: impl Fn(Shape) -> &'static str) {
    let wrong: Vec<String> = outcomes
        .iter()
        .filter(|(_, shape, result)| reason(result) != want(*shape))
        .map(|(op, shape, result)| format!("{op} ({shape:?}): wanted {}, got {result:?}", want(*shape)))
        .collect();
    assert!(wrong.is_empty(), "{mode}:\n{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_answers_become_invalid_response_or_indeterminate_never_a_panic() {
    let hostile = Hostile::start(fast_retries()).await;

    hostile.set(Mode::Sane);
    expect("sane", &every_operation(&hostile.client).await, |_| "Ok");

    // A 2xx whose body cannot be used: reads are InvalidResponse; a POST may
    // have been applied, so it is Indeterminate (the operator looks before
    // creating again); PUT and DELETE answers are not read at all.
    for mode in [Mode::Garbage, Mode::Truncated, Mode::WrongTypes, Mode::Html] {
        hostile.set(mode.clone());
        expect(&format!("{mode:?}"), &every_operation(&hostile.client).await, |shape| match shape {
            Shape::Read => "InvalidResponse",
            Shape::Post => "Indeterminate",
            Shape::Ignored => "Ok",
        });
    }

    // An answer in chunks that split characters is read whole, streamed lists too.
    hostile.set(Mode::Trickled);
    expect("trickled", &every_operation(&hostile.client).await, |_| "Ok");
    let listed = hostile.client.list_profiles(&Scope::Default).await.unwrap();
    assert_eq!(listed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Zürich 隔離 🔒"]);

    // The content type is not trusted either way: valid JSON as text/plain is read.
    hostile.set(Mode::SaneAsText);
    expect("sane JSON as text/plain", &every_operation(&hostile.client).await, |_| "Ok");

    // An error status with an HTML body is still the API's refusal, with the body as its reason.
    hostile.set(Mode::RefusedAsHtml);
    let outcomes = every_operation(&hostile.client).await;
    expect("400 as HTML", &outcomes, |_| "Invalid");
    let message = outcomes[0].2.as_ref().unwrap_err().to_string();
    assert!(message.contains("400 Bad Request"), "{message}");

    // The client is still healthy afterwards.
    hostile.set(Mode::Sane);
    expect("sane again", &every_operation(&hostile.client).await, |_| "Ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_past_the_cap_are_refused_and_not_downloaded_again() {
    let hostile = Hostile::start(fast_retries()).await;
    for mode in [Mode::Oversized, Mode::OversizedAnnounced] {
        hostile.set(mode.clone());
        let started = Instant::now();
        let outcomes = every_operation(&hostile.client).await;
        expect(&format!("{mode:?}"), &outcomes, |shape| match shape {
            Shape::Post => "Indeterminate",
            _ => "InvalidResponse",
        });
        let message = outcomes[0].2.as_ref().unwrap_err().to_string();
        assert!(message.contains(&format!("larger than {MAX_RESPONSE_BYTES} bytes")), "{message}");
        eprintln!("{mode:?}: {} operations refused in {:?}", outcomes.len(), started.elapsed());
    }
    // A 500 would be retried; past the cap it is not (nothing would be different).
    hostile.set(Mode::OversizedError);
    let error = hostile.client.list_regions().await.unwrap_err();
    assert_eq!(error.reason(), "InvalidResponse", "{error}");
    assert!(error.is_retryable(), "the operator retries later, with backoff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_ends_is_bounded_by_the_request_timeout() {
    let timeout = Duration::from_millis(300);
    let retry = RetryPolicy { max_attempts: 2, request_timeout: timeout, ..fast_retries() };
    let hostile = Hostile::start(retry).await;
    hostile.set(Mode::NeverEnding);
    let started = Instant::now();
    let error = hostile.client.list_regions().await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.reason(), "Transient", "{error}");
    assert!(took >= timeout && took < Duration::from_secs(3), "two attempts of {timeout:?} took {took:?}");
    let create = hostile.client.create_profile(&CbiProfile::default(), &Scope::Default).await.unwrap_err();
    assert_eq!(create.reason(), "Indeterminate", "a POST cut off mid-answer may have been applied: {create}");
    eprintln!("never-ending body: GET gave up after {took:?} (2 attempts of {timeout:?})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_lists_are_read_in_full_and_endless_pages_are_refused() {
    let hostile = Hostile::start(fast_retries()).await;
    hostile.set(Mode::HugeLists);
    let started = Instant::now();
    assert_eq!(hostile.client.list_profiles(&Scope::Default).await.unwrap().len(), 100_000);
    let profiles_took = started.elapsed();
    assert_eq!(hostile.client.list_regions().await.unwrap().len(), 100_000);
    assert_eq!(hostile.client.list_microtenants(None).await.unwrap().len(), 100_000);
    let found = hostile.client.find_profiles_by_name("NAME 99999", &Scope::Default).await.unwrap();
    assert_eq!(found.len(), 1, "exact, case-insensitive match among 100,000");
    eprintln!("100,000-profile CBI list fetched and decoded in {profiles_took:?}");

    // A server claiming a million full pages is stopped at the page cap, with an error, not a partial list.
    hostile.set(Mode::EndlessPages);
    let started = Instant::now();
    let error = hostile.client.list_microtenants(None).await.unwrap_err();
    assert_eq!(error.reason(), "InvalidResponse", "{error}");
    assert!(error.to_string().contains("1000000 pages"), "{error}");
    let search = hostile.client.search_microtenants(&SearchRequest::default()).await.unwrap_err();
    assert_eq!(search.reason(), "InvalidResponse", "{search}");
    eprintln!("endless pages refused after the page cap in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sign_in_answers_are_errors_and_absurd_lifetimes_are_capped() {
    let hostile = Hostile::start(fast_retries()).await;
    for token in [json!("just a string"), json!({"access_token": 42}), json!({"token_type": "Bearer"}), json!([])] {
        *hostile.sign_in.lock().unwrap() = token.clone();
        let error = hostile.client.sign_in().await.unwrap_err();
        assert!(!error.is_retryable(), "{token}: {error}");
    }
    // expires_in at u64::MAX once overflowed the renewal deadline (a panic); now it is capped.
    // A fresh client: the one above remembers its refused sign-ins for a pause.
    let hostile = Hostile::start(fast_retries()).await;
    *hostile.sign_in.lock().unwrap() = json!({"access_token": "t", "expires_in": u64::MAX});
    hostile.client.sign_in().await.unwrap();
    hostile.set(Mode::Sane);
    hostile.client.me().await.unwrap();
}
