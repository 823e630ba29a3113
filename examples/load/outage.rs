//! `forward-outage`: the measurement behind issue #5's "an upstream that is down for 60 s
//! under steady load loses nothing" (a dev tool, not a timed test; results in
//! `docs/BENCHMARKS.md`, "Forwarding").
//!
//! Two `otlp-arrow serve` children on loopback: an **upstream**, and a **forwarder** whose only
//! `[[forward.endpoints]]` is the upstream. A paced gRPC client sends spans with unique ids
//! (`--rate` spans/s in requests of `--items`) to the forwarder for `--before`, then the
//! upstream is stopped (SIGTERM) for `--down` while the load goes on, restarted on the same
//! ports, and the load continues for `--after`. Then the tool waits until the forwarder's
//! `otlp_arrow_forward_signal_lag_rows` is 0 (at most `--drain-timeout`), stops both and reads
//! the upstream's files: every span the forwarder accepted must be there (distinct ids =
//! spans accepted), no request may have been refused, and the duplicates (rows minus distinct
//! ids) are reported with the in-flight bound they must stay below (`max_in_flight` requests
//! of `max_request_items`, per restart of the upstream).
//!
//! ```text
//! cargo build --release --bin otlp-arrow --example otlp-arrow-load
//! target/release/examples/otlp-arrow-load forward-outage --rate 20000 --down 60s
//! ```

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_ipc::reader::StreamReader;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use crate::args::Args;
use crate::run::{Server, free_addrs};

struct Options {
    server: PathBuf,
    rate: u64,
    items: u64,
    before: Duration,
    down: Duration,
    after: Duration,
    drain_timeout: Duration,
    max_in_flight: u64,
    max_request_items: u64,
    keep: bool,
}

pub(crate) fn main(words: &[String]) -> Result<bool, String> {
    let mut a = Args::parse(words)?;
    let o = Options {
        server: PathBuf::from(
            a.take("server")
                .unwrap_or_else(|| "target/release/otlp-arrow".into()),
        ),
        rate: a.parsed("rate", 20_000u64)?,
        items: a.parsed("items", 100u64)?,
        before: a.duration("before", Duration::from_secs(10))?,
        down: a.duration("down", Duration::from_secs(60))?,
        after: a.duration("after", Duration::from_secs(10))?,
        drain_timeout: a.duration("drain-timeout", Duration::from_secs(300))?,
        max_in_flight: a.parsed("max-in-flight", 4u64)?,
        max_request_items: a.parsed("max-request-items", 8192u64)?,
        keep: a.parsed("keep", false)?,
    };
    a.finish()?;
    if o.rate == 0 || o.items == 0 {
        return Err("--rate and --items must be positive".into());
    }
    let dir = scratch_dir()?;
    let result = run(&o, &dir);
    if !o.keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept {}", dir.display());
    }
    result
}

