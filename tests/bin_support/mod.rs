//! Shared helpers of the binary tests (`tests/cli.rs`, `tests/service.rs`), included with
//! `#[path]`: the built `otlp-arrow` binary with a clean environment, a temporary directory, a
//! blocking one-shot HTTP client, and a reader for the stored files.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;

/// `otlp-arrow` with no `OTLP_ARROW_*` or `RUST_LOG` variable inherited (so the machine's
/// environment cannot change what a test sees).
pub fn otlp_arrow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_otlp-arrow"));
    for (name, _) in std::env::vars_os() {
        let n = name.to_string_lossy();
        if n.starts_with("OTLP_ARROW_") || n == "RUST_LOG" {
            c.env_remove(&name);
        }
    }
    c
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "otlp-arrow-bin-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An HTTP reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One `connection: close` HTTP/1.1 request; the reply (body de-chunked if need be).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_reply(&raw)
}

pub fn get(addr: SocketAddr, path: &str) -> Reply {
    http(addr, "GET", path, &[], &[])
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no reply head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

/// Every file under `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every record batch of every finalized `.arrow` file in `dir` (one signal's directory),
/// read to the end with arrow's `StreamReader`.
pub fn batches(dir: &Path) -> Vec<RecordBatch> {
    walk(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".arrow"))
        .flat_map(|p| {
            let file = std::fs::File::open(&p).unwrap();
            StreamReader::try_new(std::io::BufReader::new(file), None)
                .unwrap()
                .map(|b| b.unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Generous: a loaded CI machine may be slow, and nothing here waits for a fixed time.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Running {
    pub child: Child,
    pub lines: Receiver<String>,
    pub log: Vec<String>,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub admin: SocketAddr,
}

pub fn addr_after(line: &str, key: &str) -> SocketAddr {
    let token = line
        .split_whitespace()
        .find_map(|t| t.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    token
        .trim_end_matches(',')
        .parse()
        .unwrap_or_else(|e| panic!("{token}: {e}"))
}

/// Starts `otlp-arrow` with `args` in `cwd`; returns once the startup line was logged.
pub fn start(cwd: &Path, args: &[&str]) -> Running {
    let mut child = otlp_arrow()
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    loop {
        let line = match lines.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no startup line ({e:?}); log so far: {log:#?}");
            }
        };
        log.push(line.clone());
        if line.contains(" listening ") {
            let (grpc, http, admin) = (
                addr_after(&line, "grpc="),
                addr_after(&line, "http="),
                addr_after(&line, "admin="),
            );
            return Running {
                child,
                lines,
                log,
                grpc,
                http,
                admin,
            };
        }
    }
}

pub fn serve_in(dir: &Path, extra: &[&str]) -> Running {
    let mut args = vec![
        "serve",
        "--output-dir",
        "data",
        "--grpc-addr",
        "127.0.0.1:0",
        "--http-addr",
        "127.0.0.1:0",
        "--admin-addr",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    start(dir, &args)
}

impl Running {
    /// Sends `signal` (`TERM`, `INT`) with `kill`, waits for the exit; the exit status and the
    /// whole log.
    pub fn stop(mut self, signal: &str) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&pid)
            .status()
            .unwrap();
        assert!(killed.success());
        // stderr closes when the process exits.
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no exit after SIG{signal}; log: {:#?}", self.log);
                }
            }
        }
        (self.child.wait().unwrap(), std::mem::take(&mut self.log))
    }
}

impl Drop for Running {
    /// A test that fails half-way must not leave a service running.
    fn drop(&mut self) {
        // After `wait`, `kill` sends nothing (the status is known): no risk of a reused pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
