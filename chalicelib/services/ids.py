"""Derived ids: the same parts always give the same id, so a retried or concurrent write names the same item."""
import uuid

_NS = uuid.UUID("0f6f3a8e-58c2-4d8e-9d0e-6f1b2a3c4d5e")


def derived_id(*parts) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))
