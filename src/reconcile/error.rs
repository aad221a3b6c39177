//! Why a reconcile did not finish, each with its stable condition reason,
//! whether waiting alone can fix it, and whose move it is.

use std::time::Duration;

use super::conditions::Reason;
use crate::zpa::{Fault, ZpaError};

/// The least time between two deletes ZPA refused with an error id the
/// operator does not know (the object's backoff takes it on to 5 minutes).
pub const UNKNOWN_DELETE_REFUSAL_RETRY: Duration = Duration::from_secs(60);

/// Whose move it is to fix an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The author of the custom resource: its spec, or what it names (a
    /// Secret, a Microtenant, a region, the provider config and its credentials).
    User,
    /// ZPA: it refused, failed, throttled or answered something unusable.
    Zpa,
    /// The Kubernetes cluster: a call to its API failed.
    Cluster,
    /// The operator itself: a bug (see [`ReconcileError::Internal`]).
    Operator,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Something the spec names does not exist: a Secret, a Microtenant, a
    /// region/certificate/banner name, the provider config.
    #[error("{what} not found")]
    ReferenceNotFound { what: String },

    /// A referenced object exists but is not usable yet (a Microtenant without an id).
    #[error("waiting for {what}")]
    ReferenceNotReady { what: String },

    /// The spec cannot be applied as written (including ZPA refusing it as invalid).
    #[error("{message}")]
    InvalidSpec { message: String },

    /// The provider config's credentials Secret holds both a client secret
    /// and a private key. Nothing was sent to ZPA.
    #[error("{message}")]
    AmbiguousCredentials { message: String },

    /// The provider config's private key cannot be used: it does not parse,
    /// is not RSA, or is under 2048 bits. The message names the Secret and
    /// key and says why, never the content. Nothing was sent to ZPA.
    #[error("{message}")]
    InvalidPrivateKey { message: String },

    /// A private key in the credentials Secret of a provider config whose
    /// `auth` is not `oneapi` (legacy sign-in takes a secret only). Nothing
    /// was sent to ZPA.
    #[error("{message}")]
    PrivateKeyNeedsOneApi { message: String },

    /// A create was started but its result was never recorded, and ZPA shows
    /// no single object it could have been.
    #[error(
        "a create started at {since} was not recorded and {matches} remote objects are named {name:?}; \
         set spec.externalId to the right one, or remove the zpa.operator.dev/create-pending annotation to create anew"
    )]
    CreateIncomplete { since: String, name: String, matches: usize },

    /// Adoption by name found several candidates.
    #[error("{} remote objects are named {name:?} ({}); set spec.externalId to choose one", ids.len(), ids.join(", "))]
    AmbiguousName { name: String, ids: Vec<String> },

    /// Creating would duplicate a remote object nobody asked to adopt.
    #[error(
        "a remote object named {name:?} already exists{}; set spec.adoption: ByName or spec.externalId to manage it",
        id.as_ref().map(|id| format!(" (id {id})")).unwrap_or_default()
    )]
    AlreadyExists { name: String, id: Option<String> },

    /// `externalId` (or, for ObserveOnly, the name) points at nothing.
    #[error("no remote object {what}")]
    ExternalNotFound { what: String },

    /// The provider config's API key belongs to a Microtenant and the object
    /// asks for another scope, or is a Microtenant (see `reconcile::scope`).
    /// Nothing was sent to ZPA.
    #[error("{message}")]
    ScopeNotPermitted { message: String },

    /// ZPA refused to delete the remote object (`refusal` is ZPA's error id,
    /// `reason` its words). The custom resource and its finalizer stay until
    /// ZPA deletes the object, or `deletionPolicy: Orphan` lets it go: a
    /// resource never disappears while its ZPA object silently stays.
    /// `unknown`: a refusal id the operator does not know (the client tried
    /// it a few times already); it is tried again no faster than
    /// [`UNKNOWN_DELETE_REFUSAL_RETRY`].
    #[error(
        "ZPA refused to delete {id} ({refusal}): {reason}. {}The resource stays until ZPA deletes the object: \
         remove what holds it, or set spec.deletionPolicy: Orphan to let the resource go and keep the ZPA object",
        if *unknown { "The operator does not know this refusal and tries again every few minutes. " } else { "" }
    )]
    DeleteRefused { id: String, refusal: String, reason: String, unknown: bool },

    /// An operator bug: something the operator builds or keeps itself is not
    /// what it must be (a request body it cannot encode, a decision it cannot
    /// take). Nothing was sent to ZPA.
    #[error("internal error (an operator bug; nothing was sent to ZPA): {message}")]
    Internal { message: String },

    #[error(transparent)]
    Zpa(#[from] ZpaError),

    /// The operator's own RBAC does not allow a call it needs.
    #[error(
        "the operator is not allowed to {operation}: {message}; grant it in the operator's RBAC \
         (the Helm chart's Role/ClusterRole)"
    )]
    Forbidden { operation: &'static str, message: String },

    #[error("Kubernetes API call {operation} failed: {source}")]
    Kubernetes {
        operation: &'static str,
        #[source]
        source: kube::Error,
    },
}

