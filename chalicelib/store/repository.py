"""Tenant-scoped repository for tables keyed (tenantId, id): get, create-once, compare-and-set, paged lists."""
from dataclasses import replace
from datetime import datetime
from functools import reduce
from typing import Callable

from pynamodb.constants import ALL
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from ..domain.errors import BillrunError, conflict, not_found
from . import tables
from .batch import get_many
from .paging import check_limit, decode_token, encode_token, query_fingerprint

MAX_KEY_BYTES = 1024  # DynamoDB's limit for a sort key value
CHANGE_ATTEMPTS = 20  # lost compare-and-set races one change re-applies itself after, before a 409


def condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def update_if(item, actions, condition) -> bool:
    """Applies the update to `item` (a model holding the key) if `condition` holds: True, or False with nothing
    written when it did not (a compare-and-set lost, a state already left). After True the item holds what was
    written back (UpdateItem answers every attribute)."""
    tables.bind()
    try:
        item.update(actions=actions, condition=condition)
        return True
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False


def earliest(index, partitions, sort_key, until: datetime) -> datetime | None:
    """The smallest instant at or before `until` that `sort_key` holds in these partitions of a sparse index (one
    Query of at most one item per partition): when the oldest item waiting there fell due. None: nothing waits."""
    tables.bind()
    found = [getattr(item, sort_key.attr_name) for partition in partitions
             for item in index.query(partition, sort_key <= until, scan_index_forward=True, limit=1)]
    return min(found, default=None)


