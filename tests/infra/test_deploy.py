"""The packaged template's DynamoDB, SQS and S3 resources, deployed into moto's CloudFormation, are what the app
needs: a billing job runs end to end on them (no table or bucket created by the app), and every AWS call the app
makes on the way is allowed by the template's Lambda role."""
import json
import re
from contextlib import contextmanager
from decimal import Decimal
from fnmatch import fnmatchcase

import boto3
import botocore.client
import botocore.exceptions
import pytest
from moto import mock_aws

from chalicelib.store import tables
from chalicelib.store.tables import ALL_MODELS
from tests.functional.test_billing_api import advance, clock_tenant, listed, new_schedule, subscribe
from tests.infra.conftest import load

# moto's CloudFormation deploys these (it skips AWS::S3::BucketPolicy, and the rest is not data)
DEPLOYED = {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"}
ACCOUNT, REGION = "123456789012", "us-east-1"


def _refs(value) -> set[str]:
    text = json.dumps(value)
    return (set(re.findall(r'"Ref": "(\w+)"', text)) | set(re.findall(r'"Fn::GetAtt": \["(\w+)"', text))
            | {m.split(".")[0] for m in re.findall(r"\$\{([\w.]+)\}", text)})


def data_template(packaged: dict) -> dict:
    """The packaged template's data resources alone; nothing they reference is left behind."""
    resources = {k: r for k, r in packaged["Resources"].items() if r["Type"] in DEPLOYED}
    for logical_id, resource in resources.items():
        unresolved = {r for r in _refs(resource) if r not in resources and not r.startswith("AWS::")}
        assert not unresolved, f"{logical_id} references {unresolved}"
    return {"AWSTemplateFormatVersion": packaged["AWSTemplateFormatVersion"], "Resources": resources}


@pytest.fixture
def stack(packaged, monkeypatch):
    """The dev stage's data resources in moto's CloudFormation; the app pointed at them (as the packaged
    functions' environment does), by logical id -> physical id."""
    template = load(packaged["dev"])
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="billrun-dev", TemplateBody=json.dumps(data_template(template)))
        physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                    for r in cfn.describe_stack_resources(StackName="billrun-dev")["StackResources"]}
        assert set(physical) == set(data_template(template)["Resources"])
        environment = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
        assert environment["BILLRUN_PDF_BUCKET"] == {"Ref": "PdfBucket"}
        monkeypatch.setenv("BILLRUN_TABLE_PREFIX", environment["BILLRUN_TABLE_PREFIX"])
        monkeypatch.setenv("BILLRUN_PDF_BUCKET", physical["PdfBucket"])
        tables.bind(force=True)
        yield {"template": template, "physical": physical}
    tables.bind(force=True)


def _projection(projection: dict) -> tuple:
    return projection["ProjectionType"], frozenset(projection.get("NonKeyAttributes", ()))


def test_deployed_tables_are_the_models(stack):
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    assert set(dynamodb.list_tables()["TableNames"]) == {tables.table_name(m) for m in ALL_MODELS}
    for model in ALL_MODELS:
        described = dynamodb.describe_table(TableName=tables.table_name(model))["Table"]
        schema = model._get_schema()
        assert {(k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]} == {
            (k["AttributeName"], k["KeyType"]) for k in schema["key_schema"]}
        assert {(i["IndexName"], frozenset((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]),
                 _projection(i["Projection"])) for i in described.get("GlobalSecondaryIndexes", [])} == {
            (i["index_name"], frozenset((k["AttributeName"], k["KeyType"]) for k in i["key_schema"]),
             _projection(i["projection"])) for i in schema["global_secondary_indexes"]}
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # moto's CloudFormation skips TimeToLiveSpecification and PointInTimeRecoverySpecification, and reports no
    # SSEDescription: test_generated.py checks them in the template


