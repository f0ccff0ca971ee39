#!/usr/bin/env python3
"""Runs the same `tessera bench` workloads against Tessera and its peers, one system at a time,
on this machine, and reports throughput, p50 and p99 (medians of several runs), the ratios to
each peer, cold start (process start to first answered ListTables), resident memory idle and
after the runs, and this machine's ceilings (the HTTP stack's no-op rate, sled and fsync rates).

Started by scripts/bench/compare, which installs the peers first. Systems:

  local        tessera local, durable (sled on disk, group commit)
  local-mem    tessera local --in-memory
  cluster      6 tessera-node (2 per AZ, 6 durable replicas per shard) + 2 routers, through both
  dax          GetItem through the 3 DAX nodes of the same cluster (cache hits after warm-up)
  dynoxide     Dynoxide in memory
  dynoxide-db  Dynoxide --db-path (SQLite WAL on disk: its durable mode)
  moto         moto_server

Everything runs on the same cores as the load generator, so figures are comparable with each
other, not with a dedicated server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SYSTEMS = ["local", "local-mem", "cluster", "dax", "dynoxide", "dynoxide-db", "moto"]
# Which peers each Tessera system is compared with in the ratio columns.
PEERS = ["dynoxide-db", "dynoxide", "moto"]
LABELS = {
    "local": "tessera local (durable)",
    "local-mem": "tessera local (memory)",
    "cluster": "tessera cluster (6 replicas)",
    "dax": "tessera DAX (cache hits)",
    "dynoxide": "Dynoxide (memory)",
    "dynoxide-db": "Dynoxide (--db-path)",
    "moto": "moto",
}


def log(msg: str) -> None:
    print(f"compare: {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(endpoint: str) -> bool:
    """True when the endpoint answers ListTables with 200."""
    req = urllib.request.Request(
        endpoint + "/", data=b"{}", method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
            "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, "
                             "SignedHeaders=host, Signature=0",
        })
    try:
        with urllib.request.urlopen(req, timeout=1) as r:
            return r.status == 200
    except Exception:  # noqa: BLE001 - not up yet
        return False


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Process:
    """A server process of one system, started in its own process group."""

    def __init__(self, argv: list[str], endpoint: str, log_path: Path, env: dict | None = None):
        self.argv, self.endpoint, self.log_path = argv, endpoint, log_path
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> float:
        """Starts it; returns seconds from the start to the first answered request."""
        logf = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process' lifetime
        began = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)
        while time.perf_counter() - began < timeout:
            if answers(self.endpoint):
                return time.perf_counter() - began
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.proc.returncode}; see {self.log_path}")
            time.sleep(0.002)
        raise RuntimeError(f"{self.argv[0]} did not answer within {timeout}s; see {self.log_path}")

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.proc = None


class Cluster:
    """scripts/cluster with release binaries and the DAX nodes."""

    def __init__(self, repo: Path, directory: Path):
        self.repo, self.dir = repo, directory
        rel = repo / "target" / "release"
        self.env = {**os.environ, "TESSERA_NODE_BIN": str(rel / "tessera-node"),
                    "TESSERA_ROUTER_BIN": str(rel / "tessera-router"),
                    "TESSERA_DAX_BIN": str(rel / "tessera-dax")}
        self.routers: list[str] = []
        self.daxes: list[str] = []

    def start(self) -> float:
        began = time.perf_counter()
        out = subprocess.run([str(self.repo / "scripts" / "cluster"), "up", "--dax", str(self.dir)],
                             env=self.env, capture_output=True, text=True, check=True)
        took = time.perf_counter() - began
        for line in out.stdout.splitlines():
            kind, _, url = line.partition(" ")
            if kind == "router":
                self.routers.append(url.split()[0])
            elif kind == "dax":
                self.daxes.append(url.split()[0])
        if not self.routers or not self.daxes:
            raise RuntimeError(f"scripts/cluster up printed no endpoints:\n{out.stdout}\n{out.stderr}")
        return took

    @property
    def pids(self) -> list[int]:
        pids = []
        for p in self.dir.glob("*/pid"):
            try:
                pids.append(int(p.read_text().strip()))
            except (OSError, ValueError):
                pass
        return pids

    def stop(self) -> None:
        subprocess.run([str(self.repo / "scripts" / "cluster"), "down", str(self.dir)], env=self.env,
                       capture_output=True)


def bench(tessera: Path, endpoints: list[str], workload: str, args, table: str, load: bool) -> dict:
    cmd = [str(tessera), "bench", "--endpoint", ",".join(endpoints), "--workload", workload,
           "--table", table, "--records", str(args.records), "--concurrency", str(args.concurrency),
           "--duration", str(args.duration), "--warmup", str(args.warmup), "--json", "-", "--quiet"]
    if getattr(args, "operations", None):
        cmd += ["--operations", str(args.operations)]
    if not load:
        cmd.append("--no-load")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration * 4 + 600)
    if out.returncode != 0:
        raise RuntimeError(f"tessera bench {workload} on {endpoints[0]} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def summarise(reports: list[dict]) -> dict:
    """Medians of the runs' totals."""
    totals = [r["total"] for r in reports]
    med = lambda k: statistics.median(t[k] for t in totals)  # noqa: E731
    return {
        "ops_per_sec": med("ops_per_sec"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
        "errors": sum(t["errors"] for t in totals), "runs": len(reports),
        "runs_ops_per_sec": [round(t["ops_per_sec"]) for t in totals],
    }


def measure_system(name: str, args, repo: Path, scratch: Path, results: dict) -> None:
    tessera = repo / "target" / "release" / "tessera"
    logs = scratch / "logs"
    logs.mkdir(exist_ok=True)
    data = scratch / "data" / name
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server: Process | Cluster
    if name == "local":
        server = Process([str(tessera), "local", "--port", str(port), "--data-dir", str(data)], endpoint,
                         logs / f"{name}.log")
    elif name == "local-mem":
        server = Process([str(tessera), "local", "--port", str(port), "--in-memory"], endpoint, logs / f"{name}.log")
    elif name == "dynoxide":
        server = Process([args.dynoxide, "--port", str(port)], endpoint, logs / f"{name}.log")
    elif name == "dynoxide-db":
        server = Process([args.dynoxide, "--port", str(port), "--db-path", str(data / "db.sqlite")], endpoint,
                         logs / f"{name}.log")
    elif name == "moto":
        server = Process([args.moto, "-H", "127.0.0.1", "-p", str(port)], endpoint, logs / f"{name}.log")
    elif name in ("cluster", "dax"):
        server = Cluster(repo, data)
    else:
        raise SystemExit(f"unknown system {name}")
    entry: dict = {"label": LABELS[name], "workloads": {}}
    try:
        started = server.start()
        if isinstance(server, Cluster):
            entry["startup_s"] = round(started, 2)
            endpoints = server.routers if name == "cluster" else server.daxes
        else:
            entry["cold_start_ms"] = round(started * 1000, 1)
            endpoints = [endpoint]
        time.sleep(1.0)
        entry["rss_idle_mib"] = round(rss_kib(server.pids) / 1024, 1)
        table = "compare"
        loaded = False
        workloads = ["get"] if name == "dax" else args.workloads
        for workload in workloads:
            reports = []
            for run in range(args.runs):
                # put writes whole records over the key space; the others read what was loaded.
                load = workload != "put" and not loaded
                if name == "dax" and not loaded:
                    # Load through a router, then read every record through DAX many times
                    # (uniform keys; each DAX node fills its own cache from its misses) so the
                    # measured runs are cache hits, as the system's name says; misses are what
                    # the cluster's own get figure measures.
                    bench(tessera, server.routers, "get", argparse.Namespace(**{**vars(args), "duration": 1}),
                          table, True)
                    warm = argparse.Namespace(**{**vars(args), "warmup": 0, "operations": args.records * 12})
                    bench(tessera, endpoints, "get", warm, table, False)
                    load = False
                reports.append(bench(tessera, endpoints, workload, args, table, load))
                loaded = loaded or load
                log(f"{name} {workload} run {run + 1}: {reports[-1]['total']['ops_per_sec']:.0f} ops/s, "
                    f"p99 {reports[-1]['total']['p99_ms']:.1f} ms, errors {reports[-1]['total']['errors']}")
            entry["workloads"][workload] = summarise(reports)
        entry["rss_after_mib"] = round(rss_kib(server.pids) / 1024, 1)
    finally:
        server.stop()
    results[name] = entry


def ceilings(args, repo: Path, scratch: Path) -> dict:
    tessera = repo / "target" / "release" / "tessera"
    floor = subprocess.run([str(tessera), "bench-floor", "--dir", str(scratch), "--json", "--seconds", "2"],
                           capture_output=True, text=True, check=True)
    out = json.loads(floor.stdout)
    port = free_port()
    server = Process([str(tessera), "local", "--port", str(port), "--in-memory"], f"http://127.0.0.1:{port}",
                     scratch / "logs" / "noop.log")
    try:
        server.start()
        noop = [bench(tessera, [f"http://127.0.0.1:{port}"], "noop", args, "compare", False)
                for _ in range(args.runs)]
        out["http_noop"] = summarise(noop)
    finally:
        server.stop()
    return out


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.1f}x"