class TenantRepository:
    def __init__(self, model, what: str):
        self.model = model
        self.what = what

    def derived(self, tenant_id: str, entity) -> dict:
        """Attributes stored beside the entity's own (index keys); none by default."""
        return {}

    def _item(self, tenant_id: str, entity):
        return self.model.from_entity(entity, tenant_id=tenant_id, **self.derived(tenant_id, entity))

    def find(self, tenant_id: str, ident: str):
        if not isinstance(ident, str) or not 0 < len(ident.encode()) <= MAX_KEY_BYTES:
            return None  # DynamoDB refuses such a key outright: no item can have it
        tables.bind()
        try:
            return self.model.get(tenant_id, ident, consistent_read=True).to_entity()
        except DoesNotExist:
            return None

    def find_many(self, tenant_id: str, idents) -> dict:
        """{id: entity} of those that exist, in BatchGetItems of 100 (ids DynamoDB could not hold are none)."""
        keys = [(tenant_id, i) for i in dict.fromkeys(idents)
                if isinstance(i, str) and 0 < len(i.encode()) <= MAX_KEY_BYTES]
        return {item.id: item.to_entity() for item in get_many(self.model, keys)}

    def get(self, tenant_id: str, ident: str, field_name: str | None = None):
        entity = self.find(tenant_id, ident)
        if entity is None:
            raise not_found(self.what, ident, field_name)
        return entity

    def create(self, tenant_id: str, entity):
        """Writes once; a retry with the same (deterministic) id gets the stored entity back."""
        tables.bind()
        try:
            self._item(tenant_id, entity).save(condition=self.model.id.does_not_exist())
            return entity
        except PutError as error:
            if not condition_failed(error):
                raise
            return self.get(tenant_id, entity.id)

    def change(self, tenant_id: str, ident: str, apply: Callable, attempts: int = CHANGE_ATTEMPTS):
        """Read, apply a pure change, write it if the version is still the one read; on a lost race, read again
        and re-apply (the change re-checks its own rules against the newer state). Returns the stored entity (the
        one read when the change changed nothing)."""
        for _ in range(attempts):
            current = self.get(tenant_id, ident)
            updated = apply(current)
            if updated is current:
                return current
            try:
                return self.replace(tenant_id, updated, current)
            except BillrunError as error:
                if error.code != "ConcurrentModification":
                    raise
        raise conflict(f"the {self.what} keeps changing; try again", "ConcurrentModification")

    def replace(self, tenant_id: str, entity, previous):
        """Compare-and-set on the version: a writer holding a stale copy gets a 409, not a lost update."""
        tables.bind()
        entity = replace(entity, version=previous.version + 1)
        try:
            self._item(tenant_id, entity).save(condition=self.model.version == previous.version)
        except PutError as error:
            if not condition_failed(error):
                raise
            raise conflict(f"{self.what} was changed by another request; read it again and retry",
                           "ConcurrentModification") from None
        return entity

    def replace_in(self, transaction, tenant_id: str, entity, previous, tag=None):
        """replace() as an action of `transaction` (store/batch.py): the same compare-and-set on the version, refused
        as ConditionalCheckFailed; answers the entity as it is stored if the transaction goes in."""
        entity = replace(entity, version=previous.version + 1)
        transaction.put(self._item(tenant_id, entity), self.model.version == previous.version, tag)
        return entity

    def _key_schema(self) -> dict[str, str]:
        keys = (self.model._hash_key_attribute(), self.model._range_key_attribute())
        return {attr.attr_name: attr.attr_type for attr in keys if attr is not None}

    def delete(self, tenant_id: str, previous) -> None:
        """Deletes the item as it was read: a concurrent change makes this a 409, not a silent loss."""
        tables.bind()
        try:
            self.model(tenant_id=tenant_id, id=previous.id).delete(condition=self.model.version == previous.version)
        except DeleteError as error:
            if not condition_failed(error):
                raise
            raise conflict(f"{self.what} was changed by another request; read it again and retry",
                           "ConcurrentModification") from None

    def list_by_index(self, tenant_id: str, index, hash_value: str, *, limit=None, next_token=None,
                      newest_first: bool = False, sort_value=None, **filters):
        """A page from a GSI whose partition belongs to this tenant (the caller builds hash_value from it),
        in the index's sort order (reversed when newest_first); sort_value, when given, is the one value of the
        index's sort key to list (a key condition: DynamoDB filters on no key attribute). An index that does not
        project ALL attributes names the items, which are then read by BatchGetItem (_listed)."""
        keys = [a for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key]
        schema = {**self._key_schema(), **{a.attr_name: a.attr_type for a in keys}}
        sort_key = next((a for a in keys if a.is_range_key), None)
        condition = None if sort_value is None else sort_key == sort_value
        source = f"{index.Meta.index_name}/{hash_value}/{newest_first}/{'' if sort_value is None else sort_value}"
        return self._page(tenant_id, source, schema,
                          lambda **q: index.query(hash_value, condition, scan_index_forward=not newest_first, **q),
                          limit, next_token, filters, None if _projects_all(index) else index)

    def list(self, tenant_id: str, *, limit=None, next_token=None, **filters):
        """A page of this tenant's items, optionally filtered by attribute equality."""
        return self._page(tenant_id, "table", self._key_schema(),
                          lambda **q: self.model.query(tenant_id, **q), limit, next_token, filters)

    def _page(self, tenant_id: str, source: str, key_schema: dict, query, limit, next_token, filters: dict,
              keys_of=None):
        """keys_of: the index whose Query answered only entries naming the items (not ALL projected). Its Query
        filters on what it holds; every filter is checked again on the items read afterwards. The token goes on
        after the last entry the Query answered, whatever was dropped."""
        tables.bind()
        limit = check_limit(limit)
        wanted = {k: v for k, v in filters.items() if v is not None}
        fingerprint = query_fingerprint(f"{self.model.Meta.table_name}/{source}", wanted)
        start = decode_token(next_token, tenant_id, fingerprint, key_schema)
        held = None if keys_of is None else _held(keys_of, self.model)
        condition = _equal(self.model, {k: v for k, v in wanted.items()
                                        if held is None or getattr(self.model, k).attr_name in held})
        results = query(filter_condition=condition, limit=limit, last_evaluated_key=start, page_size=max(limit, 100))
        found = list(results)
        last_key = results.last_evaluated_key if len(found) == limit else None
        if keys_of is not None:
            found = self._listed(keys_of, found, wanted)
        return [item.to_entity() for item in found], encode_token(tenant_id, fingerprint, last_key)

    def _listed(self, index, entries: list, filters: dict) -> list:
        """The items these index entries name, read by BatchGetItem (100 keys a request), in the entries' order.
        An index lags behind its table: an item deleted since, or whose index keys or filtered attributes have
        changed since its entry was written, is left out (the entry for its new keys is listed where they sort)."""
        keys = [(entry.tenant_id, entry.id) for entry in entries]
        items = {(item.tenant_id, item.id): item for item in get_many(self.model, keys)}
        index_keys = [name for name, a in index.Meta.attributes.items() if a.is_hash_key or a.is_range_key]
        listed = []
        for entry, key in zip(entries, keys):
            item = items.get(key)
            if item is not None and all(getattr(item, n) == getattr(entry, n) for n in index_keys) \
                    and _matches(self.model, item, filters):
                listed.append(item)
        return listed


def _projects_all(index) -> bool:
    return index.Meta.projection.projection_type == ALL


def _held(index, model) -> set[str]:
    """The attribute names (as stored) an index of `model` holds: the table's keys, its own and those it includes."""
    table_keys = (model._hash_key_attribute(), model._range_key_attribute())
    return ({a.attr_name for a in table_keys if a is not None} | {a.attr_name for a in index.Meta.attributes.values()}
            | set(index.Meta.projection.non_key_attributes or ()))


def _equal(model, values: dict):
    """The filter condition: each attribute equals its value (None: no filter)."""
    conditions = [getattr(model, name) == value for name, value in values.items()]
    return reduce(lambda a, b: a & b, conditions) if conditions else None


def _matches(model, item, values: dict) -> bool:
    """What the filter condition would say of this item, compared as DynamoDB compares: stored forms."""
    for name, value in values.items():
        attribute, actual = getattr(model, name), getattr(item, name)
        if actual is None or attribute.serialize(actual) != attribute.serialize(value):
            return False
    return True
