//! `run`: one scenario, end to end, in one invocation. For each of `--runs` rounds:
//!
//! 1. the **sink** (decode-and-discard floor) is started as a child process (`sink` mode of
//!    this executable), driven with the load, sampled, SIGTERMed;
//! 2. **otlp-arrow** — the `otlp-arrow serve` binary (`--server PATH`, default
//!    `target/release/otlp-arrow`) or, when it does not exist or `--server inproc` is given,
//!    the in-process stand-in (`serve-inproc` mode, the same library code path, labelled
//!    `stand-in`) — is started with a fresh output directory and a written config, driven with
//!    the same load, sampled, SIGTERMed and waited for; then its stored rows are counted.
//!
//! A child's CPU time and peak RSS are read from `/proc` just before it is stopped (the CPU
//! time is the difference over the driven interval). Printed: a markdown table (one row per
//! server and round, then the medians), and the checks: items accepted = rows stored, no
//! unfinished file, clean exit, peak RSS within the ring sizes + 64 MiB.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otlp_arrow::config::{format_duration, format_size};
use otlp_arrow::otlp::Transport;
use otlp_arrow::signal::Signal;

use crate::args::Args;
use crate::client::{self, Limit, LoadReport, LoadSpec};
use crate::procstat::{self, ProcSample};
use crate::requests::Requests;
use crate::rows::{self, Stored};
use crate::{parse_signal, parse_transport};

/// Slack allowed on top of the configured ring sizes for peak RSS (the bound).
const RSS_SLACK: u64 = 64 << 20;

/// Everything `run` was asked to do.
#[derive(Debug, Clone)]
struct Options {
    signal: Signal,
    transport: Transport,
    conns: usize,
    items: usize,
    distinct: usize,
    warmup: Duration,
    duration: Duration,
    runs: usize,
    server: ServerKind,
    rings: [u64; 3],
    wait_for_room: Duration,
    retry_after: Duration,
    retry_delay: Duration,
    client_threads: usize,
    sink: bool,
    keep: bool,
    perf: Option<PathBuf>,
}

#[derive(Debug, Clone)]
enum ServerKind {
    Binary(PathBuf),
    Standin { nodelay: bool },
}

impl ServerKind {
    fn label(&self) -> &'static str {
        match self {
            ServerKind::Binary(_) => "otlp-arrow serve",
            ServerKind::Standin { nodelay: false } => "otlp-arrow stand-in (lib)",
            ServerKind::Standin { nodelay: true } => "otlp-arrow stand-in (lib) + TCP_NODELAY",
        }
    }
}

impl Options {
    fn parse(words: &[String]) -> Result<Options, String> {
        let mut a = Args::parse(words)?;
        let signal = parse_signal(&a.take("signal").unwrap_or_else(|| "traces".into()))?;
        let transport = parse_transport(&a.take("transport").unwrap_or_else(|| "grpc".into()))?;
        let server = match a.take("server") {
            Some(s) if s == "inproc" => ServerKind::Standin { nodelay: false },
            Some(path) => ServerKind::Binary(PathBuf::from(path)),
            None => {
                let default = PathBuf::from("target/release/otlp-arrow");
                if default.is_file() {
                    ServerKind::Binary(default)
                } else {
                    eprintln!(
                        "note: {} not found; measuring the in-process stand-in",
                        default.display()
                    );
                    ServerKind::Standin { nodelay: false }
                }
            }
        };
        let mut server = server;
        if a.parsed("nodelay", false)? {
            match &mut server {
                ServerKind::Standin { nodelay } => *nodelay = true,
                ServerKind::Binary(_) => return Err("--nodelay is for the stand-in only".into()),
            }
        }
        let options = Options {
            signal,
            transport,
            conns: a.parsed("conns", 4)?,
            items: a.parsed("items", 100)?,
            distinct: a.parsed("distinct", 16)?,
            warmup: a.duration("warmup", Duration::from_secs(1))?,
            duration: a.duration("duration", Duration::from_secs(5))?,
            runs: a.parsed("runs", 1)?,
            server,
            rings: [
                a.size("ring-traces", 16 << 20)?,
                a.size("ring-metrics", 8 << 20)?,
                a.size("ring-logs", 16 << 20)?,
            ],
            wait_for_room: a.duration("wait-for-room", Duration::ZERO)?,
            retry_after: a.duration("retry-after", Duration::from_millis(5))?,
            retry_delay: a.duration("retry-delay", Duration::from_millis(5))?,
            client_threads: a.parsed("client-threads", 1)?,
            sink: a.parsed("sink", true)?,
            keep: a.parsed("keep", false)?,
            perf: a.take("perf").map(PathBuf::from),
        };
        a.finish()?;
        if let ServerKind::Binary(path) = &options.server
            && !path.is_file()
        {
            return Err(format!("--server {}: no such file", path.display()));
        }
        if options.conns == 0 || options.items == 0 || options.runs == 0 {
            return Err("--conns, --items and --runs must be at least 1".into());
        }
        if options.duration > Duration::from_secs(600) || options.runs > 50 {
            return Err("--duration is at most 10m and --runs at most 50 (bounded runs)".into());
        }
        Ok(options)
    }

