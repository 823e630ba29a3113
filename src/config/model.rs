//! The configuration's shape: one struct per TOML section, every field with its default.
//!
//! Promises: every struct is `#[serde(default, deny_unknown_fields)]` (a missing key takes its
//! default, a misspelt key is an error); `Default` here, `default.toml` and the docs say the
//! same thing (a test checks the first two agree); sizes are `u64` bytes and durations
//! [`Duration`]s however the file spelt them.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::secret::Secret;
use super::units::{duration, size};
use crate::signal::Signal;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

const fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

/// The whole configuration of otlp-arrow. See the [module docs](super) for how it is layered.
///
/// `Serialize` writes secrets as `***`: a serialised configuration is for showing, not for
/// storing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Root of the stored files: `<output_dir>/traces/`, `metrics/`, `logs/`.
    pub output_dir: PathBuf,
    /// `[receiver]`: the OTLP gRPC and HTTP listeners.
    pub receiver: ReceiverConfig,
    /// `[admin]`: health and metrics HTTP listener.
    pub admin: AdminConfig,
    /// `[ring]`: the per-signal in-memory rings.
    pub ring: RingConfig,
    /// `[storage]`: Arrow IPC files, rotation and retention.
    pub storage: StorageConfig,
    /// `[shutdown]`: graceful stop.
    pub shutdown: ShutdownConfig,
    /// `[log]`: the service's own logging.
    pub log: LogConfig,
    /// `[forward]`: OTLP forwarding to collectors.
    pub forward: ForwardConfig,
    /// `[ffi]`: records made in-process (C ABI, Python, Rust API).
    pub ffi: FfiConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            output_dir: PathBuf::from("./otlp-data"),
            receiver: ReceiverConfig::default(),
            admin: AdminConfig::default(),
            ring: RingConfig::default(),
            storage: StorageConfig::default(),
            shutdown: ShutdownConfig::default(),
            log: LogConfig::default(),
            forward: ForwardConfig::default(),
            ffi: FfiConfig::default(),
        }
    }
}

/// `[receiver]`: OTLP over gRPC and HTTP from remote clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Serve OTLP/gRPC.
    pub grpc_enabled: bool,
    /// OTLP/gRPC listen address (IP:port; port 0 picks a free port).
    #[serde(with = "socket_addr")]
    pub grpc_addr: SocketAddr,
    /// Serve OTLP/HTTP (protobuf and JSON).
    pub http_enabled: bool,
    /// OTLP/HTTP listen address.
    #[serde(with = "socket_addr")]
    pub http_addr: SocketAddr,
    /// Largest request body accepted, as sent (compressed), in bytes.
    #[serde(with = "size")]
    pub max_message_bytes: u64,
    /// Largest request body after decompression, in bytes: the gzip-bomb guard.
    #[serde(with = "size")]
    pub max_decompressed_bytes: u64,
    /// Retry advice sent with RESOURCE_EXHAUSTED / 429 / 503 when a ring is full (HTTP's
    /// `Retry-After` rounds it up to whole seconds).
    #[serde(with = "duration")]
    pub retry_after: Duration,
    /// How long a request may wait for ring room before it is refused as overloaded.
    #[serde(with = "duration")]
    pub wait_for_room: Duration,
    /// `[receiver.tls]`: serve both listeners over TLS when both paths are set.
    pub tls: ServerTlsConfig,
}

impl Default for ReceiverConfig {
    fn default() -> ReceiverConfig {
        ReceiverConfig {
            grpc_enabled: true,
            grpc_addr: loopback(4317),
            http_enabled: true,
            http_addr: loopback(4318),
            max_message_bytes: 4 * MIB,
            max_decompressed_bytes: 32 * MIB,
            retry_after: Duration::from_secs(1),
            wait_for_room: Duration::ZERO,
            tls: ServerTlsConfig::default(),
        }
    }
}

/// `[receiver.tls]`: server certificate and key, PEM files. Both or neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// Certificate chain (PEM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_path: Option<PathBuf>,
    /// Private key (PEM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_path: Option<PathBuf>,
}

impl ServerTlsConfig {
    /// Whether TLS is configured (a certificate is set; validation ensures the key is too).
    pub fn enabled(&self) -> bool {
        self.cert_path.is_some()
    }
}

/// `[admin]`: `/health`, `/ready` and `/metrics` (Prometheus text) over plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Serve the admin endpoints.
    pub enabled: bool,
    /// Admin listen address.
    #[serde(with = "socket_addr")]
    pub addr: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> AdminConfig {
        AdminConfig {
            enabled: true,
            addr: loopback(13133),
        }
    }
}

