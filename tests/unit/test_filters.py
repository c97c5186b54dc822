"""The shared filter language (Hasura style): parsing, evaluation, index plans and canonical text."""
import dataclasses
import json
import re
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.domain.enums import CanonicalEnum
from chalicelib.domain.errors import BillrunError
from chalicelib.domain.filters import (And, Condition, FieldType, FilterSchema, MatchAll, Not, Or, Range,
                                       Relation, evaluate, index_plan, intersect, parse_filter, to_text)

UTC = timezone.utc
SEED_CUSTOMER = "001ks00000dvz1ayad"


class InvoiceStatus(CanonicalEnum):
    DRAFT = "Draft"
    PENDING_ACTIVATION = "PendingActivation"
    ACTIVE = "Active"
    CANCELED = "Canceled"


STRING = FieldType("string")
NUMBER = FieldType("number")
STATUS = FieldType("enum", InvoiceStatus)
CUSTOMER = FilterSchema("customer", {"id": STRING, "name": STRING, "billCycleDay": NUMBER})
INVOICE = FilterSchema(
    "invoice",
    {"id": STRING, "name": STRING, "status": STATUS, "amount": NUMBER, "invoiceDate": FieldType("date"),
     "createdDate": FieldType("datetime"), "customerId": STRING, "isCatchUp": FieldType("boolean")},
    {"customer": CUSTOMER},
    frozenset({"status", "customerId", "invoiceDate"}),
)


def invoice(**changes) -> dict:
    """An invoice record shaped like seed 001's response (Active, customer 001ks00000dvz1ayad)."""
    record = {"id": "inv1", "name": "INV-00000311", "status": "Active", "amount": Decimal("226.33"),
              "invoiceDate": date(2025, 7, 1), "createdDate": datetime(2025, 6, 30, 9, 33, 52, tzinfo=UTC),
              "customerId": SEED_CUSTOMER, "isCatchUp": False,
              "customer": {"id": SEED_CUSTOMER, "name": "Acme", "billCycleDay": 1}}
    record.update(changes)
    return record


def matches(source, record=None) -> bool:
    return evaluate(parse_filter(source, INVOICE), invoice() if record is None else record)


def issue_of(source, schema=INVOICE, field_name="filter") -> str:
    """The issue a bad filter is refused with; it is always a 400-kind error naming the field."""
    with pytest.raises(BillrunError) as caught:
        parse_filter(source, schema, field_name)
    error = caught.value
    assert error.kind == "invalid" and error.code == "ValidationError"
    assert [d.field for d in error.details] == [field_name]
    assert error.message == f"{field_name}: {error.details[0].issue}"
    return error.details[0].issue


# --- the seeds' filters ----------------------------------------------------------------------------


def test_seed_customer_filter_selects_the_seed_customer():
    body = json.loads('{"customerFilter": "{id: {_in: [\\"001ks00000dvz1ayad\\"]}}"}')  # as seed 000 sends it
    scope = parse_filter(body["customerFilter"], CUSTOMER, "customerFilter")
    assert evaluate(scope, {"id": SEED_CUSTOMER, "name": "Acme"})
    assert not evaluate(scope, {"id": "001ks00000other", "name": "Acme"})
    assert to_text(scope) == '{id: {_in: ["001ks00000dvz1ayad"]}}'
    assert matches('{id: {_in: ["001ks00000dvz1ayad"]}}', invoice(id=SEED_CUSTOMER))


def test_seed_graphql_where_finds_active_invoices_of_one_customer():
    where = parse_filter('{_and: [{customer: {id: {_eq: "001ks00000dvz1ayad"}}}, {status: {_eq: "active"}}]}',
                         INVOICE, "where")
    assert evaluate(where, invoice())
    assert evaluate(where, invoice(status=InvoiceStatus.ACTIVE))
    assert not evaluate(where, invoice(status="Draft"))
    assert not evaluate(where, invoice(customer={"id": "someone else"}))
    assert to_text(where) == '{customer: {id: {_eq: "001ks00000dvz1ayad"}}, status: {_eq: "Active"}}'


@pytest.mark.parametrize("graphql_filter, status, other", [
    ('{status: {_eq: \\"draft\\"}}', InvoiceStatus.DRAFT, "Active"),  # activate all drafts
    ('{status: {_eq: \\"canceled\\"}}', InvoiceStatus.CANCELED, "Draft"),  # delete canceled ones
])
def test_seed_bulk_graphql_filters_match_by_status(graphql_filter, status, other):
    body = json.loads('{"graphqlFilter": "%s"}' % graphql_filter)
    f = parse_filter(body["graphqlFilter"], INVOICE, "graphqlFilter")
    assert f == Condition("status", "_eq", status, STATUS, True)
    for spelling in (status, status.value, status.value.upper(), status.value.lower()):
        assert evaluate(f, invoice(status=spelling))
    assert not evaluate(f, invoice(status=other))
    assert not evaluate(f, invoice(status=None))


# --- one filter, three spellings -------------------------------------------------------------------


def test_graphql_text_json_text_and_dict_give_the_same_filter():
    graphql = parse_filter('{_and: [{customer: {id: {_eq: "c1"}}}, {amount: {_gt: 10.5}}]}', INVOICE)
    as_json = parse_filter('{"_and": [{"customer": {"id": {"_eq": "c1"}}}, {"amount": {"_gt": 10.5}}]}', INVOICE)
    as_dict = parse_filter({"_and": [{"customer": {"id": {"_eq": "c1"}}}, {"amount": {"_gt": Decimal("10.5")}}]},
                           INVOICE)
    from_float = parse_filter({"_and": [{"customer": {"id": {"_eq": "c1"}}}, {"amount": {"_gt": 10.5}}]}, INVOICE)
    assert graphql == as_json == as_dict == from_float
    assert graphql == And((Relation("customer", Condition("id", "_eq", "c1", STRING, True)),
                           Condition("amount", "_gt", Decimal("10.5"), NUMBER, False)))


