//! `otlp-arrow-load`: the end-to-end load benchmark of the OTLP receivers (a dev tool, not a
//! timed test; results in `docs/BENCHMARKS.md`, "Service load").
//!
//! It pre-encodes K distinct `Export*ServiceRequest`s (prost + opentelemetry-proto) once, then
//! sends them over N concurrent connections, each one request at a time (closed loop), for a
//! fixed time, and reports accepted items/s, latency quantiles, refusals, and the server's CPU
//! time and peak RSS. The floor it compares against is a tonic / hyper server that decodes each
//! request with prost and discards it: any receiver that decodes pays at least that.
//!
//! ```text
//! cargo build --release --bin otlp-arrow --example otlp-arrow-load
//! target/release/examples/otlp-arrow-load run --signal traces --transport grpc \
//!     --conns 4 --items 100 --duration 5s --runs 3
//! ```
//!
//! Modes:
//!
//! | mode | does |
//! |---|---|
//! | `run` | one scenario end to end: sink child, then `otlp-arrow serve` child (or the stand-in), same load, table + checks ([`run`] module) |
//! | `drive` | only the load, against a server already listening (`--addr`) |
//! | `sink` | the decode-and-discard servers (`--grpc-addr`, `--http-addr`) until SIGTERM |
//! | `serve-inproc` | the in-process stand-in for `otlp-arrow serve` (same flags) until SIGTERM |
//! | `forward-throughput` | forwarding throughput (catch-up from files) vs the `opentelemetry-otlp` span exporter ([`throughput`] module) |
//! | `forward-outage` | a forwarding service under steady load while its upstream is down for a while ([`outage`] module) |
//! | `codecs` | size, write and read CPU of each storage compression on stored rows ([`codecs`] module) |
//!
//! Everything listens on 127.0.0.1 only, on free ports; every run is bounded in time.
//!
//! `cargo test --example otlp-arrow-load` runs the smoke test: a tiny load against the sink and
//! the stand-in in this process, checking items sent = rows stored for every signal over both
//! transports.
#![forbid(unsafe_code)]

mod args;
mod client;
mod codecs;
mod inproc;
mod outage;
mod procstat;
mod requests;
mod rows;
mod run;
mod sink;
mod throughput;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use args::Args;
use otlp_arrow::otlp::Transport;
use otlp_arrow::signal::Signal;

