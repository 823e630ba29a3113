//! The configuration as its users meet it: TOML text, `OTLP_ARROW_*` variables, flags, and the
//! error messages they get back.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use otlp_arrow::config::{
    AttributeValue, Compression, Config, ConfigError, ForwardCompression, ForwardEndpoint,
    ForwardProtocol, Fsync, FullPolicy, InvalidUtf8, LogFormat, Origin, Overrides, Secret,
};
use otlp_arrow::signal::Signal;

fn parse(toml: &str) -> Config {
    Config::from_toml_str(toml).unwrap_or_else(|e| panic!("{e}\n--- in ---\n{toml}"))
}

fn parse_err(toml: &str) -> ConfigError {
    match Config::from_toml_str(toml) {
        Ok(c) => panic!("accepted {toml:?} as {c:?}"),
        Err(e) => e,
    }
}

fn validate_err(toml: &str) -> String {
    match parse(toml).validate() {
        Ok(()) => panic!("validated {toml:?}"),
        Err(e) => e.to_string(),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const NO_ENV: [(&str, &str); 0] = [];

// ---------------------------------------------------------------- defaults

#[test]
fn defaults_follow_the_contract() {
    let c = Config::default();
    assert_eq!(c.output_dir, std::path::Path::new("./otlp-data"));
    assert_eq!(c.receiver.grpc_addr, addr("127.0.0.1:4317"));
    assert_eq!(c.receiver.http_addr, addr("127.0.0.1:4318"));
    assert_eq!(c.admin.addr, addr("127.0.0.1:13133"));
    assert!(c.receiver.grpc_enabled && c.receiver.http_enabled && c.admin.enabled);
    assert_eq!(c.receiver.max_message_bytes, 4 << 20);
    assert_eq!(c.receiver.max_decompressed_bytes, 32 << 20);
    assert_eq!(c.receiver.wait_for_room, Duration::ZERO);
    assert!(!c.receiver.tls.enabled());
    assert_eq!(
        (c.ring.traces, c.ring.metrics, c.ring.logs),
        (16 << 20, 8 << 20, 16 << 20)
    );
    assert_eq!(c.ring.size(Signal::Metrics), 8 << 20);
    assert_eq!(c.ring.full_policy, FullPolicy::Drop);
    assert_eq!(c.storage.max_batch_rows, 8192);
    assert_eq!(c.storage.flush_interval, Duration::from_secs(1));
    assert_eq!(c.storage.max_file_age, Duration::from_secs(300));
    assert_eq!(c.storage.retention, Duration::from_secs(7 * 86_400));
    assert_eq!(c.storage.max_total_bytes, 1 << 30);
    assert_eq!(c.storage.compression, Compression::Zstd);
    assert_eq!(c.storage.zstd_level, -1);
    assert_eq!(c.storage.fsync, Fsync::OnFinalize);
    assert_eq!(c.shutdown.deadline, Duration::from_secs(10));
    assert_eq!(
        (c.log.level.as_str(), c.log.format),
        ("info", LogFormat::Text)
    );
    assert!(c.forward.endpoints.is_empty());
    assert_eq!(c.forward.queue_bytes, 16 << 20);
    assert_eq!(c.ffi.invalid_utf8, InvalidUtf8::Reject);
    assert_eq!(
        c.ffi.resource.get("service.name"),
        Some(&AttributeValue::String("unknown_service".into()))
    );
    c.validate().unwrap();
    assert!(c.non_loopback_without_tls().is_empty());
}

#[test]
fn an_empty_document_is_the_default() {
    assert_eq!(parse(""), Config::default());
    assert_eq!(
        parse("# nothing\n[receiver]\n[storage]\n"),
        Config::default()
    );
}

// ---------------------------------------------------------------- default.toml

fn key_paths(value: &toml::Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let toml::Value::Table(table) = value {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(path.clone());
            key_paths(v, &path, out);
        }
    }
}

fn keys_of(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    key_paths(
        &toml::Value::Table(toml::from_str(text).unwrap()),
        "",
        &mut out,
    );
    out
}

#[test]
fn default_toml_parses_to_exactly_the_default() {
    assert_eq!(parse(Config::default_toml()), Config::default());
}

#[test]
fn default_toml_has_every_key_of_the_default() {
    let serialized = toml::to_string(&Config::default()).unwrap();
    assert_eq!(keys_of(Config::default_toml()), keys_of(&serialized));
    // And the serialised default reads back as itself.
    assert_eq!(parse(&serialized), Config::default());
}

#[test]
fn default_toml_explains_every_key() {
    // Each active or commented-out setting has a prose comment somewhere above it in its block.
    let lines: Vec<&str> = Config::default_toml().lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let setting = line.trim_start_matches('#');
        let is_setting =
            setting.starts_with(|c: char| c.is_ascii_alphabetic()) && setting.contains(" = ");
        if is_setting && !line.starts_with("\"") {
            let explained = lines[..i].iter().rev().take(3).any(|l| l.starts_with("# "));
            assert!(
                explained,
                "line {}: {line:?} has no explanation above it",
                i + 1
            );
        }
    }
}

// ---------------------------------------------------------------- every section

const EVERYTHING: &str = r#"
output_dir = "/var/lib/otlp"

[receiver]
grpc_enabled = false
grpc_addr = "0.0.0.0:14317"
http_enabled = true
http_addr = "[::1]:14318"
max_message_bytes = 8388608
max_decompressed_bytes = "64 MiB"
retry_after = "2s"
wait_for_room = "5ms"

[receiver.tls]
cert_path = "/etc/otlp/cert.pem"
key_path = "/etc/otlp/key.pem"

[admin]
enabled = false
addr = "127.0.0.1:9999"

[ring]
traces = "64MiB"
metrics = "1MiB"
logs = 4096
full_policy = "wait"
wait_timeout = "250ms"

[storage]
max_batch_rows = 1024
flush_interval = "500ms"
max_file_bytes = "128MiB"
max_file_age = "1h30m"
retention = "0s"
max_total_bytes = 0
compression = "zstd"
fsync = "every_batch"

[shutdown]
deadline = "1m"

[log]
level = "warn,otlp_arrow=debug"
format = "json"

