"""Batched reads and writes (chalicelib/store/batch.py) when DynamoDB processes only part of a batch: what it left
unprocessed is sent again, after a pause that grows (an immediate resend meets the same throttle), until every item
is in or the attempts are spent. moto always processes everything: tests.support.PartialBatches answers as DynamoDB
may."""
import pytest

from chalicelib.domain.billing_jobs import Decision
from chalicelib.store import batch
from chalicelib.store.billing_models import DecisionModel
from tests.support import PartialBatches

JOB = "t1#job-1"


def decisions(n: int) -> list[DecisionModel]:
    return [DecisionModel.from_entity(Decision(f"c{i:03d}", "Billed", None), job_key=JOB) for i in range(n)]


def stored() -> list[str]:
    return [item.customer_id for item in DecisionModel.query(JOB, consistent_read=True)]


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    taken: list[float] = []
    monkeypatch.setattr(batch, "sleep", taken.append)
    return taken


def test_put_many_sends_again_what_dynamodb_left_unprocessed(aws, monkeypatch, pauses):
    partial = PartialBatches(monkeypatch)
    batch.put_many(decisions(60))
    assert stored() == [f"c{i:03d}" for i in range(60)]
    assert partial.cut == [("BatchWriteItem", 12, 13), ("BatchWriteItem", 12, 13), ("BatchWriteItem", 5, 5)]
    assert partial.pending == set() and len(pauses) == 3  # one resend of each request, each after a pause


def test_get_many_asks_again_for_the_keys_dynamodb_left_unprocessed(aws, monkeypatch, pauses):
    batch.put_many(decisions(150))
    partial = PartialBatches(monkeypatch)
    found = batch.get_many(DecisionModel, [(JOB, f"c{i:03d}") for i in range(150)])
    assert sorted(item.customer_id for item in found) == [f"c{i:03d}" for i in range(150)]
    assert partial.cut == [("BatchGetItem", 50, 50), ("BatchGetItem", 25, 25)]
    assert partial.pending == set() and len(pauses) == 2


def test_get_many_reads_only_the_attributes_asked_for(aws, monkeypatch, pauses):
    batch.put_many(decisions(3))
    PartialBatches(monkeypatch)
    found = batch.get_many(DecisionModel, [(JOB, "c000"), (JOB, "c002")], attributes=["customer_id"])
    assert sorted((item.customer_id, item.decision) for item in found) == [("c000", None), ("c002", None)]


@pytest.mark.parametrize("operation", ["put_many", "get_many"])
def test_each_resend_waits_longer(aws, monkeypatch, pauses, operation):
    """Items left unprocessed three times in a row (PynamoDB's own batch_write gives up after two immediate resends)."""
    batch.put_many(decisions(5))
    pauses.clear()
    partial = PartialBatches(monkeypatch, times=3)
    if operation == "put_many":
        batch.put_many(decisions(5))
    else:
        assert len(batch.get_many(DecisionModel, [(JOB, f"c{i:03d}") for i in range(5)])) == 5
    # 5 sent, 3 left; 3 sent again, 2 left; 2 sent again, 1 left (the third time for it); that one sent again
    assert [(processed, left) for _, processed, left in partial.cut] == [(2, 3), (1, 2), (1, 1)]
    assert partial.pending == set() and len(pauses) == 3
    for attempt, pause in enumerate(pauses, start=1):
        ceiling = min(batch.MAX_PAUSE, batch.FIRST_PAUSE * 2 ** (attempt - 1))
        assert ceiling / 2 <= pause <= ceiling


@pytest.mark.parametrize("operation", ["put_many", "get_many"])
def test_items_still_unprocessed_after_every_attempt_are_an_error(aws, monkeypatch, pauses, operation):
    batch.put_many(decisions(1))
    partial = PartialBatches(monkeypatch, times=batch.ATTEMPTS)
    what = "put requests" if operation == "put_many" else "keys"
    with pytest.raises(batch.Unprocessed, match=f"1 {what} of billrun-dev-billing-decisions still unprocessed "
                                                f"after {batch.ATTEMPTS} requests"):
        if operation == "put_many":
            batch.put_many(decisions(1))
        else:
            batch.get_many(DecisionModel, [(JOB, "c000")])
    assert len(partial.cut) == batch.ATTEMPTS and len(pauses) == batch.ATTEMPTS - 1
