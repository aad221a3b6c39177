//! Property tests of every ZPA wire type the client decodes, fed hostile
//! input: arbitrary bytes, truncations of valid documents, type swaps
//! (numbers as strings and back, null, arrays for objects), unknown enum
//! values and deep nesting. The client decodes with `serde_json::from_slice`
//! into exactly these types, so these are its decoders.
//!
//! Properties: decoding never panics; a valid document decodes and survives
//! a round trip (unicode included); a cut-short one is an error; a swapped
//! field is an error exactly where the field's type is strict.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use zpa_operator::crd::{IsolationProfileSpec, MicrotenantSpec};
use zpa_operator::reconcile::isolation_profile::{DesiredProfile, IsolationProfileKind, ResolvedReferences};
use zpa_operator::reconcile::microtenant::{DesiredMicrotenant, MicrotenantKind};
use zpa_operator::wire::auth::TokenResponse;
use zpa_operator::wire::cbi::{CbiBanner, CbiCertificate, CbiProfile, CbiRegion, ZpaProfile};
use zpa_operator::wire::error::ApiErrorBody;
use zpa_operator::wire::mgmt::{AuthDomains, Me, MgmtIsolationProfile, MgmtMicrotenant, MicrotenantSummary};
use zpa_operator::wire::{IdOnly, Page};

/// Decodes, then re-encodes what was decoded (so results can be compared whatever the type).
type Codec = fn(&[u8]) -> Result<Value, String>;

fn codec<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<Value, String> {
    let decoded: T = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    serde_json::to_value(&decoded).map_err(|e| format!("re-encoding failed: {e}"))
}

/// How a field's type reacts to a swapped value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `Option<String>`: text or null.
    OptText,
    /// `String` (required or defaulted): text only.
    Text,
    /// `Option<bool>`.
    Flag,
    /// Text that may arrive as a number (times, `priority`): anything goes.
    Lenient,
    /// `totalPages`: a whole number, as text or not, or null.
    Count,
    /// `Option<u64>` counts that are only informational: anything goes.
    OptCount,
    /// `Option<Vec<_>>`.
    OptList,
    /// `Vec<_>`: an array only.
    List,
    /// `Option<struct>` whose fields are all optional.
    OptStruct,
    /// `Option<struct>` with a required `id`.
    OptRef,
}

/// Replacement values for a field.
#[derive(Debug, Clone)]
enum Swap {
    Whole(u64),
    NegativeOrFraction(f64),
    NumericText(u64),
    Word(String),
    Bool(bool),
    Null,
    EmptyArray,
    EmptyObject,
}

impl Swap {
    fn value(&self) -> Value {
        match self {
            Swap::Whole(n) => json!(n),
            Swap::NegativeOrFraction(f) => json!(f),
            Swap::NumericText(n) => json!(n.to_string()),
            Swap::Word(w) => json!(w),
            Swap::Bool(b) => json!(b),
            Swap::Null => Value::Null,
            Swap::EmptyArray => json!([]),
            Swap::EmptyObject => json!({}),
        }
    }

    /// Whether a field of `kind` must accept this value.
    fn accepted_by(&self, kind: Kind) -> bool {
        use Swap::*;
        match kind {
            Kind::OptText => matches!(self, NumericText(_) | Word(_) | Null),
            Kind::Text => matches!(self, NumericText(_) | Word(_)),
            Kind::Flag => matches!(self, Bool(_) | Null),
            Kind::Lenient | Kind::OptCount => true,
            Kind::Count => matches!(self, Whole(_) | NumericText(_) | Null),
            Kind::OptList => matches!(self, EmptyArray | Null),
            Kind::List => matches!(self, EmptyArray),
            Kind::OptStruct => matches!(self, EmptyObject | Null),
            Kind::OptRef => matches!(self, Null),
        }
    }
}

