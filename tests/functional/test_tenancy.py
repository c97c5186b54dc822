"""Tenancy and auth (SPEC "Tenancy and auth"): admin provisioning, API keys, key aliases, hashed storage."""
import hashlib

import boto3
import pytest

from tests.support import ADMIN_KEY

ENVELOPE_KEYS = {"errorCode", "message", "details"}


def assert_envelope(answer, status: int, code: str | None = None):
    assert answer.status == status, answer.body
    assert isinstance(answer.body, dict) and set(answer.body) == ENVELOPE_KEYS, answer.body
    assert isinstance(answer.body["message"], str) and answer.body["message"]
    assert isinstance(answer.body["details"], list)
    if code is not None:
        assert answer.body["errorCode"] == code, answer.body


# --- admin: tenants --------------------------------------------------------------------------------

def test_create_tenant_requires_the_admin_key(api):
    for headers in [{}, {"x-admin-key": "wrong"}, {"x-admin-key": ""}, {"x-admin-key": ADMIN_KEY + "x"},
                    {"x-api-key": ADMIN_KEY}, {"Authorization": f"Bearer {ADMIN_KEY}"}]:
        answer = api.post("/admin/tenants", {"name": "Nope"}, headers=headers)
        assert_envelope(answer, 401, "Unauthorized")
    listed = api.admin("GET", "/admin/tenants")
    assert listed.status == 200
    assert [t["name"] for t in listed.body["data"]] == []


def test_admin_routes_refuse_a_tenant_key(api, tenant):
    for method, path in [("GET", "/admin/tenants"), ("GET", f"/admin/tenants/{tenant.id}"),
                         ("GET", f"/admin/tenants/{tenant.id}/api-keys")]:
        assert_envelope(api.call(method, path, key=tenant.key), 401, "Unauthorized")
    assert_envelope(api.post(f"/admin/tenants/{tenant.id}/api-keys", {"name": "x"}, key=tenant.key), 401,
                    "Unauthorized")


def test_create_tenant_answers_tenant_and_its_first_key_once(api):
    answer = api.admin("POST", "/admin/tenants", {"name": "Acme", "timezone": "Europe/Paris",
                                                  "currency": "eur", "paymentTermDays": 45})
    assert answer.status == 201, answer.body
    tenant, key = answer.body["tenant"], answer.body["apiKey"]
    assert tenant["name"] == "Acme"
    assert tenant["testMode"] is False
    assert tenant["timezone"] == "Europe/Paris"
    assert tenant["currency"] == "EUR"
    assert tenant["paymentTermDays"] == 45
    assert tenant["clock"] is None
    assert key["tenantId"] == tenant["id"]
    assert key["active"] is True and key["revokedDate"] is None
    assert key["key"].startswith("brk_live_") and len(key["key"]) > 30

    fetched = api.admin("GET", f"/admin/tenants/{tenant['id']}")
    assert fetched.status == 200
    assert fetched.body == tenant
    listed = api.admin("GET", "/admin/tenants")
    assert [t["id"] for t in listed.body["data"]] == [tenant["id"]]

    keys = api.admin("GET", f"/admin/tenants/{tenant['id']}/api-keys")
    assert keys.status == 200
    assert [k["id"] for k in keys.body["data"]] == [key["id"]]
    text = str(keys.body)
    assert key["key"] not in text
    assert all("key" not in k and "keyHash" not in k for k in keys.body["data"])

    # the key works at once, for this tenant
    settings = api.get("/settings", key=key["key"])
    assert settings.status == 200
    assert settings.body["currency"] == "EUR" and settings.body["timezone"] == "Europe/Paris"


def test_test_mode_tenant_gets_test_key_and_clock(api):
    answer = api.admin("POST", "/admin/tenants", {"name": "Sandbox", "testMode": True,
                                                  "clockStart": "2024-01-31T10:00:00Z"})
    assert answer.status == 201, answer.body
    assert answer.body["tenant"]["testMode"] is True
    assert answer.body["tenant"]["clock"].startswith("2024-01-31T10:00:00")
    assert answer.body["apiKey"]["key"].startswith("brk_test_")
    clock = api.get("/test/clock", key=answer.body["apiKey"]["key"])
    assert clock.status == 200
    assert clock.body["now"].startswith("2024-01-31T10:00:00")


def test_unknown_tenant_is_404_for_admin_routes(api):
    for method, path in [("GET", "/admin/tenants/nope"), ("GET", "/admin/tenants/nope/api-keys"),
                         ("DELETE", "/admin/tenants/nope/api-keys/key_x")]:
        assert_envelope(api.admin(method, path), 404, "NotFound")
    assert_envelope(api.admin("POST", "/admin/tenants/nope/api-keys", {"name": "x"}), 404, "NotFound")


