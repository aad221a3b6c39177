//! Which remote object a custom resource stands for. Pure: the caller looks
//! up what the identity asks for (by id, or by name), this decides.

use std::time::Duration;

use super::error::ReconcileError;
use crate::crd::{Adoption, ManagementPolicy};

/// A remote object as far as identity goes.
pub trait RemoteObject {
    fn remote_id(&self) -> Option<&str>;
    fn remote_name(&self) -> &str;
}

impl RemoteObject for crate::wire::cbi::CbiProfile {
    fn remote_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn remote_name(&self) -> &str {
        &self.name
    }
}

impl RemoteObject for crate::wire::mgmt::MgmtMicrotenant {
    fn remote_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn remote_name(&self) -> &str {
        &self.name
    }
}

/// A create that was started: the marker written before the POST.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingCreate {
    /// RFC 3339.
    pub at: String,
    /// The remote name the create used.
    pub name: String,
}

/// What we know about the remote identity before looking.
#[derive(Debug, Clone, PartialEq)]
pub enum Identity {
    /// `spec.externalId`: adopt exactly this object.
    External(String),
    /// The id recorded after our own create or an adoption.
    Known(String),
    /// A create was started and its id never recorded.
    Pending { marker: PendingCreate, age: Duration },
    /// Nothing recorded.
    Fresh,
}

impl Identity {
    /// The id to look up, when the identity has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Identity::External(id) | Identity::Known(id) => Some(id),
            _ => None,
        }
    }

    /// The name to look up when the identity has no id. A fresh object is
    /// looked up even without adoption, so a name clash is reported before a
    /// doomed POST.
    pub fn lookup_name<'a>(&'a self, desired_name: &'a str) -> Option<&'a str> {
        match self {
            Identity::External(_) | Identity::Known(_) => None,
            Identity::Pending { marker, .. } => Some(&marker.name),
            Identity::Fresh => Some(desired_name),
        }
    }
}

/// What the lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found<R> {
    /// Looked up by id: the object.
    ById(R),
    /// Looked up by id, and gone: a list of its scope, taken after ZPA
    /// answered 404 for it, does not hold it (a 404 alone is no proof, and a
    /// "not mapped" answer never is). `named`: the objects of that list that
    /// carry the desired name.
    Gone { named: Vec<R> },
    /// Looked up by name: every exact (case-insensitive) match.
    ByName(Vec<R>),
}

/// The decision.
#[derive(Debug, PartialEq)]
pub enum Target<R> {
    /// Manage this object; `adopted` when its id is new to us.
    Existing { id: String, remote: R, adopted: bool },
    /// There is no remote object: create one (when allowed).
    Absent,
    /// A create may still surface; look again after this long.
    Wait(Duration),
}

/// How long after a pending create with no result we stop waiting for the
/// object to show up and treat the create as never applied.
pub const CREATE_GRACE: Duration = Duration::from_secs(30);

pub fn choose<R: RemoteObject>(
    identity: &Identity,
    found: Found<R>,
    adoption: Adoption,
    policy: ManagementPolicy,
) -> Result<Target<R>, ReconcileError> {
    let adopt_by_name = adoption == Adoption::ByName || policy == ManagementPolicy::ObserveOnly;
    match (identity, found) {
        (Identity::External(id), Found::ById(remote)) => Ok(Target::Existing { id: id.clone(), remote, adopted: true }),
        (Identity::External(id), Found::Gone { .. }) => {
            Err(ReconcileError::ExternalNotFound { what: format!("with id {id} (spec.externalId)") })
        }
        (Identity::Known(id), Found::ById(remote)) => Ok(Target::Existing { id: id.clone(), remote, adopted: false }),
        // Gone: before creating again, the name. One object of that name is
        // adopted (a create whose answer was lost, the same object made
        // again by hand); several are not guessed between.
        (Identity::Known(_), Found::Gone { mut named }) => match named.len() {
            0 => Ok(Target::Absent),
            1 => adopt(named.remove(0)),
            _ => Err(ambiguous(&named)),
        },
        (Identity::Pending { marker, age }, Found::ByName(mut matches)) => match matches.len() {
            1 => adopt(matches.remove(0)),
            0 if *age < CREATE_GRACE => Ok(Target::Wait(CREATE_GRACE - *age)),
            0 => Ok(Target::Absent),
            n => Err(ReconcileError::CreateIncomplete {
                since: marker.at.clone(),
                name: marker.name.clone(),
                matches: n,
            }),
        },
        (Identity::Fresh, Found::ByName(mut matches)) => match (matches.len(), adopt_by_name) {
            (0, _) => Ok(Target::Absent),
            (1, true) => adopt(matches.remove(0)),
            (_, true) => Err(ambiguous(&matches)),
            (_, false) => Err(ReconcileError::AlreadyExists {
                name: matches[0].remote_name().to_owned(),
                id: matches[0].remote_id().map(str::to_owned),
            }),
        },
        (identity, _) => Err(ReconcileError::Internal {
            message: format!(
                "a lookup by {} for identity {identity:?}",
                if identity.id().is_some() { "name" } else { "id" }
            ),
        }),
    }
}

