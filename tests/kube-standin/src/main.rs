//! `kube-standin`: runs the test-only Kubernetes API server stand-in as a process.
//!
//! `kube-standin --listen 127.0.0.1:0 --kubeconfig PATH [--watch-history N]` prints
//! `kube-standin listening on http://127.0.0.1:PORT`, writes a kubeconfig for it and serves
//! until SIGINT or SIGTERM, like a local `kind` cluster would for `kubectl`.

use std::io::Write;

fn usage() -> ! {
    eprintln!("usage: kube-standin [--listen 127.0.0.1:0] [--kubeconfig PATH] [--watch-history N]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut config = kube_standin::StandInConfig::default();
    let mut kubeconfig: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--listen" => {
                config.listen = value().parse().unwrap_or_else(|e| {
                    eprintln!("--listen: {e}");
                    usage()
                })
            }
            "--kubeconfig" => kubeconfig = Some(value()),
            "--watch-history" => {
                config.watch_history = value().parse().unwrap_or_else(|e| {
                    eprintln!("--watch-history: {e}");
                    usage()
                })
            }
            "-h" | "--help" => usage(),
            other => {
                eprintln!("unknown argument {other:?}");
                usage()
            }
        }
    }
    let server = match kube_standin::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kube-standin: {e}");
            std::process::exit(1);
        }
    };
    if let Some(path) = kubeconfig
        && let Err(e) = server.write_kubeconfig(&path)
    {
        eprintln!("kube-standin: writing {path}: {e}");
        std::process::exit(1);
    }
    println!("kube-standin listening on {}", server.url());
    let _ = std::io::stdout().flush();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kube-standin: {e}");
            std::process::exit(1);
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.shutdown().await;
}
