"""Opaque list tokens bound to one tenant and one query: a token replayed elsewhere is a 400, never a leak."""
import base64
import hashlib

import simplejson

from ..domain.errors import invalid

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50


def query_fingerprint(resource: str, filters: dict) -> str:
    canonical = simplejson.dumps([resource, sorted((k, str(v)) for k, v in filters.items() if v is not None)])
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_token(tenant_id: str, fingerprint: str, last_key: dict | None) -> str | None:
    if not last_key:
        return None
    raw = simplejson.dumps({"t": tenant_id, "q": fingerprint, "k": last_key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str | None, tenant_id: str, fingerprint: str,
                 key_schema: dict[str, str] | None = None) -> dict | None:
    """key_schema ({attribute: 'S' | 'N'}), when given, is the exact shape the start key must have: a forged
    key of another shape would otherwise reach DynamoDB and fail there (a 500, not the caller's 400)."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = simplejson.loads(base64.urlsafe_b64decode(padded.encode()))
        key, ok = data["k"], data["t"] == tenant_id and data["q"] == fingerprint
        ok = ok and isinstance(key, dict) and key.get("tenant_id", {}).get("S") == tenant_id
        ok = ok and (key_schema is None or _has_shape(key, key_schema))
    except (ValueError, TypeError, KeyError, AttributeError):
        ok = False
    if not ok:
        raise invalid("nextToken", "not a token issued for this list and filter")
    return key


def _has_shape(key: dict, key_schema: dict[str, str]) -> bool:
    if set(key) != set(key_schema):
        return False
    for name, kind in key_schema.items():
        value = key[name]
        if not (isinstance(value, dict) and set(value) == {kind} and isinstance(value[kind], str)):
            return False
        if not 0 < len(value[kind].encode()) <= 1024:  # DynamoDB's key size limit
            return False
    return True


def check_limit(limit) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not (1 <= limit <= MAX_LIMIT):
        raise invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit
