//! The ZPA simulator, driven over HTTP the way a real client drives ZPA.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt as _;
use reqwest::Method;
use serde_json::{Value, json};
use zpa_operator::simulator::{self, RunningSimulator, SimulatorConfig};
use zpa_operator::wire::paths;

const ROOT_CERT: &str = "87122222-457f-11ed-b878-0242ac120002";

/// A response, read in full.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|err| panic!("not JSON ({err}): {:?}", self.text))
    }

    fn error_id(&self) -> String {
        self.json()["id"].as_str().unwrap_or_default().to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A signed-in API client for one customer.
struct Api {
    http: reqwest::Client,
    base: String,
    cid: String,
    token: String,
}

fn http() -> reqwest::Client {
    // reqwest is built with `rustls-no-provider`: a provider must be installed
    // before a client is built, even for plain http://.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
}

async fn send(req: reqwest::RequestBuilder) -> Resp {
    let resp = req.send().await.expect("request failed");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    Resp { status, headers, text }
}

async fn signin(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> Resp {
    send(http.post(format!("{base}{}", paths::SIGNIN)).form(&[("client_id", id), ("client_secret", secret)])).await
}

impl Api {
    async fn new(sim: &RunningSimulator) -> Self {
        Self::with_credentials(sim, sim.client_id(), sim.client_secret().expose(), sim.customer_id()).await
    }

    async fn with_credentials(sim: &RunningSimulator, id: &str, secret: &str, cid: &str) -> Self {
        let http = http();
        let resp = signin(&http, &sim.base_url(), id, secret).await;
        assert_eq!(resp.status, 200, "{}", resp.text);
        let token = resp.json()["access_token"].as_str().expect("token").to_owned();
        Self { http, base: sim.base_url(), cid: cid.to_owned(), token }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        send(req).await
    }

    async fn try_call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Resp, reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        Ok(Resp { status, headers, text })
    }

    async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    fn profiles(&self) -> String {
        paths::cbi_profiles(&self.cid)
    }

    fn profile(&self, id: &str) -> String {
        paths::cbi_profile(&self.cid, id)
    }

    fn microtenants(&self) -> String {
        paths::microtenants(&self.cid)
    }

    fn microtenant(&self, id: &str) -> String {
        paths::microtenant(&self.cid, id)
    }

    async fn region_ids(&self) -> Vec<String> {
        let resp = self.get(&paths::cbi_regions(&self.cid)).await;
        assert_eq!(resp.status, 200);
        resp.json().as_array().expect("bare array").iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
    }

    async fn create_profile(&self, scope: Option<&str>, body: Value) -> String {
        let path = match scope {
            Some(scope) => format!("{}?scopeId={scope}", self.profiles()),
            None => self.profiles(),
        };
        let resp = self.post(&path, body).await;
        assert_eq!(resp.status, 200, "{}", resp.text);
        resp.json()["id"].as_str().expect("id").to_owned()
    }

    async fn create_microtenant(&self, name: &str, domain: &str) -> Value {
        let resp = self
            .post(
                &self.microtenants(),
                json!({"name": name, "enabled": true, "criteriaAttribute": "AuthDomain", "criteriaAttributeValues": [domain]}),
            )
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text);
        resp.json()
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        send(req).await
    }

    async fn state(&self) -> Value {
        let resp = self.admin(Method::GET, &format!("/__sim/customers/{}/state", self.cid), None).await;
        assert_eq!(resp.status, 200);
        resp.json()
    }

    async fn stats(&self) -> Value {
        self.admin(Method::GET, "/__sim/stats", None).await.json()
    }

    async fn set_faults(&self, faults: Value) {
        let resp = self.admin(Method::PUT, "/__sim/faults", Some(faults)).await;
        assert_eq!(resp.status, 200, "{}", resp.text);
    }
}

fn no_limits() -> SimulatorConfig {
    SimulatorConfig { rate_limit: None, ..SimulatorConfig::default() }
}

async fn start(config: SimulatorConfig) -> RunningSimulator {
    simulator::start(config).await.expect("simulator starts")
}

fn claims_of(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "three base64url parts");
    for part in &parts {
        assert!(URL_SAFE_NO_PAD.decode(part).is_ok(), "base64url: {part}");
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

/// Polls `check` until it returns true or `limit` passes.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn legacy_and_oneapi_sign_in_issue_jwt_shaped_tokens() {
    let sim = start(no_limits()).await;
    let http = http();
    let base = sim.base_url();

    let legacy = signin(&http, &base, "sim-client", "sim-secret").await;
    assert_eq!(legacy.status, 200);
    let body = legacy.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "3600", "legacy expires_in is a string");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);
    assert_eq!(claims["customerId"], sim.customer_id());
    assert_eq!(claims["sub"], "sim-client");

    assert_eq!(signin(&http, &base, "sim-client", "wrong").await.status, 401);
    assert_eq!(signin(&http, &base, "nobody", "sim-secret").await.status, 401);

    let token_url = format!("{base}/oauth2/v1/token");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "sim-client"),
        ("client_secret", "sim-secret"),
        ("audience", "https://api.zscaler.com"),
    ];
    let oneapi = send(http.post(&token_url).form(&form)).await;
    assert_eq!(oneapi.status, 200, "{}", oneapi.text);
    let body = oneapi.json();
    assert_eq!(body["expires_in"], 3600, "OneAPI expires_in is a number");
    let token = body["access_token"].as_str().unwrap().to_owned();
    claims_of(&token);

    let basic = send(
        http.post(&token_url)
            .basic_auth("sim-client", Some("sim-secret"))
            .form(&[("grant_type", "client_credentials"), ("audience", "https://api.zscaler.com")]),
    )
    .await;
    assert_eq!(basic.status, 200, "HTTP Basic credentials: {}", basic.text);

    let wrong_audience = [form[0], form[1], form[2], ("audience", "https://elsewhere")];
    assert_eq!(send(http.post(&token_url).form(&wrong_audience)).await.status, 400);
    let wrong_secret = [form[0], form[1], ("client_secret", "nope"), form[3]];
    assert_eq!(send(http.post(&token_url).form(&wrong_secret)).await.status, 401);

    // The OneAPI token works on the /zpa-prefixed API.
    let me = send(http.get(format!("{}{}", sim.oneapi_base_url(), paths::ME)).bearer_auth(&token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["customerId"], sim.customer_id());
}

#[tokio::test]
async fn api_calls_need_a_valid_bearer_token_for_their_customer() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let url = format!("{}{}", sim.base_url(), api.profiles());

    let missing = send(api.http.get(&url)).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json(), json!({"id": "access.denied", "reason": "Access denied"}));

    let bogus = send(api.http.get(&url).bearer_auth("a.b.c")).await;
    assert_eq!(bogus.status, 401);
    assert_eq!(bogus.error_id(), "SESSION_NOT_VALID");

    let other_customer = api.get(&paths::cbi_profiles("216196257331281920")).await;
    assert_eq!(other_customer.status, 403);
    assert_eq!(other_customer.error_id(), "access.denied");

    assert_eq!(api.get(&api.profiles()).await.status, 200);
}

#[tokio::test]
async fn tokens_expire_after_their_ttl() {
    let sim = start(SimulatorConfig { token_ttl: Duration::from_secs(1), ..no_limits() }).await;
    let api = Api::new(&sim).await;
    assert_eq!(api.get(paths::ME).await.status, 200);
    let expired = eventually(Duration::from_secs(5), || async {
        let resp = api.get(paths::ME).await;
        resp.status == 401 && resp.error_id() == "SESSION_NOT_VALID"
    })
    .await;
    assert!(expired, "a 1 s token must stop working");
    let fresh = Api::new(&sim).await;
    assert_eq!(fresh.get(paths::ME).await.status, 200, "signing in again works");
}

