//! Setting scalar keys from text: `OTLP_ARROW_*` environment variables, command-line flags
//! ([`Overrides`]) and [`Config::set`] all end here.
//!
//! The mapping is generic: every scalar key of the configuration, at any depth, is
//! `OTLP_ARROW_` + its dotted path upper-cased with `.` -> `_` (`storage.compression` ->
//! `OTLP_ARROW_STORAGE_COMPRESSION`, `forward.retry.max_backoff` ->
//! `OTLP_ARROW_FORWARD_RETRY_MAX_BACKOFF`). The key list is derived from the model itself, so a
//! new field is reachable without touching this file. Not reachable this way: the
//! `[ffi.resource]` attribute table (its keys are free-form) and the `[[forward.endpoints]]`
//! list, which is replaced whole by `OTLP_ARROW_FORWARD_ENDPOINT` / `--forward-endpoint`.
//!
//! Values are text; each is read as the key's type would be in TOML (booleans `true`/`false`,
//! integers, strings; sizes and durations as their strings). An empty value resets the key to
//! its default. The patched configuration goes through the same deserialiser as a file, so
//! every error is the same error, naming the key, the variable or flag, and the value.
//!
//! Promises: the process environment is never read here (callers pass it in); an
//! `OTLP_ARROW_` variable that names no key is an error, with the closest name suggested.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::OnceLock;

use toml::{Table, Value};

use super::error::{ConfigError, Origin, quote};
use super::model::{Config, ForwardEndpoint, full_example};
use super::validate::{parse_url, redact_url};

/// Prefix of every configuration environment variable.
pub const ENV_PREFIX: &str = "OTLP_ARROW_";

/// `OTLP_ARROW_` variables that belong to other parts of the project, not to the configuration:
/// `OTLP_ARROW_LIB` tells the Python package where the shared library is.
pub(super) const NOT_CONFIG: &[&str] = &["OTLP_ARROW_LIB"];

/// Pseudo-key that replaces `forward.endpoints` with one endpoint at the given URL, every other
/// endpoint setting at its default (an empty value clears the list). Its environment variable
/// is `OTLP_ARROW_FORWARD_ENDPOINT`, its flag `--forward-endpoint`.
pub const FORWARD_ENDPOINT_KEY: &str = "forward.endpoint";

/// Tables whose entries are not settable one by one (see the module docs).
const NOT_SETTABLE: &[&str] = &["ffi.resource", "forward.endpoints"];

/// Command-line overrides, applied after the file and the environment. The service binary maps
/// its flags onto these; `None` leaves the key alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--output-dir DIR` -> `output_dir`.
    pub output_dir: Option<PathBuf>,
    /// `--grpc-addr ADDR` -> `receiver.grpc_addr`.
    pub grpc_addr: Option<String>,
    /// `--http-addr ADDR` -> `receiver.http_addr`.
    pub http_addr: Option<String>,
    /// `--admin-addr ADDR` -> `admin.addr`.
    pub admin_addr: Option<String>,
    /// `--forward-endpoint URL` -> [`FORWARD_ENDPOINT_KEY`].
    pub forward_endpoint: Option<String>,
    /// `--log-format text|json` -> `log.format`.
    pub log_format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Integer,
    Float,
    Text,
}

#[derive(Debug)]
struct KeyInfo {
    path: String,
    env: String,
    kind: Kind,
}

/// Every settable scalar key, derived once from the full example configuration.
fn schema() -> &'static [KeyInfo] {
    static SCHEMA: OnceLock<Vec<KeyInfo>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut keys = Vec::new();
        // The example serialises: it is built from plain values and UTF-8 paths.
        if let Ok(table) = Table::try_from(full_example()) {
            collect(&table, "", &mut keys);
        }
        keys.push(KeyInfo {
            path: FORWARD_ENDPOINT_KEY.to_owned(),
            env: env_var_name(FORWARD_ENDPOINT_KEY),
            kind: Kind::Text,
        });
        keys.sort_by(|a, b| a.path.cmp(&b.path));
        keys
    })
}