/// `[ring]`: one preallocated ring per signal; memory never grows past these sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RingConfig {
    /// Traces ring, bytes (a power of two).
    #[serde(with = "size")]
    pub traces: u64,
    /// Metrics ring, bytes (a power of two).
    #[serde(with = "size")]
    pub metrics: u64,
    /// Logs ring, bytes (a power of two).
    #[serde(with = "size")]
    pub logs: u64,
    /// What an in-process producer does when its ring is full.
    pub full_policy: FullPolicy,
    /// With `full_policy = "wait"`: the longest an in-process producer waits for room.
    #[serde(with = "duration")]
    pub wait_timeout: Duration,
}

impl RingConfig {
    /// The ring size for `signal`, in bytes.
    pub fn size(&self, signal: Signal) -> u64 {
        match signal {
            Signal::Traces => self.traces,
            Signal::Metrics => self.metrics,
            Signal::Logs => self.logs,
        }
    }
}

impl Default for RingConfig {
    fn default() -> RingConfig {
        RingConfig {
            traces: 16 * MIB,
            metrics: 8 * MIB,
            logs: 16 * MIB,
            full_policy: FullPolicy::Drop,
            wait_timeout: Duration::from_millis(100),
        }
    }
}

/// What an in-process producer does when its ring is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullPolicy {
    /// Return `Full` at once and count the record as dropped.
    #[default]
    Drop,
    /// Wait up to `ring.wait_timeout` for room, then drop and count.
    Wait,
}

/// `[storage]`: Arrow IPC stream files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Rows per record batch at most.
    pub max_batch_rows: u32,
    /// A partly filled batch is written after this long.
    #[serde(with = "duration")]
    pub flush_interval: Duration,
    /// A file is finalized (renamed to `.arrow`) once it reaches this size...
    #[serde(with = "size")]
    pub max_file_bytes: u64,
    /// ...or this age.
    #[serde(with = "duration")]
    pub max_file_age: Duration,
    /// Finalized files older than this are deleted; `"0s"` keeps them forever.
    #[serde(with = "duration")]
    pub retention: Duration,
    /// Per signal: oldest finalized files are deleted while the signal's directory holds more
    /// than this; `0` means no limit.
    #[serde(with = "size")]
    pub max_total_bytes: u64,
    /// Arrow IPC body compression.
    pub compression: Compression,
    /// Zstandard level when `compression` is `zstd`: -1 (the default: zstd's fast mode, about
    /// lz4's write cost); 1 to 22 trade write speed for size; lower levels (down to -131072)
    /// write faster and larger. Ignored otherwise.
    pub zstd_level: i32,
    /// When files are fsync'ed.
    pub fsync: Fsync,
}

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            max_batch_rows: 8192,
            flush_interval: Duration::from_secs(1),
            max_file_bytes: 64 * MIB,
            max_file_age: Duration::from_secs(5 * 60),
            retention: Duration::from_secs(7 * 86_400),
            max_total_bytes: GIB,
            compression: Compression::Zstd,
            zstd_level: -1,
            fsync: Fsync::OnFinalize,
        }
    }
}

/// Arrow IPC buffer compression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Uncompressed: readable by every Arrow implementation.
    None,
    /// Zstandard frames at `zstd_level` (the default: pyarrow, polars, DuckDB via pyarrow,
    /// arrow-rs and DataFusion read them; a seventh of the bytes of `none`, and read back
    /// about 3.8x faster than `lz4`, which matters when forwarding catches up from the files).
    #[default]
    Zstd,
    /// LZ4 frames (the same readers; as cheap to write as zstd at -1, larger files, slow to
    /// read back).
    Lz4,
}

/// When storage calls `fsync`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    /// Never: the OS writes back when it likes (fastest; a power loss may lose recent files).
    Never,
    /// Before a finished file is renamed to `.arrow` (and its directory after).
    #[default]
    OnFinalize,
    /// After every record batch, and on finalize.
    EveryBatch,
}

/// `[shutdown]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Longest a graceful stop may take (drain rings, finalize files) before giving up.
    #[serde(with = "duration")]
    pub deadline: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> ShutdownConfig {
        ShutdownConfig {
            deadline: Duration::from_secs(10),
        }
    }
}

