//! The forwarding transport (`otlp::forward::Exporter`) against a controllable upstream on
//! loopback, for both OTLP/gRPC and OTLP/HTTP: success, partial success, every retry path,
//! drops, resets, an upstream that goes away and comes back (breaker), gzip, auth, TLS, the
//! in-flight bound and HTTP/2 connection reuse. Durations are short and configured; no test
//! sleeps to synchronise (waits are on counters or on the exporter's own outcome).

mod forward_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forward_support::{Reply, Upstream};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_arrow::config::{
    BasicAuth, BreakerConfig, ForwardCompression, ForwardEndpoint, ForwardProtocol, RetryConfig,
    Secret,
};
use otlp_arrow::otlp::forward::{
    BreakerEvent, BreakerState, BreakerTransition, DropReason, ExportOutcome, ExportRequest,
    Exporter, ForwardError, RequestBuilder, render_prometheus,
};
use otlp_arrow::signal::Signal;
use prost::Message;
use tonic::Code;

const PROTOCOLS: [ForwardProtocol; 2] = [ForwardProtocol::Grpc, ForwardProtocol::Http];

const CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/otlp_tls/ca.pem");
const CERT: &[u8] = include_bytes!("data/otlp_tls/server.pem");
const KEY: &[u8] = include_bytes!("data/otlp_tls/server.key");

fn endpoint(url: &str, protocol: ForwardProtocol) -> ForwardEndpoint {
    let mut e = ForwardEndpoint::new(url);
    e.protocol = protocol;
    e.compression = ForwardCompression::None;
    e.timeout = Duration::from_millis(500);
    e
}

/// Fast retries, a 3 s deadline.
fn retry() -> RetryConfig {
    RetryConfig {
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(3),
        max_server_delay: Duration::from_millis(200),
    }
}

/// A breaker that never opens in these tests unless they say so.
fn no_breaker() -> BreakerConfig {
    BreakerConfig {
        failure_threshold: 4000,
        ..BreakerConfig::default()
    }
}

fn spans(n: usize, tag: &str) -> ResourceSpans {
    ResourceSpans {
        scope_spans: vec![ScopeSpans {
            spans: (0..n)
                .map(|i| Span {
                    trace_id: vec![7; 16],
                    span_id: vec![(i % 250) as u8 + 1; 8],
                    name: format!("{tag}-{i}"),
                    ..Span::default()
                })
                .collect(),
            ..ScopeSpans::default()
        }],
        ..ResourceSpans::default()
    }
}

/// A traces request of two records, and the message it must decode to.
fn traces(tag: &str) -> (ExportRequest, ExportTraceServiceRequest) {
    let records = [spans(3, tag), spans(2, tag)];
    let mut b = RequestBuilder::new(Signal::Traces, 1 << 20, 1000);
    for r in &records {
        assert!(b.try_push(&r.encode_to_vec(), r.scope_spans[0].spans.len() as u64));
    }
    (
        b.take(),
        ExportTraceServiceRequest {
            resource_spans: records.to_vec(),
        },
    )
}

fn exporter(e: &ForwardEndpoint, retry: &RetryConfig, breaker: &BreakerConfig) -> Exporter {
    Exporter::new(e, retry, breaker).expect("exporter")
}

fn accepted() -> ExportOutcome {
    ExportOutcome::Accepted {
        rejected: 0,
        message: None,
    }
}

#[tokio::test]
async fn success_delivers_the_exact_bytes() {
    let up = Upstream::start().await;
    for protocol in PROTOCOLS {
        let ex = exporter(&endpoint(&up.url(), protocol), &retry(), &no_breaker());
        let (req, expected) = traces("ok");
        let body = req.body.clone();
        assert_eq!(ex.export(req).await, accepted(), "{protocol:?}");
        let got = up.received().pop().unwrap();
        assert_eq!(got.grpc, protocol == ForwardProtocol::Grpc);
        let path = match protocol {
            ForwardProtocol::Grpc => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            ForwardProtocol::Http => "/v1/traces",
        };
        assert_eq!(got.path, path);
        assert_eq!(got.body, &body[..], "no re-encoding");
        assert!(!got.compressed);
        assert_eq!(
            ExportTraceServiceRequest::decode(&got.body[..]).unwrap(),
            expected
        );
        let s = ex.stats();
        assert_eq!((s.requests, s.attempts, s.retries), (1, 1, 0));
        assert_eq!(
            (s.items_sent, s.items_accepted, s.items_rejected),
            (5, 5, 0)
        );
        assert_eq!(s.breaker_state, BreakerState::Closed);
    }
    assert_eq!(up.request_count(), 2);
}