@pytest.mark.parametrize("source", [None, {}, "{}", " { } ", '{ }'])
def test_no_filter_matches_everything(source):
    f = parse_filter(source, INVOICE)
    assert f == MatchAll()
    assert evaluate(f, {}) and evaluate(f, invoice())
    assert to_text(f) == "{}"
    plan = index_plan(f)
    assert plan.equals == {} and plan.ranges == {} and plan.residual_needed is False


def test_numbers_become_int_or_decimal_never_float():
    assert parse_filter("{amount: {_eq: 10.0}}", INVOICE) == parse_filter("{amount: {_eq: 10}}", INVOICE)
    assert parse_filter("{amount: {_eq: 10.0}}", INVOICE).value == 10
    assert type(parse_filter("{amount: {_eq: 1e2}}", INVOICE).value) is int
    assert parse_filter('{"amount": {"_gt": 0.10}}', INVOICE).value == Decimal("0.1")
    assert type(parse_filter({"amount": {"_lt": 0.1}}, INVOICE).value) is Decimal  # a float is read by its text
    assert parse_filter({"amount": {"_lt": 0.1}}, INVOICE).value == Decimal("0.1")
    assert parse_filter("{amount: {_in: [1.50, -0, 3]}}", INVOICE).value == (Decimal("1.5"), 0, 3)


def test_a_bare_enum_word_reads_as_its_name():
    assert parse_filter("{status: {_eq: active}}", INVOICE) == parse_filter('{status: {_eq: "Active"}}', INVOICE)


def test_filters_are_immutable_and_hashable():
    f = parse_filter('{_or: [{status: {_in: ["draft"]}}, {_not: {amount: {_gt: 1}}}]}', INVOICE)
    assert {f: 1}[parse_filter('{_or: [{status: {_in: ["Draft"]}}, {_not: {amount: {_gt: 1.0}}}]}', INVOICE)] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.items = ()
    assert isinstance(f, Or) and isinstance(f.items[1], Not)


# --- operators -------------------------------------------------------------------------------------

OPERATOR_CASES = [
    ('{id: {_eq: "inv1"}}', {}, True),
    ('{id: {_eq: "INV1"}}', {}, False),  # strings are case-sensitive
    ('{id: {_neq: "inv2"}}', {}, True),
    ('{id: {_neq: "inv1"}}', {}, False),
    ('{id: {_gt: "inv0"}}', {}, True),
    ('{id: {_lt: "inv0"}}', {}, False),
    ('{amount: {_gt: 226.32}}', {}, True),
    ('{amount: {_gt: 226.33}}', {}, False),
    ('{amount: {_gte: 226.330}}', {}, True),
    ('{amount: {_gte: 226.34}}', {}, False),
    ('{amount: {_lt: 227}}', {}, True),
    ('{amount: {_lt: 226.33}}', {}, False),
    ('{amount: {_lte: 226.33}}', {}, True),
    ('{amount: {_lte: 226.329}}', {}, False),
    ('{amount: {_eq: 10}}', {"amount": Decimal("10.00")}, True),  # exact Decimal comparison, scale ignored
    ('{amount: {_eq: 0.3}}', {"amount": Decimal("0.1") * 3}, True),
    ('{amount: {_in: [1, 226.33]}}', {}, True),
    ('{amount: {_in: [1, 2]}}', {}, False),
    ('{amount: {_nin: [1, 2]}}', {}, True),
    ('{amount: {_nin: [226.33]}}', {}, False),
    ('{amount: {_in: []}}', {}, False),  # the empty set holds nothing
    ('{amount: {_nin: []}}', {}, True),
    ('{invoiceDate: {_eq: "2025-07-01"}}', {}, True),
    ('{invoiceDate: {_eq: "2025-07-01"}}', {"invoiceDate": "2025-07-01"}, True),  # record dates as text
    ('{invoiceDate: {_gt: "2025-06-30"}}', {}, True),
    ('{invoiceDate: {_gt: "2025-07-01"}}', {}, False),
    ('{invoiceDate: {_lt: "2025-07-10"}}', {}, True),  # as dates, not as text ("2025-07-1" < "2025-07-10")
    ('{invoiceDate: {_in: ["2025-06-30", "2025-07-01"]}}', {}, True),
    ('{createdDate: {_eq: "2025-06-30T11:33:52+02:00"}}', {}, True),  # one instant, another offset
    ('{createdDate: {_lt: "2025-06-30T09:33:52Z"}}', {}, False),
    ('{createdDate: {_lte: "2025-06-30T09:33:52Z"}}', {}, True),
    ('{createdDate: {_gte: "2025-06-30T09:33:52.001Z"}}', {}, False),
    ('{createdDate: {_gt: "2025-06-30T00:00:00Z"}}', {"createdDate": "2025-06-30T09:33:52.471+00:00"}, True),
    ('{isCatchUp: {_eq: false}}', {}, True),
    ('{isCatchUp: {_eq: true}}', {}, False),
    ('{isCatchUp: {_neq: true}}', {}, True),
    ('{isCatchUp: {_in: [true]}}', {}, False),
    ('{status: {_eq: "ACTIVE"}}', {}, True),
    ('{status: {_eq: "Draft"}}', {}, False),
    ('{status: {_eq: "pending activation"}}', {"status": "PendingActivation"}, True),
    ('{status: {_eq: "PENDING_ACTIVATION"}}', {"status": InvoiceStatus.PENDING_ACTIVATION}, True),
    ('{status: {_eq: "active"}}', {"status": "ACTIVE"}, True),  # record text is read as the enum too
    ('{status: {_neq: "Canceled"}}', {}, True),
    ('{status: {_neq: "active"}}', {}, False),
    ('{status: {_in: ["draft", "active"]}}', {}, True),
    ('{status: {_nin: ["draft", "active"]}}', {}, False),
    ('{status: {_nin: ["draft"]}}', {}, True),
    ('{customer: {billCycleDay: {_eq: 1}}}', {}, True),
    ('{customer: {billCycleDay: {_gt: 1}}}', {}, False),
    ('{customer: {name: {_ilike: "ac%"}}}', {}, True),
    ('{customer: {name: {_like: "ac%"}}}', {}, False),
]


