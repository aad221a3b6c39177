//! The ZPA client against the simulator, over real HTTP.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::zpa_calls::{IsolationProfileQuery, TestCalls, name_search, same_name};
use support::{CapturedLogs, client, eventually, legacy_config, simulator, simulator_with};
use zpa_operator::simulator::{
    DomainHoldFault, DropFault, EditLockBody, EditLockFault, FaultConfig, NotMappedAnswer, NotMappedFault,
    RateLimitConfig, ServerErrorFault, SessionRefusal, SessionRefusedFault, SimulatorConfig, TooManyRequestsFault,
};
use zpa_operator::wire::cbi::CbiProfile;
use zpa_operator::wire::mgmt::{Filter, FilterBy, MgmtMicrotenant, SearchRequest};
use zpa_operator::zpa::{
    AuthMode, ClientCredentials, Endpoint, RateLimiter, RateLimits, Scope, ZpaClient, ZpaConfig, ZpaError,
};

async fn two_region_ids(client: &ZpaClient) -> Vec<String> {
    client.list_regions().await.unwrap().into_iter().take(2).map(|r| r.id).collect()
}

fn profile(name: &str, regions: &[String]) -> CbiProfile {
    CbiProfile { name: name.into(), region_ids: Some(regions.to_vec()), ..Default::default() }
}

fn microtenant(name: &str, domain: &str) -> MgmtMicrotenant {
    MgmtMicrotenant {
        name: name.into(),
        enabled: Some(true),
        criteria_attribute: Some("AuthDomain".into()),
        criteria_attribute_values: Some(vec![domain.into()]),
        ..Default::default()
    }
}

#[tokio::test]
async fn legacy_and_oneapi_sign_in_reach_the_same_tenant() {
    let sim = simulator().await;
    let legacy = client(&sim);
    let me = legacy.me().await.unwrap();
    assert_eq!(me.customer_id.as_deref(), Some(sim.customer_id()));

    let mut oneapi_config = ZpaConfig::resolve(
        &Endpoint::BaseUrl(sim.base_url()),
        &AuthMode::OneApi { vanity_domain: "acme".into(), token_url: None },
        sim.customer_id(),
        ClientCredentials::secret(sim.client_id(), sim.client_secret().clone()),
    );
    oneapi_config.retry = support::quick_retries();
    let oneapi = ZpaClient::new(oneapi_config, Arc::new(RateLimiter::unlimited())).unwrap();
    assert_eq!(oneapi.me().await.unwrap(), me);
    let stats = sim.stats();
    assert!(stats.one_api_requests >= 1, "the OneAPI client used the /zpa prefix: {stats:?}");
    assert_eq!(stats.by_route.get("POST /signin"), Some(&1));
    assert_eq!(stats.by_route.get("POST /oauth2/v1/token"), Some(&1));

    let wrong = ZpaConfig::resolve(
        &Endpoint::BaseUrl(sim.base_url()),
        &AuthMode::Legacy,
        sim.customer_id(),
        ClientCredentials::secret("sim-client", "wrong".into()),
    );
    let refused = ZpaClient::new(wrong, Arc::new(RateLimiter::unlimited())).unwrap().me().await.unwrap_err();
    assert!(matches!(refused, ZpaError::Unauthorized { .. }), "{refused:?}");
    assert!(!refused.is_retryable());
}

#[tokio::test]
async fn every_cbi_reference_list_answers() {
    let sim = simulator().await;
    let client = client(&sim);
    assert!(client.list_regions().await.unwrap().len() >= 4);
    let certificates = client.list_certificates().await.unwrap();
    assert!(certificates.iter().any(|c| c.name == "Zscaler Root Certificate" && c.is_default == Some(true)));
    let banners = client.list_banners().await.unwrap();
    assert!(banners.iter().any(|b| b.is_default == Some(true)));
    let domains = client.auth_domains().await.unwrap();
    assert!(domains.contains(&"example.com".to_owned()));
}

