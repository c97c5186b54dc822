"""The tenant CLI drives the same services as the admin API."""
import simplejson

from chalicelib.cli import main


def run(capsys, *argv):
    capsys.readouterr()  # the app's log lines from requests made before (api fixture) are not the command's output
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (simplejson.loads(out, use_decimal=True) if out else None), err


def test_create_tenant_then_the_printed_key_works(capsys, api):
    code, created, _ = run(capsys, "tenants", "create", "--name", "Acme", "--timezone", "Europe/Paris",
                           "--currency", "eur")
    assert code == 0
    assert created["tenant"]["currency"] == "EUR" and created["tenant"]["timezone"] == "Europe/Paris"
    answer = api.get("/settings", key=created["apiKey"]["key"])
    assert answer.status == 200 and answer.body["currency"] == "EUR"
    code, listed, _ = run(capsys, "tenants", "list")
    assert created["tenant"]["id"] in [t["id"] for t in listed["data"]]


def test_keys_create_list_revoke(capsys, api):
    _, created, _ = run(capsys, "tenants", "create", "--name", "Acme", "--test-mode",
                        "--clock-start", "2025-01-01T00:00:00Z")
    tenant_id = created["tenant"]["id"]
    assert created["tenant"]["clock"] == "2025-01-01T00:00:00.000+00:00"
    code, key, _ = run(capsys, "keys", "create", tenant_id, "--name", "ci")
    assert code == 0 and key["name"] == "ci" and key["key"].startswith("brk_test_")
    assert api.get("/test/clock", key=key["key"]).status == 200
    _, listed, _ = run(capsys, "keys", "list", tenant_id)
    assert {k["name"] for k in listed["data"]} == {"default", "ci"}
    assert all(k["key"] is None for k in listed["data"])
    code, revoked, _ = run(capsys, "keys", "revoke", tenant_id, key["id"])
    assert code == 0 and revoked["active"] is False
    assert api.get("/test/clock", key=key["key"]).status == 401


def test_bad_input_is_reported_not_raised(capsys, aws):
    code, out, err = run(capsys, "tenants", "create", "--name", "Acme", "--timezone", "Mars/Olympus")
    assert code == 2 and out is None and "timezone" in err
    code, out, err = run(capsys, "keys", "list", "no-such-tenant")
    assert code == 2 and "NotFound" in err
