"""The Lambda functions' one role, least privilege: exactly the actions billrun's code calls, on exactly its resources.

Every resource is named by Ref/GetAtt to the resource this template creates (no account, region or name
patterns), and no action is a wildcard. What the code calls:
- DynamoDB: GetItem, PutItem, UpdateItem (conditional writes), DeleteItem, Query (tables and their indexes),
  BatchGetItem and BatchWriteItem (a page of customers is read and written in batches); TransactWriteItems needs
  no action of its own (IAM authorizes each of its puts and updates as PutItem and UpdateItem); Scan on the
  tenants table only (the admin tenant listing; nothing else scans).
- S3: GetObject/PutObject on the PDFs (HeadObject and presigned GETs need GetObject), ListBucket on the bucket
  (so HeadObject on a PDF not rendered yet answers 404, not 403).
- SQS: send to the work queue, and what Lambda's event source mapping needs to receive from it.
- CloudWatch Logs: write to the functions' own log groups (created by the template, so no CreateLogGroup).
  Metrics go out as Embedded Metric Format log lines, which needs no cloudwatch:PutMetricData."""
from chalicelib.store.tables import ALL_MODELS  # first: it loads every model module in an order that works
from chalicelib.store.tenant_models import TenantModel  # noqa: I001

from . import tables
from .functions import functions

TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"]
QUEUE_ACTIONS = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                 "sqs:GetQueueUrl", "sqs:ChangeMessageVisibility"]
QUEUES = ("WorkQueue", "WorkDeadLetterQueue")


def _arn(logical_id: str) -> dict:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def policy_document() -> dict:
    table_resources = []
    for model in ALL_MODELS:
        table_resources.append(_arn(tables.logical_id(model)))
        if tables.has_indexes(model):
            table_resources.append({"Fn::Sub": f"${{{tables.logical_id(model)}.Arn}}/index/*"})
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Tables", "Effect": "Allow", "Action": TABLE_ACTIONS, "Resource": table_resources},
        {"Sid": "TenantListing", "Effect": "Allow", "Action": ["dynamodb:Scan"],
         "Resource": [_arn(tables.logical_id(TenantModel))]},
        {"Sid": "WorkQueues", "Effect": "Allow", "Action": QUEUE_ACTIONS, "Resource": [_arn(q) for q in QUEUES]},
        {"Sid": "InvoicePdfs", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": [{"Fn::Sub": "${PdfBucket.Arn}/*"}]},
        {"Sid": "InvoicePdfBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [_arn("PdfBucket")]},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [_arn(f.log_group) for f in functions()]},
    ]}


def resources() -> dict:
    return {"LambdaRole": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "billrun", "PolicyDocument": policy_document()}],
    }}}