fn run(o: &Options, dir: &Path) -> Result<bool, String> {
    let addrs = free_addrs(6)?;
    let (up_grpc, up_http, up_admin) = (addrs[0], addrs[1], addrs[2]);
    let (fw_grpc, fw_http, fw_admin) = (addrs[3], addrs[4], addrs[5]);
    let up_dir = dir.join("upstream");
    let fw_dir = dir.join("forwarder");
    let config = dir.join("forwarder.toml");
    std::fs::write(
        &config,
        format!(
            "[[forward.endpoints]]\nurl = \"http://{up_grpc}\"\nsignals = [\"traces\"]\n\
             max_in_flight = {}\nmax_request_items = {}\n",
            o.max_in_flight, o.max_request_items
        ),
    )
    .map_err(|e| e.to_string())?;
    let serve = |out: &Path, grpc: SocketAddr, http: SocketAddr, admin: SocketAddr| {
        let mut c = Command::new(&o.server);
        c.arg("serve")
            .arg("--output-dir")
            .arg(out)
            .args(["--grpc-addr", &grpc.to_string()])
            .args(["--http-addr", &http.to_string()])
            .args(["--admin-addr", &admin.to_string()]);
        c
    };
    let mut upstream = Server::spawn(
        serve(&up_dir, up_grpc, up_http, up_admin),
        dir.join("upstream.log"),
    )?;
    upstream.wait_ready(&[up_grpc], Some(up_admin))?;
    let mut forwarder = {
        let mut c = serve(&fw_dir, fw_grpc, fw_http, fw_admin);
        c.arg("--config").arg(&config);
        Server::spawn(c, dir.join("forwarder.log"))?
    };
    forwarder.wait_ready(&[fw_grpc], Some(fw_admin))?;

    // The load, on its own thread, until `stop`.
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let load = {
        let (stop, accepted, refused) = (stop.clone(), accepted.clone(), refused.clone());
        let (rate, items) = (o.rate, o.items);
        std::thread::spawn(move || drive(fw_grpc, rate, items, &stop, &accepted, &refused))
    };

    std::thread::sleep(o.before);
    let before = accepted.load(Ordering::Relaxed);
    let (ok, _) = upstream.stop()?;
    if !ok {
        return Err("the upstream did not stop cleanly".into());
    }
    let down_at = Instant::now();
    eprintln!("upstream down after {before} spans accepted");
    std::thread::sleep(o.down);
    let during = accepted.load(Ordering::Relaxed) - before;
    let refused_during = refused.load(Ordering::Relaxed);
    let mut upstream = Server::spawn(
        serve(&up_dir, up_grpc, up_http, up_admin),
        dir.join("upstream2.log"),
    )?;
    upstream.wait_ready(&[up_grpc], Some(up_admin))?;
    let up_at = Instant::now();
    eprintln!(
        "upstream back after {:.1} s down; {during} spans accepted meanwhile",
        (up_at - down_at).as_secs_f64()
    );
    std::thread::sleep(o.after);
    stop.store(true, Ordering::Relaxed);
    load.join().map_err(|_| "the load thread panicked")??;
    let sent = accepted.load(Ordering::Relaxed);
    let refused = refused.load(Ordering::Relaxed);

    // Wait for the forwarder to catch up (lag 0 on /metrics).
    let deadline = Instant::now() + o.drain_timeout;
    let caught_up = loop {
        let page = http_get(fw_admin, "/metrics").unwrap_or_default();
        let lag = sample(
            &page,
            "otlp_arrow_forward_signal_lag_rows",
            "signal=\"traces\"",
        );
        let cursor = sample(
            &page,
            "otlp_arrow_forward_signal_cursor",
            "signal=\"traces\"",
        );
        if lag == Some(0) && cursor >= Some(sent) {
            break Some(up_at.elapsed());
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let fw_page = http_get(fw_admin, "/metrics").unwrap_or_default();
    let (fw_ok, _) = forwarder.stop()?;
    let (up_ok, _) = upstream.stop()?;

    let (up_rows, up_distinct) = span_ids(&up_dir.join("traces"))?;
    let (fw_rows, _) = span_ids(&fw_dir.join("traces"))?;
    let duplicates = up_rows - up_distinct;
    let bound = o.max_in_flight * o.max_request_items;
    let catchup = sample(
        &fw_page,
        "otlp_arrow_forward_signal_items_acked_total",
        "path=\"catchup\"",
    )
    .unwrap_or(0);
    let overflow = sample(
        &fw_page,
        "otlp_arrow_forward_signal_queue_overflow_rows_total",
        "signal=\"traces\"",
    )
    .unwrap_or(0);

    println!("| measure | value |");
    println!("|---|---|");
    println!("| load | {} spans/s in requests of {} |", o.rate, o.items);
    println!(
        "| phases | {:.0} s up, {:.0} s down, {:.0} s up |",
        o.before.as_secs_f64(),
        (up_at - down_at).as_secs_f64(),
        o.after.as_secs_f64()
    );
    println!("| spans accepted by the forwarder | {sent} ({during} while the upstream was down) |");
    println!("| requests refused by the forwarder | {refused} ({refused_during} while down) |");
    println!("| rows in the forwarder's files | {fw_rows} |");
    println!("| rows in the upstream's files | {up_rows} |");
    println!("| distinct span ids upstream | {up_distinct} |");
    println!(
        "| duplicates upstream | {duplicates} (bound: {bound} = max_in_flight x max_request_items) |"
    );
    println!(
        "| rows sent from the files (catch-up) | {catchup}; live queue overflow {overflow} rows |"
    );
    match caught_up {
        Some(d) => println!(
            "| caught up (lag 0) | {:.1} s after the upstream came back |",
            d.as_secs_f64()
        ),
        None => println!("| caught up (lag 0) | NOT within {:?} |", o.drain_timeout),
    }
    let pass = refused == 0
        && up_distinct == sent
        && fw_rows == sent
        && duplicates <= bound
        && caught_up.is_some()
        && fw_ok
        && up_ok;
    println!("| result | {} |", if pass { "PASS" } else { "FAIL" });
    Ok(pass)
}

/// Sends paced trace requests with unique span ids until `stop`.
fn drive(
    addr: SocketAddr,
    rate: u64,
    items: u64,
    stop: &AtomicBool,
    accepted: &AtomicU64,
    refused: &AtomicU64,
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut client = crate::client::trace_client(addr).await?;
        let period = Duration::from_secs_f64(items as f64 / rate as f64);
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut next_id = 0u64;
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            let req = request(next_id, items);
            match client.export(req).await {
                Ok(_) => {
                    next_id += items;
                    accepted.fetch_add(items, Ordering::Relaxed);
                }
                // Refused (e.g. RESOURCE_EXHAUSTED): counted; the same ids are sent again.
                Err(_) => {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    })
}

pub(crate) fn request(first: u64, items: u64) -> ExportTraceServiceRequest {
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..KeyValue::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "outage-load")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: (first..first + items)
                    .map(|i| {
                        let mut trace_id = [0u8; 16];
                        trace_id[..8].copy_from_slice(&(i / 16 + 1).to_be_bytes());
                        Span {
                            trace_id: trace_id.to_vec(),
                            span_id: (i + 1).to_be_bytes().to_vec(),
                            name: "GET /orders".into(),
                            kind: 2,
                            start_time_unix_nano: 1_700_000_000_000_000_000 + i * 1000,
                            end_time_unix_nano: 1_700_000_000_000_500_000 + i * 1000,
                            attributes: vec![kv("http.route", "/orders"), kv("peer", "10.0.0.7")],
                            ..Span::default()
                        }
                    })
                    .collect(),
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// Rows and distinct span ids in the finalized files of a traces directory.
fn span_ids(dir: &Path) -> Result<(u64, u64), String> {
    let mut rows = 0u64;
    let mut ids = HashSet::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_none_or(|e| e != "arrow") {
            continue;
        }
        let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        let reader = StreamReader::try_new(std::io::BufReader::new(file), None)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for batch in reader {
            let batch = batch.map_err(|e| e.to_string())?;
            let col = batch
                .column_by_name("span_id")
                .ok_or("no span_id column")?
                .as_fixed_size_binary();
            for i in 0..col.len() {
                ids.insert(col.value(i).to_vec());
            }
            rows += batch.num_rows() as u64;
        }
    }
    Ok((rows, ids.len() as u64))
}

/// The value of the first sample of `family` whose labels contain `label`.
pub(crate) fn sample(page: &str, family: &str, label: &str) -> Option<u64> {
    page.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
        .find(|l| l.contains(label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub(crate) fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

fn scratch_dir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("otlp-arrow-outage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}