    fn config_toml(&self) -> String {
        format!(
            "# written by otlp-arrow-load run\n\
             [receiver]\n\
             wait_for_room = \"{}\"\n\
             retry_after = \"{}\"\n\
             [ring]\n\
             traces = {}\n\
             metrics = {}\n\
             logs = {}\n\
             [storage]\n\
             # every row must stay on disk for the count (the default keeps 1 GiB per signal)\n\
             max_total_bytes = 0\n\
             [log]\n\
             level = \"info\"\n",
            format_duration(self.wait_for_room),
            format_duration(self.retry_after),
            self.rings[0],
            self.rings[1],
            self.rings[2],
        )
    }
}

/// One server's measurements in one round.
#[derive(Debug, Clone)]
struct Phase {
    server: &'static str,
    load: LoadReport,
    drive_time: Duration,
    cpu: Duration,
    peak_rss: u64,
    client_cpu: Duration,
    /// The server's CPU time over the drive, per thread name, largest first.
    threads: Vec<procstat::ThreadSample>,
    stop_time: Duration,
    /// otlp-arrow only: rows stored per signal, in `Signal::ALL` order.
    stored: Option<[Stored; 3]>,
    exit_ok: bool,
}

impl Phase {
    /// Rows stored (all signals) per second of the whole drive plus the stop (drain and
    /// finalize); for the sink, items accepted per second of the whole drive.
    fn end_to_end_rate(&self) -> f64 {
        match &self.stored {
            Some(s) => {
                let rows: u64 = s.iter().map(|s| s.rows).sum();
                rows as f64 / (self.drive_time + self.stop_time).as_secs_f64()
            }
            None => self.load.accepted_items as f64 / self.drive_time.as_secs_f64(),
        }
    }
}

/// `run [flags]`: see the module docs and `--help`.
pub(crate) fn main(words: &[String]) -> Result<bool, String> {
    let options = Options::parse(words)?;
    let requests = Arc::new(Requests::build(
        options.signal,
        options.distinct,
        options.items,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.client_threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "scenario: {} over {}, {} connections, {} items/request ({} distinct requests, {} bytes \
         each on average), warm-up {}, measured {}, {} round(s)",
        options.signal,
        options.transport.as_str(),
        options.conns,
        options.items,
        requests.bodies.len(),
        requests.mean_bytes(),
        format_duration(options.warmup),
        format_duration(options.duration),
        options.runs
    );
    println!(
        "otlp-arrow: {}{}; rings traces={} metrics={} logs={}; wait_for_room={} retry_after={}; \
         client retry delay {}, client runtime {} thread(s)",
        options.server.label(),
        match &options.server {
            ServerKind::Binary(p) => format!(" ({})", p.display()),
            ServerKind::Standin { .. } => String::new(),
        },
        format_size(options.rings[0]),
        format_size(options.rings[1]),
        format_size(options.rings[2]),
        format_duration(options.wait_for_room),
        format_duration(options.retry_after),
        format_duration(options.retry_delay),
        options.client_threads.max(1),
    );
    let mut phases: Vec<(usize, Phase)> = Vec::new();
    for round in 1..=options.runs {
        if options.sink {
            let phase = run_sink(&options, &requests, &runtime, round)?;
            phases.push((round, phase));
        }
        let phase = run_otlp_arrow(&options, &requests, &runtime, round)?;
        phases.push((round, phase));
    }
    Ok(report(&options, &phases))
}

fn scratch_dir(tag: &str) -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "otlp-arrow-load-{}-{tag}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// `n` distinct free loopback ports (all bound at once, then released).
pub(crate) fn free_addrs(n: usize) -> Result<Vec<SocketAddr>, String> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map_err(|e| e.to_string()))
        .collect()
}