#[tokio::test]
async fn logs_go_to_the_logs_service_and_base_path_is_kept() {
    let up = Upstream::start().await;
    let record = ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: vec![LogRecord {
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue("hello".into())),
                }),
                ..LogRecord::default()
            }],
            ..ScopeLogs::default()
        }],
        ..ResourceLogs::default()
    };
    let mut b = RequestBuilder::new(Signal::Logs, 1 << 20, 10);
    assert!(b.try_push(&record.encode_to_vec(), 1));
    let req = b.take();
    let grpc = exporter(
        &endpoint(&up.url(), ForwardProtocol::Grpc),
        &retry(),
        &no_breaker(),
    );
    assert_eq!(grpc.export(req.clone()).await, accepted());
    let http = exporter(
        &endpoint(&format!("{}/otlp/", up.url()), ForwardProtocol::Http),
        &retry(),
        &no_breaker(),
    );
    assert_eq!(http.export(req).await, accepted());
    let got = up.received();
    assert_eq!(
        got[0].path,
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
    );
    assert_eq!(got[1].path, "/otlp/v1/logs");
    for g in &got {
        let decoded = ExportLogsServiceRequest::decode(&g.body[..]).unwrap();
        assert_eq!(decoded.resource_logs, vec![record.clone()]);
    }
}

#[tokio::test]
async fn partial_success_is_reported_and_counted() {
    let up = Upstream::start().await;
    for protocol in PROTOCOLS {
        up.push(Reply::Partial {
            rejected: 2,
            message: "2 spans too old".into(),
        });
        let ex = exporter(&endpoint(&up.url(), protocol), &retry(), &no_breaker());
        let out = ex.export(traces("p").0).await;
        assert_eq!(
            out,
            ExportOutcome::Accepted {
                rejected: 2,
                message: Some("2 spans too old".into())
            },
            "{protocol:?}"
        );
        let s = ex.stats();
        assert_eq!((s.items_accepted, s.items_rejected, s.retries), (3, 2, 0));
    }
}

#[tokio::test]
async fn unavailable_is_retried_until_success() {
    let up = Upstream::start().await;
    for protocol in PROTOCOLS {
        let before = up.request_count();
        up.push(Reply::unavailable());
        up.push(Reply::unavailable());
        up.push(Reply::http(502, None));
        let ex = exporter(&endpoint(&up.url(), protocol), &retry(), &no_breaker());
        let (req, expected) = traces("retry");
        assert_eq!(ex.export(req).await, accepted(), "{protocol:?}");
        assert_eq!(up.request_count() - before, 4);
        // Every attempt carried the same request.
        for got in &up.received()[before..] {
            assert_eq!(
                ExportTraceServiceRequest::decode(&got.body[..]).unwrap(),
                expected
            );
        }
        let s = ex.stats();
        assert_eq!((s.attempts, s.retries, s.items_accepted), (4, 3, 5));
    }
}