fn swap() -> impl Strategy<Value = Swap> {
    prop_oneof![
        any::<u64>().prop_map(Swap::Whole),
        prop_oneof![(-1.0e12..-1.0f64), (0.01..0.99f64)].prop_map(Swap::NegativeOrFraction),
        any::<u64>().prop_map(Swap::NumericText),
        "[a-zA-Z][a-zA-Z ]{0,10}".prop_map(Swap::Word),
        any::<bool>().prop_map(Swap::Bool),
        Just(Swap::Null),
        Just(Swap::EmptyArray),
        Just(Swap::EmptyObject),
    ]
}

// ---- valid documents ----

/// Any printable text, unicode included.
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{1,19}", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"]
}

/// Epoch times as ZPA sends them: text, sometimes a number.
fn time() -> impl Strategy<Value = Value> {
    prop_oneof![any::<u32>().prop_map(|n| json!(n.to_string())), any::<u32>().prop_map(|n| json!(n))]
}

/// Unknown fields of any JSON shape, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec(("[a-z]{1,6}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn extra() -> impl Strategy<Value = Map<String, Value>> {
    vec(("future[A-Z][a-z]{1,6}", any_json()), 0..3).prop_map(|kv| kv.into_iter().collect())
}

/// Builds an object from the fields that are `Some`, plus unknown ones.
fn object(fields: Vec<(&str, Option<Value>)>, extra: Map<String, Value>) -> Value {
    let mut map: Map<String, Value> = extra;
    for (key, value) in fields {
        if let Some(value) = value {
            map.insert(key.to_owned(), value);
        }
    }
    Value::Object(map)
}

fn named_ref() -> impl Strategy<Value = Value> {
    (id(), option::of(text()))
        .prop_map(|(id, name)| object(vec![("id", Some(json!(id))), ("name", name.map(Value::from))], Map::new()))
}

/// Known and unknown enum values alike.
fn enum_text(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![proptest::sample::select(known).prop_map(str::to_owned), "[a-zA-Z]{1,12}"]
}

fn security_controls() -> impl Strategy<Value = Value> {
    (
        option::of(enum_text(&["none", "all"])),
        option::of(enum_text(&["none", "all", "upstream"])),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        extra(),
    )
        .prop_map(|(copy, upload, pdf, print, extra)| {
            object(
                vec![
                    ("copyPaste", copy.map(Value::from)),
                    ("uploadDownload", upload.map(Value::from)),
                    ("flattenedPdf", pdf.map(Value::from)),
                    ("allowPrinting", print.map(Value::from)),
                ],
                extra,
            )
        })
}

fn cbi_profile() -> impl Strategy<Value = Value> {
    (
        (option::of(id()), text(), option::of(text()), option::of(any::<bool>()), option::of(any::<bool>())),
        (option::of(vec(id(), 0..4)), option::of(vec(named_ref(), 0..4)), option::of(named_ref())),
        (option::of(security_controls()), option::of(time()), option::of(time()), extra()),
    )
        .prop_map(
            |((id, name, description, enabled, default), (region_ids, regions, banner), (sc, ct, mt, extra))| {
                object(
                    vec![
                        ("id", id.map(Value::from)),
                        ("name", Some(json!(name))),
                        ("description", description.map(Value::from)),
                        ("enabled", enabled.map(Value::from)),
                        ("isDefault", default.map(Value::from)),
                        ("regionIds", region_ids.map(|v| json!(v))),
                        ("regions", regions.map(Value::Array)),
                        ("banner", banner),
                        ("securityControls", sc),
                        ("creationTime", ct),
                        ("modifiedTime", mt),
                    ],
                    extra,
                )
            },
        )
}

fn region() -> impl Strategy<Value = Value> {
    (id(), text()).prop_map(|(id, name)| json!({"id": id, "name": name}))
}

fn certificate() -> impl Strategy<Value = Value> {
    (id(), text(), option::of(text()), option::of(any::<bool>()), extra()).prop_map(
        |(id, name, pem, default, extra)| {
            object(
                vec![
                    ("id", Some(json!(id))),
                    ("name", Some(json!(name))),
                    ("pem", pem.map(Value::from)),
                    ("isDefault", default.map(Value::from)),
                ],
                extra,
            )
        },
    )
}