@pytest.mark.parametrize("source, changes, expected", OPERATOR_CASES)
def test_every_operator(source, changes, expected):
    assert matches(source, invoice(**changes)) is expected


LIKE_CASES = [
    # pattern, value, _like, _ilike
    ("INV-%", "INV-00000311", True, True),
    ("inv-%", "INV-00000311", False, True),
    ("%311", "INV-00000311", True, True),
    ("%0003%", "INV-00000311", True, True),
    ("INV-_______1", "INV-00000311", True, True),  # _ is exactly one character
    ("INV-______1", "INV-00000311", False, False),
    ("INV", "INV-00000311", False, False),  # the whole value, not a substring
    ("%", "", True, True),
    ("", "", True, True),
    ("", "a", False, False),
    ("_", "", False, False),
    ("a\\%b", "a%b", True, True),  # a backslash makes % literal
    ("a\\%b", "axb", False, False),
    ("a\\_b", "a_b", True, True),
    ("a\\_b", "axb", False, False),
    ("a\\\\b", "a\\b", True, True),
    ("%.*%", "x.*y", True, True),  # regex characters are plain characters
    ("%.*%", "xy", False, False),
    ("a%b%c", "abc", True, True),
    ("a%b%c", "acb", False, False),
    ("ab%bc", "abc", False, False),  # pieces never overlap
    ("ab%b%", "ab", False, False),
    ("%ab%ba%", "aba", False, False),
    ("%ab%ba%", "abba", True, True),
    ("%a_%", "xa\ny", True, True),  # _ and % match line breaks too
    ("ÉTÉ%", "été 2025", False, True),
]


@pytest.mark.parametrize("pattern, value, like, ilike", LIKE_CASES)
def test_like_and_ilike(pattern, value, like, ilike):
    record = invoice(name=value)
    assert evaluate(parse_filter({"name": {"_like": pattern}}, INVOICE), record) is like
    assert evaluate(parse_filter({"name": {"_ilike": pattern}}, INVOICE), record) is ilike


def test_like_escapes_in_graphql_text():
    assert matches('{name: {_like: "50\\\\%%"}}', invoice(name="50% off"))
    assert not matches('{name: {_like: "50\\\\%%"}}', invoice(name="500 off"))


def test_like_does_not_backtrack_on_hostile_patterns():
    f = parse_filter({"name": {"_like": "%a%a%a%a%a%a%a%a%a%a%a%b"}}, INVOICE)
    started = time.perf_counter()
    assert not evaluate(f, invoice(name="a" * 20_000))
    assert time.perf_counter() - started < 1.0


# --- null, relations, logic ------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"customerId": None}, {"customerId": "drop"}])
def test_null_matches_only_is_null(changes):
    record = invoice(**changes)
    if changes["customerId"] == "drop":
        del record["customerId"]  # a missing key is null too
    assert matches("{customerId: {_is_null: true}}", record)
    assert not matches("{customerId: {_is_null: false}}", record)
    for source in ('{customerId: {_eq: "x"}}', '{customerId: {_neq: "x"}}', '{customerId: {_in: ["x"]}}',
                   '{customerId: {_nin: ["x"]}}', '{customerId: {_gt: ""}}', '{customerId: {_like: "%"}}'):
        assert not matches(source, record), source  # SQL: a comparison with null is not true
    assert matches('{_not: {customerId: {_eq: "x"}}}', record)  # but _not is plain negation


def test_is_null_on_a_present_value():
    assert matches("{customerId: {_is_null: false}}")
    assert not matches("{customerId: {_is_null: true}}")


def test_a_value_of_the_wrong_kind_is_not_null_and_compares_false():
    record = invoice(amount="a lot", createdDate=datetime(2025, 6, 30, 9, 33, 52), invoiceDate=datetime.now(UTC))
    assert matches("{amount: {_is_null: false}}", record)
    assert not matches("{amount: {_neq: 1}}", record)
    assert not matches('{createdDate: {_lt: "2030-01-01T00:00:00Z"}}', record)  # naive: no instant
    assert not matches('{invoiceDate: {_lt: "2030-01-01"}}', record)  # a datetime's day depends on the zone
    assert not matches('{status: {_eq: "Draft"}}', invoice(status="Paid"))
    assert not matches('{status: {_neq: "Draft"}}', invoice(status="Paid"))


@pytest.mark.parametrize("customer", [None, "drop", "001ks00000dvz1ayad"])  # null, missing, not a mapping
def test_a_missing_related_record_has_only_null_fields(customer):
    record = invoice(customer=customer)
    if customer == "drop":
        del record["customer"]
    assert not matches('{customer: {id: {_eq: "001ks00000dvz1ayad"}}}', record)
    assert not matches('{customer: {id: {_neq: "x"}}}', record)
    assert matches("{customer: {id: {_is_null: true}}}", record)
    assert not matches("{customer: {id: {_is_null: false}}}", record)
    assert matches('{_not: {customer: {id: {_eq: "001ks00000dvz1ayad"}}}}', record)


