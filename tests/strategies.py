"""Hypothesis strategies for free-form JSON values as billrun parses them (Decimal and int, never float), and an
exact comparison: equal values of the same types, a Decimal with the same digits and exponent."""
from decimal import Decimal

from hypothesis import strategies as st

# Exponents far outside a DynamoDB Number's 1E-130..9.99E+125, and more than its 38 significant digits.
EXTREME_EXPONENTS = st.integers(-400, 400) | st.sampled_from([-999999, 999999])
decimals = st.builds(lambda sign, digits, exponent: Decimal((sign, digits, exponent)), st.integers(0, 1),
                     st.lists(st.integers(0, 9), min_size=1, max_size=45).map(tuple), EXTREME_EXPONENTS)
texts = st.text(max_size=20)
scalars = st.none() | st.booleans() | st.integers() | st.integers(-10 ** 60, 10 ** 60) | decimals | texts
# max_leaves keeps every value well inside MAX_JSON_DEPTH and MAX_JSON_BYTES
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=20)
json_objects = st.dictionaries(texts, json_values, max_size=4)
json_arrays = st.lists(json_values, max_size=4)


def same_json(a, b) -> bool:
    """Equal, and of the same JSON types all the way down (== alone says True == 1 and Decimal("1.0") == 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    return a == b