#[tokio::test]
async fn profiles_live_in_their_microtenant_scope() {
    let sim = simulator().await;
    let client = client(&sim);
    let regions = two_region_ids(&client).await;
    let mt = client.create_microtenant(&microtenant("scope-a", "scope-a.example.com")).await.unwrap();
    let mt_id = mt.id.clone().unwrap();
    let scope = Scope::Microtenant(mt_id.clone());

    let scoped_id = client.create_profile(&profile("scoped", &regions), &scope).await.unwrap();
    let default_id = client.create_profile(&profile("unscoped", &regions), &Scope::Default).await.unwrap();

    let in_scope: Vec<String> = client.list_profiles(&scope).await.unwrap().into_iter().map(|p| p.name).collect();
    let in_default: Vec<String> =
        client.list_profiles(&Scope::Default).await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(in_scope, vec!["scoped"]);
    assert!(in_default.contains(&"unscoped".to_owned()) && !in_default.contains(&"scoped".to_owned()));
    assert!(
        client.get_profile(&scoped_id, &Scope::Default).await.unwrap_err().is_not_found(),
        "not visible outside its scope"
    );
    let other_scope = client.create_microtenant(&microtenant("scope-b", "scope-b.example.com")).await.unwrap();
    let other_scope = Scope::Microtenant(other_scope.id.unwrap());
    let missing = client.get_profile(&scoped_id, &other_scope).await.unwrap_err();
    assert!(missing.is_not_found(), "not visible from another scope: {missing:?}");
    let per_scope = client.list_zpa_profile_links_in(true, &scope).await.unwrap();
    assert_eq!(
        per_scope.iter().filter_map(|l| l.cbi_profile_id.as_deref()).collect::<Vec<_>>(),
        vec![scoped_id.as_str()]
    );
    client.delete_microtenant(other_scope.key()).await.unwrap();

    // Read-modify-write keeps what the client does not model.
    let mut fetched = client.get_profile(&scoped_id, &scope).await.unwrap();
    assert_eq!(fetched.effective_region_ids().len(), 2, "GET answers with region objects");
    fetched.description = Some("edited".into());
    client.update_profile(&scoped_id, &fetched, &scope).await.unwrap();
    let again = client.get_profile(&scoped_id, &scope).await.unwrap();
    assert_eq!(again.description.as_deref(), Some("edited"));
    assert_eq!(again.cbi_url, fetched.cbi_url);

    // The ZPA-side profile shows the CBI id in both views.
    let zpa = client.list_zpa_profiles(true).await.unwrap();
    let side = zpa.iter().find(|z| z.cbi_profile_id.as_deref() == Some(scoped_id.as_str())).expect("ZPA-side profile");
    let mgmt = client.find_isolation_profiles_by_name("scoped").await.unwrap();
    assert_eq!(mgmt.len(), 1);
    assert_eq!(mgmt[0].id, side.id);
    assert_eq!(mgmt[0].isolation_profile_id.as_deref(), Some(scoped_id.as_str()));

    // The Microtenant cannot go while it holds a profile.
    let refused = client.delete_microtenant(&mt_id).await.unwrap_err();
    assert!(matches!(&refused, ZpaError::Invalid { id, .. } if id == "resource.in.use"), "{refused:?}");
    client.delete_profile(&scoped_id, &scope).await.unwrap();
    client.delete_profile(&default_id, &Scope::Default).await.unwrap();
    assert!(client.get_profile(&scoped_id, &scope).await.unwrap_err().is_not_found());
    client.delete_microtenant(&mt_id).await.unwrap();
}