def test_not_negates():
    assert not matches('{_not: {status: {_eq: "Active"}}}')
    assert matches('{_not: {status: {_eq: "Active"}}}', invoice(status="Draft"))
    assert matches('{_not: {_not: {status: {_eq: "Active"}}}}')


def test_or_nested_inside_and():
    source = ('{_and: [{customerId: {_eq: "001ks00000dvz1ayad"}},'
              ' {_or: [{status: {_eq: "draft"}}, {amount: {_gt: 1000}}]}]}')
    assert matches(source, invoice(status="Draft"))
    assert matches(source, invoice(amount=Decimal("1000.01")))
    assert not matches(source, invoice())
    assert not matches(source, invoice(status="Draft", customerId="other"))


def test_several_keys_in_one_object_are_anded():
    assert not matches('{status: {_eq: "Active"}, amount: {_gt: 1000}}')
    assert matches('{status: {_eq: "Active"}, amount: {_gt: 1, _lt: 1000}}')
    assert not matches("{amount: {_gt: 1, _lt: 100}}")


# --- errors ----------------------------------------------------------------------------------------

ERROR_CASES = [
    ("{amunt: {_eq: 1}}", "amunt: unknown field of invoice (fields: amount, createdDate, customerId, id, "
                          "invoiceDate, isCatchUp, name, status; relations: customer)"),
    ('{customer: {id: {_eqq: "x"}}}', "customer.id: unknown operator _eqq (use _eq, _neq, _in, _nin, _is_null, "),
    ('{_and: [{status: {_eq: "Draft"}}, {customer: {nam: {_eq: "x"}}}]}',
     "_and[1].customer.nam: unknown field of customer"),
    ('{order: {id: {_eq: "x"}}}', "order: unknown field of invoice"),  # no such relation here
    ("{_xor: []}", "_xor: unknown logical operator _xor (use _and, _or, _not or a field of invoice)"),
    ('{id: {_in: "a"}}', 'id._in: must be a list, got "a"'),
    ('{id: {_in: ["a", 1]}}', "id._in[1]: must be a string, got 1"),
    ('{id: {_eq: 42}}', "id._eq: must be a string, got 42"),
    ('{id: {_is_null: "yes"}}', 'id._is_null: must be true or false, got "yes"'),
    ('{amount: {_gt: "10"}}', 'amount._gt: must be a number, got "10"'),
    ("{amount: {_gt: true}}", "amount._gt: must be a number, got True"),
    ("{isCatchUp: {_eq: 1}}", "isCatchUp._eq: must be true or false, got 1"),
    ('{invoiceDate: {_gte: "2025-13-01"}}', 'invoiceDate._gte: must be a date YYYY-MM-DD, got "2025-13-01"'),
    ('{invoiceDate: {_gte: "2025-1-1"}}', "invoiceDate._gte: must be a date YYYY-MM-DD"),
    ('{invoiceDate: {_eq: "2025-01-01T00:00:00Z"}}', "invoiceDate._eq: must be a date YYYY-MM-DD"),
    ('{createdDate: {_lt: "yesterday"}}', "createdDate._lt: must be an ISO 8601 instant"),
    ('{createdDate: {_lt: "2025-01-01T00:00:00"}}', "createdDate._lt: must carry a UTC offset"),
    ('{status: {_eq: "Paid"}}', 'status._eq: must be one of Draft, PendingActivation, Active, Canceled, got "Paid"'),
    ('{status: {_in: ["draft", "nope"]}}', "status._in[1]: must be one of Draft, PendingActivation"),
    ('{status: {_eq: 1}}', "status._eq: must be one of Draft"),
    ('{status: {_gt: "Draft"}}', "status: _gt does not apply to enum fields (use _eq, _neq, _in, _nin, _is_null)"),
    ('{amount: {_like: "1%"}}', "amount: _like does not apply to number fields"),
    ('{isCatchUp: {_lt: true}}', "isCatchUp: _lt does not apply to boolean fields"),
    ('{id: {_like: "abc\\\\"}}', "id._like: must not end with an unescaped backslash"),
    ('{id: {_eq: null}}', "id._eq: must not be null (test for null with _is_null)"),
    ('{id: {_in: ["a", null]}}', "id._in[1]: must not be null"),
    ('{id: "inv1"}', "id: must be an object of operators such as {_eq: ...}"),
    ("{id: {}}", "id: is an empty object; give at least one operator such as _eq"),
    ("{customer: {}}", "customer: is an empty object; give at least one condition"),
    ("{_not: {}}", "_not: is an empty object"),
    ("{_and: []}", "_and: is an empty list; give at least one filter"),
    ("{_or: []}", "_or: is an empty list"),
    ('{_or: {id: {_eq: "a"}}}', "_or: must be a list of filters"),
    ("{_and: [{}]}", "_and[0]: is an empty object"),
    ("{customer: null}", "customer: must be an object such as"),
    ('{_and: [{id: {_eq: "a"}}, 3]}', "_and[1]: must be an object such as"),
    ('{id: {_eq: "a"}, id: {_eq: "b"}}', "id: given twice"),
    ("{id: {_eq: $customerId}}", "id._eq: variables ($customerId) are not allowed in a filter"),
    ('{status: {_eq: "Draft"}', "Syntax Error: Expected Name, found <EOF>. (line 1, column 24)"),
    ('{status {_eq "Draft"}}', "Syntax Error: Expected ':', found '{'. (line 1, column 9)"),  # the seed's capture
    ('status = "Draft"', "Syntax Error"),
    ('{id: {_eq: "unterminated}}', "Syntax Error: Unterminated string"),
    ('[{status: {_eq: "Draft"}}]', 'must be an object such as {status: {_eq: "Draft"}}'),
    ('"{status: {_eq: \\"Draft\\"}}"', "must be an object such as"),  # text encoded twice
    ("42", "must be an object such as"),
    ("null", "must be an object such as"),
    ("", "is blank; give a filter such as"),
    ("  \n ", "is blank"),
    ('{"status": {"_eq": "Draft"}', "invalid JSON: Expecting ',' delimiter"),
    ('{"status": {"_eq": "a", "_eq": "b"}}', "invalid JSON: key '_eq' given twice"),
    ('{"amount": {"_gt": NaN}}', "invalid JSON: NaN is not a number"),
    ('{"amount": {"_gt": 1.5}, "foo": {"_eq": 1}}', "foo: unknown field of invoice"),
    ("{amount: {_gt: 1e999}}", "amount._gt: is out of range"),
    ("{amount: {_eq: 1.00000000000000000000000000000000000000001}}", "amount._eq: is out of range"),
    ("{amount: {_eq: " + "9" * 5000 + "}}", "amount._eq: is out of range"),
]