[forward.retry]
initial_backoff = "100ms"
max_backoff = "10s"
max_elapsed = "1h"
max_server_delay = "1m"

[forward.breaker]
failure_threshold = 10
open_duration = "1m"
half_open_probes = 3
success_threshold = 2

[[forward.endpoints]]
url = "https://collector.example.com:4317"
signals = ["traces", "logs"]
api_key = "k-123"
api_key_header = "dd-api-key"
compression = "none"
timeout = "3s"
max_request_bytes = "1MiB"
max_request_items = 500
max_in_flight = 8
headers = { "x-tenant" = "team-a" }
tls = { ca_path = "/etc/ca.pem", client_cert_path = "/etc/c.pem", client_key_path = "/etc/k.pem" }

[[forward.endpoints]]
url = "http://localhost:4318"
protocol = "http"
allow_insecure = true
basic_auth = { username = "me", password = "pw-456" }

[ffi]
invalid_utf8 = "replace"

[ffi.scope]
name = "my-app"
version = "1.2.3"

[ffi.resource]
"service.name" = "checkout"
"host.cpu_count" = 8
"sample.ratio" = 0.25
"debug" = true
"#;

#[test]
fn every_section_parses() {
    let c = parse(EVERYTHING);
    c.validate().unwrap();
    assert_eq!(c.output_dir, std::path::Path::new("/var/lib/otlp"));

    let r = &c.receiver;
    assert!(!r.grpc_enabled && r.http_enabled);
    assert_eq!(
        (r.grpc_addr, r.http_addr),
        (addr("0.0.0.0:14317"), addr("[::1]:14318"))
    );
    assert_eq!(
        (r.max_message_bytes, r.max_decompressed_bytes),
        (8 << 20, 64 << 20)
    );
    assert_eq!(
        (r.retry_after, r.wait_for_room),
        (Duration::from_secs(2), Duration::from_millis(5))
    );
    assert!(r.tls.enabled());
    assert_eq!(
        r.tls.key_path.as_deref(),
        Some(std::path::Path::new("/etc/otlp/key.pem"))
    );

    assert!(!c.admin.enabled);
    assert_eq!(c.admin.addr, addr("127.0.0.1:9999"));

    assert_eq!(
        (c.ring.traces, c.ring.metrics, c.ring.logs),
        (64 << 20, 1 << 20, 4096)
    );
    assert_eq!(
        (c.ring.full_policy, c.ring.wait_timeout),
        (FullPolicy::Wait, Duration::from_millis(250))
    );

    let s = &c.storage;
    assert_eq!(s.max_batch_rows, 1024);
    assert_eq!(s.flush_interval, Duration::from_millis(500));
    assert_eq!(s.max_file_bytes, 128 << 20);
    assert_eq!(s.max_file_age, Duration::from_secs(5400));
    assert_eq!((s.retention, s.max_total_bytes), (Duration::ZERO, 0));
    assert_eq!(
        (s.compression, s.fsync),
        (Compression::Zstd, Fsync::EveryBatch)
    );

    assert_eq!(c.shutdown.deadline, Duration::from_secs(60));
    assert_eq!(
        (c.log.level.as_str(), c.log.format),
        ("warn,otlp_arrow=debug", LogFormat::Json)
    );

    let f = &c.forward;
    assert_eq!(f.retry.initial_backoff, Duration::from_millis(100));
    assert_eq!(f.retry.max_backoff, Duration::from_secs(10));
    assert_eq!(f.retry.max_elapsed, Duration::from_secs(3600));
    assert_eq!(f.retry.max_server_delay, Duration::from_secs(60));
    assert_eq!(
        (
            f.breaker.failure_threshold,
            f.breaker.half_open_probes,
            f.breaker.success_threshold
        ),
        (10, 3, 2)
    );
    assert_eq!(f.breaker.open_duration, Duration::from_secs(60));

    let [a, b] = &f.endpoints[..] else {
        panic!("two endpoints expected")
    };
    assert_eq!(a.url, "https://collector.example.com:4317");
    assert!(a.is_tls() && a.has_credentials());
    assert_eq!(a.protocol, ForwardProtocol::Grpc);
    assert_eq!(a.signals, [Signal::Traces, Signal::Logs]);
    assert_eq!(a.api_key.as_ref().map(Secret::expose), Some("k-123"));
    assert_eq!(a.api_key_header, "dd-api-key");
    assert_eq!(a.compression, ForwardCompression::None);
    assert_eq!(a.timeout, Duration::from_secs(3));
    assert_eq!(
        (a.max_request_bytes, a.max_request_items, a.max_in_flight),
        (1 << 20, 500, 8)
    );
    assert_eq!(
        a.headers.get("x-tenant").map(String::as_str),
        Some("team-a")
    );
    assert!(a.tls.client_key_path.is_some() && a.tls.ca_path.is_some());

    assert_eq!(b.protocol, ForwardProtocol::Http);
    assert!(!b.is_tls() && b.allow_insecure);
    assert_eq!(b.signals, Signal::ALL);
    assert_eq!(b.compression, ForwardCompression::Gzip);
    let basic = b.basic_auth.as_ref().unwrap();
    assert_eq!(
        (basic.username.as_str(), basic.password.expose()),
        ("me", "pw-456")
    );

    assert_eq!(c.ffi.invalid_utf8, InvalidUtf8::Replace);
    assert_eq!(
        (c.ffi.scope.name.as_str(), c.ffi.scope.version.as_str()),
        ("my-app", "1.2.3")
    );
    let res = &c.ffi.resource;
    assert_eq!(
        res.get("service.name"),
        Some(&AttributeValue::String("checkout".into()))
    );
    assert_eq!(res.get("host.cpu_count"), Some(&AttributeValue::Int(8)));
    assert_eq!(res.get("sample.ratio"), Some(&AttributeValue::Double(0.25)));
    assert_eq!(res.get("debug"), Some(&AttributeValue::Bool(true)));
}