fn banner() -> impl Strategy<Value = Value> {
    (id(), text(), option::of("#[0-9A-F]{6}"), option::of(any::<bool>()), extra()).prop_map(
        |(id, name, color, persist, extra)| {
            object(
                vec![
                    ("id", Some(json!(id))),
                    ("name", Some(json!(name))),
                    ("primaryColor", color.map(Value::from)),
                    ("persist", persist.map(Value::from)),
                ],
                extra,
            )
        },
    )
}

fn zpa_profile() -> impl Strategy<Value = Value> {
    linked_profile("cbiProfileId")
}

fn isolation_profile() -> impl Strategy<Value = Value> {
    linked_profile("isolationProfileId")
}

/// A profile that names its counterpart's id in `link`: ZPA-side profiles
/// link their CBI profile, isolation profiles their ZPA-side one.
fn linked_profile(link: &'static str) -> impl Strategy<Value = Value> {
    (id(), text(), option::of(any::<bool>()), option::of(time()), option::of(id()), extra()).prop_map(
        move |(id, name, enabled, ct, linked, extra)| {
            object(
                vec![
                    ("id", Some(json!(id))),
                    ("name", Some(json!(name))),
                    ("enabled", enabled.map(Value::from)),
                    ("creationTime", ct),
                    (link, linked.map(Value::from)),
                ],
                extra,
            )
        },
    )
}

fn microtenant() -> impl Strategy<Value = Value> {
    (
        (option::of(id()), text(), option::of(text()), option::of(any::<bool>())),
        (option::of(vec("[a-z]{1,10}\\.example\\.com", 0..4)), option::of(time()), option::of(time())),
        (option::of(any::<bool>()), extra()),
    )
        .prop_map(|((id, name, description, enabled), (domains, priority, ct), (approvals, extra))| {
            object(
                vec![
                    ("id", id.map(Value::from)),
                    ("name", Some(json!(name))),
                    ("description", description.map(Value::from)),
                    ("enabled", enabled.map(Value::from)),
                    ("criteriaAttribute", Some(json!("AuthDomain"))),
                    ("criteriaAttributeValues", domains.map(|d| json!(d))),
                    ("priority", priority),
                    ("creationTime", ct),
                    ("privilegedApprovalsEnabled", approvals.map(Value::from)),
                ],
                extra,
            )
        })
}

fn summary() -> impl Strategy<Value = Value> {
    (option::of(id()), text(), option::of(any::<bool>())).prop_map(|(id, name, enabled)| {
        object(
            vec![("id", id.map(Value::from)), ("name", Some(json!(name))), ("enabled", enabled.map(Value::from))],
            Map::new(),
        )
    })
}

fn page(items: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    (vec(items, 0..4), any::<u32>(), any::<bool>()).prop_map(|(list, pages, as_text)| {
        let count = |n: usize| if as_text { json!(n.to_string()) } else { json!(n) };
        let pages = if as_text { json!(pages.to_string()) } else { json!(pages) };
        json!({"totalPages": pages, "totalCount": count(list.len()), "list": list})
    })
}

fn me() -> impl Strategy<Value = Value> {
    (id(), text(), option::of(id())).prop_map(|(cid, name, mt)| {
        object(
            vec![
                ("customerId", Some(json!(cid))),
                ("customerName", Some(json!(name))),
                ("microtenantId", mt.map(Value::from)),
            ],
            Map::new(),
        )
    })
}

fn token() -> impl Strategy<Value = Value> {
    ("[A-Za-z0-9._-]{1,40}", prop_oneof![Just(Value::Null), time()]).prop_map(|(token, expires)| {
        let mut body = json!({"token_type": "Bearer", "access_token": token});
        if !expires.is_null() {
            body["expires_in"] = expires;
        }
        body
    })
}

fn error_body() -> impl Strategy<Value = Value> {
    ("[a-z.]{1,30}", text(), option::of(vec(text(), 0..3))).prop_map(|(id, reason, params)| {
        object(
            vec![("id", Some(json!(id))), ("reason", Some(json!(reason))), ("params", params.map(|p| json!(p)))],
            Map::new(),
        )
    })
}