@pytest.mark.parametrize("source, expected", ERROR_CASES)
def test_bad_filters_are_refused_naming_the_path(source, expected):
    assert expected in issue_of(source)


@pytest.mark.parametrize("source, expected", [
    (42, "must be an object such as"),
    (["a"], "must be an object such as"),
    ({1: {"_eq": "a"}}, "keys must be strings, got 1"),
    ({"amount": {"_eq": float("nan")}}, "amount._eq: must be a finite number"),
    ({"createdDate": {"_eq": datetime(2025, 1, 1)}}, "createdDate._eq: must carry a UTC offset"),
    ({"status": {"_eq": {"value": "Draft"}}}, "status._eq: must be one of"),
    ({"id": {"_in": ["a", "\ud800"]}}, "id._in[1]: must be valid Unicode text"),
    ('{"name": {"_like": "%\\ud800"}}', "name._like: must be valid Unicode text"),
])
def test_bad_python_values_are_refused_too(source, expected):
    assert expected in issue_of(source)


def test_the_error_names_the_callers_field():
    assert issue_of("{nope: {_eq: 1}}", CUSTOMER, "customerFilter").startswith("nope: unknown field of customer")


@pytest.mark.parametrize("source", [
    "{_not: " * 40 + '{id: {_eq: "x"}}' + "}" * 40,
    "[" * 5000,  # deeper than the GraphQL parser can recurse
    '{"_not": ' * 5000 + "{}" + "}" * 5000,  # deeper than the JSON parser can recurse
    "{id: {_in: [" + "1, " * 30_000 + "]}}",  # more tokens than a filter needs
])
def test_deep_or_huge_text_is_refused_not_crashed(source):
    assert issue_of(source)


def test_deep_dict_is_refused():
    source = {"id": {"_eq": "x"}}
    for _ in range(40):
        source = {"_not": source}
    assert "nested deeper than 32 levels" in issue_of(source)


# --- index plans -----------------------------------------------------------------------------------


def plan_of(source, schema=INVOICE):
    return index_plan(parse_filter(source, schema))


def test_plan_for_an_indexed_equality_decides_alone():
    plan = plan_of('{status: {_eq: "Draft"}}')
    assert plan.equals == {"status": [InvoiceStatus.DRAFT]} and plan.ranges == {}
    assert plan.residual_needed is False


def test_plan_for_a_customer_relation_uses_the_customer_index():
    plan = plan_of('{_and: [{customer: {id: {_eq: "c1"}}}, {amount: {_gt: 10}}]}')
    assert plan.equals == {"customer.id": ["c1"]} and plan.ranges == {}
    assert plan.residual_needed is True


def test_plan_for_or_is_empty():
    plan = plan_of('{_or: [{status: {_eq: "Draft"}}, {status: {_eq: "Active"}}]}')
    assert plan.equals == {} and plan.ranges == {} and plan.residual_needed is True


def test_plan_for_a_date_range():
    plan = plan_of('{invoiceDate: {_gte: "2025-01-01", _lt: "2025-02-01"}}')
    assert plan.equals == {}
    assert plan.ranges == {"invoiceDate": Range(date(2025, 1, 1), True, date(2025, 2, 1), False)}
    assert plan.residual_needed is False
    window = plan.ranges["invoiceDate"]
    assert window.contains(date(2025, 1, 1)) and window.contains(date(2025, 1, 31))
    assert not window.contains(date(2024, 12, 31)) and not window.contains(date(2025, 2, 1))


def test_plan_keeps_the_tightest_bounds():
    plan = plan_of('{invoiceDate: {_gt: "2025-01-01", _gte: "2025-01-05", _lte: "2025-03-01", _lt: "2025-03-01"},'
                   ' _and: [{invoiceDate: {_gte: "2024-01-01"}}]}')
    assert plan.ranges == {"invoiceDate": Range(date(2025, 1, 5), True, date(2025, 3, 1), False)}
    assert plan.residual_needed is False
    tie = plan_of('{invoiceDate: {_gte: "2025-01-05", _gt: "2025-01-05", _lt: "2025-03-01", _lte: "2025-03-01"}}')
    assert tie.ranges == {"invoiceDate": Range(date(2025, 1, 5), False, date(2025, 3, 1), False)}  # exclusive wins
    assert Range(lower=1).contains(2) and not Range(lower=1).contains(1)
    assert Range(upper=5, upper_inclusive=True).contains(5) and not Range(upper=5).contains(5)


