//! Leader election on a Lease, against the real kube-apiserver.

mod support;

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use support::controlplane::{ControlPlane, unique_name};
use tokio::time::Instant;
use zpa_operator::controller::leader::{self, Attempt, LeaderElection, LeaseLost};

/// A namespace of the test's own for its Lease, and an admin client.
async fn lease_namespace() -> (kube::Client, String) {
    let plane = ControlPlane::shared();
    let namespace = unique_name("lease");
    plane.kubectl_ok(&["create", "namespace", &namespace]);
    (plane.admin_client().await, namespace)
}

fn election(namespace: &str, identity: &str) -> LeaderElection {
    LeaderElection {
        namespace: namespace.into(),
        lease_name: "zpa-operator-leader".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(250),
    }
}

async fn lease(client: &kube::Client, namespace: &str) -> k8s_openapi::api::coordination::v1::LeaseSpec {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    leases.get("zpa-operator-leader").await.unwrap().spec.unwrap()
}

/// A Kubernetes API that accepts connections and never answers: a leader
/// cut off from the API server by a network partition.
async fn black_hole_client() -> kube::Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri: axum::http::Uri = format!("http://{}", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    kube::Client::try_from(kube::Config::new(uri)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_and_another_takes_over_when_it_stops_renewing() {
    let (client, namespace) = lease_namespace().await;
    let a = election(&namespace, "replica-a");
    let b = election(&namespace, "replica-b");

    let acquired = tokio::time::timeout(Duration::from_secs(5), leader::acquire(&client, &a))
        .await
        .expect("the first replica leads");
    // While A renews, B must not get the Lease (for longer than a lease duration).
    let holding = tokio::spawn({
        let client = client.clone();
        let a = a.clone();
        async move { leader::hold(&client, &a, acquired).await }
    });
    let contested = tokio::time::timeout(Duration::from_secs(4), leader::acquire(&client, &b)).await;
    assert!(contested.is_err(), "replica-b became leader while replica-a was renewing");

    // A stops (crash): B takes over once the Lease expires.
    holding.abort();
    let crashed = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), leader::acquire(&client, &b)).await.expect("replica-b takes over");
    let took = crashed.elapsed();
    assert!(took <= a.lease_duration + a.retry_period, "took over after {took:?}");
    let spec = lease(&client, &namespace).await;
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(spec.lease_transitions, Some(1));

    // And A, coming back, learns at its next renewal that it lost the Lease.
    let lost = tokio::time::timeout(Duration::from_secs(5), leader::hold(&client, &a, Instant::now()))
        .await
        .expect("hold returns once the Lease is someone else's");
    assert_eq!(lost, LeaseLost::TakenBy("replica-b".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_renew_stops_before_its_lease_can_be_taken() {
    let (client, namespace) = lease_namespace().await;
    let a = election(&namespace, "replica-a");
    let b = election(&namespace, "replica-b");
    let acquired = leader::acquire(&client, &a).await;

    // A is partitioned from the API server: its renewals hang.
    let partitioned = black_hole_client().await;
    let lost = tokio::time::timeout(Duration::from_secs(10), leader::hold(&partitioned, &a, acquired))
        .await
        .expect("hold gives up even though every renewal hangs");
    let stopped_after = acquired.elapsed();
    let stopped_at = Timestamp::now();
    assert_eq!(lost, LeaseLost::RenewDeadline(a.renew_deadline));
    assert!(stopped_after >= a.renew_deadline, "gave up early, after {stopped_after:?}");

    // It stopped while the Lease was still valid: nobody else could hold it yet.
    let spec = lease(&client, &namespace).await;
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-a"));
    let renewed = spec.renew_time.unwrap().0;
    let expires = renewed + Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap()).unwrap());
    assert!(stopped_at < expires, "stopped at {stopped_at}, the Lease expired at {expires}");
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    assert!(
        matches!(leader::try_acquire(&leases, &b).await.unwrap(), Attempt::HeldBy { ref holder, .. } if holder == "replica-a"),
        "replica-b could take the Lease before replica-a stopped"
    );
    // B gets it once it expires.
    tokio::time::timeout(Duration::from_secs(5), leader::acquire(&client, &b)).await.expect("replica-b takes over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_lease_is_taken_at_once_and_only_its_holder_can_release_it() {
    let (client, namespace) = lease_namespace().await;
    let a = election(&namespace, "replica-a");
    let b = election(&namespace, "replica-b");
    leader::acquire(&client, &a).await;

    assert!(!leader::release(&client, &b).await.unwrap(), "replica-b does not hold it");
    assert_eq!(lease(&client, &namespace).await.holder_identity.as_deref(), Some("replica-a"));

    assert!(leader::release(&client, &a).await.unwrap());
    assert_eq!(lease(&client, &namespace).await.holder_identity, None, "holder cleared");
    // Free now, long before the 3 s lease would have expired.
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    assert_eq!(leader::try_acquire(&leases, &b).await.unwrap(), Attempt::Held);
    let spec = lease(&client, &namespace).await;
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(spec.lease_transitions, Some(1));
    assert_eq!(spec.lease_duration_seconds, Some(3));
}
