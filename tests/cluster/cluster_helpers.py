"""Helpers for the cluster fault tests: driving scripts/cluster, `tessera-node status` / `fault`,
polling, retried writes, key-to-shard discovery and measurements.

The cluster is a black box reached only through its command-line tools and the DynamoDB HTTP API
of the routers. DynamoDB helpers (clients, table creation, unique names) come from tests/e2e.
"""

from __future__ import annotations

import json
import os
import pathlib
import select
import signal
import subprocess
import sys
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from e2e_helpers import ACCESS_KEY, REGION, SECRET_KEY, create_table, unique_name  # noqa: E402,F401

SCRIPT = REPO / "scripts" / "cluster"
NODE_BIN = os.environ.get("TESSERA_NODE_BIN") or str(REPO / "target" / "debug" / "tessera-node")
ROUTER_BIN = os.environ.get("TESSERA_ROUTER_BIN") or str(REPO / "target" / "debug" / "tessera-router")
DAX_BIN = os.environ.get("TESSERA_DAX_BIN") or str(REPO / "target" / "debug" / "tessera-dax")

NODES = ["a1", "a2", "b1", "b2", "c1", "c2"]
NODE_ID = {name: i + 1 for i, name in enumerate(NODES)}
NODE_NAME = {i: name for name, i in NODE_ID.items()}
NODE_AZ = {name: name[0] for name in NODES}
ROUTERS = ["router1", "router2"]  # AZ a, AZ b
DAXES = ["dax1", "dax2", "dax3"]  # AZ a, b, c (started with `scripts/cluster up --dax`)

# Same as the e2e suite: no retries, a 5xx must surface. Shorter read timeout than e2e: a router
# gives up on a shard after ~10 s, so 30 s without an answer is a hang, not a slow reply.
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=3,
    read_timeout=30,
    max_pool_connections=20,
)


def make_client(endpoint: str):
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=CLIENT_CONFIG,
    )


# --- measurements (printed in the terminal summary by conftest.py) ---------------------------

MEASUREMENTS: list[str] = []


def report(msg: str) -> None:
    MEASUREMENTS.append(msg)
    print(msg, flush=True)


# --- polling -------------------------------------------------------------------------------------

