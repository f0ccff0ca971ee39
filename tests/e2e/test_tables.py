"""Control plane through boto3: CreateTable, DescribeTable, ListTables, UpdateTable,
DeleteTable, DescribeEndpoints, DescribeLimits and tagging."""

from __future__ import annotations

import datetime

import pytest

from e2e_helpers import create_table, expect_error, unique_name, wait_active


def _attr_defs(desc):
    return sorted((a["AttributeName"], a["AttributeType"]) for a in desc["AttributeDefinitions"])


def test_create_table_reports_creating_then_active(ddb, table_name):
    """CreateTable answers TableStatus CREATING with the schema echoed back; DescribeTable then
    answers ACTIVE (boto3's table_exists waiter returns) with the same schema."""
    resp = create_table(
        ddb, table_name, hash_key=("pk", "S"), range_key=("sk", "N"), wait=False
    )
    desc = resp["TableDescription"]
    assert desc["TableName"] == table_name
    assert desc["TableStatus"] == "CREATING"
    assert desc["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert _attr_defs(desc) == [("pk", "S"), ("sk", "N")]
    assert isinstance(desc["CreationDateTime"], datetime.datetime)
    assert desc["TableArn"].startswith("arn:aws:dynamodb:us-east-1:")
    assert desc["TableArn"].endswith(":table/" + table_name)

    wait_active(ddb, table_name)
    got = ddb.describe_table(TableName=table_name)["Table"]
    assert got["TableStatus"] == "ACTIVE"
    assert got["TableName"] == table_name
    assert got["KeySchema"] == desc["KeySchema"]
    assert _attr_defs(got) == [("pk", "S"), ("sk", "N")]
    assert got["ItemCount"] == 0
    assert got["TableSizeBytes"] == 0
    assert got["TableArn"] == desc["TableArn"]
    assert got["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_resource_create_table_and_wait(ddb_resource, table_name):
    """The boto3 resource API: create_table() then Table.wait_until_exists() and table_status."""
    table = ddb_resource.create_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    table.reload()
    assert table.table_status == "ACTIVE"
    assert table.key_schema == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_create_provisioned_table_reports_throughput(ddb, table_name):
    """A table created with ProvisionedThroughput (no BillingMode) reports the same read/write
    capacity in DescribeTable, and its billing mode (if reported) is PROVISIONED."""
    create_table(ddb, table_name, ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    t = ddb.describe_table(TableName=table_name)["Table"]
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    if "BillingModeSummary" in t:
        assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"


def test_duplicate_create_table_is_resource_in_use(ddb, make_table):
    """A second CreateTable with an existing name fails with ResourceInUseException
    'Table already exists: NAME'."""
    name = make_table()
    expect_error(
        ddb.create_table,
        "ResourceInUseException",
        f"Table already exists: {name}",
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_describe_missing_table(ddb):
    """DescribeTable of an unknown table: ResourceNotFoundException with the control-plane
    message 'Requested resource not found: Table: NAME not found'."""
    name = unique_name("missing")
    expect_error(
        ddb.describe_table,
        "ResourceNotFoundException",
        f"Requested resource not found: Table: {name} not found",
        TableName=name,
    )


def test_delete_table_lifecycle(ddb, table_name):
    """DeleteTable answers DELETING; afterwards the table is gone: DescribeTable and a second
    DeleteTable fail with the control-plane message, GetItem/PutItem with 'Requested resource not
    found', it is absent from ListTables, and the table_not_exists waiter returns."""
    create_table(ddb, table_name)
    ddb.put_item(TableName=table_name, Item={"pk": {"S": "a"}})
    resp = ddb.delete_table(TableName=table_name)
    assert resp["TableDescription"]["TableName"] == table_name
    assert resp["TableDescription"]["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    msg = f"Requested resource not found: Table: {table_name} not found"
    expect_error(ddb.describe_table, "ResourceNotFoundException", msg, TableName=table_name)
    expect_error(ddb.delete_table, "ResourceNotFoundException", msg, TableName=table_name)
    expect_error(
        ddb.get_item, "ResourceNotFoundException", "Requested resource not found",
        TableName=table_name, Key={"pk": {"S": "a"}},
    )
    expect_error(
        ddb.put_item, "ResourceNotFoundException", "Requested resource not found",
        TableName=table_name, Item={"pk": {"S": "a"}},
    )
    names = []
    for page in ddb.get_paginator("list_tables").paginate():
        names += page["TableNames"]
    assert table_name not in names


def test_recreate_table_after_delete_is_empty(ddb, table_name):
    """A table re-created under the name of a deleted one starts empty (no items leak from the
    old incarnation)."""
    create_table(ddb, table_name)
    ddb.put_item(TableName=table_name, Item={"pk": {"S": "old"}})
    ddb.delete_table(TableName=table_name)
    ddb.get_waiter("table_not_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    create_table(ddb, table_name)
    assert "Item" not in ddb.get_item(TableName=table_name, Key={"pk": {"S": "old"}})
    assert ddb.scan(TableName=table_name)["Count"] == 0
    ddb.delete_table(TableName=table_name)


def test_list_tables_pagination(ddb, make_table):
    """ListTables with Limit pages through every table exactly once in ascending name order;
    each page has at most Limit names, LastEvaluatedTableName is the last name of a page and
    ExclusiveStartTableName resumes strictly after it."""
    prefix = unique_name("lt")
    mine = [make_table(name=f"{prefix}-{i}") for i in range(5)]

    seen: list[str] = []
    kwargs = {"Limit": 2}
    pages = 0
    while True:
        resp = ddb.list_tables(**kwargs)
        pages += 1
        assert len(resp["TableNames"]) <= 2
        seen += resp["TableNames"]
        if "LastEvaluatedTableName" not in resp:
            break
        assert resp["LastEvaluatedTableName"] == resp["TableNames"][-1]
        kwargs["ExclusiveStartTableName"] = resp["LastEvaluatedTableName"]
        assert pages < 10_000
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    for name in mine:
        assert name in seen

    # Resume strictly after one of ours: the next names are our following tables.
    resp = ddb.list_tables(ExclusiveStartTableName=mine[1], Limit=2)
    assert resp["TableNames"] == mine[2:4]
    assert resp["LastEvaluatedTableName"] == mine[3]

    # Without Limit a page holds up to 100 names.
    everything = ddb.list_tables()
    if len(seen) <= 100:
        assert "LastEvaluatedTableName" not in everything
        assert everything["TableNames"] == seen
    else:
        assert everything["TableNames"] == seen[:100]


def test_list_tables_paginator(ddb, make_table):
    """boto3's list_tables paginator (PageSize=1) yields every table exactly once."""
    prefix = unique_name("ltp")
    mine = [make_table(name=f"{prefix}-{i}") for i in range(3)]
    names = []
    for page in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 1}):
        assert len(page["TableNames"]) <= 1
        names += page["TableNames"]
    assert len(names) == len(set(names))
    assert all(n in names for n in mine)


def test_update_table_billing_mode_and_throughput(ddb, make_table):
    """UpdateTable changes ProvisionedThroughput and BillingMode, and DescribeTable reports the
    new values back (after the table is ACTIVE again)."""
    name = make_table(ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    resp = ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
    assert resp["TableDescription"]["TableName"] == name
    assert resp["TableDescription"]["TableStatus"] in ("UPDATING", "ACTIVE")
    wait_active(ddb, name)
    t = ddb.describe_table(TableName=name)["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 7

    ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    wait_active(ddb, name)
    t = ddb.describe_table(TableName=name)["Table"]
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    # On-demand -> provisioned on another table.
    name2 = make_table()
    ddb.update_table(
        TableName=name2,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    )
    wait_active(ddb, name2)
    t = ddb.describe_table(TableName=name2)["Table"]
    assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


def test_update_missing_table(ddb):
    """UpdateTable of an unknown table fails with ResourceNotFoundException."""
    expect_error(
        ddb.update_table, "ResourceNotFoundException",
        TableName=unique_name("missing"), BillingMode="PAY_PER_REQUEST",
    )


def test_describe_table_item_count_is_a_number(ddb, make_table):
    """DescribeTable keeps reporting numeric ItemCount/TableSizeBytes once the table has items
    (DynamoDB refreshes them only every ~6 hours, so the values are not pinned)."""
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "x" * 100}})
    t = ddb.describe_table(TableName=name)["Table"]
    assert isinstance(t["ItemCount"], int) and t["ItemCount"] >= 0
    assert isinstance(t["TableSizeBytes"], int) and t["TableSizeBytes"] >= 0


def test_describe_endpoints(ddb):
    """DescribeEndpoints answers at least one endpoint with an Address and a cache period."""
    resp = ddb.describe_endpoints()
    assert resp["Endpoints"], resp
    for ep in resp["Endpoints"]:
        assert isinstance(ep["Address"], str) and ep["Address"]
        assert isinstance(ep["CachePeriodInMinutes"], int)


def test_describe_limits(ddb):
    """DescribeLimits answers the four account/table capacity limits as positive integers."""
    resp = ddb.describe_limits()
    for key in (
        "AccountMaxReadCapacityUnits",
        "AccountMaxWriteCapacityUnits",
        "TableMaxReadCapacityUnits",
        "TableMaxWriteCapacityUnits",
    ):
        assert isinstance(resp[key], int) and resp[key] > 0, (key, resp)


def test_tags(ddb, make_table):
    """TagResource adds tags to a table ARN, ListTagsOfResource lists them, a re-tag replaces a
    value, and UntagResource removes the named keys."""
    name = make_table()
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", []) == []
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "db"}])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"env": "test", "team": "db"}
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"env": "prod", "team": "db"}
    ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"team": "db"}


def test_tags_on_create_table(ddb, table_name):
    """Tags passed to CreateTable are listed by ListTagsOfResource."""
    resp = create_table(ddb, table_name, Tags=[{"Key": "owner", "Value": "e2e"}])
    arn = resp["TableDescription"]["TableArn"]
    tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
    assert tags == {"owner": "e2e"}
    ddb.delete_table(TableName=table_name)


@pytest.mark.parametrize("bad", ["ab", "bad name!"])
def test_create_table_bad_name(ddb, bad):
    """CreateTable rejects a name shorter than 3 characters or outside [a-zA-Z0-9_.-] with a
    ValidationException naming tableName."""
    resp = expect_error(
        ddb.create_table,
        "ValidationException",
        TableName=bad,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert "tableName" in resp["Error"]["Message"]