@pytest.mark.parametrize("source, equals", [
    ('{status: {_in: ["draft", "active", "draft"]}}', {"status": [InvoiceStatus.DRAFT, InvoiceStatus.ACTIVE]}),
    ('{status: {_in: ["draft", "active"]}, _and: [{status: {_eq: "active"}}]}', {"status": [InvoiceStatus.ACTIVE]}),
    ('{_and: [{status: {_eq: "draft"}}, {status: {_eq: "active"}}]}', {"status": []}),  # nothing can match
    ('{customerId: {_eq: "c1"}}', {"customerId": ["c1"]}),
])
def test_plan_equalities_intersect_and_decide_alone(source, equals):
    plan = plan_of(source)
    assert plan.equals == equals and plan.ranges == {} and plan.residual_needed is False


@pytest.mark.parametrize("source, equals", [
    ('{status: {_eq: "Draft"}, customerId: {_eq: "c1"}}', {"status": [InvoiceStatus.DRAFT], "customerId": ["c1"]}),
    ('{customerId: {_eq: "c1"}, amount: {_gt: 5}}', {"customerId": ["c1"]}),
    ('{customer: {id: {_eq: "c1"}, name: {_eq: "Acme"}}}', {"customer.id": ["c1"]}),
    ('{status: {_neq: "Draft"}}', {}),
    ('{customerId: {_like: "c%"}}', {}),
    ("{customerId: {_is_null: true}}", {}),
    ('{customer: {name: {_eq: "Acme"}}}', {}),  # only the related id is indexed
    ('{_not: {status: {_eq: "Draft"}}}', {}),
    ('{id: {_eq: "inv1"}}', {}),  # not an indexed field
])
def test_plan_needs_the_residual_filter(source, equals):
    plan = plan_of(source)
    assert plan.equals == equals and plan.residual_needed is True


def test_relation_ids_are_planned_only_when_the_store_indexes_them():
    schema = dataclasses.replace(INVOICE, indexed=frozenset({"status"}))
    assert plan_of('{customer: {id: {_eq: "c1"}}}', schema).equals == {}


# --- canonical text --------------------------------------------------------------------------------

CANONICAL = [
    ('{status: {_eq: "draft"}}', '{status: {_eq: "Draft"}}'),
    ('{"status": {"_eq": "draft"}}', '{status: {_eq: "Draft"}}'),
    ('{_and: [{customer: {id: {_eq: "001"}}}, {status: {_eq: "active"}}]}',
     '{customer: {id: {_eq: "001"}}, status: {_eq: "Active"}}'),
    ('{invoiceDate: {_gte: "2025-01-01", _lt: "2025-02-01"}}',
     '{invoiceDate: {_gte: "2025-01-01", _lt: "2025-02-01"}}'),
    ('{_and: [{invoiceDate: {_gte: "2025-01-01"}}, {invoiceDate: {_lt: "2025-02-01"}}]}',
     '{invoiceDate: {_gte: "2025-01-01", _lt: "2025-02-01"}}'),
    ('{"amount": {"_in": [1.50, 2.0, 1e2, -0.001]}}', "{amount: {_in: [1.5, 2, 100, -0.001]}}"),
    ('{createdDate: {_gt: "2025-06-30T11:33:52.471+02:00"}}', '{createdDate: {_gt: "2025-06-30T09:33:52.471000Z"}}'),
    ('{_or: [{isCatchUp: {_eq: true}}, {_not: {name: {_like: "INV-%"}}}]}',
     '{_or: [{isCatchUp: {_eq: true}}, {_not: {name: {_like: "INV-%"}}}]}'),
    ('{id: {_eq: "say \\"hi\\"\\n\\\\ é"}}', '{id: {_eq: "say \\"hi\\"\\n\\\\ é"}}'),
    ('{_and: [{id: {_gt: "a"}}, {name: {_eq: "x"}}, {id: {_lt: "z"}}]}',  # id twice, apart: stays a list
     '{_and: [{id: {_gt: "a"}}, {name: {_eq: "x"}}, {id: {_lt: "z"}}]}'),
    ('{_and: [{id: {_gt: "a"}}, {id: {_gt: "b"}}]}', '{_and: [{id: {_gt: "a"}}, {id: {_gt: "b"}}]}'),
    ('{_and: [{status: {_eq: "Draft"}}]}', '{_and: [{status: {_eq: "Draft"}}]}'),
    ('{_and: [{id: {_eq: "a"}}, {id: {_eq: "b"}}], name: {_eq: "n"}}',
     '{_and: [{id: {_eq: "a"}}, {id: {_eq: "b"}}], name: {_eq: "n"}}'),
    ("{status: {_is_null: false}, amount: {_nin: []}}", "{status: {_is_null: false}, amount: {_nin: []}}"),
    ("{status: {_in: [draft, PENDING_ACTIVATION]}}", '{status: {_in: ["Draft", "PendingActivation"]}}'),
    ("{customer: {billCycleDay: {_gte: 28.0}}}", "{customer: {billCycleDay: {_gte: 28}}}"),
]


@pytest.mark.parametrize("source, text", CANONICAL)
def test_to_text_is_canonical_and_reads_back(source, text):
    f = parse_filter(source, INVOICE)
    assert to_text(f) == text
    assert parse_filter(text, INVOICE) == f
    assert to_text(parse_filter(text, INVOICE)) == text