/// `[log]`: the service's own diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter: `"info"`, `"warn,otlp_arrow=debug"`.
    pub level: String,
    /// Line format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[forward]`: OTLP export to collectors. Forwarding is on when `endpoints` is not empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardConfig {
    /// Live records waiting to be sent, per endpoint and signal, in bytes. When it is full,
    /// new records are not queued: they are sent later from the files (nothing is lost).
    #[serde(with = "size")]
    pub queue_bytes: u64,
    /// `[forward.retry]`: how failed exports are retried.
    pub retry: RetryConfig,
    /// `[forward.breaker]`: the per-endpoint circuit breaker.
    pub breaker: BreakerConfig,
    /// `[[forward.endpoints]]`: one table per collector.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<ForwardEndpoint>,
}

impl Default for ForwardConfig {
    fn default() -> ForwardConfig {
        ForwardConfig {
            queue_bytes: 16 * MIB,
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
            endpoints: Vec::new(),
        }
    }
}

/// `[forward.retry]`: exponential backoff with jitter under an overall deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// First delay.
    #[serde(with = "duration")]
    pub initial_backoff: Duration,
    /// Delays double up to this.
    #[serde(with = "duration")]
    pub max_backoff: Duration,
    /// A batch is given up (it stays on disk) after retrying this long.
    #[serde(with = "duration")]
    pub max_elapsed: Duration,
    /// A server-requested delay (RetryInfo, Retry-After) is capped to this.
    #[serde(with = "duration")]
    pub max_server_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(5 * 60),
            max_server_delay: Duration::from_secs(30),
        }
    }
}

/// `[forward.breaker]`: thresholds of the circuit breaker (`crate::breaker`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker rejects before it admits probes.
    #[serde(with = "duration")]
    pub open_duration: Duration,
    /// Probes admitted at once while half-open.
    pub half_open_probes: u32,
    /// Successful probes that close it again.
    pub success_threshold: u32,
}

impl Default for BreakerConfig {
    fn default() -> BreakerConfig {
        BreakerConfig {
            failure_threshold: 5,
            open_duration: Duration::from_secs(30),
            half_open_probes: 1,
            success_threshold: 1,
        }
    }
}

/// One collector to forward to: `[[forward.endpoints]]`. Only `url` is required.
///
/// `Debug` shows header names but not their values (they may carry credentials).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardEndpoint {
    /// `http://` or `https://` URL. For `protocol = "http"` it is the base URL: `/v1/traces`,
    /// `/v1/metrics`, `/v1/logs` are appended to its path.
    pub url: String,
    /// OTLP transport.
    #[serde(default)]
    pub protocol: ForwardProtocol,
    /// Signals sent to this endpoint.
    #[serde(default = "all_signals", with = "signal_list")]
    pub signals: Vec<Signal>,
    /// Sent as `api_key_header: <api_key>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Header that carries `api_key`.
    #[serde(default = "default_api_key_header")]
    pub api_key_header: String,
    /// Sent as `authorization: Bearer <token>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
    /// Credentials may go over plain `http://` (e.g. to a sidecar on localhost).
    #[serde(default)]
    pub allow_insecure: bool,
    /// Request body compression.
    #[serde(default)]
    pub compression: ForwardCompression,
    /// Deadline of one export request.
    #[serde(default = "default_timeout", with = "duration")]
    pub timeout: Duration,
    /// Largest request body, bytes before compression; bigger batches are split.
    #[serde(default = "default_max_request_bytes", with = "size")]
    pub max_request_bytes: u64,
    /// Most spans / data points / log records in one request.
    #[serde(default = "default_max_request_items")]
    pub max_request_items: u32,
    /// Export requests outstanding at once.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    /// Extra request headers (gRPC metadata). Values may be credentials: `Debug` and
    /// `Serialize` show the names only (values as `***`).
    #[serde(default, serialize_with = "redacted_values")]
    pub headers: BTreeMap<String, String>,
    /// Sent as `authorization: Basic ...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// Client TLS settings for `https://` URLs.
    #[serde(default)]
    pub tls: ClientTlsConfig,
}

fn redacted_values<S: Serializer>(map: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(map.keys().map(|k| (k, Secret::REDACTED)))
}