fn collect(table: &Table, prefix: &str, out: &mut Vec<KeyInfo>) {
    for (name, value) in table {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if NOT_SETTABLE.contains(&path.as_str()) {
            continue;
        }
        let kind = match value {
            Value::Table(inner) => {
                collect(inner, &path, out);
                continue;
            }
            Value::Array(_) | Value::Datetime(_) => continue,
            Value::Boolean(_) => Kind::Bool,
            Value::Integer(_) => Kind::Integer,
            Value::Float(_) => Kind::Float,
            Value::String(_) => Kind::Text,
        };
        out.push(KeyInfo {
            env: env_var_name(&path),
            path,
            kind,
        });
    }
}

/// The environment variable for a dotted key: `storage.compression` ->
/// `OTLP_ARROW_STORAGE_COMPRESSION`.
pub fn env_var_name(key: &str) -> String {
    let mut name = String::with_capacity(ENV_PREFIX.len() + key.len());
    name.push_str(ENV_PREFIX);
    name.extend(key.chars().map(|c| {
        if c == '.' {
            '_'
        } else {
            c.to_ascii_uppercase()
        }
    }));
    name
}

struct Pair {
    key: &'static str,
    kind: Kind,
    value: String,
    origin: Origin,
}

fn lookup(key: &str) -> Option<&'static KeyInfo> {
    schema().iter().find(|k| k.path == key)
}

fn pair(info: &'static KeyInfo, value: String, origin: Origin) -> Pair {
    Pair {
        key: &info.path,
        kind: info.kind,
        value,
        origin,
    }
}

