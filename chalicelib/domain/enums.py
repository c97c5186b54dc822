"""Enumerations and their forgiving input: case-insensitive, spaces and underscores ignored."""
from enum import Enum


class CanonicalEnum(str, Enum):
    """Output is canonical PascalCase; input such as 'pending activation' or 'PENDING_ACTIVATION' matches."""

    @classmethod
    def parse(cls, value):
        if isinstance(value, cls):
            return value
        key = _squash(str(value))
        for member in cls:
            if _squash(member.value) == key:
                return member
        allowed = ", ".join(m.value for m in cls)
        raise ValueError(f"must be one of {allowed}")


def _squash(text: str) -> str:
    return text.replace(" ", "").replace("_", "").replace("-", "").lower()


class BillingPeriod(CanonicalEnum):
    DAY = "Day"
    WEEK = "Week"
    MONTH = "Month"
    QUARTER = "Quarter"
    SEMI_ANNUAL = "SemiAnnual"
    ANNUAL = "Annual"


class ProductType(CanonicalEnum):
    RECURRING = "Recurring"
    ONE_TIME = "OneTime"


class BillingTiming(CanonicalEnum):
    IN_ADVANCE = "InAdvance"
    IN_ARREARS = "InArrears"


class OrderStatus(CanonicalEnum):
    DRAFT = "Draft"
    ACTIVATED = "Activated"


class SubscriptionStatus(CanonicalEnum):
    ACTIVE = "Active"
    CANCELED = "Canceled"


class ScheduleType(CanonicalEnum):
    ON_DEMAND = "OnDemand"
    RECURRING = "Recurring"


class ScheduleStatus(CanonicalEnum):
    DRAFT = "Draft"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
