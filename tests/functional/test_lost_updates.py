"""Compare-and-set must hold even when the tenant's clock stands still (a test-mode tenant): a writer holding
a stale copy gets a 409, never a silent overwrite of the newer state."""
from dataclasses import replace

import pytest

from chalicelib.domain.errors import BillrunError
from chalicelib.store import catalog


def test_stale_writer_is_refused_while_the_test_clock_stands_still(api):
    t = api.new_tenant("Frozen", testMode=True, clockStart="2025-01-01T00:00:00Z")
    customer = api.customer(t)
    stale = catalog.customers.get(t.id, customer["id"])
    assert api.patch(f"/customers/{customer['id']}", {"name": "First writer"}, key=t.key).status == 200
    with pytest.raises(BillrunError) as refused:
        catalog.customers.replace(t.id, replace(stale, name="Stale writer"), stale)
    assert refused.value.kind == "conflict"
    assert api.get(f"/customers/{customer['id']}", key=t.key).body["name"] == "First writer"


def test_each_write_moves_the_version_on(api):
    t = api.new_tenant("Frozen", testMode=True, clockStart="2025-01-01T00:00:00Z")
    customer = api.customer(t)
    for name in ("a", "b", "c"):
        assert api.patch(f"/customers/{customer['id']}", {"name": name}, key=t.key).status == 200
    assert catalog.customers.get(t.id, customer["id"]).version == 3