fn auth_domains() -> impl Strategy<Value = Value> {
    vec("[a-z]{1,10}\\.example\\.com", 0..4).prop_map(|d| json!({"authDomains": d}))
}

// ---- subjects ----

/// One decoded type: its valid documents and how each field reacts to a swap.
struct Subject {
    name: &'static str,
    codec: Codec,
    fields: &'static [(&'static str, Kind)],
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

use Kind::*;

const PROFILE: Subject = Subject {
    name: "CbiProfile",
    codec: codec::<CbiProfile>,
    fields: &[
        ("id", OptText),
        ("name", Text),
        ("description", OptText),
        ("enabled", Flag),
        ("isDefault", Flag),
        ("bannerId", OptText),
        ("banner", OptRef),
        ("regionIds", OptList),
        ("regions", OptList),
        ("certificateIds", OptList),
        ("certificates", OptList),
        ("securityControls", OptStruct),
        ("userExperience", OptStruct),
        ("debugMode", OptStruct),
        ("cbiUrl", OptText),
        ("creationTime", Lenient),
        ("modifiedTime", Lenient),
    ],
};
const REGION: Subject =
    Subject { name: "CbiRegion", codec: codec::<CbiRegion>, fields: &[("id", Text), ("name", Text)] };
const CERTIFICATE: Subject = Subject {
    name: "CbiCertificate",
    codec: codec::<CbiCertificate>,
    fields: &[("id", Text), ("name", Text), ("pem", OptText), ("isDefault", Flag)],
};
const BANNER: Subject = Subject {
    name: "CbiBanner",
    codec: codec::<CbiBanner>,
    fields: &[("id", Text), ("name", Text), ("primaryColor", OptText), ("persist", Flag), ("banner", Flag)],
};
const ZPA_PROFILE: Subject = Subject {
    name: "ZpaProfile",
    codec: codec::<ZpaProfile>,
    fields: &[("id", Text), ("name", Text), ("enabled", Flag), ("creationTime", Lenient), ("cbiProfileId", OptText)],
};
const ISOLATION_PROFILE: Subject = Subject {
    name: "IsolationProfile",
    codec: codec::<MgmtIsolationProfile>,
    fields: &[
        ("id", Text),
        ("name", Text),
        ("enabled", Flag),
        ("creationTime", Lenient),
        ("isolationProfileId", OptText),
    ],
};
const MICROTENANT: Subject = Subject {
    name: "Microtenant",
    codec: codec::<MgmtMicrotenant>,
    fields: &[
        ("id", OptText),
        ("name", Text),
        ("description", OptText),
        ("enabled", Flag),
        ("criteriaAttribute", OptText),
        ("criteriaAttributeValues", OptList),
        ("privilegedApprovalsEnabled", Flag),
        ("priority", Lenient),
        ("scopeOrder", Lenient),
        ("creationTime", Lenient),
        ("user", OptStruct),
    ],
};
const SUMMARY: Subject = Subject {
    name: "MicrotenantSummary",
    codec: codec::<MicrotenantSummary>,
    fields: &[("id", OptText), ("name", Text), ("enabled", Flag)],
};
const PAGE: Subject = Subject {
    name: "Page",
    codec: codec::<Page<MgmtMicrotenant>>,
    fields: &[("totalPages", Count), ("totalCount", OptCount), ("currentCount", OptCount), ("list", List)],
};
const ME: Subject = Subject {
    name: "Me",
    codec: codec::<Me>,
    fields: &[("customerId", OptText), ("customerName", OptText), ("microtenantId", OptText)],
};
const TOKEN: Subject = Subject {
    name: "TokenResponse",
    codec: codec::<TokenResponse>,
    fields: &[("token_type", Text), ("access_token", Text), ("expires_in", Lenient)],
};
const ERROR_BODY: Subject = Subject {
    name: "ApiErrorBody",
    codec: codec::<ApiErrorBody>,
    fields: &[("id", Lenient), ("reason", Lenient), ("params", Lenient), ("code", Lenient), ("message", Lenient)],
};
const AUTH_DOMAINS: Subject =
    Subject { name: "AuthDomains", codec: codec::<AuthDomains>, fields: &[("authDomains", List)] };