/// A child server with its output captured in `log`.
pub(crate) struct Server {
    child: std::process::Child,
    log: PathBuf,
}

impl Server {
    pub(crate) fn spawn(mut command: Command, log: PathBuf) -> Result<Server, String> {
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {command:?}: {e}"))?;
        Ok(Server { child, log })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits until every address accepts connections and, if given, `ready` answers 200.
    pub(crate) fn wait_ready(
        &mut self,
        addrs: &[SocketAddr],
        ready: Option<SocketAddr>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the server exited at start ({status}):\n{}",
                    self.log_tail()
                ));
            }
            let listening = addrs
                .iter()
                .all(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok());
            if listening && ready.is_none_or(|a| http_status(a, "/ready") == Some(200)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err(format!(
                    "the server did not become ready:\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits for the exit (at most 60 s, then SIGKILL). Returns whether it exited
    /// with status 0 and how long the stop took.
    pub(crate) fn stop(mut self) -> Result<(bool, Duration), String> {
        let start = Instant::now();
        signal(self.pid(), "TERM")?;
        let deadline = start + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                let took = start.elapsed();
                if !status.success() {
                    eprintln!("server exited with {status}:\n{}", self.log_tail());
                }
                return Ok((status.success(), took));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "the server ignored SIGTERM for 60 s:\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Sends `SIG<name>` to `pid` with `kill(1)` (std has no signal API).
fn signal(pid: u32, name: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -{name} {pid}: {status}"))
    }
}

/// The status code of `GET path` on `addr`, if it answers.
fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `perf record -g` of `pid` while the closure runs.
fn with_perf<T>(perf: Option<PathBuf>, pid: u32, f: impl FnOnce() -> T) -> Result<T, String> {
    let Some(out) = perf else { return Ok(f()) };
    let mut recorder = Command::new("perf")
        .args(["record", "-g", "-q", "-o"])
        .arg(&out)
        .args(["-p", &pid.to_string()])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("perf: {e}"))?;
    let result = f();
    signal(recorder.id(), "INT")?;
    let _ = recorder.wait();
    eprintln!("perf data: {}", out.display());
    Ok(result)
}

fn perf_path(options: &Options, server: &str, round: usize) -> Option<PathBuf> {
    options.perf.as_ref().map(|p| {
        let mut name = p.as_os_str().to_owned();
        name.push(format!("-{server}-{round}.data"));
        PathBuf::from(name)
    })
}

/// Drives `server`, sampling it (and this process) around the load.
fn drive_and_sample(
    options: &Options,
    requests: &Arc<Requests>,
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    addr: SocketAddr,
    perf: Option<PathBuf>,
) -> Result<Sampled, String> {
    let spec = LoadSpec {
        addr,
        transport: options.transport,
        conns: options.conns,
        requests: Arc::clone(requests),
        limit: Limit::Time {
            warmup: options.warmup,
            measure: options.duration,
        },
        retry_delay: options.retry_delay,
    };
    let pid = server.pid();
    let threads_before = procstat::threads(pid)?;
    let before = procstat::sample(pid)?;
    let me_before = procstat::sample(std::process::id())?;
    let start = Instant::now();
    let bound = options.warmup + options.duration + Duration::from_secs(30);
    let load = with_perf(perf, pid, || {
        runtime.block_on(async { tokio::time::timeout(bound, client::drive(&spec)).await })
    })?
    .map_err(|_| "the load did not finish in time (server stuck?)".to_owned())?;
    let drive_time = start.elapsed();
    let after = procstat::sample(pid)?;
    let threads_after = procstat::threads(pid)?;
    let me_after = procstat::sample(std::process::id())?;
    Ok(Sampled {
        load,
        drive_time,
        before,
        after,
        client_cpu: me_after.cpu.saturating_sub(me_before.cpu),
        threads: procstat::thread_cpu_between(&threads_before, &threads_after),
    })
}

/// What [`drive_and_sample`] measured.
struct Sampled {
    load: LoadReport,
    drive_time: Duration,
    before: ProcSample,
    after: ProcSample,
    client_cpu: Duration,
    threads: Vec<procstat::ThreadSample>,
}

fn run_sink(
    options: &Options,
    requests: &Arc<Requests>,
    runtime: &tokio::runtime::Runtime,
    round: usize,
) -> Result<Phase, String> {
    let dir = scratch_dir("sink")?;
    let addrs = free_addrs(2)?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    command
        .arg("sink")
        .args(["--grpc-addr", &addrs[0].to_string()])
        .args(["--http-addr", &addrs[1].to_string()]);
    let mut server = Server::spawn(command, dir.join("sink.log"))?;
    server.wait_ready(&addrs, None)?;
    let addr = match options.transport {
        Transport::Grpc => addrs[0],
        Transport::Http => addrs[1],
    };
    let perf = perf_path(options, "sink", round);
    let Sampled {
        load,
        drive_time,
        before,
        after,
        client_cpu,
        threads,
    } = drive_and_sample(options, requests, runtime, &server, addr, perf)?;
    let (exit_ok, stop_time) = server.stop()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Phase {
        server: "sink (prost decode + discard)",
        load,
        drive_time,
        cpu: after.cpu.saturating_sub(before.cpu),
        peak_rss: after.peak_rss,
        client_cpu,
        threads,
        stop_time,
        stored: None,
        exit_ok,
    })
}

fn run_otlp_arrow(
    options: &Options,
    requests: &Arc<Requests>,
    runtime: &tokio::runtime::Runtime,
    round: usize,
) -> Result<Phase, String> {
    let dir = scratch_dir("otlp-arrow")?;
    let output = dir.join("data");
    let config = dir.join("config.toml");
    std::fs::write(&config, options.config_toml()).map_err(|e| e.to_string())?;
    let addrs = free_addrs(3)?;
    let mut command = match &options.server {
        ServerKind::Binary(path) => {
            let mut c = Command::new(path);
            c.arg("serve");
            c
        }
        ServerKind::Standin { nodelay } => {
            let mut c = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
            c.arg("serve-inproc")
                .args(["--nodelay", &nodelay.to_string()]);
            c
        }
    };
    command
        .arg("--config")
        .arg(&config)
        .arg("--output-dir")
        .arg(&output)
        .args(["--grpc-addr", &addrs[0].to_string()])
        .args(["--http-addr", &addrs[1].to_string()])
        .args(["--admin-addr", &addrs[2].to_string()]);
    let mut server = Server::spawn(command, dir.join("server.log"))?;
    let ready = match options.server {
        ServerKind::Binary(_) => Some(addrs[2]),
        ServerKind::Standin { .. } => None,
    };
    server.wait_ready(&addrs[..2], ready)?;
    let addr = match options.transport {
        Transport::Grpc => addrs[0],
        Transport::Http => addrs[1],
    };
    let perf = perf_path(options, "otlp-arrow", round);
    let Sampled {
        load,
        drive_time,
        before,
        after,
        client_cpu,
        threads,
    } = drive_and_sample(options, requests, runtime, &server, addr, perf)?;
    let (exit_ok, stop_time) = server.stop()?;
    let mut stored = [Stored::default(); 3];
    for (i, signal) in Signal::ALL.into_iter().enumerate() {
        stored[i] = rows::count(&output, signal)?;
    }
    if options.keep {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Phase {
        server: options.server.label(),
        load,
        drive_time,
        cpu: after.cpu.saturating_sub(before.cpu),
        peak_rss: after.peak_rss,
        client_cpu,
        threads,
        stop_time,
        stored: Some(stored),
        exit_ok,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / f64::from(1 << 20))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Prints the table and the checks; returns whether every check passed.
fn report(options: &Options, phases: &[(usize, Phase)]) -> bool {
    let sink_rate = |round: usize| {
        phases
            .iter()
            .find(|(r, p)| *r == round && p.stored.is_none())
            .map(|(_, p)| (p.load.items_per_sec(), p.end_to_end_rate()))
    };
    println!();
    println!(
        "| round | server | signal | transport | conns | items/req | accepted items/s | \
         stored items/s (whole run + stop) | p50 ms | p99 ms | max ms | refused | CPU s | \
         CPU us/item | peak RSS MiB | stop s | vs sink (accepted / stored) |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let row = |round: &str, p: &Phase, ratio: String| {
        println!(
            "| {round} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.2} | {:.2} \
             | {} | {:.3} | {ratio} |",
            p.server,
            options.signal,
            options.transport.as_str(),
            options.conns,
            options.items,
            p.load.items_per_sec(),
            if p.stored.is_some() {
                format!("{:.0}", p.end_to_end_rate())
            } else {
                "-".into()
            },
            ms(p.load.quantile(0.5)),
            ms(p.load.quantile(0.99)),
            ms(p.load.quantile(1.0)),
            p.load.refused,
            p.cpu.as_secs_f64(),
            p.cpu.as_secs_f64() * 1e6 / p.load.accepted_items.max(1) as f64,
            mib(p.peak_rss),
            p.stop_time.as_secs_f64(),
        );
    };
    for (round, p) in phases {
        let ratio = match (&p.stored, sink_rate(*round)) {
            (Some(_), Some((acc, e2e))) => format!(
                "{:.2} / {:.2}",
                p.load.items_per_sec() / acc,
                p.end_to_end_rate() / e2e
            ),
            _ => "-".into(),
        };
        row(&round.to_string(), p, ratio);
    }
    // Medians per server (rows built from the median of each column).
    let mut medians: Vec<(bool, f64, f64)> = Vec::new();
    for is_store in [false, true] {
        let group: Vec<&Phase> = phases
            .iter()
            .map(|(_, p)| p)
            .filter(|p| p.stored.is_some() == is_store)
            .collect();
        if group.len() < 2 {
            if let Some(p) = group.first() {
                medians.push((is_store, p.load.items_per_sec(), p.end_to_end_rate()));
            }
            continue;
        }
        let col = |f: &dyn Fn(&Phase) -> f64| median(group.iter().map(|p| f(p)).collect());
        let acc = col(&|p| p.load.items_per_sec());
        let e2e = col(&|p| p.end_to_end_rate());
        medians.push((is_store, acc, e2e));
        println!(
            "| median | {} | {} | {} | {} | {} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.0} | \
             {:.2} | {:.2} | {:.1} | {:.3} | |",
            group[0].server,
            options.signal,
            options.transport.as_str(),
            options.conns,
            options.items,
            acc,
            if is_store {
                format!("{e2e:.0}")
            } else {
                "-".into()
            },
            col(&|p| p.load.quantile(0.5).as_secs_f64() * 1e3),
            col(&|p| p.load.quantile(0.99).as_secs_f64() * 1e3),
            col(&|p| p.load.quantile(1.0).as_secs_f64() * 1e3),
            col(&|p| p.load.refused as f64),
            col(&|p| p.cpu.as_secs_f64()),
            col(&|p| p.cpu.as_secs_f64() * 1e6 / p.load.accepted_items.max(1) as f64),
            col(&|p| p.peak_rss as f64) / f64::from(1 << 20),
            col(&|p| p.stop_time.as_secs_f64()),
        );
    }
    println!();
    // Each round runs the sink and otlp-arrow back to back under about the same machine
    // load, so the per-round ratio is the paired statistic; the ratio of medians is shown too.
    let ratios: Vec<(f64, f64)> = phases
        .iter()
        .filter(|(_, p)| p.stored.is_some())
        .filter_map(|(round, p)| {
            sink_rate(*round)
                .map(|(acc, e2e)| (p.load.items_per_sec() / acc, p.end_to_end_rate() / e2e))
        })
        .collect();
    if !ratios.is_empty() {
        println!(
            "median of per-round ratios vs sink: accepted {:.2}x, stored (whole run + stop) {:.2}x",
            median(ratios.iter().map(|r| r.0).collect()),
            median(ratios.iter().map(|r| r.1).collect())
        );
    }
    if let (Some(s), Some(o)) = (medians.iter().find(|m| !m.0), medians.iter().find(|m| m.0)) {
        println!(
            "ratio of medians vs sink: accepted {:.2}x, stored (whole run + stop) {:.2}x",
            o.1 / s.1,
            o.2 / s.2
        );
    }
    let mut ok = true;
    let budget = options.rings.iter().sum::<u64>() + RSS_SLACK;
    for (round, p) in phases {
        let threads: Vec<String> = p
            .threads
            .iter()
            .take(3)
            .map(|t| {
                format!(
                    "{} {:.2} (+{:.2} waiting for a core)",
                    t.name,
                    t.cpu.as_secs_f64(),
                    t.runqueue.as_secs_f64()
                )
            })
            .collect();
        let client = format!(
            "drive {:.2} s; server CPU s by thread: {}; client CPU {:.2} s, {} requests",
            p.drive_time.as_secs_f64(),
            threads.join(", "),
            p.client_cpu.as_secs_f64(),
            p.load.accepted_requests
        );
        let mut problems = Vec::new();
        if p.load.errors != 0 {
            problems.push(format!(
                "{} failed requests (first: {})",
                p.load.errors,
                p.load.first_error.as_deref().unwrap_or("?")
            ));
        }
        if p.load.rejected_items != 0 {
            problems.push(format!("{} items rejected", p.load.rejected_items));
        }
        if !p.exit_ok {
            problems.push("exit status not 0".into());
        }
        if let Some(stored) = &p.stored {
            for (i, signal) in Signal::ALL.into_iter().enumerate() {
                let want = if signal == options.signal {
                    p.load.accepted_items
                } else {
                    0
                };
                if stored[i].rows != want {
                    problems.push(format!(
                        "{signal}: {} rows stored, {want} items accepted",
                        stored[i].rows
                    ));
                }
                if stored[i].unfinished != 0 {
                    problems.push(format!(
                        "{signal}: {} unfinished files",
                        stored[i].unfinished
                    ));
                }
            }
            if p.peak_rss > budget {
                problems.push(format!(
                    "peak RSS {} MiB over rings + 64 MiB = {} MiB",
                    mib(p.peak_rss),
                    mib(budget)
                ));
            }
            let s = &stored[Signal::ALL
                .iter()
                .position(|s| *s == options.signal)
                .unwrap_or(0)];
            println!(
                "round {round} {}: items accepted {} = rows stored {} in {} files; peak RSS {} \
                 MiB (budget {} MiB); {client}: {}",
                p.server,
                p.load.accepted_items,
                s.rows,
                s.files,
                mib(p.peak_rss),
                mib(budget),
                if problems.is_empty() { "PASS" } else { "FAIL" }
            );
        } else {
            println!(
                "round {round} {}: items accepted {}; {client}: {}",
                p.server,
                p.load.accepted_items,
                if problems.is_empty() { "PASS" } else { "FAIL" }
            );
        }
        for problem in &problems {
            println!("  - {problem}");
        }
        ok &= problems.is_empty();
    }
    ok
}
