//! Leader election on a Lease, against the Kubernetes API stand-in.

use std::time::Duration;

use zpa_operator::controller::leader::{self, LeaderElection};

fn election(identity: &str) -> LeaderElection {
    LeaderElection {
        namespace: "default".into(),
        lease_name: "zpa-operator-leader".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_and_another_takes_over_when_it_stops_renewing() {
    let standin = kube_standin::start(kube_standin::StandInConfig::default()).await.unwrap();
    let client = standin.kube_client();
    let a = election("replica-a");
    let b = election("replica-b");

    tokio::time::timeout(Duration::from_secs(5), leader::acquire(&client, &a)).await.expect("the first replica leads");
    // While A renews, B must not get the Lease.
    let holding = tokio::spawn({
        let client = client.clone();
        let a = a.clone();
        async move { leader::hold(&client, &a).await }
    });
    let contested = tokio::time::timeout(Duration::from_secs(4), leader::acquire(&client, &b)).await;
    assert!(contested.is_err(), "replica-b became leader while replica-a was renewing");

    // A stops (crash): B takes over once the Lease expires.
    holding.abort();
    tokio::time::timeout(Duration::from_secs(10), leader::acquire(&client, &b)).await.expect("replica-b takes over");
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> = kube::Api::namespaced(client.clone(), "default");
    let lease = leases.get("zpa-operator-leader").await.unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(spec.lease_transitions, Some(1));

    // And A, coming back, learns it lost the Lease.
    tokio::time::timeout(Duration::from_secs(5), leader::hold(&client, &a))
        .await
        .expect("hold returns once the Lease is someone else's");
}
