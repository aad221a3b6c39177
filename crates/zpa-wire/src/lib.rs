//! The ZPA wire format: JSON bodies and URL paths exactly as the API speaks them.
//!
//! The client (`zpa-client`) and the simulator (`zpa-simulator`) depend on
//! this crate and on nothing of each other: they agree on the wire, and only
//! on the wire. The operator compares and builds these bodies; [`secret`] holds
//! the redacting string every side keeps credentials in.
//!
//! Conventions the real API imposes (see `zpa-api-facts.md`):
//! - ids are strings (mgmtconfig ids exceed 2^53, CBI ids are UUIDs);
//! - counts and epoch times often arrive as strings, sometimes as numbers;
//! - unset fields are omitted, so almost everything is `Option`;
//! - every object keeps the fields we do not model in `extra`; what a PUT
//!   sends back is decided per kind (`cbi::CbiProfile::update_body` keeps
//!   them, minus server-only keys; `mgmt::MicrotenantUpdate` sends only the
//!   writable fields, as the Terraform provider does).

pub mod auth;
pub mod cbi;
pub mod error;
pub mod lenient;
pub mod mgmt;
pub mod paths;
pub mod secret;

use serde::{Deserialize, Serialize};

/// The mgmtconfig list envelope: `{"totalPages","totalCount","currentCount"?,"list"}`.
/// The numbers are strings on the wire; `list` may be missing when empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    #[serde(with = "lenient::u64_as_string", default)]
    pub total_pages: u64,
    #[serde(with = "lenient::opt_u64_as_string", default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
    #[serde(with = "lenient::opt_u64_as_string", default, skip_serializing_if = "Option::is_none")]
    pub current_count: Option<u64>,
    #[serde(default = "Vec::new")]
    pub list: Vec<T>,
}

/// The documented default and maximum `pagesize` of mgmtconfig lists.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 500;

/// `{"id": "..."}`: what CBI create (and some updates) answer with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdOnly {
    pub id: String,
}

/// `{"message": "..."}`: what CBI deletes answer with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageBody {
    pub message: String,
}

/// Fields the operator does not model, kept verbatim as read.
pub type Extra = serde_json::Map<String, serde_json::Value>;