#[tokio::test]
async fn revoked_tokens_stop_working() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    assert_eq!(api.get(paths::ME).await.status, 200);
    let revoked = api.admin(Method::POST, "/__sim/tokens/revoke", None).await;
    assert_eq!(revoked.status, 200);
    assert!(revoked.json()["revoked"].as_u64().unwrap() >= 1);
    let after = api.get(paths::ME).await;
    assert_eq!((after.status, after.error_id().as_str()), (401, "SESSION_NOT_VALID"));
}

// ---------------------------------------------------------------- CBI profiles

#[tokio::test]
async fn seeded_catalog_lists_are_bare_arrays() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.get(&paths::cbi_regions(&api.cid)).await.json();
    let names: HashSet<&str> = regions.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.len() >= 4);
    for name in ["Frankfurt", "Washington", "Singapore", "London", "Tokyo"] {
        assert!(names.contains(name), "{name}");
    }
    let orders: HashSet<Vec<String>> =
        futures::future::join_all((0..3).map(|_| api.region_ids())).await.into_iter().collect();
    assert!(orders.len() > 1, "the region list order varies between calls");

    let certs = api.get(&paths::cbi_certificates(&api.cid)).await.json();
    let root = certs.as_array().unwrap().iter().find(|c| c["id"] == ROOT_CERT).expect("root certificate");
    assert_eq!(root["name"], "Zscaler Root Certificate");
    assert_eq!(root["isDefault"], true);
    assert!(root.get("pem").is_none());
    assert!(certs.as_array().unwrap().iter().any(|c| c["pem"].is_string()), "a custom certificate with a pem");

    let banners = api.get(&paths::cbi_banners(&api.cid)).await.json();
    let default = banners.as_array().unwrap().iter().find(|b| b["name"] == "Default").expect("Default banner");
    assert_eq!(default["isDefault"], true);
    assert!(banners.as_array().unwrap().len() >= 2);

    let profiles = api.get(&api.profiles()).await.json();
    let default = &profiles.as_array().unwrap()[0];
    assert_eq!(default["isDefault"], true);
    assert_eq!(default["name"], format!("Default Isolation Profile {} zscaler", sim.customer_id()));
}

#[tokio::test]
async fn cbi_profile_crud_with_documented_codes_and_bodies() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let banners = api.get(&paths::cbi_banners(&api.cid)).await.json();
    let banner = banners.as_array().unwrap().iter().find(|b| b["name"] != "Default").unwrap()["id"].clone();
    // Submitted in the reverse of name order, so a name-sorted answer differs.
    let mut submitted: Vec<(String, String)> = Vec::new();
    let region_list = api.get(&paths::cbi_regions(&api.cid)).await.json();
    for r in region_list.as_array().unwrap() {
        submitted.push((r["name"].as_str().unwrap().to_owned(), r["id"].as_str().unwrap().to_owned()));
    }
    submitted.sort();
    submitted.reverse();
    let submitted_ids: Vec<String> = submitted.iter().take(3).map(|(_, id)| id.clone()).collect();
    assert_eq!(regions.len(), region_list.as_array().unwrap().len());

    let create = api
        .post(
            &api.profiles(),
            json!({
                "name": "Engineering",
                "description": "for engineers",
                "regionIds": submitted_ids,
                "certificateIds": [ROOT_CERT],
                "bannerId": banner,
                "securityControls": {"copyPaste": "all", "uploadDownload": "upstream", "flattenedPdf": true},
                "userExperience": {"sessionPersistence": true},
                "someFutureField": {"nested": [1, 2]}
            }),
        )
        .await;
    assert_eq!(create.status, 200, "CBI create answers 200: {}", create.text);
    let created = create.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created.as_object().unwrap().len(), 1, "create answers with the id only");
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a UUID id");

    let got = api.get(&api.profile(&id)).await;
    assert_eq!(got.status, 200);
    let profile = got.json();
    for absent in ["regionIds", "certificateIds", "bannerId", "modifiedTime"] {
        assert!(profile.get(absent).is_none(), "{absent} must not be returned");
    }
    let returned: Vec<String> =
        profile["regions"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_ne!(returned, submitted_ids, "regions come back in another order");
    let mut a = returned.clone();
    let mut b = submitted_ids.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "the same regions");
    assert!(profile["regions"].as_array().unwrap().iter().all(|r| r["name"].is_string()));
    assert_eq!(profile["certificates"][0]["name"], "Zscaler Root Certificate");
    assert_eq!(profile["banner"]["id"], banner);
    assert!(profile["banner"]["name"].is_string());
    assert!(profile["cbiUrl"].as_str().unwrap().starts_with("https://"));
    assert!(profile["href"].is_string());
    assert!(profile["creationTime"].as_str().unwrap().parse::<u64>().is_ok(), "epoch seconds as a string");
    assert_eq!(profile["someFutureField"], json!({"nested": [1, 2]}), "unknown fields are kept");
    assert_eq!(profile["securityControls"]["uploadDownload"], "upstream");
    assert_eq!(profile["userExperience"]["sessionPersistence"], true);
    assert_eq!(profile["isDefault"], false);

    // Read-modify-write: PUT back what GET returned, object forms only.
    let mut changed = profile.clone();
    changed["description"] = json!("changed");
    changed["regions"] = json!([{"id": regions[0]}, {"id": regions[1]}]);
    let put = api.put(&api.profile(&id), changed).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let updated = put.json();
    assert_eq!(updated["description"], "changed");
    assert_eq!(updated["regions"].as_array().unwrap().len(), 2);
    assert!(updated["modifiedTime"].is_string());
    assert_eq!(updated["someFutureField"], json!({"nested": [1, 2]}), "kept through PUT");
    assert_eq!(updated["creationTime"], profile["creationTime"]);

    let list = api.get(&api.profiles()).await.json();
    assert!(list.as_array().unwrap().iter().any(|p| p["id"] == id.as_str()), "list is a bare array with it");

    let deleted = api.delete(&api.profile(&id)).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json(), json!({"message": "Profile deleted successfully."}));
    let gone = api.get(&api.profile(&id)).await;
    assert_eq!((gone.status, gone.error_id().as_str()), (404, "resource.not.found"));
    assert!(gone.json()["reason"].is_string());
    assert_eq!(api.delete(&api.profile(&id)).await.status, 404);
    assert_eq!(api.put(&api.profile(&id), json!({"name": "x"})).await.status, 404);
}

