//! A standard OTLP client against the real service: the Rust `opentelemetry-otlp` exporters
//! (gRPC via tonic, HTTP/protobuf via reqwest) behind the `opentelemetry_sdk` batch processors
//! send spans, metrics and logs to `otlp-arrow serve`; after SIGTERM the stored rows equal what
//! was sent (span ids, names, kinds, attributes, resource; metric types and values; log bodies).

#[path = "bin_support/mod.rs"]
mod bin;

use std::collections::BTreeMap;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, UInt64Type};
use bin::{TempDir, batches, serve_in};
use opentelemetry::KeyValue;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::{LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

const SPANS: u64 = 20;
const LOGS: usize = 5;

struct Exporters {
    spans: SpanExporter,
    metrics: MetricExporter,
    logs: LogExporter,
}

/// Sends `SPANS` spans, one point per instrument kind and `LOGS` logs through `e`; returns the
/// span ids it created (hex).
fn send(e: Exporters, service: &str) -> Vec<(String, String, i32)> {
    let resource = Resource::builder()
        .with_service_name(service.to_string())
        .build();
    let tp = SdkTracerProvider::builder()
        .with_batch_exporter(e.spans)
        .with_resource(resource.clone())
        .build();
    let tracer = tp.tracer("rs-tracer");
    let mut sent = Vec::new();
    for i in 0..SPANS {
        let kind = if i % 2 == 0 {
            SpanKind::Server
        } else {
            SpanKind::Client
        };
        let mut span = tracer
            .span_builder(format!("op-{i}"))
            .with_kind(kind.clone())
            .with_attributes(vec![
                KeyValue::new("i", i as i64),
                KeyValue::new("who", service.to_string()),
            ])
            .start(&tracer);
        let id = span.span_context().span_id().to_string();
        span.end();
        sent.push((id, format!("op-{i}"), if i % 2 == 0 { 2 } else { 3 }));
    }
    tp.shutdown().unwrap();

    let mp = SdkMeterProvider::builder()
        .with_periodic_exporter(e.metrics)
        .with_resource(resource.clone())
        .build();
    let meter = mp.meter("rs-meter");
    let attrs = [KeyValue::new("route", "/a")];
    meter.u64_counter("requests").build().add(7, &attrs);
    meter
        .i64_up_down_counter("inflight")
        .build()
        .add(-3, &attrs);
    meter.f64_histogram("latency").build().record(5.0, &attrs);
    meter.f64_gauge("temperature").build().record(21.5, &attrs);
    let _obs = meter
        .u64_observable_counter("cpu.time")
        .with_callback(|o| o.observe(12, &[KeyValue::new("route", "/a")]))
        .build();
    mp.shutdown().unwrap();

    let lp = SdkLoggerProvider::builder()
        .with_batch_exporter(e.logs)
        .with_resource(resource)
        .build();
    let logger = lp.logger("rs-logs");
    for i in 0..LOGS {
        let mut rec = logger.create_log_record();
        rec.set_body(AnyValue::from(format!("log {service} {i}")));
        rec.set_severity_number(Severity::Warn);
        logger.emit(rec);
    }
    lp.shutdown().unwrap();
    sent
}

#[test]
fn rust_sdk_exporters_over_grpc_and_http_store_exactly_what_was_sent() {
    let dir = TempDir::new("rs-clients");
    let svc = serve_in(dir.path(), &[]);
    let (grpc, http) = (svc.grpc, svc.http);

    // gRPC: tonic needs a runtime to drive its connection.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let grpc_sent = {
        let _guard = rt.enter();
        let ep = format!("http://{grpc}");
        send(
            Exporters {
                spans: SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(&ep)
                    .build()
                    .unwrap(),
                metrics: MetricExporter::builder()
                    .with_tonic()
                    .with_endpoint(&ep)
                    .build()
                    .unwrap(),
                logs: LogExporter::builder()
                    .with_tonic()
                    .with_endpoint(&ep)
                    .build()
                    .unwrap(),
            },
            "rs-grpc",
        )
    };
    drop(rt);
    // HTTP/protobuf with the blocking client (outside any runtime, as it requires).
    let base = format!("http://{http}");
    let http_sent = send(
        Exporters {
            spans: SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(format!("{base}/v1/traces"))
                .build()
                .unwrap(),
            metrics: MetricExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(format!("{base}/v1/metrics"))
                .build()
                .unwrap(),
            logs: LogExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(format!("{base}/v1/logs"))
                .build()
                .unwrap(),
        },
        "rs-http",
    );
    let (status, log) = svc.stop("TERM");
    assert!(status.success(), "service exit {status:?}; log: {log:#?}");
    let data = dir.path().join("data");

    // Spans: exactly the ids sent, each with its name and kind.
    let mut stored = BTreeMap::new();
    for b in batches(&data.join("traces")) {
        let ids = b.column_by_name("span_id").unwrap().as_fixed_size_binary();
        let names = b.column_by_name("name").unwrap().as_string::<i32>();
        let kinds = b
            .column_by_name("kind")
            .unwrap()
            .as_primitive::<Int32Type>();
        for r in 0..b.num_rows() {
            let id: String = ids.value(r).iter().map(|x| format!("{x:02x}")).collect();
            assert!(
                stored
                    .insert(id, (names.value(r).to_string(), kinds.value(r)))
                    .is_none()
            );
        }
    }
    let mut sent = grpc_sent;
    sent.extend(http_sent);
    assert_eq!(stored.len(), sent.len(), "span count");
    for (id, name, kind) in &sent {
        assert_eq!(stored.get(id), Some(&(name.clone(), *kind)), "span {id}");
    }

    // Metrics: per transport, one point per instrument with its value.
    let mut points = BTreeMap::new();
    for b in batches(&data.join("metrics")) {
        let name = b.column_by_name("metric_name").unwrap().as_string::<i32>();
        let mtype = b.column_by_name("metric_type").unwrap().as_string::<i32>();
        let vint = b
            .column_by_name("value_int")
            .unwrap()
            .as_primitive::<Int64Type>();
        let vdbl = b
            .column_by_name("value_double")
            .unwrap()
            .as_primitive::<Float64Type>();
        let count = b
            .column_by_name("count")
            .unwrap()
            .as_primitive::<UInt64Type>();
        let res = b.column_by_name("resource_attributes").unwrap().as_map();
        for r in 0..b.num_rows() {
            let service = {
                let e = res.value(r);
                let keys = e.column(0).as_string::<i32>();
                let vals = e.column(1).as_struct().column(1).as_string::<i32>();
                (0..e.len())
                    .find(|&i| keys.value(i) == "service.name")
                    .map(|i| vals.value(i).to_string())
                    .unwrap()
            };
            let value = match mtype.value(r) {
                "histogram" => format!("count={}", count.value(r)),
                _ if !vint.is_null(r) => format!("int={}", vint.value(r)),
                _ => format!("double={}", vdbl.value(r)),
            };
            points.insert(
                (service, name.value(r).to_string()),
                (mtype.value(r).to_string(), value),
            );
        }
    }
    for service in ["rs-grpc", "rs-http"] {
        for (name, mtype, value) in [
            ("requests", "sum", "int=7"),
            ("inflight", "sum", "int=-3"),
            ("latency", "histogram", "count=1"),
            ("temperature", "gauge", "double=21.5"),
            ("cpu.time", "sum", "int=12"),
        ] {
            assert_eq!(
                points.get(&(service.to_string(), name.to_string())),
                Some(&(mtype.to_string(), value.to_string())),
                "{service} {name}"
            );
        }
    }
    assert_eq!(points.len(), 10, "{points:#?}");

    // Logs: every body, severity WARN (13).
    let mut bodies = Vec::new();
    for b in batches(&data.join("logs")) {
        let body = b.column_by_name("body").unwrap().as_struct();
        let text = body.column(1).as_string::<i32>();
        let sev = b
            .column_by_name("severity_number")
            .unwrap()
            .as_primitive::<Int32Type>();
        for r in 0..b.num_rows() {
            assert_eq!(sev.value(r), 13);
            bodies.push(text.value(r).to_string());
        }
    }
    bodies.sort();
    let mut want: Vec<String> = ["rs-grpc", "rs-http"]
        .iter()
        .flat_map(|s| (0..LOGS).map(move |i| format!("log {s} {i}")))
        .collect();
    want.sort();
    assert_eq!(bodies, want);
}
