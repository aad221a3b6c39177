//! Logging: `tracing` to stderr, as text or JSON, filtered by `RUST_LOG`
//! (or the `--log-level` default). Colour only when stderr is a terminal
//! and `NO_COLOR` is unset or empty (<https://no-color.org>): `kubectl logs`
//! and log collectors get plain text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber; a second call is a no-op.
pub fn init(level: &str, format: LogFormat) {
    let text = std::env::var(EnvFilter::DEFAULT_ENV).ok().filter(|t| EnvFilter::try_new(t).is_ok());
    let text = text.as_deref().unwrap_or(level);
    let filter = with_quiet_watcher(text, EnvFilter::new(text));
    let ansi = use_color(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// kube's watcher logs every failed retry of a watch at WARN; the operator
/// reports those itself, once per failure (`controller::watch`). Unless the
/// filter names `kube_runtime` itself, kube's watcher is kept to errors.
fn with_quiet_watcher(text: &str, filter: EnvFilter) -> EnvFilter {
    if text.contains("kube_runtime") {
        return filter;
    }
    match "kube_runtime::watcher=error".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Whether log lines may carry ANSI colour codes.
pub fn use_color(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    #[test]
    fn kubes_watcher_is_quiet_unless_asked_for() {
        let quiet = with_quiet_watcher("info", EnvFilter::new("info")).to_string();
        assert!(quiet.contains("kube_runtime::watcher=error"), "{quiet}");
        let asked =
            with_quiet_watcher("info,kube_runtime=debug", EnvFilter::new("info,kube_runtime=debug")).to_string();
        assert!(!asked.contains("kube_runtime::watcher=error"), "{asked}");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None));
        assert!(use_color(true, Some(OsStr::new(""))), "an empty NO_COLOR is unset");
        assert!(!use_color(true, Some(OsStr::new("1"))));
        assert!(!use_color(false, None));
    }
}
