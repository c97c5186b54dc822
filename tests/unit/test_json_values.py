"""Free-form JSON values: the stored text gives back exactly what was written, the bounds hold at their edges,
and JSONAttribute round-trips alone and still reads the native Map/List form of older items."""
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from pynamodb.attributes import ListAttribute, MapAttribute
from pynamodb.constants import LIST, MAP, STRING

from chalicelib.domain.json_values import MAX_JSON_BYTES, MAX_JSON_DEPTH, check_bounds, decode, encode
from chalicelib.store.attributes import JSONAttribute
from tests.strategies import json_values, same_json

EDGES = {"big": Decimal("1E+300"), "small": Decimal("1E-300"), "places": Decimal("1.50"), "e0": Decimal("12"),
         "negativeZero": Decimal("-0"), "digits": Decimal("1." + "1" * 50), "int": 10 ** 40, "text": "é\ud800",
         "flags": [True, False, None], "nested": {"a": [[{}]]}}


@settings(max_examples=500, deadline=None)
@given(json_values)
@example(EDGES)
def test_json_attribute_round_trips_any_value_exactly(value):
    attr = JSONAttribute()
    stored = attr.serialize(value)
    assert stored == encode(value) and stored.isascii()  # valid UTF-8 whatever the strings hold; length = bytes
    assert same_json(attr.deserialize(attr.get_value({STRING: stored})), value)


def test_decimals_keep_their_exponent_and_integers_stay_integers():
    back = decode(encode([Decimal("12"), Decimal("1E+2"), Decimal("-0"), 12]))
    assert [type(v) for v in back] == [Decimal, Decimal, Decimal, int]
    assert [v.as_tuple() for v in back[:3]] == [Decimal("12").as_tuple(), Decimal("1E+2").as_tuple(),
                                                Decimal("-0").as_tuple()]


@pytest.mark.parametrize("value", [1.5, Decimal("NaN"), Decimal("Infinity"), {1: "a"}, {"a": {1, 2}}])
def test_what_is_not_exact_json_is_refused(value):
    with pytest.raises((TypeError, ValueError)):
        encode(value)


def nested(levels: int):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_nesting_is_bounded_at_max_depth():
    assert check_bounds(nested(MAX_JSON_DEPTH)) == nested(MAX_JSON_DEPTH)
    assert check_bounds({"a": nested(MAX_JSON_DEPTH - 1)})
    for too_deep in (nested(MAX_JSON_DEPTH + 1), {"a": nested(MAX_JSON_DEPTH)}, nested(100_000)):
        with pytest.raises(ValueError, match=f"nested more than {MAX_JSON_DEPTH} levels"):
            check_bounds(too_deep)


def test_size_is_bounded_at_max_bytes_of_text():
    fits = ["x" * (MAX_JSON_BYTES - 4)]  # ["..."]: 4 bytes of brackets and quotes
    assert len(encode(fits)) == MAX_JSON_BYTES and check_bounds(fits) == fits
    with pytest.raises(ValueError, match=f"at most {MAX_JSON_BYTES} bytes"):
        check_bounds(["x" * (MAX_JSON_BYTES - 3)])
    with pytest.raises(ValueError, match=f"at most {MAX_JSON_BYTES} bytes"):
        check_bounds(["é" * (MAX_JSON_BYTES // 6 + 1)])  # counted as stored: \u00e9, 6 bytes each


def test_the_native_form_of_older_items_still_reads():
    attr = JSONAttribute()
    # exactly what PynamoDB's raw MapAttribute and ListAttribute wrote before
    old_map = {MAP: MapAttribute().serialize({"region": "EU", "n": 3, "ok": True, "none": None,
                                              "inner": {"list": [1, "two", [False]]}})}
    assert same_json(attr.deserialize(attr.get_value(old_map)),
                     {"region": "EU", "n": 3, "ok": True, "none": None, "inner": {"list": [1, "two", [False]]}})
    old_list = {LIST: ListAttribute().serialize(["a", 1, {"b": None}])}
    assert same_json(attr.deserialize(attr.get_value(old_list)), ["a", 1, {"b": None}])
    # a native Number reads exactly, never through float
    number = attr.deserialize(attr.get_value({MAP: {"a": {"N": "0.1000000000000000000000000000000000001"}}}))
    assert same_json(number, {"a": Decimal("0.1000000000000000000000000000000000001")})
