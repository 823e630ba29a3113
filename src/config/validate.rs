//! [`Config::validate`]: the checks a parsed configuration must pass before anything starts,
//! and [`Config::non_loopback_without_tls`], the exposure warning.
//!
//! Promises: the first problem found is returned as a [`ConfigError::Invalid`] naming the key,
//! the value (`***` for credentials, URLs without their user-info) and the allowed values or
//! range. Checks are about the configuration alone: no file is opened, no address bound.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use super::AttributeValue;
use super::error::{ConfigError, is_secret_key, quote};
use super::model::{
    BreakerConfig, ClientTlsConfig, Config, ForwardEndpoint, FullPolicy, RetryConfig, SERVICE_NAME,
    ServerTlsConfig,
};
use super::secret::Secret;
use super::units::{format_duration, format_size};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Smallest ring accepted from configuration. The ring itself takes 64 bytes, but its largest
/// record is an eighth of it, and a ring under 4 KiB would split every request into crumbs.
pub const MIN_RING_BYTES: u64 = 4 * KIB;
/// Largest ring: [`Ring::MAX_CAPACITY`](crate::ring::Ring::MAX_CAPACITY).
pub const MAX_RING_BYTES: u64 = crate::ring::Ring::MAX_CAPACITY as u64;

// The breaker packs its counters into one atomic word; its field widths bound these settings,
// checked here so configuration errors name the key rather than surfacing later as a breaker
// policy error.
/// Smallest `forward.queue_bytes`.
const MIN_QUEUE_BYTES: u64 = 64 * KIB;
const MAX_BREAKER_THRESHOLD: u32 = crate::breaker::MAX_THRESHOLD;
const MAX_BREAKER_PROBES: u32 = crate::breaker::MAX_PROBES;

type Check = Result<(), ConfigError>;