impl Config {
    /// Every key that [`Config::set`], the environment and flags can set, dotted, sorted;
    /// [`FORWARD_ENDPOINT_KEY`] included.
    pub fn settable_keys() -> Vec<&'static str> {
        schema().iter().map(|k| k.path.as_str()).collect()
    }

    /// Sets one scalar key from text, as an environment variable would
    /// (`config.set("storage.compression", "zstd")`). An empty value resets the key.
    ///
    /// # Errors
    /// [`ConfigError::UnknownKey`] if `key` is not in [`Config::settable_keys`];
    /// [`ConfigError::Invalid`] if the value does not parse for it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let info = lookup(key).ok_or_else(|| unknown_key(key))?;
        self.apply_pairs(vec![pair(info, value.to_owned(), Origin::Set)])
    }

    /// Applies `OTLP_ARROW_*` variables from `vars` (pass `std::env::vars_os()` in the
    /// service; tests pass a list). Other variables are ignored.
    ///
    /// # Errors
    /// [`ConfigError::UnknownEnv`] for an `OTLP_ARROW_` variable that names no key;
    /// [`ConfigError::Invalid`] (origin [`Origin::Env`]) for a value that does not parse or is
    /// not UTF-8. On error `self` is unchanged.
    pub fn apply_env<I, K, V>(&mut self, vars: I) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut pairs = Vec::new();
        for (name, value) in vars {
            let name = name.as_ref().to_string_lossy();
            if !name.starts_with(ENV_PREFIX) || NOT_CONFIG.contains(&name.as_ref()) {
                continue;
            }
            let Some(info) = schema().iter().find(|k| k.env == name) else {
                return Err(ConfigError::UnknownEnv {
                    suggestion: suggest(&name),
                    name: name.into_owned(),
                });
            };
            let origin = Origin::Env(name.into_owned());
            let Some(value) = value.as_ref().to_str() else {
                return Err(ConfigError::Invalid {
                    key: info.path.clone(),
                    value: quote(&value.as_ref().to_string_lossy()),
                    reason: "not valid UTF-8".to_owned(),
                    origin,
                });
            };
            pairs.push(pair(info, value.to_owned(), origin));
        }
        self.apply_pairs(pairs)
    }

    /// Applies command-line overrides (after the file and the environment).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] (origin [`Origin::Flag`]) for a value that does not parse.
    /// On error `self` is unchanged.
    pub fn apply_overrides(&mut self, overrides: &Overrides) -> Result<(), ConfigError> {
        let flags = [
            ("--grpc-addr", "receiver.grpc_addr", &overrides.grpc_addr),
            ("--http-addr", "receiver.http_addr", &overrides.http_addr),
            ("--admin-addr", "admin.addr", &overrides.admin_addr),
            (
                "--forward-endpoint",
                FORWARD_ENDPOINT_KEY,
                &overrides.forward_endpoint,
            ),
            ("--log-format", "log.format", &overrides.log_format),
        ];
        let mut pairs = Vec::new();
        for (flag, key, value) in flags {
            let (Some(value), Some(info)) = (value, lookup(key)) else {
                continue;
            };
            pairs.push(pair(info, value.clone(), Origin::Flag(flag.to_owned())));
        }
        self.apply_pairs(pairs)?;
        // Set directly rather than as text: a path need not be UTF-8.
        if let Some(dir) = &overrides.output_dir {
            self.output_dir = dir.clone();
        }
        Ok(())
    }

    /// Patches the serialised configuration with `pairs` and deserialises it again, so text
    /// values get exactly the parsing (and errors) a file would. All or nothing.
    fn apply_pairs(&mut self, pairs: Vec<Pair>) -> Result<(), ConfigError> {
        let (endpoint, scalars): (Vec<Pair>, Vec<Pair>) = pairs
            .into_iter()
            .partition(|p| p.key == FORWARD_ENDPOINT_KEY);
        let mut next = if scalars.is_empty() {
            self.clone()
        } else {
            self.patched(&scalars)?
        };
        if let Some(p) = endpoint.last() {
            next.forward.endpoints = if p.value.is_empty() {
                Vec::new()
            } else {
                parse_url(&p.value).map_err(|reason| ConfigError::Invalid {
                    key: FORWARD_ENDPOINT_KEY.to_owned(),
                    value: quote(&redact_url(&p.value)),
                    reason,
                    origin: p.origin.clone(),
                })?;
                vec![ForwardEndpoint::new(p.value.clone())]
            };
        }
        *self = next;
        Ok(())
    }

    fn patched(&self, pairs: &[Pair]) -> Result<Config, ConfigError> {
        let mut table = Table::try_from(self).map_err(|e| unrepresentable(self, &e))?;
        // Endpoints hold secrets, which serialise redacted: keep them out of the round trip
        // and carry them over as they are (no scalar key reaches inside the list).
        if let Some(Value::Table(forward)) = table.get_mut("forward") {
            forward.remove("endpoints");
        }
        for p in pairs {
            set_path(&mut table, p.key, typed(p.kind, &p.value));
        }
        let text = toml::to_string(&table).map_err(|e| unrepresentable(self, &e))?;
        let mut next = Config::parse(&text, None).map_err(|err| {
            let found = err.key().and_then(|k| {
                pairs
                    .iter()
                    .rev()
                    .find(|p| k == p.key || k.starts_with(&format!("{}.", p.key)))
            });
            match found {
                Some(p) => err.with_origin(p.origin.clone(), &p.value),
                None => err,
            }
        })?;
        next.forward.endpoints = self.forward.endpoints.clone();
        Ok(next)
    }
}

/// The TOML value for `text` given the key's type; `None` (empty text) removes the key.
/// Text that does not fit the type stays a string, and the deserialiser says what it expected.
fn typed(kind: Kind, text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    let value = match kind {
        Kind::Bool if text.eq_ignore_ascii_case("true") => Value::Boolean(true),
        Kind::Bool if text.eq_ignore_ascii_case("false") => Value::Boolean(false),
        Kind::Integer => text
            .trim()
            .parse()
            .map_or_else(|_| Value::String(text.to_owned()), Value::Integer),
        Kind::Float => text
            .trim()
            .parse()
            .map_or_else(|_| Value::String(text.to_owned()), Value::Float),
        Kind::Bool | Kind::Text => Value::String(text.to_owned()),
    };
    Some(value)
}