#[test]
fn resource_gets_a_service_name_unless_given() {
    let c = parse("[ffi.resource]\n\"deployment.environment\" = \"prod\"\n");
    assert_eq!(c.ffi.resource.len(), 2);
    assert_eq!(
        c.ffi.resource.get("service.name"),
        Some(&AttributeValue::String("unknown_service".into()))
    );
    let e = parse_err("[ffi.resource]\nbad = [1, 2]\n").to_string();
    assert!(
        e.contains("ffi.resource.bad") && e.contains("string, integer, float or boolean"),
        "{e}"
    );
    let e = validate_err("[ffi.resource]\n\"service.name\" = 5\n");
    assert!(
        e.contains("ffi.resource.\"service.name\"") && e.contains("non-empty string"),
        "{e}"
    );
}

// ---------------------------------------------------------------- unknown keys

#[test]
fn unknown_key_at_every_level_is_an_error_naming_it() {
    let cases = [
        ("bogus = 1\n", "bogus"),
        ("[bogus]\n", "bogus"),
        (
            "[receiver]\ngrpc_adr = \"127.0.0.1:1\"\n",
            "receiver.grpc_adr",
        ),
        ("[receiver.tls]\ncert = \"x\"\n", "receiver.tls.cert"),
        ("[admin]\nbogus = 1\n", "admin.bogus"),
        ("[ring]\ntrace = \"1MiB\"\n", "ring.trace"),
        ("[storage]\ncompresion = \"zstd\"\n", "storage.compresion"),
        ("[shutdown]\nbogus = 1\n", "shutdown.bogus"),
        ("[log]\nlevl = \"x\"\n", "log.levl"),
        ("[forward]\nendpoint = \"x\"\n", "forward.endpoint"),
        ("[forward.retry]\nbogus = 1\n", "forward.retry.bogus"),
        ("[forward.breaker]\nbogus = 1\n", "forward.breaker.bogus"),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\n[[forward.endpoints]]\nurl = \"https://h\"\nbogus = 1\n",
            "forward.endpoints[1].bogus",
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nbasic_auth = { username = \"u\", password = \"p\", pass = \"p\" }\n",
            "forward.endpoints[0].basic_auth.pass",
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\n[forward.endpoints.tls]\nca = \"x\"\n",
            "forward.endpoints[0].tls.ca",
        ),
        ("[ffi]\nbogus = 1\n", "ffi.bogus"),
        ("[ffi.scope]\nbogus = 1\n", "ffi.scope.bogus"),
    ];
    for (toml, key) in cases {
        let err = parse_err(toml);
        assert!(
            matches!(err, ConfigError::UnknownKey { .. }),
            "{toml:?}: {err:?}"
        );
        assert_eq!(err.key(), Some(key), "{toml:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("unknown configuration key {key}")),
            "{msg}"
        );
        assert!(msg.contains("expected"), "allowed keys missing: {msg}");
        assert!(msg.contains("line"), "position missing: {msg}");
    }
    let msg = parse_err("[storage]\ncompresion = \"zstd\"\n").to_string();
    assert!(
        msg.contains("compression") && msg.contains("max_batch_rows"),
        "{msg}"
    );
    assert!(msg.ends_with("(at line 2, column 1)"), "{msg}");
}

// ---------------------------------------------------------------- bad values at parse time

#[test]
fn bad_values_name_key_value_and_allowed_values() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "[storage]\ncompression = \"snappy\"\n",
            "storage.compression",
            &["\"snappy\"", "expected one of none, zstd, lz4"],
        ),
        (
            "[storage]\nfsync = \"always\"\n",
            "storage.fsync",
            &["never, on_finalize, every_batch"],
        ),
        (
            "[ring]\nfull_policy = \"block\"\n",
            "ring.full_policy",
            &["drop", "wait"],
        ),
        ("[log]\nformat = \"xml\"\n", "log.format", &["text", "json"]),
        (
            "[ffi]\ninvalid_utf8 = \"ignore\"\n",
            "ffi.invalid_utf8",
            &["reject", "replace"],
        ),
        (
            "[receiver]\ngrpc_addr = \"localhost:4317\"\n",
            "receiver.grpc_addr",
            &["\"localhost:4317\"", "socket address"],
        ),
        (
            "[receiver]\ngrpc_enabled = \"yes\"\n",
            "receiver.grpc_enabled",
            &["a boolean"],
        ),
        (
            "[storage]\nmax_batch_rows = -1\n",
            "storage.max_batch_rows",
            &["-1", "u32"],
        ),
        (
            "[ring]\ntraces = \"16XB\"\n",
            "ring.traces",
            &["\"16XB\"", "unknown size unit", "MiB"],
        ),
        (
            "[ring]\ntraces = -4096\n",
            "ring.traces",
            &["negative size"],
        ),
        (
            "[storage]\nflush_interval = 5\n",
            "storage.flush_interval",
            &["\"250ms\""],
        ),
        (
            "[storage]\nflush_interval = \"5\"\n",
            "storage.flush_interval",
            &["missing duration unit"],
        ),
        (
            "[storage]\nretention = \"1y\"\n",
            "storage.retention",
            &["unknown duration unit", "ms, s, m"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nprotocol = \"quic\"\n",
            "forward.endpoints[0].protocol",
            &["grpc", "http"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nsignals = [\"spans\"]\n",
            "forward.endpoints[0].signals[0]",
            &["traces, metrics, logs"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\ncompression = \"zstd\"\n",
            "forward.endpoints[0].compression",
            &["none", "gzip"],
        ),
        (
            "[[forward.endpoints]]\nprotocol = \"grpc\"\n",
            "forward.endpoints[0].url",
            &["required"],
        ),
        ("receiver = 5\n", "receiver", &["5"]),
    ];
    for &(toml, key, needles) in cases {
        let err = parse_err(toml);
        assert_eq!(err.key(), Some(key), "{toml:?}: {err}");
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("invalid {key}")), "{msg}");
        for needle in needles {
            assert!(msg.contains(needle), "{toml:?}: {msg:?} lacks {needle:?}");
        }
    }
}

