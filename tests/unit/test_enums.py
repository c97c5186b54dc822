"""Enum input is forgiving (case, spaces, underscores); output is canonical PascalCase."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.enums import (BillingPeriod, BillingTiming, CanonicalEnum, OrderStatus, ProductType,
                                     SubscriptionStatus)

ALL_ENUMS = [BillingPeriod, BillingTiming, OrderStatus, ProductType, SubscriptionStatus]


@pytest.mark.parametrize("text, member", [
    ("Month", BillingPeriod.MONTH),
    ("month", BillingPeriod.MONTH),
    ("MONTH", BillingPeriod.MONTH),
    ("semi annual", BillingPeriod.SEMI_ANNUAL),
    ("SEMI_ANNUAL", BillingPeriod.SEMI_ANNUAL),
    ("semiannual", BillingPeriod.SEMI_ANNUAL),
    ("Semi Annual", BillingPeriod.SEMI_ANNUAL),
    ("one time", ProductType.ONE_TIME),
    ("ONE_TIME", ProductType.ONE_TIME),
    ("in arrears", BillingTiming.IN_ARREARS),
    ("In_Advance", BillingTiming.IN_ADVANCE),
    ("canceled", SubscriptionStatus.CANCELED),
    ("ACTIVATED", OrderStatus.ACTIVATED),
])
def test_parse_ignores_case_spaces_and_underscores(text, member):
    assert type(member).parse(text) is member


@pytest.mark.parametrize("enum_cls", ALL_ENUMS)
def test_output_is_canonical_pascal_case(enum_cls):
    for member in enum_cls:
        assert member.value[0].isupper()
        assert " " not in member.value and "_" not in member.value
        assert enum_cls.parse(member) is member
        assert enum_cls.parse(member.value) is member
        assert json.dumps(member) == f'"{member.value}"'  # str enum: serialises as its canonical value


def test_semi_annual_outputs_pascal_case():
    assert BillingPeriod.parse("semi_annual").value == "SemiAnnual"
    assert ProductType.parse("one time").value == "OneTime"


@pytest.mark.parametrize("text", ["Monthly", "", "Fortnight", "Mon th s", "Recurring"])
def test_unknown_value_error_lists_allowed_values(text):
    with pytest.raises(ValueError) as caught:
        BillingPeriod.parse(text)
    message = str(caught.value)
    for member in BillingPeriod:
        assert member.value in message


def test_parse_does_not_cross_enums():
    with pytest.raises(ValueError):
        ProductType.parse("Month")
    with pytest.raises(ValueError):
        SubscriptionStatus.parse(OrderStatus.ACTIVATED.value)


def _mangle(draw, value: str) -> str:
    out = []
    for ch in value:
        if draw(st.booleans()):
            ch = ch.swapcase()
        out.append(ch)
        out.append(draw(st.sampled_from(["", "", " ", "_", "  "])))
    return draw(st.sampled_from(["", " ", "_"])) + "".join(out)


@st.composite
def mangled(draw):
    enum_cls = draw(st.sampled_from(ALL_ENUMS))
    member = draw(st.sampled_from(list(enum_cls)))
    return enum_cls, member, _mangle(draw, member.value)


@settings(max_examples=200, deadline=None)
@given(mangled())
def test_any_casing_and_spacing_parses_to_the_member(case):
    enum_cls, member, text = case
    assert enum_cls.parse(text) is member


def test_all_enums_are_canonical_enums():
    for enum_cls in ALL_ENUMS:
        assert issubclass(enum_cls, CanonicalEnum)
