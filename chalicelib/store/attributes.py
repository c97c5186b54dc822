"""PynamoDB attributes that round-trip domain types exactly (NumberAttribute would pass money through float)."""
from datetime import date
from decimal import Decimal
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.constants import BOOLEAN, LIST, MAP, NULL, NUMBER, STRING

from ..domain import json_values


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


class JSONAttribute(Attribute[Any]):
    """Any JSON value (object, array, string, number, boolean, null, nested), read back exactly as written:
    equal values, a Decimal still a Decimal with its exponent, an integer still an integer.

    Stored as its JSON text (json_values.encode) in a String rather than as a native Map or List: a DynamoDB
    Number holds at most 38 significant digits within 1E-130..9.99E+125, so 1E+300 or 1E-300 has no native
    form, and PynamoDB's raw Map/List refuse Decimal altogether. The API bounds the text (MAX_JSON_BYTES).
    Items written before in the native Map/List form still read."""
    attr_type = STRING

    def serialize(self, value: Any) -> str:
        return json_values.encode(value)

    def get_value(self, value: dict) -> Any:
        if MAP in value or LIST in value:
            return value  # the native form, for deserialize to read
        return super().get_value(value)

    def deserialize(self, value: Any) -> Any:
        return json_values.decode(value) if isinstance(value, str) else _native(value)


def _native(value: dict) -> Any:
    """A value of the native Map/List form (an item from before JSONAttribute), numbers exact (not via float)."""
    [(kind, data)] = value.items()
    if kind == MAP:
        return {k: _native(v) for k, v in data.items()}
    if kind == LIST:
        return [_native(v) for v in data]
    if kind == NUMBER:
        return int(data) if data.lstrip("-").isdigit() else Decimal(data)
    if kind in (STRING, BOOLEAN):
        return data
    if kind == NULL:
        return None
    raise ValueError(f"a DynamoDB {kind} is not a JSON value")
