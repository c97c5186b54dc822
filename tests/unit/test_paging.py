"""List tokens: opaque, bound to one tenant and one query; a replayed or tampered token is a 400."""
import base64

import pytest
import simplejson
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import BillrunError
from chalicelib.store.paging import (DEFAULT_LIMIT, MAX_LIMIT, check_limit, decode_token, encode_token,
                                     query_fingerprint)

KEY = {"tenant_id": {"S": "t1"}, "id": {"S": "abc"}}


def fp(resource="customers", **filters):
    return query_fingerprint(resource, filters)


def assert_bad_token(token, tenant_id="t1", fingerprint=None):
    with pytest.raises(BillrunError) as caught:
        decode_token(token, tenant_id, fingerprint or fp())
    assert caught.value.kind == "invalid"
    assert [d.field for d in caught.value.details] == ["nextToken"]


def test_round_trip():
    token = encode_token("t1", fp(), KEY)
    assert isinstance(token, str) and "=" not in token
    assert decode_token(token, "t1", fp()) == KEY


def test_no_last_key_means_no_token():
    assert encode_token("t1", fp(), None) is None
    assert encode_token("t1", fp(), {}) is None


def test_no_token_means_first_page():
    assert decode_token(None, "t1", fp()) is None
    assert decode_token("", "t1", fp()) is None


def test_token_of_another_tenant_is_refused():
    token = encode_token("t1", fp(), KEY)
    assert_bad_token(token, tenant_id="t2")


def test_token_of_another_query_is_refused():
    token = encode_token("t1", fp(status="Active"), KEY)
    assert_bad_token(token, fingerprint=fp(status="Canceled"))
    assert_bad_token(token, fingerprint=fp())
    assert_bad_token(encode_token("t1", fp("customers"), KEY), fingerprint=fp("products"))


def test_forged_token_naming_this_tenant_but_another_tenants_key_is_refused():
    foreign_key = {"tenant_id": {"S": "t2"}, "id": {"S": "abc"}}
    assert_bad_token(encode_token("t1", fp(), foreign_key))


@pytest.mark.parametrize("token", [
    "not-a-token", "!!!", "e30", "W10", "bnVsbA", "MQ",  # {}, [], null, 1
    base64.urlsafe_b64encode(b'{"t":"t1","q":"x","k":"oops"}').decode(),
    base64.urlsafe_b64encode(b'{"t":"t1"}').decode(),
    base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
])
def test_garbage_tokens_are_refused(token):
    assert_bad_token(token)


def test_tampered_token_is_refused():
    token = encode_token("t1", fp(), KEY)
    data = simplejson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    data["t"] = "t2"
    forged = base64.urlsafe_b64encode(simplejson.dumps(data).encode()).decode()
    assert_bad_token(forged, tenant_id="t1")
    chopped = token[:-3]
    assert_bad_token(chopped)


def test_fingerprint_ignores_unset_filters_and_their_order():
    assert fp(customer_id="c1", status=None) == fp(customer_id="c1")
    assert query_fingerprint("orders", {"a": 1, "b": 2}) == query_fingerprint("orders", {"b": 2, "a": 1})
    assert query_fingerprint("orders", {"a": 1}) != query_fingerprint("subscriptions", {"a": 1})
    assert query_fingerprint("orders", {"a": 1}) != query_fingerprint("orders", {"a": 2})


@pytest.mark.parametrize("limit, expected", [(None, DEFAULT_LIMIT), (1, 1), (50, 50), (1000, 1000)])
def test_check_limit_accepts_1_to_1000(limit, expected):
    assert check_limit(limit) == expected
    assert DEFAULT_LIMIT == 50 and MAX_LIMIT == 1000


@pytest.mark.parametrize("limit", [0, -1, 1001, 10**9])
def test_check_limit_refuses_out_of_bounds(limit):
    with pytest.raises(BillrunError) as caught:
        check_limit(limit)
    assert caught.value.details[0].field == "limit"


ids = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(tenant_id=ids, other=ids, item_id=ids, filters=st.dictionaries(st.sampled_from(["status", "customer_id"]),
                                                                      ids, max_size=2))
def test_tokens_round_trip_only_for_their_tenant_and_query(tenant_id, other, item_id, filters):
    fingerprint = query_fingerprint("orders", filters)
    key = {"tenant_id": {"S": tenant_id}, "id": {"S": item_id}}
    token = encode_token(tenant_id, fingerprint, key)
    assert decode_token(token, tenant_id, fingerprint) == key
    if other != tenant_id:
        with pytest.raises(BillrunError):
            decode_token(token, other, fingerprint)
    with pytest.raises(BillrunError):
        decode_token(token, tenant_id, query_fingerprint("customers", filters))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_strings_never_crash_decode(token):
    try:
        decode_token(token, "t1", fp())
    except BillrunError as error:
        assert error.details[0].field == "nextToken"
