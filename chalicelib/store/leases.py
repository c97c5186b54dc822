"""Work run under a time lease (billing jobs, bulk invoice operations, bill runs): take, renew, finish, recover.

A record is created waiting (with an already-expired lease) in a sparse `unfinished` index keyed by a
partition (the clock whose tick recovers it). Running it takes the lease with a conditional write;
a run whose lease expired (a crashed or frozen worker) can be taken over, which each kind of work makes
harmless by being idempotent. Finishing removes the record from the index."""
from datetime import datetime, timedelta


from . import tables
from .repository import earliest, update_if

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5  # work that keeps failing is finished with its error past this many attempts, not retried forever


def past_cap(attempts: int) -> bool:
    """The attempt just taken (take counts it) is past the cap: its holder finishes the work as failed."""
    return attempts > MAX_ATTEMPTS


def backoff(attempts: int) -> timedelta:
    """How long live work waits after its `attempts`-th attempt failed before the next: 1, 2, 4, 8 minutes (so a
    passing outage of the store does not use up the cap in a few ticks), never longer than a lease."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), LEASE)


def gave_up(error: str | None) -> str:
    """The reason stored on work finished at the cap: the last attempt's error, when one was recorded."""
    return f"gave up after {MAX_ATTEMPTS} attempts: {error or 'runner crashed'}"


class Leases:
    def __init__(self, model, *, waiting, running, index):
        """`model` has status, lease_partition, lease_until, lease_owner, attempts, started_time and
        completed_time attributes; `index` is its sparse GSI on (lease_partition, lease_until)."""
        self.model, self.waiting, self.running, self.index = model, waiting, running, index

    def _update(self, tenant_id: str, ident: str, actions, condition):
        """The item as the write left it (UpdateItem answers every attribute), or None if the condition failed."""
        item = self.model(tenant_id=tenant_id, id=ident)
        return item if update_if(item, actions, condition) else None

    def claim(self, tenant_id: str, ident: str, owner: str, now: datetime) -> bool:
        """Waiting, or running with an expired lease: take it. False when someone else holds it (or it is done)."""
        return self.take(tenant_id, ident, owner, now) is not None

    def take(self, tenant_id: str, ident: str, owner: str, now: datetime):
        """claim, answering the record as taken (no read after the write); None when someone else holds it."""
        M = self.model
        free = (M.status == self.waiting.value) | ((M.status == self.running.value) & (M.lease_until <= now))
        return _entity(self._update(tenant_id, ident, [
            M.status.set(self.running.value), M.lease_until.set(now + LEASE), M.lease_owner.set(owner),
            M.attempts.add(1), M.started_time.set(M.started_time | now)], free))

    def renew(self, tenant_id: str, ident: str, owner: str, now: datetime, actions=()) -> bool:
        """Long work extends its lease as it goes (recording its progress in `actions`); False means another
        runner took over: stop."""
        return self.release(tenant_id, ident, owner, now + LEASE, actions)

    def release(self, tenant_id: str, ident: str, owner: str, until: datetime, actions=()) -> bool:
        """The holder moves its lease's end to `until` (now, or after a backoff: it gives the work up unfinished,
        and the first recovery after that takes it; later: renew); False when it no longer held it."""
        M = self.model
        return self._update(tenant_id, ident, [M.lease_until.set(until), *actions],
                            (M.lease_owner == owner) & (M.status == self.running.value)) is not None

    def finish(self, tenant_id: str, ident: str, owner: str | None, status, now: datetime, actions=()) -> bool:
        """Only the lease holder finishes the work (owner=None: work shared out, finished by whoever sees it end
        while it still runs: once); it leaves the `unfinished` index."""
        return self.close(tenant_id, ident, owner, status, now, actions) is not None

    def close(self, tenant_id: str, ident: str, owner: str | None, status, now: datetime, actions=()):
        """finish, answering the record as finished (no read after the write); None when this call did not."""
        M = self.model
        holder = M.status == self.running.value if owner is None else M.lease_owner == owner
        return _entity(self._update(tenant_id, ident, [
            M.status.set(status.value), M.completed_time.set(now), M.lease_partition.remove(),
            M.lease_until.remove(), *actions], holder))

    def reopen(self, tenant_id: str, ident: str, finished, partition: str, now: datetime, actions=()):
        """Finished work (status `finished`) waits again, with a new attempt series and an expired lease, back in
        the `unfinished` index; answers the record, or None when it was not `finished` (e.g. reopened already)."""
        M = self.model
        return _entity(self._update(tenant_id, ident, [
            M.status.set(self.waiting.value), M.attempts.set(0), M.lease_partition.set(partition),
            M.lease_until.set(now), M.lease_owner.remove(), M.started_time.remove(), M.completed_time.remove(),
            *actions], M.status == finished.value))

    def expired(self, partition: str, now: datetime, tenant_id: str | None = None) -> list[tuple[str, str]]:
        """(tenantId, id) of unfinished work whose lease has run out: never started, or its runner died; given a
        tenant, that tenant's only (a filter on the index's keys: the partition holds unfinished work only)."""
        tables.bind()
        return [(item.tenant_id, item.id) for item in self.index.query(
            partition, self.model.lease_until <= now, filter_condition=self._of(tenant_id))]

    def unfinished(self, partition: str) -> list[tuple[str, str]]:
        """(tenantId, id) of all unfinished work of the partition, its lease run out or not."""
        tables.bind()
        return [(item.tenant_id, item.id) for item in self.index.query(partition)]

    def any_unfinished(self, partition: str, tenant_id: str | None = None) -> bool:
        """Whether some work of the partition (given a tenant: of that tenant) is unfinished, its lease run out or
        not (a one-item index query; with a tenant, read until the first of its items)."""
        tables.bind()
        if tenant_id is None:
            return any(True for _ in self.index.query(partition, limit=1))
        return any(True for _ in self.index.query(partition, filter_condition=self._of(tenant_id)))

    def _of(self, tenant_id: str | None):
        return None if tenant_id is None else self.model.tenant_id == tenant_id

    def oldest_expired(self, partition: str, now: datetime) -> datetime | None:
        """When the longest-expired lease of unfinished work ran out (None: no lease has run out)."""
        return earliest(self.index, [partition], self.model.lease_until, now)


def _entity(item):
    return item.to_entity() if item is not None else None
