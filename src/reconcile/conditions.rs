//! The status conditions: every reason the operator can report, and how a
//! new condition set is derived from the previous one (transition times move
//! only when a status flips, so an unchanged object yields an unchanged status).

use std::fmt;

use crate::crd::{Condition, READY, RECONCILING, STALLED, SYNCED};

/// Every condition reason, stable and PascalCase. The README documents each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    // Ready
    /// The remote object exists and matches the spec.
    Available,
    /// A create is in flight or about to be sent.
    Creating,
    /// An update is in flight.
    Updating,
    /// The custom resource is being deleted.
    Deleting,
    /// No remote object exists (yet).
    Unavailable,
    // Synced
    ReconcileSuccess,
    ReconcileError,
    ReconcilePaused,
    ObserveOnlyDrift,
    ReferenceNotFound,
    ReferenceNotReady,
    CreateIncomplete,
    AmbiguousName,
    AlreadyExists,
    ExternalNotFound,
    DeleteRefused,
    /// The API key belongs to a Microtenant and the object asks for another
    /// scope (or is a Microtenant): nothing is sent.
    ScopeNotPermitted,
    RateLimited,
    Unauthorized,
    InvalidSpec,
    /// ZPA refused with an error id the operator does not know, after a few
    /// tries; the message is ZPA's. Not retried faster than the backoff.
    Refused,
    CbiNotAvailable,
    /// ZPA answered with a body the operator cannot use (not JSON, cut short,
    /// wrong types, too large). Retried with backoff.
    InvalidResponse,
    InvalidCaBundle,
    TlsVerificationFailed,
    /// An operator bug (a request body it cannot build, say): nothing was
    /// sent. The message says what; a Warning event goes with it.
    Internal,
    /// The operator's own RBAC does not allow a Kubernetes call it needs.
    Forbidden,
    // ZpaProviderConfig
    SignedIn,
    /// The credentials Secret holds both a client secret and a private key.
    AmbiguousCredentials,
    /// The private key does not parse, is not RSA, or is under 2048 bits.
    InvalidPrivateKey,
    /// A private key with `auth: legacy` (only `oneapi` signs in with one).
    PrivateKeyNeedsOneApi,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Available => "Available",
            Reason::Creating => "Creating",
            Reason::Updating => "Updating",
            Reason::Deleting => "Deleting",
            Reason::Unavailable => "Unavailable",
            Reason::ReconcileSuccess => "ReconcileSuccess",
            Reason::ReconcileError => "ReconcileError",
            Reason::ReconcilePaused => "ReconcilePaused",
            Reason::ObserveOnlyDrift => "ObserveOnlyDrift",
            Reason::ReferenceNotFound => "ReferenceNotFound",
            Reason::ReferenceNotReady => "ReferenceNotReady",
            Reason::CreateIncomplete => "CreateIncomplete",
            Reason::AmbiguousName => "AmbiguousName",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::ExternalNotFound => "ExternalNotFound",
            Reason::DeleteRefused => "DeleteRefused",
            Reason::ScopeNotPermitted => "ScopeNotPermitted",
            Reason::RateLimited => "RateLimited",
            Reason::Unauthorized => "Unauthorized",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::Refused => "Refused",
            Reason::CbiNotAvailable => "CbiNotAvailable",
            Reason::InvalidResponse => "InvalidResponse",
            Reason::InvalidCaBundle => "InvalidCABundle",
            Reason::TlsVerificationFailed => "TLSVerificationFailed",
            Reason::Internal => "Internal",
            Reason::Forbidden => "Forbidden",
            Reason::SignedIn => "SignedIn",
            Reason::AmbiguousCredentials => "AmbiguousCredentials",
            Reason::InvalidPrivateKey => "InvalidPrivateKey",
            Reason::PrivateKeyNeedsOneApi => "PrivateKeyNeedsOneAPI",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one condition should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionState {
    pub status: bool,
    pub reason: Reason,
    pub message: String,
}

impl ConditionState {
    pub fn yes(reason: Reason, message: impl Into<String>) -> Self {
        Self { status: true, reason, message: message.into() }
    }

    pub fn no(reason: Reason, message: impl Into<String>) -> Self {
        Self { status: false, reason, message: message.into() }
    }
}

/// Longest condition message kept; ZPA reasons can be long.
const MAX_MESSAGE: usize = 1024;

/// The `Ready` and `Synced` conditions after this reconcile. A condition's
/// `lastTransitionTime` is carried over unless its status flipped.
pub fn next_conditions(
    previous: &[Condition],
    ready: &ConditionState,
    synced: &ConditionState,
    generation: Option<i64>,
    now: &str,
) -> Vec<Condition> {
    vec![next(previous, READY, ready, generation, now), next(previous, SYNCED, synced, generation, now)]
}

