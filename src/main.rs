//! The `zpa-operator` binary: the command line of `cli`, with the allocator settings of a long-running process.

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
    /// Show what would change in ZPA for manifests (files, directories or -), checked as the API server
    /// would check them first (exit 0 nothing to do, 2 changes pending, 1 errors).
    Plan(zpa_operator::cli::plan::PlanArgs),
    /// Apply manifests to ZPA once, as the operator would, print the ids and re-check.
    Sync(zpa_operator::cli::plan::PlanArgs),
    /// Write manifests for the Microtenants and CBI profiles a tenant already has (onboarding).
    Export(zpa_operator::cli::export::ExportArgs),
    /// Run an in-memory ZPA API simulator (for tests, benchmarks and trying things out).
    Simulator(simulator::SimulatorArgs),
    /// Print the CustomResourceDefinitions (the YAML that `crds/` holds).
    Crds {
        /// Write one file per CRD into this directory instead of printing.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    limit_allocator_footprint();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Run(args) => zpa_operator::cli::run::run(args).await,
            Command::Plan(args) => zpa_operator::cli::plan::plan_command(args).await,
            Command::Sync(args) => zpa_operator::cli::plan::sync_command(args).await,
            Command::Export(args) => zpa_operator::cli::export::export_command(args).await,
            Command::Simulator(args) => simulator::run_cli(args).await,
            Command::Crds { dir } => print_crds(dir.as_deref()),
        }
    })
}

/// glibc's malloc gives threads that allocate at the same time arenas of
/// their own (up to eight per core), and after a large block is freed it
/// raises the size from which blocks are mapped on their own, so the next
/// list body of megabytes lands in an arena and stays resident. One arena and
/// a fixed 256 KiB threshold lower the peak RSS of a large operator; the
/// price is some lock contention, seen only when the operator is CPU-bound.
/// BENCHMARKS.md ("Earlier rounds", footprint) has the figures and the
/// command that measured them.
/// `MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_` in the environment still win.
/// Called before any thread is started.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_allocator_footprint() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator parameters; no thread runs yet.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: as above.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024) };
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_allocator_footprint() {}

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
