"""The deployable stages and their names, read from .chalice/config.json (the one place a stage is configured)."""
import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".chalice" / "config.json"
DEPLOYABLE = ("dev", "prod")  # 'local' is the embedded stack (`make run`): never deployed


@dataclass(frozen=True)
class Stage:
    name: str            # BILLRUN_STAGE: also the Stage dimension of billrun's custom metrics
    prefix: str          # BILLRUN_TABLE_PREFIX: tables are <prefix>-<table>, and every other name starts with it
    work_queue: str      # BILLRUN_WORK_QUEUE
    lambda_timeout: int  # seconds, as Chalice gives every function of the stage

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}-work-dlq"


def stage(name: str) -> Stage:
    config = json.loads(CONFIG.read_text())
    settings = config["stages"][name]
    env = {**config.get("environment_variables", {}), **settings.get("environment_variables", {})}
    return Stage(name=env["BILLRUN_STAGE"], prefix=env["BILLRUN_TABLE_PREFIX"], work_queue=env["BILLRUN_WORK_QUEUE"],
                 lambda_timeout=int(settings.get("lambda_timeout", config.get("lambda_timeout", 60))))