# --- admin: API keys ------------------------------------------------------------------------------

def test_added_key_works_and_revoked_key_is_refused(api, tenant):
    added = api.admin("POST", f"/admin/tenants/{tenant.id}/api-keys", {"name": "ci"})
    assert added.status == 201, added.body
    assert added.body["name"] == "ci" and added.body["tenantId"] == tenant.id and added.body["active"] is True
    secret, key_id = added.body["key"], added.body["id"]
    assert secret and secret != tenant.key

    created = api.post("/customers", {"name": "Via second key"}, key=secret)
    assert created.status == 201
    # both keys see the same tenant's data
    assert api.get(f"/customers/{created.body['id']}", key=tenant.key).body["name"] == "Via second key"

    keys = api.admin("GET", f"/admin/tenants/{tenant.id}/api-keys").body["data"]
    assert sorted(k["id"] for k in keys) == sorted([key_id, _first_key_id(api, tenant, exclude=key_id)])
    assert secret not in str(keys) and tenant.key not in str(keys)

    revoked = api.admin("DELETE", f"/admin/tenants/{tenant.id}/api-keys/{key_id}")
    assert revoked.status == 200, revoked.body
    assert revoked.body["id"] == key_id and revoked.body["active"] is False
    assert revoked.body["revokedDate"] is not None
    assert "key" not in revoked.body

    assert_envelope(api.get("/customers", key=secret), 401, "Unauthorized")
    assert_envelope(api.post("/customers", {"name": "x"}, key=secret), 401, "Unauthorized")
    # the other key is untouched
    assert api.get("/customers", key=tenant.key).status == 200

    again = api.admin("DELETE", f"/admin/tenants/{tenant.id}/api-keys/{key_id}")
    assert again.status == 200, again.body
    assert again.body["active"] is False
    assert again.body["revokedDate"] == revoked.body["revokedDate"]  # first revocation time kept
    assert_envelope(api.get("/customers", key=secret), 401, "Unauthorized")

    listed = {k["id"]: k for k in api.admin("GET", f"/admin/tenants/{tenant.id}/api-keys").body["data"]}
    assert listed[key_id]["active"] is False
    assert sum(1 for k in listed.values() if k["active"]) == 1


def _first_key_id(api, tenant, exclude):
    ids = [k["id"] for k in api.admin("GET", f"/admin/tenants/{tenant.id}/api-keys").body["data"]]
    others = [i for i in ids if i != exclude]
    assert len(others) == 1
    return others[0]


def test_revoking_unknown_key_is_404(api, tenant):
    assert_envelope(api.admin("DELETE", f"/admin/tenants/{tenant.id}/api-keys/key_doesnotexist"), 404,
                    "NotFound")


def test_revoking_the_first_key_locks_the_tenant_out(api, tenant):
    key_id = api.admin("GET", f"/admin/tenants/{tenant.id}/api-keys").body["data"][0]["id"]
    assert api.get("/settings", key=tenant.key).status == 200
    assert api.admin("DELETE", f"/admin/tenants/{tenant.id}/api-keys/{key_id}").status == 200
    assert_envelope(api.get("/settings", key=tenant.key), 401, "Unauthorized")


# --- presenting a key -----------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["x-api-key", "nue-api-key", "bearer", "bearer-lowercase"])
def test_key_aliases_all_authenticate(api, tenant, style):
    headers = {"x-api-key": {"x-api-key": tenant.key},
               "nue-api-key": {"nue-api-key": tenant.key},
               "bearer": {"Authorization": f"Bearer {tenant.key}"},
               "bearer-lowercase": {"authorization": f"bearer {tenant.key}"}}[style]
    created = api.post("/customers", {"name": f"via {style}"}, headers=headers)
    assert created.status == 201, created.body
    listed = api.get("/customers", headers=headers)
    assert listed.status == 200
    assert [c["name"] for c in listed.body["data"]] == [f"via {style}"]


