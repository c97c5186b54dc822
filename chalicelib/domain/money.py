"""Money rules: ISO 4217 minor units, exact Decimal amounts, HALF_UP rounding. Never float."""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from iso4217 import Currency

from .errors import invalid


def currency_code(value: str, field_name: str = "currency") -> str:
    """Canonical ISO 4217 code; funds and metals without minor units are refused."""
    code = str(value).strip().upper()
    try:
        exponent = Currency(code).exponent
    except ValueError:
        raise invalid(field_name, f"unknown ISO 4217 currency {value!r}") from None
    if exponent is None:
        raise invalid(field_name, f"{code} has no minor units and cannot be invoiced")
    return code


def minor_units(currency: str) -> int:
    return Currency(currency).exponent


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """HALF_UP to the currency's minor units (JPY 0, USD 2, KWD 3)."""
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def exact_money(amount: Decimal, currency: str, field_name: str) -> Decimal:
    """An amount given by a user: more decimals than the currency has is an error, not a rounding."""
    amount = to_decimal(amount, field_name)
    places = minor_units(currency)
    if amount != amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP):
        raise invalid(field_name, f"at most {places} decimal places for {currency}")
    return amount.quantize(_quantum(currency))


def line_amount(quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    return round_money(Decimal(quantity) * Decimal(unit_price), currency)


def to_decimal(value, field_name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise invalid(field_name, "must be a number")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise invalid(field_name, "must be a number") from None
    if not result.is_finite():
        raise invalid(field_name, "must be a finite number")
    return result