const ID_ONLY: Subject = Subject { name: "IdOnly", codec: codec::<IdOnly>, fields: &[("id", Text)] };

/// Every subject with a generator of its valid documents.
fn subjects() -> impl Strategy<Value = (&'static Subject, Value)> {
    prop_oneof![
        cbi_profile().prop_map(|d| (&PROFILE, d)),
        region().prop_map(|d| (&REGION, d)),
        certificate().prop_map(|d| (&CERTIFICATE, d)),
        banner().prop_map(|d| (&BANNER, d)),
        zpa_profile().prop_map(|d| (&ZPA_PROFILE, d)),
        isolation_profile().prop_map(|d| (&ISOLATION_PROFILE, d)),
        microtenant().prop_map(|d| (&MICROTENANT, d)),
        summary().prop_map(|d| (&SUMMARY, d)),
        page(microtenant()).prop_map(|d| (&PAGE, d)),
        me().prop_map(|d| (&ME, d)),
        token().prop_map(|d| (&TOKEN, d)),
        error_body().prop_map(|d| (&ERROR_BODY, d)),
        auth_domains().prop_map(|d| (&AUTH_DOMAINS, d)),
        id().prop_map(|id| (&ID_ONLY, json!({"id": id}))),
    ]
}

/// Every decoder the client uses, lists included.
const DECODERS: &[(&str, Codec)] = &[
    ("CbiProfile", codec::<CbiProfile>),
    ("Vec<CbiProfile>", codec::<Vec<CbiProfile>>),
    ("Vec<CbiRegion>", codec::<Vec<CbiRegion>>),
    ("Vec<CbiCertificate>", codec::<Vec<CbiCertificate>>),
    ("Vec<CbiBanner>", codec::<Vec<CbiBanner>>),
    ("Vec<ZpaProfile>", codec::<Vec<ZpaProfile>>),
    ("Page<IsolationProfile>", codec::<Page<MgmtIsolationProfile>>),
    ("Page<Microtenant>", codec::<Page<MgmtMicrotenant>>),
    ("Microtenant", codec::<MgmtMicrotenant>),
    ("Vec<MicrotenantSummary>", codec::<Vec<MicrotenantSummary>>),
    ("Me", codec::<Me>),
    ("AuthDomains", codec::<AuthDomains>),
    ("TokenResponse", codec::<TokenResponse>),
    ("ApiErrorBody", codec::<ApiErrorBody>),
    ("IdOnly", codec::<IdOnly>),
    ("Value", codec::<Value>),
];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        for (_, decode) in DECODERS {
            let _ = decode(&bytes);
        }
    }

    /// Bytes that look like JSON (brackets, quotes, digits) reach deeper into the parser.
    #[test]
    fn json_like_noise_never_panics(text in "[\\[\\]{}\",:0-9a-zA-Z.eE+\\-\\\\ ]{0,200}") {
        for (_, decode) in DECODERS {
            let _ = decode(text.as_bytes());
        }
    }

    #[test]
    fn valid_documents_decode_and_round_trip((subject, doc) in subjects()) {
        let bytes = serde_json::to_vec(&doc).unwrap();
        let first = (subject.codec)(&bytes).map_err(|e| TestCaseError::fail(format!("{}: {e}: {doc}", subject.name)))?;
        let second = (subject.codec)(&serde_json::to_vec(&first).unwrap()).unwrap();
        prop_assert_eq!(&first, &second, "{} is stable across a round trip", subject.name);
        if let Some(name) = doc.get("name") {
            prop_assert_eq!(&first["name"], name, "{}: the name (unicode included) is kept exactly", subject.name);
        }
        for (key, value) in doc.as_object().unwrap().iter().filter(|(k, _)| k.starts_with("future")) {
            prop_assert_eq!(&first[key], value, "{}: unknown field {} survives", subject.name, key);
        }
    }

    #[test]
    fn truncated_documents_are_errors((subject, doc) in subjects(), cut in any::<prop::sample::Index>()) {
        let bytes = serde_json::to_vec(&doc).unwrap();
        let cut = cut.index(bytes.len());
        prop_assert!((subject.codec)(&bytes[..cut]).is_err(), "{} accepted {:?}", subject.name, String::from_utf8_lossy(&bytes[..cut]));
    }

    #[test]
    fn truncated_lists_are_errors(items in vec(cbi_profile(), 1..5), cut in any::<prop::sample::Index>()) {
        let bytes = serde_json::to_vec(&items).unwrap();
        let cut = cut.index(bytes.len());
        prop_assert!(codec::<Vec<CbiProfile>>(&bytes[..cut]).is_err());
    }

    #[test]
    fn a_swapped_field_is_an_error_exactly_where_its_type_is_strict(
        (subject, doc) in subjects(),
        field in any::<prop::sample::Index>(),
        swap in swap(),
    ) {
        let (key, kind) = subject.fields[field.index(subject.fields.len())];
        let mut doc = doc;
        doc[key] = swap.value();
        let result = (subject.codec)(&serde_json::to_vec(&doc).unwrap());
        prop_assert_eq!(
            result.is_ok(),
            swap.accepted_by(kind),
            "{}.{} ({:?}) given {:?}: {:?}", subject.name, key, kind, swap, result
        );
    }

    /// Whatever a profile's controls say (unknown enum values included), the
    /// status view and the plan are computed without panicking, and the view
    /// only ever shows values the CRD knows.
    #[test]
    fn unknown_enum_values_never_reach_the_status_view(doc in cbi_profile()) {
        let remote: CbiProfile = serde_json::from_value(doc).unwrap();
        let view = zpa_operator::reconcile::isolation_profile::observation(&remote);
        if let Some(controls) = view.security_controls {
            let shown = serde_json::to_value(controls).unwrap();
            prop_assert!(shown.get("copyPaste").is_none_or(|v| v == "none" || v == "all"));
            prop_assert!(shown.get("uploadDownload").is_none_or(|v| v == "none" || v == "all" || v == "upstream"));
        }
        let spec: IsolationProfileSpec = serde_json::from_value(json!({"regions": ["a", "b"], "description": "d"})).unwrap();
        let desired = DesiredProfile::new("p", &spec, ResolvedReferences {
            region_ids: vec!["r1".into(), "r2".into()],
            ..ResolvedReferences::default()
        });
        let _ = zpa_operator::reconcile::diff::<IsolationProfileKind>(&desired, &remote);
    }

    #[test]
    fn any_microtenant_answer_can_be_viewed_and_planned(doc in microtenant()) {
        let remote: MgmtMicrotenant = serde_json::from_value(doc).unwrap();
        let _ = zpa_operator::reconcile::microtenant::observation(&remote);
        let spec: MicrotenantSpec = serde_json::from_value(json!({"criteriaAttributeValues": ["a.example.com"]})).unwrap();
        let desired = DesiredMicrotenant::new("m", &spec);
        let _ = zpa_operator::reconcile::diff::<MicrotenantKind>(&desired, &remote);
    }
}

