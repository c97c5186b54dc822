"""Money: ISO 4217 minor units, exact Decimal amounts, HALF_UP rounding (away from zero on ties)."""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import BillrunError
from chalicelib.domain.money import (currency_code, exact_money, line_amount, minor_units, round_money,
                                     to_decimal)

CURRENCIES = {"JPY": 0, "USD": 2, "KWD": 3}


@pytest.mark.parametrize("code, places", sorted(CURRENCIES.items()))
def test_minor_units_follow_iso_4217(code, places):
    assert minor_units(code) == places


@pytest.mark.parametrize("amount, currency, expected", [
    ("2.675", "USD", "2.68"),
    ("2.665", "USD", "2.67"),
    ("2.674999", "USD", "2.67"),
    ("0.5", "JPY", "1"),
    ("1.5", "JPY", "2"),
    ("2.5", "JPY", "3"),  # HALF_UP, not banker's rounding (which gives 2)
    ("-2.5", "JPY", "-3"),  # ties go away from zero
    ("-2.675", "USD", "-2.68"),
    ("1.0005", "KWD", "1.001"),
    ("1.0004", "KWD", "1.000"),
    ("7", "USD", "7.00"),
    ("0", "KWD", "0.000"),
])
def test_round_money_is_half_up_at_minor_units(amount, currency, expected):
    result = round_money(Decimal(amount), currency)
    assert result == Decimal(expected)
    assert str(result) == expected  # exactly the currency's number of places
    assert result.as_tuple().exponent == -CURRENCIES[currency]


def test_round_money_never_goes_through_float():
    # float(2.675) is 2.67499999..., which would round down to 2.67
    assert round(2.675, 2) == 2.67
    assert round_money(Decimal("2.675"), "USD") == Decimal("2.68")


@pytest.mark.parametrize("amount, currency, expected", [
    ("2.50", "USD", "2.50"), ("2.5", "USD", "2.50"), (3, "USD", "3.00"), ("3", "JPY", "3"),
    ("2.0", "JPY", "2"), ("0.125", "KWD", "0.125"), (Decimal("10"), "KWD", "10.000"),
])
def test_exact_money_accepts_amounts_that_fit_and_normalises_places(amount, currency, expected):
    result = exact_money(amount, currency, "price")
    assert result == Decimal(expected) and str(result) == expected


@pytest.mark.parametrize("amount, currency", [
    ("2.675", "USD"), ("0.5", "JPY"), ("1.0001", "KWD"), ("0.001", "USD"),
])
def test_exact_money_refuses_extra_decimals_naming_the_field(amount, currency):
    with pytest.raises(BillrunError) as caught:
        exact_money(Decimal(amount), currency, "lines[0].unitPrice")
    error = caught.value
    assert error.kind == "invalid"
    assert [d.field for d in error.details] == ["lines[0].unitPrice"]
    assert str(CURRENCIES[currency]) in error.details[0].issue


@pytest.mark.parametrize("value", [1.5, True, None, "abc", "NaN", "Infinity", "-inf", [], {}])
def test_to_decimal_refuses_floats_booleans_and_non_numbers(value):
    with pytest.raises(BillrunError) as caught:
        to_decimal(value, "amount")
    assert caught.value.details[0].field == "amount"


@pytest.mark.parametrize("quantity, price, currency, expected", [
    ("3", "33.33", "USD", "99.99"),
    ("0.5", "0.01", "USD", "0.01"),  # 0.005 rounds up
    ("0.5", "0.03", "USD", "0.02"),  # 0.015 rounds up
    ("1.5", "333", "JPY", "500"),  # 499.5 rounds up
    ("2", "1.2345", "KWD", "2.469"),
    ("1.333", "3", "USD", "4.00"),  # 3.999
])
def test_line_amount_is_rounded_product(quantity, price, currency, expected):
    result = line_amount(Decimal(quantity), Decimal(price), currency)
    assert result == Decimal(expected) and str(result) == expected


@pytest.mark.parametrize("value, code", [("usd", "USD"), (" jpy ", "JPY"), ("Kwd", "KWD"), ("EUR", "EUR")])
def test_currency_code_is_canonical(value, code):
    assert currency_code(value) == code


@pytest.mark.parametrize("value", ["ZZZ", "US", "USDX", "", "dollar"])
def test_currency_code_rejects_unknown_codes(value):
    with pytest.raises(BillrunError) as caught:
        currency_code(value, "currency")
    assert caught.value.kind == "invalid"
    assert caught.value.details[0].field == "currency"


@pytest.mark.parametrize("value", ["XAU", "XAG", "XXX", "XDR"])
def test_currency_code_rejects_codes_without_minor_units(value):
    with pytest.raises(BillrunError) as caught:
        currency_code(value, "customer.currency")
    assert caught.value.details[0].field == "customer.currency"
    assert "minor units" in caught.value.details[0].issue


amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False,
                      allow_infinity=False, places=6)


@settings(max_examples=200, deadline=None)
@given(amount=amounts, currency=st.sampled_from(sorted(CURRENCIES)))
def test_round_money_is_idempotent_and_within_half_a_minor_unit(amount, currency):
    once = round_money(amount, currency)
    assert round_money(once, currency) == once
    assert once.as_tuple().exponent == -CURRENCIES[currency]
    half = Decimal(1).scaleb(-CURRENCIES[currency]) / 2
    assert abs(once - amount) <= half
    # a tie goes away from zero, never towards it
    if abs(once - amount) == half:
        assert abs(once) > abs(amount)
    # a rounded amount is accepted as exact money unchanged
    assert exact_money(once, currency, "amount") == once


@settings(max_examples=200, deadline=None)
@given(amount=amounts, currency=st.sampled_from(sorted(CURRENCIES)))
def test_round_money_is_symmetric_around_zero(amount, currency):
    assert round_money(-amount, currency) == -round_money(amount, currency)


@settings(max_examples=200, deadline=None)
@given(quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3),
       price=st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=2))
def test_line_amount_equals_round_of_exact_product(quantity, price):
    exact = quantity * price
    amount = line_amount(quantity, price, "USD")
    assert abs(amount - exact) <= Decimal("0.005")
    assert amount == round_money(exact, "USD")
