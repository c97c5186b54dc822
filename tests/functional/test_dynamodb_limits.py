"""The limits guard (chalicelib/local/dynamodb_limits.py) reports every request real DynamoDB would refuse, made with
real boto3 and PynamoDB calls against moto: those moto accepts (a BatchWriteItem of 26, a put and a delete of one
item in one batch, an item over 400 KB by DynamoDB's rules but not by moto's, a 4 MB transaction, Limit 1001) and
those moto refuses too (the app could catch the error); requests at the limits pass. And a test whose request is
over a limit fails, at its end, naming the operation, the count and the limit."""
import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from chalicelib.local import dynamodb_limits
from chalicelib.local.dynamodb_limits import item_size, page_violations

TABLE = "limits"
pytest_plugins = ["pytester"]  # the last test runs a test of its own


class Thing(Model):
    class Meta:
        table_name = TABLE
        region = "us-east-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


@pytest.fixture
def client():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}])
        Thing._connection = None  # a new client inside this mock
        yield client


def key(n: int) -> dict:
    return {"pk": {"S": "p"}, "sk": {"S": f"{n:04d}"}}


def puts(n: int) -> list[dict]:
    return [{"PutRequest": {"Item": key(i)}} for i in range(n)]


def refused(call) -> list[str]:
    """What the guard reported about the requests `call` made (taken from this test's own recording)."""
    with dynamodb_limits.recording() as found:
        call()
    return found


def refused_by_moto_too(call):
    """`call`, which moto answers with a ValidationException (botocore's ClientError, or PynamoDB's error)."""
    def expect_error():
        with pytest.raises((ClientError, PynamoDBException)) as caught:
            call()
        error = caught.value
        assert (error.cause_response_code if isinstance(error, PynamoDBException)
                else error.response["Error"]["Code"]) == "ValidationException"
    return expect_error


def test_a_batch_write_of_26_requests(client):
    found = refused(lambda: client.batch_write_item(RequestItems={TABLE: puts(26)}))  # moto writes all 26
    assert len(found) == 1 and found[0].startswith("BatchWriteItem: 26 put/delete requests in one request; the "
                                                   "limit is 25 [tests/functional/test_dynamodb_limits.py:")
    assert client.scan(TableName=TABLE)["Count"] == 26
    assert refused(lambda: client.batch_write_item(RequestItems={TABLE: puts(25)})) == []


def test_a_batch_write_of_26_through_pynamodb(client):
    connection = Thing._get_connection()
    found = refused(lambda: connection.batch_write_item(put_items=[key(i) for i in range(26)]))
    assert [m.split(" [")[0] for m in found] == [
        "BatchWriteItem: 26 put/delete requests in one request; the limit is 25"]


def test_a_put_and_a_delete_of_one_item_in_one_batch(client):
    found = refused(lambda: client.batch_write_item(RequestItems={TABLE: [  # moto accepts it
        {"PutRequest": {"Item": key(1)}}, {"DeleteRequest": {"Key": key(1)}}]}))
    assert [m.split(" [")[0] for m in found] == [
        "BatchWriteItem: two requests on one item of limits ({'pk': ('S', 'p'), 'sk': ('S', '0001')}); "
        "DynamoDB refuses the batch (ValidationException)"]


def test_a_batch_get_of_101_keys(client):
    found = refused(refused_by_moto_too(lambda: client.batch_get_item(
        RequestItems={TABLE: {"Keys": [key(i) for i in range(101)]}})))
    assert [m.split(" [")[0] for m in found] == ["BatchGetItem: 101 keys in one request; the limit is 100"]
    assert refused(lambda: client.batch_get_item(RequestItems={TABLE: {"Keys": [key(i) for i in range(100)]}})) == []


def test_a_batch_get_of_101_keys_through_pynamodb(client):
    connection = Thing._get_connection()
    found = refused(refused_by_moto_too(lambda: connection.batch_get_item([key(i) for i in range(101)])))
    assert [m.split(" [")[0] for m in found] == ["BatchGetItem: 101 keys in one request; the limit is 100"]


def test_a_transaction_of_101_actions(client):
    actions = [{"Put": {"TableName": TABLE, "Item": key(i)}} for i in range(101)]
    found = refused(refused_by_moto_too(lambda: client.transact_write_items(TransactItems=actions)))
    assert [m.split(" [")[0] for m in found] == [
        "TransactWriteItems: 101 actions in one transaction; the limit is 100"]
    assert refused(lambda: client.transact_write_items(TransactItems=actions[:100])) == []


def test_two_actions_on_one_item_of_a_transaction(client):
    connection = Thing._get_connection().connection
    found = refused(refused_by_moto_too(lambda: connection.transact_write_items(
        condition_check_items=[], delete_items=[], put_items=[{"TableName": TABLE, "Item": key(1)}],
        update_items=[{"TableName": TABLE, "Key": key(1), "UpdateExpression": "SET n = :n",
                       "ExpressionAttributeValues": {":n": {"N": "1"}}}])))
    assert [m.split(" [")[0] for m in found] == [
        "TransactWriteItems: two actions on one item of limits ({'pk': ('S', 'p'), 'sk': ('S', '0001')}); "
        "DynamoDB refuses the transaction (ValidationException)"]


def test_an_item_of_401_kb(client):
    item = {**key(1), "text": {"S": "x" * 401 * 1024}}
    found = refused(refused_by_moto_too(lambda: client.put_item(TableName=TABLE, Item=item)))
    assert [m.split(" [")[0] for m in found] == [
        f"PutItem: an item of {9 + 4 + 401 * 1024} bytes into limits; the limit is 409600 (400 KB)"]


