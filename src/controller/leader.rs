//! Leader election on a `coordination.k8s.io/v1` Lease, so that only one
//! replica reconciles, with client-go's timing model:
//!
//! - a candidate polls every `retry_period` and takes the Lease when it has
//!   no holder (absent or empty `holderIdentity`) or the holder's
//!   `renewTime + leaseDurationSeconds` has passed;
//! - the leader renews every `retry_period` and gives up when it could not
//!   renew for `renew_deadline`, which is shorter than `lease_duration`: it
//!   stops writing before anyone else may take the Lease;
//! - on a clean shutdown the leader releases the Lease (clears the holder),
//!   so a standby takes over at its next poll instead of after expiry.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::time::Instant;

/// Who competes for which Lease, and the timing.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    pub namespace: String,
    pub lease_name: String,
    pub identity: String,
    /// How long a Lease stays valid after its last renewal (whole seconds in the Lease).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up.
    pub renew_deadline: Duration,
    /// Between two attempts, to acquire or to renew.
    pub retry_period: Duration,
}

/// Timing that cannot keep a single leader.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElectionConfigError {
    #[error("the lease duration must be at least 1s, got {0:?}")]
    LeaseTooShort(Duration),
    #[error("the renew deadline ({renew_deadline:?}) must be shorter than the lease duration ({lease_duration:?})")]
    DeadlineNotBeforeExpiry { renew_deadline: Duration, lease_duration: Duration },
    #[error("the retry period ({retry_period:?}) must be shorter than the renew deadline ({renew_deadline:?})")]
    RetryNotBeforeDeadline { retry_period: Duration, renew_deadline: Duration },
}

impl LeaderElection {
    /// client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry period.
    pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
    pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
    pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);

    /// Checks `retry_period < renew_deadline < lease_duration`.
    pub fn validate(&self) -> Result<(), ElectionConfigError> {
        if self.lease_duration < Duration::from_secs(1) {
            return Err(ElectionConfigError::LeaseTooShort(self.lease_duration));
        }
        if self.renew_deadline >= self.lease_duration {
            return Err(ElectionConfigError::DeadlineNotBeforeExpiry {
                renew_deadline: self.renew_deadline,
                lease_duration: self.lease_duration,
            });
        }
        if self.retry_period >= self.renew_deadline || self.retry_period.is_zero() {
            return Err(ElectionConfigError::RetryNotBeforeDeadline {
                retry_period: self.retry_period,
                renew_deadline: self.renew_deadline,
            });
        }
        Ok(())
    }

    /// The duration written into the Lease, rounded up to whole seconds.
    fn lease_duration_secs(&self) -> i32 {
        let secs = self.lease_duration.as_secs() + u64::from(self.lease_duration.subsec_nanos() > 0);
        i32::try_from(secs).unwrap_or(i32::MAX)
    }
}

/// The outcome of one attempt to take or renew the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// This replica holds the Lease now.
    Held,
    /// Another replica holds it; it expires in `expires_in` unless renewed.
    HeldBy { holder: String, expires_in: Duration },
    /// Someone else wrote the Lease between our read and our write.
    Contended,
}

/// Why a leader stopped leading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseLost {
    #[error("the Lease is held by {0}")]
    TakenBy(String),
    #[error("could not renew the Lease within the renew deadline of {0:?}")]
    RenewDeadline(Duration),
}

