"""CloudFormation for billrun's DynamoDB tables, rendered from the PynamoDB models so the two cannot drift.

    python -m infra.tables > infra/tables.json      (`make infra` does this)

Parameter Prefix names the tables `<Prefix>-<table>` as BILLRUN_TABLE_PREFIX does for the app."""
import json

from chalicelib.store.tables import _SUFFIX, ALL_MODELS

TTL_ATTRIBUTES = {"idempotency": "expires_at"}


def _logical_id(suffix: str) -> str:
    return "".join(part.title() for part in suffix.split("-")) + "Table"


def _keys(schema: list[dict]) -> list[dict]:
    order = {"HASH": 0, "RANGE": 1}
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema),
                  key=lambda k: order[k["KeyType"]])


def table_resource(model) -> dict:
    schema = model._get_schema()
    suffix = _SUFFIX[model]
    definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    for index in schema["global_secondary_indexes"]:
        definitions.update({d["AttributeName"]: d["AttributeType"] for d in index["attribute_definitions"]})
    properties = {
        "TableName": {"Fn::Sub": f"${{Prefix}}-{suffix}"},
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
    if suffix in TTL_ATTRIBUTES:
        properties["TimeToLiveSpecification"] = {"AttributeName": TTL_ATTRIBUTES[suffix], "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": properties}


def template() -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "billrun DynamoDB tables (generated from chalicelib/store/models.py)",
        "Parameters": {"Prefix": {"Type": "String", "Default": "billrun-dev",
                                  "Description": "table name prefix, as BILLRUN_TABLE_PREFIX"}},
        "Resources": {_logical_id(_SUFFIX[m]): table_resource(m) for m in ALL_MODELS},
        "Outputs": {f"{_logical_id(_SUFFIX[m])}Name": {"Value": {"Ref": _logical_id(_SUFFIX[m])}}
                    for m in ALL_MODELS},
    }


def template_json() -> str:
    return json.dumps(template(), indent=2) + "\n"


if __name__ == "__main__":
    print(template_json(), end="")