def wait_for(cond, timeout: float, what: str, interval: float = 0.2, describe=None):
    """Poll cond() until it returns a truthy value (returned); fail after `timeout` seconds with
    `what` and, if given, describe() of the last state."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = cond()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - condition errors count as "not yet"
            last_exc = e
        if time.monotonic() >= deadline:
            detail = ""
            if describe is not None:
                try:
                    detail = f"\nlast state: {describe()}"
                except Exception as e:  # noqa: BLE001
                    detail = f"\n(describe failed: {e!r})"
            if last_exc is not None:
                detail += f"\nlast exception: {last_exc!r}"
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{detail}", pytrace=False)
        time.sleep(interval)


# --- errors and retried writes -------------------------------------------------------------------

CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError)


def http_status(exc) -> int | None:
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def error_code(exc) -> str | None:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def is_unavailable(exc) -> bool:
    """A failure that means "no leader / shard unavailable right now" (retry), not a wrong request."""
    status = http_status(exc)
    if status is not None:
        return status >= 500
    return isinstance(exc, CONNECTION_ERRORS)


def describe_exc(exc) -> str:
    if isinstance(exc, ClientError):
        return f"HTTP {http_status(exc)} {error_code(exc)}: {exc.response.get('Error', {}).get('Message')}"
    return repr(exc)


def retry_unavailable(fn, deadline: float, what: str, interval: float = 0.1):
    """Call fn() until it succeeds, retrying only unavailability errors (5xx, connection errors)
    until the monotonic `deadline`. Returns (result, attempts, last_error)."""
    attempts = 0
    last = None
    while True:
        attempts += 1
        try:
            return fn(), attempts, last
        except Exception as e:  # noqa: BLE001
            if not is_unavailable(e):
                raise
            last = e
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: still unavailable after {attempts} attempts; last error: {describe_exc(last)}",
                        pytrace=False)
        time.sleep(interval)


# --- the cluster -----------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    """A cluster started by scripts/cluster in `dir`. Always call down() (fixtures do)."""

    def __init__(self, dir: pathlib.Path, node_args: str = "", faults: bool = True, dax: bool = False,
                 dax_args: str = ""):
        self.dir = pathlib.Path(dir)
        self.node_args = node_args
        self.faults = faults
        self.dax = dax
        self.dax_args = dax_args
        self.info: dict = {}
        self.blocked: dict[str, list[int]] = {}  # node -> ids it currently blocks
        self.extra_procs: list[subprocess.Popen] = []

    # --- scripts/cluster ---------------------------------------------------------------------
    def env(self) -> dict:
        env = dict(os.environ)
        env["TESSERA_FAULTS"] = "1" if self.faults else "0"
        env["TESSERA_NODE_ARGS"] = self.node_args
        env.setdefault("TESSERA_NODE_BIN", NODE_BIN)
        env.setdefault("TESSERA_ROUTER_BIN", ROUTER_BIN)
        env.setdefault("TESSERA_DAX_BIN", DAX_BIN)
        env["TESSERA_DAX_ARGS"] = self.dax_args
        return env

    def script(self, *args: str, timeout: float = 90, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(SCRIPT), *args]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.env(),
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"`{' '.join(cmd)}` did not finish within {timeout:.0f}s; output: {e.stdout!r} {e.stderr!r}",
                        pytrace=False)
        if check and p.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed with exit code {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}",
                        pytrace=False)
        return p

    def up(self) -> "Cluster":
        for binary in (NODE_BIN, ROUTER_BIN) + ((DAX_BIN,) if self.dax else ()):
            if not os.path.exists(binary):
                pytest.fail(f"{binary} not found (build the cluster binaries, or set TESSERA_NODE_BIN / "
                            "TESSERA_ROUTER_BIN / TESSERA_DAX_BIN)", pytrace=False)
        t0 = time.monotonic()
        self.script("up", *(["--dax"] if self.dax else []), str(self.dir), timeout=120)
        self.reload()
        report(f"cluster up in {self.dir.name}: {time.monotonic() - t0:.1f}s"
               + (f" (node args: {self.node_args})" if self.node_args else ""))
        return self

    def stop_extra_routers(self) -> None:
        for p in self.extra_procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=10)
        self.extra_procs.clear()

    def down(self) -> None:
        self.stop_extra_routers()
        if self.dir.exists():
            self.script("down", str(self.dir), timeout=60, check=False)

    def reload(self) -> dict:
        self.info = json.loads((self.dir / "cluster.json").read_text())
        return self.info

    def proc(self, name: str) -> dict:
        return self.info["processes"][name]

    def kill(self, name: str) -> None:
        self.script("kill", name, str(self.dir))

    def kill_now(self, names: list[str]) -> None:
        """SIGKILL several processes as close to simultaneously as possible, then confirm."""
        self.reload()
        for name in names:
            pid = self.proc(name)["pid"]
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name in names:
            self.kill(name)  # waits until gone; "not running" is fine

    def stop(self, name: str) -> None:
        self.script("stop", name, str(self.dir))

    def start(self, name: str) -> None:
        self.script("start", name, str(self.dir))
        self.reload()

    def start_many(self, names: list[str]) -> None:
        """Start several processes in parallel (each waits for its ready line)."""
        errors: list[str] = []

        def run(n):
            p = subprocess.run([str(SCRIPT), "start", n, str(self.dir)], capture_output=True, text=True,
                               timeout=120, env=self.env(), stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                errors.append(f"start {n} failed:\n{p.stdout}{p.stderr}")

        threads = [threading.Thread(target=run, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.reload()
        if errors:
            pytest.fail("\n".join(errors), pytrace=False)

    def alive(self, name: str) -> bool:
        pid = self.reload()["processes"][name]["pid"]
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return state != "Z"
        except OSError:
            return False

    def log_tail(self, name: str, n: int = 30) -> str:
        try:
            lines = pathlib.Path(self.proc(name)["log"]).read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    # --- endpoints ------------------------------------------------------------------------------
    def url(self, router: str) -> str:
        return self.proc(router)["url"]

    def client(self, router: str):
        return make_client(self.url(router))

    def addr(self, node: str) -> str:
        return self.proc(node)["addr"]

    # --- tessera-node status / fault -------------------------------------------------------------
    def status(self, node: str, timeout: float = 10, digests: bool = False) -> dict | None:
        """`tessera-node status` of one node as a dict (with `digests`, each data group's
        contents digest too), or None if it does not answer."""
        try:
            p = subprocess.run([NODE_BIN, "status", "--target", self.addr(node)] + (["--digests"] if digests else []),
                               capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None
        if p.returncode != 0:
            return None
        try:
            return json.loads(p.stdout)
        except ValueError:
            pytest.fail(f"`tessera-node status --target {self.addr(node)}` printed no JSON object: {p.stdout!r}",
                        pytrace=False)

    def statuses(self, nodes=None) -> dict[str, dict]:
        """Status of every answering node among `nodes` (default all)."""
        out = {}
        for n in nodes or NODES:
            s = self.status(n)
            if s is not None:
                out[n] = s
        return out

    def fault(self, node: str, block_ids: list[int], delay_ms: int = 0) -> None:
        """Set a node's whole fault state: the nodes it drops Raft traffic with, and the delay it
        adds to every Raft message it sends."""
        arg = ",".join(str(i) for i in block_ids)
        p = subprocess.run([NODE_BIN, "fault", "--target", self.addr(node), "--block", arg,
                            "--delay-ms", str(delay_ms)],
                           capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            pytest.fail(f"`tessera-node fault --target {self.addr(node)} --block {arg!r}` failed "
                        f"({p.returncode}): {p.stdout}{p.stderr}", pytrace=False)
        if block_ids or delay_ms:
            self.blocked[node] = list(block_ids)
        else:
            self.blocked.pop(node, None)

    def isolate_az(self, az: str) -> None:
        """Cut AZ `az` off from the others, both directions, on every node."""
        inside = [n for n in NODES if NODE_AZ[n] == az]
        outside = [n for n in NODES if NODE_AZ[n] != az]
        for n in outside:
            self.fault(n, [NODE_ID[m] for m in inside])
        for n in inside:
            self.fault(n, [NODE_ID[m] for m in outside])

    def heal(self) -> None:
        """Unblock everything on every node (idempotent)."""
        for n in NODES:
            self.fault(n, [])

    # --- extra routers (not managed by scripts/cluster) ---------------------------------------------
    def start_router(self, name: str, az: str, nodes: list[str], timeout: float = 30,
                     extra_args: list[str] | None = None) -> str:
        """Start another tessera-router over a subset of the nodes; returns its URL. Killed by down()."""
        port = free_port()
        nodes_arg = ",".join(f"{NODE_ID[n]}={self.addr(n)}" for n in nodes)
        cmd = [ROUTER_BIN, "--listen", f"127.0.0.1:{port}", "--az", az, "--nodes", nodes_arg, *(extra_args or [])]
        self.spawn(name, cmd, f"tessera-router listening on http://127.0.0.1:{port}", timeout)
        return f"http://127.0.0.1:{port}"

    def start_dax_standalone(self, name: str, extra_args: list[str], timeout: float = 30) -> str:
        """Start a one-node DAX cluster of its own in front of both routers (its own cache
        settings); returns its URL. Killed by down()."""
        port, cport = free_port(), free_port()
        routers = ",".join(self.url(r) for r in ROUTERS)
        cmd = [DAX_BIN, "--node-id", "1", "--az", "a", "--listen", f"127.0.0.1:{port}",
               "--cluster-listen", f"127.0.0.1:{cport}", "--peers", f"1@a=127.0.0.1:{port}:{cport}",
               "--routers", routers, *extra_args]
        self.spawn(name, cmd, f"tessera-dax 1 listening on http://127.0.0.1:{port}", timeout)
        return f"http://127.0.0.1:{port}"

    def spawn(self, name: str, cmd: list[str], want: str, timeout: float) -> subprocess.Popen:
        """Start a process outside scripts/cluster and wait for its ready line on stdout."""
        work = self.dir / name
        work.mkdir(parents=True, exist_ok=True)
        log = open(work / "log", "ab")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                             start_new_session=True)
        log.close()
        self.extra_procs.append(p)
        deadline = time.monotonic() + timeout
        buf = b""
        fd = p.stdout.fileno()
        while want.encode() not in buf:
            if p.poll() is not None:
                pytest.fail(f"{name} ({' '.join(cmd)}) exited with {p.returncode}: {buf!r}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not print {want!r} within {timeout:.0f}s: {buf!r}", pytrace=False)
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    continue
                buf += chunk

        def drain():
            with open(work / "stdout", "ab") as out:
                out.write(buf)
                for chunk in iter(lambda: p.stdout.read1(65536), b""):
                    out.write(chunk)

        threading.Thread(target=drain, daemon=True).start()
        return p

    # --- health between tests ---------------------------------------------------------------------
    def ensure_healthy(self, timeout: float = 60) -> None:
        """Heal faults, restart dead processes, wait until every node answers status and every
        group it reports has a leader. Used between tests sharing a cluster."""
        self.stop_extra_routers()
        self.reload()
        for n in NODES:
            if n in self.blocked and self.alive(n):
                self.fault(n, [])
        self.blocked.clear()
        dead = [n for n in NODES + ROUTERS + (DAXES if self.dax else []) if not self.alive(n)]
        if dead:
            self.start_many(dead)

        def ok():
            st = self.statuses()
            if len(st) != len(NODES):
                return False
            return all(g.get("leader") is not None for s in st.values() for g in s.get("groups", []))

        wait_for(ok, timeout, "every node to answer status with a leader for every group",
                 describe=lambda: summarize(self.statuses()))


# --- status helpers -----------------------------------------------------------------------------------

def groups_of(status: dict, table: str | None = None, data_only: bool = True) -> dict[int, dict]:
    """{group id: group entry} of a node status; only `table`'s groups if given, else every data
    group (table not null) unless data_only=False."""
    out = {}
    for g in status.get("groups", []):
        if table is not None:
            if g.get("table") != table:
                continue
        elif data_only and g.get("table") is None:
            continue
        out[g["group"]] = g
    return out


def replica_differences(c, table: str, nodes=None) -> str | None:
    """None once, on every node, each of `table`'s data groups has applied the same index and
    holds the same contents (digests); else what differs. Replicas apply the same log, so any
    difference that lasts is a replica that parted from the others."""
    nodes = nodes or NODES
    statuses = {n: c.status(n, digests=True) for n in nodes}
    silent = [n for n, s in statuses.items() if s is None]
    if silent:
        return f"no status from {silent}"
    groups = sorted({gid for s in statuses.values() for gid in groups_of(s, table)})
    if not groups:
        return f"no group of {table}"
    for gid in groups:
        seen = {n: groups_of(s, table).get(gid) or {} for n, s in statuses.items()}
        if len({(g.get("last_applied"), g.get("digest")) for g in seen.values()}) != 1 or \
                any(g.get("digest") is None for g in seen.values()):
            return f"group {gid}: " + ", ".join(f"{n} applied {g.get('last_applied')} digest {g.get('digest')}"
                                                for n, g in seen.items())
    return None


def summarize(statuses: dict[str, dict]) -> str:
    lines = []
    for n, s in statuses.items():
        parts = [f"g{g['group']}({g.get('table') or 'meta'}):{g.get('role')}/t{g.get('term')}/L{g.get('leader')}"
                 f"/a{g.get('last_applied')}/s{g.get('snapshot')}/p{g.get('purged')}"
                 for g in sorted(s.get("groups", []), key=lambda g: g["group"])]
        lines.append(f"{n}: " + " ".join(parts))
    return "\n".join(lines)


def agreed_leaders(statuses: dict[str, dict], groups: list[int]) -> dict[int, int] | None:
    """{group: leader id} if, for every group, all the given nodes report the same leader L, L is
    one of them, and L's own status says role=leader. None otherwise."""
    out = {}
    by_id = {NODE_ID[n]: s for n, s in statuses.items()}
    for gid in groups:
        seen = set()
        for s in statuses.values():
            g = groups_of(s, data_only=False).get(gid)
            if g is None:
                return None
            seen.add(g.get("leader"))
        if len(seen) != 1:
            return None
        leader = seen.pop()
        if leader is None or leader not in by_id:
            return None
        own = groups_of(by_id[leader], data_only=False).get(gid)
        if own is None or own.get("role") != "leader":
            return None
        out[gid] = leader
    return out