#[tokio::test]
async fn cbi_profile_validation_errors() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let two = json!([regions[0], regions[1]]);
    let cases = [
        (json!({"regionIds": two}), "invalid.resource.argument", "name"),
        (json!({"name": "p", "regionIds": [regions[0]]}), "invalid.resource.argument", "regionIds"),
        (json!({"name": "p", "regionIds": [regions[0], "no-such-region"]}), "invalid.resource.argument", "regionIds"),
        (
            json!({"name": "p", "regionIds": two, "certificateIds": ["no-such-cert"]}),
            "invalid.resource.argument",
            "certificateIds",
        ),
        (json!({"name": "p", "regionIds": two, "bannerId": "no-such-banner"}), "invalid.resource.argument", "bannerId"),
        (
            json!({"name": "p", "regionIds": two, "securityControls": {"uploadDownload": "all", "flattenedPdf": true}}),
            "invalid.resource.argument",
            "securityControls.flattenedPdf",
        ),
        (
            json!({"name": "p", "regionIds": two, "securityControls": {"copyPaste": "upstream"}}),
            "invalid.resource.argument",
            "securityControls.copyPaste",
        ),
        (
            json!({"name": "p", "regionIds": two, "securityControls": {"uploadDownload": "sometimes"}}),
            "invalid.resource.argument",
            "securityControls.uploadDownload",
        ),
    ];
    for (body, id, param) in cases {
        let resp = api.post(&api.profiles(), body.clone()).await;
        assert_eq!(resp.status, 400, "{body}");
        let error = resp.json();
        assert_eq!(error["id"], id, "{body}");
        assert!(error["reason"].is_string());
        assert_eq!(error["params"][0], param, "{body}");
    }

    // Both reference shapes are accepted.
    let objects = json!({"name": "objects", "regions": [{"id": regions[2]}, {"id": regions[3]}],
        "certificates": [{"id": ROOT_CERT}], "banner": {"id": api.get(&paths::cbi_banners(&api.cid)).await.json()[0]["id"]}});
    let id = api.create_profile(None, objects).await;
    let objects = api.get(&api.profile(&id)).await.json();
    assert_eq!(objects["regions"].as_array().unwrap().len(), 2);
    assert_eq!(objects["certificates"][0]["id"], ROOT_CERT);

    let malformed = send(
        api.http
            .post(format!("{}{}", api.base, api.profiles()))
            .bearer_auth(&api.token)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.json()["id"].is_string() && malformed.json()["reason"].is_string());

    let default_id = api
        .get(&api.profiles())
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["isDefault"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = api.delete(&api.profile(&default_id)).await;
    assert_eq!((refused.status, refused.error_id().as_str()), (400, "default.profile.delete.not.allowed"));

    let marked = api.admin(Method::POST, &format!("/__sim/customers/{}/profiles/{id}/in-use", api.cid), None).await;
    assert_eq!(marked.status, 200);
    let in_use = api.delete(&api.profile(&id)).await;
    assert_eq!((in_use.status, in_use.error_id().as_str()), (400, "resource.in.use"));
    api.admin(
        Method::POST,
        &format!("/__sim/customers/{}/profiles/{id}/in-use", api.cid),
        Some(json!({"inUse": false})),
    )
    .await;
    assert_eq!(api.delete(&api.profile(&id)).await.status, 200);
}

