"""The local speed-up of moto's Query (chalicelib/local/moto_speed.py) answers exactly what moto answers
without it: the same items in the same order, page for page, for base-table and index Queries, with and
without sort-key conditions, limits and either direction; on tables with and without a sort key."""
import itertools

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib.local import dynamodb_limits
from chalicelib.local.moto_speed import moto_speed

PARTITIONS = ["a", "b", "c"]
SORT_KEYS = [f"{n:02d}" for n in range(12)]
_names = itertools.count()

item = st.fixed_dictionaries(
    {"pk": st.sampled_from(PARTITIONS), "sk": st.sampled_from(SORT_KEYS), "n": st.integers(0, 9)},
    optional={"gpk": st.sampled_from(PARTITIONS), "gsk": st.sampled_from(SORT_KEYS)})
condition = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["=", "<", "<=", ">", ">="]), st.sampled_from(SORT_KEYS)),
    st.tuples(st.just("between"), st.sampled_from(SORT_KEYS), st.sampled_from(SORT_KEYS)),
    st.tuples(st.just("begins_with"), st.sampled_from(["0", "1", "05"])))
query = st.fixed_dictionaries({
    "index": st.booleans(), "partition": st.sampled_from(PARTITIONS), "condition": condition,
    "limit": st.one_of(st.none(), st.integers(1, 4)), "forward": st.booleans(), "filter": st.booleans()})


def _table(client, sort_key: bool) -> str:
    name = f"speed-{next(_names)}"
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}] + ([{"AttributeName": "sk", "KeyType": "RANGE"}]
                                                          if sort_key else [])
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=keys,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gpk", "gsk")
                              if sort_key or a != "sk"],
        GlobalSecondaryIndexes=[{"IndexName": "gsi", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}]}])
    return name


def _request(name: str, q: dict, sort_key: bool) -> dict:
    hash_name, range_name = ("gpk", "gsk") if q["index"] else ("pk", "sk" if sort_key else None)
    expression, values = f"{hash_name} = :h", {":h": {"S": q["partition"]}}
    c = q["condition"]
    if c is not None and range_name is not None:
        if c[0] == "between":
            low, high = sorted(c[1:])
            expression += f" AND {range_name} BETWEEN :a AND :b"
            values.update({":a": {"S": low}, ":b": {"S": high}})
        elif c[0] == "begins_with":
            expression += f" AND begins_with({range_name}, :a)"
            values[":a"] = {"S": c[1]}
        else:
            expression += f" AND {range_name} {c[0]} :a"
            values[":a"] = {"S": c[1]}
    request = {"TableName": name, "KeyConditionExpression": expression, "ExpressionAttributeValues": values,
               "ScanIndexForward": q["forward"]}
    if q["index"]:
        request["IndexName"] = "gsi"
    if q["limit"]:
        request["Limit"] = q["limit"]
    if q["filter"]:
        request["FilterExpression"] = "n > :z"
        request["ExpressionAttributeValues"][":z"] = {"N": "3"}
    return request


def _pages(client, request: dict) -> list:
    pages, start = [], None
    while True:
        answer = client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
        pages.append((answer["Items"], answer["Count"], answer["ScannedCount"], answer.get("LastEvaluatedKey")))
        start = answer.get("LastEvaluatedKey")
        if start is None or len(pages) > 50:
            return pages


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(item, max_size=30), queries=st.lists(query, min_size=1, max_size=6), sort_key=st.booleans())
def test_queries_answer_the_same_with_and_without_the_speed_up(items, queries, sort_key):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        name = _table(client, sort_key)
        for it in items:
            client.put_item(TableName=name, Item={k: ({"N": str(v)} if k == "n" else {"S": v}) for k, v in it.items()})
        for q in queries:
            request = _request(name, q, sort_key)
            with moto_speed(False):
                expected = _pages(client, request)
            with moto_speed(True):
                got = _pages(client, request)
            assert got == expected, (request, expected, got)
            assert sum(count for _, count, _, _ in got) <= len(items)


