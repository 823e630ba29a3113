//! The service's own log: `tracing-subscriber`, to stderr, text or JSON lines.
//!
//! The filter is `RUST_LOG` when that is set and not empty (it overrides `log.level`, the usual
//! convention), else `log.level` from the configuration (already validated there). The format
//! is `log.format` (`--log-format`). Colours only when stderr is a terminal. stdout is left to
//! the commands that print data (`cat`).
#![forbid(unsafe_code)]

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// The variable that overrides `log.level`.
pub const RUST_LOG: &str = "RUST_LOG";

/// The filter to use: `rust_log` (the value of `RUST_LOG`) when set and not empty, else
/// `config.level`.
///
/// # Errors
/// A message naming `RUST_LOG` or `log.level` when the directive does not parse.
pub fn filter(config: &LogConfig, rust_log: Option<&str>) -> Result<EnvFilter, String> {
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        Some(directives) => EnvFilter::try_new(directives)
            .map_err(|e| format!("invalid {RUST_LOG} = {directives:?}: {e}")),
        None => EnvFilter::try_new(&config.level)
            .map_err(|e| format!("invalid log.level = {:?}: {e}", config.level)),
    }
}

/// Installs the global subscriber.
///
/// # Errors
/// As [`filter`]; or when a global subscriber is already installed.
pub fn init(config: &LogConfig) -> Result<(), String> {
    let rust_log = std::env::var(RUST_LOG).ok();
    let filter = filter(config, rust_log.as_deref())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|e| format!("cannot install the logger: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_overrides_the_configured_level() {
        let config = LogConfig {
            level: "warn".into(),
            ..LogConfig::default()
        };
        let f = filter(&config, Some("otlp_arrow=debug")).unwrap();
        assert_eq!(f.to_string(), "otlp_arrow=debug");
        assert_eq!(filter(&config, Some("  ")).unwrap().to_string(), "warn");
        assert_eq!(filter(&config, None).unwrap().to_string(), "warn");
        let err = filter(&config, Some("otlp_arrow=loud")).unwrap_err();
        assert!(err.contains("RUST_LOG"), "{err}");
    }
}