def num(v) -> int:
    return -1 if v is None else int(v)


def table_groups(cluster: Cluster, table: str, via: str = "a1", expected: int | None = 4,
                 timeout: float = 30) -> list[int]:
    """The data groups of `table` as reported by node `via`, once they all have a leader."""
    def cond():
        s = cluster.status(via)
        if s is None:
            return None
        gs = groups_of(s, table)
        if not gs or (expected is not None and len(gs) != expected):
            return None
        if any(g.get("leader") is None for g in gs.values()):
            return None
        return sorted(gs)

    return wait_for(cond, timeout, f"node {via} to report {expected or 'the'} groups of table {table} with leaders",
                    describe=lambda: summarize(cluster.statuses([via])))


def wait_leaders(cluster: Cluster, groups: list[int], nodes: list[str], timeout: float, what: str) -> dict[int, int]:
    return wait_for(lambda: agreed_leaders(cluster.statuses(nodes), groups), timeout, what,
                    describe=lambda: summarize(cluster.statuses(nodes)))


def keys_by_group(cluster: Cluster, client, table: str, groups: list[int], prefix: str = "probe",
                  max_keys: int = 80) -> dict[int, str]:
    """Find one partition key per data group: write a candidate key and see which group's log
    grew on its leader (`last_log` in status). The cluster must be otherwise idle on `table`."""
    found: dict[int, str] = {}
    leaders = wait_leaders(cluster, groups, NODES, 30, f"agreed leaders for the groups of {table}")
    leader_nodes = sorted({NODE_NAME[l] for l in leaders.values()})

    def logs():
        out = {}
        for n in leader_nodes:
            s = cluster.status(n)
            if s is None:
                return None
            for gid, g in groups_of(s, table).items():
                if leaders.get(gid) == NODE_ID[n]:
                    out[gid] = num(g.get("last_log"))
        return out if len(out) == len(groups) else None

    for i in range(max_keys):
        if len(found) == len(groups):
            break
        key = f"{prefix}-{i}"
        before = logs()
        client.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": "0"}})
        after = logs()
        if before is None or after is None:
            continue
        grown = [gid for gid in groups if after[gid] > before[gid]]
        if len(grown) == 1 and grown[0] not in found:
            found[grown[0]] = key
    if len(found) != len(groups):
        pytest.fail(f"could not find a key for every group of {table} in {max_keys} tries (found {found}); "
                    f"does a write grow last_log on the shard leader?\n{summarize(cluster.statuses())}",
                    pytrace=False)
    return found


