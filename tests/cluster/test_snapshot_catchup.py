"""A node that misses enough writes that the others compact their logs catches up after a
restart (by snapshot if the log it needs is gone), and then serves the latest data to
eventually consistent reads in its AZ."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cluster_helpers import (
    NODE_NAME,
    NODES,
    batch_get,
    create_table,
    groups_of,
    leader_applied,
    now,
    num,
    report,
    scan_all,
    summarize,
    table_groups,
    unique_name,
    wait_caught_up,
    wait_for,
    wait_leaders,
)
from e2e_helpers import batch_put

VICTIM = "a2"  # AZ a, like router1


def test_restarted_node_catches_up_after_log_compaction(fresh_cluster):
    """With --snapshot-logs 200: SIGKILL a2, write 2000 small items in batches plus overwrites
    through router1 until the leader of every shard reports a snapshot, restart a2 and
    wait until every data group on it has last_applied >= what the leaders had after the writes;
    then eventually consistent BatchGetItem, GetItem and Scan through router1 (AZ a, whose
    replicas are a1 and a2) return exactly the latest data."""
    c = fresh_cluster(node_args="--snapshot-logs 200")
    r1 = c.client("router1")
    table = unique_name("catchup")
    create_table(r1, table)
    groups = table_groups(c, table)
    expected = {}
    base = [{"pk": {"S": f"k{i:05d}"}, "v": {"S": f"gen0-{i}"}} for i in range(100)]
    batch_put(r1, table, base)
    expected.update({it["pk"]["S"]: it for it in base})
    before = groups_of(c.status(VICTIM), table)
    c.kill(VICTIM)

    t0 = now()
    live = [n for n in NODES if n != VICTIM]
    # 2000 small items in batches of 8 from 4 writers (each batch is one log entry per shard it
    # touches, so ~250 batches give every shard more than 200 entries), then overwrites until
    # every shard's leader reports a snapshot.
    items = [{"pk": {"S": f"k{i:05d}"}, "v": {"S": f"gen1-{i}"}, "pad": {"S": "x" * 20}} for i in range(2000)]
    clients = [c.client("router1") for _ in range(4)]
    chunks = [items[i : i + 8] for i in range(0, len(items), 8)]
    with ThreadPoolExecutor(max_workers=4) as ex:
        list(ex.map(lambda ij: batch_put(clients[ij[0] % 4], table, ij[1]), enumerate(chunks)))
    expected.update({it["pk"]["S"]: it for it in items})
    leaders = wait_leaders(c, groups, live, 20, "agreed leaders among the live nodes")

    def leaders_snapshotted():
        st = c.statuses(live)
        return all(NODE_NAME[l] in st and groups_of(st[NODE_NAME[l]], table)[g].get("snapshot") is not None
                   for g, l in leaders.items())

    overwrites = 0
    while not leaders_snapshotted() and overwrites < 2000:
        batch = []
        for j in range(100):
            i = (overwrites + j) * 7 % 2000
            batch.append({"pk": {"S": f"k{i:05d}"}, "v": {"S": f"gen2-{overwrites + j}"}})
        with ThreadPoolExecutor(max_workers=4) as ex:
            list(ex.map(lambda it: clients[hash(it["pk"]["S"]) % 4].put_item(TableName=table, Item=it), batch))
        expected.update({it["pk"]["S"]: it for it in batch})
        overwrites += len(batch)
    report(f"(d) wrote 2000 items in {len(chunks)} batches + {overwrites} PutItem overwrites with {VICTIM} down "
           f"in {now() - t0:.1f}s")
    wait_for(leaders_snapshotted, 30, "every data group's leader to report a snapshot (--snapshot-logs 200)",
             describe=lambda: summarize(c.statuses(live)))
    targets = leader_applied(c, groups, live)
    st = c.statuses(live)
    report(f"(d) {VICTIM} last_log at kill: " + ", ".join(f"g{g} {num(before[g].get('last_log'))}" for g in groups)
           + "; after the writes: " + "; ".join(
               f"g{g} leader applied {targets[g]}, purged on live nodes "
               f"{sorted({num(groups_of(s, table)[g].get('purged')) for s in st.values()})}" for g in groups))

    t_restart = now()
    c.start(VICTIM)
    s = wait_caught_up(c, VICTIM, targets, 90, f"restarted {VICTIM} to reach the leaders' last_applied on {table}")
    caught = now() - t_restart
    mine = groups_of(s, table)
    for g in groups:
        assert num(mine[g].get("last_applied")) >= targets[g]
        # If the leader's log no longer holds what a2 missed, a2 can only have caught up by
        # installing a snapshot.
        leader_purged = num(groups_of(st[NODE_NAME[leaders[g]]], table)[g].get("purged"))
        if leader_purged > num(before[g].get("last_log")):
            assert mine[g].get("snapshot") is not None, \
                f"group {g}: leader purged its log up to {leader_purged} > {VICTIM}'s last_log " \
                f"{before[g].get('last_log')}, yet {VICTIM} reports no snapshot"
    report(f"(d) {VICTIM} caught up {caught:.2f}s after restart; its groups: " + ", ".join(
        f"g{g} applied {mine[g].get('last_applied')} snapshot {mine[g].get('snapshot')} role {mine[g].get('role')}"
        for g in groups))
    # The other AZ-a replica must be current too before eventual reads are compared exactly.
    wait_caught_up(c, "a1", targets, 30, "a1 to reach the leaders' last_applied")

    keys = [{"pk": {"S": k}} for k in sorted(expected)]
    got = batch_get(r1, table, keys, consistent=False)
    by_key = {it["pk"]["S"]: it for it in got}
    assert len(got) == len(by_key) == len(expected), f"eventual BatchGetItem returned {len(got)} items, expected {len(expected)}"
    wrong = [k for k, it in expected.items() if by_key.get(k) != it]
    assert not wrong, f"eventual reads via router1 return stale/wrong data for {len(wrong)} keys, e.g. " \
                      f"{[(k, by_key.get(k)) for k in wrong[:3]]}"
    for i in range(0, 2000, 20):
        k = f"k{i:05d}"
        assert r1.get_item(TableName=table, Key={"pk": {"S": k}}).get("Item") == expected[k]
    scanned = scan_all(r1, table, False)
    assert len(scanned) == len(expected)
    assert {it["pk"]["S"]: it for it in scanned} == expected