def test_deployed_queues_and_bucket(stack):
    sqs, s3 = boto3.client("sqs", region_name=REGION), boto3.client("s3", region_name=REGION)
    work = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="billrun-dev-work")["QueueUrl"],
                                    AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="billrun-dev-work-dlq")["QueueUrl"],
                                   AttributeNames=["All"])["Attributes"]
    assert json.loads(work["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 3}
    assert int(work["VisibilityTimeout"]) == 6 * 300
    assert int(dlq["MessageRetentionPeriod"]) == 14 * 24 * 3600
    bucket = stack["physical"]["PdfBucket"]
    assert bucket == f"billrun-dev-pdfs-{ACCOUNT}"
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    # moto's CloudFormation applies only BucketEncryption and Tags of AWS::S3::Bucket: the rest is checked as
    # written in the packaged template (and cfn-lint validated it against the resource schema)
    properties = stack["template"]["Resources"]["PdfBucket"]["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert {r["Id"]: r for r in properties["LifecycleConfiguration"]["Rules"]} == {
        "ExpireNoncurrentPdfs": {"Id": "ExpireNoncurrentPdfs", "Status": "Enabled",
                                 "NoncurrentVersionExpiration": {"NoncurrentDays": 365}},
        "AbortIncompleteUploads": {"Id": "AbortIncompleteUploads", "Status": "Enabled",
                                   "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}}
    [tls_only] = stack["template"]["Resources"]["PdfBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (tls_only["Effect"], tls_only["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


@contextmanager
def recorded_calls(monkeypatch):
    """Every AWS API call made inside the block (boto3 for S3 and SQS, PynamoDB through botocore), as IAM sees it:
    a list of (action, resource ARN)."""
    requests, original, recording = [], botocore.client.BaseClient._make_api_call, [True]

    def recorded(client, operation, params):
        if recording[0]:
            requests.extend(_iam_requests(client.meta.service_model.service_name, operation, params))
        try:
            return original(client, operation, params)
        except botocore.exceptions.ClientError as error:
            if recording[0] and operation == "HeadObject" and error.response["Error"]["Code"] == "404":
                # S3 answers 404 for a missing key only to callers allowed to list the bucket (else 403)
                requests.append(("s3:ListBucket", f"arn:aws:s3:::{params['Bucket']}"))
            raise

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
    try:
        yield requests
    finally:
        recording[0] = False


def _iam_requests(service: str, operation: str, params: dict) -> list[tuple[str, str]]:
    """(action, resource ARN) pairs IAM authorizes for one API call."""
    if service == "dynamodb":
        table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
        if operation in ("BatchGetItem", "BatchWriteItem"):  # authorized on each table it names
            return [(f"dynamodb:{operation}", table + name) for name in params["RequestItems"]]
        if operation == "TransactWriteItems":  # each action authorized as the single-item call it is
            verbs = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}
            return [(f"dynamodb:{verbs[kind]}", table + op["TableName"])
                    for action in params["TransactItems"] for kind, op in action.items()]
        arn = table + params["TableName"]
        return [(f"dynamodb:{operation}", arn + (f"/index/{params['IndexName']}" if "IndexName" in params else ""))]
    if service == "s3":
        action = {"HeadObject": "s3:GetObject", "GetObject": "s3:GetObject", "PutObject": "s3:PutObject",
                  "HeadBucket": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket"}[operation]
        key = f"/{params['Key']}" if "Key" in params else ""
        return [(action, f"arn:aws:s3:::{params['Bucket']}{key}")]
    if service == "sqs":
        name = params.get("QueueName") or params["QueueUrl"].rsplit("/", 1)[1]
        return [(f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")]
    raise AssertionError(f"the app called {service}:{operation}, which the role does not cover")


def _resolved_policy(stack) -> list[dict]:
    """The role's statements with the deployed resources' ARNs; statements on resources moto did not deploy (the
    log groups: the app calls no Logs API, Lambda writes its output) drop out."""
    arns = {}
    for logical_id, physical in stack["physical"].items():
        kind = stack["template"]["Resources"][logical_id]["Type"]
        arns[logical_id] = {"AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}",
                            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical.rsplit('/', 1)[-1]}",
                            "AWS::S3::Bucket": f"arn:aws:s3:::{physical}"}[kind]

    def resolve(value):
        if "Fn::GetAtt" in value:
            return arns.get(value["Fn::GetAtt"][0])
        logical_id, suffix = re.fullmatch(r"\$\{(\w+)\.Arn\}(.*)", value["Fn::Sub"]).groups()
        return arns[logical_id] + suffix if logical_id in arns else None

    [policy] = stack["template"]["Resources"]["LambdaRole"]["Properties"]["Policies"]
    statements = []
    for statement in policy["PolicyDocument"]["Statement"]:
        resources = [r for r in map(resolve, statement["Resource"]) if r is not None]
        if resources:
            statements.append({**statement, "Resource": resources})
    return statements


def _allowed(statements: list[dict], action: str, resource: str) -> bool:
    return any(action in s["Action"] and any(fnmatchcase(resource, pattern) for pattern in s["Resource"])
               for s in statements if s["Effect"] == "Allow")


def test_billing_runs_end_to_end_on_the_deployed_resources_within_the_role(stack, monkeypatch):
    from chalice.test import Client

    from app import app
    from tests.support import Api

    with recorded_calls(monkeypatch) as requests, Client(app, stage_name="dev") as client:
        api = Api(client)
        # a test-mode tenant with a monthly subscription and a monthly billing schedule; its clock runs 3 slots
        t = clock_tenant(api, "2025-01-01T00:00:00Z")
        customer = api.customer(t, billCycleDay=1)
        subscribe(api, t, customer, api.product(t, price=Decimal("30.00")), startDate="2025-01-01")
        schedule = new_schedule(api, t, scheduleType="Recurring", recurringSchedule="0 0 3 1 * ?")
        assert api.post("/billing/schedules:activate", {"scheduleIds": [schedule["id"]]}, key=t.key).status == 200
        assert advance(api, t, "2025-03-01T12:00:00Z") == {"billingJobs": 3, "invoiceScheduleItems": 0,
                                                              "recurringInvoices": 0, "invoiceJobs": 0, "workUnits": 0}

        invoices = sorted(listed(api, t, "/billing/invoices"), key=lambda i: i["invoiceDate"])
        assert [(i["invoiceDate"], i["startDate"], i["endDate"], i["amount"]) for i in invoices] == [
            ("2025-01-01", "2025-01-01", "2025-01-31", Decimal("60.00")),
            ("2025-02-01", "2025-02-01", "2025-02-28", Decimal("60.00")),
            ("2025-03-01", "2025-03-01", "2025-03-31", Decimal("60.00"))]
        assert {j["status"] for j in listed(api, t, "/billing/jobs")} == {"Completed"}

        pdf = api.get(f"/billing/invoices/{invoices[0]['id']}/pdf", key=t.key)
        assert pdf.status == 200, pdf.body
        # the rest of an invoice's life, the admin listing, the tick and the worker as Lambda invokes them
        last = {"invoiceIds": [invoices[2]["id"]]}
        assert api.post("/billing/invoices:cancel", last, key=t.key).body["succeeded"] == 1
        assert api.delete("/billing/invoices", last, key=t.key).body["succeeded"] == 1
        assert len(api.admin("GET", "/admin/tenants").body["data"]) == 1
        tick = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                               resources=[])
        assert client.lambda_.invoke("tick", tick).payload["clockId"] == "live"
        unit = json.dumps({"tenantId": t.id, "jobId": "no-such-job", "unit": 0, "now": "2025-03-01T12:00:00+00:00"})
        client.lambda_.invoke("worker", client.events.generate_sqs_event([unit], queue_name="billrun-dev-work"))

    # the PDF landed in the template's bucket, encrypted by the bucket's default
    s3 = boto3.client("s3", region_name=REGION)
    [stored] = s3.list_objects_v2(Bucket=stack["physical"]["PdfBucket"])["Contents"]
    assert s3.head_object(Bucket=stack["physical"]["PdfBucket"], Key=stored["Key"])["ServerSideEncryption"] == "AES256"

    statements = _resolved_policy(stack)
    refused = sorted({r for r in requests if not _allowed(statements, *r)})
    assert not refused, f"the role does not allow: {refused}"
    actions = {action for action, _ in requests}
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
            "dynamodb:Scan", "s3:GetObject", "s3:PutObject", "s3:ListBucket"} <= actions, actions
    assert any("/index/" in resource for _, resource in requests)  # index queries are covered too