def test_equal_filters_print_alike():
    spellings = ['{status: {_eq: "draft"}, amount: {_gt: 10}}',
                 '{_and: [{status: {_eq: "DRAFT"}}, {amount: {_gt: 10.00}}]}',
                 '{"status": {"_eq": "Draft"}, "amount": {"_gt": 1E1}}',
                 {"status": {"_eq": InvoiceStatus.DRAFT}, "amount": {"_gt": Decimal("10.0")}}]
    texts = {to_text(parse_filter(s, INVOICE)) for s in spellings}
    assert texts == {'{status: {_eq: "Draft"}, amount: {_gt: 10}}'}


# --- properties ------------------------------------------------------------------------------------

OPERATORS = {
    "string": ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null", "_like", "_ilike"],
    "number": ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"],
    "date": ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"],
    "datetime": ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"],
    "boolean": ["_eq", "_neq", "_in", "_nin", "_is_null"],
    "enum": ["_eq", "_neq", "_in", "_nin", "_is_null"],
}
STRINGS = ["", "a", "A", "ab", "a_b", "a%b", "c1", "INV-1", "é\"\\"]
OPERANDS = {  # small domains, so that filters and records often meet
    "string": STRINGS,
    "number": [0, 1, -1, 10, Decimal("10.5"), Decimal("10.50"), Decimal("-0.25"), 2.5, Decimal("1E+1")],
    "date": ["2025-01-01", "2025-01-31", "2025-02-01", "2024-12-31"],
    "datetime": ["2025-01-01T00:00:00Z", "2025-01-01T01:00:00+01:00", "2025-01-01T00:00:00.5Z",
                 "2024-12-31T23:59:59Z"],
    "boolean": [True, False],
    "enum": ["Draft", "draft", "PENDING_ACTIVATION", "pending activation", "Active", "canceled"],
}
PATTERNS = ["%", "a%", "%b", "_", "a_", "%a%", "A%", "a\\%b", "a\\_b", "", "%\\\\%", "c_"]
_JAN1 = datetime(2025, 1, 1, tzinfo=UTC)
RECORD_VALUES = {
    "string": STRINGS + ["b", "INV-12", "A%B"],
    "number": [0, 1, 10, Decimal("10.5"), Decimal("-0.25"), 3, Decimal("2.50")],
    "date": [date(2025, 1, 1), date(2025, 1, 31), date(2025, 2, 1), "2024-12-31", "2025-01-15"],
    "datetime": [_JAN1, _JAN1 + timedelta(milliseconds=500), _JAN1 - timedelta(seconds=1),
                 "2025-01-01T02:00:00+01:00"],
    "boolean": [True, False],
    "enum": list(InvoiceStatus) + ["draft", "ACTIVE", "pending activation"],
}


def _operands(kind: str, op: str):
    if op == "_is_null":
        return st.booleans()
    if op in ("_like", "_ilike"):
        return st.sampled_from(PATTERNS)
    values = st.sampled_from(OPERANDS[kind])
    return st.lists(values, max_size=3) if op in ("_in", "_nin") else values


# Built once: hypothesis spends most of its time validating strategies made afresh on every draw.
OPERAND_STRATEGIES = {(kind, op): _operands(kind, op) for kind, ops in OPERATORS.items() for op in ops}
OPERATOR_STRATEGIES = {kind: st.lists(st.sampled_from(ops), min_size=1, max_size=2, unique=True)
                       for kind, ops in OPERATORS.items()}


def field_entries(schema: FilterSchema):
    """One `field: {op: value, ...}` entry of a filter object."""
    @st.composite
    def entry(draw):
        name = draw(names)
        kind = schema.fields[name].kind
        return name, {op: draw(OPERAND_STRATEGIES[kind, op]) for op in draw(OPERATOR_STRATEGIES[kind])}
    names = st.sampled_from(sorted(schema.fields))
    return entry()


def _both(pair):
    a, b = pair
    return {**a, **b} if not set(a) & set(b) else {"_and": [a, b]}


def filter_sources(schema: FilterSchema, relation_sources=None, max_leaves: int = 4):
    """Filter sources as plain dicts, the way a JSON body carries them."""
    entries = field_entries(schema)
    if relation_sources is not None:
        entries = st.one_of(entries, relation_sources.map(lambda inner: ("customer", inner)))
    leaves = st.lists(entries, min_size=1, max_size=2, unique_by=lambda entry: entry[0]).map(dict)
    return st.recursive(leaves, lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"_and": items}),
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"_or": items}),
        children.map(lambda item: {"_not": item}),
        st.tuples(children, children).map(_both),
    ), max_leaves=max_leaves)


INVOICE_SOURCES = filter_sources(INVOICE, filter_sources(CUSTOMER, max_leaves=2))
def records(schema: FilterSchema = INVOICE):
    """Records with typed or textual values; any field may be null or missing, the customer too."""
    values = {name: st.one_of(st.none(), st.sampled_from(RECORD_VALUES[field_type.kind]))
              for name, field_type in schema.fields.items()}
    values.update({name: st.one_of(st.none(), records(related)) for name, related in schema.relations.items()})
    return st.fixed_dictionaries({}, optional=values)


RECORDS = records()


def json_text(value) -> str:
    """JSON with Decimals written as their digits (json.dumps would need floats)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(json_text, value)) + "]"
    return str(value) if isinstance(value, Decimal) else json.dumps(value)


def leaves_of(node):
    """Every value inside a filter AST."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for item in dataclasses.fields(node):
            yield from leaves_of(getattr(node, item.name))
    elif isinstance(node, tuple):
        for item in node:
            yield from leaves_of(item)
    else:
        yield node