#[tokio::test]
async fn resource_exhausted_is_retried_only_with_retry_info() {
    let up = Upstream::start().await;
    let mut r = retry();
    r.max_server_delay = Duration::from_secs(5);
    let ex = exporter(
        &endpoint(&up.url(), ForwardProtocol::Grpc),
        &r,
        &no_breaker(),
    );

    // With RetryInfo: retried after the delay the server asked for.
    up.push(Reply::exhausted(Some(Duration::from_millis(300))));
    let t = Instant::now();
    assert_eq!(ex.export(traces("ri").0).await, accepted());
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(up.request_count(), 2);

    // Without: not retryable, dropped.
    up.push(Reply::exhausted(None));
    match ex.export(traces("nori").0).await {
        ExportOutcome::Dropped { reason, message } => {
            assert_eq!(reason, DropReason::TooLarge);
            assert!(message.contains("upstream overloaded"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(up.request_count(), 3);
    assert_eq!(ex.stats().dropped(DropReason::TooLarge), 1);
    assert_eq!(ex.stats().dropped_items[DropReason::TooLarge.index()], 5);
}

#[tokio::test]
async fn server_delays_are_capped() {
    let up = Upstream::start().await;
    let mut r = retry();
    r.max_server_delay = Duration::from_millis(50);
    for protocol in PROTOCOLS {
        // An hour of RetryInfo (gRPC) / Retry-After (HTTP: 429 with 3600 s).
        up.push(Reply::exhausted(Some(Duration::from_secs(3600))));
        let ex = exporter(&endpoint(&up.url(), protocol), &r, &no_breaker());
        let t = Instant::now();
        assert_eq!(ex.export(traces("cap").0).await, accepted(), "{protocol:?}");
        // The capped delay is 50 ms; far below the deadline (3 s) and the hour.
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert_eq!(ex.stats().retries, 1);
    }
}

#[tokio::test]
async fn http_429_honours_retry_after_seconds_and_dates() {
    let up = Upstream::start().await;
    let mut r = retry();
    r.max_server_delay = Duration::from_secs(5);
    let ex = exporter(
        &endpoint(&up.url(), ForwardProtocol::Http),
        &r,
        &no_breaker(),
    );
    up.push(Reply::http(429, Some("1")));
    let t = Instant::now();
    assert_eq!(ex.export(traces("ra").0).await, accepted());
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());

    // An HTTP-date two seconds ahead (whole seconds: at least one second from now).
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    up.push(Reply::http(503, Some(&httpdate::fmt_http_date(at))));
    let t = Instant::now();
    assert_eq!(ex.export(traces("rd").0).await, accepted());
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(ex.stats().retries, 2);
}

#[tokio::test]
async fn a_slow_upstream_is_retried_then_deferred_at_the_deadline() {
    let up = Upstream::start().await;
    up.set_default(Reply::delay(Duration::from_secs(30), Reply::Ok));
    let mut r = retry();
    r.max_elapsed = Duration::from_millis(700);
    for protocol in PROTOCOLS {
        let before = up.request_count();
        let mut e = endpoint(&up.url(), protocol);
        e.timeout = Duration::from_millis(150);
        let ex = exporter(&e, &r, &no_breaker());
        let t = Instant::now();
        match ex.export(traces("slow").0).await {
            ExportOutcome::Deferred { last_error } => {
                assert!(last_error.contains("timed out"), "{last_error}")
            }
            other => panic!("{protocol:?}: {other:?}"),
        }
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(up.request_count() - before >= 2, "retried after a timeout");
        let s = ex.stats();
        assert_eq!((s.deferred_requests, s.deferred_items), (1, 5));
        assert!(s.retries >= 1);
        assert_eq!(s.dropped_total(), 0);
    }
}

#[tokio::test]
async fn a_non_retryable_answer_drops_only_that_request() {
    let up = Upstream::start().await;
    for protocol in PROTOCOLS {
        let before = up.request_count();
        up.push(Reply::grpc(Code::InvalidArgument, "span 3 has no name"));
        let ex = exporter(&endpoint(&up.url(), protocol), &retry(), &no_breaker());
        match ex.export(traces("bad").0).await {
            ExportOutcome::Dropped { reason, message } => {
                assert_eq!(reason, DropReason::BadRequest, "{protocol:?}");
                assert!(message.contains("span 3 has no name"), "{message}");
            }
            other => panic!("{protocol:?}: {other:?}"),
        }
        assert_eq!(ex.export(traces("good").0).await, accepted());
        assert_eq!(up.request_count() - before, 2, "the drop was not retried");
        let s = ex.stats();
        assert_eq!(s.dropped(DropReason::BadRequest), 1);
        assert_eq!(s.items_accepted, 5);
        assert_eq!(s.breaker_state, BreakerState::Closed);
    }
    // HTTP 400 and 401 straight.
    let ex = exporter(
        &endpoint(&up.url(), ForwardProtocol::Http),
        &retry(),
        &no_breaker(),
    );
    up.push(Reply::http(401, None));
    assert!(matches!(
        ex.export(traces("x").0).await,
        ExportOutcome::Dropped {
            reason: DropReason::Unauthorized,
            ..
        }
    ));
}

#[tokio::test]
async fn a_reset_connection_is_retried() {
    let up = Upstream::start().await;
    for protocol in PROTOCOLS {
        let before = up.request_count();
        up.push(Reply::Reset);
        let ex = exporter(&endpoint(&up.url(), protocol), &retry(), &no_breaker());
        assert_eq!(
            ex.export(traces("reset").0).await,
            accepted(),
            "{protocol:?}"
        );
        assert_eq!(up.request_count() - before, 2);
        assert_eq!(ex.stats().retries, 1);
    }
}

#[tokio::test]
async fn upstream_down_then_back_opens_probes_and_closes_the_breaker() {
    for protocol in PROTOCOLS {
        let mut up = Upstream::start().await;
        let breaker = BreakerConfig {
            failure_threshold: 2,
            open_duration: Duration::from_millis(300),
            half_open_probes: 1,
            success_threshold: 1,
        };
        let events: Arc<Mutex<Vec<BreakerEvent>>> = Arc::default();
        let sink = Arc::clone(&events);
        // A deadline longer than the open period: the second export below waits it out.
        let mut r = retry();
        r.max_elapsed = Duration::from_secs(1);
        let ex = exporter(&endpoint(&up.url(), protocol), &r, &breaker)
            .with_breaker_callback(Arc::new(move |e| sink.lock().unwrap().push(e)));
        assert_eq!(ex.export(traces("before").0).await, accepted());

        up.stop().await;
        // Refused connections: two failures open the breaker; probes fail until the deadline.
        let out = ex.export(traces("down").0).await;
        assert!(
            matches!(out, ExportOutcome::Deferred { .. }),
            "{protocol:?}: {out:?}"
        );
        let s = ex.stats();
        assert_eq!(s.breaker.closed_to_open, 1, "{s:?}");
        assert!(s.breaker.rejected >= 1);
        // Opening was announced to the embedder, with the redacted endpoint name.
        {
            let ev = events.lock().unwrap();
            assert_eq!(ev[0].transition, BreakerTransition::ClosedToOpen);
            assert_eq!(ev[0].state, BreakerState::Open);
            assert_eq!(&*ev[0].endpoint, ex.name());
        }

        up.restart().await;
        // The open period (300 ms) ends within the deadline (1 s); the probe succeeds and
        // closes the breaker. (A clone is the same endpoint: same breaker.)
        let ex2 = ex.clone();
        let (req, expected) = traces("after");
        assert_eq!(ex2.export(req).await, accepted(), "{protocol:?}");
        assert_eq!(
            ExportTraceServiceRequest::decode(&up.received().last().unwrap().body[..]).unwrap(),
            expected
        );
        let s = ex.stats();
        assert_eq!(s.breaker_state, BreakerState::Closed);
        assert!(s.breaker_closed() >= 1, "{s:?}");
        assert!(ex.is_available());
        let transitions: Vec<_> = events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.transition)
            .collect();
        assert_eq!(transitions.first(), Some(&BreakerTransition::ClosedToOpen));
        assert_eq!(
            transitions.last(),
            Some(&BreakerTransition::HalfOpenToClosed)
        );
        assert!(transitions.contains(&BreakerTransition::OpenToHalfOpen));
    }
}

#[tokio::test]
async fn breaker_open_means_not_available_and_nothing_sent() {
    let mut up = Upstream::start().await;
    let breaker = BreakerConfig {
        failure_threshold: 1,
        open_duration: Duration::from_secs(60),
        half_open_probes: 1,
        success_threshold: 1,
    };
    let mut r = retry();
    r.max_elapsed = Duration::from_millis(200);
    let ex = exporter(&endpoint(&up.url(), ForwardProtocol::Grpc), &r, &breaker);
    up.stop().await;
    assert!(matches!(
        ex.export(traces("a").0).await,
        ExportOutcome::Deferred { .. }
    ));
    assert!(!ex.is_available());
    assert_eq!(ex.stats().breaker_state, BreakerState::Open);
    up.restart().await;
    let before = up.request_count();
    assert!(matches!(
        ex.export(traces("b").0).await,
        ExportOutcome::Deferred { .. }
    ));
    assert_eq!(up.request_count(), before, "nothing sent while open");
    assert_eq!(ex.stats().deferred_requests, 2);
}

#[tokio::test]
async fn gzip_bodies_are_gzipped() {
    let up = Upstream::start().await;
    for protocol in PROTOCOLS {
        let mut e = endpoint(&up.url(), protocol);
        e.compression = ForwardCompression::Gzip;
        let ex = exporter(&e, &retry(), &no_breaker());
        let (req, expected) = traces("gz");
        assert_eq!(ex.export(req).await, accepted());
        let got = up.received().pop().unwrap();
        assert!(got.compressed, "{protocol:?}");
        let gz_start = if got.grpc { 5 } else { 0 };
        assert_eq!(
            &got.wire[gz_start..gz_start + 2],
            &[0x1f, 0x8b],
            "gzip magic"
        );
        match protocol {
            ForwardProtocol::Grpc => assert_eq!(got.headers["grpc-encoding"], "gzip"),
            ForwardProtocol::Http => assert_eq!(got.headers["content-encoding"], "gzip"),
        }
        assert_eq!(
            ExportTraceServiceRequest::decode(&got.body[..]).unwrap(),
            expected
        );
    }
}

/// Collects everything `tracing` writes on this thread (tokio tests run on one thread).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn auth_headers_arrive_and_secrets_never_leak() {
    const SECRETS: [&str; 4] = [
        "api-key-s3cr3t",
        "bearer-s3cr3t",
        "basic-s3cr3t",
        "hdr-s3cr3t",
    ];
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let up = Upstream::start().await;
    let mut seen = String::new();
    for protocol in PROTOCOLS {
        for variant in 0..2 {
            let mut e = endpoint(&up.url(), protocol);
            e.allow_insecure = true;
            e.headers.insert("x-tenant".into(), SECRETS[3].into());
            e.api_key = Some(Secret::new(SECRETS[0]));
            e.api_key_header = "X-Custom-Key".into();
            if variant == 0 {
                e.bearer_token = Some(Secret::new(SECRETS[1]));
            } else {
                e.basic_auth = Some(BasicAuth {
                    username: "user".into(),
                    password: Secret::new(SECRETS[2]),
                });
            }
            let ex = exporter(&e, &retry(), &no_breaker());
            assert_eq!(ex.export(traces("auth").0).await, accepted());
            let got = up.received().pop().unwrap();
            assert_eq!(got.headers["x-custom-key"], SECRETS[0]);
            assert_eq!(got.headers["x-tenant"], SECRETS[3]);
            let authorization = got.headers["authorization"].to_str().unwrap().to_owned();
            if variant == 0 {
                assert_eq!(authorization, format!("Bearer {}", SECRETS[1]));
            } else {
                // base64("user:basic-s3cr3t")
                assert_eq!(authorization, "Basic dXNlcjpiYXNpYy1zM2NyM3Q=");
            }

            // Failure paths carry messages; none may carry a secret.
            up.push(Reply::unavailable());
            up.push(Reply::grpc(Code::Unauthenticated, "who are you"));
            let out = ex.export(traces("auth").0).await;
            assert!(matches!(out, ExportOutcome::Dropped { .. }), "{out:?}");
            seen.push_str(&format!("{out:?}\n{ex:?}\n{:?}\n", ex.stats()));
            render_prometheus(&[ex.stats()], &mut seen);
            seen.push_str(&format!("{e:?}\n"));
        }
    }
    // A deferred request's error, too.
    let mut e = endpoint("http://127.0.0.1:1", ForwardProtocol::Http);
    e.allow_insecure = true;
    e.bearer_token = Some(Secret::new(SECRETS[1]));
    let mut r = retry();
    r.max_elapsed = Duration::from_millis(50);
    let ex = exporter(&e, &r, &no_breaker());
    seen.push_str(&format!("{:?}\n", ex.export(traces("d").0).await));
    // And the refusal error.
    e.allow_insecure = false;
    seen.push_str(
        &Exporter::new(&e, &r, &no_breaker())
            .unwrap_err()
            .to_string(),
    );

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("forward request dropped"),
        "logs captured:\n{logs}"
    );
    for secret in SECRETS {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
        assert!(!seen.contains(secret), "{secret} in:\n{seen}");
    }
    // The base64 of the basic credentials is a secret too.
    assert!(!logs.contains("dXNlcjpiYXNpYy1zM2NyM3Q") && !seen.contains("dXNlcjpiYXNpYy1zM2NyM3Q"));
}

