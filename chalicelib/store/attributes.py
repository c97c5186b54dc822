"""PynamoDB attributes that round-trip domain types exactly (NumberAttribute would pass money through float)."""
from datetime import date
from decimal import Decimal

from pynamodb.attributes import Attribute
from pynamodb.constants import NUMBER, STRING


class DecimalAttribute(Attribute[Decimal]):
    """A DynamoDB Number holding a Decimal: sent and read as its exact string form."""
    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        return str(Decimal(value))

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class DateAttribute(Attribute[date]):
    """A calendar date as YYYY-MM-DD, which sorts as it reads."""
    attr_type = STRING

    def serialize(self, value: date) -> str:
        return value.isoformat()

    def deserialize(self, value: str) -> date:
        return date.fromisoformat(value)


class EnumAttribute(Attribute):
    """A domain enum stored by its canonical value."""
    attr_type = STRING

    def __init__(self, enum_cls, **kwargs):
        super().__init__(**kwargs)
        self.enum_cls = enum_cls

    def serialize(self, value) -> str:
        return self.enum_cls(value).value

    def deserialize(self, value: str):
        return self.enum_cls(value)
