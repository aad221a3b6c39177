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
    /// Run the operator.
    Run(zpa_operator::cli::run::RunArgs),
    /// Show what would change in ZPA for the manifests in a directory (exit 2 when changes are pending).
    Plan(zpa_operator::cli::plan::PlanArgs),
    /// Apply the manifests in a directory to ZPA once and print the ids.
    Sync(zpa_operator::cli::plan::PlanArgs),
    /// Run an in-memory ZPA API simulator (for tests, benchmarks and trying things out).
    Simulator(simulator::SimulatorArgs),
    /// Print the CustomResourceDefinitions (the YAML that `crds/` holds).
    Crds {
        /// Write one file per CRD into this directory instead of printing.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => zpa_operator::cli::run::run(args).await,
        Command::Plan(args) => zpa_operator::cli::plan::plan_command(args).await,
        Command::Sync(args) => zpa_operator::cli::plan::sync_command(args).await,
        Command::Simulator(args) => simulator::run_cli(args).await,
        Command::Crds { dir } => print_crds(dir.as_deref()),
    }
}

fn print_crds(dir: Option<&std::path::Path>) -> ExitCode {
    let result = match dir {
        None => zpa_operator::crd::to_yaml().map(|yaml| print!("{yaml}")).map_err(|e| e.to_string()),
        Some(dir) => zpa_operator::crd::write_files(dir).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
