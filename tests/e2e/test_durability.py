"""Process lifecycle: clean SIGTERM shutdown, restart on the same data dir, and SIGKILL losing
no acknowledged write (tables and items come back)."""

from __future__ import annotations

import pytest

from e2e_helpers import batch_put, create_table, unique_name

pytestmark = pytest.mark.slow


def _write_workload(client, table_hash, table_comp):
    """Acknowledged writes of every kind; returns the expected final contents of both tables."""
    expected_hash = {}
    for i in range(50):
        item = {"pk": {"S": f"put{i}"}, "n": {"N": str(i)}, "l": {"L": [{"S": "x"}, {"N": "1.5"}]}}
        client.put_item(TableName=table_hash, Item=item)
        expected_hash[f"put{i}"] = item
    batch = [{"pk": {"S": f"batch{i}"}, "blob": {"B": bytes([i % 256]) * 10}} for i in range(100)]
    batch_put(client, table_hash, batch)
    expected_hash.update({it["pk"]["S"]: it for it in batch})
    for i in range(0, 50, 5):
        client.update_item(TableName=table_hash, Key={"pk": {"S": f"put{i}"}},
                           UpdateExpression="SET n = n + :one, tag = :t",
                           ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"SS": ["u"]}})
        expected_hash[f"put{i}"] = {**expected_hash[f"put{i}"], "n": {"N": str(i + 1)}, "tag": {"SS": ["u"]}}
    for i in range(0, 100, 10):
        client.delete_item(TableName=table_hash, Key={"pk": {"S": f"batch{i}"}})
        del expected_hash[f"batch{i}"]
    client.batch_write_item(RequestItems={table_hash: [
        {"DeleteRequest": {"Key": {"pk": {"S": f"batch{i}"}}}} for i in range(1, 100, 10)
    ]})
    for i in range(1, 100, 10):
        del expected_hash[f"batch{i}"]

    expected_comp = {}
    for p in range(3):
        items = [{"pk": {"S": f"p{p}"}, "sk": {"N": str(s)}, "v": {"S": f"{p}-{s}"}} for s in range(40)]
        batch_put(client, table_comp, items)
        expected_comp.update({(f"p{p}", str(s)): it for s, it in enumerate(items)})
    return expected_hash, expected_comp


def _check_contents(client, table_hash, table_comp, expected_hash, expected_comp):
    items = []
    kwargs = {}
    while True:
        resp = client.scan(TableName=table_hash, ConsistentRead=True, **kwargs)
        items += resp["Items"]
        if "LastEvaluatedKey" not in resp:
            break
        kwargs = {"ExclusiveStartKey": resp["LastEvaluatedKey"]}
    assert {it["pk"]["S"]: it for it in items} == expected_hash
    assert len(items) == len(expected_hash)
    for pk in ("put0", "put7", "batch5"):
        assert client.get_item(TableName=table_hash, Key={"pk": {"S": pk}}, ConsistentRead=True)["Item"] == expected_hash[pk]
    for p in range(3):
        resp = client.query(TableName=table_comp, KeyConditionExpression="pk = :p",
                            ExpressionAttributeValues={":p": {"S": f"p{p}"}})
        assert resp["Items"] == [expected_comp[(f"p{p}", str(s))] for s in range(40)]


def _check_tables(client, table_hash, table_comp):
    names = client.list_tables()["TableNames"]
    assert table_hash in names and table_comp in names
    t = client.describe_table(TableName=table_comp)["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert t["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in t["AttributeDefinitions"]) == [("pk", "S"), ("sk", "N")]