impl Config {
    /// Checks the whole configuration; the first problem is returned.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key, its value and what is allowed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.output_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "output_dir",
                "\"\"",
                "must name a directory",
            ));
        }
        self.check_receiver()?;
        self.check_listeners_distinct()?;
        self.check_ring()?;
        self.check_storage()?;
        positive("shutdown.deadline", self.shutdown.deadline)?;
        check_log_level(&self.log.level)?;
        if self.forward.queue_bytes < MIN_QUEUE_BYTES {
            return Err(ConfigError::invalid(
                "forward.queue_bytes",
                quote(&format_size(self.forward.queue_bytes)),
                format!("expected at least {}", format_size(MIN_QUEUE_BYTES)),
            ));
        }
        check_retry(&self.forward.retry)?;
        check_breaker(&self.forward.breaker)?;
        for (i, endpoint) in self.forward.endpoints.iter().enumerate() {
            check_endpoint(&format!("forward.endpoints[{i}]"), endpoint)?;
        }
        self.check_ffi()
    }

    /// The listeners that bind a non-loopback address without TLS, as (key, address): the
    /// service logs a warning for each. The admin listener never has TLS, so it is listed
    /// whenever it is enabled on a non-loopback address.
    pub fn non_loopback_without_tls(&self) -> Vec<(&'static str, SocketAddr)> {
        let r = &self.receiver;
        let tls = r.tls.enabled();
        [
            ("receiver.grpc_addr", r.grpc_enabled && !tls, r.grpc_addr),
            ("receiver.http_addr", r.http_enabled && !tls, r.http_addr),
            ("admin.addr", self.admin.enabled, self.admin.addr),
        ]
        .into_iter()
        .filter(|&(_, plain, addr)| plain && !addr.ip().is_loopback())
        .map(|(key, _, addr)| (key, addr))
        .collect()
    }

    fn check_receiver(&self) -> Check {
        let r = &self.receiver;
        within_size("receiver.max_message_bytes", r.max_message_bytes, KIB, GIB)?;
        if r.max_decompressed_bytes < r.max_message_bytes {
            return Err(ConfigError::invalid(
                "receiver.max_decompressed_bytes",
                quote(&format_size(r.max_decompressed_bytes)),
                format!(
                    "must be at least receiver.max_message_bytes ({})",
                    format_size(r.max_message_bytes)
                ),
            ));
        }
        within_size(
            "receiver.max_decompressed_bytes",
            r.max_decompressed_bytes,
            KIB,
            4 * GIB,
        )?;
        within_duration(
            "receiver.retry_after",
            r.retry_after,
            Duration::from_millis(1),
            Duration::from_secs(3600),
        )?;
        within_duration(
            "receiver.wait_for_room",
            r.wait_for_room,
            Duration::ZERO,
            Duration::from_secs(60),
        )?;
        check_server_tls(&r.tls)
    }

    fn check_listeners_distinct(&self) -> Check {
        let r = &self.receiver;
        let listeners = [
            ("receiver.grpc_addr", r.grpc_enabled, r.grpc_addr),
            ("receiver.http_addr", r.http_enabled, r.http_addr),
            ("admin.addr", self.admin.enabled, self.admin.addr),
        ];
        let enabled: Vec<_> = listeners.iter().filter(|l| l.1).collect();
        for (i, &&(key, _, addr)) in enabled.iter().enumerate() {
            for &&(earlier, _, other) in &enabled[..i] {
                let overlap = addr.ip() == other.ip()
                    || addr.ip().is_unspecified()
                    || other.ip().is_unspecified();
                if addr.port() != 0 && addr.port() == other.port() && overlap {
                    return Err(ConfigError::invalid(
                        key,
                        quote(&addr.to_string()),
                        format!(
                            "conflicts with {earlier} = {}; each listener needs its own port",
                            quote(&other.to_string())
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_ring(&self) -> Check {
        let ring = &self.ring;
        for (key, bytes) in [
            ("ring.traces", ring.traces),
            ("ring.metrics", ring.metrics),
            ("ring.logs", ring.logs),
        ] {
            if !bytes.is_power_of_two() || !(MIN_RING_BYTES..=MAX_RING_BYTES).contains(&bytes) {
                return Err(ConfigError::invalid(
                    key,
                    quote(&format_size(bytes)),
                    format!(
                        "expected a power of two from {} to {} (e.g. \"16MiB\")",
                        format_size(MIN_RING_BYTES),
                        format_size(MAX_RING_BYTES)
                    ),
                ));
            }
        }
        if ring.full_policy == FullPolicy::Wait {
            within_duration(
                "ring.wait_timeout",
                ring.wait_timeout,
                Duration::from_nanos(1),
                Duration::from_secs(60),
            )?;
        }
        Ok(())
    }

    fn check_storage(&self) -> Check {
        let s = &self.storage;
        if !(1..=1 << 20).contains(&s.max_batch_rows) {
            return Err(ConfigError::invalid(
                "storage.max_batch_rows",
                s.max_batch_rows,
                "expected 1 to 1048576 rows",
            ));
        }
        positive("storage.flush_interval", s.flush_interval)?;
        within_size(
            "storage.max_file_bytes",
            s.max_file_bytes,
            64 * KIB,
            64 * GIB,
        )?;
        positive("storage.max_file_age", s.max_file_age)?;
        // zstd's own bounds (ZSTD_minCLevel, ZSTD_maxCLevel); arrow-ipc checks the same.
        if !(-(1 << 17)..=22).contains(&s.zstd_level) {
            return Err(ConfigError::invalid(
                "storage.zstd_level",
                s.zstd_level,
                "expected a zstd level from -131072 (fastest) to 22 (smallest)",
            ));
        }
        if s.max_total_bytes != 0 && s.max_total_bytes < s.max_file_bytes {
            return Err(ConfigError::invalid(
                "storage.max_total_bytes",
                quote(&format_size(s.max_total_bytes)),
                format!(
                    "expected 0 (no limit) or at least storage.max_file_bytes ({})",
                    format_size(s.max_file_bytes)
                ),
            ));
        }
        Ok(())
    }

    fn check_ffi(&self) -> Check {
        for key in self.ffi.resource.keys() {
            if key.is_empty() {
                return Err(ConfigError::invalid(
                    "ffi.resource",
                    "\"\"",
                    "attribute names must not be empty",
                ));
            }
        }
        match self.ffi.resource.get(SERVICE_NAME) {
            Some(AttributeValue::String(name)) if !name.is_empty() => Ok(()),
            Some(other) => Err(ConfigError::invalid(
                "ffi.resource.\"service.name\"",
                format!("{other:?}"),
                "expected a non-empty string",
            )),
            // Deserialisation inserts the default; only a hand-built Config can lack it.
            None => Err(ConfigError::invalid(
                "ffi.resource.\"service.name\"",
                "<missing>",
                "expected a non-empty string",
            )),
        }
    }
}

fn positive(key: &str, d: Duration) -> Check {
    within_duration(key, d, Duration::from_nanos(1), Duration::MAX)
}

fn within_duration(key: &str, d: Duration, min: Duration, max: Duration) -> Check {
    if (min..=max).contains(&d) {
        return Ok(());
    }
    let reason = match (min.is_zero(), max == Duration::MAX) {
        (false, true) => "expected a duration greater than zero".to_owned(),
        (true, false) => format!("expected at most {}", format_duration(max)),
        _ => format!(
            "expected {} to {}",
            format_duration(min),
            format_duration(max)
        ),
    };
    Err(ConfigError::invalid(
        key,
        quote(&format_duration(d)),
        reason,
    ))
}

fn within_size(key: &str, bytes: u64, min: u64, max: u64) -> Check {
    if (min..=max).contains(&bytes) {
        return Ok(());
    }
    Err(ConfigError::invalid(
        key,
        quote(&format_size(bytes)),
        format!("expected {} to {}", format_size(min), format_size(max)),
    ))
}

fn check_server_tls(tls: &ServerTlsConfig) -> Check {
    match (&tls.cert_path, &tls.key_path) {
        (Some(_), None) => Err(ConfigError::invalid(
            "receiver.tls.key_path",
            "<unset>",
            "receiver.tls.cert_path is set, so the key is required too",
        )),
        (None, Some(_)) => Err(ConfigError::invalid(
            "receiver.tls.cert_path",
            "<unset>",
            "receiver.tls.key_path is set, so the certificate is required too",
        )),
        (Some(cert), Some(key)) => {
            not_empty_path("receiver.tls.cert_path", cert)?;
            not_empty_path("receiver.tls.key_path", key)
        }
        (None, None) => Ok(()),
    }
}

fn not_empty_path(key: &str, path: &std::path::Path) -> Check {
    if path.as_os_str().is_empty() {
        return Err(ConfigError::invalid(key, "\"\"", "expected a file path"));
    }
    Ok(())
}

fn check_log_level(level: &str) -> Check {
    // A light check: the tracing filter parser lives with the binary. This catches the
    // empty and the obviously mangled (control characters, from a broken env file).
    if level.trim().is_empty() || level.chars().any(char::is_control) {
        return Err(ConfigError::invalid(
            "log.level",
            quote(level),
            "expected a tracing filter such as \"info\" or \"warn,otlp_arrow=debug\"",
        ));
    }
    Ok(())
}

fn check_retry(retry: &RetryConfig) -> Check {
    positive("forward.retry.initial_backoff", retry.initial_backoff)?;
    if retry.max_backoff < retry.initial_backoff {
        return Err(ConfigError::invalid(
            "forward.retry.max_backoff",
            quote(&format_duration(retry.max_backoff)),
            format!(
                "expected at least forward.retry.initial_backoff ({})",
                format_duration(retry.initial_backoff)
            ),
        ));
    }
    positive("forward.retry.max_elapsed", retry.max_elapsed)?;
    positive("forward.retry.max_server_delay", retry.max_server_delay)
}

fn check_breaker(b: &BreakerConfig) -> Check {
    for (key, value, max) in [
        (
            "forward.breaker.failure_threshold",
            b.failure_threshold,
            MAX_BREAKER_THRESHOLD,
        ),
        (
            "forward.breaker.half_open_probes",
            b.half_open_probes,
            MAX_BREAKER_PROBES,
        ),
        (
            "forward.breaker.success_threshold",
            b.success_threshold,
            MAX_BREAKER_THRESHOLD,
        ),
    ] {
        if !(1..=max).contains(&value) {
            return Err(ConfigError::invalid(
                key,
                value,
                format!("expected 1 to {max}"),
            ));
        }
    }
    positive("forward.breaker.open_duration", b.open_duration)
}

fn check_endpoint(at: &str, e: &ForwardEndpoint) -> Check {
    let key = |k: &str| format!("{at}.{k}");
    let url = parse_url(&e.url)
        .map_err(|reason| ConfigError::invalid(key("url"), quote(&redact_url(&e.url)), reason))?;

    if e.signals.is_empty() {
        return Err(ConfigError::invalid(
            key("signals"),
            "[]",
            "expected one or more of traces, metrics, logs",
        ));
    }
    let unique: BTreeSet<_> = e.signals.iter().collect();
    if unique.len() != e.signals.len() {
        return Err(ConfigError::invalid(
            key("signals"),
            format!("{:?}", e.signals),
            "lists a signal twice",
        ));
    }

    check_header_name(&key("api_key_header"), &e.api_key_header)?;
    for (name, value) in &e.headers {
        let header_key = super::error::join_key(&key("headers"), name);
        check_header_name(&header_key, name)?;
        if value.chars().any(|c| c.is_control() && c != '\t') || !value.is_ascii() {
            return Err(ConfigError::invalid(
                header_key,
                value,
                "expected visible ASCII characters (no line breaks)",
            ));
        }
    }

    let secrets = [
        ("api_key", e.api_key.as_ref()),
        ("bearer_token", e.bearer_token.as_ref()),
        (
            "basic_auth.password",
            e.basic_auth.as_ref().map(|b| &b.password),
        ),
    ];
    for (name, secret) in secrets {
        let Some(secret) = secret else { continue };
        let value = secret.expose();
        let reason = if value.is_empty() {
            "must not be empty"
        } else if value == Secret::REDACTED {
            "is the redaction placeholder \"***\": write the real credential"
        } else if value.chars().any(char::is_control) {
            "must not contain control characters or line breaks"
        } else {
            continue;
        };
        debug_assert!(is_secret_key(&key(name)));
        return Err(ConfigError::invalid(key(name), Secret::REDACTED, reason));
    }
    if let Some(basic) = &e.basic_auth
        && (basic.username.is_empty()
            || basic.username.contains(':')
            || basic.username.chars().any(char::is_control))
    {
        return Err(ConfigError::invalid(
            key("basic_auth.username"),
            quote(&basic.username),
            "expected a non-empty user name without ':' or control characters",
        ));
    }

    let authorization_users: Vec<&str> = [
        e.bearer_token.as_ref().map(|_| "bearer_token"),
        e.basic_auth.as_ref().map(|_| "basic_auth"),
        e.api_key
            .as_ref()
            .filter(|_| e.api_key_header.eq_ignore_ascii_case("authorization"))
            .map(|_| "api_key"),
        e.headers
            .keys()
            .find(|h| h.eq_ignore_ascii_case("authorization"))
            .map(|_| "headers.authorization"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let [first, second, ..] = authorization_users[..] {
        return Err(ConfigError::invalid(
            key(second),
            Secret::REDACTED,
            format!("both {first} and {second} set the authorization header; keep one"),
        ));
    }
    if e.api_key.is_some()
        && e.headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case(&e.api_key_header))
    {
        return Err(ConfigError::invalid(
            key("api_key_header"),
            quote(&e.api_key_header),
            "is also set in headers; keep one",
        ));
    }

    if !url.tls {
        if e.has_credentials() && !e.allow_insecure {
            return Err(ConfigError::invalid(
                key("url"),
                quote(&redact_url(&e.url)),
                "credentials would be sent in clear text over http://; use https:// or set allow_insecure = true",
            ));
        }
        if e.tls.is_set() {
            return Err(ConfigError::invalid(
                key("tls"),
                "<table>",
                "TLS files are set but the URL is http://; use https://",
            ));
        }
    }
    check_client_tls(&key("tls"), &e.tls)?;

    within_duration(
        &key("timeout"),
        e.timeout,
        Duration::from_millis(1),
        Duration::from_secs(600),
    )?;
    within_size(
        &key("max_request_bytes"),
        e.max_request_bytes,
        KIB,
        256 * MIB,
    )?;
    if e.max_request_items == 0 {
        return Err(ConfigError::invalid(
            key("max_request_items"),
            0,
            "expected 1 or more",
        ));
    }
    if !(1..=256).contains(&e.max_in_flight) {
        return Err(ConfigError::invalid(
            key("max_in_flight"),
            e.max_in_flight,
            "expected 1 to 256",
        ));
    }
    Ok(())
}

fn check_client_tls(at: &str, tls: &ClientTlsConfig) -> Check {
    match (&tls.client_cert_path, &tls.client_key_path) {
        (Some(_), None) => Err(ConfigError::invalid(
            format!("{at}.client_key_path"),
            "<unset>",
            format!("{at}.client_cert_path is set, so the key is required too"),
        )),
        (None, Some(_)) => Err(ConfigError::invalid(
            format!("{at}.client_cert_path"),
            "<unset>",
            format!("{at}.client_key_path is set, so the certificate is required too"),
        )),
        _ => {
            for (name, path) in [
                ("ca_path", &tls.ca_path),
                ("client_cert_path", &tls.client_cert_path),
                ("client_key_path", &tls.client_key_path),
            ] {
                if let Some(path) = path {
                    not_empty_path(&format!("{at}.{name}"), path)?;
                }
            }
            Ok(())
        }
    }
}

/// An HTTP field name: an RFC 9110 token.
fn check_header_name(key: &str, name: &str) -> Check {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(ConfigError::invalid(
            key,
            quote(name),
            "expected a header name made of letters, digits and !#$%&'*+-.^_`|~",
        ));
    }
    Ok(())
}

/// The parts of a forward URL that configuration checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlParts {
    /// `https://`.
    pub(crate) tls: bool,
    /// Host name or IP literal (IPv6 without brackets).
    pub(crate) host: String,
    /// Explicit port, if any.
    pub(crate) port: Option<u16>,
}

/// Checks the shape of an `http(s)://host[:port][/path]` URL. Not a general URL parser: just
/// enough to refuse what a forwarder cannot use, with a reason that says why.
pub(crate) fn parse_url(url: &str) -> Result<UrlParts, String> {
    const SHAPE: &str = "expected an http:// or https:// URL such as \"https://collector:4317\"";
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("contains spaces or control characters; {SHAPE}"));
    }
    let (scheme, rest) = url.split_once("://").ok_or_else(|| SHAPE.to_owned())?;
    let tls = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return Err(format!("unsupported scheme; {SHAPE}"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(
            "user name or password in the URL; use basic_auth, bearer_token or api_key".to_owned(),
        );
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("unclosed IPv6 address; {SHAPE}"))?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("invalid IPv6 address; {SHAPE}"));
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or_else(|| SHAPE.to_owned())?),
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok =
        |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' || c == ':';
    if host.is_empty() || !host.chars().all(host_ok) {
        return Err(format!("missing or invalid host; {SHAPE}"));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(format!("invalid port, expected 1 to 65535; {SHAPE}")),
        },
    };
    Ok(UrlParts {
        tls,
        host: host.to_owned(),
        port,
    })
}

/// `url` with any user-info replaced by `***` (for messages and `Debug`).
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}@{}", Secret::REDACTED, &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let p = parse_url("https://collector.example.com:4317").unwrap();
        assert_eq!(
            p,
            UrlParts {
                tls: true,
                host: "collector.example.com".into(),
                port: Some(4317)
            }
        );
        let p = parse_url("HTTP://[::1]:4318/base").unwrap();
        assert_eq!(
            p,
            UrlParts {
                tls: false,
                host: "::1".into(),
                port: Some(4318)
            }
        );
        assert_eq!(parse_url("http://localhost").unwrap().port, None);
        for bad in [
            "collector:4317",
            "ftp://x",
            "http://",
            "http://:4317",
            "http://host:0",
            "http://host:99999",
            "http://host:+80",
            "http://a b",
            "http://[::1",
            "http://[zz]:1",
            "https://user:pw@host",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert!(
            parse_url("https://u:pw@h")
                .unwrap_err()
                .contains("basic_auth")
        );
    }

    #[test]
    fn url_user_info_is_redacted() {
        assert_eq!(redact_url("https://u:pw@h:1/p@x"), "https://***@h:1/p@x");
        assert_eq!(redact_url("https://h/p@x"), "https://h/p@x");
        assert_eq!(redact_url("no scheme"), "no scheme");
    }
}
