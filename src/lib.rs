//! zpa-operator: keeps Zscaler Private Access Cloud Browser Isolation profiles
//! and Microtenants equal to Kubernetes custom resources.
//!
//! The map, from the wire up. Each layer uses only the ones above it; the
//! first three are crates of their own under `crates/` (re-exported here
//! under these names), so Cargo enforces their borders.
//!
//! | module | layer | what it holds |
//! |---|---|---|
//! | [`wire`] (`zpa-wire`) | wire | ZPA JSON bodies, paths and error bodies, exactly as the API speaks them |
//! | [`secret`] (`zpa-wire`) | wire | [`secret::SecretString`]: credentials that print as `***` |
//! | [`zpa`] (`zpa-client`) | client | the ZPA API client: sign-in, per-tenant rate limits, retries, [`zpa::ZpaError`], [`zpa::Scope`]; no Kubernetes |
//! | [`simulator`] (`zpa-simulator`) | beside the client | an in-memory ZPA API on the same wire; depends on `zpa-wire` only |
//! | [`crd`] | types | the custom resources: Rust types, schema, CEL rules |
//! | [`reconcile`] | pure core | identity (`target`), diff and plan, conditions, lifecycle, errors; per kind its desired state and bodies ([`reconcile::ReconcileKind`]); no I/O |
//! | [`remote`] | ZPA side | the converge step both callers share ([`remote::converge`]), per kind its `prepare` and ZPA calls ([`remote::RemoteKind`]), tenants, list snapshots, name resolution |
//! | [`controller`] | Kubernetes side | the controllers: watches, finalizers, the custom resource's marker, id, events and status around the converge step ([`controller::ControllerKind`]), provider configs, leader election, `/metrics` |
//! | [`metrics`] | Kubernetes side | the Prometheus metrics |
//! | [`telemetry`] | binary | logging set-up |
//! | [`cli`] | binary | the subcommands: `run`, `plan`/`sync` (manifests checked as the API server does, then the same prepare and converge step), `export` (manifests for a tenant's objects) |
//!
//! A managed kind implements one trait per layer: [`reconcile::ReconcileKind`]
//! (pure), [`remote::RemoteKind`] (ZPA) and [`controller::ControllerKind`]
//! (Kubernetes); README.md, "Adding a kind", lists the files.

pub mod cli;
pub mod controller;
pub mod crd;
pub mod metrics;
pub mod reconcile;
pub mod remote;
pub mod telemetry;

pub use zpa_client as zpa;
pub use zpa_simulator as simulator;
pub use zpa_wire as wire;
pub use zpa_wire::secret;
