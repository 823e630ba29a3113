//! The one configuration of otlp-arrow, shared by the service binary, the C ABI, Python and
//! Rust embedders.
//!
//! # Layers
//!
//! Later layers win: **defaults < TOML file < `OTLP_ARROW_*` environment < flags**.
//!
//! ```
//! use otlp_arrow::config::{Config, Overrides};
//!
//! let mut config = Config::from_toml_str("[storage]\ncompression = \"zstd\"\n")?;
//! config.apply_env([("OTLP_ARROW_RING_TRACES", "64MiB"), ("HOME", "/root")])?;
//! config.apply_overrides(&Overrides { grpc_addr: Some("0.0.0.0:4317".into()), ..Overrides::default() })?;
//! config.validate()?;
//! assert_eq!(config.ring.traces, 64 << 20);
//! assert_eq!(config.receiver.grpc_addr.to_string(), "0.0.0.0:4317");
//! # Ok::<(), otlp_arrow::config::ConfigError>(())
//! ```
//!
//! [`Config::resolve`] does all of it (and validation) in one call.
//!
//! # The file
//!
//! [`Config::default_toml`] is the documented default file: every key, its default, one line
//! on what it does. Unknown keys are errors at every level, so a typo never silently falls
//! back to a default. Sizes are byte counts or strings such as `"64MiB"` ([`parse_size`]);
//! durations are strings such as `"250ms"`, `"5m"`, `"7d"` ([`parse_duration`]).
//!
//! # Errors
//!
//! [`ConfigError`]'s `Display` names the key path, the bad value, what was allowed and where
//! the value came from (`invalid storage.compression = "snappy": unknown variant snappy,
//! expected one of none, zstd, lz4 (at line 3, column 15)`). Credentials ([`Secret`]) never
//! appear in errors, `Debug` or serialised output.
//!
//! # Files
//!
//! - `model.rs`: the structs, their defaults; `default.toml`: the same, commented.
//! - `units.rs`: sizes and durations. `secret.rs`: [`Secret`].
//! - `env.rs`: text -> key (environment, flags, [`Config::set`]). `validate.rs`: the checks.
//! - `error.rs`: [`ConfigError`], and locating the key of a TOML error.
#![forbid(unsafe_code)]

mod env;
mod error;
mod model;
mod secret;
mod units;
mod validate;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub use env::{ENV_PREFIX, FORWARD_ENDPOINT_KEY, Overrides, env_var_name};
pub use error::{ConfigError, Origin};
pub use model::{
    AdminConfig, AttributeValue, BasicAuth, BreakerConfig, ClientTlsConfig, Compression, Config,
    FfiConfig, ForwardCompression, ForwardConfig, ForwardEndpoint, ForwardProtocol, Fsync,
    FullPolicy, InvalidUtf8, LogConfig, LogFormat, ReceiverConfig, RetryConfig, RingConfig,
    SERVICE_NAME, ScopeConfig, ServerTlsConfig, ShutdownConfig, StorageConfig,
};
pub use secret::Secret;
pub use units::{UnitError, format_duration, format_size, parse_duration, parse_size};
pub use validate::{MAX_RING_BYTES, MIN_RING_BYTES};
/// URL helpers the forwarder shares with validation (one parser, one redaction).
pub(crate) use validate::{parse_url, redact_url};

/// The commented default configuration file.
const DEFAULT_TOML: &str = include_str!("default.toml");

impl Config {
    /// Parses a TOML document; missing keys take their defaults. Does not validate.
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] (with line and column) if it is not TOML;
    /// [`ConfigError::UnknownKey`] / [`ConfigError::Invalid`] naming the key otherwise.
    pub fn from_toml_str(toml: &str) -> Result<Config, ConfigError> {
        Config::parse(toml, None)
    }

    /// Reads and parses a TOML file; errors carry its path. Does not validate.
    ///
    /// # Errors
    /// [`ConfigError::Read`] if it cannot be read (or is not UTF-8), else as
    /// [`Config::from_toml_str`].
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, Some(path.to_owned()))
    }

    /// The whole layering: `file` (or the defaults), then `env` (`OTLP_ARROW_*`), then
    /// `overrides`, then [`Config::validate`].
    ///
    /// # Errors
    /// The first [`ConfigError`] of any layer.
    pub fn resolve<I, K, V>(
        file: Option<&Path>,
        env: I,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut config = match file {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.apply_overrides(overrides)?;
        config.validate()?;
        Ok(config)
    }

    /// The commented default configuration: every key with its default value and a one-line
    /// explanation; optional keys appear commented out (`#key = example`). Parsing it gives
    /// exactly [`Config::default()`].
    pub fn default_toml() -> &'static str {
        DEFAULT_TOML
    }

    /// Syntax first (so syntax errors keep their own line/column), then the typed pass, whose
    /// errors are located in the parsed tree to name their key.
    pub(crate) fn parse(text: &str, file: Option<PathBuf>) -> Result<Config, ConfigError> {
        let doc = toml::de::DeTable::parse(text)
            .map_err(|e| error::syntax_error(text, file.clone(), &e))?;
        toml::from_str(text).map_err(|e| error::de_error(text, doc.get_ref(), file, &e))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `default.toml` with its commented-out settings (`#key = ...`, `#[table]`) switched on.
    fn uncommented_default() -> String {
        DEFAULT_TOML
            .lines()
            .map(|line| match line.strip_prefix('#') {
                Some(rest)
                    if rest
                        .starts_with(|c: char| c.is_ascii_alphabetic() || c == '[' || c == '"') =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn paths(value: &toml::Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let path = error::join_key(prefix, k);
                    out.insert(path.clone());
                    paths(v, &path, out);
                }
            }
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                for (i, item) in items.iter().enumerate() {
                    paths(item, &format!("{prefix}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    fn key_set(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        paths(
            &toml::Value::Table(toml::from_str(text).unwrap()),
            "",
            &mut out,
        );
        out
    }

    #[test]
    fn every_key_of_the_model_is_documented_in_default_toml() {
        let example = uncommented_default();
        // Parses with every optional key switched on (unknown keys would be errors).
        let parsed = Config::from_toml_str(&example).unwrap();
        assert_eq!(parsed.forward.endpoints.len(), 1);
        assert!(parsed.receiver.tls.enabled());
        let full = toml::to_string(&model::full_example()).unwrap();
        assert_eq!(key_set(&example), key_set(&full));
    }

    #[test]
    fn the_uncommented_example_is_a_valid_configuration_except_for_its_double_authorization() {
        let mut example = Config::from_toml_str(&uncommented_default()).unwrap();
        let err = example.validate().unwrap_err().to_string();
        assert!(err.contains("authorization"), "{err}");
        example.forward.endpoints[0].bearer_token = None;
        example.validate().unwrap();
    }
}
