"""SIGKILL of every node at once, in the middle of a write burst, loses no acknowledged write."""

from __future__ import annotations

import threading

from cluster_helpers import (
    NODES,
    batch_get,
    create_table,
    describe_exc,
    is_unavailable,
    now,
    replica_differences,
    report,
    retry_unavailable,
    unique_name,
    wait_for,
)


def test_sigkill_all_nodes_loses_no_acknowledged_write(fresh_cluster):
    """Four writers (PutItem, UpdateItem and BatchWriteItem, two per router) run a burst; once 300
    writes are acknowledged, all 6 nodes get SIGKILL at the same moment (writers still running).
    After restarting all of them, every acknowledged write is readable with ConsistentRead
    through both routers, with exactly the acknowledged contents, and the six replicas of every
    shard hold the same contents (a commit the kill cut short was completed alike everywhere)."""
    c = fresh_cluster()
    r1 = c.client("router1")
    table = unique_name("full-restart")
    create_table(r1, table)

    acked: dict[str, dict] = {}
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    uncertain: set[str] = set()  # updated keys whose last update failed with 5xx (may or may not apply)

    def writer(wid: int, router: str):
        cl = c.client(router)
        i = 0
        last_put = None  # pk of this writer's last acknowledged PutItem
        while not stop.is_set():
            i += 1
            op = "batch" if i % 3 == 0 else "put" if i % 3 == 1 else "update"
            if op == "update" and last_put is None:
                continue
            pk = last_put
            try:
                if op == "batch":
                    batch = [{"pk": {"S": f"w{wid}-b{i}-{j}"}, "v": {"S": f"batch-{wid}-{i}-{j}"}} for j in range(10)]
                    resp = cl.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": it}} for it in batch]})
                    unprocessed = {it["PutRequest"]["Item"]["pk"]["S"]
                                   for it in resp.get("UnprocessedItems", {}).get(table, [])}
                    with lock:
                        for it in batch:
                            if it["pk"]["S"] not in unprocessed:
                                acked[it["pk"]["S"]] = it
                elif op == "put":
                    it = {"pk": {"S": f"w{wid}-p{i}"}, "v": {"S": f"put-{wid}-{i}"}, "n": {"N": "1"}}
                    last_put = None
                    cl.put_item(TableName=table, Item=it)
                    with lock:
                        acked[it["pk"]["S"]] = it
                    last_put = it["pk"]["S"]
                else:
                    last_put = None  # one update per key
                    resp = cl.update_item(TableName=table, Key={"pk": {"S": pk}},
                                          UpdateExpression="SET n = n + :one, u = :u",
                                          ExpressionAttributeValues={":one": {"N": "1"}, ":u": {"S": f"upd-{i}"}},
                                          ReturnValues="ALL_NEW")
                    with lock:
                        acked[pk] = resp["Attributes"]
            except Exception as e:  # noqa: BLE001
                if op == "update":
                    with lock:
                        uncertain.add(pk)
                if stop.is_set():
                    return
                if is_unavailable(e):
                    continue
                errors.append(f"writer {wid} {op}: {describe_exc(e)}")
                return

    threads = [threading.Thread(target=writer, args=(w, "router1" if w % 2 == 0 else "router2"), daemon=True)
               for w in range(4)]
    t0 = now()
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 300 or errors, 60, "300 acknowledged writes")
    assert not errors, errors
    burst = now() - t0
    c.kill_now(NODES)
    with lock:
        snapshot = dict(acked)
    stop.set()
    report(f"(f) burst: {len(snapshot)} acknowledged writes in {burst:.1f}s, then SIGKILL of all 6 nodes")

    # Restart right away; writers blocked in a request notice the stop flag when it returns.
    # Writes acknowledged after the snapshot (in flight at the kill, or served after the restart)
    # are checked too.
    t_restart = now()
    c.start_many(NODES)
    probe = {"pk": {"S": sorted(snapshot)[0]}}
    retry_unavailable(lambda: r1.get_item(TableName=table, Key=probe, ConsistentRead=True), now() + 60,
                      "a strong read via router1 after restarting all nodes")
    report(f"(f) all 6 nodes restarted; first strong read answered {now() - t_restart:.2f}s after the restart began")
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "writer threads did not stop"
    with lock:
        final = dict(acked)

    assert r1.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
    keys = [{"pk": {"S": k}} for k in sorted(final)]
    for rn in ("router1", "router2"):
        cl = c.client(rn)
        got, _, _ = retry_unavailable(lambda: batch_get(cl, table, keys, consistent=True), now() + 30,
                                      f"strong BatchGetItem via {rn}")
        by_key = {it["pk"]["S"]: it for it in got}
        missing = [k for k in final if k not in by_key]
        assert not missing, f"{len(missing)} acknowledged writes lost after SIGKILL of all nodes (via {rn}), e.g. {missing[:5]}"
        # A key whose later update failed with 5xx may or may not carry that update.
        wrong = [(k, by_key[k], final[k]) for k in final
                 if by_key[k] != final[k] and not (k in uncertain and by_key[k]["v"] == final[k]["v"])]
        assert not wrong, f"{len(wrong)} items differ from the acknowledged contents (via {rn}), e.g. {wrong[:3]}"
        for k in sorted(final)[:50]:
            got = cl.get_item(TableName=table, Key={"pk": {"S": k}}, ConsistentRead=True).get("Item")
            assert got == by_key[k]

    last: dict[str, str | None] = {}

    def replicas_identical():
        last["diff"] = replica_differences(c, table)
        return last["diff"] is None

    wait_for(replicas_identical, 60, "the 6 replicas of every shard at one applied index with the same contents",
             describe=lambda: last.get("diff"))
    report("(f) every shard's 6 replicas hold the same contents")