#[tokio::test]
async fn credentials_over_plain_http_are_refused() {
    for protocol in PROTOCOLS {
        let mut e = endpoint("http://collector.example:4317", protocol);
        e.api_key = Some(Secret::new("k-s3cr3t"));
        let err = Exporter::new(&e, &retry(), &no_breaker()).unwrap_err();
        assert!(
            matches!(err, ForwardError::InsecureCredentials { .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("allow_insecure") && !text.contains("k-s3cr3t"),
            "{text}"
        );
        e.url = "https://collector.example:4317".into();
        assert!(Exporter::new(&e, &retry(), &no_breaker()).is_ok());
    }
}

#[tokio::test]
async fn tls_with_a_custom_ca() {
    let up = Upstream::start_tls(CERT, KEY).await;
    for protocol in PROTOCOLS {
        let mut e = endpoint(&up.url(), protocol);
        e.tls.ca_path = Some(CA.into());
        e.bearer_token = Some(Secret::new("over-tls"));
        let ex = exporter(&e, &retry(), &no_breaker());
        let (req, expected) = traces("tls");
        assert_eq!(ex.export(req).await, accepted(), "{protocol:?}");
        let got = up.received().pop().unwrap();
        assert_eq!(got.headers["authorization"], "Bearer over-tls");
        assert_eq!(
            ExportTraceServiceRequest::decode(&got.body[..]).unwrap(),
            expected
        );

        // Without the CA (system roots) the test certificate is not trusted: retried as a
        // transport error, then deferred; nothing reaches the upstream's handler.
        let before = up.request_count();
        let mut untrusted = endpoint(&up.url(), protocol);
        untrusted.tls.ca_path = None;
        let mut r = retry();
        r.max_elapsed = Duration::from_millis(100);
        if let Ok(ex) = Exporter::new(&untrusted, &r, &no_breaker()) {
            match ex.export(traces("untrusted").0).await {
                ExportOutcome::Deferred { last_error } => {
                    assert!(
                        last_error.to_lowercase().contains("certificate"),
                        "{last_error}"
                    )
                }
                other => panic!("{other:?}"),
            }
        } // (a machine without system roots refuses at `new`, which is fine too)
        assert_eq!(up.request_count(), before);
    }
    // A CA file that does not exist is an error at `new`, naming the file.
    let mut e = endpoint(&up.url(), ForwardProtocol::Grpc);
    e.tls.ca_path = Some("/nonexistent/ca.pem".into());
    let err = Exporter::new(&e, &retry(), &no_breaker())
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test]
async fn mutual_tls_with_a_client_certificate() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/forward_tls");
    let client_ca = std::fs::read(format!("{dir}/client-ca.pem")).unwrap();
    let up = Upstream::start_mtls(CERT, KEY, &client_ca).await;
    for protocol in PROTOCOLS {
        let mut e = endpoint(&up.url(), protocol);
        e.tls.ca_path = Some(CA.into());
        e.tls.client_cert_path = Some(format!("{dir}/client.pem").into());
        e.tls.client_key_path = Some(format!("{dir}/client.key").into());
        let ex = exporter(&e, &retry(), &no_breaker());
        assert_eq!(
            ex.export(traces("mtls").0).await,
            accepted(),
            "{protocol:?}"
        );

        // Without the certificate the handshake fails: retried, then deferred, never received.
        let before = up.request_count();
        let mut anonymous = e.clone();
        anonymous.tls.client_cert_path = None;
        anonymous.tls.client_key_path = None;
        let mut r = retry();
        r.max_elapsed = Duration::from_millis(100);
        let ex = exporter(&anonymous, &r, &no_breaker());
        assert!(matches!(
            ex.export(traces("anon").0).await,
            ExportOutcome::Deferred { .. }
        ));
        assert_eq!(up.request_count(), before);

        // Half a key pair is refused at `new`.
        let mut half = e.clone();
        half.tls.client_key_path = None;
        let err = Exporter::new(&half, &r, &no_breaker())
            .unwrap_err()
            .to_string();
        assert!(err.contains("client_key_path"), "{err}");
    }
}

#[tokio::test]
async fn in_flight_is_bounded_and_grpc_reuses_one_connection() {
    let up = Upstream::start().await;
    up.set_default(Reply::delay(Duration::from_millis(200), Reply::Ok));
    let mut e = endpoint(&up.url(), ForwardProtocol::Grpc);
    e.max_in_flight = 2;
    let ex = exporter(&e, &retry(), &no_breaker());
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let ex = ex.clone();
            tokio::spawn(async move { ex.export(traces(&format!("c{i}")).0).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), accepted());
    }
    assert_eq!(up.request_count(), 6);
    assert_eq!(up.max_in_flight(), 2, "max_in_flight = 2 was honoured");
    assert_eq!(
        up.connections(),
        1,
        "one HTTP/2 connection for every request"
    );
}

