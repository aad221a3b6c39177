//! The ZPA side of a reconcile: the converge step ([`converge`]) every kind
//! and both callers (controller, CLI) share, observation from list
//! snapshots, name resolution, and the writes. Knows the ZPA client, not
//! Kubernetes.
//!
//! - `converge.rs`: observe -> decide -> write, and delete;
//! - `kind.rs`: what a kind must provide ([`RemoteKind`]), the step's input and a create's output;
//! - `kinds.rs`: per kind, its ZPA calls and its `prepare` (spec + references -> desired);
//! - `calls.rs`: the primitives `observe`, `create`, `update`, `delete` the step calls;
//! - `tenant.rs`: one ZPA tenant (client and caches) per provider config;
//! - `credentials.rs`: a provider config's credentials Secret -> typed credentials;
//! - `snapshot.rs`, `packed.rs`: list snapshots; `references.rs`: names -> ids.
//!
//! The primitives of `calls.rs` are this module's own: callers go through [`converge`].

mod calls;
pub mod converge;
#[cfg(test)]
mod converge_tests;
pub mod credentials;
pub mod kind;
pub mod kinds;
pub mod packed;
pub mod references;
pub mod snapshot;
pub mod tenant;

pub use kind::{Created, Prepared, RemoteKind, Sources};
pub use tenant::{Tenant, TenantDefaults, TenantRegistry};
