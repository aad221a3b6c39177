//! Which Microtenant scope an object is read and written in: the one its
//! spec asks for, as the API key allows. Pure.
//!
//! An API key belongs to the Default Microtenant or to one Microtenant
//! (`GET /mgmtconfig/v1/admin/me` names it). The seed: "If you are within a
//! Microtenant, you must pass the microtenantId field when making an API call
//! to retrieve data from that Microtenant"; creating and changing Microtenants
//! "is only supported for Default Microtenant admins". So:
//!
//! | key | object asks for | works in |
//! |---|---|---|
//! | Default | any scope | that scope (none named: Default) |
//! | Microtenant `m` | no scope | `m` |
//! | Microtenant `m` | `m` | `m` |
//! | Microtenant `m` | another scope, `"0"` included | refused: `ScopeNotPermitted`, no call made |
//! | Microtenant `m` | a `Microtenant` resource | refused: `ScopeNotPermitted`, no call made |
//!
//! ZPA would answer the refused cases 403 (the simulator does), which the
//! client reads as `Unauthorized`, a message about credentials that are fine.

use super::error::ReconcileError;
use crate::zpa::Scope;

/// The scope an API key works in, from `/me`'s `microtenantId`: none (or the
/// Default Microtenant's own id) is a key of the Default Microtenant.
pub fn key_scope(me_microtenant_id: Option<&str>) -> Scope {
    match me_microtenant_id.map(str::trim) {
        None | Some("") | Some(Scope::DEFAULT_ID) => Scope::Default,
        Some(id) => Scope::Microtenant(id.to_owned()),
    }
}

/// The scope a CBI profile that asks for `asked` lives in with a key of
/// `key`: the key's Microtenant when the profile names none.
pub fn profile_scope(asked: &Scope, key: &Scope) -> Result<Scope, ReconcileError> {
    let Scope::Microtenant(bound) = key else {
        return Ok(asked.clone());
    };
    match asked {
        Scope::Default => Ok(key.clone()),
        Scope::Microtenant(id) if id.trim() == bound => Ok(key.clone()),
        Scope::Microtenant(id) => Err(ReconcileError::ScopeNotPermitted {
            message: format!(
                "the provider config's API key belongs to Microtenant {bound} (GET /me) and works in that \
                 Microtenant only; this profile asks for scope {id} (spec.microtenantRef or spec.microtenantId). \
                 Scope it to Microtenant {bound}, or use a ZpaProviderConfig whose key belongs to the Default \
                 Microtenant"
            ),
        }),
    }
}

/// Microtenants are managed by Default Microtenant admins only.
pub fn microtenant_admin(key: &Scope) -> Result<(), ReconcileError> {
    match key {
        Scope::Default => Ok(()),
        Scope::Microtenant(bound) => Err(ReconcileError::ScopeNotPermitted {
            message: format!(
                "the provider config's API key belongs to Microtenant {bound} (GET /me); only Default \
                 Microtenant admins manage Microtenants. Use a ZpaProviderConfig whose key belongs to the \
                 Default Microtenant"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::Reason;

    #[test]
    fn a_key_bound_to_a_microtenant_works_there_only() {
        let default = Scope::Default;
        let bound = Scope::Microtenant("7".into());
        let asked = |id: Option<&str>| Scope::from_id(id);
        let cases = [
            ("default key, no scope", &default, asked(None), Ok(Scope::Default)),
            ("default key, scope 0", &default, asked(Some("0")), Ok(asked(Some("0")))),
            ("default key, a Microtenant", &default, asked(Some("9")), Ok(asked(Some("9")))),
            ("bound key, no scope", &bound, asked(None), Ok(bound.clone())),
            ("bound key, its own", &bound, asked(Some("7")), Ok(bound.clone())),
            ("bound key, another", &bound, asked(Some("9")), Err(Reason::ScopeNotPermitted)),
            ("bound key, Default by id", &bound, asked(Some("0")), Err(Reason::ScopeNotPermitted)),
        ];
        for (name, key, asked, want) in cases {
            assert_eq!(profile_scope(&asked, key).map_err(|e| e.reason()), want, "{name}");
        }
        let refused = profile_scope(&asked(Some("9")), &bound).unwrap_err().to_string();
        assert!(refused.contains("Microtenant 7") && refused.contains("scope 9"), "{refused}");
        assert!(microtenant_admin(&default).is_ok());
        assert_eq!(microtenant_admin(&bound).map_err(|e| e.reason()), Err(Reason::ScopeNotPermitted));
    }

    #[test]
    fn me_names_the_key_scope() {
        assert_eq!(key_scope(None), Scope::Default);
        assert_eq!(key_scope(Some("")), Scope::Default);
        assert_eq!(key_scope(Some("0")), Scope::Default);
        assert_eq!(key_scope(Some("72057594038621068")), Scope::Microtenant("72057594038621068".into()));
    }
}
