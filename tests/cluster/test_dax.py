"""The DAX tier on real processes: 6 storage nodes, 2 routers and 3 `tessera-dax` nodes started
with `scripts/cluster up --dax`, reached with boto3 and the AWS CLI.

What DAX promises and these tests check: eventually consistent GetItem/BatchGetItem answered from
the item cache (with negative entries for missing items), Query/Scan from the query cache (not
refreshed by writes), ConsistentRead passed through, write-through so a client sees its own write
on the node it wrote through, TTL expiry, a memory bound, and failover when the primary dies with
no acknowledged write lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest

from cluster_helpers import (
    ACCESS_KEY,
    DAXES,
    REGION,
    ROUTERS,
    SECRET_KEY,
    Cluster,
    create_table,
    describe_exc,
    is_unavailable,
    make_client,
    report,
    unique_name,
    wait_for,
)
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def dax(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster-dax"), faults=False, dax=True)
    try:
        c.up()
        yield c
    finally:
        c.down()


def endpoints(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/cluster/endpoints", timeout=5) as r:
        return json.loads(r.read())


def metrics(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def agreed_primary(c: Cluster, names=DAXES):
    """The DAX node name every listed node reports as primary, or None."""
    seen = set()
    for n in names:
        try:
            seen.add(endpoints(c.url(n))["primary"])
        except OSError:
            return None
    if len(seen) != 1 or None in seen:
        return None
    pid = seen.pop()
    return next((n for n in DAXES if c.proc(n)["id"] == pid), None)


@pytest.fixture
def cluster(dax):
    """The module cluster with every DAX node up and agreeing on a primary."""
    dead = [n for n in DAXES + ROUTERS if not dax.alive(n)]
    if dead:
        dax.start_many(dead)
    wait_for(lambda: agreed_primary(dax), 30, "the DAX nodes to agree on a primary")
    yield dax
    dax.stop_extra_routers()


def item_of(client, table, key, consistent=False):
    return client.get_item(TableName=table, Key=key, ConsistentRead=consistent).get("Item")


def new_table(c: Cluster, hint: str, range_key=None) -> str:
    name = unique_name(hint)
    create_table(c.client("router1"), name, range_key=range_key)
    return name


def test_aws_cli_and_boto3_through_dax(cluster):
    d = cluster.client("dax1")
    name = unique_name("dax-api")
    # Control-plane calls pass through to storage.
    create_table(d, name, range_key=("sk", "N"))
    assert name in d.list_tables()["TableNames"]
    assert d.describe_table(TableName=name)["Table"]["KeySchema"][0]["AttributeName"] == "pk"

    d.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "one"}})
    assert item_of(d, name, {"pk": {"S": "a"}, "sk": {"N": "1"}})["v"] == {"S": "one"}
    got = d.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ProjectionExpression="#v",
                     ExpressionAttributeNames={"#v": "v"})
    assert got["Item"] == {"v": {"S": "one"}}
    out = d.update_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, UpdateExpression="SET n = :n",
                        ExpressionAttributeValues={":n": {"N": "5"}}, ReturnValues="ALL_NEW")
    assert out["Attributes"] == {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "one"}, "n": {"N": "5"}}
    out = d.update_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, UpdateExpression="SET n = :n",
                        ExpressionAttributeValues={":n": {"N": "6"}})
    assert "Attributes" not in out
    assert item_of(d, name, {"pk": {"S": "a"}, "sk": {"N": "1"}})["n"] == {"N": "6"}

    d.batch_write_item(RequestItems={name: [
        {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": str(i)}}}} for i in range(2, 6)]})
    got = d.batch_get_item(RequestItems={name: {"Keys": [{"pk": {"S": "a"}, "sk": {"N": str(i)}} for i in range(1, 7)]}})
    assert sorted(int(i["sk"]["N"]) for i in got["Responses"][name]) == [1, 2, 3, 4, 5]
    # (Strongly consistent: an eventually consistent page read right after the writes may come
    # from a storage replica one heartbeat behind, and DAX would keep that page for its TTL.)
    q = d.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}},
                ConsistentRead=True)
    assert [int(i["sk"]["N"]) for i in q["Items"]] == [1, 2, 3, 4, 5]
    assert d.scan(TableName=name, ConsistentRead=True)["Count"] == 5

    # Errors come back exactly as storage (or the API layer) gives them.
    with pytest.raises(ClientError) as e:
        d.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}}, ConditionExpression="attribute_not_exists(pk)",
                   ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert e.value.response["Item"]["n"] == {"N": "6"}
    with pytest.raises(ClientError) as e:
        d.get_item(TableName=name, Key={"pk": {"S": "a"}})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == "The provided key element does not match the schema"
    with pytest.raises(ClientError) as e:
        d.get_item(TableName=unique_name("missing"), Key={"pk": {"S": "a"}})
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"

    d.delete_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert item_of(d, name, {"pk": {"S": "a"}, "sk": {"N": "1"}}) is None

    # The AWS CLI through another DAX node.
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION=REGION)
    url = cluster.url("dax2")

    def aws(*args):
        p = subprocess.run(["aws", "--endpoint-url", url, "--output", "json", "dynamodb", *args], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else {}

    aws("put-item", "--table-name", name, "--item", json.dumps({"pk": {"S": "cli"}, "sk": {"N": "7"}, "v": {"S": "x"}}))
    got = aws("get-item", "--table-name", name, "--key", json.dumps({"pk": {"S": "cli"}, "sk": {"N": "7"}}))
    assert got["Item"]["v"] == {"S": "x"}
    assert name in aws("list-tables")["TableNames"]


def test_item_cache_hits_misses_and_negative_entries(cluster):
    table = new_table(cluster, "dax-items")
    r = cluster.client("router1")
    url = cluster.url("dax1")
    d = make_client(url)
    key = {"pk": {"S": "k"}}
    r.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"N": "1"}}, )
    wait_for(lambda: item_of(r, table, key) is not None, 10, "the item on the router's eventual read")

    before = metrics(url)
    assert item_of(d, table, key)["v"] == {"N": "1"}
    assert item_of(d, table, key)["v"] == {"N": "1"}
    after = metrics(url)
    assert after["dax_item_cache_misses_total"] - before["dax_item_cache_misses_total"] == 1
    assert after["dax_item_cache_hits_total"] - before["dax_item_cache_hits_total"] == 1

    # A write that bypasses DAX is not seen by cached eventually consistent reads (DAX
    # semantics), but a strongly consistent read passes through and sees it.
    r.put_item(TableName=table, Item={"pk": {"S": "k"}, "v": {"N": "2"}})
    assert item_of(d, table, key)["v"] == {"N": "1"}
    assert item_of(d, table, key, consistent=True)["v"] == {"N": "2"}

    # A missing item is cached as missing.
    missing = {"pk": {"S": "later"}}
    assert item_of(d, table, missing) is None
    r.put_item(TableName=table, Item={"pk": {"S": "later"}})
    before = metrics(url)
    assert item_of(d, table, missing) is None
    assert metrics(url)["dax_item_cache_negative_hits_total"] - before["dax_item_cache_negative_hits_total"] == 1
    # ...until a write through DAX replaces the entry.
    d.put_item(TableName=table, Item={"pk": {"S": "later"}, "v": {"S": "via dax"}})
    assert item_of(d, table, missing)["v"] == {"S": "via dax"}


def test_read_your_writes_through_every_node(cluster):
    table = new_table(cluster, "dax-ryw")
    clients = {n: cluster.client(n) for n in DAXES}
    for name, d in clients.items():
        key = {"pk": {"S": f"ryw-{name}"}}
        for i in range(10):
            d.put_item(TableName=table, Item={**key, "v": {"N": str(i)}})
            assert item_of(d, table, key)["v"] == {"N": str(i)}, f"PutItem via {name}"
        # UPDATED_OLD does not give the new image: the entry is invalidated, and re-read.
        out = d.update_item(TableName=table, Key=key, UpdateExpression="ADD v :one",
                            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_OLD")
        assert out["Attributes"] == {"v": {"N": "9"}}
        assert item_of(d, table, key)["v"] == {"N": "10"}, f"UpdateItem via {name}"
        d.update_item(TableName=table, Key=key, UpdateExpression="ADD v :one",
                      ExpressionAttributeValues={":one": {"N": "1"}})
        assert item_of(d, table, key)["v"] == {"N": "11"}, f"UpdateItem (NONE) via {name}"
        d.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {**key, "v": {"N": "12"}}}}]})
        assert item_of(d, table, key)["v"] == {"N": "12"}, f"BatchWriteItem via {name}"
        d.delete_item(TableName=table, Key=key)
        assert item_of(d, table, key) is None, f"DeleteItem via {name}"
        # The other nodes get the same update through the primary's log soon after, even when
        # they hold the key in their cache (here: cached as missing).
        for other, o in clients.items():
            wait_for(lambda: item_of(o, table, key) is None, 5, f"{other} to see the delete made through {name}")
        d.put_item(TableName=table, Item={**key, "v": {"S": "final"}})
        for other, o in clients.items():
            wait_for(lambda: (item_of(o, table, key) or {}).get("v") == {"S": "final"}, 5,
                     f"{other} to see the write made through {name}")
    # Writes at replicas were relayed to the primary.
    forwarded = sum(metrics(cluster.url(n))["dax_forwarded_writes_total"] for n in DAXES)
    assert forwarded > 0


def test_query_cache_is_not_refreshed_by_writes(cluster):
    table = new_table(cluster, "dax-query", range_key=("sk", "N"))
    url = cluster.url("dax2")
    d = make_client(url)
    for i in range(3):
        d.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}})
    args = dict(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    wait_for(lambda: d.query(**args, ConsistentRead=True)["Count"] == 3, 10, "three items")
    # Eventually consistent reads in a cluster may lag a write, and DAX keeps whatever page it
    # got: each attempt is a different request (another start key), until one page has all three.
    attempt = iter(range(1, 10_000))
    start = {}

    def full_page():
        start["key"] = {"pk": {"S": "p"}, "sk": {"N": str(-next(attempt))}}
        q = d.query(**args, ExclusiveStartKey=start["key"])
        return q if q["Count"] == 3 else None

    first = wait_for(full_page, 10, "a full page")
    d.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"N": "9"}})
    before = metrics(url)
    again = d.query(**args, ExclusiveStartKey=start["key"])
    assert again["Items"] == first["Items"]
    assert metrics(url)["dax_query_cache_hits_total"] - before["dax_query_cache_hits_total"] == 1
    assert d.query(**args, ConsistentRead=True)["Count"] == 4
    s1 = d.scan(TableName=table, Limit=2)
    s2 = d.scan(TableName=table, Limit=2)
    assert s1["Items"] == s2["Items"]
    assert metrics(url)["dax_scan_cache_hits_total"] >= 1


def test_item_and_query_ttl(cluster):
    ttl = 2.0
    url = cluster.start_dax_standalone("dax-ttl", ["--item-ttl-ms", str(int(ttl * 1000)),
                                                   "--query-ttl-ms", str(int(ttl * 1000))])
    d = make_client(url)
    r = cluster.client("router1")
    table = new_table(cluster, "dax-ttl")
    key = {"pk": {"S": "t"}}
    r.put_item(TableName=table, Item={**key, "v": {"N": "1"}})
    wait_for(lambda: item_of(d, table, key, consistent=True) is not None, 10, "the item")
    wait_for(lambda: item_of(d, table, key) is not None, 10, "the item cached")
    filled = time.monotonic()
    r.put_item(TableName=table, Item={**key, "v": {"N": "2"}})
    seen = item_of(d, table, key)["v"]
    if time.monotonic() - filled < ttl * 0.8:
        assert seen == {"N": "1"}, "served from the cache before its TTL ends"
    wait_for(lambda: item_of(d, table, key)["v"] == {"N": "2"}, 15, "the entry to expire and be re-read")
    assert time.monotonic() - filled >= ttl, "the old value disappeared before the TTL"
    assert metrics(url)["dax_expirations_total"] >= 1
    report(f"dax: item TTL {ttl:.0f}s; new value seen after {time.monotonic() - filled:.1f}s")


def test_memory_bound_under_a_large_working_set(cluster):
    limit = 300_000
    url = cluster.start_dax_standalone("dax-small", ["--cache-bytes", str(limit)])
    d = make_client(url)
    r = cluster.client("router1")
    table = new_table(cluster, "dax-mem")
    blob = "x" * 2000
    n = 400  # ~800 KB of items, more than twice the bound
    for i in range(0, n, 25):
        r.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"pk": {"S": f"k{j}"}, "v": {"S": blob}, "j": {"N": str(j)}}}}
            for j in range(i, min(i + 25, n))]})
    peak = 0
    for rnd in range(2):
        for j in range(n):
            it = item_of(d, table, {"pk": {"S": f"k{j}"}})
            if it is None:  # eventual reads may lag the batch writes briefly
                it = wait_for(lambda: item_of(d, table, {"pk": {"S": f"k{j}"}}, consistent=True), 10, f"k{j}")
            assert it["j"] == {"N": str(j)}
            if j % 50 == 0:
                m = metrics(url)
                peak = max(peak, m["dax_estimated_db_size_bytes"])
                assert m["dax_estimated_db_size_bytes"] <= limit
    m = metrics(url)
    assert m["dax_estimated_db_size_bytes"] <= limit
    assert m["dax_evictions_total"] > 0 and m["dax_evicted_bytes_total"] > 0
    report(f"dax: {n} items of 2 KB through a {limit // 1000} KB cache: peak {int(peak)} bytes, "
           f"{int(m['dax_evictions_total'])} evictions")


def test_primary_kill_fails_over_without_losing_writes(cluster):
    table = new_table(cluster, "dax-failover")
    clients = {n: cluster.client(n) for n in DAXES}
    primary = agreed_primary(cluster)
    old_session = endpoints(cluster.url(primary))["leaderSessionId"]
    acked: dict[str, tuple[int, float]] = {}
    started: dict[str, float] = {}
    errors: list[str] = []
    stop = threading.Event()

    def writer():
        order = [n for n in DAXES]  # a client knowing the cluster's node list
        i, at = 0, 0
        while not stop.is_set():
            key = f"w{i}"
            started[key] = time.monotonic()
            for attempt in range(200):
                node = order[at % len(order)]
                try:
                    clients[node].put_item(TableName=table, Item={"pk": {"S": key}, "n": {"N": str(i)}})
                    acked[key] = (i, time.monotonic())
                    break
                except Exception as e:  # noqa: BLE001 - classified below
                    if not is_unavailable(e):
                        errors.append(describe_exc(e))
                        return
                    at += 1  # this node is down or has no primary: the next one
                    time.sleep(0.05)
            i += 1

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    wait_for(lambda: len(acked) >= 30, 30, "writes through DAX before the kill")
    cluster.kill(primary)  # returns once the process is gone
    k = time.monotonic()
    wait_for(lambda: sum(1 for _, at in acked.values() if at > k) >= 30, 60,
             "writes to continue through the surviving DAX nodes", describe=lambda: errors[-3:])
    stop.set()
    t.join(timeout=60)
    assert not errors, errors
    survivors = [n for n in DAXES if n != primary]
    new_primary = wait_for(lambda: agreed_primary(cluster, survivors), 30, "a new primary")
    assert new_primary != primary
    assert endpoints(cluster.url(new_primary))["leaderSessionId"] > old_session
    # Failover time: from the kill to the first acknowledgement of a write begun after it.
    first_after = min(at for key, (_, at) in acked.items() if started[key] > k)
    report(f"dax: primary {primary} SIGKILLed; first new write acknowledged after {first_after - k:.2f}s "
           f"(new primary {new_primary}); {len(acked)} writes acknowledged")

    # No acknowledged write is lost: storage has every one, and DAX reads see them.
    r = cluster.client("router1")
    for key, (i, _) in acked.items():
        assert item_of(r, table, {"pk": {"S": key}}, consistent=True) == {"pk": {"S": key}, "n": {"N": str(i)}}
    for n in survivors:
        for key, (i, _) in list(acked.items())[-20:]:
            wait_for(lambda: item_of(clients[n], table, {"pk": {"S": key}}) == {"pk": {"S": key}, "n": {"N": str(i)}},
                     5, f"{key} through {n}")

    # The killed node comes back as a replica of the new primary and serves the latest data.
    cluster.start(primary)
    wait_for(lambda: agreed_primary(cluster) == new_primary, 30, "the restarted node to follow the new primary")
    back = make_client(cluster.url(primary))
    for key, (i, _) in list(acked.items())[-5:]:
        assert item_of(back, table, {"pk": {"S": key}}) == {"pk": {"S": key}, "n": {"N": str(i)}}


def test_every_dax_node_restarting_at_once_elects_a_primary_again(cluster):
    """The DAX group's log and vote are durable: after all three nodes are killed and started
    together, they elect a primary again and writes through DAX work."""
    table = new_table(cluster, "dax-restart")
    d = cluster.client("dax1")
    d.put_item(TableName=table, Item={"pk": {"S": "before"}})
    old = endpoints(cluster.url("dax1"))["leaderSessionId"]
    cluster.kill_now(DAXES)
    t0 = time.monotonic()
    cluster.start_many(DAXES)
    primary = wait_for(lambda: agreed_primary(cluster), 30, "a primary after restarting every DAX node")
    # (A node that led before may resume leading in its durable term.)
    assert endpoints(cluster.url(primary))["leaderSessionId"] >= old
    for n in DAXES:
        c = cluster.client(n)
        wait_for(lambda: c.put_item(TableName=table, Item={"pk": {"S": f"after-{n}"}}) is not None, 30,
                 f"a write through {n}")
        assert item_of(c, table, {"pk": {"S": f"after-{n}"}}) == {"pk": {"S": f"after-{n}"}}
    report(f"dax: all 3 nodes killed and restarted; writes through every node after {time.monotonic() - t0:.1f}s")