def table(results: dict, workloads: list[str]) -> str:
    lines = []
    head = f"{'system':<30} {'workload':<6} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}   " + \
           "  ".join(f"vs {p:<11}" for p in PEERS)
    lines.append(head)
    for name, entry in results.items():
        for w, s in entry["workloads"].items():
            ratios = "  ".join(
                f"{ratio(s['ops_per_sec'], results.get(p, {}).get('workloads', {}).get(w, {}).get('ops_per_sec')):<14}"
                for p in PEERS)
            lines.append(f"{entry['label']:<30} {w:<6} {s['ops_per_sec']:>9.0f} {s['p50_ms']:>8.2f} "
                         f"{s['p99_ms']:>8.2f} {s['errors']:>7}   {ratios}")
    lines.append("")
    lines.append(f"{'system':<30} {'cold start':>12} {'RSS idle MiB':>13} {'RSS after MiB':>14}")
    for name, entry in results.items():
        cold = f"{entry['cold_start_ms']:.0f} ms" if "cold_start_ms" in entry else f"{entry.get('startup_s', 0):.1f} s*"
        lines.append(f"{entry['label']:<30} {cold:>12} {entry.get('rss_idle_mib', 0):>13.1f} "
                     f"{entry.get('rss_after_mib', 0):>14.1f}")
    return "\n".join(lines)


