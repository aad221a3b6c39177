//! zpa-operator: keeps Zscaler Private Access Cloud Browser Isolation profiles
//! and Microtenants equal to Kubernetes custom resources.
//!
//! Layers, from the wire up:
//! - [`wire`]: ZPA JSON bodies and paths, shared by the client and the simulator;
//! - [`zpa`]: the ZPA API client (auth, rate limits, retries); knows nothing of Kubernetes;
//! - [`simulator`]: an in-memory ZPA API speaking the same wire format;

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