def wait_caught_up(cluster: Cluster, node: str, targets: dict[int, int], timeout: float, what: str) -> dict:
    """Wait until `node` reports last_applied >= targets[group] for every group; returns its status."""
    def cond():
        s = cluster.status(node)
        if s is None:
            return None
        gs = groups_of(s, data_only=False)
        if all(gid in gs and num(gs[gid].get("last_applied")) >= t for gid, t in targets.items()):
            return s
        return None

    return wait_for(cond, timeout, what,
                    describe=lambda: f"targets {targets}\n" + summarize(cluster.statuses([node])))


def leader_applied(cluster: Cluster, groups: list[int], nodes: list[str] | None = None) -> dict[int, int]:
    """{group: last_applied on its current leader} (leaders agreed among `nodes`)."""
    nodes = nodes or [n for n in NODES if cluster.alive(n)]
    leaders = wait_leaders(cluster, groups, nodes, 30, "agreed leaders")
    out = {}
    for gid, l in leaders.items():
        s = cluster.status(NODE_NAME[l])
        assert s is not None, f"leader {NODE_NAME[l]} of group {gid} does not answer status"
        out[gid] = num(groups_of(s, data_only=False)[gid].get("last_applied"))
    return out


# --- reading many items -----------------------------------------------------------------------------