#[test]
fn syntax_errors_keep_line_and_column() {
    let doc = "[storage]\nmax_batch_rows = 10\ncompression = \"zstd\n";
    let err = parse_err(doc);
    let ConfigError::Syntax { line, column, .. } = &err else {
        panic!("{err:?}")
    };
    // The same position toml itself reports.
    let theirs = toml::from_str::<toml::Table>(doc).unwrap_err().to_string();
    assert!(
        theirs.contains(&format!("line {line}, column {column}")),
        "{theirs}"
    );
    assert_eq!(*line, 3);
    let msg = err.to_string();
    assert!(
        msg.contains("not valid TOML") && msg.contains(&format!("line 3, column {column}")),
        "{msg}"
    );
    assert!(
        !msg.contains("compression = "),
        "the source line is not quoted: {msg}"
    );
    assert!(matches!(
        parse_err("[ring\n"),
        ConfigError::Syntax { line: 1, .. }
    ));
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("otlp-arrow-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("otlp-arrow.toml");
    std::fs::write(&file, "[storage]\ncompression = \"zstd\"\n").unwrap();
    assert_eq!(
        Config::load(&file).unwrap().storage.compression,
        Compression::Zstd
    );

    std::fs::write(&file, "\n[ring]\ntraces = \"huge\"\n").unwrap();
    let msg = Config::load(&file).unwrap_err().to_string();
    assert!(msg.contains(&format!("{}:3:10", file.display())), "{msg}");

    let missing = dir.join("missing.toml");
    let err = Config::load(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("missing.toml"));
    assert!(std::error::Error::source(&err).is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- validation

#[test]
fn each_validation_error_names_key_and_allowed_values() {
    let cases: &[(&str, &[&str])] = &[
        ("output_dir = \"\"\n", &["output_dir", "directory"]),
        (
            "[ring]\ntraces = \"3MiB\"\n",
            &["ring.traces = \"3MiB\"", "power of two from 4KiB to 1GiB"],
        ),
        (
            "[ring]\nmetrics = 2048\n",
            &["ring.metrics = \"2KiB\"", "power of two"],
        ),
        ("[ring]\nlogs = \"2GiB\"\n", &["ring.logs", "to 1GiB"]),
        (
            "[ring]\nfull_policy = \"wait\"\nwait_timeout = \"0s\"\n",
            &["ring.wait_timeout", "1ns to 1m"],
        ),
        (
            "[receiver]\nmax_message_bytes = 10\n",
            &["receiver.max_message_bytes", "1KiB to 1GiB"],
        ),
        (
            "[receiver]\nmax_decompressed_bytes = \"1MiB\"\n",
            &[
                "receiver.max_decompressed_bytes",
                "at least receiver.max_message_bytes (4MiB)",
            ],
        ),
        (
            "[receiver]\nretry_after = \"0s\"\n",
            &["receiver.retry_after", "1ms to 1h"],
        ),
        (
            "[receiver]\nwait_for_room = \"2m\"\n",
            &["receiver.wait_for_room = \"2m\"", "at most 1m"],
        ),
        (
            "[receiver.tls]\ncert_path = \"c.pem\"\n",
            &["receiver.tls.key_path", "required"],
        ),
        (
            "[receiver.tls]\nkey_path = \"k.pem\"\n",
            &["receiver.tls.cert_path", "required"],
        ),
        (
            "[receiver]\nhttp_addr = \"127.0.0.1:4317\"\n",
            &["receiver.http_addr", "conflicts with receiver.grpc_addr"],
        ),
        (
            "[admin]\naddr = \"0.0.0.0:4318\"\n",
            &["admin.addr", "conflicts with receiver.http_addr"],
        ),
        (
            "[forward]\nqueue_bytes = \"4KiB\"\n",
            &["forward.queue_bytes = \"4KiB\"", "at least 64KiB"],
        ),
        (
            "[storage]\nmax_batch_rows = 0\n",
            &["storage.max_batch_rows = 0", "1 to 1048576"],
        ),
        (
            "[storage]\nzstd_level = 23\n",
            &["storage.zstd_level = 23", "-131072 (fastest) to 22"],
        ),
        (
            "[storage]\nzstd_level = -131073\n",
            &["storage.zstd_level = -131073", "-131072 (fastest) to 22"],
        ),
        (
            "[storage]\nflush_interval = \"0ms\"\n",
            &["storage.flush_interval", "greater than zero"],
        ),
        (
            "[storage]\nmax_file_age = \"0s\"\n",
            &["storage.max_file_age", "greater than zero"],
        ),
        (
            "[storage]\nmax_file_bytes = \"1KiB\"\n",
            &["storage.max_file_bytes", "64KiB to 64GiB"],
        ),
        (
            "[storage]\nmax_total_bytes = \"1MiB\"\n",
            &["storage.max_total_bytes", "0 (no limit) or at least"],
        ),
        (
            "[shutdown]\ndeadline = \"0s\"\n",
            &["shutdown.deadline", "greater than zero"],
        ),
        ("[log]\nlevel = \"\"\n", &["log.level", "tracing filter"]),
        (
            "[forward.retry]\ninitial_backoff = \"0s\"\n",
            &["forward.retry.initial_backoff", "greater than zero"],
        ),
        (
            "[forward.retry]\nmax_backoff = \"100ms\"\n",
            &[
                "forward.retry.max_backoff",
                "at least forward.retry.initial_backoff",
            ],
        ),
        (
            "[forward.retry]\nmax_elapsed = \"0s\"\n",
            &["forward.retry.max_elapsed"],
        ),
        (
            "[forward.breaker]\nfailure_threshold = 0\n",
            &["forward.breaker.failure_threshold = 0", "1 to 4095"],
        ),
        (
            "[forward.breaker]\nhalf_open_probes = 64\n",
            &["forward.breaker.half_open_probes", "1 to 63"],
        ),
        (
            "[forward.breaker]\nsuccess_threshold = 5000\n",
            &["forward.breaker.success_threshold", "1 to 4095"],
        ),
        (
            "[forward.breaker]\nopen_duration = \"0s\"\n",
            &["forward.breaker.open_duration"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"collector:4317\"\n",
            &["forward.endpoints[0].url", "http:// or https://"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"ftp://h\"\n",
            &["forward.endpoints[0].url", "unsupported scheme"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h:70000\"\n",
            &["forward.endpoints[0].url", "1 to 65535"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nsignals = []\n",
            &["forward.endpoints[0].signals", "traces, metrics, logs"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nsignals = [\"logs\", \"logs\"]\n",
            &["forward.endpoints[0].signals", "twice"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\ntimeout = \"0s\"\n",
            &["forward.endpoints[0].timeout", "1ms to 10m"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nmax_request_bytes = 1\n",
            &["forward.endpoints[0].max_request_bytes", "1KiB to 256MiB"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nmax_request_items = 0\n",
            &["forward.endpoints[0].max_request_items", "1 or more"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nmax_in_flight = 0\n",
            &["forward.endpoints[0].max_in_flight", "1 to 256"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\napi_key_header = \"bad header\"\n",
            &["forward.endpoints[0].api_key_header", "header name"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nheaders = { \"x y\" = \"v\" }\n",
            &["forward.endpoints[0].headers.\"x y\"", "header name"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nheaders = { x = \"a\\nb\" }\n",
            &["forward.endpoints[0].headers.x = ***", "no line breaks"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\napi_key = \"\"\n",
            &["forward.endpoints[0].api_key = ***", "must not be empty"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nbearer_token = \"***\"\n",
            &["forward.endpoints[0].bearer_token", "redaction placeholder"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nbearer_token = \"t\"\nbasic_auth = { username = \"u\", password = \"p\" }\n",
            &["forward.endpoints[0].basic_auth", "authorization"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nbearer_token = \"t\"\nheaders = { Authorization = \"x\" }\n",
            &["authorization header"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\napi_key = \"k\"\nheaders = { x-api-key = \"x\" }\n",
            &["forward.endpoints[0].api_key_header", "also set in headers"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\nbasic_auth = { username = \"a:b\", password = \"p\" }\n",
            &["forward.endpoints[0].basic_auth.username", "without ':'"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"http://h:4317\"\napi_key = \"k\"\n",
            &[
                "forward.endpoints[0].url = \"http://h:4317\"",
                "clear text",
                "allow_insecure",
            ],
        ),
        (
            "[[forward.endpoints]]\nurl = \"http://h\"\ntls = { ca_path = \"ca.pem\" }\n",
            &["forward.endpoints[0].tls", "https://"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\ntls = { client_cert_path = \"c.pem\" }\n",
            &["forward.endpoints[0].tls.client_key_path", "required"],
        ),
        (
            "[[forward.endpoints]]\nurl = \"https://h\"\ntls = { client_key_path = \"k.pem\" }\n",
            &["forward.endpoints[0].tls.client_cert_path", "required"],
        ),
    ];
    for &(toml, needles) in cases {
        let msg = validate_err(toml);
        assert!(msg.starts_with("invalid "), "{msg}");
        for needle in needles {
            assert!(
                msg.contains(needle),
                "{toml:?}:\n  {msg}\n  lacks {needle:?}"
            );
        }
    }
}

#[test]
fn credentials_over_http_are_allowed_only_when_asked() {
    let ok = parse(
        "[[forward.endpoints]]\nurl = \"http://127.0.0.1:4317\"\napi_key = \"k\"\nallow_insecure = true\n",
    );
    ok.validate().unwrap();
    parse("[[forward.endpoints]]\nurl = \"http://127.0.0.1:4317\"\n")
        .validate()
        .unwrap();
    parse("[[forward.endpoints]]\nurl = \"https://127.0.0.1:4317\"\nbearer_token = \"t\"\n")
        .validate()
        .unwrap();
}

#[test]
fn port_zero_listeners_do_not_conflict() {
    let c = parse(
        "[receiver]\ngrpc_addr = \"127.0.0.1:0\"\nhttp_addr = \"127.0.0.1:0\"\n[admin]\naddr = \"127.0.0.1:0\"\n",
    );
    c.validate().unwrap();
    // A disabled listener does not conflict either.
    parse("[receiver]\nhttp_enabled = false\nhttp_addr = \"127.0.0.1:4317\"\n")
        .validate()
        .unwrap();
}

#[test]
fn non_loopback_without_tls_lists_exposed_listeners() {
    let c = parse(
        "[receiver]\ngrpc_addr = \"0.0.0.0:4317\"\nhttp_addr = \"127.0.0.1:4318\"\n[admin]\naddr = \"10.0.0.1:13133\"\n",
    );
    assert_eq!(
        c.non_loopback_without_tls(),
        [
            ("receiver.grpc_addr", addr("0.0.0.0:4317")),
            ("admin.addr", addr("10.0.0.1:13133"))
        ]
    );
    let tls = parse(
        "[receiver]\ngrpc_addr = \"0.0.0.0:4317\"\nhttp_addr = \"[::]:4318\"\n[receiver.tls]\ncert_path = \"c\"\nkey_path = \"k\"\n",
    );
    assert!(tls.non_loopback_without_tls().is_empty());
    let off = parse(
        "[receiver]\ngrpc_enabled = false\ngrpc_addr = \"0.0.0.0:4317\"\n[admin]\nenabled = false\naddr = \"0.0.0.0:1\"\n",
    );
    assert!(off.non_loopback_without_tls().is_empty());
    let v6 = parse("[receiver]\nhttp_addr = \"[::1]:4318\"\n");
    assert!(v6.non_loopback_without_tls().is_empty());
}

// ---------------------------------------------------------------- environment

#[test]
fn env_overrides_scalar_keys_in_every_section() {
    let mut c = Config::default();
    c.apply_env([
        ("PATH", "/usr/bin"),
        ("OTLP_ARROW_OUTPUT_DIR", "/data"),
        ("OTLP_ARROW_RECEIVER_GRPC_ADDR", "0.0.0.0:4317"),
        ("OTLP_ARROW_RECEIVER_HTTP_ENABLED", "false"),
        ("OTLP_ARROW_RECEIVER_TLS_CERT_PATH", "/c.pem"),
        ("OTLP_ARROW_RECEIVER_TLS_KEY_PATH", "/k.pem"),
        ("OTLP_ARROW_RING_TRACES", "64MiB"),
        ("OTLP_ARROW_RING_LOGS", "65536"),
        ("OTLP_ARROW_STORAGE_COMPRESSION", "zstd"),
        ("OTLP_ARROW_STORAGE_MAX_BATCH_ROWS", "100"),
        ("OTLP_ARROW_STORAGE_RETENTION", "1d"),
        ("OTLP_ARROW_SHUTDOWN_DEADLINE", "3s"),
        ("OTLP_ARROW_LOG_LEVEL", "debug"),
        ("OTLP_ARROW_FORWARD_RETRY_MAX_BACKOFF", "1m"),
        ("OTLP_ARROW_FORWARD_BREAKER_FAILURE_THRESHOLD", "7"),
        ("OTLP_ARROW_FFI_SCOPE_VERSION", "1.0"),
        ("OTLP_ARROW_ADMIN_ENABLED", "FALSE"),
    ])
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.output_dir, std::path::Path::new("/data"));
    assert_eq!(c.receiver.grpc_addr, addr("0.0.0.0:4317"));
    assert!(!c.receiver.http_enabled && !c.admin.enabled);
    assert!(c.receiver.tls.enabled());
    assert_eq!((c.ring.traces, c.ring.logs), (64 << 20, 65536));
    assert_eq!(
        (c.storage.compression, c.storage.max_batch_rows),
        (Compression::Zstd, 100)
    );
    assert_eq!(c.storage.retention, Duration::from_secs(86_400));
    assert_eq!(c.shutdown.deadline, Duration::from_secs(3));
    assert_eq!(c.log.level, "debug");
    assert_eq!(c.forward.retry.max_backoff, Duration::from_secs(60));
    assert_eq!(c.forward.breaker.failure_threshold, 7);
    // A version that looks like a number stays the string it is.
    assert_eq!(c.ffi.scope.version, "1.0");
}

#[test]
fn every_settable_key_has_a_working_variable() {
    let keys = Config::settable_keys();
    assert!(keys.len() > 40, "{keys:?}");
    let envs: BTreeSet<String> = keys
        .iter()
        .map(|k| otlp_arrow::config::env_var_name(k))
        .collect();
    assert_eq!(envs.len(), keys.len());
    // Setting each key to its current value through the environment is accepted and changes
    // nothing; resetting it with an empty value gives the default back.
    let base = parse(EVERYTHING);
    let table: toml::Table = toml::from_str(&toml::to_string(&base).unwrap()).unwrap();
    for key in keys.iter().filter(|k| **k != "forward.endpoint") {
        let mut value = &toml::Value::Table(table.clone());
        for segment in key.split('.') {
            value = value
                .get(segment)
                .unwrap_or_else(|| panic!("{key} not serialised"));
        }
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut c = base.clone();
        c.apply_env([(otlp_arrow::config::env_var_name(key), text.as_str())])
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(c, base, "{key} = {text}");
    }
}

#[test]
fn empty_env_value_resets_to_default() {
    let mut c = parse(
        "[storage]\ncompression = \"lz4\"\n[receiver.tls]\ncert_path = \"c\"\nkey_path = \"k\"\n",
    );
    c.apply_env([
        ("OTLP_ARROW_STORAGE_COMPRESSION", ""),
        ("OTLP_ARROW_RECEIVER_TLS_CERT_PATH", ""),
    ])
    .unwrap();
    assert_eq!(c.storage.compression, Compression::Zstd);
    assert_eq!(c.receiver.tls.cert_path, None);
    assert!(c.receiver.tls.key_path.is_some());
}

#[test]
fn unknown_env_var_is_an_error_with_a_suggestion() {
    let mut c = Config::default();
    let err = c
        .apply_env([("OTLP_ARROW_RECEIVER_GRPC_ADR", "0.0.0.0:1")])
        .unwrap_err();
    let ConfigError::UnknownEnv { name, suggestion } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(name, "OTLP_ARROW_RECEIVER_GRPC_ADR");
    assert_eq!(suggestion.as_deref(), Some("OTLP_ARROW_RECEIVER_GRPC_ADDR"));
    assert!(
        err.to_string()
            .contains("did you mean OTLP_ARROW_RECEIVER_GRPC_ADDR?")
    );
    for name in [
        "OTLP_ARROW_FFI_RESOURCE_SERVICE_NAME",
        "OTLP_ARROW_FORWARD_ENDPOINTS",
        "OTLP_ARROW_",
    ] {
        assert!(
            matches!(
                c.apply_env([(name, "x")]),
                Err(ConfigError::UnknownEnv { .. })
            ),
            "{name}"
        );
    }
    assert_eq!(c, Config::default());
}

#[test]
fn bad_env_values_name_variable_key_and_allowed_values() {
    let cases = [
        (
            "OTLP_ARROW_STORAGE_COMPRESSION",
            "snappy",
            "storage.compression",
            "expected one of none, zstd, lz4",
        ),
        ("OTLP_ARROW_RING_TRACES", "lots", "ring.traces", "a size"),
        (
            "OTLP_ARROW_RECEIVER_GRPC_ENABLED",
            "yes",
            "receiver.grpc_enabled",
            "a boolean",
        ),
        (
            "OTLP_ARROW_STORAGE_MAX_BATCH_ROWS",
            "many",
            "storage.max_batch_rows",
            "u32",
        ),
        (
            "OTLP_ARROW_RECEIVER_HTTP_ADDR",
            "nowhere",
            "receiver.http_addr",
            "socket address",
        ),
        (
            "OTLP_ARROW_SHUTDOWN_DEADLINE",
            "10",
            "shutdown.deadline",
            "missing duration unit",
        ),
    ];
    for (name, value, key, expected) in cases {
        let mut c = Config::default();
        let err = c.apply_env([(name, value)]).unwrap_err();
        assert_eq!(err.key(), Some(key));
        let ConfigError::Invalid { origin, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(origin, &Origin::Env(name.to_owned()));
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("invalid {key} = \"{value}\"")),
            "{msg}"
        );
        assert!(
            msg.contains(expected) && msg.contains(&format!("from environment variable {name}")),
            "{msg}"
        );
        assert_eq!(c, Config::default(), "a failed apply_env changes nothing");
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_env_values_are_refused() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let mut c = Config::default();
    let bad = OsStr::from_bytes(b"/data/\xff");
    let err = c
        .apply_env([(OsStr::new("OTLP_ARROW_OUTPUT_DIR"), bad)])
        .unwrap_err();
    assert_eq!(err.key(), Some("output_dir"));
    assert!(err.to_string().contains("not valid UTF-8"));
    // Unrelated variables may be anything.
    c.apply_env([(OsStr::from_bytes(b"OTHER\xff"), bad)])
        .unwrap();
}

#[test]
fn forward_endpoint_variable_replaces_the_list() {
    let mut c = parse(EVERYTHING);
    c.apply_env([("OTLP_ARROW_FORWARD_ENDPOINT", "http://localhost:4318")])
        .unwrap();
    assert_eq!(
        c.forward.endpoints,
        [ForwardEndpoint::new("http://localhost:4318")]
    );
    assert_eq!(c.forward.endpoints[0].protocol, ForwardProtocol::Http);
    c.apply_env([("OTLP_ARROW_FORWARD_ENDPOINT", "https://gw:4317")])
        .unwrap();
    assert_eq!(c.forward.endpoints[0].protocol, ForwardProtocol::Grpc);
    c.apply_env([("OTLP_ARROW_FORWARD_ENDPOINT", "")]).unwrap();
    assert!(c.forward.endpoints.is_empty());
    let err = c
        .apply_env([("OTLP_ARROW_FORWARD_ENDPOINT", "gw:4317")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("forward.endpoint")
            && err.contains("https://")
            && err.contains("OTLP_ARROW_FORWARD_ENDPOINT"),
        "{err}"
    );
}

#[test]
fn env_on_other_keys_keeps_endpoint_secrets() {
    let mut c = parse(EVERYTHING);
    c.apply_env([("OTLP_ARROW_LOG_LEVEL", "trace")]).unwrap();
    assert_eq!(c.forward.endpoints, parse(EVERYTHING).forward.endpoints);
    assert_eq!(
        c.forward.endpoints[0].api_key.as_ref().map(Secret::expose),
        Some("k-123")
    );
}

#[test]
fn set_takes_dotted_keys() {
    let mut c = Config::default();
    c.set("storage.compression", "zstd").unwrap();
    c.set("forward.breaker.half_open_probes", "2").unwrap();
    assert_eq!(
        (c.storage.compression, c.forward.breaker.half_open_probes),
        (Compression::Zstd, 2)
    );
    let err = c.set("storage.compresion", "zstd").unwrap_err();
    assert!(matches!(err, ConfigError::UnknownKey { .. }));
    assert!(err.to_string().contains("storage.compression"), "{err}");
    assert!(
        c.set("ring.traces", "big")
            .unwrap_err()
            .to_string()
            .starts_with("invalid ring.traces = \"big\"")
    );
}

// ---------------------------------------------------------------- precedence and flags

#[test]
fn precedence_is_file_then_env_then_flags() {
    let dir = std::env::temp_dir().join(format!("otlp-arrow-config-prec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(
        &file,
        "output_dir = \"/from/file\"\n[receiver]\ngrpc_addr = \"127.0.0.1:1001\"\nhttp_addr = \"127.0.0.1:1002\"\n[log]\nformat = \"json\"\nlevel = \"warn\"\n",
    )
    .unwrap();
    let env = [
        ("OTLP_ARROW_RECEIVER_GRPC_ADDR", "127.0.0.1:2001"),
        ("OTLP_ARROW_OUTPUT_DIR", "/from/env"),
        ("OTLP_ARROW_LOG_LEVEL", "debug"),
    ];
    let flags = Overrides {
        output_dir: Some("/from/flag".into()),
        admin_addr: Some("127.0.0.1:3003".into()),
        log_format: Some("text".into()),
        ..Overrides::default()
    };
    let c = Config::resolve(Some(&file), env, &flags).unwrap();
    assert_eq!(c.output_dir, std::path::Path::new("/from/flag")); // flag > env > file
    assert_eq!(c.receiver.grpc_addr, addr("127.0.0.1:2001")); // env > file
    assert_eq!(c.receiver.http_addr, addr("127.0.0.1:1002")); // file > default
    assert_eq!(c.admin.addr, addr("127.0.0.1:3003")); // flag > default
    assert_eq!(c.log.level, "debug");
    assert_eq!(c.log.format, LogFormat::Text); // flag > file

    // Without a file, the defaults are the bottom layer; resolve validates.
    let c = Config::resolve(None, NO_ENV, &Overrides::default()).unwrap();
    assert_eq!(c, Config::default());
    let err = Config::resolve(
        None,
        [("OTLP_ARROW_RING_TRACES", "3MiB")],
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("ring.traces"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn flags_errors_name_the_flag() {
    let mut c = Config::default();
    let flags = Overrides {
        grpc_addr: Some("localhost".into()),
        ..Overrides::default()
    };
    let err = c.apply_overrides(&flags).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("receiver.grpc_addr = \"localhost\"") && msg.contains("from flag --grpc-addr"),
        "{msg}"
    );
    let flags = Overrides {
        log_format: Some("xml".into()),
        ..Overrides::default()
    };
    let msg = c.apply_overrides(&flags).unwrap_err().to_string();
    assert!(
        msg.contains("log.format = \"xml\"")
            && msg.contains("expected text or json")
            && msg.contains("--log-format"),
        "{msg}"
    );
    let flags = Overrides {
        forward_endpoint: Some("https://gw.example:4318/otlp".into()),
        ..Overrides::default()
    };
    c.apply_overrides(&flags).unwrap();
    assert_eq!(c.forward.endpoints[0].protocol, ForwardProtocol::Http);
    assert_eq!(c.forward.endpoints[0].url, "https://gw.example:4318/otlp");
    c.validate().unwrap();
}

// ---------------------------------------------------------------- secrets

const SECRETS: &str = r#"
[[forward.endpoints]]
url = "https://h:4317"
api_key = "AK-SECRET-1"
headers = { authorization = "HDR-SECRET-2" }

[[forward.endpoints]]
url = "https://h:4317"
basic_auth = { username = "u", password = "PW-SECRET-3" }
"#;

fn assert_no_secret(text: &str) {
    for s in ["AK-SECRET-1", "HDR-SECRET-2", "PW-SECRET-3", "TOKEN-4"] {
        assert!(!text.contains(s), "{s} leaked in: {text}");
    }
}

#[test]
fn secrets_are_redacted_in_debug_and_serialisation() {
    let c = parse(SECRETS);
    c.validate().unwrap();
    let debug = format!("{c:?}");
    assert_no_secret(&debug);
    assert!(
        debug.contains("authorization"),
        "header names stay visible: {debug}"
    );
    assert_no_secret(&format!("{c:#?}"));
    let shown = toml::to_string(&c).unwrap();
    assert_no_secret(&shown);
    assert!(shown.contains("api_key = \"***\""), "{shown}");
    // The real values are still there for the forwarder.
    assert_eq!(
        c.forward.endpoints[0].api_key.as_ref().unwrap().expose(),
        "AK-SECRET-1"
    );
}

#[test]
fn secrets_never_appear_in_errors() {
    let docs = [
        // Wrong types.
        "[[forward.endpoints]]\nurl = \"https://h\"\napi_key = 12345\n",
        "[[forward.endpoints]]\nurl = \"https://h\"\nbearer_token = [\"TOKEN-4\"]\n",
        "[[forward.endpoints]]\nurl = \"https://h\"\nbasic_auth = { username = \"u\", password = { x = \"PW-SECRET-3\" } }\n",
        "[[forward.endpoints]]\nurl = \"https://h\"\nheaders = { authorization = [\"HDR-SECRET-2\"] }\n",
        // A whole table of the wrong type.
        "forward = [{ api_key = \"AK-SECRET-1\" }]\n",
        // Syntax error on a secret's line.
        "[[forward.endpoints]]\nurl = \"https://h\"\napi_key = \"AK-SECRET-1\n",
        "[[forward.endpoints]]\nurl = \"https://h\"\nbearer_token = \"TOKEN-4\" junk\n",
    ];
    for doc in docs {
        let err = parse_err(doc);
        assert_no_secret(&err.to_string());
        assert_no_secret(&format!("{err:?}"));
    }
    assert!(
        parse_err(docs[0])
            .to_string()
            .contains("forward.endpoints[0].api_key = ***")
    );
    assert_no_secret(&format!("{:?}", parse_err(docs[0])).replace("12345", "AK-SECRET-1"));
    assert!(!parse_err(docs[0]).to_string().contains("12345"));

    // Validation errors about credentials.
    let docs = [
        "[[forward.endpoints]]\nurl = \"http://h\"\napi_key = \"AK-SECRET-1\"\n",
        "[[forward.endpoints]]\nurl = \"https://h\"\nbearer_token = \"TOKEN-4\"\nheaders = { authorization = \"HDR-SECRET-2\" }\n",
        "[[forward.endpoints]]\nurl = \"https://h\"\nheaders = { x = \"HDR-SECRET-2\\n\" }\n",
        "[[forward.endpoints]]\nurl = \"https://h\"\nbearer_token = \"TOKEN-4\\n\"\n",
    ];
    for doc in docs {
        let msg = validate_err(doc);
        assert_no_secret(&msg);
    }
    // User-info in a URL is refused, and not echoed.
    let msg = validate_err("[[forward.endpoints]]\nurl = \"https://u:PW-SECRET-3@h\"\n");
    assert!(
        msg.contains("https://***@h") && msg.contains("basic_auth"),
        "{msg}"
    );
    assert_no_secret(&msg);
    let mut c = Config::default();
    let msg = c
        .apply_env([("OTLP_ARROW_FORWARD_ENDPOINT", "ftp://u:PW-SECRET-3@h")])
        .unwrap_err()
        .to_string();
    assert_no_secret(&msg);
}

#[test]
fn secret_newtype() {
    let s = Secret::new("TOKEN-4");
    assert_eq!(format!("{s:?}|{s}|{s:>10}"), "***|***|***");
    assert_eq!(s.expose(), "TOKEN-4");
    assert_eq!(s, Secret::new("TOKEN-4"));
    assert_ne!(s, Secret::new("other"));
}

// ---------------------------------------------------------------- sizes and durations in files

#[test]
fn sizes_and_durations_in_files() {
    assert_eq!(parse("[ring]\ntraces = 1048576\n").ring.traces, 1 << 20);
    assert_eq!(parse("[ring]\ntraces = \"1MiB\"\n").ring.traces, 1 << 20);
    assert_eq!(parse("[ring]\ntraces = \"1048576\"\n").ring.traces, 1 << 20);
    assert_eq!(parse("[ring]\ntraces = \"1 mib\"\n").ring.traces, 1 << 20);
    assert_eq!(
        parse("[storage]\nmax_total_bytes = \"10GB\"\n")
            .storage
            .max_total_bytes,
        10_000_000_000
    );
    for bad in ["\"1.5MiB\"", "\"\"", "1.5", "true", "\"MiB\""] {
        let err = parse_err(&format!("[ring]\ntraces = {bad}\n"));
        assert_eq!(err.key(), Some("ring.traces"), "{bad}");
        assert!(err.to_string().contains("size"), "{err}");
    }
    assert_eq!(
        parse("[storage]\nmax_file_age = \"1h 30m\"\n")
            .storage
            .max_file_age,
        Duration::from_secs(5400)
    );
    assert_eq!(
        parse("[receiver]\nwait_for_room = \"0\"\n")
            .receiver
            .wait_for_room,
        Duration::ZERO
    );
    for bad in ["10", "\"10\"", "\"1.5s\"", "\"-1s\"", "\"\"", "\"10 sec\""] {
        let err = parse_err(&format!("[shutdown]\ndeadline = {bad}\n"));
        assert_eq!(err.key(), Some("shutdown.deadline"), "{bad}");
        assert!(err.to_string().contains("duration"), "{err}");
    }
}

#[test]
fn the_python_library_path_variable_is_not_a_config_key() {
    let mut c = otlp_arrow::config::Config::default();
    c.apply_env([("OTLP_ARROW_LIB", "/opt/lib/libotlp_arrow.so")])
        .unwrap();
    assert_eq!(c, otlp_arrow::config::Config::default());
    assert!(
        c.apply_env([("OTLP_ARROW_LIBX", "1")]).is_err(),
        "only the exact name is exempt"
    );
}

#[test]
fn forward_queue_bytes_is_a_size() {
    let c = Config::from_toml_str("[forward]\nqueue_bytes = \"1MiB\"\n").unwrap();
    assert_eq!(c.forward.queue_bytes, 1 << 20);
    c.validate().unwrap();
    assert!(Config::default_toml().contains("queue_bytes = \"16MiB\""));
}