BAD_KEY_HEADERS = [
    {},
    {"x-api-key": ""},
    {"x-api-key": "brk_live_not-a-real-key"},
    {"nue-api-key": "brk_live_not-a-real-key"},
    {"Authorization": "Bearer brk_live_not-a-real-key"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer "},
    {"x-admin-key": ADMIN_KEY},
]


def test_missing_or_unknown_key_is_401(api, tenant):
    for headers in BAD_KEY_HEADERS:
        for method, path, body in [("GET", "/customers", None), ("POST", "/customers", {"name": "x"}),
                                   ("GET", "/settings", None), ("GET", "/customers/some-id", None),
                                   ("POST", "/orders/some-id:activate", {})]:
            answer = api.call(method, path, body, headers=headers)
            assert_envelope(answer, 401, "Unauthorized")
            assert answer.body["details"] == []
    # nothing was created by the refused POST
    assert api.get("/customers", key=tenant.key).body["data"] == []


def test_unauthorized_is_answered_before_validation(api):
    """A bad body from an unauthenticated caller is still a 401: validation does not leak before auth."""
    answer = api.post("/customers", {"bogus": 1}, headers={"x-api-key": "nope"})
    assert_envelope(answer, 401, "Unauthorized")


def test_health_and_openapi_need_no_key(api):
    health = api.get("/health")
    assert health.status == 200
    assert health.body["status"] == "ok"
    assert health.body["stage"] == "dev"
    assert isinstance(health.body["tickCount"], int)
    doc = api.get("/openapi.json")
    assert doc.status == 200
    assert doc.body["openapi"].startswith("3.")
    assert "/customers" in doc.body["paths"]


# --- keys are stored hashed -----------------------------------------------------------------------

def test_keys_are_stored_as_sha256_hashes_only(api):
    created = api.admin("POST", "/admin/tenants", {"name": "Hashy"})
    assert created.status == 201
    added = api.admin("POST", f"/admin/tenants/{created.body['tenant']['id']}/api-keys", {"name": "second"})
    assert added.status == 201
    secrets = [created.body["apiKey"]["key"], added.body["key"]]

    items = boto3.client("dynamodb").scan(TableName="billrun-dev-api-keys")["Items"]
    assert len(items) == 2
    dumped = repr(items)
    for secret in secrets:
        assert secret not in dumped
        digest = hashlib.sha256(secret.encode()).hexdigest()
        assert digest in dumped
        assert any(item["key_hash"]["S"] == digest for item in items)
    # and no other table holds a secret either (e.g. an idempotency record)
    client = boto3.client("dynamodb")
    for table in client.list_tables()["TableNames"]:
        everything = repr(client.scan(TableName=table)["Items"])
        for secret in secrets:
            assert secret not in everything, table


def test_idempotent_replay_of_tenant_creation_does_not_reveal_the_secret_again(api):
    headers = {"x-admin-key": ADMIN_KEY, "Idempotency-Key": "tenant-1"}
    first = api.post("/admin/tenants", {"name": "Once"}, headers=headers)
    assert first.status == 201
    assert first.body["apiKey"]["key"]
    second = api.post("/admin/tenants", {"name": "Once"}, headers=headers)
    assert second.status == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.body["tenant"]["id"] == first.body["tenant"]["id"]
    assert second.body["apiKey"]["key"] is None
    assert len(api.admin("GET", "/admin/tenants").body["data"]) == 1
    secret = first.body["apiKey"]["key"]
    client = boto3.client("dynamodb")
    assert secret not in repr(client.scan(TableName="billrun-dev-idempotency")["Items"])


# --- provisioning validation ----------------------------------------------------------------------

INVALID_TENANTS = [
    ({"name": "Live", "clockStart": "2024-01-01T00:00:00Z"}, "clockStart"),
    ({"name": "Live", "testMode": False, "clockStart": "2024-01-01T00:00:00Z"}, "clockStart"),
    ({"name": "Tz", "timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"name": "Tz", "timezone": "utc "}, "timezone"),
    ({"name": "Cur", "currency": "ZZZ"}, "currency"),
    ({"name": "Cur", "currency": "XAU"}, "currency"),
    ({"name": "Cur", "currency": 840}, "currency"),
    ({"name": ""}, "name"),
    ({}, "name"),
    ({"name": "Term", "paymentTermDays": -1}, "paymentTermDays"),
    ({"name": "Test", "testMode": True, "clockStart": "2024-01-01T00:00:00"}, "clockStart"),
    ({"name": "Test", "testMode": True, "clockStart": "yesterday"}, "clockStart"),
    ({"name": "Extra", "apiKey": "mine"}, "apiKey"),
]


def test_invalid_tenant_is_400_naming_the_field(api):
    for body, field in INVALID_TENANTS:
        answer = api.admin("POST", "/admin/tenants", body)
        assert_envelope(answer, 400, "ValidationError")
        assert field in answer.error_fields, (body, answer.body)
    assert api.admin("GET", "/admin/tenants").body["data"] == []
    assert boto3.client("dynamodb").scan(TableName="billrun-dev-api-keys")["Items"] == []
