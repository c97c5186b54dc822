"""infra/ is generated from the models, and deploying it yields exactly the tables the app expects."""
from pathlib import Path

import boto3
import simplejson
from moto import mock_aws

from chalicelib.store import tables
from chalicelib.store.models import TenantModel
from chalicelib.store.tables import ALL_MODELS
from infra.tables import template, template_json

ROOT = Path(__file__).resolve().parents[2]


def test_committed_template_is_current():
    assert (ROOT / "infra" / "tables.json").read_text() == template_json(), "run `make infra`"


def test_template_deploys_into_cloudformation_and_matches_the_models():
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(StackName="billrun-tables", TemplateBody=simplejson.dumps(template()),
                         Parameters=[{"ParameterKey": "Prefix", "ParameterValue": "billrun-dev"}])
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for model in ALL_MODELS:
            described = dynamodb.describe_table(TableName=tables.table_name(model))["Table"]
            schema = model._get_schema()
            assert {(k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]} == {
                (k["AttributeName"], k["KeyType"]) for k in schema["key_schema"]}
            assert {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])} == {
                i["index_name"] for i in schema["global_secondary_indexes"]}
        # and the app works on the deployed tables
        tables.bind(force=True)
        assert TenantModel.exists()