fn all_signals() -> Vec<Signal> {
    Signal::ALL.to_vec()
}
fn default_api_key_header() -> String {
    "x-api-key".to_owned()
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_request_bytes() -> u64 {
    4 * MIB
}
fn default_max_request_items() -> u32 {
    8192
}
fn default_max_in_flight() -> u32 {
    4
}

/// The default OTLP/HTTP port: a `--forward-endpoint` URL on it means `protocol = "http"`.
pub(crate) const OTLP_HTTP_PORT: u16 = 4318;

impl ForwardEndpoint {
    /// An endpoint with every setting at its default. The protocol is `http` when the URL's
    /// port is 4318 (the OTLP/HTTP port) and `grpc` otherwise. The URL is not checked here
    /// ([`Config::validate`](super::Config::validate) does).
    pub fn new(url: impl Into<String>) -> ForwardEndpoint {
        let url = url.into();
        let protocol = match super::validate::parse_url(&url) {
            Ok(parts) if parts.port == Some(OTLP_HTTP_PORT) => ForwardProtocol::Http,
            _ => ForwardProtocol::Grpc,
        };
        ForwardEndpoint {
            url,
            protocol,
            signals: all_signals(),
            api_key: None,
            api_key_header: default_api_key_header(),
            bearer_token: None,
            allow_insecure: false,
            compression: ForwardCompression::default(),
            timeout: default_timeout(),
            max_request_bytes: default_max_request_bytes(),
            max_request_items: default_max_request_items(),
            max_in_flight: default_max_in_flight(),
            headers: BTreeMap::new(),
            basic_auth: None,
            tls: ClientTlsConfig::default(),
        }
    }

    /// Whether the URL is `https://` (case-insensitive scheme).
    pub fn is_tls(&self) -> bool {
        self.url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }

    /// Whether any credential (API key, bearer token, basic auth) is configured.
    pub fn has_credentials(&self) -> bool {
        self.api_key.is_some() || self.bearer_token.is_some() || self.basic_auth.is_some()
    }
}

impl core::fmt::Debug for ForwardEndpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        /// Header names with redacted values.
        struct Names<'a>(&'a BTreeMap<String, String>);
        impl core::fmt::Debug for Names<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_map()
                    .entries(self.0.keys().map(|k| (k, Secret::REDACTED)))
                    .finish()
            }
        }
        f.debug_struct("ForwardEndpoint")
            .field("url", &super::validate::redact_url(&self.url))
            .field("protocol", &self.protocol)
            .field("signals", &self.signals)
            .field("api_key", &self.api_key)
            .field("api_key_header", &self.api_key_header)
            .field("bearer_token", &self.bearer_token)
            .field("allow_insecure", &self.allow_insecure)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("max_request_items", &self.max_request_items)
            .field("max_in_flight", &self.max_in_flight)
            .field("headers", &Names(&self.headers))
            .field("basic_auth", &self.basic_auth)
            .field("tls", &self.tls)
            .finish()
    }
}

/// OTLP transport of a forward endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardProtocol {
    /// OTLP/gRPC (HTTP/2).
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    Http,
}

/// Forward request compression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardCompression {
    /// Uncompressed.
    None,
    /// gzip (every OTLP receiver must accept it).
    #[default]
    Gzip,
}

/// `[forward.endpoints.basic_auth]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
}

/// `[forward.endpoints.tls]`: PEM files. Without `ca_path` the system roots are trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// CA certificates trusted for the server instead of the system roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_path: Option<PathBuf>,
    /// Client certificate for mutual TLS (with `client_key_path`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert_path: Option<PathBuf>,
    /// Client private key for mutual TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_path: Option<PathBuf>,
}

impl ClientTlsConfig {
    /// Whether any TLS file is set.
    pub fn is_set(&self) -> bool {
        self.ca_path.is_some() || self.client_cert_path.is_some() || self.client_key_path.is_some()
    }
}

/// `[ffi]`: records made in-process through the C ABI, Python or the Rust API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FfiConfig {
    /// What a string argument that is not UTF-8 does.
    pub invalid_utf8: InvalidUtf8,
    /// `[ffi.scope]`: instrumentation scope of in-process records.
    pub scope: ScopeConfig,
    /// `[ffi.resource]`: resource attributes of in-process records. `service.name` is
    /// `"unknown_service"` unless given.
    #[serde(deserialize_with = "deserialize_resource")]
    pub resource: BTreeMap<String, AttributeValue>,
}

/// The resource attribute every resource has (OpenTelemetry semantic conventions).
pub const SERVICE_NAME: &str = "service.name";

fn default_resource() -> BTreeMap<String, AttributeValue> {
    BTreeMap::from([(
        SERVICE_NAME.to_owned(),
        AttributeValue::String("unknown_service".to_owned()),
    )])
}

/// The table as written, plus `service.name = "unknown_service"` if it was left out.
fn deserialize_resource<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, AttributeValue>, D::Error> {
    let mut map = BTreeMap::<String, AttributeValue>::deserialize(d)?;
    for (key, value) in default_resource() {
        map.entry(key).or_insert(value);
    }
    Ok(map)
}

