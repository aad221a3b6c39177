//! Where an object lives in a tenant: the Default Microtenant, or one
//! Microtenant. The one place that knows how a scope goes on the wire.

use zpa_wire::paths::SCOPE_PARAM;

/// The Microtenant an object belongs to. CBI profile calls carry it as a
/// query parameter (see [`Scope::query_param`]); Microtenants themselves are
/// not scoped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The tenant's Default Microtenant.
    #[default]
    Default,
    /// A Microtenant, by its ZPA id. A spec may name the Default Microtenant
    /// by its id ([`Scope::DEFAULT_ID`]); that id is kept as written, and
    /// the scope goes on the wire as [`Scope::Default`] does.
    Microtenant(String),
}

impl Scope {
    /// The id of the Default Microtenant.
    pub const DEFAULT_ID: &'static str = "0";

    /// The scope a Microtenant id names, as specs and status record it
    /// (`None`: the Default Microtenant).
    pub fn from_id(id: Option<&str>) -> Self {
        id.map_or(Scope::Default, |id| Scope::Microtenant(id.to_owned()))
    }

    /// The Microtenant id as specs and status record it (`None` for [`Scope::Default`]).
    pub fn id(&self) -> Option<&str> {
        match self {
            Scope::Default => None,
            Scope::Microtenant(id) => Some(id),
        }
    }

    /// The Microtenant id, with the Default Microtenant's own: one name per
    /// scope, for keys and messages.
    pub fn key(&self) -> &str {
        self.id().unwrap_or(Self::DEFAULT_ID)
    }

    /// The query parameter a scoped call sends: `scopeId=<id>`, the Default
    /// Microtenant's included (`scopeId=0`). The seed asks every caller to
    /// pass it: without it, a read of an inheritable resource returns every
    /// Microtenant's objects, so a name lookup in the Default scope would see
    /// the other scopes' objects too.
    pub fn query_param(&self) -> (&'static str, &str) {
        (SCOPE_PARAM, self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_goes_on_the_wire_the_default_one_as_zero() {
        let cases = [
            (Scope::Default, None, "0", ("scopeId", "0")),
            (Scope::from_id(None), None, "0", ("scopeId", "0")),
            (Scope::from_id(Some("0")), Some("0"), "0", ("scopeId", "0")),
            (Scope::from_id(Some("7205")), Some("7205"), "7205", ("scopeId", "7205")),
        ];
        for (scope, id, key, param) in cases {
            assert_eq!((scope.id(), scope.key(), scope.query_param()), (id, key, param), "{scope:?}");
        }
    }
}
