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
//! Upstreams (`--upstream`): `serve` (an `otlp-arrow serve` that stores everything), `sink`
//! (the load tool's prost decode-and-discard server) or `discard` (the sink counting items
//! with the crate's wire scanner, no decode: the upstream costs least, so the senders are
//! what is measured). Each upstream must end up with every span: rows written on the serve's
//! `/metrics`, or the items the sink counted (it prints them when it stops).
//!
//! Per round it prints wall time, when the forwarder answered `/metrics`, and CPU time: of the
//! forwarding process (from `/proc/<pid>/stat`, at the moment its cursor reached the total,
//! process start included), split by thread name (`/proc/<pid>/task/*/stat`: the forward
//! thread and its blocking pool `otlp-arrow-forw`, drains `otlp-arrow-drai`, writers
//! `otlp-arrow-writ`, receivers and admin `otlp-arrow`), of the exporter (this process's CPU
//! over the export loop: the `SpanExporter`, tonic and its runtime; building the `SpanData`
//! is outside it) and of each upstream. The table gives each sender's CPU per million spans
//! (medians). With `FWD_TRACE` set it also prints every cursor sample (a timeline).
//! `--storage lz4|zstd|none` sets `storage.compression` of the servers that write files (the
//! backlog's, and the forwarder's on the live path; the upstream `serve` keeps its default).

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
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
        None | Some("serve") => Upstream::Serve,
        Some("sink") => Upstream::Sink,
        Some("discard") => Upstream::Discard,
        Some(other) => return Err(format!("--upstream {other:?}: serve, sink or discard")),
    };
    let storage = match a.take("storage") {
        None => None,
        Some(c) if ["lz4", "zstd", "none"].contains(&c.as_str()) => Some(c),
        Some(other) => return Err(format!("--storage {other:?}: lz4, zstd or none")),
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
    let keep = a.parsed("keep", false)?;
    a.finish()?;
    let dir = std::env::temp_dir().join(format!("otlp-arrow-fwd-tput-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let opts = Opts {
        server,
        spans,
        runs,
        upstream: sink,
        gzip,
        live,
        storage,
    };
    let result = run(&opts, &dir);
    if keep {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// Which upstream receives both senders' requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upstream {
    /// `otlp-arrow serve`: decodes and stores everything (counts rows on `/metrics`).
    Serve,
    /// The load tool's sink: prost decode, discard.
    Sink,
    /// The load tool's sink counting items with the wire scanner only.
    Discard,
}

impl Upstream {
    fn label(self) -> &'static str {
        match self {
            Upstream::Serve => "otlp-arrow serve",
            Upstream::Sink => "sink, prost decode",
            Upstream::Discard => "discard, wire-scan count",
        }
    }
}

#[derive(Debug)]
struct Opts {
    server: PathBuf,
    spans: u64,
    runs: usize,
    upstream: Upstream,
    gzip: bool,
    live: bool,
    /// `storage.compression` of the file-writing servers (None: their default).
    storage: Option<String>,
}

/// A running upstream, and how to check it got every span.
struct Up {
    child: Child,
    addrs: Vec<SocketAddr>,
    kind: Upstream,
    log: PathBuf,
}

impl Up {
    /// Checks that it got `n` spans, then stops it.
    fn check_and_stop(self, n: u64) -> Result<(), String> {
        if self.kind == Upstream::Serve {
            wait_rows(self.addrs[2], n)?;
            return self.child.stop();
        }
        self.child.stop()?;
        // The sink prints what it counted when it stops.
        let log = std::fs::read_to_string(&self.log).map_err(|e| e.to_string())?;
        let got = log.lines().find_map(|l| {
            l.split("stopped: ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        });
        if got == Some(n) {
            Ok(())
        } else {
            Err(format!(
                "the sink counted {got:?} of {n} spans ({})",
                self.log.display()
            ))
        }
    }
}

/// An upstream: `otlp-arrow serve` (stores, counts rows on `/metrics`) or the load tool's
/// sink (decodes with prost or only counts, then discards: isolates the senders).
fn upstream(opts: &Opts, out: &Path, log: &Path) -> Result<Up, String> {
    let a = addrs()?;
    let sink = opts.upstream != Upstream::Serve;
    let mut child = if sink {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let f = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        let mode = if opts.upstream == Upstream::Discard {
            "discard"
        } else {
            "decode"
        };
        Child(
            Command::new(exe)
                .args(["sink", "--grpc-addr", &a[0].to_string()])
                .args(["--http-addr", &a[1].to_string()])
                .args(["--mode", mode])
                .stdin(Stdio::null())
                .stdout(f)
                .stderr(f2)
                .spawn()
                .map_err(|e| e.to_string())?,
        )
    } else {
        serve(&opts.server, out, &a, None, None, log)?
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
    Ok(Up {
        child,
        addrs: a,
        kind: opts.upstream,
        log: log.to_owned(),
    })
}

/// One sender's round: spans/s and CPU seconds (sender, upstream).
#[derive(Debug, Clone, Copy, Default)]
struct Round {
    rate: f64,
    cpu: f64,
    up_cpu: f64,
}

fn run(opts: &Opts, dir: &Path) -> Result<bool, String> {
    let (spans, runs, live) = (opts.spans, opts.runs, opts.live);
    let items = 100u64;
    let storage = opts.storage.as_deref();
    // 1. The backlog (not needed for the live path).
    let backlog = dir.join("backlog");
    if !live {
        let a = addrs()?;
        let log = dir.join("backlog.log");
        let mut s = serve(&opts.server, &backlog, &a, None, storage, &log)?;
        s.wait_ready(a[0], a[2])?;
        let t = Instant::now();
        send(a[0], spans, items)?;
        let threads = crate::procstat::threads(s.0.id()).unwrap_or_default();
        eprintln!(
            "backlog: {spans} spans sent in {:.2?} (storage {}); CPU by thread: {}",
            t.elapsed(),
            storage.unwrap_or("default"),
            by_thread(&threads)
        );
        s.stop()?;
        eprintln!("backlog: {} bytes of files", dir_bytes(&backlog));
    }
    let mut ours = Vec::new();
    let mut sdk512 = Vec::new();
    let mut sdk8192 = Vec::new();
    let mut loads = Vec::new();
    for round in 0..runs {
        loads.push(loadavg());
        // 2. otlp-arrow catching up from its files (a copy of the backlog: no cursor yet).
        let fw_dir = dir.join(format!("fw-{round}"));
        if live {
            std::fs::create_dir_all(&fw_dir).map_err(|e| e.to_string())?;
        } else {
            copy_dir(&backlog, &fw_dir)?;
        }
        let up = upstream(
            opts,
            &dir.join(format!("up-a-{round}")),
            &dir.join("up.log"),
        )?;
        let config = dir.join("fw.toml");
        std::fs::write(
            &config,
            format!(
                "[[forward.endpoints]]\nurl = \"http://{}\"\nsignals = [\"traces\"]\n\
                 compression = \"{}\"\n",
                up.addrs[0],
                if opts.gzip { "gzip" } else { "none" }
            ),
        )
        .map_err(|e| e.to_string())?;
        let fa = addrs()?;
        let mut start = Instant::now();
        let fw_storage = if live { storage } else { None };
        let mut fw = serve(
            &opts.server,
            &fw_dir,
            &fa,
            Some(&config),
            fw_storage,
            &dir.join("fw.log"),
        )?;
        let mut sender = None;
        let mut fw_before = std::collections::BTreeMap::new();
        if live {
            fw.wait_ready(fa[0], fa[2])?;
            fw_before = crate::procstat::threads(fw.0.id()).unwrap_or_default();
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
        let fw_cpu = cpu(fw.0.id());
        let fw_threads = crate::procstat::threads(fw.0.id()).unwrap_or_default();
        let up_cpu = cpu(up.child.0.id());
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
        let mut split = crate::procstat::thread_cpu_between(&fw_before, &fw_threads);
        if !live {
            // Threads that ended (catch-up's read-ahead threads) are only in the total.
            let listed: Duration = split.iter().map(|t| t.cpu).sum();
            split.push(crate::procstat::ThreadSample {
                name: "(ended threads)".into(),
                cpu: fw_cpu.saturating_sub(listed),
                ..Default::default()
            });
        }
        eprintln!(
            "round {round}: otlp-arrow {took:.2?} (serving after {:.2?}); CPU: forwarder \
             {fw_cpu:.2?} ({}{}), upstream {up_cpu:.2?}",
            ready.unwrap_or_default(),
            if live { "during the run: " } else { "" },
            split
                .iter()
                .map(|t| format!("{} {:.2?}", t.name, t.cpu))
                .collect::<Vec<_>>()
                .join(", ")
        );
        ours.push(Round {
            rate: spans as f64 / took.as_secs_f64(),
            cpu: if live {
                split.iter().map(|t| t.cpu.as_secs_f64()).sum()
            } else {
                fw_cpu.as_secs_f64()
            },
            up_cpu: up_cpu.as_secs_f64(),
        });
        fw.stop()?;
        up.check_and_stop(spans)?;

        // 3. opentelemetry-otlp, same spans, same kind of upstream.
        for (batch, out) in [(512usize, &mut sdk512), (8192, &mut sdk8192)] {
            let up = upstream(
                opts,
                &dir.join(format!("up-b-{round}-{batch}")),
                &dir.join("up-b.log"),
            )?;
            let batches = span_data(spans, batch);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let endpoint = format!("http://{}", up.addrs[0]);
            let (took, cpu_used) = rt.block_on(async {
                let builder = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint);
                // No compression is the exporter's default.
                let builder = if opts.gzip {
                    builder.with_compression(opentelemetry_otlp::Compression::Gzip)
                } else {
                    builder
                };
                let exporter = builder.build().map_err(|e| e.to_string())?;
                // This process does nothing else meanwhile: its CPU is the exporter's (the
                // export future on this thread, tonic's connection on the runtime's worker).
                let cpu0 = cpu(std::process::id());
                let start = Instant::now();
                for b in batches {
                    exporter.export(b).await.map_err(|e| e.to_string())?;
                }
                let took = start.elapsed();
                Ok::<_, String>((took, cpu(std::process::id()).saturating_sub(cpu0)))
            })?;
            drop(rt);
            let up_cpu = cpu(up.child.0.id());
            out.push(Round {
                rate: spans as f64 / took.as_secs_f64(),
                cpu: cpu_used.as_secs_f64(),
                up_cpu: up_cpu.as_secs_f64(),
            });
            eprintln!(
                "round {round}: opentelemetry-otlp({batch}) {took:.2?}; CPU: exporter \
                 {cpu_used:.2?}, upstream {up_cpu:.2?}"
            );
            up.check_and_stop(spans)?;
        }
        eprintln!(
            "round {round}: otlp-arrow {:.0}/s, opentelemetry-otlp(512) {:.0}/s, (8192) {:.0}/s",
            ours[round].rate, sdk512[round].rate, sdk8192[round].rate
        );
    }
    let med = |v: &[Round], f: fn(&Round) -> f64| {
        let mut x: Vec<f64> = v.iter().map(f).collect();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let o = med(&ours, |r| r.rate);
    let per_m = |v: &[Round], f: fn(&Round) -> f64| med(v, f) * 1e6 / spans as f64;
    let path = if live {
        "live: client -> serve -> upstream"
    } else {
        "catch-up from files"
    };
    let sender_cpu = if live {
        "CPU s per 1M spans, whole process during the run"
    } else {
        "CPU s per 1M spans"
    };
    println!(
        "| sender (upstream: {}) | spans/s (median of {runs}) | otlp-arrow / sender | \
         sender {sender_cpu} | upstream CPU s per 1M spans |",
        opts.upstream.label()
    );
    println!("|---|---|---|---|---|");
    println!(
        "| otlp-arrow forwarder ({path}, gRPC) | {o:.0} | 1.00 | {:.2} | {:.2} |",
        per_m(&ours, |r| r.cpu),
        per_m(&ours, |r| r.up_cpu)
    );
    for (batch, v) in [(512, &sdk512), (8192, &sdk8192)] {
        let r = med(v, |r| r.rate);
        println!(
            "| opentelemetry-otlp SpanExporter, tonic, batches of {batch} | {r:.0} | {:.2} | \
             {:.2} | {:.2} |",
            o / r,
            per_m(v, |r| r.cpu),
            per_m(v, |r| r.up_cpu)
        );
    }
    println!("load average at each round's start: {}", loads.join("; "));
    Ok(true)
}

/// The first three fields of `/proc/loadavg`.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CPU time per thread name, largest first.
fn by_thread(threads: &std::collections::BTreeMap<u32, crate::procstat::ThreadSample>) -> String {
    crate::procstat::thread_cpu_between(&std::collections::BTreeMap::new(), threads)
        .iter()
        .map(|t| format!("{} {:.2?}", t.name, t.cpu))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Total size of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
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
        let mut client = crate::client::trace_client(addr).await?;
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
    storage: Option<&str>,
    log: &Path,
) -> Result<Child, String> {
    let mut c = Command::new(server);
    if let Some(compression) = storage {
        c.env("OTLP_ARROW_STORAGE_COMPRESSION", compression);
    }
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
