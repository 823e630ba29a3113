//! [`ConfigError`]: every way a configuration can be refused, each naming the key at fault.
//!
//! Promises: `Display` names the key path (`storage.compression`,
//! `forward.endpoints[0].url`), the value as written and what was expected, and where the value
//! came from (file line/column, environment variable, flag). Values of secret keys (API keys,
//! tokens, passwords, header values) are shown as `***`, and TOML's own error rendering, which
//! quotes the source line, is never used.
#![forbid(unsafe_code)]

use core::fmt;
use std::ops::Range;
use std::path::PathBuf;

use toml::de::{DeTable, DeValue};

use super::secret::Secret;

/// Where a bad value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A TOML document (`file` is `None` for a string); 1-based line and column.
    Toml {
        /// The file, if the document was read from one.
        file: Option<PathBuf>,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// An `OTLP_ARROW_*` environment variable.
    Env(String),
    /// A command-line flag (`--grpc-addr`).
    Flag(String),
    /// [`Config::set`](super::Config::set).
    Set,
    /// [`Config::validate`](super::Config::validate): the merged configuration, whatever set it.
    Validation,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Toml {
                file: Some(file),
                line,
                column,
            } => {
                write!(f, " (at {}:{line}:{column})", file.display())
            }
            Origin::Toml {
                file: None,
                line,
                column,
            } => write!(f, " (at line {line}, column {column})"),
            Origin::Env(name) => write!(f, " (from environment variable {name})"),
            Origin::Flag(flag) => write!(f, " (from flag {flag})"),
            Origin::Set | Origin::Validation => Ok(()),
        }
    }
}

/// A configuration that cannot be used. The service exits with status 2 on one.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The document is not TOML.
    Syntax {
        /// The file, if the document was read from one.
        file: Option<PathBuf>,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// toml's description.
        message: String,
    },
    /// A key the configuration does not have.
    UnknownKey {
        /// Dotted path of the key (`receiver.grpc_adr`).
        key: String,
        /// The keys allowed there (`expected one of ...`).
        expected: String,
        /// Where it was written.
        origin: Origin,
    },
    /// A key holds a value it cannot take.
    Invalid {
        /// Dotted path of the key (`storage.compression`, `forward.endpoints[0].url`).
        key: String,
        /// The value as written (TOML syntax for file values), `***` for secrets.
        value: String,
        /// What is wrong and what was expected (`expected one of none, zstd, lz4`).
        reason: String,
        /// Where the value came from.
        origin: Origin,
    },
    /// An `OTLP_ARROW_*` environment variable that names no key.
    UnknownEnv {
        /// The variable.
        name: String,
        /// The closest known variable, if one is close.
        suggestion: Option<String>,
    },
}

