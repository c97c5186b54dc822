"""infra/ is generated from the code and the stage config, is committed current, and its IAM is least privilege."""
import json
import re

import pytest

from chalicelib.store.tenant_models import TenantModel
from chalicelib.store.tables import _SUFFIX, ALL_MODELS
from infra import tables
from infra.stages import CONFIG, DEPLOYABLE, stage
from infra.template import merge_template, merge_template_json, path


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_committed_merge_template_is_current(stage_name):
    assert path(stage_name).read_text() == merge_template_json(stage_name), "run `make infra`"


def test_stage_config_names_everything_after_the_stage():
    config = json.loads(CONFIG.read_text())
    for name, settings in config["stages"].items():
        env = settings["environment_variables"]
        assert env["BILLRUN_STAGE"] == name
        assert env["BILLRUN_TABLE_PREFIX"] == f"billrun-{name}"
        assert env["BILLRUN_WORK_QUEUE"] == f"billrun-{name}-work"
        assert "iam_policy_file" not in settings and "manage_iam_role" not in settings
    # the template owns the role (infra/iam.py); Chalice only names a placeholder that the merge replaces
    assert config["manage_iam_role"] is False and config["autogen_policy"] is False


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_tables_are_the_models(stage_name):
    resources = merge_template(stage_name)["Resources"]
    deployed = {r["Properties"]["TableName"] for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"}
    assert deployed == {f"billrun-{stage_name}-{_SUFFIX[m]}" for m in ALL_MODELS}
    idempotency = resources["IdempotencyTable"]["Properties"]
    assert idempotency["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    for model in ALL_MODELS:
        properties = resources[tables.logical_id(model)]["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True}


def _policy(stage_name: str) -> dict:
    role = merge_template(stage_name)["Resources"]["LambdaRole"]["Properties"]
    [policy] = role["Policies"]
    return policy["PolicyDocument"]


def _references(value) -> set[str]:
    """The logical ids a Ref/GetAtt/Sub names."""
    if "Fn::GetAtt" in value:
        return {value["Fn::GetAtt"][0]}
    if "Ref" in value:
        return {value["Ref"]}
    return {m.split(".")[0] for m in re.findall(r"\$\{([^}]+)\}", value["Fn::Sub"])}


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_policy_names_exact_actions_on_this_stacks_resources_only(stage_name):
    template = merge_template(stage_name)
    for statement in _policy(stage_name)["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert re.fullmatch(r"(dynamodb|s3|sqs|logs):[A-Z][A-Za-z]+", action), action  # no '*' anywhere
        for resource in statement["Resource"]:
            assert isinstance(resource, dict), f"{resource}: name resources by Ref/GetAtt, not by pattern"
            for logical_id in _references(resource):
                assert logical_id in template["Resources"], logical_id
            if "Fn::Sub" in resource:  # only an index or object suffix under a resource's own ARN
                assert re.fullmatch(r"\$\{\w+\.Arn\}/(index/\*|\*)", resource["Fn::Sub"]), resource


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_policy_covers_every_table_and_its_indexes(stage_name):
    statements = {s["Sid"]: s for s in _policy(stage_name)["Statement"]}
    granted = statements["Tables"]["Resource"]
    for model in ALL_MODELS:
        logical_id = tables.logical_id(model)
        assert {"Fn::GetAtt": [logical_id, "Arn"]} in granted, model
        index = {"Fn::Sub": f"${{{logical_id}.Arn}}/index/*"}
        assert (index in granted) == bool(model._get_schema()["global_secondary_indexes"]), model
    assert set(statements["Tables"]["Action"]) == {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"}  # transactions: authorized as their puts and updates
    # the one Scan in the code is the admin tenant listing
    assert statements["TenantListing"] == {"Sid": "TenantListing", "Effect": "Allow", "Action": ["dynamodb:Scan"],
                                           "Resource": [{"Fn::GetAtt": [tables.logical_id(TenantModel), "Arn"]}]}


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_policy_grants_the_work_queues_the_pdf_bucket_and_the_log_groups(stage_name):
    statements = {s["Sid"]: s for s in _policy(stage_name)["Statement"]}
    assert set(statements["WorkQueues"]["Action"]) == {
        "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
        "sqs:ChangeMessageVisibility"}
    assert statements["WorkQueues"]["Resource"] == [{"Fn::GetAtt": ["WorkQueue", "Arn"]},
                                                    {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]}]
    assert statements["InvoicePdfs"]["Resource"] == [{"Fn::Sub": "${PdfBucket.Arn}/*"}]
    assert statements["InvoicePdfBucket"]["Resource"] == [{"Fn::GetAtt": ["PdfBucket", "Arn"]}]
    assert statements["Logs"]["Resource"] == [{"Fn::GetAtt": [f"{f}LogGroup", "Arn"]}
                                              for f in ("APIHandler", "Tick", "Worker")]


def test_the_work_queue_outlasts_six_worker_timeouts():
    for stage_name in DEPLOYABLE:
        queue = merge_template(stage_name)["Resources"]["WorkQueue"]["Properties"]
        assert queue["VisibilityTimeout"] >= 6 * stage(stage_name).lambda_timeout
