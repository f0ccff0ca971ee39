"""Concurrent clients: atomic counters, conditional-put races, and mixed traffic on one table
from several threads (bounded: a few hundred requests to 127.0.0.1)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from e2e_helpers import make_client

THREADS = 8


def test_atomic_add_counter(endpoint, make_table):
    """8 threads x 25 UpdateItem 'ADD n :one' on one item: the counter ends at exactly 200 (no
    lost updates), and every UPDATED_NEW value returned is distinct."""
    t = make_table()
    seen = []
    lock = threading.Lock()

    def worker(_):
        c = make_client(endpoint)
        mine = []
        for _ in range(25):
            r = c.update_item(TableName=t, Key={"pk": {"S": "ctr"}}, UpdateExpression="ADD n :one",
                              ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
            mine.append(int(r["Attributes"]["n"]["N"]))
        with lock:
            seen.extend(mine)

    with ThreadPoolExecutor(THREADS) as ex:
        list(ex.map(worker, range(THREADS)))
    c = make_client(endpoint)
    assert c.get_item(TableName=t, Key={"pk": {"S": "ctr"}}, ConsistentRead=True)["Item"]["n"] == {"N": "200"}
    assert sorted(seen) == list(range(1, 201))


def test_conditional_put_race_has_one_winner(endpoint, make_table):
    """For each of 10 keys, 8 threads race a PutItem with attribute_not_exists(pk): exactly one
    wins per key, the others get ConditionalCheckFailedException, and the stored item is the
    winner's."""
    t = make_table()
    barrier = threading.Barrier(THREADS)
    results = {}
    lock = threading.Lock()

    def worker(wid):
        c = make_client(endpoint)
        for k in range(10):
            if k == 0:
                barrier.wait()
            try:
                c.put_item(TableName=t, Item={"pk": {"S": f"k{k}"}, "owner": {"N": str(wid)}},
                           ConditionExpression="attribute_not_exists(pk)")
                outcome = "won"
            except ClientError as e:
                assert e.response["Error"]["Code"] == "ConditionalCheckFailedException", e.response
                outcome = "lost"
            with lock:
                results.setdefault(k, []).append((wid, outcome))

    with ThreadPoolExecutor(THREADS) as ex:
        list(ex.map(worker, range(THREADS)))
    c = make_client(endpoint)
    for k in range(10):
        winners = [w for w, o in results[k] if o == "won"]
        assert len(winners) == 1, (k, results[k])
        stored = c.get_item(TableName=t, Key={"pk": {"S": f"k{k}"}}, ConsistentRead=True)["Item"]
        assert stored["owner"] == {"N": str(winners[0])}


def test_optimistic_locking_increments(endpoint, make_table):
    """4 threads each do 10 read-modify-write cycles guarded by 'ver = :old' and retry on
    ConditionalCheckFailed: the version ends at exactly 40."""
    t = make_table()
    c0 = make_client(endpoint)
    c0.put_item(TableName=t, Item={"pk": {"S": "doc"}, "ver": {"N": "0"}})

    def worker(_):
        c = make_client(endpoint)
        done = 0
        attempts = 0
        while done < 10:
            attempts += 1
            assert attempts < 1000
            cur = c.get_item(TableName=t, Key={"pk": {"S": "doc"}}, ConsistentRead=True)["Item"]["ver"]["N"]
            try:
                c.put_item(TableName=t, Item={"pk": {"S": "doc"}, "ver": {"N": str(int(cur) + 1)}},
                           ConditionExpression="ver = :old", ExpressionAttributeValues={":old": {"N": cur}})
                done += 1
            except ClientError as e:
                assert e.response["Error"]["Code"] == "ConditionalCheckFailedException"

    with ThreadPoolExecutor(4) as ex:
        list(ex.map(worker, range(4)))
    assert c0.get_item(TableName=t, Key={"pk": {"S": "doc"}}, ConsistentRead=True)["Item"]["ver"] == {"N": "40"}


def test_concurrent_batch_writes_and_reads(endpoint, make_table):
    """8 threads each batch-write 100 distinct items while others scan: afterwards a scan sees
    all 800 items exactly once."""
    t = make_table(range_key=("sk", "N"))

    def writer(wid):
        c = make_client(endpoint)
        for start in range(0, 100, 25):
            r = c.batch_write_item(RequestItems={t: [
                {"PutRequest": {"Item": {"pk": {"S": f"w{wid}"}, "sk": {"N": str(i)}}}} for i in range(start, start + 25)
            ]})
            assert r["UnprocessedItems"] == {}
        c.scan(TableName=t, Limit=50)

    with ThreadPoolExecutor(THREADS) as ex:
        list(ex.map(writer, range(THREADS)))
    c = make_client(endpoint)
    seen, kwargs = [], {}
    while True:
        r = c.scan(TableName=t, **kwargs)
        seen += [(it["pk"]["S"], int(it["sk"]["N"])) for it in r["Items"]]
        if "LastEvaluatedKey" not in r:
            break
        kwargs = {"ExclusiveStartKey": r["LastEvaluatedKey"]}
    assert sorted(seen) == sorted((f"w{w}", i) for w in range(THREADS) for i in range(100))
