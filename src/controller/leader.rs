//! Leader election on a `coordination.k8s.io/v1` Lease, so that only one
//! replica reconciles. A replica that loses the Lease stops (its process
//! exits and restarts as a candidate) rather than risk two writers.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};

#[derive(Debug, Clone)]
pub struct LeaderElection {
    pub namespace: String,
    pub lease_name: String,
    pub identity: String,
    pub lease_duration: Duration,
}

impl LeaderElection {
    fn renew_every(&self) -> Duration {
        self.lease_duration / 3
    }
}

/// Waits until this replica holds the Lease.
pub async fn acquire(client: &Client, election: &LeaderElection) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), &election.namespace);
    loop {
        match try_acquire(&leases, election).await {
            Ok(true) => {
                tracing::info!(lease = %election.lease_name, identity = %election.identity, "became leader");
                return;
            }
            Ok(false) => tracing::debug!(lease = %election.lease_name, "another replica leads; standing by"),
            Err(error) => tracing::warn!(%error, "leader election failed; retrying"),
        }
        tokio::time::sleep(election.renew_every()).await;
    }
}

/// Keeps renewing; returns when the Lease is lost (or cannot be renewed in time).
pub async fn hold(client: &Client, election: &LeaderElection) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), &election.namespace);
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(election.renew_every()).await;
        match try_acquire(&leases, election).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, "renewing the leader Lease failed");
                if last_renewal.elapsed() >= election.lease_duration {
                    return;
                }
            }
        }
    }
}

/// Takes or renews the Lease when it is free, expired or ours.
async fn try_acquire(leases: &Api<Lease>, election: &LeaderElection) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let duration_secs = i32::try_from(election.lease_duration.as_secs()).unwrap_or(i32::MAX);
    let Some(mut lease) = leases.get_opt(&election.lease_name).await? else {
        let lease = Lease {
            metadata: ObjectMeta { name: Some(election.lease_name.clone()), ..ObjectMeta::default() },
            spec: Some(LeaseSpec {
                holder_identity: Some(election.identity.clone()),
                lease_duration_seconds: Some(duration_secs),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        return match leases.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(false),
            Err(error) => Err(error),
        };
    };
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let ours = spec.holder_identity.as_deref() == Some(election.identity.as_str());
    let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
        (Some(renewed), Some(secs)) => renewed.0 + Duration::from_secs(u64::try_from(secs).unwrap_or(0)) < now,
        _ => true,
    };
    if !ours && !expired && spec.holder_identity.is_some() {
        return Ok(false);
    }
    if !ours {
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        spec.holder_identity = Some(election.identity.clone());
    }
    spec.renew_time = Some(MicroTime(now));
    spec.lease_duration_seconds = Some(duration_secs);
    // The resourceVersion in `lease` makes this fail if someone else wrote first.
    match leases.replace(&election.lease_name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.is_conflict() => Ok(false),
        Err(error) => Err(error),
    }
}
