//! An in-memory ZPA API simulator that speaks the real wire format.
//! (Being built: see the simulator brief.)

use clap::Args;

/// `zpa-operator simulator` flags.
#[derive(Debug, Clone, Args)]
pub struct SimulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// Runs the simulator until interrupted.
pub async fn run_cli(_args: SimulatorArgs) -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
