#!/usr/bin/env python3
"""Runs criterion benches several times and prints median point estimates per benchmark id.

Usage: scripts/bench_table.py BENCH [RUNS] [-- criterion args...]
The machine is shared and noisy: compare ratios within one invocation, not absolute times.
"""
import re
import statistics
import subprocess
import sys

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def run(bench, extra):
    cmd = ["cargo", "bench", "--bench", bench, "--", "--noplot"] + extra
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    results, name = {}, None
    num = r"([\d.]+) (\S+)"
    time_re = re.compile(r"time:\s+\[" + num + " " + num + " " + num + r"\]")
    for line in out.splitlines():
        if line and not line[0].isspace() and not line.startswith(("Benchmarking", "Found", "Gnuplot", "WARNING")):
            name = line.split("time:")[0].strip()
        m = time_re.search(line)
        if m and name:
            results[name] = float(m.group(3)) * UNITS[m.group(4)]
            name = None
    return results


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    bench = args[0]
    runs = int(args[1]) if len(args) > 1 else 3
    samples = {}
    for _ in range(runs):
        for k, v in run(bench, extra).items():
            samples.setdefault(k, []).append(v)
    print(f"| benchmark ({bench}, median of {runs} runs) | ns/iter | runs |")
    print("|---|---:|---|")
    for k in sorted(samples):
        vals = samples[k]
        print(f"| `{k}` | {statistics.median(vals):.2f} | {', '.join(f'{v:.2f}' for v in vals)} |")


if __name__ == "__main__":
    main()