impl Default for FfiConfig {
    fn default() -> FfiConfig {
        FfiConfig {
            invalid_utf8: InvalidUtf8::Reject,
            scope: ScopeConfig::default(),
            resource: default_resource(),
        }
    }
}

/// What an in-process string argument that is not UTF-8 does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidUtf8 {
    /// The call fails with an invalid-argument status; nothing is recorded.
    #[default]
    Reject,
    /// Invalid sequences become U+FFFD and the record is kept.
    Replace,
}

/// `[ffi.scope]`: the instrumentation scope of in-process records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScopeConfig {
    /// Scope name.
    pub name: String,
    /// Scope version; empty means unset.
    pub version: String,
}

impl Default for ScopeConfig {
    fn default() -> ScopeConfig {
        ScopeConfig {
            name: "otlp-arrow".to_owned(),
            version: String::new(),
        }
    }
}

/// A resource attribute value: TOML string, integer, float or boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// `string_value`.
    String(String),
    /// `int_value`.
    Int(i64),
    /// `double_value`.
    Double(f64),
    /// `bool_value`.
    Bool(bool),
}

impl Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AttributeValue::String(v) => s.serialize_str(v),
            AttributeValue::Int(v) => s.serialize_i64(*v),
            AttributeValue::Double(v) => s.serialize_f64(*v),
            AttributeValue::Bool(v) => s.serialize_bool(*v),
        }
    }
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AttributeValue, D::Error> {
        d.deserialize_any(AttributeVisitor)
    }
}

struct AttributeVisitor;

impl Visitor<'_> for AttributeVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a string, integer, float or boolean attribute value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeValue, E> {
        Ok(AttributeValue::String(v.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttributeValue, E> {
        i64::try_from(v)
            .map(AttributeValue::Int)
            .map_err(|_| E::custom("integer too large, expected a 64-bit signed integer"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Double(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Bool(v))
    }
}

/// `#[serde(with = "socket_addr")]`: `"IP:port"`, with an error that shows the expected form.
mod socket_addr {
    use std::net::SocketAddr;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(addr: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(addr)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        d.deserialize_str(AddrVisitor)
    }

    struct AddrVisitor;

    impl Visitor<'_> for AddrVisitor {
        type Value = SocketAddr;

        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str(
                "an IP:port socket address such as \"127.0.0.1:4317\" or \"[::1]:4317\" \
                 (host names are not resolved)",
            )
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<SocketAddr, E> {
            v.trim()
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
}

/// `#[serde(with = "signal_list")]`: `["traces", "metrics", "logs"]` <-> `Vec<Signal>`.
mod signal_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::signal::Signal;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Name {
        Traces,
        Metrics,
        Logs,
    }

    pub(super) fn serialize<S: Serializer>(signals: &[Signal], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(signals.iter().map(|signal| signal.as_str()))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Signal>, D::Error> {
        let names = Vec::<Name>::deserialize(d)?;
        Ok(names
            .into_iter()
            .map(|n| match n {
                Name::Traces => Signal::Traces,
                Name::Metrics => Signal::Metrics,
                Name::Logs => Signal::Logs,
            })
            .collect())
    }
}

/// A configuration with every optional key set and one endpoint using every option: the
/// schema of all keys (environment mapping, the `default.toml` completeness test).
pub(crate) fn full_example() -> Config {
    let mut config = Config::default();
    config.receiver.tls = ServerTlsConfig {
        cert_path: Some("/etc/otlp-arrow/server.crt".into()),
        key_path: Some("/etc/otlp-arrow/server.key".into()),
    };
    let mut endpoint = ForwardEndpoint::new("https://collector.example.com:4317");
    endpoint.api_key = Some(Secret::new("example"));
    endpoint.bearer_token = Some(Secret::new("example"));
    endpoint
        .headers
        .insert("x-tenant".to_owned(), "example".to_owned());
    endpoint.basic_auth = Some(BasicAuth {
        username: "example".to_owned(),
        password: Secret::new("example"),
    });
    endpoint.tls = ClientTlsConfig {
        ca_path: Some("/etc/otlp-arrow/ca.pem".into()),
        client_cert_path: Some("/etc/otlp-arrow/client.crt".into()),
        client_key_path: Some("/etc/otlp-arrow/client.key".into()),
    };
    config.forward.endpoints.push(endpoint);
    config
}
