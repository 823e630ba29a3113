//! `forward-throughput`: forwarding throughput service -> service on loopback, against the
//! Rust `opentelemetry-otlp` span exporter sending the same spans to the same kind of upstream
//! in the same run (a dev tool, not a timed test; results in `docs/BENCHMARKS.md`,
//! "Forwarding").
//!
//! 1. An `otlp-arrow serve` without forwarding stores `--spans` spans (the `forward-outage`
//!    spans: unique ids, 2 attributes) and stops; its files are the backlog.
//! 2. **otlp-arrow**: an upstream `otlp-arrow serve` starts, then `otlp-arrow serve` on the
//!    backlog directory with the upstream as its forward endpoint (defaults: `max_in_flight =
//!    4`, `max_request_items = 8192`): it catches up from the files (read, reverse path,
//!    OTLP/gRPC). Measured: from its start until `otlp_arrow_forward_signal_cursor` reaches
//!    the total (polled every 5 ms).
//! 3. **opentelemetry-otlp**: a fresh upstream; `opentelemetry_otlp::SpanExporter` (tonic)
//!    exports the same spans as prebuilt `SpanData` batches, one export at a time (the
//!    `SpanExporter` contract), with batch sizes 512 (the batch processor's default) and 8192.
//!    Building the `SpanData` is not timed.
//!
//! With `--path live`, step 2 instead starts the forwarding `otlp-arrow serve` on an empty
//! directory and this tool sends it the spans (one gRPC connection, 100 spans a request, as
//! fast as it answers) while it forwards them live (ring records concatenated, no decode or
//! encode); timed from the first request until the forward cursor reaches the total (so the
//! client and ingestion are inside the time: it is a lower bound on live forwarding). Live
//! and catch-up acknowledged items are printed (spans the live queue could not take are sent
//! from the files).
//!
//! Each upstream must end up with every span (rows written counted on its `/metrics`).
//! Per round it prints wall time, when the forwarder answered `/metrics`, and the CPU time of
//! the forwarding process and of each upstream (the exporter runs in this process). With
//! `FWD_TRACE` set in the environment it also prints every cursor sample (a timeline).

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};

use crate::args::Args;

