"""Free-form JSON values (an invoice's customFields, a billing schedule's dailyObject and customExpression): the
one text form they are stored in, and the bounds every such field is held to.

The text form gives back exactly what was written: a Decimal keeps its digits and exponent (1.50, 1E+300,
1E-300), an integer stays an integer, and no value passes through float."""
from decimal import Decimal
from typing import Any

import simplejson

# One field's JSON text: several such fields and the rest of an item stay far below DynamoDB's 400 KB item.
MAX_JSON_BYTES = 16 * 1024
# Levels of nested arrays and objects: encoding, decoding and reading stay far from Python's recursion limit.
MAX_JSON_DEPTH = 32


def encode(value: Any) -> str:
    """Compact JSON text, ASCII only (other characters as \\u escapes): valid UTF-8 whatever a string holds
    (a lone surrogate the request's JSON escaped, too), and its length is its size in bytes."""
    return simplejson.dumps(_encodable(value), separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def decode(text: str) -> Any:
    """The value `encode` wrote: numbers with a fraction or exponent as Decimal, the others as int."""
    return simplejson.loads(text, use_decimal=True)


def check_bounds(value: Any) -> Any:
    """The value, if it is within MAX_JSON_DEPTH and MAX_JSON_BYTES; ValueError (the issue, for a field) if not."""
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
    size = len(encode(value))  # depth is checked first: encoding recurses
    if size > MAX_JSON_BYTES:
        raise ValueError(f"at most {MAX_JSON_BYTES} bytes as compact JSON text (this is {size})")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels; iterative, so any depth can be asked about."""
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if level > limit:
            return True
        pending.extend((child, level + 1) for child in children)
    return False


def _encodable(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encodable(v) for v in value]
    if isinstance(value, Decimal):
        return simplejson.RawJSON(_decimal_text(value))
    if value is None or isinstance(value, (str, bool, int)):
        return value
    # a float is refused rather than written: it would come back as a Decimal of its binary approximation
    raise TypeError(f"{type(value).__name__} is not a JSON value billrun stores (int, Decimal, str, bool, None, "
                    "list, dict)")


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"JSON object keys are strings, not {type(key).__name__}")
    return key


def _decimal_text(number: Decimal) -> str:
    if not number.is_finite():
        raise ValueError(f"{number} is not a JSON number")
    text = str(number)  # exact: sign, digits and exponent
    # exponent 0 prints as an integer ("12"), which would read back as int: "12E0" reads back as Decimal("12")
    return f"{text}E0" if number.as_tuple().exponent == 0 else text
