//! The subcommands of the `zpa-operator` binary (besides `simulator`, which
//! lives with the simulator).

pub mod connect;
pub mod duration;
pub mod export;
pub mod manifests;
pub mod plan;
pub mod progress;
pub mod run;