/// Waits until this replica holds the Lease; returns when the winning
/// attempt started (the renew deadline counts from there).
pub async fn acquire(client: &Client, election: &LeaderElection) -> Instant {
    let leases: Api<Lease> = Api::namespaced(client.clone(), &election.namespace);
    let mut standing_by_for: Option<String> = None;
    loop {
        let started = Instant::now();
        let wait = match try_acquire(&leases, election).await {
            Ok(Attempt::Held) => {
                tracing::info!(lease = %election.lease_name, identity = %election.identity, "became leader");
                return started;
            }
            Ok(Attempt::HeldBy { holder, expires_in }) => {
                if standing_by_for.as_deref() != Some(holder.as_str()) {
                    tracing::info!(lease = %election.lease_name, %holder, "another replica leads; standing by");
                    standing_by_for = Some(holder);
                }
                // Look again right after it would expire, or at the next retry.
                election.retry_period.min(expires_in + Duration::from_millis(20))
            }
            Ok(Attempt::Contended) => election.retry_period,
            Err(error) => {
                tracing::warn!(%error, "leader election failed; retrying");
                election.retry_period
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// Keeps renewing the Lease acquired at `acquired_at`; returns as soon as it
/// is lost: held by someone else, or not renewed within the renew deadline.
/// A renewal call that hangs is cut off at the deadline.
pub async fn hold(client: &Client, election: &LeaderElection, acquired_at: Instant) -> LeaseLost {
    let leases: Api<Lease> = Api::namespaced(client.clone(), &election.namespace);
    let mut renewed_at = acquired_at;
    loop {
        let deadline = renewed_at + election.renew_deadline;
        tokio::time::sleep_until((Instant::now() + election.retry_period).min(deadline)).await;
        if Instant::now() >= deadline {
            return LeaseLost::RenewDeadline(election.renew_deadline);
        }
        let started = Instant::now();
        match tokio::time::timeout_at(deadline, try_acquire(&leases, election)).await {
            Err(_) => return LeaseLost::RenewDeadline(election.renew_deadline),
            Ok(Ok(Attempt::Held)) => renewed_at = started,
            Ok(Ok(Attempt::HeldBy { holder, .. })) => return LeaseLost::TakenBy(holder),
            Ok(Ok(Attempt::Contended)) => tracing::warn!("the leader Lease changed while renewing; retrying"),
            Ok(Err(error)) => tracing::warn!(%error, "renewing the leader Lease failed; retrying"),
        }
    }
}

/// Gives the Lease up (client-go's ReleaseOnCancel): clears the holder so a
/// standby takes it at once. Returns whether this replica held it.
pub async fn release(client: &Client, election: &LeaderElection) -> Result<bool, kube::Error> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), &election.namespace);
    let Some(mut lease) = leases.get_opt(&election.lease_name).await? else {
        return Ok(false);
    };
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    if spec.holder_identity.as_deref() != Some(election.identity.as_str()) {
        return Ok(false);
    }
    let now = MicroTime(Timestamp::now());
    spec.holder_identity = None;
    spec.lease_duration_seconds = Some(1);
    spec.renew_time = Some(now.clone());
    spec.acquire_time = Some(now);
    leases.replace(&election.lease_name, &PostParams::default(), &lease).await?;
    Ok(true)
}

/// Takes or renews the Lease when it is free, expired or ours.
pub async fn try_acquire(leases: &Api<Lease>, election: &LeaderElection) -> Result<Attempt, kube::Error> {
    let now = Timestamp::now();
    let Some(mut lease) = leases.get_opt(&election.lease_name).await? else {
        let lease = Lease {
            metadata: ObjectMeta { name: Some(election.lease_name.clone()), ..ObjectMeta::default() },
            spec: Some(LeaseSpec {
                holder_identity: Some(election.identity.clone()),
                lease_duration_seconds: Some(election.lease_duration_secs()),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        return match leases.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(Attempt::Held),
            Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(Attempt::Contended),
            Err(error) => Err(error),
        };
    };
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
    let ours = holder.as_deref() == Some(election.identity.as_str());
    if let Some(holder) = holder.as_ref().filter(|_| !ours) {
        let expires_in = time_left(spec, now);
        if !expires_in.is_zero() {
            return Ok(Attempt::HeldBy { holder: holder.clone(), expires_in });
        }
    }
    if !ours {
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        spec.holder_identity = Some(election.identity.clone());
    }
    spec.renew_time = Some(MicroTime(now));
    spec.lease_duration_seconds = Some(election.lease_duration_secs());
    // The resourceVersion in `lease` makes this fail if someone else wrote first.
    match leases.replace(&election.lease_name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(Attempt::Held),
        Err(kube::Error::Api(status)) if status.is_conflict() => Ok(Attempt::Contended),
        Err(error) => Err(error),
    }
}

/// How long until the holder's Lease expires (zero when it has, or when it
/// says nothing about its renewal).
fn time_left(spec: &LeaseSpec, now: Timestamp) -> Duration {
    let (Some(renewed), Some(secs)) = (&spec.renew_time, spec.lease_duration_seconds) else {
        return Duration::ZERO;
    };
    let expires = renewed.0 + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    if expires <= now {
        return Duration::ZERO;
    }
    expires.duration_since(now).try_into().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn election(lease: u64, deadline_ms: u64, retry_ms: u64) -> LeaderElection {
        LeaderElection {
            namespace: "default".into(),
            lease_name: "lease".into(),
            identity: "me".into(),
            lease_duration: Duration::from_secs(lease),
            renew_deadline: Duration::from_millis(deadline_ms),
            retry_period: Duration::from_millis(retry_ms),
        }
    }

    #[test]
    fn timing_must_let_the_leader_stop_before_its_lease_expires() {
        assert_eq!(election(15, 10_000, 2_000).validate(), Ok(()));
        assert!(matches!(election(3, 3_000, 500).validate(), Err(ElectionConfigError::DeadlineNotBeforeExpiry { .. })));
        assert!(matches!(
            election(3, 2_000, 2_000).validate(),
            Err(ElectionConfigError::RetryNotBeforeDeadline { .. })
        ));
        assert!(matches!(election(0, 0, 0).validate(), Err(ElectionConfigError::LeaseTooShort(_))));
    }

    #[test]
    fn a_lease_without_renewal_time_is_expired_and_one_renewed_now_is_not() {
        let now = Timestamp::now();
        assert_eq!(time_left(&LeaseSpec::default(), now), Duration::ZERO);
        let fresh =
            LeaseSpec { renew_time: Some(MicroTime(now)), lease_duration_seconds: Some(3), ..LeaseSpec::default() };
        assert_eq!(time_left(&fresh, now), Duration::from_secs(3));
        let stale = LeaseSpec {
            renew_time: Some(MicroTime(now - Duration::from_secs(4))),
            lease_duration_seconds: Some(3),
            ..LeaseSpec::default()
        };
        assert_eq!(time_left(&stale, now), Duration::ZERO);
    }
}