def chart(results: dict, workloads: list[str], path: Path, machine: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(1, len(workloads), figsize=(6 * len(workloads), 4.8), squeeze=False)
    for ax, w in zip(axes[0], workloads):
        shown = [n for n in names if w in results[n]["workloads"]]
        vals = [results[n]["workloads"][w]["ops_per_sec"] for n in shown]
        colors = ["#1f77b4" if not n.startswith(("dynoxide", "moto")) else "#999999" for n in shown]
        bars = ax.barh([results[n]["label"] for n in shown], vals, color=colors)
        for bar, n in zip(bars, shown):
            s = results[n]["workloads"][w]
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                    f" {s['ops_per_sec']:.0f}/s, p99 {s['p99_ms']:.1f} ms", va="center", fontsize=8)
        ax.set_xscale("log")
        ax.set_title(f"{w}: operations/s (log scale), higher is better")
        ax.invert_yaxis()
        ax.set_xlim(right=max(vals) * 20 if vals else 1)
    fig.suptitle(f"tessera bench, 64 connections, ~1 KB records — {machine}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", required=True, type=Path)
    p.add_argument("--scratch", required=True, type=Path)
    p.add_argument("--dynoxide", required=True)
    p.add_argument("--moto", required=True)
    p.add_argument("--systems", default=",".join(SYSTEMS))
    p.add_argument("--workloads", default="put,get")
    p.add_argument("--runs", type=int, default=3, help="runs per system and workload (the median is reported)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--records", type=int, default=10000)
    p.add_argument("--quick", action="store_true", help="1 run of 4 s per system and workload")
    p.add_argument("--out", type=Path, help="directory for latest.json and compare.png (default REPO/docs/bench)")
    args = p.parse_args()
    if args.quick:
        args.runs, args.duration = 1, 4.0
    args.workloads = [w for w in args.workloads.split(",") if w]
    systems = [s for s in args.systems.split(",") if s]
    out_dir = args.out or args.repo / "docs" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    args.scratch.mkdir(parents=True, exist_ok=True)
    (args.scratch / "logs").mkdir(exist_ok=True)

    machine = f"{os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}"
    results: dict = {}
    for name in systems:
        log(f"== {LABELS.get(name, name)}")
        measure_system(name, args, args.repo, args.scratch, results)
    log("== ceilings (bench-floor; no-op DescribeLimits on tessera local --in-memory)")
    ceil = ceilings(args, args.repo, args.scratch)

    report = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine,
        "command": "scripts/bench/compare " + " ".join(sys.argv[1:]),
        "settings": {"runs": args.runs, "duration_s": args.duration, "concurrency": args.concurrency,
                     "records": args.records, "workloads": args.workloads},
        "systems": results,
        "ceilings": ceil,
    }
    (out_dir / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    text = table(results, args.workloads)
    print(text)
    print()
    print(f"ceilings: HTTP no-op (DescribeLimits) {ceil['http_noop']['ops_per_sec']:.0f}/s "
          f"(p99 {ceil['http_noop']['p99_ms']:.2f} ms); sled puts {ceil['sled_puts_per_sec']:.0f}/s, "
          f"gets {ceil['sled_gets_per_sec']:.0f}/s, put+flush one by one {ceil['sled_durable_puts_per_sec']:.0f}/s; "
          f"fsync {ceil['fsyncs_per_sec']:.0f}/s")
    print(f"* the cluster's figure is scripts/cluster up (6 nodes, 2 routers, 3 DAX nodes), not a cold start")
    print(f"machine: {machine}; {args.runs} run(s) of {args.duration:.0f} s each, medians")
    try:
        chart(results, [w for w in args.workloads if any(w in e["workloads"] for e in results.values())],
              out_dir / "compare.png", machine)
        print(f"wrote {out_dir / 'latest.json'} and {out_dir / 'compare.png'}")
    except ImportError as e:
        print(f"no chart ({e}); wrote {out_dir / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
