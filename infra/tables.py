"""The DynamoDB tables, rendered from the PynamoDB models so infra and code cannot drift apart: keys, GSIs, TTL,
point-in-time recovery, encryption at rest. Tables are retained when the stack is deleted (they hold the invoices)."""
from chalicelib.store.tables import _SUFFIX, ALL_MODELS


def logical_id(model) -> str:
    return "".join(part.title() for part in _SUFFIX[model].split("-")) + "Table"


def has_indexes(model) -> bool:
    return bool(model._get_schema()["global_secondary_indexes"])


def _keys(schema: list[dict]) -> list[dict]:
    order = {"HASH": 0, "RANGE": 1}
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema),
                  key=lambda k: order[k["KeyType"]])


def table_resource(model, prefix: str) -> dict:
    schema = model._get_schema()
    suffix = _SUFFIX[model]
    definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    for index in schema["global_secondary_indexes"]:
        definitions.update({d["AttributeName"]: d["AttributeType"] for d in index["attribute_definitions"]})
    properties = {
        "TableName": f"{prefix}-{suffix}",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(definitions.items())],
        "KeySchema": _keys(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if schema["global_secondary_indexes"]:
        properties["GlobalSecondaryIndexes"] = [
            {"IndexName": i["index_name"], "KeySchema": _keys(i["key_schema"]), "Projection": i["projection"]}
            for i in schema["global_secondary_indexes"]]
    ttl = model._ttl_attribute()  # PynamoDB's TTLAttribute: DynamoDB deletes the item once that instant passed
    if ttl is not None:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": properties}


def resources(prefix: str) -> dict:
    return {logical_id(model): table_resource(model, prefix) for model in ALL_MODELS}
