"""Replication, leader failover, AZ outage and AZ partition on one shared 6-node cluster.

The tests share the module cluster (each on its own tables); the `healthy` fixture heals faults
and restarts whatever a test killed, before and after every test.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from cluster_helpers import (
    NODE_ID,
    NODE_NAME,
    NODES,
    create_table,
    describe_exc,
    error_code,
    groups_of,
    http_status,
    is_unavailable,
    key_str,
    keys_by_group,
    leader_applied,
    make_client,
    now,
    query_all,
    report,
    retry_unavailable,
    scan_all,
    summarize,
    table_groups,
    unique_name,
    wait_caught_up,
    wait_for,
    wait_leaders,
)
from e2e_helpers import batch_put


def _get(client, table, key, consistent):
    return client.get_item(TableName=table, Key=key, ConsistentRead=consistent).get("Item")


def _pk(s):
    return {"pk": {"S": s}}


# --- (a) ----------------------------------------------------------------------------------------

def test_every_item_readable_via_both_routers(healthy):
    """300 items over 6 partition keys, half written with BatchWriteItem through router1 and half
    with PutItem through router2, are readable through BOTH routers with ConsistentRead true
    (immediately) and false (polled until visible); Query per partition key (paginated) and
    Scan (whole table, paginated with Limit, parallel with TotalSegments=3) return every item
    exactly once through either router."""
    c = healthy
    r1, r2 = c.client("router1"), c.client("router2")
    table = unique_name("replication")
    create_table(r1, table, hash_key=("pk", "S"), range_key=("sk", "N"))
    items = {}
    for p in range(6):
        for s in range(50):
            it = {"pk": {"S": f"p{p}"}, "sk": {"N": str(s)}, "v": {"S": f"value-{p}-{s}"}, "n": {"N": str(p * 100 + s)}}
            items[key_str(it)] = it
    batched = [it for it in items.values() if it["pk"]["S"] in ("p0", "p1", "p2")]
    single = [it for it in items.values() if it["pk"]["S"] in ("p3", "p4", "p5")]
    t0 = now()
    batch_put(r1, table, batched)
    for it in single:
        r2.put_item(TableName=table, Item=it)
    report(f"(a) wrote {len(items)} items (150 batched via router1, 150 PutItem via router2) in {now() - t0:.1f}s")

    keyof = {k: {"pk": it["pk"], "sk": it["sk"]} for k, it in items.items()}
    for rname, r in (("router1", r1), ("router2", r2)):
        for k, it in items.items():
            got = _get(r, table, keyof[k], True)
            assert got == it, f"ConsistentRead GetItem {k} via {rname}: {got!r} != {it!r}"

    for rname, r in (("router1", r1), ("router2", r2)):
        pending = set(items)
        t0 = now()

        def visible():
            for k in list(pending):
                got = _get(r, table, keyof[k], False)
                if got is None:
                    continue
                assert got == items[k], f"eventual GetItem {k} via {rname} returned wrong data: {got!r}"
                pending.discard(k)
            return not pending

        wait_for(visible, 30, f"all {len(items)} items to be visible to eventually consistent GetItem via {rname}",
                 describe=lambda: f"{len(pending)} still missing, e.g. {sorted(pending)[:5]}")
        report(f"(a) eventual GetItem via {rname}: all visible after {now() - t0:.2f}s")

    for rname, r in (("router1", r1), ("router2", r2)):
        for p in range(6):
            want = [items[f"p{p}#{s}"] for s in range(50)]
            got = query_all(r, table, f"p{p}", consistent=True, limit=7)
            assert got == want, f"strong Query p{p} via {rname}: {len(got)} items, expected {len(want)} in sk order"
            wait_for(lambda: query_all(r, table, f"p{p}", consistent=False, limit=7) == want, 30,
                     f"eventual Query p{p} via {rname} to return all 50 items in order exactly once")

    def check_once(got, what):
        counts = collections.Counter(key_str(it) for it in got)
        dups = [k for k, n in counts.items() if n > 1]
        assert not dups, f"{what}: items returned more than once: {dups[:10]}"
        missing = set(items) - set(counts)
        extra = set(counts) - set(items)
        assert not missing and not extra, f"{what}: missing {sorted(missing)[:10]}, unexpected {sorted(extra)[:10]}"
        for it in got:
            assert it == items[key_str(it)], f"{what}: wrong item {it!r}"

    for rname, r in (("router1", r1), ("router2", r2)):
        check_once(scan_all(r, table, True), f"strong Scan via {rname}")
        check_once(scan_all(r, table, True, Limit=13), f"strong Scan Limit=13 via {rname}")
        seg = []
        for s in range(3):
            seg += scan_all(r, table, True, Segment=s, TotalSegments=3, Limit=17)
        check_once(seg, f"parallel Scan TotalSegments=3 via {rname}")

        def eventual_scan_complete():
            got = scan_all(r, table, False, Limit=50)
            if len(got) < len(items):
                return False
            check_once(got, f"eventual Scan via {rname}")
            return True

        wait_for(eventual_scan_complete, 30, f"eventual Scan via {rname} to return all {len(items)} items")


# --- (b) ----------------------------------------------------------------------------------------

def test_shard_leader_sigkill_failover(healthy):
    """SIGKILL the leader of one data shard (found with `tessera-node status`): a new leader is
    elected among the 5 live nodes, writes to that shard succeed again through both routers
    (time from the kill to the first acknowledged write is measured), every acknowledged write
    (before and during the failover) is readable with ConsistentRead; the node restarts and
    catches up."""
    c = healthy
    r1, r2 = c.client("router1"), c.client("router2")
    table = unique_name("failover")
    create_table(r1, table)
    groups = table_groups(c, table)
    probes = keys_by_group(c, r1, table, groups)
    acked = {}  # pk -> item
    for i in range(40):
        it = {"pk": {"S": f"base-{i}"}, "v": {"S": f"b{i}"}}
        (r1 if i % 2 else r2).put_item(TableName=table, Item=it)
        acked[it["pk"]["S"]] = it

    leaders = wait_leaders(c, groups, NODES, 20, f"agreed leaders for {table}")
    target = groups[0]
    victim = NODE_NAME[leaders[target]]
    probe = probes[target]
    report(f"(b) group {target} leader is {victim} (node {leaders[target]}); leaders {leaders}")

    t_kill = now()
    c.kill(victim)
    last_acked_attempt = {}  # probe key -> last acknowledged attempt number (value v)
    attempt = 0

    def write_probe(client):
        nonlocal attempt
        attempt += 1
        client.put_item(TableName=table, Item={"pk": {"S": probe}, "v": {"N": str(attempt)}})
        return attempt

    n, tries, last_err = retry_unavailable(lambda: write_probe(r1), t_kill + 20,
                                           f"write to group {target} via router1 after SIGKILL of its leader {victim}")
    first_write = now() - t_kill
    last_acked_attempt[probe] = n
    report(f"(b) SIGKILL {victim} (leader of group {target}): first acknowledged write to that shard after "
           f"{first_write:.2f}s ({tries} attempts; last error {describe_exc(last_err) if last_err else 'none'})")

    n, _, _ = retry_unavailable(lambda: write_probe(r2), now() + 20, f"write to group {target} via router2")
    last_acked_attempt[probe] = n
    # Every shard takes writes through both routers.
    for gid, key in probes.items():
        if gid == target:
            continue
        for rn, r in (("router1", r1), ("router2", r2)):
            it = {"pk": {"S": key}, "v": {"N": f"{1000 + gid}"}, "via": {"S": rn}}
            retry_unavailable(lambda: r.put_item(TableName=table, Item=it), now() + 20, f"write to group {gid} via {rn}")
            acked[key] = it
    for i in range(40, 60):
        it = {"pk": {"S": f"base-{i}"}, "v": {"S": f"b{i}"}}
        retry_unavailable(lambda: r2.put_item(TableName=table, Item=it), now() + 20, "write via router2")
        acked[it["pk"]["S"]] = it

    live = [n for n in NODES if n != victim]
    new = wait_leaders(c, groups, live, 20, f"a new agreed leader for group {target} among {live}")
    assert new[target] != NODE_ID[victim]
    report(f"(b) new leader of group {target}: {NODE_NAME[new[target]]} (visible in status {now() - t_kill:.2f}s after the kill)")

    for rn, r in (("router1", r1), ("router2", r2)):
        for pk, it in acked.items():
            got = _get(r, table, _pk(pk), True)
            assert got == it, f"acknowledged write {pk} via {rn}: {got!r} != {it!r}"
        got = _get(r, table, _pk(probe), True)
        assert got is not None and int(got["v"]["N"]) >= last_acked_attempt[probe], \
            f"probe {probe}: {got!r}, last acknowledged attempt {last_acked_attempt[probe]}"
        assert int(got["v"]["N"]) <= attempt

    t_restart = now()
    c.start(victim)
    targets = leader_applied(c, groups, live)
    wait_caught_up(c, victim, targets, 30, f"restarted {victim} to catch up on {table}")
    report(f"(b) restarted {victim} caught up in {now() - t_restart:.2f}s")
    it = {"pk": {"S": "after-restart"}, "v": {"S": "x"}}
    retry_unavailable(lambda: r2.put_item(TableName=table, Item=it), now() + 20, "write after restart")
    assert _get(r1, table, _pk("after-restart"), True) == it


# --- (c) ----------------------------------------------------------------------------------------

class Workload:
    """Conditional puts of new keys and conditional version bumps of existing ones through one
    router, sequential, each op retried on 5xx until it is acknowledged (or its deadline). Keeps
    the acknowledged state: key -> (payload, version)."""

    def __init__(self, client, table, op_deadline=30.0):
        self.client = client
        self.table = table
        self.op_deadline = op_deadline
        self.state: dict[str, dict] = {}  # pk -> {"p": payload, "ver": int}
        self.acked_ops = 0
        self.failed_attempts = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.next = 0
        self.rng = random.Random(7)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _read_strong(self, pk):
        def get():
            return self.client.get_item(TableName=self.table, Key=_pk(pk), ConsistentRead=True).get("Item")
        item, _, _ = retry_unavailable(get, now() + self.op_deadline, f"strong read {pk}")
        return item

    def _attempt(self, fn):
        deadline = now() + self.op_deadline
        while True:
            try:
                return fn()
            except ClientError as e:
                if not is_unavailable(e):
                    raise
                self.failed_attempts += 1
            except Exception as e:  # noqa: BLE001
                if not is_unavailable(e):
                    raise
                self.failed_attempts += 1
            if now() > deadline:
                raise AssertionError(f"workload op unavailable for {self.op_deadline}s")
            time.sleep(0.05)

    def put_new(self):
        pk = f"w{self.next}"
        self.next += 1
        payload = f"payload-{pk}"
        item = {"pk": {"S": pk}, "p": {"S": payload}, "ver": {"N": "0"}}
        try:
            self._attempt(lambda: self.client.put_item(TableName=self.table, Item=item,
                                                       ConditionExpression="attribute_not_exists(pk)"))
        except ClientError as e:
            if error_code(e) != "ConditionalCheckFailedException":
                raise
            # An earlier attempt that failed with a 5xx was applied after all: it must be ours.
            got = self._read_strong(pk)
            assert got == item, f"conditional put {pk} failed but the stored item is not ours: {got!r}"
        with self.lock:
            self.state[pk] = {"p": payload, "ver": 0}
            self.acked_ops += 1

    def bump(self):
        with self.lock:
            pk = self.rng.choice(sorted(self.state))
            cur = self.state[pk]["ver"]
        try:
            self._attempt(lambda: self.client.update_item(
                TableName=self.table, Key=_pk(pk), UpdateExpression="SET ver = ver + :one",
                ConditionExpression="ver = :cur",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cur": {"N": str(cur)}}))
        except ClientError as e:
            if error_code(e) != "ConditionalCheckFailedException":
                raise
            got = self._read_strong(pk)
            assert got is not None and int(got["ver"]["N"]) == cur + 1, \
                f"conditional update of {pk} at ver {cur} failed, stored: {got!r} (expected ver {cur + 1} " \
                "from an earlier attempt that failed with 5xx but was applied)"
        with self.lock:
            self.state[pk]["ver"] = cur + 1
            self.acked_ops += 1

    def _run(self):
        try:
            while not self.stop.is_set():
                if len(self.state) < 5 or self.rng.random() < 0.4:
                    self.put_new()
                else:
                    self.bump()
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            self.error = e

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=self.op_deadline + 30)
        assert not self.thread.is_alive(), "workload thread did not stop"
        if self.error is not None:
            raise self.error


def test_az_outage_keeps_every_shard_available(healthy):
    """SIGKILL both nodes of AZ b while a workload of conditional puts and conditional updates
    runs through router1 (AZ a): every shard stays writable and readable (strong and eventual)
    through router1 (time to recovery measured per shard), the workload keeps going, and every
    acknowledged write is readable afterwards with the exact acknowledged version; b1, b2 restart
    and catch up."""
    c = healthy
    r1 = c.client("router1")
    table = unique_name("az-outage")
    create_table(r1, table)
    groups = table_groups(c, table)
    probes = keys_by_group(c, r1, table, groups)

    wl = Workload(c.client("router1"), table).start()
    wait_for(lambda: wl.acked_ops >= 20 or wl.error, 30, "20 acknowledged workload ops before the outage")
    assert wl.error is None, f"workload failed before the outage: {wl.error!r}"
    ops_before = wl.acked_ops
    t_kill = now()
    c.kill_now(["b1", "b2"])

    recovery = {}
    for gid in groups:
        key = probes[gid]
        it = {"pk": {"S": key}, "v": {"S": f"after-outage-{gid}"}}
        retry_unavailable(lambda: r1.put_item(TableName=table, Item=it), t_kill + 30,
                          f"write to group {gid} via router1 with AZ b down")
        recovery[gid] = now() - t_kill
        assert _get(r1, table, _pk(key), True) == it
        wait_for(lambda: _get(r1, table, _pk(key), False) == it, 20,
                 f"eventual read of {key} (group {gid}) via router1 with AZ b down")
    report(f"(c) AZ b (b1, b2) SIGKILLed: every shard writable again via router1 after "
           f"{max(recovery.values()):.2f}s (per group: " + ", ".join(f"g{g} {t:.2f}s" for g, t in recovery.items()) + ")")

    target = wl.acked_ops + 30
    wait_for(lambda: wl.acked_ops >= target or wl.error, 45, "30 more acknowledged workload ops with AZ b down")
    wl.finish()
    report(f"(c) workload: {wl.acked_ops} acknowledged ops ({ops_before} before the kill), "
           f"{wl.failed_attempts} attempts failed with 5xx and were retried, {len(wl.state)} keys")

    live = ["a1", "a2", "c1", "c2"]
    leaders = wait_leaders(c, groups, live, 20, "agreed leaders among a1, a2, c1, c2")
    assert not set(leaders.values()) & {NODE_ID["b1"], NODE_ID["b2"]}

    for pk, st in wl.state.items():
        got = _get(r1, table, _pk(pk), True)
        assert got is not None, f"acknowledged write {pk} is missing"
        assert got["p"]["S"] == st["p"] and int(got["ver"]["N"]) == st["ver"], \
            f"{pk}: stored {got!r}, acknowledged ver {st['ver']}"

    def eventual_ok():
        for pk, st in wl.state.items():
            got = _get(r1, table, _pk(pk), False)
            if got is None or int(got["ver"]["N"]) != st["ver"]:
                return False
        return True

    wait_for(eventual_ok, 30, "eventually consistent reads via router1 to show every acknowledged version")

    t_restart = now()
    c.start_many(["b1", "b2"])
    targets = leader_applied(c, groups, live)
    for n in ("b1", "b2"):
        wait_caught_up(c, n, targets, 60, f"restarted {n} to catch up")
    report(f"(c) b1, b2 restarted and caught up in {now() - t_restart:.2f}s")


# --- (e) ----------------------------------------------------------------------------------------

def _expect_unavailable(fn):
    """Run fn; returns (ok, seconds, outcome). ok means it failed with HTTP 500/503."""
    t0 = now()
    try:
        res = fn()
    except ClientError as e:
        st = http_status(e)
        return st in (500, 503), now() - t0, describe_exc(e)
    except Exception as e:  # noqa: BLE001
        return False, now() - t0, f"no HTTP answer: {e!r}"
    return False, now() - t0, f"SUCCEEDED: {res!r}"


def test_az_partition_minority_cannot_serve(healthy):
    """Cut AZ c off (both directions, fault injection). The majority side (router1, AZ a) keeps
    taking writes and strong reads on every shard; a router that only knows nodes 5 and 6
    (AZ c) can no longer write or read with ConsistentRead (HTTP 500/503 within its budget),
    while the majority keeps writing. After healing, that router succeeds again and sees, for
    every key, exactly the last value the majority acknowledged: no split brain."""
    c = healthy
    r1 = c.client("router1")
    table = unique_name("partition")
    create_table(r1, table)
    groups = table_groups(c, table)
    probes = keys_by_group(c, r1, table, groups)
    keys = list(probes.values()) + [f"k{i}" for i in range(12)]
    last = {}  # key -> last value acknowledged by the majority side
    for k in keys:
        r1.put_item(TableName=table, Item={"pk": {"S": k}, "v": {"S": "init"}})
        last[k] = "init"

    # router3 stands for a client whose network reaches only AZ c: it talks to c1 and c2 only.
    r3 = make_client(c.start_router("router3", "c", ["c1", "c2"], extra_args=["--only-listed-nodes"]))
    # A router in AZ c that knows every node: after healing, its eventually consistent reads
    # (served by c1/c2) must converge on the majority's values.
    r4 = make_client(c.start_router("router4", "c", NODES))
    # Before the partition the AZ-c-only router should work (so later failures are the
    # partition's doing). That it does is asserted by test_router_knowing_only_some_nodes_serves;
    # here a failure is only reported, so the partition checks below still run.
    it = {"pk": {"S": "r3-before"}, "v": {"S": "ok"}}
    r3_before = None
    deadline = now() + 15
    while r3_before is None:
        try:
            r3.put_item(TableName=table, Item=it)
            assert _get(r3, table, _pk("r3-before"), True) == it
            r3_before = "works"
        except ClientError as e:
            if not is_unavailable(e) or now() > deadline:
                r3_before = f"FAILS: {describe_exc(e)}"
    report(f"(e) router3 (--az c, --nodes c1,c2 only) before the partition: {r3_before}")

    t_cut = now()
    c.isolate_az("c")
    try:
        _partitioned_checks(c, r1, r3, table, groups, probes, keys, last, t_cut)
    finally:
        c.heal()
    _after_heal(r1, r4, table, keys, last)


def _partitioned_checks(c, r1, r3, table, groups, probes, keys, last, t_cut):
    """Part of (e) while AZ c is cut off."""

    recovery = {}
    for gid in groups:
        k = probes[gid]
        retry_unavailable(lambda: r1.put_item(TableName=table, Item={"pk": {"S": k}, "v": {"S": "maj-0"}}),
                          t_cut + 30, f"majority write to group {gid} via router1 after cutting AZ c off")
        last[k] = "maj-0"
        recovery[gid] = now() - t_cut
    report(f"(e) AZ c cut off: majority (router1) writes every shard again after {max(recovery.values()):.2f}s")

    majority = ["a1", "a2", "b1", "b2"]
    all_groups = sorted(groups_of(c.status("a1"), data_only=False))
    leaders = wait_leaders(c, all_groups, majority, 30, "agreed leaders in nodes 1-4 for every group")
    assert set(leaders.values()) <= {1, 2, 3, 4}, f"leaders outside the majority side: {leaders}"
    for k in keys:
        retry_unavailable(lambda: r1.put_item(TableName=table, Item={"pk": {"S": k}, "v": {"S": "maj-1"}}),
                          now() + 20, f"majority write {k}")
        last[k] = "maj-1"

    # The minority side: writes and strong reads through router3 fail, one per shard, all in
    # parallel; meanwhile the majority keeps writing.
    majority_errors = []

    def majority_writes():
        for rnd in range(2, 5):
            for k in keys:
                v = f"maj-{rnd}"
                try:
                    r1.put_item(TableName=table, Item={"pk": {"S": k}, "v": {"S": v}})
                    last[k] = v
                except Exception as e:  # noqa: BLE001
                    majority_errors.append(f"{k}={v}: {describe_exc(e)}")

    with ThreadPoolExecutor(max_workers=2 * len(groups) + 1) as ex:
        maj = ex.submit(majority_writes)
        writes = {gid: ex.submit(_expect_unavailable, lambda k=probes[gid]: r3.put_item(
            TableName=table, Item={"pk": {"S": k}, "v": {"S": "minority"}})) for gid in groups}
        reads = {gid: ex.submit(_expect_unavailable, lambda k=probes[gid]: r3.get_item(
            TableName=table, Key=_pk(k), ConsistentRead=True)) for gid in groups}
        maj.result()
        w = {gid: f.result() for gid, f in writes.items()}
        r = {gid: f.result() for gid, f in reads.items()}
    report("(e) minority router3 during the partition: " + "; ".join(
        f"g{gid} write {'5xx' if w[gid][0] else 'NOT 5xx'} in {w[gid][1]:.1f}s, strong read "
        f"{'5xx' if r[gid][0] else 'NOT 5xx'} in {r[gid][1]:.1f}s" for gid in groups))
    assert not majority_errors, f"majority writes failed while the minority was probed: {majority_errors[:5]}"
    bad = {f"write g{gid}": w[gid][2] for gid in groups if not w[gid][0]}
    bad.update({f"strong read g{gid}": r[gid][2] for gid in groups if not r[gid][0]})
    assert not bad, f"the cut-off AZ c served requests it cannot serve without a quorum: {bad}"

    # Directly from status: a node of the cut-off AZ may still believe it leads a group (a leader
    # that lost its quorum), but never in the term the majority side is in.
    majority_status = c.statuses(majority)
    minority_status = c.statuses(["c1", "c2"])
    report("(e) status of c1, c2 while cut off:\n" + summarize(minority_status))
    assert set(minority_status) == {"c1", "c2"}, "c1/c2 stopped answering status"
    maj_leaders = wait_leaders(c, all_groups, majority, 30, "agreed leaders in nodes 1-4 for every group")
    stale = []
    for gid, lid in maj_leaders.items():
        lg = groups_of(majority_status.get(NODE_NAME[lid]) or c.status(NODE_NAME[lid]), data_only=False).get(gid, {})
        maj_term = lg.get("term")
        for n, st in minority_status.items():
            g = groups_of(st, data_only=False).get(gid)
            if g is None or g.get("role") != "leader":
                continue
            if maj_term is None or g.get("term") is None:
                stale.append(f"{n} claims group {gid} but status has no term to compare")
            elif g["term"] >= maj_term:
                stale.append(f"{n} leads group {gid} in term {g['term']} >= the majority leader's term {maj_term}")
    assert not [x for x in stale if "no term" not in x], f"split brain: {stale}"
    if stale:
        report(f"(e) term check skipped: {stale}")



def _after_heal(r1, r4, table, keys, last):
    """Part of (e) after healing: an AZ-c router (r4, which may reach every node) serves strong
    reads and writes again, every key holds exactly the majority's last acknowledged value, and
    the AZ-c replicas converge on it: no split brain. (router3 reaches only c1/c2, so it serves
    again only where they lead; it is not used here.)"""
    t_heal = now()

    def r3_reads():
        try:
            got = r4.get_item(TableName=table, Key=_pk(keys[0]), ConsistentRead=True).get("Item")
        except Exception as e:  # noqa: BLE001
            if is_unavailable(e):
                return False
            raise
        return got is not None and got["v"]["S"] == last[keys[0]]

    wait_for(r3_reads, 40, "an AZ-c router to serve strong reads again after healing")
    report(f"(e) healed: the AZ-c router serves strong reads again after {now() - t_heal:.2f}s")
    for k in keys:
        got, _, _ = retry_unavailable(lambda: _get(r4, table, _pk(k), True), now() + 20, f"strong read {k} via router4")
        assert got is not None and got["v"]["S"] == last[k], \
            f"split brain on {k}: router4 reads {got!r}, the majority's last acknowledged value is {last[k]!r}"
        assert _get(r1, table, _pk(k), True)["v"]["S"] == last[k]
    it = {"pk": {"S": "r3-after"}, "v": {"S": "ok"}}
    retry_unavailable(lambda: r4.put_item(TableName=table, Item=it), now() + 20, "write via router4 after healing")
    assert _get(r1, table, _pk("r3-after"), True) == it

    def minority_replicas_converged():
        return all((_get(r4, table, _pk(k), False) or {}).get("v", {}).get("S") == last[k] for k in keys)

    wait_for(minority_replicas_converged, 30,
             "eventually consistent reads via an AZ-c router (c1/c2 replicas) to show the majority's values")


def test_router_knowing_only_some_nodes_serves(healthy):
    """`tessera-router --nodes` is the list of nodes to start from: a router given only c1 and c2
    (AZ c) on a healthy cluster learns the rest and serves writes and strong reads, even though
    the leaders may be on nodes it was not told about."""
    c = healthy
    r1 = c.client("router1")
    table = unique_name("subset-router")
    create_table(r1, table)
    table_groups(c, table)
    r3 = make_client(c.start_router("router3", "c", ["c1", "c2"]))
    items = [{"pk": {"S": f"s{i}"}, "v": {"S": f"v{i}"}} for i in range(20)]
    t0 = now()
    retry_unavailable(lambda: r3.put_item(TableName=table, Item=items[0]), t0 + 30,
                      "first write via a router that knows only c1, c2")
    report(f"(e') router knowing only c1, c2: first write acknowledged after {now() - t0:.2f}s")
    for it in items[1:]:
        r3.put_item(TableName=table, Item=it)
    for it in items:
        assert _get(r3, table, {"pk": it["pk"]}, True) == it
        assert _get(r1, table, {"pk": it["pk"]}, True) == it
