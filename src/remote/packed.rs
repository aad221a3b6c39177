//! Remote objects as the snapshots keep them: compact JSON plus the name.
//!
//! A snapshot holds every object of a scope (thousands of CBI profiles: CBI
//! lists are not paged) for a whole resync interval, but a reconcile reads
//! one of them. Parsed, a CBI profile takes about twice the heap it takes
//! as compact JSON (wide structs of optional fields, a string per id; the
//! sizes and the run that measured them are in BENCHMARKS.md, "Earlier
//! rounds", footprint).
//! So entries are kept packed and parsed when read, and the name is kept
//! apart for lookups by name.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

use crate::reconcile::RemoteObject;
use crate::zpa::ZpaError;

/// One remote object, packed.
pub struct Packed<T> {
    name: Box<str>,
    json: Box<[u8]>,
    kind: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Packed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packed").field("name", &self.name).field("bytes", &self.json.len()).finish()
    }
}

impl<T: Serialize + DeserializeOwned + RemoteObject> Packed<T> {
    pub fn pack(object: &T) -> Result<Self, ZpaError> {
        let json = serde_json::to_vec(object).map_err(|e| internal("pack", &e))?;
        Ok(Self { name: object.remote_name().into(), json: json.into_boxed_slice(), kind: PhantomData })
    }

    pub fn unpack(&self) -> Result<T, ZpaError> {
        serde_json::from_slice(&self.json).map_err(|e| internal("unpack", &e))
    }

    /// The remote display name, as ZPA has it.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<T> super::snapshot::Named for Packed<T> {
    fn name(&self) -> &str {
        &self.name
    }
}

fn internal(what: &str, error: &serde_json::Error) -> ZpaError {
    ZpaError::Internal { detail: format!("cannot {what} a snapshot entry: {error}") }
}

/// A list item decoded straight into its packed form, so a list of
/// thousands is never held parsed all at once: each item is parsed, packed
/// and dropped before the next.
pub struct Listed<T> {
    pub id: Option<String>,
    pub packed: Packed<T>,
}

impl<T: Serialize + DeserializeOwned + RemoteObject> Listed<T> {
    pub fn new(object: &T) -> Result<Self, ZpaError> {
        Ok(Self { id: object.remote_id().map(str::to_owned), packed: Packed::pack(object)? })
    }
}

impl<'de, T: Serialize + DeserializeOwned + RemoteObject> Deserialize<'de> for Listed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(&T::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::cbi::CbiProfile;

    #[test]
    fn a_profile_round_trips_through_its_packed_form_and_a_list_decodes_item_by_item() {
        let listed: Vec<Listed<CbiProfile>> = serde_json::from_str(
            r#"[{"id":"a","name":"Web","regions":[{"id":"r1","name":"Frankfurt"}],"creationTime":1700000000,
                "securityControls":{"copyPaste":"all","watermark":{"enabled":true}},"unknownField":{"kept":true}},
               {"name":"no id yet"}]"#,
        )
        .unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].id.as_deref(), listed[0].packed.name()), (Some("a"), "Web"));
        assert_eq!((listed[1].id.as_deref(), listed[1].packed.name()), (None, "no id yet"));
        let profile = listed[0].packed.unpack().unwrap();
        assert_eq!(profile.effective_region_ids(), vec!["r1"]);
        assert_eq!(profile.creation_time.as_deref(), Some("1700000000"));
        assert!(profile.extra.contains_key("unknownField"), "fields the operator does not model survive");
        let again = Packed::pack(&profile).unwrap().unpack().unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&profile).unwrap());
    }
}