def test_a_base_table_query_reads_only_its_partition():
    """The point of it: with the speed-up, moto's Query sees the partition, not the table."""
    from moto.dynamodb.models.table import Table
    seen = []
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        name = _table(client, True)
        for n in range(40):
            client.put_item(TableName=name, Item={"pk": {"S": PARTITIONS[n % 2]}, "sk": {"S": f"{n:02d}"}})
        original = Table.all_items
        with moto_speed(True):
            speedy = Table.all_items

            def counting(self):
                listed = speedy(self)
                seen.append(len(listed))
                return listed
            Table.all_items = counting
            try:
                answer = client.query(TableName=name, KeyConditionExpression="pk = :h",
                                      ExpressionAttributeValues={":h": {"S": "a"}})
            finally:
                Table.all_items = speedy
        Table.all_items = original
    assert answer["Count"] == 20 and seen == [20]  # moto alone lists all 40 items, sorted, for this Query


attribute_value = st.recursive(
    st.one_of(st.builds(lambda s: {"S": s}, st.text(max_size=20)),
              st.builds(lambda n: {"N": str(n)}, st.integers(-10**6, 10**6)),
              st.builds(lambda b: {"BOOL": b}, st.booleans()), st.just({"NULL": True})),
    lambda inner: st.one_of(st.builds(lambda items: {"L": items}, st.lists(inner, max_size=4)),
                            st.builds(lambda fields: {"M": fields}, st.dictionaries(st.text(max_size=8), inner,
                                                                                    max_size=4))),
    max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(attrs=st.dictionaries(st.text(min_size=1, max_size=12), attribute_value, max_size=25))
def test_items_are_built_the_same_with_and_without_the_speed_up(attrs):
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    with moto_speed(False):
        expected = Item(DynamoType({"S": "h"}), None, attrs)
    with moto_speed(True):
        got = Item(DynamoType({"S": "h"}), None, attrs)
    assert type(got.attrs) is type(expected.attrs)
    assert list(got.attrs.items()) == list(expected.attrs.items()) and got == expected
    assert got.size() == expected.size()


def test_an_item_over_the_size_limit_is_refused_at_the_same_attribute_with_and_without_the_speed_up():
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    attrs = {"a": {"S": "x" * 200_000}, "b": {"S": "y" * 200_000}, "c": {"S": "z" * 10_000}}  # c crosses it
    for enabled in (False, True):
        with moto_speed(enabled), pytest.raises(ItemSizeTooLarge):
            Item(DynamoType({"S": "h"}), None, attrs)
    just_under = {"a": {"S": "x" * 200_000}, "b": {"S": "y" * 204_990}}  # 1 + 200,000 + 1 + 204,990 bytes
    for enabled in (False, True):
        with moto_speed(enabled):
            assert Item(DynamoType({"S": "h"}), None, just_under).size() == 404_992


def test_an_index_on_a_number_answers_the_same_with_and_without_the_speed_up():
    """A string partition key is compared directly; others by moto's own equality (1 == 1.0 for numbers)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="numbers", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "N"}],
            GlobalSecondaryIndexes=[{"IndexName": "gsi", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
        for n, g in enumerate(["1", "1.0", "2", "10", None]):
            client.put_item(TableName="numbers", Item={"pk": {"S": f"p{n}"}, **({"g": {"N": g}} if g else {})})
        request = {"TableName": "numbers", "IndexName": "gsi", "KeyConditionExpression": "g = :g",
                   "ExpressionAttributeValues": {":g": {"N": "1"}}}
        with moto_speed(False):
            expected = _pages(client, request)
        with moto_speed(True):
            got = _pages(client, request)
    assert got == expected and sorted(i["pk"]["S"] for i in got[0][0]) == ["p0", "p1"]


# --- transactions: rolled back item by item instead of by copying whole tables --------------------------------

KEYS = [("a", "01"), ("a", "02"), ("b", "01"), ("c", "03")]
condition_kind = st.sampled_from(["none", "exists", "absent", "n_is"])
transact_action = st.fixed_dictionaries({
    "op": st.sampled_from(["Put", "Update", "Delete", "ConditionCheck"]), "key": st.sampled_from(KEYS),
    "n": st.integers(0, 3), "condition": condition_kind})


def _key(key, sort_key: bool) -> dict:
    return {"pk": {"S": key[0]}, **({"sk": {"S": key[1]}} if sort_key else {})}


def _condition(kind: str, n: int) -> dict:
    if kind == "exists":
        return {"ConditionExpression": "attribute_exists(pk)"}
    if kind == "absent":
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    if kind == "n_is":
        return {"ConditionExpression": "n = :c", "ExpressionAttributeValues": {":c": {"N": str(n)}}}
    return {}


def _transact_item(name: str, action: dict, sort_key: bool) -> dict:
    key, n = _key(action["key"], sort_key), action["n"]
    condition = _condition(action["condition"], n)
    if action["op"] == "Put":
        return {"Put": {"TableName": name, "Item": {**key, "n": {"N": str(n)}}, **condition}}
    if action["op"] == "Update":
        values = {**condition.get("ExpressionAttributeValues", {}), ":d": {"N": "1"}}
        return {"Update": {"TableName": name, "Key": key, "UpdateExpression": "ADD n :d",
                           **condition, "ExpressionAttributeValues": values}}
    if action["op"] == "Delete":
        return {"Delete": {"TableName": name, "Key": key, **condition}}
    return {"ConditionCheck": {"TableName": name, "Key": key,
                               **(condition or {"ConditionExpression": "attribute_exists(pk)"})}}


def _outcome(client, name: str, actions: list, sort_key: bool):
    with dynamodb_limits.recording() as refused:  # draws name one item twice on purpose: moto refuses those too
        try:
            client.transact_write_items(TransactItems=[_transact_item(name, a, sort_key) for a in actions])
            result = "ok"
        except client.exceptions.TransactionCanceledException as error:
            result = [r["Code"] for r in error.response["CancellationReasons"]]
        except client.exceptions.ClientError as error:
            result = error.response["Error"]["Code"]
    items_named = {a["key"] if sort_key else a["key"][0] for a in actions}
    assert bool(refused) == (len(items_named) < len(actions)) == (result == "ValidationException"), refused
    items = client.scan(TableName=name, ConsistentRead=True)["Items"]
    return result, sorted((i["pk"]["S"], i.get("sk", {}).get("S"), i.get("n", {}).get("N")) for i in items)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transactions=st.lists(st.lists(transact_action, min_size=1, max_size=4), min_size=1, max_size=6),
       sort_key=st.booleans())
def test_transactions_answer_and_leave_the_same_with_and_without_the_speed_up(transactions, sort_key):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        plain, speedy = _table(client, sort_key), _table(client, sort_key)
        for actions in transactions:
            with moto_speed(False):
                expected = _outcome(client, plain, actions, sort_key)
            with moto_speed(True):
                got = _outcome(client, speedy, actions, sort_key)
            assert got == expected, (actions, expected, got)


def test_a_transaction_copies_only_the_items_it_names():
    """The point of it: moto alone deep-copies the whole table before each transaction."""
    import copy as copy_module

    from moto.dynamodb.models.table import Table
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        name = _table(client, True)
        for n in range(50):
            client.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": f"{n:02d}"}})
        copied, real = [], copy_module.deepcopy

        def counting(value, memo=None):
            copied.append(type(value).__name__)
            return real(value, memo)

        copy_module.deepcopy = counting
        try:
            with moto_speed(True):
                client.transact_write_items(TransactItems=[{"Put": {
                    "TableName": name, "Item": {"pk": {"S": "a"}, "sk": {"S": "99"}},
                    "ConditionExpression": "attribute_not_exists(pk)"}}])
        finally:
            copy_module.deepcopy = real
    assert Table.__name__ not in copied


# --- responses: items written in their wire form instead of value by value ----------------------------------

MEMBER_NAMES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}


def wire_values(keys):
    return st.recursive(
        st.one_of(st.builds(lambda s: {"S": s}, st.text(max_size=12)),
                  st.builds(lambda n: {"N": str(n)}, st.integers(-10**9, 10**9)),
                  st.builds(lambda b: {"B": b}, st.binary(min_size=1, max_size=12)),
                  st.builds(lambda b: {"BOOL": b}, st.booleans()), st.just({"NULL": True}),
                  st.builds(lambda ss: {"SS": sorted(ss)}, st.sets(st.text(min_size=1, max_size=6), min_size=1,
                                                                   max_size=3)),
                  st.builds(lambda ns: {"NS": sorted(ns)}, st.sets(st.integers(0, 99).map(str), min_size=1,
                                                                   max_size=3)),
                  st.builds(lambda bs: {"BS": sorted(bs)}, st.sets(st.binary(min_size=1, max_size=4), min_size=1,
                                                                   max_size=3))),
        lambda inner: st.one_of(st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
                                st.builds(lambda fields: {"M": fields}, st.dictionaries(keys, inner, max_size=3))),
        max_leaves=10)


ANY_KEY = st.text(max_size=6)
# moto's own serializer reads a map's keys as if they could be members: "", "NS" or "Item" inside a map are lost
# or fail there (real DynamoDB keeps them); the comparison with moto alone keeps to keys it reads right
PLAIN_KEY = st.text(alphabet="abcdefghij", min_size=1, max_size=6).filter(lambda k: k.upper() not in MEMBER_NAMES)
ATTRIBUTE = st.text(min_size=1, max_size=8).filter(lambda k: k not in ("pk", "sk"))


def _answers(client, name: str) -> list:
    key = {"pk": {"S": "a"}, "sk": {"S": "00"}}
    return [_without_metadata(a) for a in (
        client.get_item(TableName=name, Key=key, ConsistentRead=True),
        client.query(TableName=name, KeyConditionExpression="pk = :h", ExpressionAttributeValues={":h": {"S": "a"}}),
        client.batch_get_item(RequestItems={name: {"Keys": [key]}}),
        client.scan(TableName=name))]


def _without_metadata(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def _written(client, attrs) -> tuple[str, list]:
    name = _table(client, True)
    written = [{"pk": {"S": "a"}, "sk": {"S": f"{n:02d}"}, **extra} for n, extra in enumerate(attrs)]
    for item in written:
        client.put_item(TableName=name, Item=item)
    return name, written


def _served(attrs, *speed_ups) -> tuple[str, list, list]:
    """(table, the items written, the answers read back with the speed-up on or off, in the order asked)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        name, written = _written(client, attrs)
        answers = []
        for on in speed_ups:
            with moto_speed(on):
                answers.append(_answers(client, name))
    return name, written, answers


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attrs=st.lists(st.dictionaries(ATTRIBUTE, wire_values(PLAIN_KEY), max_size=6), min_size=1, max_size=4))
def test_responses_carrying_items_are_the_same_with_and_without_the_speed_up(attrs):
    _, _, (expected, got) = _served(attrs, False, True)
    assert got == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attrs=st.lists(st.dictionaries(ATTRIBUTE, wire_values(ANY_KEY), max_size=6), min_size=1, max_size=4))
def test_with_the_speed_up_every_answer_carries_exactly_the_items_written(attrs):
    name, written, (got,) = _served(attrs, True)
    assert got[0]["Item"] == written[0] and got[1]["Items"] == got[3]["Items"] == written
    assert got[2]["Responses"][name] == [written[0]]