def batch_get(client, table: str, keys: list[dict], consistent: bool, deadline: float | None = None) -> list[dict]:
    """BatchGetItem in chunks of 100, re-requesting UnprocessedKeys. Returns the items found."""
    out = []
    for i in range(0, len(keys), 100):
        pending = keys[i : i + 100]
        tries = 0
        while pending:
            tries += 1
            resp = client.batch_get_item(RequestItems={table: {"Keys": pending, "ConsistentRead": consistent}})
            out += resp["Responses"].get(table, [])
            pending = resp.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if pending:
                assert tries < 50, f"BatchGetItem kept returning {len(pending)} UnprocessedKeys"
                time.sleep(0.05)
    return out


def scan_all(client, table: str, consistent: bool, **kwargs) -> list[dict]:
    """Paginated Scan (optionally one segment of a parallel scan via kwargs)."""
    items = []
    start = None
    pages = 0
    while True:
        req = dict(TableName=table, ConsistentRead=consistent, **kwargs)
        if start is not None:
            req["ExclusiveStartKey"] = start
        resp = client.scan(**req)
        pages += 1
        assert pages < 10_000, "Scan does not terminate"
        items += resp["Items"]
        start = resp.get("LastEvaluatedKey")
        if start is None:
            return items


def query_all(client, table: str, pk: str, consistent: bool, limit: int | None = None) -> list[dict]:
    items = []
    start = None
    while True:
        req = dict(TableName=table, ConsistentRead=consistent, KeyConditionExpression="pk = :p",
                   ExpressionAttributeValues={":p": {"S": pk}})
        if limit:
            req["Limit"] = limit
        if start is not None:
            req["ExclusiveStartKey"] = start
        resp = client.query(**req)
        items += resp["Items"]
        start = resp.get("LastEvaluatedKey")
        if start is None:
            return items


def now() -> float:
    return time.monotonic()


def key_str(item: dict) -> str:
    """A printable, hashable primary key of an item with pk (S) and optional sk (N)."""
    if "sk" in item:
        return f"{item['pk']['S']}#{item['sk']['N']}"
    return item["pk"]["S"]

