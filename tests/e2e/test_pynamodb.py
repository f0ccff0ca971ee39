"""PynamoDB (its own request building and response parsing, unlike boto3's): a hash+range
Model with number, list, map, set, boolean and datetime attributes through create_table, save,
get, update(actions), query, scan, count, batch operations, delete, and a conditional save
that fails."""

from __future__ import annotations

import datetime

import pytest
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from e2e_helpers import ACCESS_KEY, REGION, SECRET_KEY, unique_name


class Address(MapAttribute):
    city = UnicodeAttribute()
    zip = UnicodeAttribute(null=True)


@pytest.fixture
def Order(endpoint):
    """A fresh Model class bound to a new table on the session server."""

    class _Order(Model):
        class Meta:
            table_name = unique_name("pynamo")
            host = endpoint
            region = REGION
            aws_access_key_id = ACCESS_KEY
            aws_secret_access_key = SECRET_KEY
            max_retry_attempts = 0
            billing_mode = "PAY_PER_REQUEST"

        customer = UnicodeAttribute(hash_key=True)
        order_no = NumberAttribute(range_key=True)
        total = NumberAttribute(default=0)
        items = ListAttribute(default=list)
        address = Address(null=True)
        labels = UnicodeSetAttribute(null=True)
        paid = BooleanAttribute(default=False)
        created = UTCDateTimeAttribute(null=True)

    _Order.create_table(wait=True)
    yield _Order
    _Order.delete_table()


def test_pynamodb_table_lifecycle(Order):
    """Model.exists() is true after create_table(wait=True), and describe via the connection
    reports ACTIVE."""
    assert Order.exists()
    desc = Order._get_connection().describe_table()
    assert desc["TableStatus"] == "ACTIVE"


def test_pynamodb_save_get_roundtrip(Order):
    """save() then get() returns every attribute type unchanged (numbers, list of mixed values,
    map attribute, string set, boolean, UTC datetime)."""
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
    Order("alice", 1, total=12.5, items=["apple", 3, True], address=Address(city="Oslo", zip="0150"),
          labels={"gift", "rush"}, paid=True, created=when).save()
    got = Order.get("alice", 1, consistent_read=True)
    assert got.total == 12.5
    assert got.items == ["apple", 3, True]
    assert got.address.city == "Oslo" and got.address.zip == "0150"
    assert got.labels == {"gift", "rush"}
    assert got.paid is True
    assert got.created == when
    with pytest.raises(DoesNotExist):
        Order.get("alice", 999)


def test_pynamodb_update_actions(Order):
    """update(actions=[...]) with add, set, list append, nested map set, set-add and remove
    applies every action and refreshes the local object from the response."""
    o = Order("bob", 7, total=10, items=["a"], address=Address(city="Rome"), labels={"x"})
    o.save()
    o.update(actions=[
        Order.total.add(5),
        Order.items.set(Order.items.append(["b", "c"])),
        Order.address.city.set("Milan"),
        Order.labels.add({"y"}),
        Order.paid.set(True),
        Order.created.remove(),
    ])
    assert o.total == 15 and o.items == ["a", "b", "c"] and o.address.city == "Milan"
    fresh = Order.get("bob", 7)
    assert fresh.total == 15
    assert fresh.items == ["a", "b", "c"]
    assert fresh.address.city == "Milan"
    assert fresh.labels == {"x", "y"}
    assert fresh.paid is True
    o.update(actions=[Order.labels.delete({"x", "y"}), Order.total.set(Order.total - 1)])
    fresh = Order.get("bob", 7)
    assert fresh.labels is None
    assert fresh.total == 14


def test_pynamodb_query_scan_count(Order):
    """query() with a range-key condition, filter, descending order and a small page size
    (forcing pagination); scan() with a filter; count() with and without a condition."""
    with Order.batch_write() as batch:
        for n in range(30):
            batch.save(Order("carol" if n % 2 == 0 else "dave", n, total=n, paid=n % 3 == 0))
    res = list(Order.query("carol", Order.order_no.between(4, 12)))
    assert [o.order_no for o in res] == [4, 6, 8, 10, 12]
    res = list(Order.query("carol", Order.order_no > 20, scan_index_forward=False))
    assert [o.order_no for o in res] == [28, 26, 24, 22]
    res = list(Order.query("dave", filter_condition=Order.paid == True, page_size=2))  # noqa: E712
    assert [o.order_no for o in res] == [3, 9, 15, 21, 27]
    it = Order.query("carol", page_size=4)
    assert len(list(it)) == 15
    assert it.total_count == 15
    assert Order.count("carol") == 15
    assert Order.count("dave", Order.order_no < 10) == 5
    assert Order.count("carol", filter_condition=Order.total >= 20) == 5
    scanned = sorted(o.order_no for o in Order.scan(Order.total < 6))
    assert scanned == [0, 1, 2, 3, 4, 5]
    assert sorted(o.order_no for o in Order.scan(page_size=7)) == list(range(30))
    # (Order.count() without a hash key reads DescribeTable's ItemCount, which DynamoDB only
    # refreshes every ~6 hours, so it is not checked.)


def test_pynamodb_batch_get(Order):
    """batch_get() returns exactly the existing items among the keys asked for."""
    with Order.batch_write() as batch:
        for n in range(10):
            batch.save(Order("erin", n))
    got = sorted(o.order_no for o in Order.batch_get([("erin", n) for n in range(0, 20, 2)]))
    assert got == [0, 2, 4, 6, 8]


def test_pynamodb_conditional_writes(Order):
    """save(condition=does_not_exist()) fails the second time with PutError whose cause is
    ConditionalCheckFailedException; conditional update and delete fail likewise when the
    condition is false and succeed when it is true."""
    o = Order("frank", 1, total=1)
    o.save(condition=Order.customer.does_not_exist())
    with pytest.raises(PutError) as ei:
        Order("frank", 1, total=2).save(condition=Order.customer.does_not_exist())
    assert ei.value.cause_response_code == "ConditionalCheckFailedException"
    assert ei.value.cause_response_message == "The conditional request failed"
    with pytest.raises(UpdateError) as ei:
        o.update(actions=[Order.total.set(3)], condition=Order.total > 5)
    assert ei.value.cause_response_code == "ConditionalCheckFailedException"
    with pytest.raises(DeleteError) as ei:
        o.delete(condition=Order.paid == True)  # noqa: E712
    assert ei.value.cause_response_code == "ConditionalCheckFailedException"
    assert Order.get("frank", 1).total == 1
    o.update(actions=[Order.total.set(3)], condition=Order.total == 1)
    o.delete(condition=Order.total == 3)
    with pytest.raises(DoesNotExist):
        Order.get("frank", 1)


def test_pynamodb_refresh_and_delete(Order):
    """refresh() reloads an item changed elsewhere; delete() removes it."""
    a = Order("gina", 1, total=1)
    a.save()
    b = Order.get("gina", 1)
    b.update(actions=[Order.total.set(99)])
    a.refresh(consistent_read=True)
    assert a.total == 99
    a.delete()
    with pytest.raises(DoesNotExist):
        a.refresh()