#[tokio::test]
async fn profiles_are_scoped_by_scope_id() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let mt = api.create_microtenant("Scoped", "scoped.example.com").await;
    let mt_id = mt["id"].as_str().unwrap().to_owned();

    let scoped =
        api.create_profile(Some(&mt_id), json!({"name": "Shared Name", "regionIds": [regions[0], regions[1]]})).await;
    let in_default =
        api.create_profile(None, json!({"name": "Shared Name", "regionIds": [regions[0], regions[1]]})).await;

    let ids = |list: &Value| {
        list.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let zero_list = api.get(&format!("{}?scopeId=0", api.profiles())).await.json();
    assert!(ids(&zero_list).contains(&in_default));
    assert!(!ids(&zero_list).contains(&scoped), "scopeId=0 is the Default scope only");
    let scoped_list = api.get(&format!("{}?scopeId={mt_id}", api.profiles())).await.json();
    assert_eq!(ids(&scoped_list), vec![scoped.clone()]);
    let by_microtenant_id = api.get(&format!("{}?microtenantId={mt_id}", api.profiles())).await.json();
    assert_eq!(ids(&by_microtenant_id), vec![scoped.clone()], "the Go SDK's microtenantId is a scope too");
    // Unscoped, as the seed says of inheritable resources: every scope.
    let unscoped = api.get(&api.profiles()).await.json();
    assert!(ids(&unscoped).contains(&in_default) && ids(&unscoped).contains(&scoped), "{unscoped}");
    assert_eq!(ids(&unscoped).len(), ids(&zero_list).len() + 1);

    assert_eq!(api.get(&format!("{}?scopeId=0", api.profile(&scoped))).await.status, 404, "not in scope 0");
    assert_eq!(api.get(&format!("{}?scopeId={mt_id}", api.profile(&scoped))).await.status, 200);
    assert_eq!(api.get(&api.profile(&scoped)).await.status, 200, "an unscoped read finds any scope's");
    assert_eq!(api.delete(&api.profile(&scoped)).await.status, 404, "an unscoped write is a Default-scope write");
    assert_eq!(api.delete(&format!("{}?scopeId=0", api.profile(&scoped))).await.status, 404);

    // The ZPA-side view is narrowed the same way.
    let zpa = |query: String| {
        let api = &api;
        async move {
            let list = api.get(&format!("{}{query}", paths::cbi_zpa_profiles(&api.cid))).await.json();
            list.as_array().unwrap().iter().map(|p| p["cbiProfileId"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(zpa(format!("?scopeId={mt_id}")).await, vec![scoped.clone()]);
    let zero = zpa("?scopeId=0".to_owned()).await;
    assert!(zero.contains(&in_default) && !zero.contains(&scoped));
    assert_eq!(zpa(String::new()).await.len(), zero.len() + 1, "unscoped: every scope");

    let unknown = api.get(&format!("{}?scopeId=123456", api.profiles())).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json()["params"][0], "scopeId");
    assert_eq!(api.post(&format!("{}?scopeId=abc", api.profiles()), json!({})).await.status, 400);

    let refused = api.delete(&api.microtenant(&mt_id)).await;
    assert_eq!((refused.status, refused.error_id().as_str()), (400, "resource.in.use"));
    assert!(refused.json()["reason"].as_str().unwrap().contains("1 isolation profile"), "the reason names the count");
    assert_eq!(refused.json()["params"][0], "1");

    assert_eq!(api.delete(&format!("{}?scopeId={mt_id}", api.profile(&scoped))).await.status, 200);
    assert_eq!(api.delete(&api.microtenant(&mt_id)).await.status, 204);
}

#[tokio::test]
async fn zpa_side_profile_follows_the_cbi_profile_in_both_views() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let id = api.create_profile(None, json!({"name": "Follow Me", "regionIds": [regions[0], regions[1]]})).await;

    async fn zpa_list(api: &Api) -> Value {
        api.get(&format!("{}?showDisabled=true", paths::cbi_zpa_profiles(&api.cid))).await.json()
    }
    async fn mgmt_list(api: &Api) -> Value {
        api.get(&format!("{}?pagesize=500", paths::isolation_profiles(&api.cid))).await.json()
    }

    let zpa = zpa_list(&api).await;
    let cbi_view =
        zpa.as_array().unwrap().iter().find(|p| p["cbiProfileId"] == id.as_str()).expect("in zpaprofiles").clone();
    let numeric: u64 = cbi_view["id"].as_str().expect("a string id").parse().unwrap();
    assert!(numeric > 1 << 53, "ZPA ids exceed 2^53");
    assert_eq!(cbi_view["name"], "Follow Me");
    assert!(cbi_view["cbiTenantId"].is_string() && cbi_view["cbiUrl"].is_string());

    let mgmt = mgmt_list(&api).await;
    assert!(mgmt["totalPages"].is_string() && mgmt["totalCount"].is_string(), "counts are strings");
    let mgmt_view = mgmt["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["isolationProfileId"] == id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(mgmt_view["id"], cbi_view["id"], "the same numeric id in both views");
    assert_eq!(mgmt_view["isolationTenantId"], cbi_view["cbiTenantId"]);
    assert_eq!(mgmt_view["isolationUrl"], cbi_view["cbiUrl"]);
    assert!(mgmt_view.get("modifiedTime").is_none());

    let mut profile = api.get(&api.profile(&id)).await.json();
    profile["name"] = json!("Renamed");
    assert_eq!(api.put(&api.profile(&id), profile).await.status, 200);
    let zpa = zpa_list(&api).await;
    let renamed = zpa.as_array().unwrap().iter().find(|p| p["cbiProfileId"] == id.as_str()).unwrap();
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(renamed["id"], cbi_view["id"], "renaming keeps the id");
    let mgmt = mgmt_list(&api).await;
    let renamed = mgmt["list"].as_array().unwrap().iter().find(|p| p["isolationProfileId"] == id.as_str()).unwrap();
    assert_eq!(renamed["name"], "Renamed");
    assert!(renamed["modifiedTime"].is_string());

    assert_eq!(api.delete(&api.profile(&id)).await.status, 200);
    let zpa = zpa_list(&api).await;
    assert!(!zpa.as_array().unwrap().iter().any(|p| p["cbiProfileId"] == id.as_str()));
    let mgmt = mgmt_list(&api).await;
    assert!(!mgmt["list"].as_array().unwrap().iter().any(|p| p["isolationProfileId"] == id.as_str()));
}

#[tokio::test]
async fn isolation_profiles_paginate_over_1200_profiles() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let mt_a = api.create_microtenant("Pages A", "pages-a.example.com").await["id"].as_str().unwrap().to_owned();
    let mt_b = api.create_microtenant("Pages B", "pages-b.example.com").await["id"].as_str().unwrap().to_owned();
    let scopes = [None, Some(mt_a.as_str()), Some(mt_b.as_str())];

    let created: Vec<String> = futures::stream::iter(0..1_200)
        .map(|i| {
            let body = json!({"name": format!("bulk-{i:04}"), "regionIds": [regions[i % 4], regions[(i + 1) % 4]]});
            let api = &api;
            let scope = scopes[i % 3];
            async move { api.create_profile(scope, body).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(created.iter().collect::<HashSet<_>>().len(), 1_200);

    let base = paths::isolation_profiles(&api.cid);
    let mut seen = HashSet::new();
    let mut pages = 0;
    for page in 1.. {
        let resp = api.get(&format!("{base}?page={page}&pagesize=500")).await;
        assert_eq!(resp.status, 200);
        let body = resp.json();
        assert_eq!(body["totalPages"], "3");
        assert_eq!(body["totalCount"], "1201", "1,200 plus the default profile");
        let list = body["list"].as_array().unwrap();
        if list.is_empty() {
            break;
        }
        assert!(list.len() <= 500);
        for item in list {
            assert!(seen.insert(item["id"].as_str().unwrap().to_owned()), "no item twice");
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 1_201);

    let clamped = api.get(&format!("{base}?pagesize=10000")).await.json();
    assert_eq!(clamped["list"].as_array().unwrap().len(), 500, "pagesize is clamped to 500");
    let default_size = api.get(&base).await.json();
    assert_eq!(default_size["list"].as_array().unwrap().len(), 20);
    assert_eq!(default_size["totalPages"], "61");
    let bad = api.get(&format!("{base}?page=first")).await;
    assert_eq!(bad.status, 400);

    let scoped = api.get(&format!("{}?scopeId={mt_a}", api.profiles())).await.json();
    assert_eq!(scoped.as_array().unwrap().len(), 400);
    let state = api.state().await;
    assert_eq!(state["counts"]["profiles"], 1_201);
    assert_eq!(state["profiles"][&mt_b].as_array().unwrap().len(), 400);
}

/// Two profiles with one name, in one scope: the tenant accepts them (no
/// source shows a refusal). The refusal stays available as a switch.
#[tokio::test]
async fn duplicate_profile_names_are_accepted_unless_refused_on_purpose() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let body = json!({"name": "Twin", "regionIds": [regions[0], regions[1]]});
    let first = api.create_profile(None, body.clone()).await;
    let second = api.create_profile(None, json!({"name": "twin", "regionIds": [regions[0], regions[1]]})).await;
    assert_ne!(first, second);
    let twins: Vec<Value> = api
        .get(&api.profiles())
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"].as_str().unwrap().eq_ignore_ascii_case("twin"))
        .cloned()
        .collect();
    assert_eq!(twins.len(), 2);
    let mut renamed = api.get(&api.profile(&second)).await.json();
    renamed["name"] = json!("Twin");
    assert_eq!(api.put(&api.profile(&second), renamed.clone()).await.status, 200, "a rename onto a name too");

    let behaviour =
        api.admin(Method::PUT, "/__sim/behaviour", Some(json!({"refuseDuplicateProfileNames": true}))).await;
    assert_eq!(behaviour.status, 200);
    assert_eq!(api.admin(Method::GET, "/__sim/behaviour", None).await.json()["refuseDuplicateProfileNames"], true);
    let refused = api.post(&api.profiles(), body).await;
    assert_eq!((refused.status, refused.error_id().as_str()), (400, "resource.already.exist"));
    assert_eq!(api.put(&api.profile(&second), renamed).await.error_id(), "resource.already.exist");
    api.admin(Method::PUT, "/__sim/behaviour", Some(json!({}))).await;
    assert_eq!(
        api.post(&api.profiles(), json!({"name": "Twin", "regionIds": [regions[0], regions[1]]})).await.status,
        200
    );
}

/// The Zscaler Root Certificate is on every profile, whatever was sent.
#[tokio::test]
async fn the_root_certificate_is_on_every_profile() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let certificates = api.get(&paths::cbi_certificates(&api.cid)).await.json();
    let custom = certificates.as_array().unwrap().iter().find(|c| c["id"] != ROOT_CERT).unwrap()["id"].clone();
    let id = api
        .create_profile(
            None,
            json!({"name": "Rooted", "regionIds": [regions[0], regions[1]], "certificateIds": [custom]}),
        )
        .await;
    let ids = |profile: &Value| -> Vec<Value> {
        profile["certificates"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect()
    };
    let mut read = api.get(&api.profile(&id)).await.json();
    assert_eq!(ids(&read), vec![json!(ROOT_CERT), custom.clone()]);
    assert_eq!(read["certificates"][0]["name"], "Zscaler Root Certificate");
    read["certificates"] = json!([{"id": custom}]);
    read["certificateIds"] = json!([custom]);
    assert_eq!(api.put(&api.profile(&id), read).await.status, 200);
    assert_eq!(ids(&api.get(&api.profile(&id)).await.json()), vec![json!(ROOT_CERT), custom], "it cannot be removed");
}

/// Rules the admin portal enforces, refused the way the API refuses fields.
#[tokio::test]
async fn debug_mode_and_camera_rules_are_refused() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let base = |extra: Value| {
        let mut body = json!({"name": "rules", "regionIds": [regions[0], regions[1]]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let no_password = api.post(&api.profiles(), base(json!({"debugMode": {"allowed": true}}))).await;
    assert_eq!((no_password.status, no_password.error_id().as_str()), (400, "invalid.resource.argument"));
    assert_eq!(no_password.json()["params"][0], "debugMode.filePassword");
    let no_turbo = api.post(&api.profiles(), base(json!({"securityControls": {"cameraAndMic": true}}))).await;
    assert_eq!(no_turbo.json()["params"][0], "securityControls.cameraAndMic");
    let fine = base(json!({"debugMode": {"allowed": true, "filePassword": "pw"},
        "securityControls": {"cameraAndMic": true}, "userExperience": {"zgpu": true}}));
    assert_eq!(api.post(&api.profiles(), fine).await.status, 200);
}

/// Each route's last request is kept for tests; sign-in bodies never are.
#[tokio::test]
async fn the_last_request_of_each_route_is_kept() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let mt = api.create_microtenant("Recorded", "recorded.example.com").await;
    let id = mt["id"].as_str().unwrap();
    let put = api.put(&format!("{}?x=1", api.microtenant(id)), json!({"name": "Recorded", "description": "d"})).await;
    assert_eq!(put.status, 204);
    let route = "PUT /mgmtconfig/v1/admin/customers/{customerId}/microtenants/{microtenantId}";
    let last = api.admin(Method::GET, &format!("/__sim/requests/last?route={}", route.replace(' ', "%20")), None).await;
    assert_eq!(last.status, 200, "{}", last.text);
    let last = last.json();
    assert_eq!(last["body"], json!({"name": "Recorded", "description": "d"}));
    assert_eq!(last["query"], "x=1");
    assert_eq!(last["path"], api.microtenant(id));
    let all = api.admin(Method::GET, "/__sim/requests/last", None).await.json();
    assert!(all.get(route).is_some() && all.get("POST /signin").is_none(), "{all}");
    assert!(!all.to_string().contains(sim.client_secret().expose()), "sign-in bodies are not kept");
    assert_eq!(api.admin(Method::DELETE, "/__sim/requests", None).await.status, 204);
    let gone = api.admin(Method::GET, &format!("/__sim/requests/last?route={}", route.replace(' ', "%20")), None).await;
    assert_eq!(gone.status, 404);
}

/// "Not mapped" over HTTP: both shapes, any verb, CBI routes only.
#[tokio::test]
async fn fault_not_mapped_answers_cbi_routes() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    api.set_faults(json!({"notMapped": {"answer": "noHandler", "count": 2}})).await;
    let list = api.get(&api.profiles()).await;
    assert_eq!((list.status, list.json()["reason"].as_str()), (404, Some("No handler found")));
    assert_eq!(api.get(&api.microtenants()).await.status, 200, "mgmtconfig is not CBI");
    let delete = api.delete(&api.profile("00000000-0000-0000-0000-000000000000")).await;
    assert_eq!(delete.status, 404);
    assert_eq!(api.get(&api.profiles()).await.status, 200, "count used up");
    api.set_faults(json!({"notMapped": {}})).await;
    let put = api.put(&api.profile("x"), json!({})).await;
    assert_eq!((put.status, put.error_id().as_str()), (400, "resource.not.found"));
    assert_eq!(put.json()["params"], json!(["zpnCbiMapping"]));
    assert_eq!(api.stats().await["faultsInjected"]["notMapped"], 3);
}

// ---------------------------------------------------------------- search

#[tokio::test]
async fn search_expressions_and_their_encoding() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    for (name, domain) in
        [("Blue Team", "blue.example.com"), ("Red Team", "red.example.com"), ("Bluebird", "bird.example.com")]
    {
        api.create_microtenant(name, domain).await;
    }
    let list = api.microtenants();
    let names = |resp: &Resp| -> Vec<String> {
        assert_eq!(resp.status, 200, "{}", resp.text);
        let mut names: Vec<String> =
            resp.json()["list"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect();
        names.sort();
        names
    };
    // reqwest encodes `+` as %2B and the space as `+`: what the SDKs send.
    let query = |search: &str| {
        let url = format!("{}{list}", api.base);
        let req = api.http.get(url).bearer_auth(&api.token).query(&[("search", search)]);
        async move { send(req).await }
    };
    assert_eq!(names(&query("name+EQ+blue team").await), ["Blue Team"]);
    assert_eq!(names(&query("name+CONTAINS+team").await), ["Blue Team", "Red Team"]);
    assert_eq!(names(&query("name+STARTSWITH+blue").await), ["Blue Team", "Bluebird"]);
    assert_eq!(names(&query("name+ENDSWITH+BIRD").await), ["Bluebird"]);
    assert_eq!(names(&query("criteriaAttributeValues+EQ+red.example.com").await), ["Red Team"]);
    assert_eq!(names(&query("name+NE+Default").await), ["Blue Team", "Bluebird", "Red Team"]);
    assert_eq!(names(&query("bluebird").await), ["Bluebird"], "one plain word matches names containing it");

    let multi_word = query("Blue Team").await;
    assert_eq!((multi_word.status, multi_word.error_id().as_str()), (400, "filtering.input.invalid.operand"));
    // A literal `+` in the query string is a space: `name EQ Blue` is a plain multi-word string.
    let raw_plus = api.get(&format!("{list}?search=name+EQ+Blue")).await;
    assert_eq!(raw_plus.error_id(), "filtering.input.invalid.operand");
    let encoded = api.get(&format!("{list}?search=name%2BEQ%2BBlue+Team")).await;
    assert_eq!(names(&encoded), ["Blue Team"]);
    let bad_op = api.get(&format!("{list}?search=name%2BLIKE%2BBlue")).await;
    assert_eq!(bad_op.status, 400);

    // The same parameter on the isolation profile list.
    let iso =
        api.get(&format!("{}?search=name%2BSTARTSWITH%2BDefault", paths::isolation_profiles(&api.cid))).await.json();
    assert_eq!(iso["list"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------- Microtenants

#[tokio::test]
async fn microtenant_lifecycle_and_the_one_time_password() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;

    let domains = api.get(&paths::auth_domains(&api.cid)).await.json();
    let domains: Vec<&str> = domains["authDomains"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    for d in ["example.com", "example.org", "example.net", "dummytest.com"] {
        assert!(domains.contains(&d), "{d}");
    }

    let create = api
        .post(
            &api.microtenants(),
            json!({"name": "Team A", "description": "first", "enabled": false, "criteriaAttribute": "AuthDomain",
                   "criteriaAttributeValues": ["example.org", "team-a.example.com"], "customThing": 7}),
        )
        .await;
    assert_eq!(create.status, 201, "{}", create.text);
    let created = create.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.parse::<u64>().unwrap() > 1 << 53, "a big decimal string id");
    assert!(created["creationTime"].is_string());
    assert_eq!(created["operator"], "OR");
    let user = &created["user"];
    assert_eq!(user["username"], format!("mtAdmin_{id}@example.org"));
    assert_eq!(user["email"], user["username"]);
    assert_eq!(user["microtenantId"], id.as_str());
    assert!(user["roleId"].is_string() && user["forcePwdChange"] == true);
    let password = user["password"].as_str().unwrap().to_owned();
    assert!(password.len() >= 8);
    assert!(password.chars().any(|c| !c.is_ascii_alphanumeric()), "with symbols");

    let got = api.get(&api.microtenant(&id)).await;
    assert_eq!(got.status, 200);
    assert!(got.json().get("user").is_none(), "the user is shown once");
    assert!(!got.text.contains(&password));
    assert_eq!(got.json()["customThing"], 7, "unknown fields are kept");
    assert!(got.json().get("modifiedTime").is_none());
    let listed = api.get(&api.microtenants()).await;
    assert!(!listed.text.contains(&password));
    let state = api.state().await;
    assert!(!state.to_string().contains(&password), "not even the state dump has it");
    assert_eq!(state["microtenantAdmins"][&id]["username"], user["username"]);

    let list = listed.json();
    assert_eq!(list["totalPages"], "1");
    assert_eq!(list["totalCount"], "2");
    assert_eq!(list["list"][0]["id"], "0");
    assert_eq!(list["list"][0]["name"], "Default");

    let summary = api.get(&paths::microtenants_summary(&api.cid)).await.json();
    let summary = summary.as_array().expect("bare array");
    assert!(summary.iter().any(|m| m["id"] == "0" && m["name"] == "Default"));
    let mine = summary.iter().find(|m| m["id"] == id.as_str()).unwrap();
    assert_eq!(mine, &json!({"id": id, "name": "Team A", "enabled": false}));

    let put = api
        .put(
            &api.microtenant(&id),
            json!({"name": "Team A2", "enabled": true, "criteriaAttribute": "AuthDomain", "criteriaAttributeValues": ["team-a.example.com"]}),
        )
        .await;
    assert_eq!(put.status, 204);
    assert!(put.text.is_empty(), "204 has no body");
    let updated = api.get(&api.microtenant(&id)).await.json();
    assert_eq!((updated["name"].as_str(), updated["enabled"].as_bool()), (Some("Team A2"), Some(true)));
    assert!(updated["modifiedTime"].is_string());
    assert_eq!(updated["criteriaAttributeValues"], json!(["team-a.example.com"]));

    // example.org was released by the update.
    api.create_microtenant("Team B", "example.org").await;

    let deleted = api.delete(&api.microtenant(&id)).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    let gone = api.get(&api.microtenant(&id)).await;
    assert_eq!((gone.status, gone.error_id().as_str()), (404, "resource.not.found"));
    assert_eq!(api.delete(&api.microtenant(&id)).await.status, 404);
}

#[tokio::test]
async fn microtenant_validation_errors() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    api.create_microtenant("Taken", "taken.example.com").await;
    let cases = [
        (json!({"description": "no name"}), "invalid.resource.argument"),
        (json!({"name": "TAKEN"}), "resource.already.exist"),
        (json!({"name": "x", "criteriaAttribute": "Department"}), "invalid.resource.argument"),
        (json!({"name": "x", "criteriaAttributeValues": ["not-ours.io"]}), "domains.does.not.belong.to.customer"),
        (
            json!({"name": "x", "criteriaAttributeValues": ["Taken.Example.com"]}),
            "domains.already.exists.in.other.microtenant",
        ),
    ];
    for (body, id) in cases {
        let resp = api.post(&api.microtenants(), body.clone()).await;
        assert_eq!((resp.status, resp.error_id().as_str()), (400, id), "{body}");
        assert!(resp.json()["reason"].is_string());
    }
    let malformed =
        send(api.http.post(format!("{}{}", api.base, api.microtenants())).bearer_auth(&api.token).body("[1,2")).await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.json()["id"].is_string());

    let default_delete = api.delete(&api.microtenant("0")).await;
    assert_eq!(default_delete.status, 400);
    assert_eq!(api.get(&api.microtenant("0")).await.json()["name"], "Default", "still there");
}

#[tokio::test]
async fn at_most_500_microtenants() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let made: Vec<Value> = futures::stream::iter(0..500)
        .map(|i| {
            let api = &api;
            async move { api.create_microtenant(&format!("mt-{i:03}"), &format!("mt-{i:03}.example.com")).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(made.len(), 500);
    let refused = api.post(&api.microtenants(), json!({"name": "one too many"})).await;
    assert_eq!(refused.status, 400);
    assert!(refused.error_id().contains("limit"), "{}", refused.text);
    let page = api.get(&format!("{}?page=2&pagesize=500", api.microtenants())).await.json();
    assert_eq!(page["totalCount"], "501");
    assert_eq!(page["list"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn microtenant_search_body_in_both_shapes() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    api.create_microtenant("Alpha Test", "alpha.example.com").await;
    api.create_microtenant("Beta", "beta-test.example.com").await;
    let search = paths::microtenants_search(&api.cid);
    let names = |resp: Resp| -> Vec<String> {
        assert_eq!(resp.status, 200, "{}", resp.text);
        resp.json()["list"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect()
    };
    let documented = api
        .post(
            &search,
            json!({"pageBy": {"page": 1, "pageSize": 20},
                   "filterBy": [{"filterName": "criteriaAttributeValues", "operator": "LIKE", "values": ["test"]}],
                   "sortBy": {"sortName": "name", "sortOrder": "DESC"}}),
        )
        .await;
    assert_eq!(names(documented), ["Beta"]);
    let go_shape = api
        .post(
            &search,
            json!({"filterBy": {"filterGroups": [{"filters": [{"filterName": "name", "operator": "EQ", "value": "alpha test"}], "operator": "AND"}], "operator": "AND"},
                   "pageBy": {"page": "1", "pageSize": "500"}}),
        )
        .await;
    assert_eq!(names(go_shape), ["Alpha Test"]);
    let not_equal = api
        .post(&search, json!({"filterBy": [{"filterName": "name", "operator": "NQ", "values": ["Beta"]}], "sortBy": {"sortName": "name"}}))
        .await;
    assert_eq!(names(not_equal), ["Alpha Test", "Default"]);
    let paged = api.post(&search, json!({"pageBy": {"page": 2, "pageSize": 2}})).await.json();
    assert_eq!(paged["totalPages"], "2");
    assert_eq!(paged["list"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn me_reports_the_session() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let me = api.get(paths::ME).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.json(),
        json!({"customerId": sim.customer_id(), "customerName": "zscaler", "microtenantName": "default"})
    );
}

/// An API key made inside a Microtenant: `/me` names the Microtenant, and the
/// key works in that scope only (the seed: "you must pass the microtenantId").
#[tokio::test]
async fn a_key_bound_to_a_microtenant_works_in_that_microtenant() {
    let sim = start(no_limits()).await;
    let admin = Api::new(&sim).await;
    let regions = admin.region_ids().await;
    let mt = admin.create_microtenant("Bound", "bound.example.com").await;
    let mt_id = mt["id"].as_str().unwrap().to_owned();
    let key = json!({"customerId": sim.customer_id(), "clientSecret": "bound-secret", "microtenantId": mt_id});
    assert_eq!(admin.admin(Method::PUT, "/__sim/credentials/bound-key", Some(key)).await.status, 201);
    let unknown = json!({"customerId": sim.customer_id(), "clientSecret": "x", "microtenantId": "123"});
    assert_eq!(admin.admin(Method::PUT, "/__sim/credentials/other-key", Some(unknown)).await.status, 400);

    let bound = Api::with_credentials(&sim, "bound-key", "bound-secret", sim.customer_id()).await;
    let me = bound.get(paths::ME).await.json();
    assert_eq!(me["microtenantId"], mt_id.as_str());
    assert_eq!(me["microtenantName"], "Bound");

    let scoped = format!("{}?scopeId={mt_id}", bound.profiles());
    let created = bound.post(&scoped, json!({"name": "mine", "regionIds": [regions[0], regions[1]]})).await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(bound.get(&scoped).await.json().as_array().unwrap().len(), 1);
    for path in [bound.profiles(), format!("{}?scopeId=0", bound.profiles())] {
        let refused = bound.get(&path).await;
        assert_eq!((refused.status, refused.error_id().as_str()), (403, "access.denied"), "{path}");
    }
    let refused = bound.post(&bound.microtenants(), json!({"name": "x"})).await;
    assert_eq!(refused.status, 403, "only Default admins change Microtenants");
    assert_eq!(admin.get(&admin.profiles()).await.json().as_array().unwrap().len(), 2, "the default key sees all");
}

// ---------------------------------------------------------------- rate limits

#[tokio::test]
async fn rate_limits_are_zpas_20_gets_and_10_writes_per_window() {
    let sim = start(SimulatorConfig::default()).await;
    let http = http();
    for _ in 0..25 {
        assert_eq!(
            signin(&http, &sim.base_url(), "sim-client", "sim-secret").await.status,
            200,
            "sign-in is not limited"
        );
    }
    let api = Api::new(&sim).await;
    for i in 0..20 {
        assert_eq!(api.get(paths::ME).await.status, 200, "GET {i}");
    }
    let limited = api.get(&api.profiles()).await;
    assert_eq!(limited.status, 429, "the 21st GET in the window");
    let retry_after = limited.header("retry-after").expect("retry-after").to_owned();
    let secs = retry_after.strip_suffix('s').expect("like `13s`");
    assert!(secs.parse::<u64>().is_ok_and(|n| (1..=10).contains(&n)), "{retry_after}");
    assert_eq!(
        limited.json(),
        json!({"exception": "invalid.toomanyrequests", "id": "invalid.toomanyrequests", "reason": "Exceeded the number of requests allowed."})
    );

    // Writes have their own budget of 10.
    let regions =
        api.admin(Method::GET, &format!("/__sim/customers/{}/state", api.cid), None).await.json()["regions"].clone();
    let body = |i: usize| json!({"name": format!("w{i}"), "regionIds": [regions[0]["id"], regions[1]["id"]]});
    for i in 0..10 {
        assert_eq!(api.post(&api.profiles(), body(i)).await.status, 200, "write {i}");
    }
    let write_limited = api.post(&api.profiles(), body(10)).await;
    assert_eq!(write_limited.status, 429);
    assert_eq!(api.state().await["counts"]["profiles"], 11, "the refused write was not applied");

    let stats = api.stats().await;
    assert_eq!(stats["tooManyRequests"], 2);
    // Admin calls are neither limited nor counted.
    for _ in 0..30 {
        assert_eq!(api.admin(Method::GET, "/__sim/stats", None).await.status, 200);
    }
}

#[tokio::test]
async fn rate_limits_can_be_reconfigured_and_switched_off() {
    let sim = start(SimulatorConfig::default()).await;
    let api = Api::new(&sim).await;
    let set = api
        .admin(
            Method::PUT,
            "/__sim/rate-limit",
            Some(json!({"enabled": true, "getLimit": 2, "writeLimit": 1, "windowMs": 400})),
        )
        .await;
    assert_eq!(set.status, 200);
    assert_eq!(api.get(paths::ME).await.status, 200);
    assert_eq!(api.get(paths::ME).await.status, 200);
    let limited = api.get(paths::ME).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("1s"));
    assert!(
        eventually(Duration::from_secs(3), || async { api.get(paths::ME).await.status == 200 }).await,
        "a new window opens"
    );

    api.admin(Method::PUT, "/__sim/rate-limit", Some(json!({"enabled": false}))).await;
    for _ in 0..40 {
        assert_eq!(api.get(paths::ME).await.status, 200);
    }
    assert_eq!(api.admin(Method::GET, "/__sim/rate-limit", None).await.json()["enabled"], false);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn fault_latency_delays_matching_requests() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    api.set_faults(json!({"latency": {"ms": 300, "path": "/regions"}})).await;
    let t0 = Instant::now();
    assert_eq!(api.get(&paths::cbi_regions(&api.cid)).await.status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(300), "delayed: {:?}", t0.elapsed());
    let t1 = Instant::now();
    assert_eq!(api.get(paths::ME).await.status, 200);
    assert!(t1.elapsed() < Duration::from_millis(300), "other paths are not delayed");
}

#[tokio::test]
async fn fault_server_errors() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    api.set_faults(json!({"serverErrors": {"count": 2, "method": "GET"}})).await;
    for _ in 0..2 {
        let resp = api.get(&api.profiles()).await;
        assert_eq!(resp.status, 503);
        assert_eq!(resp.error_id(), "retryable.server.error");
        assert_eq!(resp.header("retry-after"), Some("1s"));
    }
    assert_eq!(api.get(&api.profiles()).await.status, 200, "count used up");
    let faults = api.admin(Method::GET, "/__sim/faults", None).await.json();
    assert!(faults["serverErrors"].is_null(), "{faults}");

    api.set_faults(
        json!({"serverErrors": {"rate": 1.0, "status": 500, "retryAfterSecs": null, "path": "/microtenants"}}),
    )
    .await;
    let resp = api.get(&api.microtenants()).await;
    assert_eq!(resp.status, 500);
    assert!(resp.header("retry-after").is_none());
    assert_eq!(api.get(&api.profiles()).await.status, 200, "path-targeted");
    let bad = api.admin(Method::PUT, "/__sim/faults", Some(json!({"serverErrors": {"status": 200}}))).await;
    assert_eq!(bad.status, 400);
    let typo = api.admin(Method::PUT, "/__sim/faults", Some(json!({"serverError": {}}))).await;
    assert_eq!(typo.status, 400, "unknown fault names are refused");
}

#[tokio::test]
async fn fault_429_storms_by_count_and_by_duration() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    api.set_faults(json!({"tooManyRequests": {"count": 3, "retryAfterSecs": 2}})).await;
    for _ in 0..3 {
        let resp = api.get(paths::ME).await;
        assert_eq!(resp.status, 429);
        assert_eq!(resp.header("retry-after"), Some("2s"));
        assert_eq!(resp.error_id(), "invalid.toomanyrequests");
    }
    assert_eq!(api.get(paths::ME).await.status, 200);

    api.set_faults(json!({"tooManyRequests": {"durationMs": 600}})).await;
    let during = api.get(paths::ME).await;
    assert_eq!(during.status, 429);
    assert_eq!(during.header("retry-after"), Some("1s"));
    assert!(
        eventually(Duration::from_secs(5), || async { api.get(paths::ME).await.status == 200 }).await,
        "the storm ends"
    );
    assert!(api.stats().await["tooManyRequests"].as_u64().unwrap() >= 4);
}

#[tokio::test]
async fn fault_edit_lock_hits_writes() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    api.set_faults(json!({"editLock": {"count": 1}})).await;
    assert_eq!(api.get(&api.microtenants()).await.status, 200, "reads pass");
    let locked = api.post(&api.microtenants(), json!({"name": "locked"})).await;
    assert_eq!(locked.status, 409);
    assert_eq!(locked.error_id(), "EDIT_LOCK_NOT_AVAILABLE");
    assert!(locked.json()["reason"].is_string());
    assert_eq!(api.state().await["counts"]["microtenants"], 0, "not applied");
    assert_eq!(api.post(&api.microtenants(), json!({"name": "locked"})).await.status, 201);

    api.set_faults(json!({"editLock": {"count": 1, "body": "concurrentAccess"}})).await;
    let concurrent = api.post(&api.microtenants(), json!({"name": "other"})).await;
    assert_eq!((concurrent.status, concurrent.error_id().as_str()), (409, "api.concurrent.access.error"));
}

#[tokio::test]
async fn fault_dropped_connection_is_not_applied() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    api.set_faults(json!({"dropConnection": {"count": 1, "method": "POST", "path": "/profiles"}})).await;
    let body = json!({"name": "dropped", "regionIds": [regions[0], regions[1]]});
    let result = api.try_call(Method::POST, &api.profiles(), Some(body.clone())).await;
    assert!(result.is_err(), "the connection is closed without a response: {result:?}");
    assert_eq!(api.state().await["counts"]["profiles"], 1, "only the default profile");
    assert_eq!(api.post(&api.profiles(), body).await.status, 200, "the next one goes through");
    let stats = api.stats().await;
    assert_eq!(stats["droppedConnections"], 1);
    assert_eq!(stats["droppedAfterCommit"], 0);
}

#[tokio::test]
async fn fault_drop_after_commit_applies_then_drops() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    api.set_faults(json!({"dropAfterCommit": {"count": 1, "method": "POST", "path": "/profiles"}})).await;
    let result = api
        .try_call(
            Method::POST,
            &api.profiles(),
            Some(json!({"name": "crash window", "regionIds": [regions[0], regions[1]]})),
        )
        .await;
    assert!(result.is_err(), "no response: {result:?}");
    let state = api.state().await;
    let names: Vec<&str> =
        state["profiles"]["0"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"crash window"), "the create was applied: {names:?}");
    // A client that retries blindly makes a second one: the tenant accepts duplicate names.
    let retry = api.post(&api.profiles(), json!({"name": "crash window", "regionIds": [regions[0], regions[1]]})).await;
    assert_eq!(retry.status, 200);
    let state = api.state().await;
    let twins = state["profiles"]["0"].as_array().unwrap().iter().filter(|p| p["name"] == "crash window").count();
    assert_eq!(twins, 2, "nothing in the tenant stops the duplicate: only the client can");
    let stats = api.stats().await;
    assert_eq!(stats["droppedAfterCommit"], 1);
    assert_eq!(stats["byRouteStatus"]["POST /cbiconfig/cbi/api/customers/{customerId}/profiles"]["dropped"], 1);
}

// ---------------------------------------------------------------- admin surface

#[tokio::test]
async fn stats_count_routes_statuses_and_reset() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    api.admin(Method::POST, "/__sim/stats/reset", None).await;
    api.get(&api.profiles()).await;
    api.get(&format!("/zpa{}", api.profiles())).await;
    api.get(&api.microtenant("404404")).await;
    api.get("/no/such/path").await;
    let stats = api.stats().await;
    assert_eq!(stats["totalRequests"], 4);
    assert_eq!(stats["byRoute"]["GET /cbiconfig/cbi/api/customers/{customerId}/profiles"], 2);
    assert_eq!(stats["byRoute"]["GET /mgmtconfig/v1/admin/customers/{customerId}/microtenants/{microtenantId}"], 1);
    assert_eq!(stats["byRoute"]["GET UNMATCHED"], 1);
    assert_eq!(stats["byStatus"]["200"], 2);
    assert_eq!(stats["byStatus"]["404"], 2);
    assert_eq!(stats["oneApiRequests"], 1);
    let reset = api.admin(Method::POST, "/__sim/stats/reset", None).await;
    assert_eq!(reset.status, 204);
    assert_eq!(api.stats().await["totalRequests"], 0);
}

#[tokio::test]
async fn the_oneapi_prefix_serves_the_same_api() {
    let sim = start(no_limits()).await;
    let api = Api::new(&sim).await;
    let regions = api.region_ids().await;
    let id = api.create_profile(None, json!({"name": "via root", "regionIds": [regions[0], regions[1]]})).await;
    let prefixed = api.get(&format!("/zpa{}", api.profile(&id))).await;
    assert_eq!(prefixed.status, 200);
    assert_eq!(prefixed.json()["name"], "via root");
    let created = api
        .post(
            &format!("/zpa{}", api.microtenants()),
            json!({"name": "via oneapi", "criteriaAttributeValues": ["oneapi.example.com"]}),
        )
        .await;
    assert_eq!(created.status, 201);
    let mt_id = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(api.get(&api.microtenant(&mt_id)).await.status, 200, "one state behind both layouts");
    let signin = send(
        api.http
            .post(format!("{}/zpa/signin", api.base))
            .form(&[("client_id", "sim-client"), ("client_secret", "sim-secret")]),
    )
    .await;
    assert_eq!(signin.status, 200);
    let unknown = api.get("/zpa/mgmtconfig/v1/admin/nothing").await;
    assert_eq!((unknown.status, unknown.error_id().as_str()), (404, "resource.not.found"));
}

#[tokio::test]
async fn customers_are_isolated_from_each_other() {
    let sim = start(no_limits()).await;
    let first = Api::new(&sim).await;
    let add = first
        .admin(
            Method::POST,
            "/__sim/customers",
            Some(json!({"customerId": "216196257331281920", "clientId": "second", "clientSecret": "s3cret", "name": "Second Corp"})),
        )
        .await;
    assert_eq!(add.status, 201, "{}", add.text);
    assert_eq!(add.json()["customerId"], "216196257331281920");
    let again = first
        .admin(
            Method::POST,
            "/__sim/customers",
            Some(json!({"customerId": "216196257331281920", "clientId": "third", "clientSecret": "x"})),
        )
        .await;
    assert_eq!(again.status, 409);

    let second = Api::with_credentials(&sim, "second", "s3cret", "216196257331281920").await;
    assert_eq!(second.get(paths::ME).await.json()["customerName"], "Second Corp");
    let regions = second.region_ids().await;
    second.create_profile(None, json!({"name": "second only", "regionIds": [regions[0], regions[1]]})).await;
    second.create_microtenant("Same Name", "same.example.com").await;
    first.create_microtenant("Same Name", "same.example.com").await;

    let cross = second.get(&paths::cbi_profiles(sim.customer_id())).await;
    assert_eq!(cross.status, 403, "a token works only for its customer");
    let first_names: Vec<String> = first
        .get(&first.profiles())
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(!first_names.contains(&"second only".to_owned()));
    assert_eq!(first.state().await["counts"]["profiles"], 1);
    assert_eq!(second.state().await["counts"]["profiles"], 2);
    assert_eq!(first.admin(Method::GET, "/__sim/customers/999/state", None).await.status, 404);
}

#[tokio::test]
async fn drift_through_the_admin_api_is_free_and_visible() {
    let sim = start(SimulatorConfig {
        rate_limit: Some(simulator::RateLimitConfig { get_limit: 3, write_limit: 2, window_ms: 60_000 }),
        ..SimulatorConfig::default()
    })
    .await;
    let api = Api::new(&sim).await;
    let state = api.state().await;
    let regions = state["regions"].clone();
    let id =
        api.create_profile(None, json!({"name": "drifty", "regionIds": [regions[0]["id"], regions[1]["id"]]})).await;
    let mt = api.create_microtenant("Drifty MT", "drifty.example.com").await;
    let mt_id = mt["id"].as_str().unwrap().to_owned();
    api.admin(Method::POST, "/__sim/stats/reset", None).await;

    for _ in 0..5 {
        let patched = api
            .admin(
                Method::PATCH,
                &format!("/__sim/customers/{}/profiles/{id}", api.cid),
                Some(
                    json!({"description": "changed behind your back", "regionIds": [regions[2]["id"], regions[3]["id"]],
                            "securityControls": {"copyPaste": "all"}}),
                ),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text);
    }
    let patched_mt = api
        .admin(
            Method::PATCH,
            &format!("/__sim/customers/{}/microtenants/{mt_id}", api.cid),
            Some(json!({"enabled": false, "description": null})),
        )
        .await;
    assert_eq!(patched_mt.status, 200);
    assert_eq!(api.stats().await["totalRequests"], 0, "admin calls are not counted");

    let profile = api.get(&api.profile(&id)).await.json();
    assert_eq!(profile["description"], "changed behind your back");
    assert_eq!(profile["securityControls"]["copyPaste"], "all");
    let ids: HashSet<&str> = profile["regions"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [regions[2]["id"].as_str().unwrap(), regions[3]["id"].as_str().unwrap()].into_iter().collect());
    assert!(profile.get("regionIds").is_none());
    assert!(profile["modifiedTime"].is_string());
    let microtenant = api.get(&api.microtenant(&mt_id)).await.json();
    assert_eq!(microtenant["enabled"], false);
    assert!(microtenant.get("description").is_none());
    assert_eq!(api.get(paths::ME).await.status, 200, "the two GETs above left one in the budget");
}

#[tokio::test]
async fn the_cli_prints_its_url_and_serves() {
    use tokio::io::AsyncBufReadExt as _;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zpa-operator"))
        .args([
            "simulator",
            "--listen",
            "127.0.0.1:0",
            "--no-rate-limit",
            "--client-id",
            "cli",
            "--client-secret",
            "cli-secret",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the binary");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a line within 30 s")
        .unwrap()
        .expect("a line");
    let url = line
        .strip_prefix("zpa simulator listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected line: {line}"))
        .to_owned();
    assert!(line.ends_with("(customer 72057594037927936)"), "{line}");
    assert!(!url.ends_with(":0"), "the real port is printed: {url}");
    let http = http();
    assert_eq!(signin(&http, &url, "cli", "cli-secret").await.status, 200);
    assert_eq!(signin(&http, &url, "sim-client", "sim-secret").await.status, 401);
    let health = send(http.get(format!("{url}/__sim/health"))).await;
    assert_eq!(health.status, 200);
    child.start_kill().expect("kill");
    let _ = child.wait().await;
}
