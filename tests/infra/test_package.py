"""`chalice package` with the merge template (what `make package` builds) passes cfn-lint, and the merge wires
every function to the role, the PDF bucket and its log group, and the worker to the work queue."""
import re
import subprocess

import pytest

from infra.stages import DEPLOYABLE, stage
from tests.infra.conftest import BIN, load

FUNCTIONS = {"APIHandler", "Tick", "Worker"}


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_packaged_template_passes_cfn_lint(packaged, stage_name):
    # as `make lint-infra` runs it: errors, warnings and informational checks
    done = subprocess.run([str(BIN / "cfn-lint"), "--include-checks", "I", "--", str(packaged[stage_name])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def _functions(template: dict) -> dict:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_every_function_runs_as_the_role_with_the_stage_settings_and_the_pdf_bucket(packaged, stage_name):
    template, s = load(packaged[stage_name]), stage(stage_name)
    functions = _functions(template)
    assert set(functions) == FUNCTIONS
    for logical_id, function in functions.items():
        properties = function["Properties"]
        assert properties["Role"] == {"Fn::GetAtt": ["LambdaRole", "Arn"]}, logical_id
        assert properties["Environment"]["Variables"] == {  # Chalice's stage variables, deep-merged with the bucket
            "BILLRUN_STAGE": s.name, "BILLRUN_TABLE_PREFIX": s.prefix, "BILLRUN_WORK_QUEUE": s.work_queue,
            "BILLRUN_PDF_BUCKET": {"Ref": "PdfBucket"}}, logical_id
        assert properties["LoggingConfig"] == {"LogGroup": {"Ref": f"{logical_id}LogGroup"}}
        assert properties["Timeout"] == s.lambda_timeout
    assert "replaced-by-the-infra-merge-template" not in packaged[stage_name].read_text()
    assert [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"] == [
        template["Resources"]["LambdaRole"]]


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_worker_reads_the_work_queue_which_is_created_first(packaged, stage_name):
    template = load(packaged[stage_name])
    worker, queue = template["Resources"]["Worker"], template["Resources"]["WorkQueue"]["Properties"]
    [source] = worker["Properties"]["Events"].values()
    assert source["Type"] == "SQS" and source["Properties"]["BatchSize"] == 1
    # Chalice names the queue by ARN from the app's queue name: it is the template's work queue...
    arn = source["Properties"]["Queue"]["Fn::Sub"]
    assert re.fullmatch(r"arn:\$\{AWS::Partition\}:sqs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:(.+)", arn)[1] == \
        queue["QueueName"] == stage(stage_name).work_queue
    # ...which CloudFormation must create before the function (and so before its event source mapping)
    assert worker["DependsOn"] == ["WorkQueue"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Properties"]["Timeout"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 3}


@pytest.mark.parametrize("stage_name", DEPLOYABLE)
def test_alarms_watch_the_dead_letter_queue_and_late_schedules(packaged, stage_name):
    resources = load(packaged[stage_name])["Resources"]
    alarms = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"WorkDeadLetterQueueAlarm", "LateSchedulesAlarm"}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert (alarm["Statistic"], alarm["Period"], alarm["ComparisonOperator"]) == (
            "Maximum", 300, "GreaterThanThreshold")
    dlq = alarms["WorkDeadLetterQueueAlarm"]
    assert (dlq["Namespace"], dlq["MetricName"], dlq["Threshold"], dlq["EvaluationPeriods"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", 0, 1)
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]}}]
    late = alarms["LateSchedulesAlarm"]
    assert (late["Namespace"], late["MetricName"], late["Threshold"]) == ("billrun", "TickLagSeconds", 600)
    # the tick emits every minute, so silence means a dead tick: it alarms; an idle DLQ publishes nothing: it does not
    assert (late["TreatMissingData"], dlq["TreatMissingData"]) == ("breaching", "notBreaching")
    assert (late["EvaluationPeriods"], late["DatapointsToAlarm"]) == (2, 2)
    assert late["Dimensions"] == [{"Name": "Stage", "Value": stage_name}]
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