#[tokio::test]
async fn microtenant_lifecycle_search_and_summary() {
    let sim = simulator().await;
    let client = client(&sim);
    let created = client.create_microtenant(&microtenant("Team Alpha", "alpha.example.com")).await.unwrap();
    let id = created.id.clone().unwrap();
    let user = created.user.clone().expect("the create answer carries the admin user");
    let password = user.password.clone().expect("with a password");
    assert!(!password.is_empty());
    assert!(!format!("{created:?}").contains(password.expose()), "Debug never shows the password");

    let fetched = client.get_microtenant(&id).await.unwrap();
    assert!(fetched.user.is_none(), "the password is shown exactly once");

    let mut edited = fetched.clone();
    edited.description = Some("alpha team".into());
    client.update_microtenant(&id, &edited).await.unwrap();
    assert_eq!(client.get_microtenant(&id).await.unwrap().description.as_deref(), Some("alpha team"));

    let by_name = client.find_microtenants_by_name("team alpha").await.unwrap();
    assert_eq!(by_name.iter().map(|m| m.id.clone().unwrap()).collect::<Vec<_>>(), vec![id.clone()]);
    assert!(client.find_microtenants_by_name("Team").await.unwrap().is_empty(), "exact, not a prefix");

    let search = SearchRequest {
        filter_by: Some(FilterBy::List(vec![Filter {
            filter_name: "name".into(),
            operator: "EQ".into(),
            values: Some(vec!["Team Alpha".into()]),
            value: None,
        }])),
        ..Default::default()
    };
    assert_eq!(client.search_microtenants(&search).await.unwrap().len(), 1);

    let summary = client.microtenant_summary().await.unwrap();
    assert!(summary.iter().any(|s| s.id.as_deref() == Some(id.as_str()) && s.name == "Team Alpha"));
    assert!(summary.iter().any(|s| s.name == "Default"));
    let all = client.list_microtenants(None).await.unwrap();
    assert!(all.iter().any(|m| m.id.as_deref() == Some("0")), "the Default Microtenant is listed");

    client.delete_microtenant(&id).await.unwrap();
    assert!(client.get_microtenant(&id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn pagination_walks_every_page_at_pagesize_500() {
    let sim = simulator().await;
    let client = client(&sim);
    let regions = two_region_ids(&client).await;
    let before = client.list_isolation_profiles(&IsolationProfileQuery::default()).await.unwrap().len();
    for batch in 0..12 {
        let creates = (0..100).map(|i| {
            let client = client.clone();
            let body = profile(&format!("bulk-{:04}", batch * 100 + i), &regions);
            async move { client.create_profile(&body, &Scope::Default).await }
        });
        for result in futures::future::join_all(creates).await {
            result.unwrap();
        }
    }
    let calls_before = sim
        .stats()
        .by_route
        .get("GET /mgmtconfig/v1/admin/customers/{customerId}/isolation/profiles")
        .copied()
        .unwrap_or(0);
    let all = client.list_isolation_profiles(&IsolationProfileQuery::default()).await.unwrap();
    assert_eq!(all.len(), before + 1200);
    let mut ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no item twice across pages");
    let calls =
        sim.stats().by_route["GET /mgmtconfig/v1/admin/customers/{customerId}/isolation/profiles"] - calls_before;
    assert_eq!(calls as usize, (before + 1200).div_ceil(500), "one call per page of 500");

    let page = client.isolation_profiles_page(&IsolationProfileQuery::default(), 2, 20).await.unwrap();
    assert_eq!(page.list.len(), 20);
    assert_eq!(page.total_pages as usize, (before + 1200).div_ceil(20));
    let found = client.find_isolation_profiles_by_name("BULK-0042").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "bulk-0042");
}

#[tokio::test]
async fn profile_names_match_exactly_ignoring_case() {
    let sim = simulator().await;
    let client = client(&sim);
    let regions = two_region_ids(&client).await;
    client.create_profile(&profile("Web Profile", &regions), &Scope::Default).await.unwrap();
    client.create_profile(&profile("Web Profile 2", &regions), &Scope::Default).await.unwrap();
    let found = client.find_profiles_by_name("WEB PROFILE", &Scope::Default).await.unwrap();
    assert_eq!(found.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), vec!["Web Profile"]);
}

#[tokio::test]
async fn an_expired_or_revoked_token_is_replaced_without_failing_a_call() {
    let sim =
        simulator_with(SimulatorConfig { rate_limit: None, token_ttl: Duration::from_secs(1), ..Default::default() })
            .await;
    let client = client(&sim);
    client.me().await.unwrap();
    // Keep calling: every call must succeed while the 1 s tokens expire and are renewed.
    eventually("a second sign-in", Duration::from_secs(10), || async {
        client.me().await.unwrap();
        (sim.stats().by_route.get("POST /signin").copied().unwrap_or(0) >= 2).then_some(())
    })
    .await;

    // A revoked session answers 401 SESSION_NOT_VALID: one refresh, then success.
    let signins = sim.stats().by_route["POST /signin"];
    sim.revoke_tokens();
    client.list_regions().await.unwrap();
    assert_eq!(sim.stats().by_route["POST /signin"], signins + 1);
    assert!(sim.stats().by_status.get("401").copied().unwrap_or(0) >= 1);
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let sim = simulator_with(SimulatorConfig {
        rate_limit: Some(RateLimitConfig { get_limit: 3, write_limit: 3, window_ms: 1000 }),
        ..Default::default()
    })
    .await;
    let client = client(&sim); // no client-side limiter: the server must push back
    let started = Instant::now();
    for _ in 0..6 {
        client.list_regions().await.unwrap();
    }
    let stats = sim.stats();
    assert!(stats.too_many_requests >= 1, "the server limited us: {stats:?}");
    assert!(started.elapsed() >= Duration::from_millis(900), "waited for the window: {:?}", started.elapsed());
}

#[tokio::test]
async fn the_client_side_limiter_avoids_429s() {
    let sim = simulator_with(SimulatorConfig {
        rate_limit: Some(RateLimitConfig { get_limit: 4, write_limit: 2, window_ms: 500 }),
        ..Default::default()
    })
    .await;
    let limits =
        RateLimits { reads: 4, writes: 2, window: Duration::from_millis(500), margin: Duration::from_millis(100) };
    let client = ZpaClient::new(legacy_config(&sim), Arc::new(RateLimiter::new(limits))).unwrap();
    let calls = (0..12).map(|_| client.list_regions());
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(sim.stats().too_many_requests, 0);
}

#[tokio::test]
async fn edit_lock_conflicts_are_retried() {
    let sim = simulator().await;
    let client = client(&sim);
    let created = client.create_microtenant(&microtenant("locked", "locked.example.com")).await.unwrap();
    let id = created.id.unwrap();
    let mut body = client.get_microtenant(&id).await.unwrap();
    body.description = Some("after the lock".into());
    sim.set_faults(FaultConfig {
        edit_lock: Some(EditLockFault { count: 2, method: Some("PUT".into()), ..Default::default() }),
        ..Default::default()
    })
    .unwrap();
    client.update_microtenant(&id, &body).await.unwrap();
    assert_eq!(sim.stats().by_status.get("409"), Some(&2));
    assert_eq!(client.get_microtenant(&id).await.unwrap().description.as_deref(), Some("after the lock"));
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_transient() {
    let sim = simulator().await;
    let client = client(&sim);
    sim.set_faults(FaultConfig {
        server_errors: Some(ServerErrorFault { count: Some(2), retry_after_secs: None, ..Default::default() }),
        ..Default::default()
    })
    .unwrap();
    client.list_regions().await.unwrap();
    assert_eq!(sim.stats().by_status.get("503"), Some(&2));

    sim.set_faults(FaultConfig {
        server_errors: Some(ServerErrorFault { retry_after_secs: None, ..Default::default() }),
        ..Default::default()
    })
    .unwrap();
    let error = client.list_regions().await.unwrap_err();
    assert!(matches!(error, ZpaError::Transient { .. }), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn api_refusals_carry_the_api_id_and_reason() {
    let sim = simulator().await;
    let client = client(&sim);
    let foreign = client.create_microtenant(&microtenant("foreign", "not-ours.invalid")).await.unwrap_err();
    match &foreign {
        ZpaError::Invalid { status: 400, id, reason, .. } => {
            assert_eq!(id, "domains.does.not.belong.to.customer");
            assert!(!reason.is_empty());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!foreign.is_retryable());

    client.create_microtenant(&microtenant("twice", "twice.example.com")).await.unwrap();
    let duplicate = client.create_microtenant(&microtenant("TWICE", "twice2.example.com")).await.unwrap_err();
    assert!(matches!(duplicate, ZpaError::Duplicate { .. }), "{duplicate:?}");

    let regions = two_region_ids(&client).await;
    let one_region = client.create_profile(&profile("one-region", &regions[..1]), &Scope::Default).await.unwrap_err();
    assert!(matches!(&one_region, ZpaError::Invalid { id, .. } if !id.is_empty()), "{one_region:?}");
    let default =
        client.list_profiles(&Scope::Default).await.unwrap().into_iter().find(|p| p.is_default == Some(true)).unwrap();
    let refused = client.delete_profile(default.id.as_deref().unwrap(), &Scope::Default).await.unwrap_err();
    assert!(
        matches!(&refused, ZpaError::Invalid { id, .. } if id == "default.profile.delete.not.allowed"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_indeterminate_not_retried() {
    let sim = simulator().await;
    let client = client(&sim);
    sim.set_faults(FaultConfig {
        drop_after_commit: Some(DropFault {
            count: 1,
            method: Some("POST".into()),
            path: Some("/microtenants".into()),
        }),
        ..Default::default()
    })
    .unwrap();
    let error = client.create_microtenant(&microtenant("ghost", "ghost.example.com")).await.unwrap_err();
    assert!(matches!(error, ZpaError::Indeterminate { .. }), "{error:?}");
    assert_eq!(
        sim.stats().by_route.get("POST /mgmtconfig/v1/admin/customers/{customerId}/microtenants"),
        Some(&1),
        "no second POST"
    );
    assert_eq!(client.find_microtenants_by_name("ghost").await.unwrap().len(), 1, "the create did happen");
}

#[tokio::test]
async fn secrets_never_reach_debug_output_or_logs() {
    let logs = CapturedLogs::default();
    let _guard = logs.install();
    let sim = simulator().await;
    let client = client(&sim);
    let created = client.create_microtenant(&microtenant("secretive", "secretive.example.com")).await.unwrap();
    let password = created.user.as_ref().and_then(|u| u.password.clone()).unwrap();
    sim.revoke_tokens();
    client.me().await.unwrap();
    let _ = client.create_microtenant(&microtenant("secretive", "x.invalid")).await;

    let config = legacy_config(&sim);
    let debug = format!("{config:?} {client:?} {created:?}");
    let logged = logs.text();
    assert!(!logged.is_empty(), "the capture works");
    for (what, text) in [("debug", &debug), ("logs", &logged)] {
        assert!(!text.contains(sim.client_secret().expose()), "client secret in {what}");
        assert!(!text.contains(password.expose()), "admin password in {what}");
        assert!(!text.contains("eyJ"), "a bearer token in {what}");
    }
}

/// Every CBI call answered "not mapped" (either real answer) is
/// `CbiNotAvailable`, never `NotFound`; nothing is applied, and the object is
/// there once CBI answers again.
#[tokio::test]
async fn not_mapped_answers_are_cbi_not_available_on_every_cbi_call() {
    let sim = simulator().await;
    let client = client(&sim);
    let regions = two_region_ids(&client).await;
    let id = client.create_profile(&profile("mapped", &regions), &Scope::Default).await.unwrap();
    let read = client.get_profile(&id, &Scope::Default).await.unwrap();
    for answer in [NotMappedAnswer::ZpnCbiMapping, NotMappedAnswer::NoHandler] {
        sim.set_faults(FaultConfig {
            not_mapped: Some(NotMappedFault { answer, ..Default::default() }),
            ..Default::default()
        })
        .unwrap();
        let results: Vec<(&str, Result<(), ZpaError>)> = vec![
            ("profiles.list", client.list_profiles(&Scope::Default).await.map(drop)),
            ("profiles.get", client.get_profile(&id, &Scope::Default).await.map(drop)),
            ("profiles.update", client.update_profile(&id, &read, &Scope::Default).await),
            ("profiles.delete", client.delete_profile(&id, &Scope::Default).await),
            ("profiles.create", client.create_profile(&profile("again", &regions), &Scope::Default).await.map(drop)),
            ("regions.list", client.list_regions().await.map(drop)),
            ("certificates.list", client.list_certificates().await.map(drop)),
            ("banners.list", client.list_banners().await.map(drop)),
            ("zpaprofiles.list", client.list_zpa_profiles(true).await.map(drop)),
        ];
        for (operation, result) in results {
            match result {
                Err(error @ ZpaError::CbiNotAvailable { .. }) => {
                    assert!(error.is_retryable(), "{operation}: a tenant condition, retried with backoff");
                    assert!(!error.is_not_found(), "{operation}");
                }
                other => panic!("{answer:?} {operation}: {other:?}"),
            }
        }
        client.list_microtenants(None).await.expect("mgmtconfig is untouched");
    }
    assert!(sim.stats().faults_injected["notMapped"] >= 18);
    sim.set_faults(FaultConfig::default()).unwrap();
    let still = client.get_profile(&id, &Scope::Default).await.unwrap();
    assert_eq!(still.name, "mapped", "the DELETE answered 'not mapped' removed nothing");
    assert_eq!(
        client.find_profiles_by_name("again", &Scope::Default).await.unwrap().len(),
        0,
        "nor did the POST create"
    );
}

/// The keys of a JSON object, sorted.
fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

const PUT_MICROTENANT: &str = "PUT /mgmtconfig/v1/admin/customers/{customerId}/microtenants/{microtenantId}";
const PUT_PROFILE: &str = "PUT /cbiconfig/cbi/api/customers/{customerId}/profiles/{profileId}";

/// A read-modify-write sends what the API takes, not the last GET: the
/// Microtenant's writable fields, the profile in the SDKs' update shape.
#[tokio::test]
async fn put_bodies_carry_only_what_the_api_takes() {
    let sim = simulator().await;
    let client = client(&sim);
    let created = client
        .create_microtenant(&MgmtMicrotenant {
            description: Some("team".into()),
            ..microtenant("bodies", "bodies.example.com")
        })
        .await
        .unwrap();
    let id = created.id.unwrap();
    let mut read = client.get_microtenant(&id).await.unwrap();
    assert!(read.scope_order.is_some() && read.operator.is_some() && read.creation_time.is_some(), "{read:?}");
    read.description = Some("edited".into());
    client.update_microtenant(&id, &read).await.unwrap();
    let sent = sim.last_request(PUT_MICROTENANT).expect("the PUT was recorded").body;
    assert_eq!(
        keys(&sent),
        [
            "criteriaAttribute",
            "criteriaAttributeValues",
            "description",
            "enabled",
            "id",
            "name",
            "privilegedApprovalsEnabled"
        ]
    );
    assert_eq!(sent["id"], id.as_str());
    assert_eq!(client.get_microtenant(&id).await.unwrap().description.as_deref(), Some("edited"));

    let regions = two_region_ids(&client).await;
    let profile_id = client.create_profile(&profile("bodies", &regions), &Scope::Default).await.unwrap();
    let mut read = client.get_profile(&profile_id, &Scope::Default).await.unwrap();
    assert!(read.cbi_url.is_some() && read.href.is_some() && read.creation_time.is_some(), "{read:?}");
    read.description = Some("edited".into());
    client.update_profile(&profile_id, &read, &Scope::Default).await.unwrap();
    let sent = sim.last_request(PUT_PROFILE).expect("the PUT was recorded").body;
    assert_eq!(
        keys(&sent),
        [
            "banner",
            "bannerId",
            "certificateIds",
            "certificates",
            "debugMode",
            "description",
            "enabled",
            "id",
            "isDefault",
            "name",
            "regionIds",
            "regions",
            "securityControls",
            "userExperience"
        ]
    );
    assert_eq!(sent["regions"].as_array().unwrap().len(), 2);
    assert!(sent["regions"][0].get("name").is_none(), "object forms carry ids only, as the SDKs send them");
    assert_eq!(client.get_profile(&profile_id, &Scope::Default).await.unwrap().description.as_deref(), Some("edited"));
}

/// "Resource Access Blocked" (OneAPI under load) gets a new token before the
/// retry, not the same token again; SESSION_NOT_VALID up to three times.
#[tokio::test]
async fn a_refused_session_gets_a_new_token_before_its_retry() {
    let sim = simulator().await;
    let client = client(&sim);
    client.list_regions().await.unwrap();
    sim.set_faults(FaultConfig {
        session_refused: Some(SessionRefusedFault { count: 1, ..Default::default() }),
        ..Default::default()
    })
    .unwrap();
    client.list_regions().await.unwrap();
    let stats = sim.stats();
    let route = "GET /cbiconfig/cbi/api/customers/{customerId}/regions";
    assert_eq!(stats.by_route_status[route].get("401"), Some(&1), "one refusal, then a new token: {stats:?}");
    assert_eq!(stats.by_route["POST /signin"], 2);

    sim.set_faults(FaultConfig {
        session_refused: Some(SessionRefusedFault {
            count: 3,
            body: SessionRefusal::SessionNotValid,
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    client.list_regions().await.expect("three refreshes are allowed");
    assert_eq!(sim.stats().by_route["POST /signin"], 5);
}

/// 409 api.concurrent.access.error and 400 db.simultaneous.request are retried.
#[tokio::test]
async fn concurrent_change_answers_are_retried() {
    let sim = simulator().await;
    let client = client(&sim);
    let id = client.create_microtenant(&microtenant("busy", "busy.example.com")).await.unwrap().id.unwrap();
    let mut body = client.get_microtenant(&id).await.unwrap();
    for (status, answer, note) in [
        (409, EditLockBody::ConcurrentAccess, "409 concurrent access"),
        (400, EditLockBody::DbSimultaneous, "400 simultaneous request"),
    ] {
        sim.set_faults(FaultConfig {
            edit_lock: Some(EditLockFault { count: 2, status, body: answer, ..Default::default() }),
            ..Default::default()
        })
        .unwrap();
        body.description = Some(note.into());
        client.update_microtenant(&id, &body).await.unwrap_or_else(|e| panic!("{note}: {e:?}"));
        assert_eq!(client.get_microtenant(&id).await.unwrap().description.as_deref(), Some(note));
    }
    assert_eq!(sim.stats().faults_injected["editLock"], 4);
}

/// A 429 without `retry-after` waits for `x-ratelimit-reset`, not a short backoff.
#[tokio::test]
async fn a_429_without_retry_after_waits_for_the_rate_limit_reset() {
    let sim = simulator().await;
    let client = client(&sim); // quick retries: 20 ms to 200 ms backoff
    sim.set_faults(FaultConfig {
        too_many_requests: Some(TooManyRequestsFault {
            count: Some(1),
            omit_retry_after: true,
            ratelimit_reset_secs: Some(2),
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    let started = Instant::now();
    client.list_regions().await.unwrap();
    assert_eq!(sim.stats().too_many_requests, 1);
    assert!(started.elapsed() >= Duration::from_secs(2), "waited {:?}, not the reset", started.elapsed());
}

/// A domain a just-deleted Microtenant still holds: the create is tried again
/// a few times (bounded), then it is the API's refusal.
#[tokio::test]
async fn a_microtenant_create_waits_a_little_for_a_released_domain() {
    let sim = simulator().await;
    let client = client(&sim);
    sim.set_faults(FaultConfig { domain_hold: Some(DomainHoldFault { ms: 300 }), ..Default::default() }).unwrap();
    let first = client.create_microtenant(&microtenant("first", "recycled.example.com")).await.unwrap();
    client.delete_microtenant(first.id.as_deref().unwrap()).await.unwrap();
    let second = client.create_microtenant(&microtenant("second", "recycled.example.com")).await.unwrap();
    assert!(second.id.is_some());
    let route = "POST /mgmtconfig/v1/admin/customers/{customerId}/microtenants";
    assert!(sim.stats().by_route_status[route].get("400").is_some_and(|n| *n >= 1), "it was refused at first");

    sim.set_faults(FaultConfig { domain_hold: Some(DomainHoldFault { ms: 600_000 }), ..Default::default() }).unwrap();
    client.delete_microtenant(second.id.as_deref().unwrap()).await.unwrap();
    let before = sim.stats().by_route[route];
    let refused = client.create_microtenant(&microtenant("third", "recycled.example.com")).await.unwrap_err();
    assert!(
        matches!(&refused, ZpaError::Invalid { id, .. } if id == "domains.already.exists.in.other.microtenant"),
        "{refused:?}"
    );
    assert_eq!(sim.stats().by_route[route] - before, 4, "bounded: the first try and three more");
}

/// A refusal id the client does not know is tried a few times, then reported
/// with ZPA's own message, not retried forever and not read as a spec error.
#[tokio::test]
async fn an_unknown_refusal_ends_with_zpas_message_after_a_few_tries() {
    let sim = simulator().await;
    let client = client(&sim);
    // The simulator refuses deleting the Default Microtenant with an id of its own.
    let refused = client.delete_microtenant("0").await.unwrap_err();
    match &refused {
        ZpaError::Refused { status: 400, id, reason, .. } => {
            assert_eq!(id, "default.microtenant.delete.not.allowed");
            assert!(reason.contains("cannot be deleted"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!refused.is_retryable());
    assert_eq!(refused.reason(), "Refused");
    let route = "DELETE /mgmtconfig/v1/admin/customers/{customerId}/microtenants/{microtenantId}";
    assert_eq!(sim.stats().by_route[route], 3, "three tries");
}

#[test]
fn names_with_odd_characters_are_not_searched_server_side() {
    assert_eq!(name_search("team-a.prod").as_deref(), Some("name+EQ+team-a.prod"));
    assert_eq!(name_search("Two Words").as_deref(), Some("name+EQ+Two Words"));
    assert_eq!(name_search("a&b"), None);
    assert_eq!(name_search("  "), None);
    assert!(same_name("Team-A", "team-a"));
    assert!(!same_name("team a", "team  a"));
}
