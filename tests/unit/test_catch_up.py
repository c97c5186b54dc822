"""How far back a date being set may lie (BILLRUN_MAX_CATCH_UP_DAYS): the one helper the three services share."""
from datetime import date, timedelta

import pytest

from chalicelib.domain.catch_up import require_recent, require_recent_if_set
from chalicelib.domain.errors import BillrunError

TODAY = date(2026, 6, 15)


def test_the_bound_is_inclusive():
    assert require_recent(TODAY - timedelta(days=400), TODAY, 400, "f") == date(2025, 5, 11)
    assert require_recent(TODAY, TODAY, 0, "f") == TODAY
    assert require_recent(date(2099, 1, 1), TODAY, 0, "f") == date(2099, 1, 1)  # the future is not bounded here


def test_older_is_a_400_naming_the_field_the_limit_and_the_setting():
    with pytest.raises(BillrunError) as caught:
        require_recent(TODAY - timedelta(days=401), TODAY, 400, "schedule.nextDueDate")
    error = caught.value
    assert error.kind == "invalid" and [d.field for d in error.details] == ["schedule.nextDueDate"]
    assert error.details[0].issue == ("2025-05-10 is 401 days before today (2026-06-15); it may lie at most 400 "
                                      "days back, from 2025-05-11 on (BILLRUN_MAX_CATCH_UP_DAYS)")


def test_only_a_value_being_set_is_checked():
    old = TODAY - timedelta(days=1000)
    assert require_recent_if_set(old, old, TODAY, 400, "f") == old  # kept as stored: another field changed
    with pytest.raises(BillrunError):
        require_recent_if_set(old, None, TODAY, 400, "f")  # a create
    with pytest.raises(BillrunError):
        require_recent_if_set(old, old + timedelta(days=1), TODAY, 400, "f")  # changed, still too old
