//! The ZPA API client. It knows nothing of Kubernetes: it signs in, respects
//! the tenant's rate limits, retries what is worth retrying and classifies
//! the rest into [`ZpaError`].
//!
//! ```text
//! ZpaClient ── execute(Call) ── RateLimiter (per tenant) ── TokenSource ── HTTP ── classify ── retry
//!     ├── cbi.rs           profiles, regions, certificates, banners, zpaprofiles
//!     ├── microtenants.rs  microtenants, /me
//!     └── get_json, post_json, all_pages: any other route, through the same engine
//! ```

mod assertion;
mod auth;
mod body;
mod cbi;
mod client;
mod cloud;
mod endpoint;
mod error;
mod limiter;
mod microtenants;
mod observe;
mod pages;
mod retry;
mod scope;
mod tls;

pub use assertion::{PrivateKey, PrivateKeyError};
pub use auth::{ClientAuthentication, ClientCredentials, SignIn};
pub use client::{ZpaClient, ZpaConfig};
pub use cloud::{ApiBase, Cloud};
pub use endpoint::{AuthMode, Endpoint, TenantKey};
pub use error::{Fault, MAX_RESPONSE_BYTES, ZpaError};
pub use limiter::{Budget, RateLimiter, RateLimits};
pub use observe::{NoopObserver, Outcome, RequestObserver};
pub use pages::{MAX_PAGES, more_pages};
pub use retry::RetryPolicy;
pub use scope::Scope;
pub use tls::TlsSettings;