/// Several objects of one name, none of them chosen.
fn ambiguous<R: RemoteObject>(matches: &[R]) -> ReconcileError {
    ReconcileError::AmbiguousName {
        name: matches.first().map(|m| m.remote_name().to_owned()).unwrap_or_default(),
        ids: matches.iter().filter_map(|m| m.remote_id().map(str::to_owned)).collect(),
    }
}

fn adopt<R: RemoteObject>(remote: R) -> Result<Target<R>, ReconcileError> {
    match remote.remote_id() {
        Some(id) => Ok(Target::Existing { id: id.to_owned(), remote, adopted: true }),
        // Snapshots hold only objects with an id: one without is our bug.
        None => Err(ReconcileError::Internal {
            message: format!("remote object {:?} to adopt has no id", remote.remote_name()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::conditions::Reason;
    use crate::wire::mgmt::MgmtMicrotenant;

    fn mt(id: &str, name: &str) -> MgmtMicrotenant {
        MgmtMicrotenant { id: Some(id.into()), name: name.into(), ..Default::default() }
    }

    fn pending(age_secs: u64) -> Identity {
        Identity::Pending {
            marker: PendingCreate { at: "2026-01-01T00:00:00Z".into(), name: "a".into() },
            age: Duration::from_secs(age_secs),
        }
    }

    /// The decision, reduced to what the table compares.
    #[derive(Debug, PartialEq)]
    enum Want {
        Existing(String, bool),
        Absent,
        Wait,
        Error(Reason),
    }

    impl From<Result<Target<MgmtMicrotenant>, ReconcileError>> for Want {
        fn from(result: Result<Target<MgmtMicrotenant>, ReconcileError>) -> Self {
            match result {
                Ok(Target::Existing { id, adopted, .. }) => Want::Existing(id, adopted),
                Ok(Target::Absent) => Want::Absent,
                Ok(Target::Wait(_)) => Want::Wait,
                Err(error) => Want::Error(error.reason()),
            }
        }
    }

    fn existing(id: &str, adopted: bool) -> Want {
        Want::Existing(id.to_owned(), adopted)
    }

    struct Case {
        name: &'static str,
        identity: Identity,
        found: Found<MgmtMicrotenant>,
        adoption: Adoption,
        policy: ManagementPolicy,
        want: Want,
    }

    fn case(
        name: &'static str,
        identity: Identity,
        found: Found<MgmtMicrotenant>,
        adoption: Adoption,
        want: Want,
    ) -> Case {
        Case { name, identity, found, adoption, policy: ManagementPolicy::Manage, want }
    }

    #[test]
    fn identity_decision_table() {
        use Adoption::*;
        let known = || Identity::Known("1".into());
        let external = || Identity::External("1".into());
        let cases = vec![
            case("external found", external(), Found::ById(mt("1", "a")), Never, existing("1", true)),
            case(
                "external gone",
                external(),
                Found::Gone { named: vec![mt("2", "a")] },
                ByName,
                Want::Error(Reason::ExternalNotFound),
            ),
            case("known found", known(), Found::ById(mt("1", "a")), Never, existing("1", false)),
            case("known gone, nothing of its name", known(), Found::Gone { named: vec![] }, Never, Want::Absent),
            case(
                "known gone, one of its name: adopted, not created",
                known(),
                Found::Gone { named: vec![mt("9", "a")] },
                Never,
                existing("9", true),
            ),
            case(
                "known gone, two of its name",
                known(),
                Found::Gone { named: vec![mt("8", "a"), mt("9", "A")] },
                ByName,
                Want::Error(Reason::AmbiguousName),
            ),
            case("pending, one match", pending(5), Found::ByName(vec![mt("9", "a")]), Never, existing("9", true)),
            case("pending, none yet", pending(5), Found::ByName(vec![]), Never, Want::Wait),
            case("pending, none after grace", pending(31), Found::ByName(vec![]), Never, Want::Absent),
            case(
                "pending, two",
                pending(5),
                Found::ByName(vec![mt("1", "a"), mt("2", "A")]),
                Never,
                Want::Error(Reason::CreateIncomplete),
            ),
            case("fresh, nothing", Identity::Fresh, Found::ByName(vec![]), Never, Want::Absent),
            case(
                "fresh, clash",
                Identity::Fresh,
                Found::ByName(vec![mt("1", "a")]),
                Never,
                Want::Error(Reason::AlreadyExists),
            ),
            case(
                "fresh, adopt by name",
                Identity::Fresh,
                Found::ByName(vec![mt("1", "a")]),
                ByName,
                existing("1", true),
            ),
            case(
                "fresh, ambiguous",
                Identity::Fresh,
                Found::ByName(vec![mt("1", "a"), mt("2", "a")]),
                ByName,
                Want::Error(Reason::AmbiguousName),
            ),
            Case {
                policy: ManagementPolicy::ObserveOnly,
                ..case(
                    "observe-only adopts by name",
                    Identity::Fresh,
                    Found::ByName(vec![mt("1", "a")]),
                    Never,
                    existing("1", true),
                )
            },
        ];
        for Case { name, identity, found, adoption, policy, want } in cases {
            assert_eq!(Want::from(choose(&identity, found, adoption, policy)), want, "{name}");
        }
    }
}
