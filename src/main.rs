use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zpa_operator::simulator;

/// Kubernetes operator for ZPA Cloud Browser Isolation profiles and Microtenants.
#[derive(Parser)]
#[command(name = "zpa-operator", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an in-memory ZPA API simulator (for tests, benchmarks and trying things out).
    Simulator(simulator::SimulatorArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Simulator(args) => simulator::run_cli(args).await,
    }
}
