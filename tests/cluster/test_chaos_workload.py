"""The chaos workload and checker (`tessera-chaos`) against a local cluster while nodes die and
an AZ is cut off: every key's history of strongly consistent reads, puts and conditional puts
must be linearizable, with no acknowledged write lost. (The same scenarios against the
docker-compose cluster live in scripts/chaos/.)"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

from cluster_helpers import REPO, ROUTERS, report

CHAOS_BIN = os.environ.get("TESSERA_CHAOS_BIN") or str(REPO / "target" / "debug" / "tessera-chaos")


def run_workload(cluster, history, seconds: int):
    endpoints = ",".join(cluster.url(r) for r in ROUTERS)
    return subprocess.Popen([CHAOS_BIN, "workload", "--endpoints", endpoints, "--history", str(history),
                             "--create-table", "--table", f"chaos-{history.stem}", "--keys", "30",
                             "--concurrency", "8", "--duration-secs", str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def check(history, ok_after: float) -> dict:
    """`tessera-chaos check`: linearizable, nothing lost, and operations succeeded after
    `ok_after` seconds (so the history spans the faults)."""
    p = subprocess.run([CHAOS_BIN, "check", str(history), "--json", "--min-ok", "100",
                        "--require-ok-after-secs", str(ok_after)], capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1), p.stderr
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert p.returncode == 0, p.stdout
    return summary


def test_linearizable_through_leader_kill_and_az_partition(healthy, tmp_path):
    cluster = healthy
    history = tmp_path / "faults.jsonl"
    w = run_workload(cluster, history, seconds=24)
    try:
        time.sleep(5)
        cluster.kill("a1")           # a node (and whatever it leads) dies
        time.sleep(5)
        cluster.start("a1")
        cluster.isolate_az("c")      # AZ c is cut off from the others
        time.sleep(5)
        cluster.heal()
        out, _ = w.communicate(timeout=180)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert w.returncode == 0, out
    s = check(history, ok_after=20)
    assert s["violations"] == 0 and s["lost"] == 0, s
    report(f"chaos workload (kill a1, restart, cut off AZ c, heal): {s['ok']} ok, {s['failed']} failed, "
           f"{s['indeterminate']} indeterminate, 0 violations, 0 lost; longest gap {s['longest_gap_secs']:.1f}s")


def test_delay_fault_slows_replication_and_keeps_history_linearizable(healthy, tmp_path):
    """The application-level delay hook (netem is unavailable): every Raft message a node sends
    waits first, so a write, which needs a quorum round, takes at least that long."""
    from cluster_helpers import NODES, create_table, unique_name

    cluster = healthy
    table = unique_name("delay")
    client = cluster.client("router1")
    create_table(client, table)
    # (Below the 300 ms heartbeat: openraft gives an AppendEntries one heartbeat interval, so a
    # larger delay stalls replication altogether, as a link that slow would.)
    delay = 0.12
    history = tmp_path / "delay.jsonl"
    w = run_workload(cluster, history, seconds=10)
    try:
        time.sleep(3)
        for n in NODES:
            cluster.fault(n, [], delay_ms=int(delay * 1000))
        t0 = time.monotonic()
        client.put_item(TableName=table, Item={"pk": {"S": "slow"}})
        took = time.monotonic() - t0
        for n in NODES:
            cluster.fault(n, [])
        out, _ = w.communicate(timeout=120)
    finally:
        for n in NODES:
            cluster.fault(n, [])
        if w.poll() is None:
            w.kill()
            w.wait()
    assert took >= delay, f"a write under a {delay}s Raft delay took only {took:.3f}s"
    assert w.returncode == 0, out
    s = check(history, ok_after=8)
    assert s["violations"] == 0 and s["lost"] == 0, s
    report(f"delay fault {delay}s on every node: a write took {took:.2f}s; workload {s['ok']} ok, 0 violations")