impl ReconcileError {
    /// A failed Kubernetes call; a 403 is the operator's RBAC, said as such.
    pub fn kubernetes(operation: &'static str) -> impl FnOnce(kube::Error) -> Self {
        move |source| match source {
            kube::Error::Api(status) if status.code == 403 => {
                ReconcileError::Forbidden { operation, message: status.message.clone() }
            }
            source => ReconcileError::Kubernetes { operation, source },
        }
    }

    /// The `Synced` condition reason.
    pub fn reason(&self) -> Reason {
        match self {
            ReconcileError::ReferenceNotFound { .. } => Reason::ReferenceNotFound,
            ReconcileError::ReferenceNotReady { .. } => Reason::ReferenceNotReady,
            ReconcileError::InvalidSpec { .. } => Reason::InvalidSpec,
            ReconcileError::AmbiguousCredentials { .. } => Reason::AmbiguousCredentials,
            ReconcileError::InvalidPrivateKey { .. } => Reason::InvalidPrivateKey,
            ReconcileError::PrivateKeyNeedsOneApi { .. } => Reason::PrivateKeyNeedsOneApi,
            ReconcileError::CreateIncomplete { .. } => Reason::CreateIncomplete,
            ReconcileError::AmbiguousName { .. } => Reason::AmbiguousName,
            ReconcileError::AlreadyExists { .. } => Reason::AlreadyExists,
            ReconcileError::ExternalNotFound { .. } => Reason::ExternalNotFound,
            ReconcileError::DeleteRefused { .. } => Reason::DeleteRefused,
            ReconcileError::ScopeNotPermitted { .. } => Reason::ScopeNotPermitted,
            ReconcileError::Internal { .. } => Reason::Internal,
            ReconcileError::Zpa(error) => match error {
                ZpaError::RateLimited { .. } => Reason::RateLimited,
                ZpaError::Unauthorized { .. } => Reason::Unauthorized,
                ZpaError::Invalid { .. } => Reason::InvalidSpec,
                ZpaError::Refused { .. } => Reason::Refused,
                ZpaError::Duplicate { .. } => Reason::AlreadyExists,
                ZpaError::CbiNotAvailable { .. } => Reason::CbiNotAvailable,
                ZpaError::InvalidResponse { .. } => Reason::InvalidResponse,
                ZpaError::InvalidCaBundle { .. } => Reason::InvalidCaBundle,
                ZpaError::TlsVerificationFailed { .. } => Reason::TlsVerificationFailed,
                ZpaError::Internal { .. } => Reason::Internal,
                _ => Reason::ReconcileError,
            },
            ReconcileError::Forbidden { .. } => Reason::Forbidden,
            ReconcileError::Kubernetes { .. } => Reason::ReconcileError,
        }
    }

    /// Whose move it is.
    pub fn owner(&self) -> Owner {
        match self {
            ReconcileError::ReferenceNotFound { .. }
            | ReconcileError::ReferenceNotReady { .. }
            | ReconcileError::InvalidSpec { .. }
            | ReconcileError::AmbiguousCredentials { .. }
            | ReconcileError::InvalidPrivateKey { .. }
            | ReconcileError::PrivateKeyNeedsOneApi { .. }
            | ReconcileError::CreateIncomplete { .. }
            | ReconcileError::AmbiguousName { .. }
            | ReconcileError::AlreadyExists { .. }
            | ReconcileError::ExternalNotFound { .. }
            | ReconcileError::ScopeNotPermitted { .. } => Owner::User,
            ReconcileError::DeleteRefused { .. } => Owner::Zpa,
            ReconcileError::Internal { .. } => Owner::Operator,
            ReconcileError::Kubernetes { .. } | ReconcileError::Forbidden { .. } => Owner::Cluster,
            ReconcileError::Zpa(error) => match error.fault() {
                Fault::Caller => Owner::User,
                Fault::Service => Owner::Zpa,
                Fault::Internal => Owner::Operator,
            },
        }
    }