def test_sigkill_loses_no_acknowledged_write(start_server):
    """Write to two tables (puts, batch writes, updates, deletes, a table deletion), SIGKILL
    the server, restart it on the same data dir: the tables (and their schemas) and every
    acknowledged write are there, the deleted table stays deleted, and the server keeps
    accepting writes."""
    srv = start_server()
    client = srv.client()
    th, tc, tgone = unique_name("dur-hash"), unique_name("dur-comp"), unique_name("dur-gone")
    create_table(client, th)
    create_table(client, tc, range_key=("sk", "N"))
    create_table(client, tgone)
    client.put_item(TableName=tgone, Item={"pk": {"S": "x"}})
    client.delete_table(TableName=tgone)
    exp_h, exp_c = _write_workload(client, th, tc)

    assert srv.kill() == -9
    srv.start()
    client = srv.client()
    _check_tables(client, th, tc)
    assert tgone not in client.list_tables()["TableNames"]
    _check_contents(client, th, tc, exp_h, exp_c)

    # Writes after recovery are durable across a second crash too.
    client.put_item(TableName=th, Item={"pk": {"S": "after"}})
    exp_h["after"] = {"pk": {"S": "after"}}
    srv.kill()
    srv.start()
    _check_contents(srv.client(), th, tc, exp_h, exp_c)


def test_sigterm_clean_shutdown_and_restart(start_server):
    """SIGTERM stops the server promptly with exit status 0; a restart on the same data dir
    serves the same tables and items."""
    srv = start_server()
    client = srv.client()
    t = unique_name("term")
    create_table(client, t, range_key=("sk", "N"))
    batch_put(client, t, [{"pk": {"S": "a"}, "sk": {"N": str(i)}} for i in range(30)])
    assert srv.stop() == 0
    srv.start()
    resp = srv.client().query(TableName=t, KeyConditionExpression="pk = :p",
                              ExpressionAttributeValues={":p": {"S": "a"}}, Select="COUNT")
    assert resp["Count"] == 30


def test_in_memory_mode(start_server):
    """`--in-memory` serves the API without a data dir, and its data does not outlive the
    process."""
    srv = start_server(in_memory=True)
    client = srv.client()
    t = unique_name("mem")
    create_table(client, t)
    client.put_item(TableName=t, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    assert client.get_item(TableName=t, Key={"pk": {"S": "a"}})["Item"]["v"] == {"N": "1"}
    srv.stop()
    srv.start()
    assert t not in srv.client().list_tables()["TableNames"]


def test_two_servers_are_independent(start_server):
    """Two servers on different data dirs (and ports) do not see each other's tables."""
    a, b = start_server(), start_server()
    assert a.port != b.port
    t = unique_name("iso")
    create_table(a.client(), t)
    assert t not in b.client().list_tables()["TableNames"]


def test_sigkill_after_many_megabytes(start_server):
    """~6 MB of acknowledged batch writes (enough to push a storage engine past its in-memory
    buffers), some deletes and overwrites, then SIGKILL: after restart a full scan returns
    exactly the expected items and values."""
    srv = start_server()
    client = srv.client()
    t = unique_name("dur-big")
    create_table(client, t, range_key=("sk", "N"))
    expected = {}
    for p in range(3):
        items = [{"pk": {"S": f"p{p}"}, "sk": {"N": str(i)}, "d": {"S": f"{p}-{i}-" + "v" * 2000}} for i in range(1000)]
        batch_put(client, t, items)
        expected.update({(f"p{p}", i): items[i]["d"]["S"] for i in range(1000)})
    for i in range(0, 1000, 7):
        client.delete_item(TableName=t, Key={"pk": {"S": "p1"}, "sk": {"N": str(i)}})
        del expected[("p1", i)]
    for i in range(0, 1000, 11):
        client.put_item(TableName=t, Item={"pk": {"S": "p2"}, "sk": {"N": str(i)}, "d": {"S": "new"}})
        expected[("p2", i)] = "new"
    srv.kill()
    srv.start()
    client = srv.client()
    got, kwargs = {}, {}
    while True:
        resp = client.scan(TableName=t, ConsistentRead=True, **kwargs)
        for it in resp["Items"]:
            key = (it["pk"]["S"], int(it["sk"]["N"]))
            assert key not in got, key
            got[key] = it["d"]["S"]
        if "LastEvaluatedKey" not in resp:
            break
        kwargs = {"ExclusiveStartKey": resp["LastEvaluatedKey"]}
    assert len(got) == len(expected)
    assert got == expected