impl ConfigError {
    /// The dotted key path at fault, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. } | ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Read { .. }
            | ConfigError::Syntax { .. }
            | ConfigError::UnknownEnv { .. } => None,
        }
    }

    /// A validation error: `key` holds `value`, which `reason` refuses.
    pub(crate) fn invalid(
        key: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> ConfigError {
        let key = key.into();
        let value = if is_secret_key(&key) {
            Secret::REDACTED.to_owned()
        } else {
            clip(&value.to_string())
        };
        ConfigError::Invalid {
            key,
            value,
            reason: reason.into(),
            origin: Origin::Validation,
        }
    }

    /// Replaces the origin of a key error (values set from the environment or flags).
    pub(crate) fn with_origin(mut self, new_origin: Origin, raw_value: &str) -> ConfigError {
        match &mut self {
            ConfigError::Invalid {
                key, value, origin, ..
            } => {
                *value = if is_secret_key(key) {
                    Secret::REDACTED.to_owned()
                } else {
                    quote(raw_value)
                };
                *origin = new_origin;
            }
            ConfigError::UnknownKey { origin, .. } => *origin = new_origin,
            ConfigError::Read { .. }
            | ConfigError::Syntax { .. }
            | ConfigError::UnknownEnv { .. } => {}
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(
                    f,
                    "cannot read configuration file {}: {source}",
                    path.display()
                )
            }
            ConfigError::Syntax {
                file,
                line,
                column,
                message,
            } => {
                let origin = Origin::Toml {
                    file: file.clone(),
                    line: *line,
                    column: *column,
                };
                write!(f, "configuration is not valid TOML: {message}{origin}")
            }
            ConfigError::UnknownKey {
                key,
                expected,
                origin,
            } => {
                write!(f, "unknown configuration key {key}: {expected}{origin}")
            }
            ConfigError::Invalid {
                key,
                value,
                reason,
                origin,
            } if value.is_empty() => {
                write!(f, "invalid {key}: {reason}{origin}")
            }
            ConfigError::Invalid {
                key,
                value,
                reason,
                origin,
            } => {
                write!(f, "invalid {key} = {value}: {reason}{origin}")
            }
            ConfigError::UnknownEnv { name, suggestion } => {
                write!(
                    f,
                    "unknown environment variable {name}: it names no configuration key"
                )?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean {s}?)")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Keys whose values are never shown: credentials, and header values (they often are one).
pub(crate) fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    matches!(last, "api_key" | "bearer_token" | "password") || key.contains(".headers.")
}

/// Long values are cut: an error message is read by a person.
fn clip(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A raw string value shown as a TOML-ish quoted string.
pub(crate) fn quote(text: &str) -> String {
    clip(&format!("{text:?}"))
}

/// 1-based line and column (in characters) of byte `offset` in `src`.
fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Turns a TOML syntax error into a [`ConfigError::Syntax`].
pub(crate) fn syntax_error(src: &str, file: Option<PathBuf>, err: &toml::de::Error) -> ConfigError {
    let (line, column) = line_column(src, err.span().map_or(0, |s| s.start));
    ConfigError::Syntax {
        file,
        line,
        column,
        message: err.message().to_owned(),
    }
}

/// Turns a deserialisation error (wrong type, unknown variant, unknown key, bad size...) into a
/// [`ConfigError`] naming the key, found by locating the error's span in the parsed document.
pub(crate) fn de_error(
    src: &str,
    doc: &DeTable<'_>,
    file: Option<PathBuf>,
    err: &toml::de::Error,
) -> ConfigError {
    let span = err.span().unwrap_or(0..0);
    let (line, column) = line_column(src, span.start);
    let origin = Origin::Toml { file, line, column };
    let message = err.message().replace('`', "");
    let found = locate(doc, &span);
    let found = found.unwrap_or(Found {
        path: String::new(),
        span: span.clone(),
        shape: Shape::Key,
    });
    if let Some(rest) = message.strip_prefix("unknown field ") {
        // "unknown field foo, expected one of a, b" -> "expected one of a, b".
        let expected = rest.split_once(", ").map_or(rest, |(_, e)| e).to_owned();
        return ConfigError::UnknownKey {
            key: found.path,
            expected,
            origin,
        };
    }
    if let Some(field) = message.strip_prefix("missing field ") {
        let key = join_key(&found.path, field);
        let reason = "this key is required".to_owned();
        return ConfigError::Invalid {
            key,
            value: String::new(),
            reason,
            origin,
        };
    }
    let value = if is_secret_key(&found.path) {
        Secret::REDACTED.to_owned()
    } else {
        match found.shape {
            Shape::Key => String::new(),
            // A whole table or array may hold secrets: name its type, never its text.
            Shape::Compound(kind) => format!("<{kind}>"),
            Shape::Scalar => clip(src.get(found.span).unwrap_or("").trim()),
        }
    };
    ConfigError::Invalid {
        key: found.path,
        value,
        reason: message,
        origin,
    }
}

struct Found {
    path: String,
    span: Range<usize>,
    shape: Shape,
}

#[derive(Clone, Copy)]
enum Shape {
    Key,
    Scalar,
    Compound(&'static str),
}

/// The smallest key or value in `doc` whose span contains `span`, with its dotted path.
fn locate(doc: &DeTable<'_>, span: &Range<usize>) -> Option<Found> {
    let mut best: Option<Found> = None;
    walk_table(doc, "", span, &mut best);
    best
}

fn consider(
    best: &mut Option<Found>,
    path: &str,
    at: Range<usize>,
    target: &Range<usize>,
    shape: Shape,
) {
    let contains =
        // An empty span (a key's insertion point) contains only empty targets.
        at.start <= target.start && target.end <= at.end && (target.is_empty() || !at.is_empty());
    // `<=`: the walk visits parents first, so on a tie the deeper (more specific) one wins.
    let smaller = best.as_ref().is_none_or(|b| at.len() <= b.span.len());
    if contains && smaller {
        *best = Some(Found {
            path: path.to_owned(),
            span: at,
            shape,
        });
    }
}

fn walk_table(table: &DeTable<'_>, prefix: &str, target: &Range<usize>, best: &mut Option<Found>) {
    for (key, value) in table {
        let path = join_key(prefix, key.get_ref());
        consider(best, &path, key.span(), target, Shape::Key);
        walk_value(value.get_ref(), value.span(), &path, target, best);
    }
}

fn walk_value(
    value: &DeValue<'_>,
    at: Range<usize>,
    path: &str,
    target: &Range<usize>,
    best: &mut Option<Found>,
) {
    let shape = match value {
        DeValue::Table(_) | DeValue::Array(_) => Shape::Compound(value.type_str()),
        _ => Shape::Scalar,
    };
    consider(best, path, at, target, shape);
    match value {
        DeValue::Table(table) => walk_table(table, path, target, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_value(
                    item.get_ref(),
                    item.span(),
                    &format!("{path}[{i}]"),
                    target,
                    best,
                );
            }
        }
        _ => {}
    }
}

/// `prefix.key`, quoting `key` when it is not a bare TOML key (`ffi.resource."service.name"`).
pub(crate) fn join_key(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let src = "a = 1\nbb = \"é\"x\n";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, 6), (2, 1));
        let x = src.find('x').unwrap();
        assert_eq!(line_column(src, x), (2, 9));
        assert_eq!(line_column(src, 10_000), (3, 1));
    }

    #[test]
    fn secret_keys() {
        assert!(is_secret_key("forward.endpoints[0].api_key"));
        assert!(is_secret_key("forward.endpoints[0].basic_auth.password"));
        assert!(is_secret_key("forward.endpoints[2].headers.authorization"));
        assert!(!is_secret_key("forward.endpoints[0].api_key_header"));
        assert!(!is_secret_key("storage.compression"));
    }

    #[test]
    fn keys_are_quoted_when_needed() {
        assert_eq!(join_key("", "ring"), "ring");
        assert_eq!(
            join_key("ffi.resource", "service.name"),
            "ffi.resource.\"service.name\""
        );
        assert_eq!(join_key("a", "x-tenant"), "a.x-tenant");
    }

    #[test]
    fn long_values_are_clipped() {
        let long = "x".repeat(500);
        assert!(clip(&long).len() < 130);
        assert_eq!(clip("short"), "short");
    }
}
