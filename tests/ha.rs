//! High availability, end to end: two `zpa-operator run --leader-elect`
//! processes against the real kube-apiserver and the ZPA simulator, with
//! a 3 s Lease. Only the leader reconciles; a killed leader is replaced once
//! its Lease expires; a terminated one finishes its work, releases the Lease
//! and exits 0, and the standby takes over at once.

mod support;

use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use support::eventually;
use support::processes::{Operator, World};

const LEASE: &str = "zpa-operator-leader";
const LEASE_DURATION: Duration = Duration::from_secs(3);
const RETRY_PERIOD: Duration = Duration::from_millis(250);
// The Lease lives in the test's namespace (POD_NAMESPACE, as the chart sets it).
const ELECTION_ARGS: [&str; 8] = [
    "--leader-elect",
    "--leader-elect-lease-duration",
    "3s",
    "--leader-elect-renew-deadline",
    "2s",
    "--leader-elect-retry-period",
    "250ms",
    "--shutdown-grace",
];
const RECONCILES: &str = "zpa_operator_reconciles_total";

fn replica(world: &World, name: &str) -> Operator {
    replica_with_grace(world, name, "15s")
}

fn replica_with_grace(world: &World, name: &str, shutdown_grace: &str) -> Operator {
    let mut args = ELECTION_ARGS.to_vec();
    args.push(shutdown_grace);
    world.spawn_operator(name, &args)
}

fn holder(lease: &Value) -> Option<String> {
    lease["spec"]["holderIdentity"].as_str().filter(|h| !h.is_empty()).map(str::to_owned)
}

async fn wait_holder(world: &World, name: &str) -> Value {
    eventually(&format!("{name} holds the Lease"), Duration::from_secs(30), || async {
        world.lease(LEASE).filter(|l| holder(l).as_deref() == Some(name))
    })
    .await
}

/// When the Lease was taken by its current holder (its `acquireTime`).
fn acquired_at(lease: &Value) -> Timestamp {
    lease["spec"]["acquireTime"].as_str().expect("acquireTime").parse().expect("an RFC 3339 time")
}

fn since(start: SystemTime, at: Timestamp) -> Duration {
    let start = Timestamp::try_from(start).expect("a time after 1970");
    at.duration_since(start).try_into().unwrap_or(Duration::ZERO)
}

/// Two replicas; returns (leader, standby) once A leads and B stands by.
async fn two_replicas(world: &World) -> (Operator, Operator) {
    two_replicas_with_grace(world, "15s").await
}

async fn two_replicas_with_grace(world: &World, shutdown_grace: &str) -> (Operator, Operator) {
    let leader = replica_with_grace(world, "replica-a", shutdown_grace);
    wait_holder(world, "replica-a").await;
    let standby = replica(world, "replica-b");
    eventually("replica-b stands by", Duration::from_secs(30), || async {
        standby.log().contains("another replica leads; standing by").then_some(())
    })
    .await;
    (leader, standby)
}

fn microtenant(name: &str) -> String {
    format!(
        "apiVersion: zpa.operator.dev/v1alpha1\nkind: Microtenant\nmetadata: {{name: {name}}}\n\
         spec:\n  criteriaAttributeValues: [{name}.example.com]\n  adminCredentialsSecretRef: {{name: {name}-admin}}\n"
    )
}

