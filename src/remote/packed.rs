//! Remote objects as the snapshots keep them: compact JSON, compressed,
//! plus the name.
//!
//! A snapshot holds every object of a scope (thousands of CBI profiles: CBI
//! lists are not paged) for a whole resync interval, but a reconcile reads
//! one of them. Parsed, a CBI profile takes about twice the heap it takes
//! as compact JSON (wide structs of optional fields, a string per id). So
//! entries are kept packed and parsed when read, and the name is kept apart
//! for lookups by name.
//!
//! Objects of one kind in one tenant are much alike: the same keys, the
//! same region, certificate and banner ids, URLs with the same prefix. So
//! each entry is LZ4-compressed against a dictionary: the first object of
//! its kind this process packed, a typical one of the tenant. Whatever that
//! first object is, every entry unpacks to exactly what was packed; a less
//! typical one only compresses less. The sizes are in BENCHMARKS.md
//! ("Footprint").

use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

use crate::reconcile::RemoteObject;
use crate::wire::cbi::CbiProfile;
use crate::wire::mgmt::MgmtMicrotenant;
use crate::zpa::ZpaError;

/// A remote type the snapshots keep packed.
pub trait Packable: Serialize + DeserializeOwned + RemoteObject {
    /// The dictionary of this kind.
    fn dictionary() -> &'static Dictionary;
}

macro_rules! packable {
    ($($remote:ty),*) => {$(
        impl Packable for $remote {
            fn dictionary() -> &'static Dictionary {
                static DICTIONARY: Dictionary = Dictionary::new();
                &DICTIONARY
            }
        }
    )*};
}

packable!(CbiProfile, MgmtMicrotenant);

/// What the packed objects of one kind are compressed against: the compact
/// JSON of the first one packed in this process, set once, never changed.
#[derive(Debug, Default)]
pub struct Dictionary(OnceLock<Box<[u8]>>);

/// A value as compact JSON, compressed against its kind's [`Dictionary`].
#[derive(Clone)]
pub struct Compressed {
    bytes: Box<[u8]>,
    /// The length of the JSON.
    len: u32,
}

impl fmt::Debug for Compressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes as {}", self.len, self.bytes.len())
    }
}

impl Dictionary {
    pub const fn new() -> Self {
        Self(OnceLock::new())
    }

    pub fn pack<T: Serialize>(&self, value: &T) -> Result<Compressed, String> {
        let json = serde_json::to_vec(value).map_err(|e| format!("cannot encode it: {e}"))?;
        let len = u32::try_from(json.len()).map_err(|_| format!("{} bytes of JSON", json.len()))?;
        let dictionary = self.0.get_or_init(|| json.as_slice().into());
        Ok(Compressed { bytes: lz4_flex::block::compress_with_dict(&json, dictionary).into_boxed_slice(), len })
    }

    pub fn unpack<T: DeserializeOwned>(&self, packed: &Compressed) -> Result<T, String> {
        let dictionary = self.0.get().ok_or("its kind has no dictionary")?;
        let json = lz4_flex::block::decompress_with_dict(&packed.bytes, packed.len as usize, dictionary)
            .map_err(|e| format!("cannot decompress it: {e}"))?;
        serde_json::from_slice(&json).map_err(|e| format!("cannot decode it: {e}"))
    }

    /// The JSON compressed against, once set.
    #[cfg(test)]
    pub fn json(&self) -> Option<&[u8]> {
        self.0.get().map(|d| &**d)
    }
}

impl Compressed {
    /// The length of its JSON, and of its compressed form.
    pub fn sizes(&self) -> (usize, usize) {
        (self.len as usize, self.bytes.len())
    }
}

/// One remote object, packed.
pub struct Packed<T> {
    name: Box<str>,
    json: Compressed,
    kind: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Packed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packed").field("name", &self.name).field("json", &self.json).finish()
    }
}

impl<T: Packable> Packed<T> {
    pub fn pack(object: &T) -> Result<Self, ZpaError> {
        let json = T::dictionary().pack(object).map_err(|e| internal("pack", &e))?;
        Ok(Self { name: object.remote_name().into(), json, kind: PhantomData })
    }

    pub fn unpack(&self) -> Result<T, ZpaError> {
        T::dictionary().unpack(&self.json).map_err(|e| internal("unpack", &e))
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

fn internal(what: &str, error: &str) -> ZpaError {
    ZpaError::Internal { detail: format!("cannot {what} a snapshot entry: {error}") }
}

/// A list item decoded straight into its packed form, so a list of
/// thousands is never held parsed all at once: each item is parsed, packed
/// and dropped before the next.
pub struct Listed<T> {
    pub id: Option<String>,
    pub packed: Packed<T>,
}

impl<T: Packable> Listed<T> {
    pub fn new(object: &T) -> Result<Self, ZpaError> {
        Ok(Self { id: object.remote_id().map(str::to_owned), packed: Packed::pack(object)? })
    }
}

impl<'de, T: Packable> Deserialize<'de> for Listed<T> {
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

    #[test]
    fn entries_like_the_first_one_packed_take_a_fraction_of_their_json_and_unlike_ones_still_round_trip() {
        let first: CbiProfile = serde_json::from_value(serde_json::json!({
            "id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "name": "isop-00001", "description": "isolate",
            "regions": [{"id": "2d5b9c1e-7f3a-4e61-9b0d-4a8f1c2e3d01", "name": "Frankfurt"},
                        {"id": "0c2d3e4f-5a6b-4c7d-8e9f-1a2b3c4d5e04", "name": "London"}],
            "certificates": [{"id": "87122222-457f-11ed-b878-0242ac120002", "name": "Zscaler Root Certificate"}],
            "securityControls": {"copyPaste": "none", "uploadDownload": "upstream", "documentViewer": true,
                                 "watermark": {"enabled": false, "showUserId": false, "message": ""}},
            "userExperience": {"sessionPersistence": false, "browserInBrowser": false, "zgpu": false},
            "cbiUrl": "https://redirect.isolation.zscaler.com/tenant/a026427585b6/profile/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/zpa/render"
        }))
        .unwrap();
        Packed::pack(&first).unwrap();
        // Whichever object of this process set the dictionary: one like it.
        let dictionary = CbiProfile::dictionary().json().unwrap();
        let mut alike: CbiProfile = serde_json::from_slice(dictionary).unwrap();
        alike.name = "isop-04711".into();
        let packed = Packed::pack(&alike).unwrap();
        let (json, compressed) = packed.json.sizes();
        assert!(compressed * 4 < json, "{packed:?}");
        assert_eq!(serde_json::to_value(packed.unpack().unwrap()).unwrap(), serde_json::to_value(&alike).unwrap());

        let unlike: CbiProfile =
            serde_json::from_value(serde_json::json!({"name": "ünlike 🔒", "extra": [1, 2, 3]})).unwrap();
        let packed = Packed::pack(&unlike).unwrap();
        assert_eq!(serde_json::to_value(packed.unpack().unwrap()).unwrap(), serde_json::to_value(&unlike).unwrap());
    }
}
