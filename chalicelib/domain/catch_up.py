"""How far back a date being set may lie: every day behind today is work (slots, invoices, bill runs) that the
next tick catches up on, so a start, a nextDueDate or a runDate is refused beyond a bound (docs/limits.md).
The services pass the bound (BILLRUN_MAX_CATCH_UP_DAYS) and the tenant's today in the relevant zone."""
from datetime import date, timedelta

from .errors import invalid

SETTING = "BILLRUN_MAX_CATCH_UP_DAYS"


def require_recent(value: date, today: date, max_days: int, field_name: str) -> date:
    """`value` itself, when it lies at most `max_days` before `today`; a 400 naming the field otherwise."""
    earliest = today - timedelta(days=max_days)
    if value < earliest:
        raise invalid(field_name, f"{value.isoformat()} is {(today - value).days} days before today "
                                  f"({today.isoformat()}); it may lie at most {max_days} days back, from "
                                  f"{earliest.isoformat()} on ({SETTING})")
    return value


def require_recent_if_set(value: date, before: date | None, today: date, max_days: int, field_name: str) -> date:
    """The bound applies to a value being set (`before` None: a create; or different from `before`): a stored
    date that has fallen behind does not block changes to other fields."""
    if value != before:
        require_recent(value, today, max_days, field_name)
    return value
