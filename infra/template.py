"""The merge template of a stage: every AWS resource billrun needs besides what Chalice generates, deep-merged
into Chalice's SAM template by `chalice package --merge-template` (`make package`).

    python -m infra            writes infra/merge-<stage>.json for every deployable stage (`make infra` does this)"""
import json

from . import alarms, bucket, functions, iam, queues, tables
from .stages import DEPLOYABLE, ROOT, stage


def path(stage_name: str):
    return ROOT / "infra" / f"merge-{stage_name}.json"


def merge_template(stage_name: str) -> dict:
    s = stage(stage_name)
    return {
        "Description": f"billrun, stage {s.name} (Chalice app merged with infra/merge-{stage_name}.json)",
        "Parameters": alarms.parameters(),
        "Conditions": alarms.conditions(),
        "Resources": {**tables.resources(s.prefix), **queues.resources(s), **bucket.resources(s),
                      **alarms.resources(s), **iam.resources(), **functions.resources(s)},
        "Outputs": {
            "PdfBucketName": {"Value": {"Ref": "PdfBucket"}},
            "WorkQueueUrl": {"Value": {"Ref": "WorkQueue"}},
            "WorkDeadLetterQueueUrl": {"Value": {"Ref": "WorkDeadLetterQueue"}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        },
    }


def merge_template_json(stage_name: str) -> str:
    return json.dumps(merge_template(stage_name), indent=2) + "\n"


def write_all() -> list[str]:
    written = []
    for name in DEPLOYABLE:
        path(name).write_text(merge_template_json(name))
        written.append(str(path(name).relative_to(ROOT)))
    return written
