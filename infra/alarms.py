"""Alarms, and the SNS topic they notify (with an optional email subscription: parameter AlarmEmail).

- The work DLQ holds a message: some billing work failed MAX_RECEIVES times and waits for a human.
- Late schedules: every live tick reports how late the oldest work due in the live clock is as the custom
  metric billrun/TickLagSeconds (Embedded Metric Format, dimension Stage; 0 when nothing is due; see
  chalicelib/services/tick.py). Alarm when the worst lateness stays over 10 minutes for two consecutive 5-minute
  periods. The tick emits it every minute (0 when nothing is due), so no data means no tick ran: that breaches
  too, and a dead tick alarms like a late one. (The DLQ's SQS metric is absent while the queue is idle: not
  breaching.)"""
from .stages import Stage

METRICS_NAMESPACE = "billrun"
TICK_LAG_METRIC = "TickLagSeconds"
TICK_LAG_THRESHOLD_SECONDS = 600
PERIOD_SECONDS = 300


def parameters() -> dict:
    return {"AlarmEmail": {"Type": "String", "Default": "",
                           "Description": "email address notified of billrun alarms (empty: no subscription)"}}


def conditions() -> dict:
    return {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}}


def _alarm(name: str, description: str, missing: str, **metric) -> dict:
    topic = [{"Ref": "AlarmTopic"}]
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": name, "AlarmDescription": description, "AlarmActions": topic, "OKActions": topic,
        "Statistic": "Maximum", "Period": PERIOD_SECONDS, "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": missing, **metric}}


def resources(stage: Stage) -> dict:
    return {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{stage.prefix}-alarms"}},
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail", "Properties": {
            "TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}},
        "WorkDeadLetterQueueAlarm": _alarm(
            f"{stage.prefix}-work-dlq-not-empty",
            "Billing work failed repeatedly and waits in the dead-letter queue", "notBreaching",
            Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]}}],
            Threshold=0, EvaluationPeriods=1),
        "LateSchedulesAlarm": _alarm(
            f"{stage.prefix}-late-schedules",
            f"The live tick runs due work more than {TICK_LAG_THRESHOLD_SECONDS} s late, or does not run",
            "breaching",
            Namespace=METRICS_NAMESPACE, MetricName=TICK_LAG_METRIC,
            Dimensions=[{"Name": "Stage", "Value": stage.name}],
            Threshold=TICK_LAG_THRESHOLD_SECONDS, EvaluationPeriods=2, DatapointsToAlarm=2),
    }