/// serde_json stops recursing at depth 128 for values it keeps, and skips
/// values it ignores without recursion: neither can overflow the stack.
#[test]
fn deep_nesting_never_overflows_the_stack() {
    for depth in [200, 100_000] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        for (name, decode) in DECODERS {
            assert!(decode(arrays.as_bytes()).is_err(), "{name} accepted {depth} nested arrays");
            let _ = decode(objects.as_bytes());
        }
        assert!(codec::<Value>(objects.as_bytes()).is_err(), "a kept value nested {depth} deep");
        // Types that keep unknown fields (for read-modify-write) refuse them past the limit...
        let in_unknown_field = format!(r#"{{"id":"1","name":"p","future":{objects}}}"#);
        assert!(codec::<CbiProfile>(in_unknown_field.as_bytes()).is_err(), "nesting inside a kept unknown field");
        assert!(codec::<MgmtMicrotenant>(in_unknown_field.as_bytes()).is_err(), "nesting inside a kept unknown field");
        let in_list = format!(r#"{{"totalPages":"1","list":[{in_unknown_field}]}}"#);
        assert!(codec::<Page<MgmtIsolationProfile>>(in_list.as_bytes()).is_err(), "nesting inside a page item");
        // ...types that drop them skip the nesting, which is valid JSON.
        let ignored = format!(r#"{{"customerId":"7","future":{objects}}}"#);
        assert_eq!(codec::<Me>(ignored.as_bytes()).unwrap()["customerId"], "7");
    }
    // Nesting within serde_json's limit (128) in an unknown field is kept as it is.
    let nested = format!("{}1{}", r#"{"a":"#.repeat(60), "}".repeat(60));
    let profile = format!(r#"{{"name":"p","future":{nested}}}"#);
    let kept = codec::<CbiProfile>(profile.as_bytes()).unwrap();
    assert_eq!(kept["future"], serde_json::from_str::<Value>(&nested).unwrap());
}

#[test]
fn lists_answered_with_the_wrong_shape_are_errors() {
    let cases: [(&str, Codec, &str); 7] = [
        ("profiles as an object", codec::<Vec<CbiProfile>>, r#"{"list":[]}"#),
        ("regions as a string", codec::<Vec<CbiRegion>>, r#""Frankfurt""#),
        ("a region without a name", codec::<Vec<CbiRegion>>, r#"[{"id":"r1"}]"#),
        ("a page whose list is an object", codec::<Page<MgmtMicrotenant>>, r#"{"totalPages":"1","list":{}}"#),
        ("a page with a non-numeric totalPages", codec::<Page<MgmtMicrotenant>>, r#"{"totalPages":"many","list":[]}"#),
        ("a numeric id (precision would be lost)", codec::<MgmtMicrotenant>, r#"{"id":73186051597800513,"name":"m"}"#),
        ("null where a document is expected", codec::<Me>, "null"),
    ];
    for (what, decode, body) in cases {
        assert!(decode(body.as_bytes()).is_err(), "{what}: {body} was accepted");
    }
}

#[test]
fn numbers_as_text_and_text_as_numbers_are_read_where_zpa_mixes_them() {
    let page: Page<MgmtMicrotenant> = serde_json::from_str(
        r#"{"totalPages":2,"totalCount":"7","list":[{"name":"m","priority":3,"creationTime":"1700000000"}]}"#,
    )
    .unwrap();
    assert_eq!((page.total_pages, page.total_count), (2, Some(7)));
    assert_eq!(page.list[0].priority.as_deref(), Some("3"));
    assert_eq!(page.list[0].creation_time.as_deref(), Some("1700000000"));
    let error: ApiErrorBody =
        serde_json::from_str(r#"{"id":4001,"reason":{"text":"bad"},"params":["a",2,null]}"#).unwrap();
    assert_eq!(error.id.as_deref(), Some("4001"));
    assert_eq!(error.reason.as_deref(), Some(r#"{"text":"bad"}"#));
    assert_eq!(error.params, Some(vec!["a".to_owned(), "2".to_owned(), "null".to_owned()]));
    let token: TokenResponse = serde_json::from_str(r#"{"access_token":"t","expires_in":"3600"}"#).unwrap();
    assert_eq!(token.expires_in_secs(), Some(3600));
}

#[test]
fn a_huge_region_list_decodes_in_full() {
    let regions: Vec<Value> =
        (0..100_000).map(|i| json!({"id": format!("r{i}"), "name": format!("Region {i}")})).collect();
    let body = serde_json::to_vec(&regions).unwrap();
    let started = std::time::Instant::now();
    let decoded: Vec<CbiRegion> = serde_json::from_slice(&body).unwrap();
    assert_eq!(decoded.len(), 100_000);
    assert_eq!(decoded[99_999].name, "Region 99999");
    eprintln!("100,000 regions ({} bytes) decoded in {:?}", body.len(), started.elapsed());
}
