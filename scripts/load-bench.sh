#!/usr/bin/env bash
# The "Service load" benchmark (docs/BENCHMARKS.md): the OTLP receivers of `otlp-arrow serve`
# against a decode-and-discard tonic/hyper sink, same load, same run.
#
#   scripts/load-bench.sh [RUNS] [DURATION]        (defaults: 3 rounds of 5s, 1s warm-up)
#
# Environment: SERVER=PATH|inproc (default: target/release/otlp-arrow when it exists, else the
# in-process stand-in), EXTRA="--flag value ..." appended to every run (e.g. "--nodelay true"
# with SERVER=inproc). OTLP_ARROW_* variables reach the server's configuration (e.g.
# OTLP_ARROW_STORAGE_COMPRESSION=lz4). Loopback only; every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-3}"
duration="${2:-5s}"

if [[ -f src/main.rs ]]; then
    cargo build --release --bin otlp-arrow --example otlp-arrow-load
else
    cargo build --release --example otlp-arrow-load
fi
load=target/release/examples/otlp-arrow-load
server_args=()
if [[ -n "${SERVER:-}" ]]; then
    server_args=(--server "$SERVER")
fi

echo "machine: $(lscpu | sed -n 's/^Model name: *//p') x $(nproc), $(rustc --version)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
scenario() {
    echo
    echo "### $*"
    # shellcheck disable=SC2086 # EXTRA is a list of flags
    "$load" run "${server_args[@]}" --runs "$runs" --duration "$duration" "$@" ${EXTRA:-} ||
        status=1
}

# The issue's targets: 4 gRPC connections x 100 and x 1000 spans per request.
scenario --signal traces --transport grpc --conns 4 --items 100
scenario --signal traces --transport grpc --conns 4 --items 1000
scenario --signal traces --transport http --conns 4 --items 100
# Items sent = rows stored for every signal over both transports.
scenario --signal metrics --transport grpc --conns 4 --items 100
scenario --signal logs --transport grpc --conns 4 --items 100
scenario --signal metrics --transport http --conns 4 --items 100
scenario --signal logs --transport http --conns 4 --items 100

echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