/// The exporter against otlp-arrow's own receivers (tonic gRPC server, hyper HTTP server),
/// gzip on, cleartext and TLS: the hand-written gRPC framing interoperates with tonic, and
/// the receivers store the forwarded records byte for byte.
#[tokio::test]
async fn interop_with_the_otlp_arrow_receivers() {
    use otlp_arrow::otlp::{ReceiverContext, ReceiverLimits, TlsIdentity, serve_grpc, serve_http};
    use otlp_arrow::ring::Ring;

    let limits = ReceiverLimits {
        max_message_bytes: 4 << 20,
        max_decompressed_bytes: 32 << 20,
        retry_after: Duration::from_secs(1),
        wait_for_room: Duration::ZERO,
    };
    for tls in [false, true] {
        for protocol in PROTOCOLS {
            let ring = || Arc::new(Ring::with_capacity(1 << 20).unwrap());
            let mut ctx = ReceiverContext::with_limits(limits, ring(), ring(), ring());
            if tls {
                ctx = ctx.with_tls(TlsIdentity::from_pem(CERT, KEY).unwrap());
            }
            let ctx = Arc::new(ctx);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let shutdown = async move {
                let _ = stopped.await;
            };
            let server = match protocol {
                ForwardProtocol::Grpc => {
                    let task = tokio::spawn(serve_grpc(Arc::clone(&ctx), listener, shutdown));
                    tokio::spawn(async move { task.await.unwrap().map_err(|e| e.to_string()) })
                }
                ForwardProtocol::Http => {
                    let task = tokio::spawn(serve_http(Arc::clone(&ctx), listener, shutdown));
                    tokio::spawn(async move { task.await.unwrap().map_err(|e| e.to_string()) })
                }
            };
            let url = if tls {
                format!("https://localhost:{port}")
            } else {
                format!("http://127.0.0.1:{port}")
            };
            let mut e = endpoint(&url, protocol);
            e.compression = ForwardCompression::Gzip;
            if tls {
                e.tls.ca_path = Some(CA.into());
            }
            let ex = exporter(&e, &retry(), &no_breaker());
            let (req, expected) = traces("interop");
            assert_eq!(ex.export(req).await, accepted(), "{protocol:?} tls={tls}");

            let mut stored = Vec::new();
            let ring = ctx.ring(Signal::Traces);
            let mut consumer = ring.consumer().unwrap();
            consumer.read(usize::MAX, |_, record| {
                stored.push(ResourceSpans::decode(record).unwrap());
            });
            assert_eq!(stored, expected.resource_spans, "{protocol:?} tls={tls}");
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
        }
    }
}
