"""What the merge template adds to each Lambda function Chalice generates: the role, the PDF bucket, a log group.

The functions are read from the app (as `chalice package` does): APIHandler for the routes, one function per
event handler (`tick`, `worker`), named as Chalice names their CloudFormation resources. Functions fed by SQS
depend on the work queue: Chalice's event source names the queue by ARN only, so without the dependency
CloudFormation could create the event source mapping before the queue."""
from dataclasses import dataclass

from chalice.app import SQSEventConfig
from chalice.utils import to_cfn_resource_name

from .stages import Stage

LOG_RETENTION_DAYS = 90
DELETED_WITH_THE_STACK = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}


@dataclass(frozen=True)
class Function:
    logical_id: str
    reads_queue: bool

    @property
    def log_group(self) -> str:
        return f"{self.logical_id}LogGroup"


def functions() -> list[Function]:
    from app import app
    found = [Function("APIHandler", False)] if app.routes else []
    found += [Function(to_cfn_resource_name(source.name), isinstance(source, SQSEventConfig))
              for source in app.event_sources]
    found += [Function(to_cfn_resource_name(name), False) for name in app.pure_lambda_functions]
    return found


def resources(stage: Stage) -> dict:
    merged = {}
    for f in functions():
        override = {"Properties": {
            "Role": {"Fn::GetAtt": ["LambdaRole", "Arn"]},
            "Environment": {"Variables": {"BILLRUN_PDF_BUCKET": {"Ref": "PdfBucket"}}},
            "LoggingConfig": {"LogGroup": {"Ref": f.log_group}},
        }}
        if f.reads_queue:
            override["DependsOn"] = ["WorkQueue"]
        merged[f.logical_id] = override
        merged[f.log_group] = {"Type": "AWS::Logs::LogGroup", **DELETED_WITH_THE_STACK, "Properties": {
            "LogGroupName": f"/aws/lambda/{stage.prefix}-{f.logical_id}", "RetentionInDays": LOG_RETENTION_DAYS}}
    return merged