/// Sets (or with `None` removes) `a.b.c` in `table`, creating tables on the way.
fn set_path(table: &mut Table, path: &str, value: Option<Value>) {
    let mut segments: Vec<&str> = path.split('.').collect();
    let Some(last) = segments.pop() else { return };
    let mut current = table;
    for segment in segments {
        let entry = current
            .entry(segment.to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(inner) = entry else { return };
        current = inner;
    }
    match value {
        Some(v) => {
            current.insert(last.to_owned(), v);
        }
        None => {
            current.remove(last);
        }
    }
}

fn unrepresentable(config: &Config, err: &toml::ser::Error) -> ConfigError {
    if config.output_dir.to_str().is_none() {
        return ConfigError::invalid(
            "output_dir",
            quote(&config.output_dir.to_string_lossy()),
            "not valid UTF-8, so other keys cannot be set from text; set output_dir last",
        );
    }
    ConfigError::invalid(
        "",
        "<configuration>",
        format!("cannot be written as TOML: {err}"),
    )
}

fn unknown_key(key: &str) -> ConfigError {
    let section = key.split('.').next().unwrap_or("");
    let near: Vec<&str> = schema()
        .iter()
        .map(|k| k.path.as_str())
        .filter(|p| p.split('.').next() == Some(section))
        .collect();
    let expected = if near.is_empty() {
        "expected a key from Config::settable_keys()".to_owned()
    } else {
        format!("expected one of {}", near.join(", "))
    };
    ConfigError::UnknownKey {
        key: key.to_owned(),
        expected,
        origin: Origin::Set,
    }
}

/// The known variable closest to `name`, if within a few edits.
fn suggest(name: &str) -> Option<String> {
    schema()
        .iter()
        .map(|k| (edit_distance(&k.env, name), &k.env))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, env)| env.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<u8> = b.bytes().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_unique_and_cover_nested_keys() {
        let names: std::collections::BTreeSet<_> =
            schema().iter().map(|k| k.env.as_str()).collect();
        assert_eq!(names.len(), schema().len(), "two keys map to one variable");
        for env in [
            "OTLP_ARROW_OUTPUT_DIR",
            "OTLP_ARROW_RECEIVER_GRPC_ADDR",
            "OTLP_ARROW_RECEIVER_TLS_CERT_PATH",
            "OTLP_ARROW_STORAGE_COMPRESSION",
            "OTLP_ARROW_FORWARD_RETRY_MAX_BACKOFF",
            "OTLP_ARROW_FORWARD_BREAKER_FAILURE_THRESHOLD",
            "OTLP_ARROW_FORWARD_ENDPOINT",
            "OTLP_ARROW_FFI_SCOPE_VERSION",
        ] {
            assert!(names.contains(env), "{env} missing");
        }
        assert!(
            !names
                .iter()
                .any(|n| n.contains("RESOURCE") || n.contains("ENDPOINTS"))
        );
    }

    #[test]
    fn kinds_follow_the_model() {
        let kind = |k: &str| lookup(k).map(|i| i.kind);
        assert_eq!(kind("receiver.grpc_enabled"), Some(Kind::Bool));
        assert_eq!(kind("storage.max_batch_rows"), Some(Kind::Integer));
        assert_eq!(kind("ring.traces"), Some(Kind::Text));
        assert_eq!(kind("ffi.scope.version"), Some(Kind::Text));
    }

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(
            suggest("OTLP_ARROW_RECEIVER_GRPC_ADR").as_deref(),
            Some("OTLP_ARROW_RECEIVER_GRPC_ADDR")
        );
        assert_eq!(suggest("OTLP_ARROW_SOMETHING_ELSE_ENTIRELY"), None);
    }

    #[test]
    fn set_path_creates_and_removes() {
        let mut t = Table::new();
        set_path(&mut t, "a.b.c", Some(Value::Integer(1)));
        assert_eq!(t["a"]["b"]["c"].as_integer(), Some(1));
        set_path(&mut t, "a.b.c", None);
        assert!(t["a"]["b"].as_table().is_some_and(Table::is_empty));
    }
}
