"""The AWS CLI (`aws dynamodb ...`) against the server: table lifecycle, item commands,
query, scan (with the CLI's automatic pagination), batch writes, and a conditional failure."""

from __future__ import annotations

import json

import pytest

from e2e_helpers import run_aws, unique_name


def j(obj) -> str:
    return json.dumps(obj)


@pytest.fixture(scope="module")
def cli_table(endpoint):
    """A table created with `aws dynamodb create-table` and waited for with
    `aws dynamodb wait table-exists`."""
    name = unique_name("cli")
    code, out, err = run_aws(
        endpoint, "create-table", "--table-name", name,
        "--attribute-definitions", "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=N",
        "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
        "--billing-mode", "PAY_PER_REQUEST",
    )
    assert code == 0, err
    assert out["TableDescription"]["TableName"] == name
    code, out, err = run_aws(endpoint, "wait", "table-exists", "--table-name", name)
    assert code == 0, err
    yield name
    run_aws(endpoint, "delete-table", "--table-name", name)


def test_cli_describe_and_list(aws, cli_table):
    """describe-table shows the table ACTIVE with its key schema; list-tables includes it."""
    code, out, err = aws("describe-table", "--table-name", cli_table)
    assert code == 0, err
    assert out["Table"]["TableStatus"] == "ACTIVE"
    assert out["Table"]["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    code, out, err = aws("list-tables")
    assert code == 0, err
    assert cli_table in out["TableNames"]
    # The CLI also paginates list-tables when asked for small pages.
    code, out2, err = aws("list-tables", "--page-size", "1")
    assert code == 0, err
    assert out2["TableNames"] == out["TableNames"]


def test_cli_item_commands(aws, cli_table):
    """put-item, get-item (with --projection-expression), update-item (--return-values
    ALL_NEW) and delete-item (--return-values ALL_OLD) exit 0 with the expected JSON."""
    key = {"pk": {"S": "item"}, "sk": {"N": "1"}}
    code, out, err = aws("put-item", "--table-name", cli_table,
                         "--item", j({**key, "name": {"S": "first"}, "n": {"N": "1.50"}}))
    assert code == 0, err
    code, out, err = aws("get-item", "--table-name", cli_table, "--key", j(key), "--consistent-read")
    assert code == 0, err
    assert out["Item"] == {**key, "name": {"S": "first"}, "n": {"N": "1.5"}}
    code, out, err = aws("get-item", "--table-name", cli_table, "--key", j(key),
                         "--projection-expression", "#n", "--expression-attribute-names", j({"#n": "name"}))
    assert code == 0, err
    assert out["Item"] == {"name": {"S": "first"}}
    code, out, err = aws("update-item", "--table-name", cli_table, "--key", j(key),
                         "--update-expression", "SET n = n + :inc, extra = :e",
                         "--expression-attribute-values", j({":inc": {"N": "1"}, ":e": {"BOOL": True}}),
                         "--return-values", "ALL_NEW")
    assert code == 0, err
    assert out["Attributes"] == {**key, "name": {"S": "first"}, "n": {"N": "2.5"}, "extra": {"BOOL": True}}
    code, out, err = aws("delete-item", "--table-name", cli_table, "--key", j(key), "--return-values", "ALL_OLD")
    assert code == 0, err
    assert out["Attributes"]["n"] == {"N": "2.5"}
    code, out, err = aws("get-item", "--table-name", cli_table, "--key", j(key))
    assert code == 0, err
    assert not out or "Item" not in out


def test_cli_batch_write_query_and_paginated_scan(aws, cli_table, tmp_path):
    """batch-write-item (from a file:// request) writes 35 items with no UnprocessedItems;
    query returns a partition in order (and reversed with --no-scan-index-forward); scan with
    --page-size 10 is auto-paginated by the CLI into one result whose Count is all items."""
    for lo, hi in ((0, 25), (25, 35)):
        req = {cli_table: [{"PutRequest": {"Item": {"pk": {"S": f"b{i % 3}"}, "sk": {"N": str(i)}}}}
                           for i in range(lo, hi)]}
        f = tmp_path / f"batch{lo}.json"
        f.write_text(j(req))
        code, out, err = aws("batch-write-item", "--request-items", f"file://{f}")
        assert code == 0, err
        assert out["UnprocessedItems"] == {}

    code, out, err = aws("query", "--table-name", cli_table,
                         "--key-condition-expression", "pk = :p AND sk BETWEEN :lo AND :hi",
                         "--expression-attribute-values", j({":p": {"S": "b0"}, ":lo": {"N": "3"}, ":hi": {"N": "12"}}))
    assert code == 0, err
    assert [it["sk"]["N"] for it in out["Items"]] == ["3", "6", "9", "12"]
    assert out["Count"] == 4
    code, out, err = aws("query", "--table-name", cli_table, "--key-condition-expression", "pk = :p",
                         "--expression-attribute-values", j({":p": {"S": "b1"}}), "--no-scan-index-forward")
    assert code == 0, err
    assert [int(it["sk"]["N"]) for it in out["Items"]] == list(range(34, 0, -3))

    code, out, err = aws("scan", "--table-name", cli_table, "--page-size", "10")
    assert code == 0, err
    batch_items = [it for it in out["Items"] if it["pk"]["S"].startswith("b")]
    assert len(batch_items) == 35
    assert sorted(int(it["sk"]["N"]) for it in batch_items) == list(range(35))
    assert out["Count"] == len(out["Items"])
    assert out["Count"] >= 35

    code, out, err = aws("scan", "--table-name", cli_table, "--select", "COUNT",
                         "--filter-expression", "pk = :p", "--expression-attribute-values", j({":p": {"S": "b2"}}))
    assert code == 0, err
    assert out["Count"] == 11


def test_cli_conditional_failure(aws, cli_table):
    """A put-item whose --condition-expression fails exits non-zero with
    ConditionalCheckFailedException on stderr."""
    item = {"pk": {"S": "cond"}, "sk": {"N": "1"}}
    code, out, err = aws("put-item", "--table-name", cli_table, "--item", j(item),
                         "--condition-expression", "attribute_not_exists(pk)")
    assert code == 0, err
    code, out, err = aws("put-item", "--table-name", cli_table, "--item", j(item),
                         "--condition-expression", "attribute_not_exists(pk)")
    assert code != 0
    assert "ConditionalCheckFailedException" in err
    assert "The conditional request failed" in err


def test_cli_delete_table(aws):
    """create-table, then delete-table reports DELETING, and describe-table then fails with
    ResourceNotFoundException (non-zero exit)."""
    name = unique_name("cli-del")
    code, out, err = aws("create-table", "--table-name", name,
                         "--attribute-definitions", "AttributeName=id,AttributeType=S",
                         "--key-schema", "AttributeName=id,KeyType=HASH",
                         "--provisioned-throughput", "ReadCapacityUnits=1,WriteCapacityUnits=1")
    assert code == 0, err
    assert out["TableDescription"]["TableStatus"] == "CREATING"
    code, out, err = aws("wait", "table-exists", "--table-name", name)
    assert code == 0, err
    code, out, err = aws("delete-table", "--table-name", name)
    assert code == 0, err
    assert out["TableDescription"]["TableStatus"] == "DELETING"
    code, out, err = aws("wait", "table-not-exists", "--table-name", name)
    assert code == 0, err
    code, out, err = aws("describe-table", "--table-name", name)
    assert code != 0
    assert "ResourceNotFoundException" in err