@settings(max_examples=150, deadline=None)
@given(INVOICE_SOURCES, st.lists(RECORDS, min_size=1, max_size=4))
def test_text_round_trip_keeps_the_filter_and_its_meaning(source, sample):
    f = parse_filter(source, INVOICE)
    text = to_text(f)
    again = parse_filter(text, INVOICE)
    assert again == f
    assert to_text(again) == text
    assert parse_filter(json_text(source), INVOICE) == f  # dict, JSON text and GraphQL text agree
    for record in sample:
        assert evaluate(again, record) == evaluate(f, record)


@settings(max_examples=100, deadline=None)
@given(INVOICE_SOURCES, INVOICE_SOURCES, RECORDS)
def test_not_inverts_and_and_or_combine(a, b, record):
    match_a = evaluate(parse_filter(a, INVOICE), record)
    match_b = evaluate(parse_filter(b, INVOICE), record)
    assert evaluate(parse_filter({"_not": a}, INVOICE), record) is (not match_a)
    assert evaluate(parse_filter({"_and": [a, b]}, INVOICE), record) is (match_a and match_b)
    assert evaluate(parse_filter({"_or": [a, b]}, INVOICE), record) is (match_a or match_b)
    assert evaluate(parse_filter(_both((a, b)), INVOICE), record) is (match_a and match_b)  # several keys: AND


@settings(max_examples=100, deadline=None)
@given(INVOICE_SOURCES)
def test_numbers_never_become_float(source):
    for text in (json_text(source), to_text(parse_filter(source, INVOICE))):
        for value in leaves_of(parse_filter(text, INVOICE)):
            assert not isinstance(value, float)
            if isinstance(value, Decimal):
                assert value.is_finite() and value != value.to_integral_value()  # integral numbers are int


def _index_value(record, path):
    """The value a store's index would hold for the path (typed like the plan's values)."""
    if path == "customer.id":
        return (record.get("customer") or {}).get("id")
    value = record.get(path)
    if isinstance(value, str) and path == "status":
        return InvoiceStatus.parse(value)
    if isinstance(value, str) and path == "invoiceDate":
        return date.fromisoformat(value)
    return value


def _within(plan, record) -> bool:
    for path, allowed in plan.equals.items():
        if _index_value(record, path) not in allowed:
            return False
    for path, bounds in plan.ranges.items():
        value = _index_value(record, path)
        if value is None or not bounds.contains(value):
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(INVOICE_SOURCES, st.lists(RECORDS, min_size=1, max_size=8))
def test_index_plan_never_loses_a_match_and_is_exact_when_it_says_so(source, sample):
    f = parse_filter(source, INVOICE)
    plan = index_plan(f)
    for record in sample:
        if evaluate(f, record):
            assert _within(plan, record)
        elif not plan.residual_needed:
            assert not _within(plan, record)


def like_reference(pattern: str) -> str:
    """A plain backtracking regex for LIKE, fine for short values."""
    out, chars = [], iter(pattern)
    for char in chars:
        out.append(re.escape(next(chars)) if char == "\\" else {"%": ".*", "_": "."}.get(char, re.escape(char)))
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab%_\\", max_size=7), st.text(alphabet="abAB%_\\\n", max_size=8))
def test_like_agrees_with_a_regex_reference(pattern, value):
    assume((len(pattern) - len(pattern.rstrip("\\"))) % 2 == 0)
    record = {"name": value}
    expected = re.fullmatch(like_reference(pattern), value, re.DOTALL) is not None
    expected_i = re.fullmatch(like_reference(pattern), value, re.DOTALL | re.IGNORECASE) is not None
    assert evaluate(parse_filter({"name": {"_like": pattern}}, INVOICE), record) is expected
    assert evaluate(parse_filter({"name": {"_ilike": pattern}}, INVOICE), record) is expected_i


_TOKENS = ["{", "}", "[", "]", ":", ",", " ", '"', "\\", "status", "_eq", "_in", "_not", "_and", "_like", "customer",
           "id", "amount", "invoiceDate", "1.5", "-2", "1e3", "null", "true", "$x", '"Draft"', '"2025-01-01"',
           '"_eq"', '"status"', '"%a_"', "NaN"]
_KEYS = st.sampled_from(["status", "_eq", "_in", "_nin", "_is_null", "_like", "_not", "_and", "_or", "customer", "id",
                         "amount", "invoiceDate", "createdDate", "isCatchUp", "nope"])
_ANY_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.decimals(), st.text(max_size=5),
              st.sampled_from(["Draft", "2025-01-01", "2025-01-01T00:00:00Z", "a%", "\udc00"])),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(_KEYS, children, max_size=3)),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(_TOKENS), max_size=25).map("".join), _ANY_VALUES),
       RECORDS)
def test_any_input_is_a_filter_or_a_400_never_a_crash(source, record):
    try:
        f = parse_filter(source, INVOICE, "graphqlFilter")
    except BillrunError as error:
        assert error.kind == "invalid" and error.details[0].field == "graphqlFilter"
        return
    assert parse_filter(to_text(f), INVOICE) == f
    assert isinstance(evaluate(f, record), bool)
    index_plan(f)


@pytest.mark.parametrize("source", ['"\\', '{status: {_eq: "\\'])
def test_an_escape_at_the_very_end_is_a_400_not_graphql_cores_index_error(source):
    """graphql-core 3.2's lexer reads past the end of a string ending in a backslash (IndexError), found by the
    property test above."""
    assert "unterminated string" in issue_of(source, field_name="graphqlFilter")


def test_intersect_keeps_what_every_given_choice_allows_in_the_first_ones_order():
    assert intersect(None, None) is None
    assert intersect(["a", "b"], None) == ["a", "b"]
    assert intersect(None, ["b", "a"], ["a", "b", "c"]) == ["b", "a"]
    assert intersect(["a", "b"], ["c"]) == []