/// The condition kstatus (`sigs.k8s.io/cli-utils/pkg/kstatus`, what Flux's
/// health checks and `wait` use) reads besides `observedGeneration` and
/// `Ready`: `Stalled=True` (kstatus: Failed) when the last reconcile failed
/// and only a person can fix it (`terminal`), `Reconciling=True` (kstatus:
/// InProgress) while the operator keeps working on it (a retry, a
/// dependency, a create in flight). Neither for an object that is done:
/// in sync, observe-only drift (reported, never corrected) or paused.
pub fn kstatus_condition(
    ready: &ConditionState,
    synced: &ConditionState,
    terminal: bool,
) -> Option<(&'static str, ConditionState)> {
    let quiet = [Reason::ObserveOnlyDrift, Reason::ReconcilePaused];
    if !synced.status && !quiet.contains(&synced.reason) {
        let state = ConditionState::yes(synced.reason, synced.message.clone());
        return Some((if terminal { STALLED } else { RECONCILING }, state));
    }
    if synced.status && !ready.status {
        return Some((RECONCILING, ConditionState::yes(ready.reason, ready.message.clone())));
    }
    None
}

/// One condition of type `type_`, derived from `previous` the same way.
pub fn next(
    previous: &[Condition],
    type_: &str,
    state: &ConditionState,
    generation: Option<i64>,
    now: &str,
) -> Condition {
    let status = if state.status { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or_else(|| now.to_owned(), |c| c.last_transition_time.clone());
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: state.reason.as_str().to_owned(),
        message: truncate(&state.message, MAX_MESSAGE),
        observed_generation: generation,
        last_transition_time,
    }
}

fn truncate(message: &str, max: usize) -> String {
    if message.len() <= max {
        return message.to_owned();
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let first = next_conditions(
            &[],
            &ConditionState::no(Reason::Creating, "creating"),
            &ConditionState::yes(Reason::ReconcileSuccess, ""),
            Some(1),
            "t1",
        );
        assert_eq!(first[0].last_transition_time, "t1");

        let same_status = next_conditions(
            &first,
            &ConditionState::no(Reason::Unavailable, "other reason"),
            &ConditionState::yes(Reason::ReconcileSuccess, ""),
            Some(2),
            "t2",
        );
        assert_eq!(same_status[0].last_transition_time, "t1", "reason change alone keeps the time");
        assert_eq!(same_status[0].reason, "Unavailable");
        assert_eq!(same_status[1].observed_generation, Some(2));

        let flipped = next_conditions(
            &same_status,
            &ConditionState::yes(Reason::Available, ""),
            &ConditionState::yes(Reason::ReconcileSuccess, ""),
            Some(2),
            "t3",
        );
        assert_eq!(flipped[0].last_transition_time, "t3");
        assert_eq!(flipped[1].last_transition_time, "t1");
    }

    #[test]
    fn kstatus_conditions_say_failed_or_in_progress() {
        let ok = ConditionState::yes(Reason::ReconcileSuccess, "");
        let available = ConditionState::yes(Reason::Available, "");
        let creating = ConditionState::no(Reason::Creating, "creating in ZPA");
        let invalid = ConditionState::no(Reason::InvalidSpec, "banner is not valid");
        let waiting = ConditionState::no(Reason::ReferenceNotReady, "waiting for Microtenant a/b");
        let drift = ConditionState::no(Reason::ObserveOnlyDrift, "description: a -> b");
        let paused = ConditionState::no(Reason::ReconcilePaused, "paused");
        assert_eq!(kstatus_condition(&available, &ok, false), None, "done");
        let (type_, state) = kstatus_condition(&creating, &invalid, true).expect("stalled");
        assert_eq!((type_, state.status, state.reason), (STALLED, true, Reason::InvalidSpec));
        let (type_, state) = kstatus_condition(&creating, &waiting, false).expect("reconciling");
        assert_eq!(
            (type_, state.reason, state.message.as_str()),
            (RECONCILING, Reason::ReferenceNotReady, "waiting for Microtenant a/b")
        );
        let (type_, state) = kstatus_condition(&creating, &ok, false).expect("a create in flight");
        assert_eq!((type_, state.reason), (RECONCILING, Reason::Creating));
        assert_eq!(kstatus_condition(&available, &drift, false), None, "observe-only drift is reported, not worked on");
        assert_eq!(kstatus_condition(&creating, &paused, false), None, "paused is not in progress");
    }

    #[test]
    fn long_messages_are_truncated_on_a_char_boundary() {
        let long = "é".repeat(2000);
        let state = ConditionState::no(Reason::ReconcileError, long);
        let condition = next(&[], READY, &state, None, "t");
        assert!(condition.message.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(condition.message.ends_with('…'));
    }
}