    /// Whether retrying with backoff can succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            ReconcileError::Zpa(error) => error.is_retryable(),
            // A permission granted later is picked up by the next try.
            ReconcileError::Kubernetes { .. }
            | ReconcileError::Forbidden { .. }
            | ReconcileError::ReferenceNotReady { .. } => true,
            // ZPA may release the object (e.g. once a Microtenant's profiles are gone).
            ReconcileError::DeleteRefused { .. } => true,
            _ => false,
        }
    }

    /// The least to wait before trying again: what the server said, or, for
    /// a delete refused in a way nobody here knows, a slow pace.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ReconcileError::Zpa(ZpaError::RateLimited { retry_after }) => Some(*retry_after),
            ReconcileError::DeleteRefused { unknown: true, .. } => Some(UNKNOWN_DELETE_REFUSAL_RETRY),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_retryability_and_owners() {
        use Owner::*;
        let zpa = ReconcileError::Zpa;
        let cases: Vec<(ReconcileError, Reason, bool, Owner)> = vec![
            (ReconcileError::ReferenceNotFound { what: "Secret a/b".into() }, Reason::ReferenceNotFound, false, User),
            (ReconcileError::ReferenceNotReady { what: "Microtenant a".into() }, Reason::ReferenceNotReady, true, User),
            (ReconcileError::InvalidSpec { message: "x".into() }, Reason::InvalidSpec, false, User),
            (
                ReconcileError::CreateIncomplete { since: "t".into(), name: "n".into(), matches: 2 },
                Reason::CreateIncomplete,
                false,
                User,
            ),
            (ReconcileError::ScopeNotPermitted { message: "x".into() }, Reason::ScopeNotPermitted, false, User),
            (ReconcileError::AmbiguousCredentials { message: "x".into() }, Reason::AmbiguousCredentials, false, User),
            (ReconcileError::InvalidPrivateKey { message: "x".into() }, Reason::InvalidPrivateKey, false, User),
            (ReconcileError::PrivateKeyNeedsOneApi { message: "x".into() }, Reason::PrivateKeyNeedsOneApi, false, User),
            (zpa(ZpaError::RateLimited { retry_after: Duration::from_secs(13) }), Reason::RateLimited, true, Zpa),
            (zpa(ZpaError::Unauthorized { reason: "no".into() }), Reason::Unauthorized, false, User),
            (
                zpa(ZpaError::Invalid { status: 400, id: "i".into(), reason: "r".into(), params: vec![] }),
                Reason::InvalidSpec,
                false,
                User,
            ),
            (zpa(ZpaError::Transient { detail: "503".into() }), Reason::ReconcileError, true, Zpa),
            (zpa(ZpaError::Duplicate { reason: "dup".into() }), Reason::AlreadyExists, false, User),
            (
                zpa(ZpaError::Refused {
                    status: 400,
                    id: "some.new.refusal".into(),
                    reason: "ZPA says no".into(),
                    params: vec![],
                }),
                Reason::Refused,
                false,
                User,
            ),
            (zpa(ZpaError::CbiNotAvailable { reason: "zpnCbiMapping".into() }), Reason::CbiNotAvailable, true, Zpa),
            (
                ReconcileError::DeleteRefused {
                    id: "1".into(),
                    refusal: "resource.in.use".into(),
                    reason: "in use".into(),
                    unknown: false,
                },
                Reason::DeleteRefused,
                true,
                Zpa,
            ),
            (
                zpa(ZpaError::InvalidResponse { operation: "profiles.list", detail: "the body is cut short".into() }),
                Reason::InvalidResponse,
                true,
                Zpa,
            ),
            (ReconcileError::Internal { message: "cannot build a body".into() }, Reason::Internal, false, Operator),
            (
                ReconcileError::kubernetes("patch Microtenant status")(kube::Error::Api(Box::new(
                    kube::core::Status {
                        code: 403,
                        message: "microtenants.zpa.operator.dev \"a\" is forbidden".into(),
                        ..kube::core::Status::default()
                    },
                ))),
                Reason::Forbidden,
                true,
                Cluster,
            ),
            (zpa(ZpaError::Internal { detail: "cannot encode".into() }), Reason::Internal, false, Operator),
        ];
        for (error, reason, retryable, owner) in cases {
            assert_eq!(error.reason(), reason, "{error}");
            assert_eq!(error.is_retryable(), retryable, "{error}");
            assert_eq!(error.owner(), owner, "{error}");
        }
    }

    /// A delete refused with an id nobody here knows keeps the resource, says
    /// ZPA's words and what to do, and is not tried again within a minute.
    #[test]
    fn an_unknown_delete_refusal_is_slow_and_says_what_to_do() {
        let refused = |unknown| ReconcileError::DeleteRefused {
            id: "7".into(),
            refusal: "some.new.refusal".into(),
            reason: "ZPA says no".into(),
            unknown,
        };
        let unknown = refused(true);
        let message = unknown.to_string();
        for fragment in ["(some.new.refusal): ZPA says no", "does not know this refusal", "deletionPolicy: Orphan"] {
            assert!(message.contains(fragment), "{message}");
        }
        assert_eq!(unknown.retry_after(), Some(UNKNOWN_DELETE_REFUSAL_RETRY));
        assert_eq!(refused(false).retry_after(), None, "a known refusal backs off from 1 s");
        assert!(!refused(false).to_string().contains("does not know"));
    }

    #[test]
    fn messages_say_what_to_do() {
        let ambiguous = ReconcileError::AmbiguousName { name: "p".into(), ids: vec!["a".into(), "b".into()] };
        assert_eq!(ambiguous.to_string(), "2 remote objects are named \"p\" (a, b); set spec.externalId to choose one");
        let exists = ReconcileError::AlreadyExists { name: "p".into(), id: Some("7".into()) };
        assert!(exists.to_string().contains("(id 7); set spec.adoption: ByName"));
    }
}