pub(crate) fn main(words: &[String]) -> Result<bool, String> {
    let mut a = Args::parse(words)?;
    let server = PathBuf::from(
        a.take("server")
            .unwrap_or_else(|| "target/release/otlp-arrow".into()),
    );
    let spans = a.parsed("spans", 400_000u64)?;
    let runs = a.parsed("runs", 3usize)?;
    let sink = match a.take("upstream").as_deref() {
        None | Some("serve") => false,
        Some("sink") => true,
        Some(other) => return Err(format!("--upstream {other:?}: serve or sink")),
    };
    // The same request compression for both senders (none is the exporter's default).
    let gzip = match a.take("compression").as_deref() {
        None | Some("none") => false,
        Some("gzip") => true,
        Some(other) => return Err(format!("--compression {other:?}: none or gzip")),
    };
    let live = match a.take("path").as_deref() {
        None | Some("catchup") => false,
        Some("live") => true,
        Some(other) => return Err(format!("--path {other:?}: catchup or live")),
    };
    a.finish()?;
    let dir = std::env::temp_dir().join(format!("otlp-arrow-fwd-tput-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = run(&server, &dir, spans, runs, sink, gzip, live);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// An upstream: `otlp-arrow serve` (stores, counts rows on `/metrics`) or the load tool's
/// decode-and-discard sink (isolates the senders).
fn upstream(
    server: &Path,
    sink: bool,
    out: &Path,
    log: &Path,
) -> Result<(Child, Vec<SocketAddr>), String> {
    let a = addrs()?;
    let mut child = if sink {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let f = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        Child(
            Command::new(exe)
                .args(["sink", "--grpc-addr", &a[0].to_string()])
                .args(["--http-addr", &a[1].to_string()])
                .stdin(Stdio::null())
                .stdout(f)
                .stderr(f2)
                .spawn()
                .map_err(|e| e.to_string())?,
        )
    } else {
        serve(server, out, &a, None, log)?
    };
    if sink {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&a[0], Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                return Err("the sink did not start".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    } else {
        child.wait_ready(a[0], a[2])?;
    }
    Ok((child, a))
}

fn run(
    server: &Path,
    dir: &Path,
    spans: u64,
    runs: usize,
    sink: bool,
    gzip: bool,
    live: bool,
) -> Result<bool, String> {
    let items = 100u64;
    // 1. The backlog (not needed for the live path).
    let backlog = dir.join("backlog");
    if !live {
        let a = addrs()?;
        let mut s = serve(server, &backlog, &a, None, &dir.join("backlog.log"))?;
        s.wait_ready(a[0], a[2])?;
        send(a[0], spans, items)?;
        s.stop()?;
    }
    let mut ours = Vec::new();
    let mut sdk512 = Vec::new();
    let mut sdk8192 = Vec::new();
    for round in 0..runs {
        // 2. otlp-arrow catching up from its files (a copy of the backlog: no cursor yet).
        let fw_dir = dir.join(format!("fw-{round}"));
        if live {
            std::fs::create_dir_all(&fw_dir).map_err(|e| e.to_string())?;
        } else {
            copy_dir(&backlog, &fw_dir)?;
        }
        let (up, ua) = upstream(
            server,
            sink,
            &dir.join(format!("up-a-{round}")),
            &dir.join("up.log"),
        )?;
        let config = dir.join("fw.toml");
        std::fs::write(
            &config,
            format!(
                "[[forward.endpoints]]\nurl = \"http://{}\"\nsignals = [\"traces\"]\n\
                 compression = \"{}\"\n",
                ua[0],
                if gzip { "gzip" } else { "none" }
            ),
        )
        .map_err(|e| e.to_string())?;
        let fa = addrs()?;
        let mut start = Instant::now();
        let mut fw = serve(server, &fw_dir, &fa, Some(&config), &dir.join("fw.log"))?;
        let mut sender = None;
        if live {
            fw.wait_ready(fa[0], fa[2])?;
            start = Instant::now();
            let grpc = fa[0];
            sender = Some(std::thread::spawn(move || send(grpc, spans, items)));
        }
        let deadline = start + Duration::from_secs(300);
        let mut ready: Option<Duration> = None;
        loop {
            let page = crate::outage::http_get(fa[2], "/metrics").unwrap_or_default();
            if ready.is_none() && !page.is_empty() {
                ready = Some(start.elapsed());
            }
            let cursor = crate::outage::sample(&page, "otlp_arrow_forward_signal_cursor", "traces");
            if std::env::var_os("FWD_TRACE").is_some() {
                eprintln!("{:?} cursor {cursor:?}", start.elapsed());
            }
            if cursor >= Some(spans) {
                break;
            }
            if Instant::now() > deadline {
                return Err("otlp-arrow did not catch up within 300 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let took = start.elapsed();
        ours.push(spans as f64 / took.as_secs_f64());
        if let Some(sender) = sender {
            sender.join().map_err(|_| "the sender panicked")??;
            let page = crate::outage::http_get(fa[2], "/metrics").unwrap_or_default();
            let acked = |path: &str| {
                let label = format!("path=\"{path}\"");
                page.lines()
                    .filter(|l| l.starts_with("otlp_arrow_forward_signal_items_acked_total{"))
                    .find(|l| l.contains(&label) && l.contains("signal=\"traces\""))
                    .and_then(|l| l.rsplit(' ').next())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            eprintln!(
                "round {round}: acknowledged live {}, from files {}",
                acked("all").saturating_sub(acked("catchup")),
                acked("catchup")
            );
        }
        let fw_cpu = cpu(fw.0.id());
        let up_cpu = cpu(up.0.id());
        eprintln!(
            "round {round}: otlp-arrow {took:.2?} (serving after {:.2?}); CPU: forwarder \
             {fw_cpu:.2?}, upstream {up_cpu:.2?}",
            ready.unwrap_or_default()
        );
        fw.stop()?;
        if !sink {
            wait_rows(ua[2], spans)?;
        }
        up.stop()?;

        // 3. opentelemetry-otlp, same spans, same kind of upstream.
        for (batch, out) in [(512usize, &mut sdk512), (8192, &mut sdk8192)] {
            let (up, ub) = upstream(
                server,
                sink,
                &dir.join(format!("up-b-{round}-{batch}")),
                &dir.join("up-b.log"),
            )?;
            let batches = span_data(spans, batch);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let took = rt.block_on(async {
                let builder = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(format!("http://{}", ub[0]));
                // No compression is the exporter's default.
                let builder = if gzip {
                    builder.with_compression(opentelemetry_otlp::Compression::Gzip)
                } else {
                    builder
                };
                let exporter = builder.build().map_err(|e| e.to_string())?;
                let start = Instant::now();
                for b in batches {
                    exporter.export(b).await.map_err(|e| e.to_string())?;
                }
                Ok::<_, String>(start.elapsed())
            })?;
            out.push(spans as f64 / took.as_secs_f64());
            eprintln!(
                "round {round}: opentelemetry-otlp({batch}) {took:.2?}; CPU: upstream {:.2?} \
                 (this process, exporter + SpanData: see above)",
                cpu(up.0.id())
            );
            if !sink {
                wait_rows(ub[2], spans)?;
            }
            up.stop()?;
        }
        eprintln!(
            "round {round}: otlp-arrow {:.0}/s, opentelemetry-otlp(512) {:.0}/s, (8192) {:.0}/s",
            ours[round], sdk512[round], sdk8192[round]
        );
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (o, s1, s2) = (med(ours), med(sdk512), med(sdk8192));
    let kind = if sink { "sink" } else { "otlp-arrow serve" };
    let path = if live {
        "live: client -> serve -> upstream"
    } else {
        "catch-up from files"
    };
    println!("| sender (upstream: {kind}) | spans/s (median of {runs}) | vs otlp-arrow |");
    println!("|---|---|---|");
    println!("| otlp-arrow forwarder ({path}, gRPC) | {o:.0} | 1.00 |");
    println!(
        "| opentelemetry-otlp SpanExporter, tonic, batches of 512 | {s1:.0} | {:.2} |",
        s1 / o
    );
    println!(
        "| opentelemetry-otlp SpanExporter, tonic, batches of 8192 | {s2:.0} | {:.2} |",
        s2 / o
    );
    Ok(true)
}

/// The same spans as `forward-outage` sends, as SDK `SpanData`, in batches.
fn span_data(n: u64, batch: usize) -> Vec<Vec<SpanData>> {
    let scope = InstrumentationScope::builder("outage-load").build();
    let base = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_000);
    let all: Vec<SpanData> = (0..n)
        .map(|i| {
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&(i / 16 + 1).to_be_bytes());
            SpanData {
                span_context: SpanContext::new(
                    TraceId::from_bytes(trace_id),
                    SpanId::from_bytes((i + 1).to_be_bytes()),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::NONE,
                ),
                parent_span_id: SpanId::INVALID,
                parent_span_is_remote: false,
                span_kind: SpanKind::Server,
                name: "GET /orders".into(),
                start_time: base + Duration::from_nanos(i * 1000),
                end_time: base + Duration::from_nanos(i * 1000 + 500_000),
                attributes: vec![
                    KeyValue::new("http.route", "/orders"),
                    KeyValue::new("peer", "10.0.0.7"),
                ],
                dropped_attributes_count: 0,
                events: SpanEvents::default(),
                links: SpanLinks::default(),
                status: Status::Unset,
                instrumentation_scope: scope.clone(),
            }
        })
        .collect();
    all.chunks(batch).map(<[SpanData]>::to_vec).collect()
}

/// Sends `n` spans in requests of `items`, as fast as one connection goes.
fn send(addr: SocketAddr, n: u64, items: u64) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        let mut client = TraceServiceClient::new(channel);
        let mut i = 0;
        while i < n {
            let k = items.min(n - i);
            match client.export(crate::outage::request(i, k)).await {
                Ok(_) => i += k,
                // The ring is full (the backlog is sent faster than it is written): retry.
                Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    })
}

/// CPU time of process `pid` so far (zero when it cannot be read).
fn cpu(pid: u32) -> Duration {
    crate::procstat::sample(pid)
        .map(|s| s.cpu)
        .unwrap_or_default()
}

fn wait_rows(admin: SocketAddr, n: u64) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = crate::outage::http_get(admin, "/metrics").unwrap_or_default();
        let rows = crate::outage::sample(&page, "otlp_arrow_storage_rows_written_total", "traces");
        if rows >= Some(n) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("the upstream stored {rows:?} of {n} rows"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let e = e.map_err(|e| e.to_string())?;
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn addrs() -> Result<Vec<SocketAddr>, String> {
    crate::run::free_addrs(3)
}

struct Child(std::process::Child);

fn serve(
    server: &Path,
    out: &Path,
    a: &[SocketAddr],
    config: Option<&Path>,
    log: &Path,
) -> Result<Child, String> {
    let mut c = Command::new(server);
    c.arg("serve")
        .arg("--output-dir")
        .arg(out)
        .args(["--grpc-addr", &a[0].to_string()])
        .args(["--http-addr", &a[1].to_string()])
        .args(["--admin-addr", &a[2].to_string()]);
    if let Some(config) = config {
        c.arg("--config").arg(config);
    }
    let f = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let f2 = f.try_clone().map_err(|e| e.to_string())?;
    c.stdin(Stdio::null()).stdout(f).stderr(f2);
    Ok(Child(c.spawn().map_err(|e| format!("{server:?}: {e}"))?))
}

impl Child {
    fn wait_ready(&mut self, grpc: SocketAddr, admin: SocketAddr) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = TcpStream::connect_timeout(&grpc, Duration::from_millis(200)).is_ok()
                && crate::outage::http_get(admin, "/ready")
                    .is_some_and(|r| r.starts_with("HTTP/1.1 200"));
            if up {
                return Ok(());
            }
            if Instant::now() > deadline || self.0.try_wait().ok().flatten().is_some() {
                return Err("a server did not become ready".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(mut self) -> Result<(), String> {
        Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        let status = self.0.wait().map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("a server exited with {status}"))
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