def test_an_item_moto_measures_under_400_kb(client):
    """moto counts a list's elements without DynamoDB's byte each, and no list overhead: it stores this item."""
    item = {**key(1), "text": {"S": "x" * 300_000}, "flags": {"L": [{"BOOL": True}] * 55_000}}
    assert item_size(item) == 9 + 4 + 300_000 + 5 + 3 + 55_000 * 2 == 410_021  # the key's 9 bytes
    found = refused(lambda: client.put_item(TableName=TABLE, Item=item))
    assert [m.split(" [")[0] for m in found] == ["PutItem: an item of 410021 bytes into limits; the limit is 409600 "
                                                 "(400 KB)"]
    assert client.get_item(TableName=TABLE, Key=key(1))["Item"]["text"]["S"] == "x" * 300_000
    with_batch = refused(lambda: client.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": item}}]}))
    assert [m.split(" [")[0] for m in with_batch] == [
        "BatchWriteItem: an item of 410021 bytes into limits; the limit is 409600 (400 KB)"]


def test_an_update_that_leaves_an_item_over_400_kb(client):
    client.put_item(TableName=TABLE, Item={**key(1), "text": {"S": "x" * 300_000}})
    found = refused(lambda: client.update_item(
        TableName=TABLE, Key=key(1), UpdateExpression="SET flags = :f",
        ExpressionAttributeValues={":f": {"L": [{"BOOL": True}] * 55_000}}))
    assert [m.split(" [")[0] for m in found] == [
        "UpdateItem (the updated item): an item of 410021 bytes into limits; the limit is 409600 (400 KB)"]


def test_a_transaction_of_more_than_4_mb(client):
    actions = [{"Put": {"TableName": TABLE, "Item": {**key(i), "text": {"S": "x" * 390 * 1024}}}} for i in range(11)]
    found = refused(lambda: client.transact_write_items(TransactItems=actions))  # moto writes all 11
    assert [m.split(" [")[0] for m in found] == [
        f"TransactWriteItems: {11 * (9 + 4 + 390 * 1024)} bytes of items in one transaction; the limit is 4194304 "
        "(4 MB)"]


def test_a_query_limit_above_a_page(client):
    found = refused(lambda: client.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                                         ExpressionAttributeValues={":p": {"S": "p"}}, Limit=1001))
    assert [m.split(" [")[0] for m in found] == [
        "Query on limits: Limit 1001; DynamoDB refuses below 1, and this app never asks more than 1000 (a page holds "
        "at most 1 MB anyway)"]
    assert refused(lambda: client.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                                        ExpressionAttributeValues={":p": {"S": "p"}}, Limit=1000)) == []


def test_moto_stops_a_query_page_at_1_mb(client):
    """Real DynamoDB answers at most 1 MB of items a page: moto does too (by its own measure), so the app's paging is
    exercised here as it is on AWS."""
    for i in range(4):
        client.put_item(TableName=TABLE, Item={**key(i), "text": {"S": "x" * 300_000}})
    page = client.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert page["Count"] == 3 and "LastEvaluatedKey" in page


def test_a_page_over_1_mb_by_dynamodb_rules():
    """moto's measure lets a page of lists through that DynamoDB's rules put over 1 MB: the answer is measured."""
    import json
    item = {"pk": {"S": "p"}, "flags": {"L": [{"BOOL": True}] * 200_000}}
    body = json.dumps({"Items": [item] * 3, "Count": 3})
    assert [m.split(" [")[0] for m in page_violations("Query", {"TableName": TABLE}, body)] == [
        f"Query on limits: a page of {3 * (3 + 5 + 3 + 200_000 * 2)} bytes of items; DynamoDB stops a page at 1048576 "
        "(1 MB)"]
    assert page_violations("Query", {"TableName": TABLE}, json.dumps({"Items": [item], "Count": 1})) == []


@pytest.mark.parametrize("value, size", [
    ({"S": "héllo"}, 6), ({"N": "12.50"}, 3), ({"N": "-0.001"}, 3), ({"N": "100000"}, 2), ({"N": "0"}, 2),
    ({"B": b"\x00\x01\x02"}, 3), ({"B": "AAEC"}, 3), ({"BOOL": False}, 1), ({"NULL": True}, 1),
    ({"SS": ["ab", "c"]}, 3), ({"L": []}, 3), ({"L": [{"S": "ab"}, {"N": "7"}]}, 3 + 3 + 3),
    ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1)])
def test_sizes_by_dynamodb_rules(value, size):
    assert item_size({"a": value}) == 1 + size


def test_a_request_over_a_limit_fails_its_test_at_the_end(pytester):
    """Through the suite's own fixtures: the request goes through (moto writes it) and the test still fails."""
    pytester.makeconftest("from tests.aws import aws, dynamodb_within_limits  # noqa: F401\n")
    pytester.makepyfile(test_inner="""
        import boto3

        def test_writes_26_decisions(aws):
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.batch_write_item(RequestItems={"billrun-dev-billing-decisions": [
                {"PutRequest": {"Item": {"job_key": {"S": "j"}, "customer_id": {"S": str(i)}}}} for i in range(26)]})
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)  # the call passed; its teardown failed it
    result.stdout.fnmatch_lines([
        "*1 DynamoDB request(s) over real DynamoDB's limits:*",
        "BatchWriteItem: 26 put/delete requests in one request; the limit is 25 "
        "[[]test_inner.py:5 test_writes_26_decisions]"])