fn assert_no_panic(operator: &Operator) {
    let log = operator.log();
    assert!(!log.contains("panicked"), "{} panicked:\n{log}", operator.name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_reconciles_and_a_killed_leader_is_replaced_within_the_lease_duration() {
    let world = World::start("30m");
    let (mut leader, standby) = two_replicas(&world).await;
    world.apply_examples();
    for (kind, name) in [("mt", "team-payments"), ("mt", "team-research"), ("isop", "web-isolation")] {
        world.wait_ready(kind, name).await;
    }

    // Exactly one replica reconciles: the Lease holder.
    assert!(leader.metric_sum(RECONCILES).await > 0.0, "the leader reconciled");
    assert_eq!(standby.metric_sum(RECONCILES).await, 0.0, "the standby reconciled nothing");
    assert_eq!(standby.http_get("/readyz").await.0, 200, "a standby reports ready");
    assert_eq!(holder(&world.lease(LEASE).unwrap()).as_deref(), Some("replica-a"));

    // The leader crashes: the standby takes the Lease once it expires.
    let killed = SystemTime::now();
    leader.kill();
    let lease = wait_holder(&world, "replica-b").await;
    let took = since(killed, acquired_at(&lease));
    println!("hand-over after SIGKILL of the leader: {:.2} s (lease duration {LEASE_DURATION:?})", took.as_secs_f64());
    assert!(took <= LEASE_DURATION + RETRY_PERIOD, "the standby took over {took:?} after the kill");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);

    // The new leader converges a resource created after the kill.
    let output = world.apply("late.yaml", &microtenant("team-late"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let late = world.wait_ready("mt", "team-late").await;
    assert!(late["status"]["id"].is_string());
    assert!(standby.metric_sum(RECONCILES).await > 0.0, "the new leader reconciles");
    assert_no_panic(&standby);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_leader_finishes_its_create_releases_the_lease_and_exits_zero() {
    let world = World::start("30m");
    let (mut leader, standby) = two_replicas(&world).await;
    world.apply_examples();
    world.wait_ready("mt", "team-payments").await;

    // A Microtenant create that takes 2 s in ZPA is in flight when SIGTERM comes.
    start_slow_microtenant_create(&world, 2000).await;
    let terminated = SystemTime::now();
    leader.signal("TERM");

    let status = leader.wait_exit(Duration::from_secs(15)).await;
    let exited = SystemTime::now().duration_since(terminated).unwrap_or_default();
    assert!(status.success(), "SIGTERM exits 0, got {status}; log:\n{}", leader.log());
    let log = leader.log();
    assert!(log.contains("reconciles in flight finished"), "the in-flight create was let finish:\n{log}");
    assert!(log.contains("released the leader Lease"), "{log}");
    assert_no_panic(&leader);

    // The standby takes over well before the 3 s Lease could have expired.
    let lease = wait_holder(&world, "replica-b").await;
    let took = since(terminated, acquired_at(&lease));
    println!(
        "SIGTERM of the leader with a 2 s create in flight: exited 0 after {:.2} s, standby leads {:.2} s after the signal, {:.2} s after the exit (lease duration {LEASE_DURATION:?})",
        exited.as_secs_f64(),
        took.as_secs_f64(),
        took.saturating_sub(exited).as_secs_f64()
    );
    assert!(took < exited + 2 * RETRY_PERIOD + Duration::from_millis(500), "took over {took:?} after SIGTERM");

    // The create finished in the old leader: its answer, with the admin
    // password ZPA shows once, reached the Secret; nothing was created twice.
    world.wait_ready("mt", "team-slow").await;
    let password = world.kubectl_ok(&["get", "secret", "team-slow-admin", "-o", "jsonpath={.data.password}"]);
    assert!(!password.is_empty(), "the admin password is in the Secret");
    let state = world.remote_state().await;
    let named = state["microtenants"].as_array().expect("a list").iter().filter(|m| m["name"] == "team-slow").count();
    assert_eq!(named, 1, "exactly one remote Microtenant");
    assert_no_panic(&standby);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_without_leader_election_and_while_standing_by_exits_zero() {
    let world = World::start("30m");
    let mut single = world.spawn_operator("single", &[]);
    assert_eq!(single.http_get("/healthz").await.0, 200);
    single.signal("TERM");
    assert!(single.wait_exit(Duration::from_secs(10)).await.success(), "{}", single.log());

    let (mut leader, mut standby) = two_replicas(&world).await;
    standby.signal("INT");
    assert!(standby.wait_exit(Duration::from_secs(10)).await.success(), "{}", standby.log());
    assert_eq!(holder(&world.lease(LEASE).unwrap()).as_deref(), Some("replica-a"), "the leader keeps leading");

    // An idle leader hands over at once: the next standby needs no expiry.
    let next = replica(&world, "replica-c");
    eventually("replica-c stands by", Duration::from_secs(30), || async {
        next.log().contains("another replica leads; standing by").then_some(())
    })
    .await;
    let terminated = SystemTime::now();
    leader.signal("TERM");
    assert!(leader.wait_exit(Duration::from_secs(10)).await.success(), "{}", leader.log());
    let took = since(terminated, acquired_at(&wait_holder(&world, "replica-c").await));
    println!("SIGTERM of an idle leader: the standby leads {:.2} s after the signal", took.as_secs_f64());
    assert!(took < LEASE_DURATION / 2, "took over {took:?} after SIGTERM, as if the Lease had to expire");
    for operator in [&single, &standby, &leader, &next] {
        assert_no_panic(operator);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_lease_is_taken_stops_at_its_next_renewal_and_exits_non_zero() {
    let world = World::start("30m");
    let mut leader = replica(&world, "replica-a");
    wait_holder(&world, "replica-a").await;

    // Another holder appears in the Lease (a partition healed the wrong way, a
    // misconfigured second deployment): replica-a must stop, not write on.
    let taken = SystemTime::now();
    world.kubectl_ok(&["patch", "lease", LEASE, "--type", "merge", "-p", r#"{"spec":{"holderIdentity":"intruder"}}"#]);
    let status = leader.wait_exit(Duration::from_secs(10)).await;
    let stopped = SystemTime::now().duration_since(taken).unwrap_or_default();
    println!("a leader whose Lease was taken exited {:.2} s later with {status}", stopped.as_secs_f64());
    assert_eq!(status.code(), Some(1), "exits non-zero, to restart as a candidate");
    assert!(stopped < LEASE_DURATION, "stopped after {stopped:?}");
    let log = leader.log();
    assert!(log.contains("lost the leader Lease (the Lease is held by intruder)"), "{log}");
    assert_no_panic(&leader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_past_its_shutdown_grace_abandons_the_create_and_still_hands_over() {
    let world = World::start("30m");
    let (mut leader, _standby) = two_replicas_with_grace(&world, "300ms").await;
    world.apply_examples();
    world.wait_ready("mt", "team-payments").await;
    start_slow_microtenant_create(&world, 3000).await;
    let terminated = SystemTime::now();
    leader.signal("TERM");

    // It does not wait for the 3 s create: 300 ms, then it abandons it.
    let status = leader.wait_exit(Duration::from_secs(10)).await;
    let exited = SystemTime::now().duration_since(terminated).unwrap_or_default();
    assert!(status.success(), "exits 0 after abandoning, got {status}");
    assert!(exited < Duration::from_secs(2), "exited after {exited:?}, as if it had waited for the create");
    let log = leader.log();
    assert!(log.contains("abandoning the reconciles still in flight"), "{log}");
    assert!(log.contains("released the leader Lease"), "{log}");
    assert_no_panic(&leader);
    wait_holder(&world, "replica-b").await;
    // What makes abandoning safe: the marker is still there for the next
    // leader, which looks the object up by name instead of creating it again.
    let slow = world.get_json("mt", "team-slow").expect("still there");
    assert!(slow["metadata"]["annotations"]["zpa.operator.dev/create-pending"].is_string(), "{slow:#}");
    println!("SIGTERM past the shutdown grace (300 ms): exited 0 after {:.2} s", exited.as_secs_f64());
}

/// Applies Microtenant `team-slow` with its POST taking `latency_ms` in ZPA,
/// and returns once its create is about to be sent (the marker is written).
async fn start_slow_microtenant_create(world: &World, latency_ms: u64) {
    world
        .sim(
            Method::PUT,
            "/__sim/faults",
            Some(json!({"latency": {"ms": latency_ms, "method": "POST", "path": "/microtenants"}})),
        )
        .await;
    let output = world.apply("slow.yaml", &microtenant("team-slow"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    world
        .wait_for("mt", "team-slow", "the create-pending marker (the POST is next)", |o| {
            o["metadata"]["annotations"]["zpa.operator.dev/create-pending"].is_string()
        })
        .await;
}