const USAGE: &str = "\
usage: otlp-arrow-load MODE [--flag value]...

  run            one scenario: sink, then otlp-arrow, same load; prints a markdown table
                   --signal traces|metrics|logs (traces)   --transport grpc|http (grpc)
                   --conns N (4)   --items N per request (100)   --distinct K requests (16)
                   --warmup 1s   --duration 5s   --runs N (1)   --sink true|false (true)
                   --server PATH|inproc (target/release/otlp-arrow if present, else inproc)
                   --ring-traces 16MiB --ring-metrics 8MiB --ring-logs 16MiB
                   --wait-for-room 0ms --retry-after 5ms (server config)
                   --retry-delay 5ms (client, after a refusal)   --client-threads 1
                   --nodelay true (stand-in only: TCP_NODELAY on its listeners)
                   --keep true (keep the output dir)   --perf PREFIX (perf record -g the servers)
  drive          the load only, against --addr HOST:PORT (same load flags as run, plus
                   --requests N instead of --warmup/--duration)
  sink           decode-and-discard servers on --grpc-addr and --http-addr until SIGTERM
                   --mode decode|discard (decode; discard: count with the wire scanner only)
  serve-inproc   the library stand-in for `otlp-arrow serve`: --config F --output-dir D
                   --grpc-addr A --http-addr A [--admin-addr A] [--nodelay true] until SIGTERM
  forward-outage forwarder -> upstream (two otlp-arrow serve), upstream stopped mid-load:
                   --rate 20000 spans/s  --items 100  --before 10s --down 60s --after 10s
                   --max-in-flight 4 --max-request-items 8192 --drain-timeout 5m
                   --server target/release/otlp-arrow   --keep false
  forward-throughput otlp-arrow forwarding (catch-up) vs opentelemetry-otlp's SpanExporter,
                   same spans, same upstream kind: --spans 400000 --runs 3 --server PATH
                   --upstream serve|sink|discard (serve)  --path catchup|live (catchup)
                   --compression none|gzip (none, both senders' requests)
                   --storage lz4|zstd|none (server default)  --keep false (the temp dir)
  codecs         size, write and read-back CPU per storage compression, on the rows of the
                   .arrow files in --dir DIR (a signal directory)   --rounds 5
";

fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = words.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match mode.as_str() {
        "run" => run::main(rest),
        "drive" => drive_main(rest).map(|()| true),
        "sink" => sink_main(rest).map(|()| true),
        "serve-inproc" => inproc::main(rest).map(|()| true),
        "forward-outage" => outage::main(rest),
        "forward-throughput" => throughput::main(rest),
        "codecs" => codecs::main(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(true)
        }
        other => Err(format!("unknown mode {other:?}\n{USAGE}")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("otlp-arrow-load: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_signal(s: &str) -> Result<Signal, String> {
    Signal::ALL
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| format!("unknown signal {s:?} (traces, metrics, logs)"))
}

fn parse_transport(s: &str) -> Result<Transport, String> {
    Transport::ALL
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| format!("unknown transport {s:?} (grpc, http)"))
}

fn drive_main(words: &[String]) -> Result<(), String> {
    let mut a = Args::parse(words)?;
    let addr = a
        .take("addr")
        .ok_or("--addr HOST:PORT is required")?
        .parse()
        .map_err(|e| format!("--addr: {e}"))?;
    let signal = parse_signal(&a.take("signal").unwrap_or_else(|| "traces".into()))?;
    let transport = parse_transport(&a.take("transport").unwrap_or_else(|| "grpc".into()))?;
    let conns = a.parsed("conns", 4usize)?;
    let items = a.parsed("items", 100usize)?;
    let distinct = a.parsed("distinct", 16usize)?;
    let limit = match a.take("requests") {
        Some(n) => client::Limit::Count(n.parse().map_err(|e| format!("--requests: {e}"))?),
        None => client::Limit::Time {
            warmup: a.duration("warmup", Duration::from_secs(1))?,
            measure: a.duration("duration", Duration::from_secs(5))?,
        },
    };
    let retry_delay = a.duration("retry-delay", Duration::from_millis(5))?;
    let threads = a.parsed("client-threads", 1usize)?;
    a.finish()?;
    let spec = client::LoadSpec {
        addr,
        transport,
        conns,
        requests: Arc::new(requests::Requests::build(signal, distinct, items)),
        limit,
        retry_delay,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(client::drive(&spec));
    println!(
        "accepted {} requests, {} items ({:.0} items/s in the window); p50 {:?} p99 {:?} max \
         {:?}; refused {}, rejected {}, errors {}{}",
        report.accepted_requests,
        report.accepted_items,
        report.items_per_sec(),
        report.quantile(0.5),
        report.quantile(0.99),
        report.quantile(1.0),
        report.refused,
        report.rejected_items,
        report.errors,
        report
            .first_error
            .as_deref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    if report.errors == 0 {
        Ok(())
    } else {
        Err("some requests failed".into())
    }
}

fn sink_main(words: &[String]) -> Result<(), String> {
    let mut a = Args::parse(words)?;
    let grpc = a.take("grpc-addr").unwrap_or_else(|| "127.0.0.1:0".into());
    let http = a.take("http-addr").unwrap_or_else(|| "127.0.0.1:0".into());
    let mode = match a.take("mode").as_deref() {
        None | Some("decode") => sink::SinkMode::Decode,
        Some("discard") => sink::SinkMode::Discard,
        Some(other) => return Err(format!("--mode {other:?}: decode or discard")),
    };
    a.finish()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
        let bind = |addr: String| async move {
            tokio::net::TcpListener::bind(&addr)
                .await
                .map_err(|e| format!("binding {addr}: {e}"))
        };
        let sink = sink::Sink::start(bind(grpc).await?, bind(http).await?, mode)
            .map_err(|e| e.to_string())?;
        eprintln!(
            "otlp-arrow-load sink listening grpc={} http={}",
            sink.grpc_addr, sink.http_addr
        );
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let items = sink.stop().await;
        eprintln!("otlp-arrow-load sink stopped: {items} items counted");
        Ok::<(), String>(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// The smoke test: a tiny load, in this process, against the sink and the stand-in.
#[cfg(test)]
mod smoke {
    use super::*;
    use otlp_arrow::config::Config;

    const REQUESTS: u64 = 20;
    const ITEMS: usize = 10;

    fn spec(addr: std::net::SocketAddr, transport: Transport, signal: Signal) -> client::LoadSpec {
        client::LoadSpec {
            addr,
            transport,
            conns: 2,
            requests: Arc::new(requests::Requests::build(signal, 4, ITEMS)),
            limit: client::Limit::Count(REQUESTS),
            retry_delay: Duration::from_millis(1),
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn sink_counts_everything_it_is_sent() {
        for mode in [sink::SinkMode::Decode, sink::SinkMode::Discard] {
            sink_counts(mode);
        }
    }

    fn sink_counts(mode: sink::SinkMode) {
        runtime().block_on(async {
            let bind = || tokio::net::TcpListener::bind("127.0.0.1:0");
            let sink =
                sink::Sink::start(bind().await.unwrap(), bind().await.unwrap(), mode).unwrap();
            let mut sent = 0;
            for transport in Transport::ALL {
                let addr = match transport {
                    Transport::Grpc => sink.grpc_addr,
                    Transport::Http => sink.http_addr,
                };
                for signal in Signal::ALL {
                    let report = client::drive(&spec(addr, transport, signal)).await;
                    assert_eq!(report.errors, 0, "{:?}", report.first_error);
                    assert_eq!(report.accepted_requests, REQUESTS);
                    assert_eq!(report.latencies.len() as u64, REQUESTS);
                    sent += report.accepted_items;
                }
            }
            assert_eq!(sent, 6 * REQUESTS * ITEMS as u64);
            assert_eq!(sink.stop().await, sent);
        });
    }

    #[test]
    fn standin_stores_every_item_sent() {
        let dir =
            std::env::temp_dir().join(format!("otlp-arrow-load-smoke-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = Config {
            output_dir: dir.clone(),
            ..Config::default()
        };
        config.receiver.grpc_addr = "127.0.0.1:0".parse().unwrap();
        config.receiver.http_addr = "127.0.0.1:0".parse().unwrap();
        config.ring.traces = 1 << 20;
        config.ring.metrics = 1 << 20;
        config.ring.logs = 1 << 20;
        let mut sent = [0u64; 3];
        runtime().block_on(async {
            let standin = inproc::Standin::start(&config, false).await.unwrap();
            for transport in Transport::ALL {
                let addr = match transport {
                    Transport::Grpc => standin.grpc_addr,
                    Transport::Http => standin.http_addr,
                };
                for (i, signal) in Signal::ALL.into_iter().enumerate() {
                    let report = client::drive(&spec(addr, transport, signal)).await;
                    assert_eq!(report.errors, 0, "{:?}", report.first_error);
                    assert_eq!(report.rejected_items, 0);
                    assert_eq!(report.accepted_requests, REQUESTS);
                    sent[i] += report.accepted_items;
                }
            }
            let shutdown = standin.stop().await.unwrap();
            assert_eq!(shutdown.lost(), 0);
        });
        for (i, signal) in Signal::ALL.into_iter().enumerate() {
            let stored = rows::count(&dir, signal).unwrap();
            assert_eq!(sent[i], 2 * REQUESTS * ITEMS as u64);
            assert_eq!(stored.rows, sent[i], "{signal}");
            assert_eq!(stored.unfinished, 0, "{signal}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
